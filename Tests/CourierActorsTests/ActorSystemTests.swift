import CourierActorExamples
import CourierActors
import CourierCore
import CourierGIOP
import CourierNIO
import CourierNaming
import CourierWire
import Distributed
import Foundation
import Synchronization
import Testing

/// Systems in one process, each with its own server and ORB: calls between them are real GIOP
/// over TCP on 127.0.0.1.
func makeSystem(lease: Duration = .seconds(60), configure: (inout CourierActorSystem.Configuration) -> Void = { _ in }) throws -> CourierActorSystem {
  var configuration = CourierActorSystem.Configuration()
  configuration.leasePeriod = lease
  configure(&configuration)
  return try CourierActorSystem(configuration: configuration)
}

/// Waits for `condition` with a deadline (no fixed sleeps).
func eventually(_ timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(10))
  }
  return try await condition()
}

/// Runs blocking work (a plain ORB call, a child process starting, make) on a thread of its
/// own. Blocking the test's cooperative thread instead can starve the actors the test calls:
/// their calls run on that pool too, and this machine's pool has two threads.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
  }
}

/// A plain GIOP call (what a CORBA client sends), returning the reply body.
@discardableResult
func rawInvoke(_ reference: ObjectReference, _ operation: String,
               _ arguments: @escaping @Sendable (inout CDRWriter) throws -> Void = { _ in }) async throws -> CDRReader {
  try await offPool {
    let reply = try reference.invoke(operation, arguments: arguments)
    return reply.body
  }
}

let sampleShape = GraphicalObject(type: "circle", enclosing: Rectangle(width: 3, height: 4, x: 1, y: 2), isFilled: true)

@Suite("Distributed actors: calls")
struct ActorCallTests {
  @Test func aCallGoesThroughGIOPWithAReadableOperationName() async throws {
    let server = try makeSystem()
    let client = try makeSystem()
    defer { client.shutdown(); server.shutdown() }
    let greeter = GreeterActor(actorSystem: server)
    let remote = try GreeterActor.resolve(id: greeter.id, using: client)
    #expect(__isRemoteActor(remote))
    #expect(try await remote.greet(name: "Ada", times: 2) == "Hello, Ada! Hello, Ada!")
    #expect(try await remote.add(40, 2) == 42)
    #expect(try await remote.echo([1, 2, 3]) == [1, 2, 3])

    // The same object answers plain GIOP: the operation names are readable.
    let reference = client.orb.object(greeter.id.ior)
    var reply = try await rawInvoke(reference, "greet_name_times") { w in
      try w.writeString("Bob")
      w.write(Int32(1))
    }
    #expect(try reply.readString() == "Hello, Bob!")
    var sum = try await rawInvoke(reference, "add") { w in
      w.write(Int64(1))
      w.write(Int64(2))
    }
    #expect(try sum.read(Int64.self) == 3)
  }

  @Test func aPinnedNameReplacesTheDerivedOne() async throws {
    let server = try makeSystem()
    let client = try makeSystem()
    defer { client.shutdown(); server.shutdown() }
    let greeter = GreeterActor(actorSystem: server)
    let remote = try GreeterActor.resolve(id: greeter.id, using: client)
    #expect(try await remote.describe(7, with: "n=") == "n=7")
    let reference = client.orb.object(greeter.id.ior)
    var reply = try await rawInvoke(reference, "describeValue") { w in
      w.write(Int32(8))
      try w.writeString("v")
    }
    #expect(try reply.readString() == "v8")
    await #expect(throws: RPCError.self) { try await rawInvoke(reference, "describe_with") { w in w.write(Int32(1)); try w.writeString("") } }
  }

