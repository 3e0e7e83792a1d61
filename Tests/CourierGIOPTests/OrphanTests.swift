import CourierCore
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import Synchronization
import Testing

/// A servant whose `work` runs until the call is cancelled (deadline or orphan) or the test
/// releases it, and records what `checkCancelled()` said.
final class CancellableWork: Servant, @unchecked Sendable {
  // @unchecked: every field is behind `lock`.
  let lock = ConditionLock()
  private var entered = 0
  private var released = false
  private var outcomes: [Result<Void, RPCError>] = []
  var repositoryIDs: [String] { ["IDL:test/Work:1.0"] }

  func dispatch(_ request: inout ServerRequest) throws {
    if request.operation == "work_for" {  // works its seconds unless cancelled
      let seconds: Double = try request.read()
      let end = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
      while ContinuousClock.now < end {
        try IncomingCall.checkCancelled()
        lock.withLock { _ = lock.wait(until: .now + .milliseconds(5)) }
      }
      try request.write(true)
      return
    }
    let sawCancelledAtStart = IncomingCall.isCancelled
    lock.withLock {
      entered += 1
      lock.broadcast()
    }
    let limit = ContinuousClock.now + .seconds(30)  // a bound, should the test fail to end it
    while !IncomingCall.isCancelled && !lock.withLock({ released }) && ContinuousClock.now < limit {
      lock.withLock { _ = lock.wait(until: .now + .milliseconds(5)) }
    }
    let outcome: Result<Void, RPCError>
    do throws(RPCError) { try IncomingCall.checkCancelled(); outcome = .success(()) } catch { outcome = .failure(error) }
    lock.withLock {
      outcomes.append(outcome)
      lock.broadcast()
    }
    try outcome.get()
    try request.write(!sawCancelledAtStart)
  }

  func waitEntered(_ n: Int) -> Bool {
    let deadline = ContinuousClock.now + .seconds(20)
    return lock.withLock {
      while entered < n { if !lock.wait(until: deadline) { return false } }
      return true
    }
  }

  func waitOutcome(_ n: Int) -> Result<Void, RPCError>? {
    let deadline = ContinuousClock.now + .seconds(20)
    return lock.withLock {
      while outcomes.count < n { if !lock.wait(until: deadline) { return nil } }
      return outcomes[n - 1]
    }
  }

  var enteredCount: Int { lock.withLock { entered } }

  func release() {
    lock.withLock {
      released = true
      lock.broadcast()
    }
  }
}

