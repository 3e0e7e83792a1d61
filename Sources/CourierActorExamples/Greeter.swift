public import CourierActors
public import Distributed

/// A distributed protocol: a client needs only this to call any actor that conforms
/// (`$Greeter.resolve(id:using:)`).
@Resolvable
public protocol Greeter: DistributedActor where ActorSystem == CourierActorSystem {
  distributed func greet(name: String, times: Int32) async throws -> String
  distributed func add(_ a: Int64, _ b: Int64) async throws -> Int64
}

/// Thrown by ``GreeterActor`` for an empty name.
public struct EmptyName: Error, Codable, Sendable, Hashable {
  public var reason: String
  public init(reason: String) { self.reason = reason }
}

/// An error that is not Codable: it reaches callers as a RemoteActorError.
public struct PlainFailure: Error, Sendable, CustomStringConvertible {
  public var description: String { "plain failure" }
  public init() {}
}

/// The greeter: `greet` repeats a greeting, `add` adds, `fail` throws a non-Codable error.
public distributed actor GreeterActor: Greeter {
  public typealias ActorSystem = CourierActorSystem

  public init(actorSystem: CourierActorSystem) {
    self.actorSystem = actorSystem
  }

  public distributed func greet(name: String, times: Int32) throws -> String {
    guard !name.isEmpty else { throw EmptyName(reason: "no name given") }
    return Array(repeating: "Hello, \(name)!", count: Int(max(times, 0))).joined(separator: " ")
  }

  public distributed func add(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }

  public distributed func fail() throws -> Int32 { throw PlainFailure() }

  /// A method with a pinned wire name (see ``CourierOperationNaming``).
  public distributed func describe(_ value: Int32, with prefix: String) -> String { "\(prefix)\(value)" }

  /// Echoes bytes: the benchmark's payload call.
  public distributed func echo(_ data: [UInt8]) -> [UInt8] { data }
}

extension GreeterActor: CourierOperationNaming {
  public static var courierOperationNames: [String: String] { ["describe(_:with:)": "describeValue"] }
}
