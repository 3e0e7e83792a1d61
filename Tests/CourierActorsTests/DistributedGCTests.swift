import CourierActorExamples
import CourierActors
import CourierCore
import CourierGIOP
import CourierNIO
import CourierWire
import Distributed
import Synchronization
import Testing

/// Counts `unreferenced()` runs per actor.
final class UnreferencedLog: Sendable {
  private let seen = Mutex<[CourierActorID: Int]>([:])
  func record(_ id: CourierActorID) { seen.withLock { $0[id, default: 0] += 1 } }
  func count(_ id: CourierActorID) -> Int { seen.withLock { $0[id] ?? 0 } }
  var total: Int { seen.withLock { $0.values.reduce(0, +) } }
}

@Suite("Distributed actors: leases and distributed GC")
struct DistributedGCTests {
  /// A holder registers a lease when its first proxy appears and cleans it when the last goes;
  /// the actor, exported only for remote use, is then released and its hook runs once.
  @Test func aLeaseLastsFromTheFirstProxyToTheLast() async throws {
    let log = UnreferencedLog()
    let a = try makeSystem()
    let b = try makeSystem()
    defer { b.shutdown(); a.shutdown() }
    let list = ShapeList(actorSystem: a, onShapeUnreferenced: log.record)
    let remoteList = try ShapeList.resolve(id: list.id, using: b)
    var shapeID: CourierActorID?
    do {
      let shape = try await remoteList.makeShape(sampleShape)
      shapeID = shape.id
      let second = try Shape.resolve(id: shape.id, using: b)  // a second proxy: the same lease
      #expect(try await second.getVersion() == 1)
      #expect(await eventually { a.leaseHolders(of: list).count == 1 })
      #expect(await eventually { b.heldLeaseCount == 2 })  // the list and the shape
      #expect(log.total == 0)
      withExtendedLifetime((shape, second)) {}
    }
    let id = try #require(shapeID)
    #expect(await eventually { log.count(id) == 1 })
    #expect(await eventually { b.heldLeaseCount == 1 })  // the list's lease remains
    // Released: a call through a new proxy finds nothing, with a clear error.
    let stale = try Shape.resolve(id: id, using: b)
    let error = await #expect(throws: CourierActorError.self) { _ = try await stale.getVersion() }
    #expect(error?.code == .actorGone)
    #expect(log.count(id) == 1)
    withExtendedLifetime(remoteList) {}  // its lease is the one that remains
  }

  /// The seeds' race: B passes a reference to C and drops its own before C's "referenced"
  /// (dirty) call reaches A, which the fault injector delays. With transit holds (the default)
  /// B's clean waits for C's acknowledgement, so the actor survives; without them it is
  /// collected early and C's call fails.
  @Test(arguments: [true, false])
  func thePassedReferenceRaceDoesNotCollectEarly(transitHolds: Bool) async throws {
    let log = UnreferencedLog()
    let a = try makeSystem()
    let b = try makeSystem { $0.transitHolds = transitHolds }
    // Without holds, B's clean must overtake C's dirty call: hold that call back long enough
    // for a loaded machine (the whole suite runs in parallel on two cores).
    let held: Duration = transitHolds ? .milliseconds(800) : .seconds(5)
    let delay = FaultInjector(FaultPlan(rules: [.init(.delay(held), on: .outgoing, types: [.request], nth: 1)]))
    let c = try makeSystem { $0.connector = FaultInjectingConnector(TCPConnector(), injector: delay) }
    defer { c.shutdown(); b.shutdown(); a.shutdown() }
    let list = ShapeList(actorSystem: a, onShapeUnreferenced: log.record)
    let holderB = ShapeHolder(actorSystem: b)
    let holderC = ShapeHolder(actorSystem: c)
    #expect(try await holderB.obtain(from: ShapeList.resolve(id: list.id, using: b), type: "triangle") == 1)
    try await holderB.pass(to: ShapeHolder.resolve(id: holderC.id, using: b))  // B drops its reference
    // C's first request (its dirty call to A) is being held back by the injector now.
    #expect(await eventually { delay.stats.delayed(.request, .outgoing) == 1 })
    if transitHolds {
      #expect(try await holderC.callHeld() == "triangle")
      #expect(log.total == 0)
      try await holderC.drop()
      #expect(await eventually { log.total == 1 })
      #expect(a.exportedCount == 0 || a.exportedCount == 1)  // the list may still be leased by B
    } else {
      #expect(await eventually(.seconds(20)) { log.total == 1 })  // collected while C still holds a reference
      let error = await #expect(throws: CourierActorError.self) { _ = try await holderC.callHeld() }
      #expect(error?.code == .actorGone)
    }
    #expect(log.total == 1)
  }

  /// A holder cut off for longer than the lease loses it: the owner releases the actor, the
  /// holder's death watch fires, and its next call gets a clear error (never a new object).
  @Test func aPartitionedHolderSeesAClearErrorAndItsWatchFires() async throws {
    let log = UnreferencedLog()
    let a = try makeSystem(lease: .milliseconds(600))
    let cut = FaultInjector()
    let h = try makeSystem(lease: .milliseconds(600)) { $0.connector = FaultInjectingConnector(TCPConnector(), injector: cut) }
    defer { h.shutdown(); a.shutdown() }
    let list = ShapeList(actorSystem: a, onShapeUnreferenced: log.record)
    let shape = try await ShapeList.resolve(id: list.id, using: h).makeShape(sampleShape)
    #expect(try await shape.getVersion() == 1)
    let watched = Mutex<String?>(nil)
    h.watchTermination(of: shape) { _, reason in watched.withLock { $0 = reason } }
    // Leases are renewed (every 200 ms, one dirty call per renewal): after four renewals, more
    // than a lease period, the shape is still there.
    let sent = cut.stats.seen(.request, .outgoing)
    #expect(await eventually { cut.stats.seen(.request, .outgoing) >= sent + 4 })
    #expect(log.total == 0)
    #expect(try await shape.getVersion() == 1)
    // Partition: every request this holder sends is cut.
    cut.plan = FaultPlan(rules: [.init(.cut, on: .outgoing, types: [.request])])
    #expect(await eventually { log.count(shape.id) == 1 })
    #expect(await eventually { watched.withLock { $0 } != nil })
    cut.plan = .none
    let error = await #expect(throws: CourierActorError.self) { _ = try await shape.getVersion() }
    #expect(error?.code == .leaseExpired)
    #expect(log.count(shape.id) == 1)
  }

  /// DGC requests are checked like any other: a truncated dirty call is MARSHAL and grants nothing.
  @Test func malformedDGCCallsAreRejected() async throws {
    let a = try makeSystem()
    let b = try makeSystem()
    defer { b.shutdown(); a.shutdown() }
    let list = ShapeList(actorSystem: a)
    var profile = try #require(list.id.ior.iiopProfiles.first)
    profile.objectKey = Array("CourierDGC".utf8)
    let dgc = b.orb.object(try IOR(typeID: "IDL:Courier/DGC:1.0", profile: profile))
    let error = await #expect(throws: RPCError.self) {
      try await rawInvoke(dgc, "dirty") { w in
        w.writeOctetSequence([1, 2, 3])
        w.write(UInt32(1_000_000))  // a million keys, none present
      }
    }
    #expect(error?.code == .marshal)
    #expect(a.exportedCount == 0)
    await #expect(throws: RPCError.self) { try await rawInvoke(dgc, "collect") }
  }
}
