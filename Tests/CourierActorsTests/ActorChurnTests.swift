import CourierActorExamples
import CourierActors
import Distributed
import Synchronization
import Testing

/// Creating and dropping many remote actors leaves nothing behind: the owner's exports and live
/// actors return to where they were, the holder keeps no lease (`courier actor-churn` measures
/// the same at 100,000 across two processes).
@Suite("Distributed actors: churn")
struct ActorChurnTests {
  /// Counts `unreferenced()` calls on the server's shapes.
  final class Counter: Sendable {
    let value = Atomic<Int>(0)
  }

  @Test(arguments: [2000])
  func remoteActorsCreatedAndDroppedInALoopLeaveNothingBehind(count: Int) async throws {
    let server = try makeSystem()
    let client = try makeSystem()
    defer { client.shutdown(); server.shutdown() }
    let unreferenced = Counter()
    let list = ShapeList(actorSystem: server) { _ in unreferenced.value.add(1, ordering: .relaxed) }
    let startExported = server.exportedCount
    let startLive = server.liveActorCount
    #expect(startLive == 1)

    try await Self.churn(count, listID: list.id, using: client)

    // Every proxy is gone: the clean calls (and the acknowledgements of the references in the
    // replies) are on their way; wait for them, with a deadline.
    let drained = await eventually(.seconds(20)) {
      server.exportedCount == startExported && server.liveActorCount == startLive && client.heldLeaseCount == 0
    }
    #expect(drained, "exports \(server.exportedCount) (start \(startExported)), live \(server.liveActorCount) (start \(startLive)), client leases \(client.heldLeaseCount)")
    #expect(unreferenced.value.load(ordering: .relaxed) == count)
    withExtendedLifetime(list) {}
  }

  /// COUNT times: a new remote shape, one call on it, dropped; then the list's proxy is dropped too.
  static func churn(_ count: Int, listID: CourierActorID, using client: CourierActorSystem) async throws {
    let remoteList = try ShapeList.resolve(id: listID, using: client)
    for i in 1...count {
      let shape = try await remoteList.makeShape(sampleShape)
      #expect(try await shape.getVersion() == Int32(i))
    }
  }
}
