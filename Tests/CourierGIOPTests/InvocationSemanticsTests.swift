import CourierCore
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import Synchronization
import Testing

/// Invocation semantics over TCP: at-least-once runs a retransmitted call again, at-most-once
/// answers the retransmission with the retained reply, maybe does not retry.
@Suite("Invocation semantics", .serialized)
struct InvocationSemanticsTests {
  /// `deposit(amount) -> balance`, not idempotent; the first execution can be held until
  /// something happens (`holdFirst` returns then).
  final class Account: Servant, @unchecked Sendable {
    let repositoryIDs = ["IDL:Test/Account:1.0"]
    let balance = Mutex<Int64>(0)
    let executions = Atomic<Int>(0)
    let holdFirst: (@Sendable () -> Void)?
    init(holdFirst: (@Sendable () -> Void)? = nil) { self.holdFirst = holdFirst }

    func dispatch(_ request: inout ServerRequest) throws {
      switch request.operation {
      case "deposit":
        let amount: Int64 = try request.read()
        let n = executions.add(1, ordering: .relaxed).newValue
        if n == 1 { holdFirst?() }
        let now = balance.withLock { b -> Int64 in b += amount; return b }
        try request.write(now)
      default:
        throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no, request.operation)
      }
    }
  }

  final class Running {
    let server: GIOPServer
    /// Counts what the client sends (no faults): tests wait on it instead of sleeping.
    let client: FaultInjector
    let orb: ORB
    let account: Account
    init(_ account: Account, history: ReplyHistory? = ReplyHistory(), client: FaultInjector = FaultInjector()) throws {
      self.client = client
      orb = ORB(connector: FaultInjectingConnector(TCPConnector(), injector: client))
      self.account = account
      let adapter = ObjectAdapter()
      adapter.activate(account, key: "Account")
      var config = GIOPServer.Configuration()
      config.replyHistory = history
      server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: 0), configuration: config)
      server.start()
    }
    func reference(_ options: CallOptions) throws -> ObjectReference {
      try orb.object("corbaloc::127.0.0.1:\(server.port)/Account").with(options: options)
    }
    func stop() {
      orb.shutdown()
      server.shutdown(timeout: .seconds(5))
    }
  }

  /// Holds a servant until the client has sent a second request (a retransmission).
  static func untilRetransmitted(_ client: FaultInjector) -> @Sendable () -> Void {
    { _ = client.wait(until: { $0.seen(.request, .outgoing) >= 2 }, timeout: .seconds(10)) }
  }

  /// Holds a servant until the client has given up on the call (it sends CancelRequest).
  static func untilCancelled(_ client: FaultInjector) -> @Sendable () -> Void {
    { _ = client.wait(until: { $0.seen(.cancelRequest, .outgoing) >= 1 }, timeout: .seconds(10)) }
  }

  static func deposit(_ ref: ObjectReference, _ amount: Int64) throws -> Int64 {
    var reply = try ref.invoke("deposit") { w in w.write(amount) }
    return try reply.read()
  }

  @Test func atMostOnceAnswersARetransmissionWithTheRetainedReply() throws {
    let client = FaultInjector()
    let r = try Running(Account(holdFirst: Self.untilRetransmitted(client)), client: client)
    defer { r.stop() }
    let history = try #require(r.server.configuration.replyHistory as? ReplyHistory)
    let ref = try r.reference(CallOptions(timeout: .seconds(10), semantics: .atMostOnce, retransmitAfter: .milliseconds(100)))
    // The first attempt is held until the client has sent the same request again (same
    // FT_REQUEST); the duplicate waits for it and gets its reply. One execution.
    #expect(try Self.deposit(ref, 10) == 10)
    #expect(r.account.executions.load(ordering: .relaxed) == 1)
    #expect(history.statistics.replays >= 1)
    for i in 2...20 { #expect(try Self.deposit(ref, 10) == Int64(10 * i)) }
    #expect(r.account.executions.load(ordering: .relaxed) == 20)
    // Acknowledgements piggybacked on later calls keep the history from growing.
    // (the client acknowledges every 8 calls: at most 8 acknowledged-to-be replies and the last one)
    #expect(history.statistics.retained <= 9, "\(history.statistics)")
  }

  @Test func atLeastOnceRunsARetransmissionAgain() throws {
    let client = FaultInjector()
    let r = try Running(Account(holdFirst: Self.untilRetransmitted(client)), client: client)
    defer { r.stop() }
    let ref = try r.reference(CallOptions(timeout: .seconds(10), semantics: .atLeastOnce, retransmitAfter: .milliseconds(100)))
    let answer = try Self.deposit(ref, 10)
    // The retransmissions ran too: the balance counts the deposit more than once.
    #expect(r.account.executions.load(ordering: .relaxed) >= 2)
    #expect(answer >= 20)
  }

  @Test func maybeDoesNotRetry() throws {
    let client = FaultInjector()
    let r = try Running(Account(holdFirst: Self.untilCancelled(client)), client: client)
    defer { r.stop() }
    let ref = try r.reference(CallOptions(timeout: .milliseconds(100), semantics: .maybe))
    do { _ = try Self.deposit(ref, 10); Issue.record("no timeout") } catch let e as RPCError {
      #expect(e.code == .timeout)
      #expect(e.completion == .maybe)
    }
    #expect(r.account.executions.load(ordering: .relaxed) == 1)
  }

  /// The call ran, its reply was lost, and the server restarted (its in-memory history gone):
  /// the retransmission says when it was first sent, and the new server refuses it rather than
  /// run it a second time. The caller sees COMM_FAILURE / historyLost / COMPLETED_MAYBE.
  @Test func atMostOnceRetransmissionToARestartedServerIsRefused() throws {
    let cutEveryReply = FaultInjector(FaultPlan(rules: [.init(.cut, on: .outgoing, types: [.reply])]))
    let firstAccount = Account()
    let adapter = ObjectAdapter()
    adapter.activate(firstAccount, key: "Account")
    let first = GIOPServer(adapter: adapter, listener: FaultInjectingListener(try TCPListener(host: "127.0.0.1", port: 0), injector: cutEveryReply))
    first.start()
    let port = first.port
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = try orb.object("corbaloc::127.0.0.1:\(port)/Account").with(options: CallOptions(timeout: .seconds(15), semantics: .atMostOnce))
    let result = Mutex<Result<Int64, any Error>?>(nil)
    let done = ConditionLock()
    spawnThread(name: "at-most-once-caller") {
      let outcome = Result { try Self.deposit(ref, 5) }
      done.withLock { result.withLock { $0 = outcome }; done.broadcast() }
    }
    // It ran and its reply was cut (the client keeps retrying: every reply is cut).
    #expect(cutEveryReply.wait(until: { $0.seen(.reply, .outgoing) >= 1 }, timeout: .seconds(10)))
    first.shutdown(timeout: .seconds(5))
    let account = Account()
    let adapter2 = ObjectAdapter()
    adapter2.activate(account, key: "Account")
    let second = GIOPServer(adapter: adapter2, listener: try TCPListener(host: "127.0.0.1", port: port))
    second.start()
    defer { second.shutdown(timeout: .seconds(5)) }
    let limit = ContinuousClock.now + .seconds(20)
    let outcome = done.withLock { () -> Result<Int64, any Error>? in
      while result.withLock({ $0 }) == nil, done.wait(until: limit) {}
      return result.withLock { $0 }
    }
    #expect(throws: RPCError.self) { try #require(outcome).get() }
    if case .failure(let error as RPCError)? = outcome {
      #expect(error.code == .commFailure && error.minor == CourierMinor.historyLost && error.completion == .maybe, "\(error)")
    }
    #expect(firstAccount.executions.load(ordering: .relaxed) == 1)
    #expect(account.executions.load(ordering: .relaxed) == 0, "the restarted server did not run it again")
  }

  @Test func atMostOnceSurvivesAServerRestartOnItsPortWhenNothingRan() throws {
    // The server is down when the call starts and comes back within the deadline: the call
    // goes through once (TRANSIENT is retried; it certainly did not run).
    let first = try Running(Account())
    let port = first.server.port
    first.stop()
    // The server comes back once the client has failed to connect; the call waits on a thread.
    let connector = CountingConnector(TCPConnector())
    let orb = ORB(connector: connector)
    defer { orb.shutdown() }
    let ref = try orb.object("corbaloc::127.0.0.1:\(port)/Account")
      .with(options: CallOptions(timeout: .seconds(10), semantics: .atMostOnce))
    let result = Mutex<Result<Int64, any Error>?>(nil)
    let done = ConditionLock()
    spawnThread(name: "at-most-once-caller") {
      let outcome = Result { try Self.deposit(ref, 5) }
      done.withLock { result.withLock { $0 = outcome }; done.broadcast() }
    }
    #expect(connector.waitForAttempts(1, timeout: .seconds(10)), "the client never tried to connect")
    let account = Account()
    let adapter = ObjectAdapter()
    adapter.activate(account, key: "Account")
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port))
    server.start()
    defer { server.shutdown(timeout: .seconds(5)) }
    let limit = ContinuousClock.now + .seconds(15)
    let outcome = done.withLock { () -> Result<Int64, any Error>? in
      while result.withLock({ $0 }) == nil, done.wait(until: limit) {}
      return result.withLock { $0 }
    }
    #expect(try #require(outcome).get() == 5)
    #expect(account.executions.load(ordering: .relaxed) == 1)
  }

  @Test func theHistoryIsBounded() throws {
    let history = ReplyHistory(maxEntries: 100, maxBytes: 1 << 20)
    let r = try Running(Account(), history: history)
    defer { r.stop() }
    // Distinct clients that never acknowledge: the oldest replies go at the bound.
    for i in 0..<300 {
      var config = ORB.Configuration()
      config.clientID = "client-\(i)"
      let orb = ORB(configuration: config, connector: TCPConnector())
      defer { orb.shutdown() }
      let ref = try orb.object("corbaloc::127.0.0.1:\(r.server.port)/Account")
        .with(options: CallOptions(timeout: .seconds(10), semantics: .atMostOnce))
      _ = try Self.deposit(ref, 1)
    }
    #expect(history.statistics.retained <= 100)
    #expect(history.statistics.executions == 300)
  }

  /// A request whose id the client acknowledged already is a late duplicate (a UDP datagram
  /// held in the network, a request queued from a dead connection): refused, not run.
  @Test func aLateDuplicateOfAnAcknowledgedRequestIsRefused() throws {
    let r = try Running(Account())
    defer { r.stop() }
    let expiry = RequestDeadline.nowTimeT() + 600 * 10_000_000
    func deposit(_ id: Int32, ack: Int32? = nil) throws -> Int64 {
      var contexts = [FTRequestContext(clientID: "late-client", retentionID: id, expirationTime: expiry).serviceContext]
      if let ack { contexts.append(ReplyAcknowledgement(clientID: "late-client", below: ack).serviceContext) }
      return try Self.deposit(r.reference(CallOptions(timeout: .seconds(5), serviceContexts: contexts)), 1)
    }
    #expect(try deposit(1) == 1)
    #expect(try deposit(2) == 2)
    #expect(try deposit(2) == 2, "a duplicate before the acknowledgement gets the retained reply")
    #expect(try deposit(9, ack: 9) == 3)
    for id: Int32 in [1, 2, 5] {
      #expect {
        _ = try deposit(id)
      } throws: { ($0 as? RPCError)?.code == .commFailure && ($0 as? RPCError)?.minor == CourierMinor.alreadyAcknowledged }
    }
    #expect(try deposit(10) == 4)
    #expect(r.account.executions.load(ordering: .relaxed) == 4)
  }

  @Test func acknowledgedIdsUseSerialNumberArithmetic() {
    #expect(ReplyHistory.isAcknowledged(4, below: 5))
    #expect(!ReplyHistory.isAcknowledged(5, below: 5))
    #expect(!ReplyHistory.isAcknowledged(6, below: 5))
    #expect(!ReplyHistory.isAcknowledged(4, below: nil))
    // After the ids wrap (Int32.max → 1), new small ids are not below an old large mark.
    #expect(!ReplyHistory.isAcknowledged(3, below: .max - 10))
    #expect(ReplyHistory.isAcknowledged(.max - 11, below: .max - 10))
    // Across the wrap: ids run …, Int32.max, 1, 2 (never 0 or negative).
    #expect(ReplyHistory.isAcknowledged(.max, below: 1))
    #expect(ReplyHistory.isAcknowledged(.max - 2, below: 3))
    #expect(!ReplyHistory.isAcknowledged(3, below: .max - 2))
    #expect(!ReplyHistory.isAcknowledged(1, below: .max))
  }

  @Test func contextsRoundTripAndRejectGarbage() throws {
    let ft = FTRequestContext(clientID: "c-1", retentionID: 42, expirationTime: 123_456_789)
    #expect(try FTRequestContext(ft.serviceContext) == ft)
    let ack = ReplyAcknowledgement(clientID: "c-1", below: 40)
    #expect(try ReplyAcknowledgement(ack.serviceContext) == ack)
    #expect(throws: RPCError.self) { try FTRequestContext(ServiceContext(id: 13, data: [])) }
    #expect(throws: RPCError.self) { try FTRequestContext(ServiceContext(id: 13, data: [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])) }
  }

  @Test("the five failure classes map to CORBA exceptions and back", arguments: [
    InvocationFailure.cannotLocateServer, .requestLost, .replyLost, .serverCrashed(completion: .maybe),
    .serverCrashed(completion: .no), .timedOut(completion: .no), .timedOut(completion: .maybe), .clientCrashed,
  ])
  func failureClassesRoundTrip(failure: InvocationFailure) {
    #expect(failure.rpcError("test").failure == failure)
  }

  @Test func failuresAsCallersSeeThem() throws {
    // Nothing listens: cannot locate the server, and the call did not run.
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let probe = try TCPListener(host: "127.0.0.1", port: 0)
    let deadPort = probe.port
    probe.close()
    do { _ = try Self.deposit(try orb.object("corbaloc::127.0.0.1:\(deadPort)/Account"), 1) } catch let e as RPCError {
      #expect(e.failure == .cannotLocateServer)
      #expect(!e.failure.mayHaveRun)
    }
    // No object under the key.
    let client = FaultInjector()
    let r = try Running(Account(holdFirst: Self.untilCancelled(client)), client: client)
    defer { r.stop() }
    do { _ = try Self.deposit(try orb.object("corbaloc::127.0.0.1:\(r.server.port)/Nobody"), 1) } catch let e as RPCError {
      #expect(e.failure == .cannotLocateServer)
    }
    // A slow server: timed out, and it may have run.
    do { _ = try Self.deposit(try r.reference(CallOptions(timeout: .milliseconds(50))), 1) } catch let e as RPCError {
      #expect(e.failure == .timedOut(completion: .maybe))
      #expect(e.failure.mayHaveRun)
    }
  }

  /// A server whose connections lose what `plan` says (server side: requests it reads,
  /// replies it writes).
  final class Faulty {
    let server: GIOPServer
    let account = Account()
    let injector: FaultInjector
    init(_ plan: FaultPlan) throws {
      injector = FaultInjector(plan)
      let adapter = ObjectAdapter()
      adapter.activate(account, key: "Account")
      server = GIOPServer(adapter: adapter, listener: FaultInjectingListener(try TCPListener(host: "127.0.0.1", port: 0), injector: injector))
      server.start()
    }
    var url: String { "corbaloc::127.0.0.1:\(server.port)/Account" }
    func stop() { server.shutdown(timeout: .seconds(5)) }
  }

  @Test("a reply lost with its connection", arguments: [InvocationSemantics.maybe, .atLeastOnce, .atMostOnce])
  func replyLostWithItsConnection(semantics: InvocationSemantics) throws {
    // The server runs the first deposit, then its connection is cut instead of the reply.
    let f = try Faulty(FaultPlan(rules: [.init(.cut, on: .outgoing, types: [.reply], nth: 1)]))
    defer { f.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = try orb.object(f.url).with(options: CallOptions(timeout: .seconds(10), semantics: semantics))
    switch semantics {
    case .maybe:
      do { _ = try Self.deposit(ref, 10); Issue.record("the lost reply arrived") } catch let e as RPCError {
        #expect(e.failure == .serverCrashed(completion: .maybe))
      }
      #expect(f.account.executions.load(ordering: .relaxed) == 1)
    case .atLeastOnce:
      #expect(try Self.deposit(ref, 10) == 20, "sent again and run again")
      #expect(f.account.executions.load(ordering: .relaxed) == 2)
    case .atMostOnce, .exactlyOnce:
      #expect(try Self.deposit(ref, 10) == 10, "sent again, answered from the history")
      #expect(f.account.executions.load(ordering: .relaxed) == 1)
    }
  }

  /// The invariants of the fault matrix, at a small scale: 20% of requests and 20% of replies
  /// lost with their connections, 300 deposits of 1.
  @Test("invariants under 20% lost requests and replies", arguments: [InvocationSemantics.atLeastOnce, .atMostOnce])
  func invariantsUnderLoss(semantics: InvocationSemantics) throws {
    let f = try Faulty(FaultPlan(seed: 7, rules: [
      .init(.cut, on: .incoming, types: [.request], probability: 0.2),
      .init(.cut, on: .outgoing, types: [.reply], probability: 0.2),
    ]))
    defer { f.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = try orb.object(f.url).with(options: CallOptions(timeout: .seconds(20), semantics: semantics))
    var acknowledged: Int64 = 0
    for _ in 0..<300 {
      _ = try Self.deposit(ref, 1)
      acknowledged += 1
    }
    let balance = f.account.balance.withLock { $0 }
    let executions = f.account.executions.load(ordering: .relaxed)
    let stats = f.injector.stats
    #expect(stats.cut(.reply, .outgoing) > 20 && stats.cut(.request, .incoming) > 20, "the faults happened: \(stats)")
    if semantics == .atMostOnce {
      #expect(executions == 300, "at-most-once ran a request twice")
      #expect(balance == acknowledged)
    } else {
      #expect(balance >= acknowledged, "at-least-once lost an acknowledged call")
      #expect(executions > 300, "lost replies make at-least-once run again")
    }
  }
}

/// A connector that counts connection attempts (failed ones too), for tests to wait on.
final class CountingConnector: StreamConnector, @unchecked Sendable {
  let base: any StreamConnector
  let changed = ConditionLock()
  nonisolated(unsafe) var attempts = 0  // guarded by `changed`
  init(_ base: any StreamConnector) { self.base = base }

  func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream {
    defer { changed.withLock { attempts += 1; changed.broadcast() } }
    return try base.connect(host: host, port: port, deadline: deadline)
  }

  /// Waits until `count` attempts were made, or `timeout` passes.
  func waitForAttempts(_ count: Int, timeout: Duration) -> Bool {
    let limit = ContinuousClock.now + timeout
    return changed.withLock {
      while attempts < count, changed.wait(until: limit) {}
      return attempts >= count
    }
  }
}
