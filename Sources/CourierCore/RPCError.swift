public import CourierWire

/// How far a failed invocation got on the server, as CORBA's `completion_status` says it.
public enum CompletionStatus: UInt32, Sendable, Hashable, CustomStringConvertible {
  /// The operation ran to completion before the failure.
  case yes = 0
  /// The operation never started.
  case no = 1
  /// It is not known whether the operation ran.
  case maybe = 2

  public var description: String {
    switch self {
    case .yes: "COMPLETED_YES"
    case .no: "COMPLETED_NO"
    case .maybe: "COMPLETED_MAYBE"
    }
  }
}

/// The one error of a failed call.
///
/// CORBA system exceptions map onto it without loss: ``code`` carries the exception's name
/// (and so its repository id), ``minor`` and ``completion`` travel as they came. Errors that
/// never crossed the wire (a timeout, a refused connection) use the same codes with
/// Courier's minor codes, as an ORB would raise them locally.
///
/// IDL user exceptions are not `RPCError`s: they are generated types conforming to
/// ``UserException`` that the stub throws as they are.
public struct RPCError: Error, Sendable, CustomStringConvertible {
  /// What kind of failure this is: a CORBA system exception name. Extensible: an exception
  /// with an unknown repository id keeps its name.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    /// The exception's name, e.g. `OBJECT_NOT_EXIST`.
    public let name: String

    /// A code for the system exception called `name`.
    public init(_ name: String) { self.name = name }

    /// The repository id of the CORBA system exception, `IDL:omg.org/CORBA/NAME:1.0`.
    public var repositoryID: String { "IDL:omg.org/CORBA/\(name):1.0" }

    /// The code for a system exception repository id; nil if the id is not of the
    /// `IDL:omg.org/CORBA/NAME:1.0` form.
    public init?(repositoryID: String) {
      let prefix = "IDL:omg.org/CORBA/", suffix = ":1.0"
      guard repositoryID.hasPrefix(prefix), repositoryID.hasSuffix(suffix),
        repositoryID.count > prefix.count + suffix.count
      else { return nil }
      self.name = String(repositoryID.dropFirst(prefix.count).dropLast(suffix.count))
    }

    public var description: String { name }

    public static let unknown = Code("UNKNOWN")
    public static let badParam = Code("BAD_PARAM")
    public static let noMemory = Code("NO_MEMORY")
    public static let impLimit = Code("IMP_LIMIT")
    public static let commFailure = Code("COMM_FAILURE")
    public static let invObjref = Code("INV_OBJREF")
    public static let noPermission = Code("NO_PERMISSION")
    public static let `internal` = Code("INTERNAL")
    public static let marshal = Code("MARSHAL")
    public static let initialize = Code("INITIALIZE")
    public static let noImplement = Code("NO_IMPLEMENT")
    public static let badTypecode = Code("BAD_TYPECODE")
    public static let badOperation = Code("BAD_OPERATION")
    public static let noResources = Code("NO_RESOURCES")
    public static let noResponse = Code("NO_RESPONSE")
    public static let badInvOrder = Code("BAD_INV_ORDER")
    public static let transient = Code("TRANSIENT")
    public static let objAdapter = Code("OBJ_ADAPTER")
    public static let dataConversion = Code("DATA_CONVERSION")
    public static let objectNotExist = Code("OBJECT_NOT_EXIST")
    public static let codesetIncompatible = Code("CODESET_INCOMPATIBLE")
    public static let timeout = Code("TIMEOUT")
  }

  /// The kind of failure.
  public var code: Code
  /// The minor code: vendor id in the high 20 bits, detail in the low 12.
  public var minor: UInt32
  /// Whether the operation ran.
  public var completion: CompletionStatus
  /// What happened, for people.
  public var message: String
  /// The underlying error, if there was one (never sent on the wire).
  public var cause: (any Error & Sendable)?

  public init(
    _ code: Code, minor: UInt32 = 0, completion: CompletionStatus = .no, _ message: String = "",
    cause: (any Error & Sendable)? = nil
  ) {
    self.code = code
    self.minor = minor
    self.completion = completion
    self.message = message
    self.cause = cause
  }

  public var description: String {
    var s = "\(code.name) (minor 0x\(String(minor, radix: 16)), \(completion))"
    if !message.isEmpty { s += ": \(message)" }
    return s
  }
}