  @Test func anUnknownOperationIsBadOperationAndChangesNothing() async throws {
    let server = try makeSystem()
    let client = try makeSystem()
    defer { client.shutdown(); server.shutdown() }
    let greeter = GreeterActor(actorSystem: server)
    let reference = client.orb.object(greeter.id.ior)
    let error = await #expect(throws: RPCError.self) { try await rawInvoke(reference, "noSuchMethod") }
    #expect(error?.code == .badOperation)
    // Truncated arguments: MARSHAL, and the actor still answers.
    let marshal = await #expect(throws: RPCError.self) { try await rawInvoke(reference, "add") { w in w.write(Int32(1)) } }
    #expect(marshal?.code == .marshal)
    let remote = try GreeterActor.resolve(id: greeter.id, using: client)
    #expect(try await remote.add(1, 1) == 2)
  }

  @Test func aResolvableProtocolIsEnoughForTheClient() async throws {
    let server = try makeSystem()
    let client = try makeSystem()
    defer { client.shutdown(); server.shutdown() }
    let greeter = GreeterActor(actorSystem: server)
    let remote: any Greeter = try $Greeter.resolve(id: greeter.id, using: client)
    #expect(try await remote.greet(name: "Lin", times: 1) == "Hello, Lin!")
    #expect(try await remote.add(2, 3) == 5)
  }

  @Test func registeredCodableErrorsArriveTypedAndOthersAsRemoteActorError() async throws {
    let server = try makeSystem()
    let client = try makeSystem()
    defer { client.shutdown(); server.shutdown() }
    server.registerError(EmptyName.self)
    let greeter = GreeterActor(actorSystem: server)
    let remote = try GreeterActor.resolve(id: greeter.id, using: client)
    // Not registered on the client yet: a generic error naming the type.
    let generic = await #expect(throws: RemoteActorError.self) { try await remote.greet(name: "", times: 1) }
    #expect(generic?.typeName == "CourierActorExamples.EmptyName")
    client.registerError(EmptyName.self)
    let typed = await #expect(throws: EmptyName.self) { try await remote.greet(name: "", times: 1) }
    #expect(typed == EmptyName(reason: "no name given"))
    let plain = await #expect(throws: RemoteActorError.self) { try await remote.fail() }
    #expect(plain?.errorDescription == "plain failure")
  }

  @Test func identitiesAreObjectReferencesUniqueInSpaceAndTime() throws {
    let a = try makeSystem()
    let b = try makeSystem()
    defer { a.shutdown(); b.shutdown() }
    let x = GreeterActor(actorSystem: a), y = GreeterActor(actorSystem: a), z = GreeterActor(actorSystem: b)
    #expect(x.id != y.id)
    #expect(x.id.courierParts?.incarnation == a.incarnation)
    #expect(x.id.courierParts?.number != y.id.courierParts?.number)
    #expect(z.id.courierParts?.incarnation == b.incarnation)
    #expect(a.incarnation != b.incarnation)
    #expect(x.id.ior.typeID == "IDL:CourierActorExamples/GreeterActor:1.0")
    let text = try x.id.stringified()
    #expect(try CourierActorID(ior: IOR(stringified: text)) == x.id)
    #expect(x.id.ior.iiopProfiles.first?.port == a.server.port)
  }

  @Test func anActorOfTheCallersOwnSystemResolvesToItself() throws {
    let system = try makeSystem()
    defer { system.shutdown() }
    let greeter = GreeterActor(actorSystem: system)
    let again = try GreeterActor.resolve(id: greeter.id, using: system)
    #expect(again === greeter)
    #expect(!__isRemoteActor(again))
  }
}

@Suite("Distributed actors: references as parameters")
struct ActorReferenceTests {
  @Test func aFactoryReturnsReferencesAndValuesArriveAsCopies() async throws {
    let a = try makeSystem()
    let b = try makeSystem()
    defer { b.shutdown(); a.shutdown() }
    let list = ShapeList(actorSystem: a)
    let remoteList = try ShapeList.resolve(id: list.id, using: b)
    let shape = try await remoteList.newShape(sampleShape)
    #expect(__isRemoteActor(shape))
    #expect(shape.id.courierParts?.incarnation == a.incarnation)
    #expect(try await shape.getAllState() == sampleShape)
    #expect(try await shape.getVersion() == 1)
    let all = try await remoteList.allShapes()
    #expect(all.map(\.id) == [shape.id])
  }

