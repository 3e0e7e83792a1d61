import ArgumentParser
import CourierCore
import CourierDurable
import CourierExamples
import CourierGIOP
import CourierNIO
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Demo::Bank with its accounts in the reply history's SQLite file: a transfer's debit, credit
/// and recorded reply commit in one transaction (``DurableCall``), so a crash either keeps all
/// three or none. `transfers` counts the transfers that ran.
final class DurableBank: Demo_Bank.Service {
  let queue: DatabaseQueue
  init(_ queue: DatabaseQueue, opening: [String: Int64]) throws {
    self.queue = queue
    try queue.write { db in
      try db.execute(sql: """
        CREATE TABLE IF NOT EXISTS account (name TEXT PRIMARY KEY, balance INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS transfer_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT, target TEXT, amount INTEGER);
        """)
      for (name, balance) in opening {
        try db.execute(sql: "INSERT OR IGNORE INTO account VALUES (?, ?)", arguments: [name, balance])
      }
    }
  }

  func transfer(from: String, to: String, amount: Int64) throws {
    try DurableCall.write(in: queue) { db in
      let available = try Int64.fetchOne(db, sql: "SELECT balance FROM account WHERE name = ?", arguments: [from]) ?? 0
      guard available >= amount else { throw Demo_InsufficientFunds(available: available) }
      try db.execute(sql: "INSERT OR IGNORE INTO account VALUES (?, 0)", arguments: [to])
      try db.execute(sql: "UPDATE account SET balance = balance - ? WHERE name = ?", arguments: [amount, from])
      try db.execute(sql: "UPDATE account SET balance = balance + ? WHERE name = ?", arguments: [amount, to])
      try db.execute(sql: "INSERT INTO transfer_log (source, target, amount) VALUES (?, ?, ?)", arguments: [from, to, amount])
    }
  }
  func balance(account: String) throws -> Int64 {
    try DurableCall.read(in: queue) { db in try Int64.fetchOne(db, sql: "SELECT balance FROM account WHERE name = ?", arguments: [account]) ?? 0 }
  }
  func deposit(account: String, amount: Int64) throws {
    try DurableCall.write(in: queue) { db in
      try db.execute(sql: "INSERT OR IGNORE INTO account VALUES (?, 0)", arguments: [account])
      try db.execute(sql: "UPDATE account SET balance = balance + ? WHERE name = ?", arguments: [amount, account])
    }
  }
  var transfersRun: Int { (try? queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM transfer_log") ?? 0 }) ?? 0 }
}

struct BankServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bank-server", abstract: "Serve Demo::Bank (key \"Bank\") with accounts and reply history in one SQLite file (exactly-once).")

  @Option(help: "Port on 127.0.0.1 (0: any)") var port: UInt16 = 0
  @Option(help: "SQLite file") var db: String
  @Option(help: "Drop the connection instead of sending every Nth reply (0: never): lost replies") var loseEvery = 0

  func run() throws {
    Signals.block()
    let history = try DurableReplyHistory(path: db, durability: .processCrash)
    let bank = try DurableBank(history.database, opening: ["alice": 1_000, "bob": 0])
    let adapter = ObjectAdapter()
    adapter.activate(Demo_Bank.Servant(bank), key: "Bank")
    var config = GIOPServer.Configuration()
    config.replyHistory = history
    let tcp = try TCPListener(host: "127.0.0.1", port: port)
    let listener: any StreamListener = loseEvery > 0
      ? FaultInjectingListener(tcp, injector: FaultInjector(FaultPlan(seed: 5, rules: [.init(.cut, on: .outgoing, types: [.reply], probability: 1 / Double(loseEvery))])))
      : tcp
    let server = GIOPServer(adapter: adapter, listener: listener, configuration: config, logger: logger("courier.bank", verbose: false))
    server.start()
    flushedPrint("READY bank-server 127.0.0.1:\(server.port) pid=\(getpid()) transfers-run=\(bank.transfersRun)")
    _ = Signals.wait()
    server.shutdown(timeout: .seconds(2))
  }
}

extension DemoCommand {
  /// The seeds' non-idempotent call: transfers that must run once, through lost replies and a
  /// server crash, with exactly-once semantics; the balances come out right.
  static func moneyTransfer(executable me: String, dir: URL) throws {
    flushedPrint("")
    flushedPrint("== money transfer (seeds: a non-idempotent call): 50 transfers of 10 from alice to bob, exactly-once, lost replies, a server crash")
    let db = dir.appendingPathComponent("bank.sqlite").path
    var server = try Child(me, ["bank-server", "--db", db, "--lose-every", "4"], label: "bank")
    guard let portText = server.ready.split(separator: ":").last?.split(separator: " ").first, let port = UInt16(portText) else {
      throw ValidationError("cannot read the bank's port from \(server.ready)")
    }
    var config = ORB.Configuration()
    config.callLog = try SQLiteCallLog(path: dir.appendingPathComponent("client.sqlite").path, durability: .processCrash)
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let bank = Demo_Bank.Blocking(try orb.object("corbaloc::1.2@127.0.0.1:\(port)/Bank")
      .with(options: CallOptions(timeout: .seconds(30), semantics: .exactlyOnce)))
    for i in 1...50 {
      try bank.transfer(from: "alice", to: "bob", amount: 10)
      if i == 25 {
        flushedPrint("[demo] 25 transfers acknowledged; kill -9 the bank (pid \(server.process.processIdentifier)) and start it again on the same file")
        server.stop(SIGKILL, quiet: true)
        server = try Child(me, ["bank-server", "--db", db, "--port", "\(port)", "--lose-every", "4"], label: "bank")
      }
    }
    let alice = try bank.balance(account: "alice"), bob = try bank.balance(account: "bob")
    server.stop(SIGTERM, quiet: true)
    let after = try Child(me, ["bank-server", "--db", db, "--port", "0"], label: "bank (to count)", quiet: true)
    let ran = after.ready.split(separator: "=").last.map(String.init) ?? "?"
    after.stop(SIGTERM, quiet: true)
    flushedPrint("[client] 50 transfers acknowledged; about 1 reply in 4 was lost with its connection and retransmitted")
    flushedPrint("[bank] alice \(alice), bob \(bob) (total \(alice + bob)); transfers run by the bank: \(ran)")
    guard alice == 500, bob == 500, ran == "50" else {
      throw ValidationError("the balances are wrong: a transfer ran twice or was lost")
    }
    flushedPrint("[demo] balances right: every transfer ran exactly once")
  }
}
