public import CourierCore
public import CourierWire

// The narrow runtime API that generated ONC RPC code (and hand-written programs such as the
// portmapper) target: a caller for client stubs, a dispatcher for servants, the call context a
// servant sees, and the error that carries every non-success reply status.

/// Which transport a call travelled on.
public enum ONCTransportProtocol: String, Sendable, Hashable, CustomStringConvertible {
  case tcp
  case udp
  /// The IP protocol number rpcbind's PMAP v2 uses for it (`IPPROTO_TCP`, `IPPROTO_UDP`).
  public var ipProtocol: UInt32 { self == .tcp ? 6 : 17 }
  /// The netid rpcbind v3/v4 uses for it over IPv4.
  public var netid: String { rawValue }
  public var description: String { rawValue }
}

/// A reply that is not SUCCESS, as a server sends it and a client receives it (RFC 5531 §9:
/// `accept_stat` other than SUCCESS, and both `reject_stat`s).
///
/// Servants throw it to answer with that status (``systemError`` is what any other error a
/// servant throws becomes); clients see it as the ``/CourierCore/RPCError`` cause of a failed
/// call (see `RPCError.oncReplyError` in the client module).
public enum ONCReplyError: Error, Sendable, Hashable, CustomStringConvertible {
  /// PROG_UNAVAIL: the server does not export the program.
  case programUnavailable
  /// PROG_MISMATCH: the server exports the program, but only versions `low`...`high`.
  case programMismatch(low: UInt32, high: UInt32)
  /// PROC_UNAVAIL: the program version has no such procedure.
  case procedureUnavailable
  /// GARBAGE_ARGS: the arguments could not be decoded.
  case garbageArguments
  /// SYSTEM_ERR: the server failed (memory, a servant error, a bad request it refused).
  case systemError
  /// MSG_DENIED / RPC_MISMATCH: the server speaks only RPC versions `low`...`high`.
  case rpcMismatch(low: UInt32, high: UInt32)
  /// MSG_DENIED / AUTH_ERROR with its reason.
  case authError(AuthStatus)

  /// The reply body that answers a call with this error.
  public var replyBody: ReplyBody {
    switch self {
    case .programUnavailable: .accepted(verifier: .none, status: .programUnavailable)
    case .programMismatch(let low, let high): .accepted(verifier: .none, status: .programMismatch(low: low, high: high))
    case .procedureUnavailable: .accepted(verifier: .none, status: .procedureUnavailable)
    case .garbageArguments: .accepted(verifier: .none, status: .garbageArguments)
    case .systemError: .accepted(verifier: .none, status: .systemError)
    case .rpcMismatch(let low, let high): .rpcMismatch(low: low, high: high)
    case .authError(let status): .authError(status)
    }
  }

  /// The error a reply body reports; nil for SUCCESS.
  public init?(_ body: ReplyBody) {
    switch body {
    case .accepted(_, .success): return nil
    case .accepted(_, .programUnavailable): self = .programUnavailable
    case .accepted(_, .programMismatch(let low, let high)): self = .programMismatch(low: low, high: high)
    case .accepted(_, .procedureUnavailable): self = .procedureUnavailable
    case .accepted(_, .garbageArguments): self = .garbageArguments
    case .accepted(_, .systemError): self = .systemError
    case .rpcMismatch(let low, let high): self = .rpcMismatch(low: low, high: high)
    case .authError(let status): self = .authError(status)
    }
  }

  public var description: String {
    switch self {
    case .programUnavailable: "PROG_UNAVAIL: program unavailable"
    case .programMismatch(let low, let high): "PROG_MISMATCH: program version mismatch (versions \(low)...\(high))"
    case .procedureUnavailable: "PROC_UNAVAIL: procedure unavailable"
    case .garbageArguments: "GARBAGE_ARGS: server could not decode arguments"
    case .systemError: "SYSTEM_ERR: remote system error"
    case .rpcMismatch(let low, let high): "RPC_MISMATCH: RPC version mismatch (versions \(low)...\(high))"
    case .authError(let status): "AUTH_ERROR: authentication error (\(status))"
    }
  }
}

/// What a servant learns about the call it is serving.
public struct ONCCallContext: Sendable {
  /// The call's transaction id.
  public var xid: UInt32
  public var program: UInt32
  public var version: UInt32
  public var procedure: UInt32
  /// The credential as it came.
  public var credential: OpaqueAuth
  /// The AUTH_SYS parameters, when the credential is AUTH_SYS (the server has checked it decodes).
  public var authSys: AuthSysParameters?
  /// The transport the call came on.
  public var transport: ONCTransportProtocol
  /// The caller's IP address and port; nil over a local (Unix-domain) socket.
  public var client: ONCPeerAddress?