/// Courier's minor codes. The vendor minor code id (high 20 bits) is `0x43520` ("CR"), which
/// is not registered with the OMG; OMG-standard minors (vendor `0x4F4D0`) are used where the
/// CORBA specification defines one.
public enum CourierMinor {
  static let vendor: UInt32 = 0x4352_0000
  /// OMG standard minor codes (CORBA 3.0, table 4-3).
  static let omg: UInt32 = 0x4F4D_0000
  /// OBJECT_NOT_EXIST: no servant for the object key.
  public static let noSuchObject: UInt32 = vendor | 1
  /// BAD_OPERATION: the interface has no such operation.
  public static let noSuchOperation: UInt32 = vendor | 2
  /// MARSHAL: the request or reply body could not be read.
  public static let badBody: UInt32 = vendor | 3
  /// MARSHAL: the message exceeds the configured size limit.
  public static let messageTooLarge: UInt32 = vendor | 4
  /// TIMEOUT: the call's deadline passed.
  public static let deadlineExceeded: UInt32 = vendor | 5
  /// COMM_FAILURE: the connection was lost.
  public static let connectionLost: UInt32 = vendor | 6
  /// TRANSIENT: the connection could not be opened.
  public static let connectFailed: UInt32 = vendor | 7
  /// UNKNOWN: the servant threw an error that is neither an RPCError nor a user exception.
  public static let servantError: UInt32 = vendor | 8
  /// TRANSIENT: the server is shutting down.
  public static let shuttingDown: UInt32 = vendor | 9
  /// INV_OBJREF: the reference has no usable profile.
  public static let noUsableProfile: UInt32 = vendor | 10
  /// TRANSIENT: too many LOCATION_FORWARD hops.
  public static let forwardLoop: UInt32 = vendor | 11
  /// BAD_OPERATION: a user exception reply not declared by the operation.
  public static let undeclaredUserException: UInt32 = vendor | 12
  /// TRANSIENT: the server closed an idle connection (or sent on it) before the request was
  /// sent; the request was not sent, and the ORB sends it again on a new connection once.
  public static let idleConnectionClosed: UInt32 = vendor | 13
  /// TRANSIENT: the server cancelled the call because its caller is gone (an orphan).
  public static let callerGone: UInt32 = vendor | 14
  /// BAD_INV_ORDER: an exactly-once call on an ORB without a durable call log.
  public static let noCallLog: UInt32 = vendor | 20
  /// NO_RESOURCES: the durable call log could not record an exactly-once call (not sent).
  public static let callLogFailed: UInt32 = vendor | 21
  /// COMM_FAILURE: an at-most-once retransmission reached a server that restarted since the
  /// request was first sent (its in-memory reply history is gone): the request may have run,
  /// and is not run again. Not retried.
  public static let historyLost: UInt32 = vendor | 22
  /// COMM_FAILURE: a request whose retention id the client has already acknowledged (it had
  /// the call's outcome, or gave up on it) arrived late — a stale duplicate. Not run; not retried.
  public static let alreadyAcknowledged: UInt32 = vendor | 23

  // ONC RPC reply statuses (RFC 5531), as the client raises them; the error's `cause` is the
  // status itself (`ONCReplyError` in CourierONC) with its version ranges and auth reason.
  /// OBJECT_NOT_EXIST: PROG_UNAVAIL, the server does not export the program.
  public static let oncProgramUnavailable: UInt32 = vendor | 40
  /// NO_IMPLEMENT: PROG_MISMATCH, the server does not export this version of the program.
  public static let oncProgramMismatch: UInt32 = vendor | 41
  /// BAD_OPERATION: PROC_UNAVAIL, the version has no such procedure.
  public static let oncProcedureUnavailable: UInt32 = vendor | 42
  /// MARSHAL: GARBAGE_ARGS, the server could not decode the arguments.
  public static let oncGarbageArguments: UInt32 = vendor | 43
  /// UNKNOWN: SYSTEM_ERR, the server failed while serving the call.
  public static let oncSystemError: UInt32 = vendor | 44
  /// NO_IMPLEMENT: RPC_MISMATCH, the server does not speak RPC version 2.
  public static let oncRPCMismatch: UInt32 = vendor | 45
  /// NO_PERMISSION: AUTH_ERROR, the server refused the credentials.
  public static let oncAuthError: UInt32 = vendor | 46
  /// MARSHAL: a reply (or a record) from an ONC RPC server could not be read.
  public static let oncBadReply: UInt32 = vendor | 47
}

extension RPCError {
  /// A `MARSHAL` error for a CDR failure.
  public init(marshal error: CDRError, completion: CompletionStatus = .no) {
    self.init(.marshal, minor: CourierMinor.badBody, completion: completion, error.description, cause: error)
  }
}

/// An IDL user exception: a generated (or hand-written) type that travels in a reply with
/// status `USER_EXCEPTION`, as its repository id followed by its members.
public protocol UserException: Error, CDRCodable, Sendable {
  /// The exception's repository id, e.g. `IDL:Demo/NotFound:1.0`.
  static var repositoryID: String { get }
}
