import CourierCore
import CourierDurable
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import GRDB
import Synchronization
import Testing

/// Exactly-once: the reply history in SQLite, written with the servant's changes; the
/// client's call log; both surviving a restart (a new history or ORB on the same file).
@Suite("Exactly-once", .serialized)
struct ExactlyOnceTests {
  /// `deposit(amount) -> balance` with the balance in the history's SQLite file, written in
  /// the request's transaction; `withdraw` raises when the balance is short (after writing,
  /// so the rollback shows).
  final class DurableAccount: Servant, @unchecked Sendable {
    let repositoryIDs = ["IDL:Test/Account:1.0"]
    let queue: DatabaseQueue
    let executions = Atomic<Int>(0)
    let beforeCommit: (@Sendable (Int) -> Void)?

    init(_ queue: DatabaseQueue, beforeCommit: (@Sendable (Int) -> Void)? = nil) throws {
      self.queue = queue
      self.beforeCommit = beforeCommit
      try queue.write { db in
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL); INSERT OR IGNORE INTO account VALUES (1, 0)")
      }
    }

    var balance: Int64 { (try? queue.read { db in try Int64.fetchOne(db, sql: "SELECT balance FROM account WHERE id = 1") }) ?? nil ?? -1 }

    func dispatch(_ request: inout ServerRequest) throws {
      let amount: Int64 = try request.read()
      let n = executions.add(1, ordering: .relaxed).newValue
      let now = try DurableCall.write(in: queue) { db -> Int64 in
        let delta = request.operation == "withdraw" ? -amount : amount
        try db.execute(sql: "UPDATE account SET balance = balance + ? WHERE id = 1", arguments: [delta])
        return try Int64.fetchOne(db, sql: "SELECT balance FROM account WHERE id = 1") ?? 0
      }
      if now < 0 { throw RPCError(.badParam, minor: 1, completion: .no, "insufficient funds") }
      beforeCommit?(n)
      try request.write(now)
    }
  }

  static func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-eo-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
  }

  final class Server {
    let server: GIOPServer
    let history: DurableReplyHistory
    let account: DurableAccount
    init(path: String, port: UInt16 = 0, client: FaultInjector? = nil, beforeCommit: (@Sendable (Int) -> Void)? = nil) throws {
      history = try DurableReplyHistory(path: path, durability: .processCrash)
      account = try DurableAccount(history.database, beforeCommit: beforeCommit)
      let adapter = ObjectAdapter()
      adapter.activate(account, key: "Account")
      var config = GIOPServer.Configuration()
      config.replyHistory = history
      let listener: any StreamListener = try TCPListener(host: "127.0.0.1", port: port)
      server = GIOPServer(adapter: adapter, listener: client.map { FaultInjectingListener(listener, injector: $0) } ?? listener,
                          configuration: config)
      server.start()
    }
    var url: String { "corbaloc::127.0.0.1:\(server.port)/Account" }
    func stop() { server.shutdown(timeout: .seconds(5)) }
  }

  static func call(_ ref: ObjectReference, _ op: String, _ amount: Int64) throws -> Int64 {
    var reply = try ref.invoke(op) { w in w.write(amount) }
    return try reply.read()
  }

  static func orb(log: String, connector: any StreamConnector = TCPConnector()) throws -> ORB {
    var config = ORB.Configuration()
    config.callLog = try SQLiteCallLog(path: log, durability: .processCrash)
    return ORB(configuration: config, connector: connector)
  }

  @Test func withoutACallLogExactlyOnceIsRefused() throws {
    let s = try Server(path: Self.temporaryPath("server.sqlite"))
    defer { s.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = try orb.object(s.url).with(options: CallOptions(timeout: .seconds(5), semantics: .exactlyOnce))
    #expect {
      _ = try Self.call(ref, "deposit", 1)
    } throws: { ($0 as? RPCError)?.code == .badInvOrder && ($0 as? RPCError)?.completion == .no }
    #expect(s.account.executions.load(ordering: .relaxed) == 0)
  }

  /// The reply is lost with its connection after the servant ran: the retransmission is
  /// answered from the file; the balance counts the deposit once.
  @Test func lostReplyIsAnsweredFromTheFile() throws {
    let plan = FaultPlan(rules: [.init(.cut, on: .outgoing, types: [.reply], nth: 1)])
    let injector = FaultInjector(plan)
    let s = try Server(path: Self.temporaryPath("server.sqlite"), client: injector)
    defer { s.stop() }
    let orb = try Self.orb(log: Self.temporaryPath("client.sqlite"))
    defer { orb.shutdown() }
    let ref = try orb.object(s.url).with(options: CallOptions(timeout: .seconds(10), semantics: .exactlyOnce))
    #expect(try Self.call(ref, "deposit", 10) == 10)
    #expect(s.account.executions.load(ordering: .relaxed) == 1)
    #expect(s.history.statistics.replays == 1)
    for i in 2...20 { #expect(try Self.call(ref, "deposit", 10) == Int64(10 * i)) }
    #expect(s.account.balance == 200)
    #expect(try orb.configuration.callLog!.unfinished().isEmpty)
    // Acknowledgements keep the file from growing: at most the last 8 and the current one.
    #expect(s.history.statistics.retained <= 9, "\(s.history.statistics)")
  }

  /// An exception reply is the recorded outcome, and the servant's changes are rolled back.
  @Test func exceptionRollsBackTheServantsChanges() throws {
    let s = try Server(path: Self.temporaryPath("server.sqlite"))
    defer { s.stop() }
    let orb = try Self.orb(log: Self.temporaryPath("client.sqlite"))
    defer { orb.shutdown() }
    let ref = try orb.object(s.url).with(options: CallOptions(timeout: .seconds(10), semantics: .exactlyOnce))
    #expect(try Self.call(ref, "deposit", 5) == 5)
    #expect {
      _ = try Self.call(ref, "withdraw", 7)
    } throws: { ($0 as? RPCError)?.code == .badParam }
    #expect(s.account.balance == 5, "the failed withdrawal's update was rolled back")
    #expect(try Self.call(ref, "withdraw", 5) == 0)
  }

  /// The server restarts on the same file (a crash after the commit, before the reply left):
  /// the client's retransmission gets the recorded reply; nothing runs twice.
  @Test func serverRestartAfterCommitAnswersFromTheFile() throws {
    let path = Self.temporaryPath("server.sqlite")
    let committed = ConditionLock()
    let ran = Mutex(false)
    // Every reply of the first server is lost (its connection cut as the reply goes out):
    // the call ran and committed there, and only the restarted server can answer it.
    let injector = FaultInjector(FaultPlan(rules: [.init(.cut, on: .outgoing, types: [.reply])]))
    var s = try Server(path: path, client: injector, beforeCommit: { _ in committed.withLock { ran.withLock { $0 = true }; committed.broadcast() } })
    let port = s.server.port
    let orb = try Self.orb(log: Self.temporaryPath("client.sqlite"))
    defer { orb.shutdown() }
    let ref = try orb.object(s.url).with(options: CallOptions(timeout: .seconds(20), semantics: .exactlyOnce))
    let answer = Mutex<Result<Int64, any Error>?>(nil)
    let done = ConditionLock()
    let thread = Thread {
      let r = Result { try Self.call(ref, "deposit", 42) }
      done.withLock { answer.withLock { $0 = r }; done.broadcast() }
    }
    thread.start()
    let limit = ContinuousClock.now + .seconds(20)
    committed.withLock { while !ran.withLock({ $0 }) && ContinuousClock.now < limit { _ = committed.wait(until: limit) } }
    // The servant returned; wait until its reply was cut (the transaction had committed).
    #expect(injector.wait(until: { $0.seen(.reply, .outgoing) >= 1 }, timeout: .seconds(10)))
    s.stop()
    s = try Server(path: path, port: port)
    defer { s.stop() }
    done.withLock { while answer.withLock({ $0 == nil }) && ContinuousClock.now < limit { _ = done.wait(until: limit) } }
    let result = try #require(answer.withLock { $0 })
    #expect(try result.get() == 42)
    #expect(s.account.executions.load(ordering: .relaxed) == 0, "the restarted server ran nothing")
    #expect(s.history.statistics.replays >= 1, "it answered from the file")
    #expect(s.account.balance == 42)
  }

  /// A client that stopped after logging a call (its process died) resumes it with a new ORB
  /// on the same log: the server runs it once even if it had run before.
  @Test func aRestartedClientResumesItsUnfinishedCalls() throws {
    let s = try Server(path: Self.temporaryPath("server.sqlite"))
    defer { s.stop() }
    let logPath = Self.temporaryPath("client.sqlite")
    let log = try SQLiteCallLog(path: logPath)
    var args = CDRWriter(capacity: 8)
    args.write(Int64(7))
    let ior = try ORB(connector: TCPConnector()).object(s.url).ior.stringified()
    // Two calls "in flight" when the client died: the first had reached the server.
    let first = try log.record(LoggedCall(retentionID: 0, target: ior, operation: "deposit", arguments: args.bytes,
                                          deadline: RequestDeadline.nowTimeT() + 30 * 10_000_000))
    _ = try log.record(LoggedCall(retentionID: 0, target: ior, operation: "deposit", arguments: args.bytes,
                                  deadline: RequestDeadline.nowTimeT() + 30 * 10_000_000))
    do {
      // The first reached the server under the log's identity.
      let orb = try Self.orb(log: logPath)
      defer { orb.shutdown() }
      let ref = try orb.object(s.url)
      let ft = FTRequestContext(clientID: log.clientID, retentionID: first, expirationTime: RequestDeadline.nowTimeT() + 600 * 10_000_000)
      var reply = try ref.invoke("deposit", options: CallOptions(timeout: .seconds(5), serviceContexts: [ft.serviceContext])) { w in w.write(Int64(7)) }
      #expect(try reply.read(Int64.self) == 7)
    }
    let orb = try Self.orb(log: logPath)
    defer { orb.shutdown() }
    let resumed = try orb.resumeUnfinishedCalls()
    #expect(resumed.count == 2)
    let balances = try resumed.map { r -> Int64 in try r.outcome.get().read(Int64.self) }
    #expect(balances == [7, 14], "the first answered from the history, the second ran")
    #expect(s.account.executions.load(ordering: .relaxed) == 2)
    #expect(try log.unfinished().isEmpty)
    // The identity survives the restart.
    #expect(try SQLiteCallLog(path: logPath).clientID == log.clientID)
  }

  @Test func theLogKeepsItsIdentityAndNumbering() throws {
    let path = Self.temporaryPath("client.sqlite")
    let a = try SQLiteCallLog(path: path, clientID: "fixed-client")
    let call = LoggedCall(retentionID: 0, target: "IOR:00", operation: "op", arguments: [1, 2, 3], deadline: 99)
    let ids = try (0..<5).map { _ in try a.record(call) }
    #expect(ids == [1, 2, 3, 4, 5])
    a.complete(2)
    let b = try SQLiteCallLog(path: path, clientID: "ignored")
    #expect(b.clientID == "fixed-client")
    #expect(try b.unfinished().map(\.retentionID) == [1, 3, 4, 5])
    #expect(try b.unfinished().first?.arguments == [1, 2, 3])
    b.complete(5)
    #expect(try b.record(call) == 6, "ids are never handed out twice")
  }

  /// Inside `holdingCallOutcomes` a call stays in the log after its reply arrives, until the
  /// block ends; a "crash" inside the block (a new ORB on the same log) gets the outcome back
  /// from the server's history without running the call again.
  @Test func heldOutcomesStayInTheLogUntilTheBlockEnds() throws {
    let s = try Server(path: Self.temporaryPath("server.sqlite"))
    defer { s.stop() }
    let logPath = Self.temporaryPath("client.sqlite")
    let orb = try Self.orb(log: logPath)
    defer { orb.shutdown() }
    let log = try #require(orb.configuration.callLog)
    let ref = try orb.object(s.url).with(options: CallOptions(timeout: .seconds(10), semantics: .exactlyOnce))
    let inside = try orb.holdingCallOutcomes { () throws -> Int in
      #expect(try Self.call(ref, "deposit", 3) == 3)
      return try log.unfinished().count
    }
    #expect(inside == 1, "held while the block runs")
    #expect(try log.unfinished().isEmpty, "released when it ends")
    #expect(try Self.call(ref, "deposit", 1) == 4)
    #expect(try log.unfinished().isEmpty, "without a hold, a call leaves the log with its outcome")

    try orb.holdingCallOutcomes {
      #expect(try Self.call(ref, "deposit", 10) == 14)
      // The process "dies" here, before recording the result: the restart resumes the call.
      let restarted = try Self.orb(log: logPath)
      defer { restarted.shutdown() }
      let resumed = try restarted.resumeUnfinishedCalls()
      #expect(resumed.count == 1)
      #expect(try resumed.first?.outcome.get().read(Int64.self) == 14, "the recorded reply, not a second deposit")
    }
    #expect(s.account.executions.load(ordering: .relaxed) == 3)
    #expect(s.account.balance == 14)
    #expect(try log.unfinished().isEmpty)
  }

  /// A request whose id the client acknowledged already (a late duplicate, e.g. still queued
  /// from a connection of a client that has since restarted) is refused, not run, by the
  /// durable history — also after the server restarts.
  @Test func aLateDuplicateOfAnAcknowledgedRequestIsRefused() throws {
    let path = Self.temporaryPath("server.sqlite")
    var s = try Server(path: path)
    let port = s.server.port
    defer { s.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let expiry = RequestDeadline.nowTimeT() + 600 * 10_000_000
    func deposit(_ id: Int32, ack: Int32? = nil) throws -> Int64 {
      var contexts = [FTRequestContext(clientID: "late-client", retentionID: id, expirationTime: expiry).serviceContext]
      if let ack { contexts.append(ReplyAcknowledgement(clientID: "late-client", below: ack).serviceContext) }
      let ref = try orb.object("corbaloc::127.0.0.1:\(port)/Account")
      return try Self.call(ref.with(options: CallOptions(timeout: .seconds(5), serviceContexts: contexts)), "deposit", 1)
    }
    #expect(try deposit(3) == 1)
    #expect(try deposit(3) == 1, "a duplicate before the acknowledgement gets the recorded reply")
    #expect(try deposit(20, ack: 20) == 2)
    for id: Int32 in [3, 5] {
      #expect {
        _ = try deposit(id)
      } throws: { ($0 as? RPCError)?.minor == CourierMinor.alreadyAcknowledged && ($0 as? RPCError)?.completion == .maybe }
    }
    s.stop()
    s = try Server(path: path, port: port)
    #expect {
      _ = try deposit(3)
    } throws: { ($0 as? RPCError)?.minor == CourierMinor.alreadyAcknowledged }
    #expect(try deposit(21) == 3)
    #expect(s.account.balance == 3, "ran once each: ids 3, 20, 21")
  }
}