@Suite("Orphans and cancellation")
struct OrphanTests {
  static func server(_ servant: CancellableWork, dispatch: GIOPServer.DispatchMode = .perConnection) throws -> (GIOPServer, OrphanMonitor) {
    let adapter = ObjectAdapter()
    adapter.activate(servant, key: "Work")
    var config = GIOPServer.Configuration()
    config.dispatchMode = dispatch
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: 0), configuration: config)
    server.start()
    return (server, try #require(config.orphans))
  }

  static func stateDirectory(_ name: String) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("courier-orphans-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    return path
  }

  @Test(arguments: [OrphanPolicy.Mode.none, .extermination, .reincarnation, .gentleReincarnation, .expiration(quantum: .milliseconds(300))])
  func contextRoundTrip(mode: OrphanPolicy.Mode) throws {
    let context = OrphanContext(clientID: "o0123456789abcdef", epoch: 7, callID: 0x1_0000_0002, mode: mode)
    let wire = context.serviceContext
    #expect(wire.id == 0x434F_5503)
    #expect(try OrphanContext(wire) == context)
  }

  @Test func malformedContextsAreMarshal() throws {
    let good = OrphanContext(clientID: "c", epoch: 1, callID: 1, mode: .reincarnation).serviceContext.data
    var unknownMode = good
    unknownMode[unknownMode.count - 8] = 9  // the mode octet, before 3 pad bytes and lease_ms
    var zeroLease = OrphanContext(clientID: "c", epoch: 1, callID: 1, mode: .expiration(quantum: .milliseconds(5))).serviceContext.data
    zeroLease.replaceSubrange(zeroLease.count - 4..<zeroLease.count, with: [0, 0, 0, 0])
    for data in [[], [0], Array(good.dropLast(3)), unknownMode, zeroLease] {
      #expect {
        try OrphanContext(ServiceContext(id: OrphanContext.serviceContextID, data: data))
      } throws: { ($0 as? RPCError)?.code == .marshal }
    }
  }

  @Test func malformedContextOnTheWireIsMarshalAndChangesNothing() throws {
    let work = CancellableWork()
    let (server, monitor) = try Self.server(work)
    defer { server.shutdown(timeout: .seconds(2)) }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = orb.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
    // A call of client "victim", epoch 1, under reincarnation, runs.
    let running = OrphanContext(clientID: "victim", epoch: 1, callID: 1, mode: .reincarnation).serviceContext
    let pending = try ref.invokeDeferred("work", options: CallOptions(timeout: .seconds(30), serviceContexts: [running]))
    #expect(work.waitEntered(1))
    let before = monitor.statistics
    #expect(before.running == 1)
    // A context that would announce epoch 99 for "victim", but with a mode that does not
    // exist; and a truncated one. Neither runs the servant, announces, or registers.
    var unknownMode = OrphanContext(clientID: "victim", epoch: 99, callID: 1, mode: .reincarnation).serviceContext
    unknownMode.data[unknownMode.data.count - 8] = 9
    var truncated = unknownMode
    truncated.data = Array(OrphanContext(clientID: "victim", epoch: 99, callID: 1, mode: .reincarnation).serviceContext.data.dropLast(6))
    let other = ORB(connector: TCPConnector())
    defer { other.shutdown() }
    let otherRef = other.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
    for bad in [unknownMode, truncated] {
      #expect {
        _ = try otherRef.invoke("work", options: CallOptions(timeout: .seconds(10), serviceContexts: [bad]))
      } throws: { e in
        guard let e = e as? RPCError else { return false }
        return e.code == .marshal && e.completion == .no
      }
    }
    #expect(monitor.statistics == before)
    #expect(work.enteredCount == 1)
    work.release()
    var reply = try pending.wait()
    #expect(try reply.read(Bool.self))
    #expect(monitor.statistics.running == 0)
  }

  @Test func aRunningCallSeesItsDeadlinePass() throws {
    let work = CancellableWork()
    let (server, monitor) = try Self.server(work)
    defer { server.shutdown(timeout: .seconds(2)) }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = orb.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
    #expect {
      _ = try ref.invoke("work", options: CallOptions(timeout: .milliseconds(300)))
    } throws: { ($0 as? RPCError)?.code == .timeout }
    let outcome = try #require(work.waitOutcome(1), "the servant did not see the deadline pass")
    guard case .failure(let error) = outcome else {
      Issue.record("checkCancelled() did not throw after the deadline")
      return
    }
    #expect(error.code == .timeout && error.minor == CourierMinor.deadlineExceeded && error.completion == .maybe, "\(error)")
    #expect(monitor.statistics.running == 0)  // a deadline alone does not register the call
    #expect(!IncomingCall.isCancelled)  // outside a dispatch
  }

  /// An older-epoch call whose owner's connection is alive: gentle reincarnation leaves it
  /// running; plain reincarnation cancels it.
  @Test(arguments: [OrphanPolicy.Mode.gentleReincarnation, .reincarnation], [GIOPServer.DispatchMode.perConnection, .concurrent])
  func announcementOfANewEpoch(mode: OrphanPolicy.Mode, dispatch: GIOPServer.DispatchMode) throws {
    let work = CancellableWork()
    let (server, monitor) = try Self.server(work, dispatch: dispatch)
    defer { server.shutdown(timeout: .seconds(2)) }
    let dir = Self.stateDirectory("announce")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = ORB.Configuration()
    config.orphans = OrphanPolicy(mode: mode, stateDirectory: dir)
    let first = ORB(configuration: config, connector: TCPConnector())
    defer { first.shutdown() }
    let pending = try first.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
      .invokeDeferred("work", options: CallOptions(timeout: .seconds(30)))
    #expect(work.waitEntered(1))
    #expect(first.orphanIdentity?.epoch == 1)
    #expect(monitor.statistics.running == 1)

    // The same client (same state directory) restarts, while the first incarnation's
    // connection is still open.
    let second = ORB(configuration: config, connector: TCPConnector())
    defer { second.shutdown() }
    let cancelled = try second.announceRestart()
    #expect(second.orphanIdentity?.epoch == 2)
    #expect(second.orphanIdentity?.clientID == first.orphanIdentity?.clientID)
    let stats = monitor.statistics
    #expect(stats.orphansLeft == 0)
    if mode == .gentleReincarnation {
      #expect(cancelled == 0)
      #expect(stats.cancelledByGentleReincarnation == 0 && stats.running == 1)
      work.release()
      var reply = try pending.wait()
      #expect(try reply.read(Bool.self))
    } else {
      #expect(cancelled == 1)
      #expect(stats.cancelledByReincarnation == 1)
      #expect {
        _ = try pending.wait()
      } throws: { e in
        guard let e = e as? RPCError else { return false }
        return e.code == .transient && e.minor == CourierMinor.orphanCancelled && e.failure == .clientCrashed
      }
    }
    #expect(work.waitOutcome(1) != nil)
  }

  /// A request that carries a newer epoch counts as its announcement; a request of the
  /// superseded epoch that arrives later is refused unrun.
  @Test func aRequestWithANewerEpochAnnouncesIt() throws {
    let work = CancellableWork()
    let (server, monitor) = try Self.server(work, dispatch: .concurrent)
    defer { server.shutdown(timeout: .seconds(2)) }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = orb.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
    func options(epoch: UInt32, call: UInt64) -> CallOptions {
      CallOptions(timeout: .seconds(30), serviceContexts: [OrphanContext(clientID: "k", epoch: epoch, callID: call, mode: .reincarnation).serviceContext])
    }
    let old = try ref.invokeDeferred("work", options: options(epoch: 1, call: 1))
    #expect(work.waitEntered(1))
    let new = try ref.invokeDeferred("work", options: options(epoch: 2, call: 1))
    #expect {
      _ = try old.wait()
    } throws: { ($0 as? RPCError)?.minor == CourierMinor.orphanCancelled }
    #expect(work.waitEntered(2))
    #expect {
      _ = try ref.invoke("work", options: options(epoch: 1, call: 2))
    } throws: { e in
      guard let e = e as? RPCError else { return false }
      return e.code == .transient && e.minor == CourierMinor.orphanCancelled && e.completion == .no
    }
    #expect(work.enteredCount == 2)
    #expect(monitor.statistics.cancelledByReincarnation == 2)
    work.release()
    var reply = try new.wait()
    #expect(try reply.read(Bool.self))
  }

  /// Expiration with a live client: its renewals (every quantum / 2, over a connection of
  /// their own) keep a call running for several quanta.
  @Test func aLiveClientsRenewalsKeepItsCallAlive() throws {
    let work = CancellableWork()
    let (server, monitor) = try Self.server(work)
    defer { server.shutdown(timeout: .seconds(2)) }
    let dir = Self.stateDirectory("renew")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = ORB.Configuration()
    config.orphans = OrphanPolicy(mode: .expiration(quantum: .seconds(1)), stateDirectory: dir)
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = orb.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
    var reply = try ref.invoke("work_for", options: CallOptions(timeout: .seconds(30))) { w in w.write(3.0) }
    #expect(try reply.read(Bool.self))
    #expect(monitor.statistics == OrphanMonitor.Statistics())
  }

  /// Extermination's log holds a file for a call exactly while it is out.
  @Test func theCallLogHoldsACallWhileItRuns() throws {
    let work = CancellableWork()
    let (server, _) = try Self.server(work)
    defer { server.shutdown(timeout: .seconds(2)) }
    let dir = Self.stateDirectory("log")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = ORB.Configuration()
    config.orphans = OrphanPolicy(mode: .extermination, stateDirectory: dir)
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let pending = try orb.object(try server.reference(key: "Work", typeID: "IDL:test/Work:1.0"))
      .invokeDeferred("work", options: CallOptions(timeout: .seconds(30)))
    #expect(work.waitEntered(1))
    let logged = try FileManager.default.contentsOfDirectory(atPath: dir + "/calls")
    #expect(logged == ["1-1"])
    let entry = try String(contentsOfFile: dir + "/calls/1-1", encoding: .utf8).split(separator: "\n")
    #expect(entry.count == 4 && entry[0] == "127.0.0.1 \(server.port)" && entry[2] == "1" && entry[3] == "1")
    #expect(try String(contentsOfFile: dir + "/epoch", encoding: .utf8) == "1\n")
    work.release()
    _ = try pending.wait()
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/calls").isEmpty)
  }
}
