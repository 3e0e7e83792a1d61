import CourierCore
public import CourierGIOP
import Synchronization

// Implementations of the example interfaces. Their stubs, servant protocols and skeletons are
// generated at build time from Echo.idl, Person.idl and Shape.idl by CourierIDLPlugin.

/// The benchmark's Bench::Echo: `add` adds, `echoBytes` returns a copy, `ping` counts.
public final class EchoImplementation: Bench_Echo.Service {
  let pings = ConditionLock()
  nonisolated(unsafe) var pingTotal = 0  // guarded by `pings`
  public init() {}
  public func add(a: Int64, b: Int64) -> Int64 { a &+ b }
  public func echoBytes(data: Bench_Bytes) -> Bench_Bytes { data }
  public func ping() {
    pings.withLock {
      pingTotal += 1
      pings.broadcast()
    }
  }
  /// How many pings arrived.
  public var pingCount: Int { pings.withLock { pingTotal } }

  /// Waits until at least `count` pings arrived or `timeout` passes; returns the count then.
  @discardableResult
  public func waitForPings(atLeast count: Int, timeout: Duration) -> Int {
    let deadline = ContinuousClock.now + timeout
    return pings.withLock {
      while pingTotal < count, pings.wait(until: deadline) {}
      return pingTotal
    }
  }
}

/// The seeds' Demo::PersonList: a list of people in memory.
public final class PersonListImplementation: Demo_PersonList.Service {
  let people = Mutex<[Demo_Person]>([])
  public let listname: String
  public init(listname: String) { self.listname = listname }

  public func addPerson(p: Demo_Person) { people.withLock { $0.append(p) } }

  public func getPerson(name: String) throws -> Demo_Person {
    guard let p = people.withLock({ $0.first { $0.name == name } }) else { throw Demo_NotFound(name: name) }
    return p
  }

  public func number() -> Int32 { Int32(people.withLock { $0.count }) }
}

/// One Demo::Shape: its state and a version number.
public final class ShapeImplementation: Demo_Shape.Service {
  let state: Demo_GraphicalObject
  let version: Int32
  public init(state: Demo_GraphicalObject, version: Int32) {
    self.state = state
    self.version = version
  }
  public func getVersion() -> Int32 { version }
  public func getAllState() -> Demo_GraphicalObject { state }
}

/// The Coulouris Demo::ShapeList: a factory that makes each new Shape a remote object of its
/// own (a transient object in the server's adapter) and returns a reference to it.
public final class ShapeListImplementation: Demo_ShapeList.Service {
  struct State {
    var shapes: [Demo_Shape.Client] = []
    var version: Int32 = 0
  }
  let state = Mutex(State())
  /// The server whose adapter the new shapes live in (set before the first call).
  let server: Mutex<GIOPServer?> = Mutex(nil)
  /// The most shapes the list holds (`All` is `sequence<Shape, 100>`).
  public let capacity: Int

  public init(capacity: Int = 100) { self.capacity = capacity }

  /// Sets the server that activates new shapes.
  public func serve(on server: GIOPServer) { self.server.withLock { $0 = server } }

  public func newShape(g: Demo_GraphicalObject) throws -> Demo_Shape.Client? {
    guard let server = server.withLock({ $0 }) else {
      throw RPCError(.internal, minor: 0, completion: .no, "ShapeList has no server to activate shapes on")
    }
    let version = try state.withLock { s -> Int32 in
      guard s.shapes.count < capacity else { throw Demo_ShapeList.FullException() }
      s.version += 1
      return s.version
    }
    let reference = try server.activate(Demo_Shape.Servant(ShapeImplementation(state: g, version: version)),
                                        typeID: Demo_Shape.repositoryID)
    let shape = Demo_Shape.Client(reference)
    state.withLock { $0.shapes.append(shape) }
    return shape
  }

  public func allShapes() -> Demo_All { state.withLock { $0.shapes.map(Optional.some) } }

  public func getVersion() -> Int32 { state.withLock { $0.version } }
}

/// The seeds' dynamic-binding example server: says which server it is.
public final class GreeterImplementation: Demo_Greeter.Service {
  public let serverName: String
  public init(serverName: String) { self.serverName = serverName }
  public func greet(who: String) -> String { "hello, \(who), from \(serverName)" }
}
