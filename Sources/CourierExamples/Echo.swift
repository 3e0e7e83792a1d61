import Synchronization
public import CourierCore
public import CourierGIOP
public import CourierWire

/// `module Bench { typedef sequence<octet> Bytes; interface Echo { … }; }` — the benchmark
/// interface of `shared/peers/omniorb-echo/echo.idl`, stub and skeleton written by hand until
/// the IDL compiler generates them.
public enum Bench {
  /// `interface Echo { long long add(in long long a, in long long b); Bytes echoBytes(in Bytes data); oneway void ping(); }`
  public enum Echo {
    public static let repositoryID = "IDL:Bench/Echo:1.0"
  }
}

/// What a Bench::Echo object does.
public protocol BenchEchoService: Sendable {
  func add(_ a: Int64, _ b: Int64) throws -> Int64
  func echoBytes(_ data: [UInt8]) throws -> [UInt8]
  func ping() throws
}

/// The skeleton: unmarshals a request, calls the service, marshals the result.
public final class BenchEchoServant<Service: BenchEchoService>: Servant {
  public let service: Service
  public init(_ service: Service) { self.service = service }
  public var repositoryIDs: [String] { [Bench.Echo.repositoryID] }

  public func dispatch(_ request: inout ServerRequest) throws {
    switch request.operation {
    case "add":
      let a: Int64 = try request.read()
      let b: Int64 = try request.read()
      try request.write(try service.add(a, b))
    case "echoBytes":
      let data: [UInt8] = try request.read()
      try request.write(try service.echoBytes(data))
    case "ping":
      try service.ping()
    default:
      throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no,
                     "Bench::Echo has no operation \(request.operation)")
    }
  }
}

/// The stub: a typed proxy for a remote Bench::Echo.
public struct BenchEchoStub: Sendable {
  public let reference: ObjectReference
  public init(_ reference: ObjectReference) { self.reference = reference }

  /// Narrows `reference` (asking the object with `_is_a` if its IOR does not say).
  public static func narrow(_ reference: ObjectReference) throws -> BenchEchoStub {
    BenchEchoStub(try reference.narrow(to: Bench.Echo.repositoryID))
  }

  public func add(_ a: Int64, _ b: Int64, options: CallOptions? = nil) throws -> Int64 {
    var reply = try reference.invoke("add", options: options) { w in
      w.write(a)
      w.write(b)
    }
    return try reply.read()
  }

  public func echoBytes(_ data: [UInt8], options: CallOptions? = nil) throws -> [UInt8] {
    var reply = try reference.invoke("echoBytes", options: options) { w in w.writeOctetSequence(data) }
    return try reply.read()
  }

  /// Oneway: returns once the request is sent.
  public func ping() throws {
    try reference.invokeOneway("ping")
  }

  /// `add` from async code.
  public func add(_ a: Int64, _ b: Int64, options: CallOptions? = nil) async throws -> Int64 {
    let reply = try await reference.invoke("add", options: options) { w in
      w.write(a)
      w.write(b)
    }
    return try reply.read()
  }
}

/// The benchmark's implementation: `add` adds, `echoBytes` returns a copy, `ping` counts.
public final class EchoImplementation: BenchEchoService {
  let pings = Mutex(0)
  public init() {}
  public func add(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
  public func echoBytes(_ data: [UInt8]) -> [UInt8] { data }
  public func ping() { pings.withLock { $0 += 1 } }
  /// How many pings arrived.
  public var pingCount: Int { pings.withLock { $0 } }
}
