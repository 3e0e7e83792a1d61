public import CourierWire
public import Logging

/// One incoming invocation as a skeleton sees it: the operation, its marshalled arguments,
/// and a writer for the reply body.
///
/// The object adapter hands it to ``Servant/dispatch(_:)``; the skeleton reads the `in`/`inout`
/// arguments from ``arguments``, calls the implementation, and writes the result and the
/// `out`/`inout` values into ``reply``. Thrown ``RPCError``s and ``UserException``s become
/// exception replies.
public struct ServerRequest: ~Copyable {
  /// The operation name as it came on the wire (`_get_x`/`_set_x` for attributes).
  public let operation: String
  /// The target's object key.
  public let objectKey: [UInt8]
  /// The protocol's request id.
  public let requestID: UInt32
  /// False for oneway calls: whatever is written to ``reply`` is dropped.
  public let responseExpected: Bool
  /// The marshalled `in` and `inout` arguments.
  public var arguments: CDRReader
  /// The reply body: the result, then `out` and `inout` values in order.
  public var reply: CDRWriter
  /// A logger with `request-id` and `object-key` metadata.
  public var logger: Logger
  /// What the protocol layer offers the skeleton (the GIOP server puts its client ORB here, so
  /// that object references in arguments can be called back).
  public var environment: (any Sendable)?

  public init(
    operation: String, objectKey: [UInt8], requestID: UInt32, responseExpected: Bool,
    arguments: CDRReader, reply: CDRWriter, logger: Logger
  ) {
    self.operation = operation
    self.objectKey = objectKey
    self.requestID = requestID
    self.responseExpected = responseExpected
    self.arguments = arguments
    self.reply = reply
    self.logger = logger
    self.environment = nil
  }

  /// Reads the next argument.
  @inlinable
  public mutating func read<T: CDRDecodable>(_: T.Type = T.self) throws -> T {
    do { return try T(from: &arguments) } catch let e as CDRError { throw RPCError(marshal: e) }
  }

  /// Writes the next reply value.
  @inlinable
  public mutating func write<T: CDREncodable>(_ value: T) throws {
    do { try value.encode(to: &reply) } catch let e as CDRError { throw RPCError(marshal: e, completion: .yes) }
  }
}

/// A servant: the object implementation behind an object key, reached through its skeleton.
///
/// Generated skeletons implement ``dispatch(_:)`` by switching on the operation name; the
/// object adapter answers `_is_a`, `_non_existent` and `_repository_id` itself from
/// ``repositoryIDs``.
public protocol Servant: AnyObject, Sendable {
  /// The repository ids this object supports, the most derived interface first
  /// (e.g. `["IDL:Bench/Echo:1.0"]`).
  var repositoryIDs: [String] { get }

  /// Serves one request; throws ``RPCError`` (`BAD_OPERATION` for an unknown operation) or a
  /// ``UserException``.
  func dispatch(_ request: inout ServerRequest) throws

  /// True when calls on this servant must not overlap; the adapter then runs them one at a
  /// time. False (the default) lets calls from different connections run concurrently.
  var dispatchesSerially: Bool { get }
}

extension Servant {
  public var dispatchesSerially: Bool { false }
}

/// A servant found on demand for an object key that has none activated (the seeds' "object
/// activation": the server creates or loads the object when the first call arrives).
public protocol ServantLocator: Sendable {
  /// The servant for `objectKey`, or nil if there is no such object (the caller then gets
  /// `OBJECT_NOT_EXIST`).
  func locate(objectKey: [UInt8]) throws -> LocatedServant?
}

/// What a ``ServantLocator`` found.
public struct LocatedServant: Sendable {
  /// The servant.
  public var servant: any Servant
  /// Keep it activated under the key, so later calls find it without the locator.
  public var activate: Bool

  public init(_ servant: any Servant, activate: Bool = true) {
    self.servant = servant
    self.activate = activate
  }
}
