public import CourierActors
public import Distributed

// The seeds' ShapeList (Coulouris et al., "Shape and ShapeList in CORBA IDL" and the Java RMI
// version) written as Swift distributed actors: a shape list is a factory that hands out
// references to shapes, each a remote object of its own.

/// A rectangle: width, height and position.
public struct Rectangle: Codable, Sendable, Hashable {
  public var width: Int32
  public var height: Int32
  public var x: Int32
  public var y: Int32

  public init(width: Int32, height: Int32, x: Int32, y: Int32) {
    self.width = width
    self.height = height
    self.x = x
    self.y = y
  }
}

/// A shape's state: its kind, its enclosing rectangle, whether it is filled.
public struct GraphicalObject: Codable, Sendable, Hashable {
  public var type: String
  public var enclosing: Rectangle
  public var isFilled: Bool

  public init(type: String, enclosing: Rectangle, isFilled: Bool) {
    self.type = type
    self.enclosing = enclosing
    self.isFilled = isFilled
  }
}

/// Thrown by ``ShapeList/newShape(_:)`` when the list is full.
public struct ShapeListFull: Error, Codable, Sendable, Hashable {
  public var capacity: Int32
  public init(capacity: Int32) { self.capacity = capacity }
}

/// One shape: its state and the version of the list it was made in.
public distributed actor Shape: Unreferenced {
  public typealias ActorSystem = CourierActorSystem

  let state: GraphicalObject
  let version: Int32
  let onUnreferenced: @Sendable (CourierActorID) -> Void

  public init(state: GraphicalObject, version: Int32, actorSystem: CourierActorSystem,
              onUnreferenced: @escaping @Sendable (CourierActorID) -> Void = { _ in }) {
    self.actorSystem = actorSystem
    self.state = state
    self.version = version
    self.onUnreferenced = onUnreferenced
  }

  public distributed func getVersion() -> Int32 { version }
  public distributed func getAllState() -> GraphicalObject { state }

  public func unreferenced() async { onUnreferenced(id) }
}

/// The factory: `newShape` makes a shape and returns a reference to it.
public distributed actor ShapeList {
  public typealias ActorSystem = CourierActorSystem

  var shapes: [Shape] = []
  var version: Int32 = 0
  /// The most shapes the list holds.
  public let capacity: Int
  let onShapeUnreferenced: @Sendable (CourierActorID) -> Void

  public init(capacity: Int = 100, actorSystem: CourierActorSystem,
              onShapeUnreferenced: @escaping @Sendable (CourierActorID) -> Void = { _ in }) {
    self.actorSystem = actorSystem
    self.capacity = capacity
    self.onShapeUnreferenced = onShapeUnreferenced
  }

  /// Makes a shape and keeps it in the list.
  public distributed func newShape(_ g: GraphicalObject) throws -> Shape {
    guard shapes.count < capacity else { throw ShapeListFull(capacity: Int32(capacity)) }
    version += 1
    let shape = Shape(state: g, version: version, actorSystem: actorSystem, onUnreferenced: onShapeUnreferenced)
    shapes.append(shape)
    return shape
  }

  /// Makes a shape the list does not keep: it lives while some process references it (the
  /// factory of the distributed GC demonstrations).
  public distributed func makeShape(_ g: GraphicalObject) -> Shape {
    version += 1
    return Shape(state: g, version: version, actorSystem: actorSystem, onUnreferenced: onShapeUnreferenced)
  }

  public distributed func allShapes() -> [Shape] { shapes }
  public distributed func getVersion() -> Int32 { version }
}

/// A process's holder of one shape reference, driven remotely: the middle and last processes
/// of the seeds' race (B gets a reference and passes it to C; B drops it, then C).
public distributed actor ShapeHolder {
  public typealias ActorSystem = CourierActorSystem

  var held: Shape?

  public init(actorSystem: CourierActorSystem) {
    self.actorSystem = actorSystem
  }

  /// Asks `list` for a new unkept shape and holds it.
  public distributed func obtain(from list: ShapeList, type: String) async throws -> Int32 {
    let shape = try await list.makeShape(GraphicalObject(type: type, enclosing: Rectangle(width: 1, height: 1, x: 0, y: 0), isFilled: false))
    held = shape
    return try await shape.getVersion()
  }

  /// Holds `shape` (a reference passed in).
  public distributed func take(_ shape: Shape) {
    held = shape
  }

  /// Passes the held shape to `other`, then drops this holder's reference.
  public distributed func pass(to other: ShapeHolder) async throws {
    guard let shape = held else { return }
    try await other.take(shape)
    held = nil
  }

  /// Calls the held shape: its state's type.
  public distributed func callHeld() async throws -> String {
    guard let shape = held else { return "" }
    return try await shape.getAllState().type
  }

  /// Drops the held reference.
  public distributed func drop() {
    held = nil
  }

  /// True while a reference is held.
  public distributed func isHolding() -> Bool { held != nil }

  /// How many remote actors this holder's process holds leases on (the race's tests wait for
  /// a process to have let go).
  public distributed func leaseCount() -> Int { actorSystem.heldLeaseCount }
}
