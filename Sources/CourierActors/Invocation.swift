import CourierCore
import CourierGIOP
public import CourierWire
public import Distributed
import Synchronization

/// Records a remote call's arguments: each is CDR-encoded at once, at an 8-aligned origin
/// (the request body's alignment), through `Codable`.
public struct CourierInvocationEncoder: DistributedTargetInvocationEncoder {
  public typealias SerializationRequirement = any Codable

  let session: MarshalSession
  /// The bridge, with the session in its user info (made once per call).
  let coder: CDREncoder
  var writer: CDRWriter
  var failure: (any Error)?

  init(system: CourierActorSystem) {
    session = MarshalSession(system: system)
    var coder = CDREncoder()
    coder.userInfo = session.userInfo
    self.coder = coder
    writer = CDRWriter(capacity: 64)
  }

  /// The encoded arguments.
  var arguments: [UInt8] { writer.bytes }

  /// Ignored: the server finds the method by its wire name on the concrete actor type, so a
  /// `@Resolvable` stub's substitution (its own type) is not needed; a truly generic method
  /// fails on the server (no substitutions arrive).
  public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {}

  public mutating func recordArgument<Value: Codable>(_ argument: RemoteCallArgument<Value>) throws {
    guard failure == nil else { return }
    do { try coder.encode(argument.value, into: &writer) } catch let e as CDRError {
      failure = RPCError(.marshal, minor: CourierMinor.badBody, completion: .no,
                         "cannot marshal argument \(argument.label ?? argument.name): \(e.message)", cause: e)
    }
  }

  public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
  public mutating func recordReturnType<R: Codable>(_ type: R.Type) throws {}
  public mutating func doneRecording() throws {}
}

/// Reads an incoming call's arguments from the request body.
public struct CourierInvocationDecoder: DistributedTargetInvocationDecoder {
  public typealias SerializationRequirement = any Codable

  var reader: CDRReader
  let session: MarshalSession
  /// The bridge, with the session in its user info (made once per call).
  let coder: CDRDecoder

  init(arguments: CDRReader, session: MarshalSession) {
    reader = arguments
    reader.context = session.system.orb
    self.session = session
    var coder = CDRDecoder()
    coder.userInfo = session.userInfo
    self.coder = coder
  }

  public mutating func decodeGenericSubstitutions() throws -> [any Any.Type] { [] }

  public mutating func decodeNextArgument<Argument: Codable>() throws -> Argument {
    do { return try coder.decode(Argument.self, from: &reader) } catch let e as CDRError {
      throw RPCError(marshal: e, completion: .no)
    }
  }

  public mutating func decodeErrorType() throws -> (any Any.Type)? { nil }
  public mutating func decodeReturnType() throws -> (any Any.Type)? { nil }
}

/// Writes an incoming call's outcome into the reply body: the result, or the error (thrown by
/// the serving thread as a GIOP exception).
public final class CourierResultHandler: DistributedTargetInvocationResultHandler, @unchecked Sendable {
  // @unchecked: used by the task running the call, then by the waiting thread after it finished.
  public typealias SerializationRequirement = any Codable

  private var reply: CDRWriter
  let session: MarshalSession
  private(set) var failure: (any Error)?

  init(reply: CDRWriter, session: MarshalSession) {
    self.reply = reply
    self.session = session
  }

  func takeReply() -> CDRWriter {
    let r = reply
    reply = CDRWriter(capacity: 0)
    return r
  }

  func fail(_ error: any Error) {
    if failure == nil { failure = error }
  }

  public func onReturn<Success: Codable>(value: Success) async throws {
    var encoder = CDREncoder()
    encoder.userInfo = session.userInfo
    do { try encoder.encode(value, into: &reply) } catch let e as CDRError {
      failure = RPCError(marshal: e, completion: .yes)
    }
  }

  public func onReturnVoid() async throws {}

  public func onThrow<Err: Error>(error: Err) async throws {
    if let rpc = error as? RPCError {
      failure = rpc
    } else if let exception = error as? any UserException {
      failure = exception
    } else {
      failure = session.system.errors.exception(for: error)
    }
  }
}

/// What one message's marshalling shares: the actor system (for references), and the transit
/// marks of the references received, acknowledged once this process holds its own leases.
final class MarshalSession: Sendable {
  let system: CourierActorSystem
  private let received = Mutex<[(CourierActorID, TransitMark)]>([])

  init(system: CourierActorSystem) {
    self.system = system
  }

  /// What every coder of this message gets: the actor system (for distributed actors'
  /// synthesized `Codable`) and this session (for the references' transit marks).
  var userInfo: [CodingUserInfoKey: any Sendable] {
    [.actorSystemKey: system, MarshalSession.key: self]
  }

  static let key = CodingUserInfoKey(rawValue: "courier.marshalSession")!

  func noteReceived(_ id: CourierActorID, marks: [TransitMark]) {
    guard !marks.isEmpty else { return }
    received.withLock { list in for m in marks { list.append((id, m)) } }
  }

  /// The message is decoded: acknowledge the marks of references now held (after the lease
  /// registration, if one is under way), and at once those of references not kept.
  func finishReceiving() {
    let marks = received.withLock { list in
      defer { list = [] }
      return list
    }
    for (id, mark) in marks {
      if system.isLocal(id) || !system.leases.ackAfterRegistration(id, mark) {
        system.acknowledge(mark)
      }
    }
  }
}

extension CourierActorID: Codable, CDRUserInfoEncodable, CDRUserInfoDecodable {
  /// Under the CDR bridge: the IOR, with a transit mark when the writing system holds the
  /// actor (see ``CourierActorSystem``).
  public func encode(to writer: inout CDRWriter, userInfo: [CodingUserInfoKey: any Sendable]) throws {
    var ior = self.ior
    if let session = userInfo[MarshalSession.key] as? MarshalSession, let mark = session.system.holdForTransit(self) {
      ior.profiles.append(try mark.profile())
    }
    try ior.encode(to: &writer)
  }

  public init(from reader: inout CDRReader, userInfo: [CodingUserInfoKey: any Sendable]) throws {
    let ior = try IOR(from: &reader)
    guard !ior.isNil else { throw CDRError(.invalidValue, "a nil reference where an actor was expected") }
    do { try self.init(ior: ior) } catch { throw CDRError(.invalidValue, "\(error)") }
    if let session = userInfo[MarshalSession.key] as? MarshalSession {
      session.noteReceived(self, marks: TransitMark.marks(in: ior))
    }
  }

  /// Under the CDR bridge, the IOR; other encoders (JSON, …) get the stringified IOR.
  public func encode(to encoder: any Encoder) throws {
    if try CDRBridge.encode(self, to: encoder) { return }
    var container = encoder.singleValueContainer()
    try container.encode(try ior.stringified())
  }

  public init(from decoder: any Decoder) throws {
    if let decoded = try CDRBridge.decode(Self.self, from: decoder) {
      self = decoded
      return
    }
    let text = try decoder.singleValueContainer().decode(String.self)
    try self.init(ior: IOR(stringified: text))
  }
}
