import CourierCore
import CourierWire
import Synchronization

/// What a distributed method threw, as it travels: the GIOP user exception
/// `IDL:Courier/SwiftError:1.0` (`courier-idl export` declares it), with the error's type name,
/// its description, and — for a `Codable` error type registered with the actor system on the
/// server — its value as a CDR encapsulation.
///
/// A caller whose actor system registered the same type gets the error itself back; otherwise
/// it gets a ``RemoteActorError``.
struct SwiftErrorException: UserException {
  static let repositoryID = "IDL:Courier/SwiftError:1.0"
  var typeName: String
  var description: String
  var payload: [UInt8]

  init(typeName: String, description: String, payload: [UInt8]) {
    self.typeName = typeName
    self.description = description
    self.payload = payload
  }

  func encode(to w: inout CDRWriter) throws {
    try w.writeString(typeName)
    try w.writeString(description)
    w.writeOctetSequence(payload)
  }

  init(from r: inout CDRReader) throws {
    typeName = try r.readString()
    description = try r.readString()
    payload = try r.readOctetSequence()
  }
}

/// An error a distributed method threw that this process cannot rebuild as its own type (the
/// type is not `Codable`, or not registered with ``CourierActorSystem/registerError(_:)``).
public struct RemoteActorError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The thrown error's qualified Swift type name (`Module.Type`).
  public var typeName: String
  /// `String(describing:)` of the error, as the server printed it.
  public var errorDescription: String

  public init(typeName: String, errorDescription: String) {
    self.typeName = typeName
    self.errorDescription = errorDescription
  }

  public var description: String { "remote actor threw \(typeName): \(errorDescription)" }
}

/// Why a call on a distributed actor could not be made, beyond the ORB's own ``RPCError``s.
public struct CourierActorError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Code: Sendable, Hashable {
    /// The actor no longer exists: its process released it (no lease held it any more, or it
    /// was deinitialized), or the process restarted.
    case actorGone
    /// This process could not renew its lease for longer than the lease period, and the
    /// actor's process no longer has it: calling would reach nothing (never a new actor).
    case leaseExpired
    /// The method or its target cannot be called remotely (generic distributed methods, an
    /// operation name two methods share, …).
    case unsupported
    /// A registry name is not bound, or names something that is not an actor.
    case notBound
  }

  public var code: Code
  public var id: CourierActorID?
  public var message: String

  public init(_ code: Code, id: CourierActorID? = nil, _ message: String) {
    self.code = code
    self.id = id
    self.message = message
  }

  public var description: String { message }
}

/// The `Codable` error types a system rebuilds from their wire form, by qualified type name.
final class ErrorRegistry: Sendable {
  struct Entry: Sendable {
    let decode: @Sendable ([UInt8]) throws -> any Error
    let encode: @Sendable (any Error) throws -> [UInt8]
  }

  private let entries = Mutex<[String: Entry]>([:])

  func register<E: Error & Codable>(_ type: E.Type) {
    let entry = Entry(
      decode: { bytes in
        guard let flag = bytes.first else { throw CDRError(.truncated, "empty error payload") }
        var reader = CDRReader(bytes, byteOrder: ByteOrder(flag: flag), position: 1, alignmentOrigin: 1)
        return try CDRDecoder().decode(E.self, from: &reader)
      },
      encode: { error in
        var w = CDRWriter(capacity: 64)
        w.bytes.append(w.byteOrder.flag)
        w.alignmentOrigin = 1
        try CDREncoder().encode(error as! E, into: &w)
        return w.bytes
      })
    entries.withLock { $0[String(reflecting: type)] = entry }
  }

  /// The wire form of an error a method threw.
  func exception(for error: any Error) -> SwiftErrorException {
    let name = String(reflecting: type(of: error))
    var payload: [UInt8] = []
    if let entry = entries.withLock({ $0[name] }), let bytes = try? entry.encode(error) { payload = bytes }
    return SwiftErrorException(typeName: name, description: String(describing: error), payload: payload)
  }

  /// The error a caller sees for a received exception.
  func error(for exception: SwiftErrorException) -> any Error {
    if !exception.payload.isEmpty, let entry = entries.withLock({ $0[exception.typeName] }),
       let error = try? entry.decode(exception.payload) {
      return error
    }
    return RemoteActorError(typeName: exception.typeName, errorDescription: exception.description)
  }
}