  @Test func aReferencePassedToAThirdProcessReachesTheOriginal() async throws {
    let a = try makeSystem()
    let b = try makeSystem()
    let c = try makeSystem()
    defer { c.shutdown(); b.shutdown(); a.shutdown() }
    let list = ShapeList(actorSystem: a)
    let holderB = ShapeHolder(actorSystem: b)
    let holderC = ShapeHolder(actorSystem: c)
    let driver = try makeSystem()
    defer { driver.shutdown() }
    let remoteB = try ShapeHolder.resolve(id: holderB.id, using: driver)
    let remoteC = try ShapeHolder.resolve(id: holderC.id, using: driver)
    let remoteList = try ShapeList.resolve(id: list.id, using: driver)
    #expect(try await remoteB.obtain(from: remoteList, type: "square") == 1)
    try await remoteB.pass(to: remoteC)
    #expect(try await remoteC.callHeld() == "square")
    #expect(try await remoteB.isHolding() == false)
    #expect(await eventually { c.heldLeaseCount == 1 })
  }

  @Test func aFullListThrowsTheRegisteredError() async throws {
    let a = try makeSystem()
    let b = try makeSystem()
    defer { b.shutdown(); a.shutdown() }
    a.registerError(ShapeListFull.self)
    b.registerError(ShapeListFull.self)
    let list = ShapeList(capacity: 1, actorSystem: a)
    let remote = try ShapeList.resolve(id: list.id, using: b)
    _ = try await remote.newShape(sampleShape)
    let full = await #expect(throws: ShapeListFull.self) { _ = try await remote.newShape(sampleShape) }
    #expect(full?.capacity == 1)
  }
}

@Suite("Distributed actors: registry")
struct ActorRegistryTests {
  final class Naming {
    let orb = ORB(connector: TCPConnector())
    let server: GIOPServer
    init() throws {
      server = GIOPServer(adapter: ObjectAdapter(), listener: try TCPListener(host: "127.0.0.1", port: 0), orb: orb)
      try NamingService().install(on: server)
      server.start()
    }
    var url: String { "corbaloc:iiop:1.2@127.0.0.1:\(server.port)/NameService" }
    func stop() {
      orb.shutdown()
      server.shutdown(timeout: .seconds(2))
    }
  }

  @Test func checkInLookupCorbanameAndImplicitBinding() async throws {
    let naming = try Naming()
    defer { naming.stop() }
    let server = try makeSystem { $0.orb.initialReferences["NameService"] = naming.url }
    let client = try makeSystem { $0.orb.initialReferences["NameService"] = naming.url }
    defer { client.shutdown(); server.shutdown() }
    let list = ShapeList(actorSystem: server)
    try server.checkIn(list, as: "shapes")
    #expect(server.exportedCount == 1)  // checked in: kept alive

    let found = try await client.lookup("shapes", as: ShapeList.self)
    #expect(found.id == list.id)
    #expect(try await found.getVersion() == 0)

    let port = naming.server.port
    let viaURL = try await client.lookup(url: "corbaname::127.0.0.1:\(port)#shapes", as: ShapeList.self)
    #expect(viaURL.id == list.id)

    let binding = client.binding(to: "shapes", as: ShapeList.self)
    #expect(!binding.isBound)
    _ = try await binding.call { try await $0.newShape(sampleShape) }
    #expect(binding.isBound)
    #expect(try await binding.call { try await $0.getVersion() } == 1)

    let missing = await #expect(throws: CourierActorError.self) { _ = try await client.lookup("nothing", as: ShapeList.self) }
    #expect(missing?.code == .notBound)

    try server.checkOut("shapes")
    await #expect(throws: CourierActorError.self) { _ = try await client.lookup("shapes", as: ShapeList.self) }
  }
}