  public init(xid: UInt32, program: UInt32, version: UInt32, procedure: UInt32, credential: OpaqueAuth = .none,
              authSys: AuthSysParameters? = nil, transport: ONCTransportProtocol, client: ONCPeerAddress?) {
    self.xid = xid
    self.program = program
    self.version = version
    self.procedure = procedure
    self.credential = credential
    self.authSys = authSys
    self.transport = transport
    self.client = client
  }

  /// The caller's address for logs: `host:port`, or `local`.
  public var clientAddress: String { client?.description ?? "local" }
}

/// One version of one program, served: what a generated servant dispatcher (or a hand-written
/// service such as the portmapper) gives to a server.
///
/// The server answers procedure 0 (the null procedure) of every registered version itself,
/// checks credentials, and turns errors into reply statuses:
/// - an ``XDRError`` thrown while reading the arguments, or ``ONCReplyError/garbageArguments``
///   → GARBAGE_ARGS (use ``decodeArguments(_:from:)``, which maps any decoding error so);
/// - an ``ONCReplyError`` → that status;
/// - any other error → SYSTEM_ERR.
public protocol ONCProgramDispatcher: Sendable {
  /// The program number.
  var program: UInt32 { get }
  /// The version number.
  var version: UInt32 { get }
  /// The procedure numbers this version has, other than 0 (for docs and `rpcinfo`-style listings).
  var procedures: [UInt32] { get }
  /// Reads the arguments of `context.procedure` from `arguments`, runs it, and writes its
  /// results at the end of `results`. Throws ``ONCReplyError/procedureUnavailable`` for a
  /// procedure it does not have.
  func dispatch(arguments: inout XDRReader, results: inout XDRWriter, context: ONCCallContext) throws
}

extension ONCProgramDispatcher {
  /// Reads a procedure's arguments, turning any decoding failure into GARBAGE_ARGS.
  @inlinable
  public func decodeArguments<T: XDRDecodable>(_: T.Type, from reader: inout XDRReader) throws(ONCReplyError) -> T {
    do { return try T(from: &reader) } catch { throw .garbageArguments }
  }
}

/// Makes calls: what a generated client stub holds. Implemented by the TCP and UDP clients of
/// the transport module (`ONCClient` in CourierNIO), and by anything that can carry a call
/// (an in-process loop for tests).
///
/// Errors: the implementation throws `RPCError` (CourierCore), whose cause is an
/// ``ONCReplyError`` when the server answered with a status other than SUCCESS, and an
/// ``XDRError`` when the results could not be read.
public protocol ONCCaller: Sendable {
  /// Calls `procedure` of `program` `version`: `encodeArguments` writes the arguments after the
  /// call header, `decodeResults` reads the results of a SUCCESS reply.
  func call<R>(
    program: UInt32, version: UInt32, procedure: UInt32,
    encodeArguments: (inout XDRWriter) throws -> Void,
    decodeResults: (inout XDRReader) throws -> R
  ) throws -> R
}

extension ONCCaller {
  /// Calls a procedure with one XDR argument and one XDR result (`XDRVoid` for `void`).
  @inlinable
  public func call<A: XDREncodable, R: XDRDecodable>(
    program: UInt32, version: UInt32, procedure: UInt32, arguments: A, returning: R.Type = R.self
  ) throws -> R {
    try call(program: program, version: version, procedure: procedure,
             encodeArguments: { try arguments.encode(to: &$0) }, decodeResults: { try R(from: &$0) })
  }
}

extension ONCReplyError {
  /// The ``RPCError`` a client raises for this reply: the status maps onto the closest CORBA
  /// system exception with an ONC minor code (`CourierMinor.onc…`), and the status itself —
  /// version ranges and auth reason included — is the error's `cause`, so nothing is lost.
  public var rpcError: RPCError {
    switch self {
    case .programUnavailable:
      RPCError(.objectNotExist, minor: CourierMinor.oncProgramUnavailable, completion: .no, description, cause: self)
    case .programMismatch:
      RPCError(.noImplement, minor: CourierMinor.oncProgramMismatch, completion: .no, description, cause: self)
    case .procedureUnavailable:
      RPCError(.badOperation, minor: CourierMinor.oncProcedureUnavailable, completion: .no, description, cause: self)
    case .garbageArguments:
      RPCError(.marshal, minor: CourierMinor.oncGarbageArguments, completion: .no, description, cause: self)
    case .systemError:
      RPCError(.unknown, minor: CourierMinor.oncSystemError, completion: .maybe, description, cause: self)
    case .rpcMismatch:
      RPCError(.noImplement, minor: CourierMinor.oncRPCMismatch, completion: .no, description, cause: self)
    case .authError:
      RPCError(.noPermission, minor: CourierMinor.oncAuthError, completion: .no, description, cause: self)
    }
  }
}

extension RPCError {
  /// The ONC RPC reply status behind this error, when a server answered a call with one.
  public var oncReplyError: ONCReplyError? { cause as? ONCReplyError }
}
