import ArgumentParser
import CourierCore
import CourierDurable
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import GRDB
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The fault matrix of issue 5: invocation semantics × failures, with real processes.
//
//   courier faults            runs the matrix (a server process and a client process per cell)
//   courier faults-server     Faults::Counter whose state (and, for exactly-once, reply history)
//                             is in SQLite: each execution is a row, so duplicates are counted
//   courier faults-client     makes numbered increment(by: k) calls and appends what happened to
//                             a progress file (A k: about to send; S k: acknowledged; F k: failed)

/// The four semantics as the matrix names them.
enum MatrixSemantics: String, CaseIterable, ExpressibleByArgument {
  case maybe, atLeastOnce = "at-least-once", atMostOnce = "at-most-once", exactlyOnce = "exactly-once"

  var semantics: InvocationSemantics {
    switch self {
    case .maybe: .maybe
    case .atLeastOnce: .atLeastOnce
    case .atMostOnce: .atMostOnce
    case .exactlyOnce: .exactlyOnce
    }
  }
  /// The server's reply history for the row: in memory, except exactly-once's in SQLite.
  var history: String { self == .exactlyOnce ? "durable" : "memory" }
}

/// The matrix's columns.
enum MatrixFault: String, CaseIterable, ExpressibleByArgument {
  case lostRequests = "lost-requests", lostReplies = "lost-replies", duplicated, reordered
  case serverCrash = "server-crash", clientCrash = "client-crash"

  var transport: String { self == .serverCrash || self == .clientCrash ? "tcp" : "udp" }
  var title: String {
    switch self {
    case .lostRequests: "lost requests 20% (UDP)"
    case .lostReplies: "lost replies 20% (UDP)"
    case .duplicated: "duplicated 20% (UDP)"
    case .reordered: "reordered 20% (UDP)"
    case .serverCrash: "server kill -9 + restart (TCP)"
    case .clientCrash: "client kill -9 + restart (TCP)"
    }
  }
  /// Datagram faults in the client process (requests go out there) and the server process.
  var clientFaults: [String] {
    switch self {
    case .lostRequests: ["--drop", "0.2"]
    case .duplicated: ["--duplicate", "0.2"]
    case .reordered: ["--reorder", "0.2"]
    default: []
    }
  }
  var serverFaults: [String] {
    switch self {
    case .lostReplies: ["--drop", "0.2"]
    case .duplicated: ["--duplicate", "0.2"]
    case .reordered: ["--reorder", "0.2"]
    default: []
    }
  }
}

/// Options for datagram faults a process applies to what it sends (`--drop`, `--duplicate`, `--reorder`).
struct DatagramFaultOptions: ParsableArguments {
  @Option(help: "Chance (0-1) that a datagram this process sends is dropped (UDP only).") var drop: Double = 0
  @Option(help: "Chance (0-1) that a datagram this process sends goes twice (UDP only).") var duplicate: Double = 0
  @Option(help: "Chance (0-1) that a datagram this process sends is held behind the next (UDP only).") var reorder: Double = 0
  @Option(help: "Seed of the fault generator.") var seed: UInt64 = 1

  func validate() throws {
    for (name, p) in [("drop", drop), ("duplicate", duplicate), ("reorder", reorder)] where !(0...1).contains(p) {
      throw ValidationError("--\(name) must be between 0 and 1")
    }
    if drop + duplicate + reorder > 1 { throw ValidationError("--drop, --duplicate and --reorder add up to more than 1") }
  }

  var plan: DatagramFaultPlan {
    drop + duplicate + reorder == 0 ? .none
      : DatagramFaultPlan(seed: seed, rules: [.init(.outbound, drop: drop, duplicate: duplicate, reorder: reorder)])
  }
}

/// Faults::Counter with its state in SQLite: `increment(by: k)` adds `k` and records an
/// execution row tagged `k`, in the request's durable transaction when there is one.
final class LedgerCounter: Faults_Counter.Service {
  let queue: DatabaseQueue
  init(_ queue: DatabaseQueue) throws {
    self.queue = queue
    try queue.write { db in
      try db.execute(sql: """
        CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT OR IGNORE INTO counter VALUES (1, 0);
        CREATE TABLE IF NOT EXISTS execution (seq INTEGER PRIMARY KEY AUTOINCREMENT, tag INTEGER NOT NULL);
        """)
    }
  }

  func increment(by: Int64) throws -> Int64 {
    try DurableCall.write(in: queue) { db in
      try db.execute(sql: "INSERT INTO execution (tag) VALUES (?)", arguments: [by])
      try db.execute(sql: "UPDATE counter SET value = value + ? WHERE id = 1", arguments: [by])
      return try Int64.fetchOne(db, sql: "SELECT value FROM counter WHERE id = 1") ?? 0
    }
  }
  func value() throws -> Int64 { try DurableCall.read(in: queue) { db in try Int64.fetchOne(db, sql: "SELECT value FROM counter WHERE id = 1") ?? 0 } }
  func executions() throws -> Int64 { try DurableCall.read(in: queue) { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM execution") ?? 0 } }
  func reset() throws {
    try DurableCall.write(in: queue) { db in
      try db.execute(sql: "DELETE FROM execution; UPDATE counter SET value = 0")
    }
  }
}

struct FaultsServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "faults-server", abstract: "Serve Faults::Counter (key \"Counter\") with its state in SQLite, for the fault matrix.")

  @Option(help: "tcp or udp") var transport = "tcp"
  @Option(help: "Port on 127.0.0.1 (0: any)") var port: UInt16 = 0
  @Option(help: "SQLite file of the counter (and of the reply history with --history durable)") var db: String
  @Option(help: "Reply history: none, memory or durable") var history = "memory"
  @OptionGroup var faults: DatagramFaultOptions

  func validate() throws {
    guard ["tcp", "udp"].contains(transport) else { throw ValidationError("--transport is tcp or udp") }
    guard ["none", "memory", "durable"].contains(history) else { throw ValidationError("--history is none, memory or durable") }
  }

  func run() throws {
    Signals.block()
    var config = GIOPServer.Configuration()
    let queue: DatabaseQueue
    switch history {
    case "durable":
      let durable = try DurableReplyHistory(path: db, durability: .processCrash)
      config.replyHistory = durable
      queue = durable.database
    default:
      var c = Configuration()
      c.journalMode = .wal
      c.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
      queue = try DatabaseQueue(path: db, configuration: c)
      config.replyHistory = history == "memory" ? ReplyHistory() : nil
    }
    let adapter = ObjectAdapter()
    adapter.activate(Faults_Counter.Servant(try LedgerCounter(queue)), key: "Counter")
    let listener: any StreamListener = transport == "udp"
      ? try UDPListener(host: "127.0.0.1", port: port, faults: faults.plan)
      : try TCPListener(host: "127.0.0.1", port: port)
    let server = GIOPServer(adapter: adapter, listener: listener, configuration: config, logger: logger("courier.faults", verbose: false))
    server.start()
    flushedPrint("READY faults-server \(transport) 127.0.0.1:\(server.port) pid=\(getpid())")
    _ = Signals.wait()
    server.shutdown(timeout: .seconds(2))
  }
}

struct FaultsClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "faults-client", abstract: "Make numbered increment(by: k) calls for the fault matrix; append A/S/F k lines to a progress file.")

  @Option(help: "corbaloc of the counter") var url: String
  @Option(help: "tcp or udp") var transport = "tcp"
  @Option(help: "maybe, at-least-once, at-most-once or exactly-once") var semantics: MatrixSemantics
  @Option(help: "Calls k = 1…N in all (a restarted client goes on after the last one sent)") var calls = 10_000
  @Option(help: "Caller threads") var threads = 16
  @Option(help: "Progress file (appended)") var progress: String
  @Option(help: "Call log (SQLite) for exactly-once") var log: String?
  @Option(help: "Per-call timeout in ms (default: 100 for maybe over UDP, else 30000)") var timeoutMs: Int?
  @Option(help: "UDP retransmission interval in ms") var retransmitMs = 20
  @OptionGroup var faults: DatagramFaultOptions

  func validate() throws {
    guard ["tcp", "udp"].contains(transport) else { throw ValidationError("--transport is tcp or udp") }
    guard calls >= 1, (1...256).contains(threads), retransmitMs >= 1 else { throw ValidationError("--calls ≥ 1, --threads 1…256, --retransmit-ms ≥ 1") }
    if semantics == .exactlyOnce && log == nil { throw ValidationError("exactly-once needs --log (the client's durable call log)") }
  }

  func run() throws {
    let out = try ProgressFile(path: progress)
    var config = ORB.Configuration()
    if let log { config.callLog = try SQLiteCallLog(path: log, durability: .processCrash) }
    let connector: any StreamConnector
    if transport == "udp" {
      var udp = UDPConfiguration()
      udp.retransmitInterval = .milliseconds(retransmitMs)
      connector = UDPConnector(configuration: udp, faults: faults.plan)
    } else {
      connector = TCPConnector()
    }
    let orb = ORB(configuration: config, connector: connector)
    defer { orb.shutdown() }
    let timeout = Duration.milliseconds(timeoutMs ?? (semantics == .maybe && transport == "udp" ? 100 : 30_000))
    let counter = Faults_Counter.Blocking(try orb.object(url).with(options: CallOptions(timeout: timeout, semantics: semantics.semantics)))

    // Exactly-once outcomes leave the call log only once their S/F line is written
    // (holdingCallOutcomes): a kill -9 in between resumes the call instead of losing its outcome.
    @Sendable func call(_ k: Int64) {
      orb.holdingCallOutcomes {
        do {
          _ = try counter.increment(by: k)
          out.append("S", k)
        } catch {
          out.append("F", k)
          if getenv("COURIER_FAULTS_DEBUG") != nil { FileHandle.standardError.write(Data("call \(k): \(error)\n".utf8)) }
        }
      }
    }

    // A restart: calls the log kept first (exactly-once), then on after the last one sent.
    let before = try ProgressFile.read(progress)
    var resumedTags: Set<Int64> = []
    try orb.holdingCallOutcomes {
      for resumed in try orb.resumeUnfinishedCalls() {
        let k = resumed.call.arguments.count >= 8 ? resumed.call.arguments.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) } : 0
        resumedTags.insert(k)
        switch resumed.outcome {
        case .success: out.append("S", k)
        case .failure: out.append("F", k)
        }
      }
    }
    if semantics == .exactlyOnce {
      // Begun (A) with no outcome and not in the log: the kill came before the call was
      // recorded, so it was never sent. It is safe to make now (a call leaves the log only
      // after its outcome line is written).
      let neverSent = before.attempted.subtracting(before.succeeded).subtracting(before.failed).subtracting(resumedTags)
      for k in neverSent.sorted() { call(k) }
    }
    let next = Atomic<Int>(Int(before.attempted.max() ?? 0) + 1)
    let threadsDone = DispatchGroup()
    for _ in 0..<threads {
      threadsDone.enter()
      Thread {
        defer { threadsDone.leave() }
        while true {
          let k = next.add(1, ordering: .relaxed).oldValue
          guard k <= calls else { return }
          out.append("A", Int64(k))
          call(Int64(k))
        }
      }.start()
    }
    threadsDone.wait()
    flushedPrint("DONE faults-client pid=\(getpid())")
  }
}

/// The client's progress: lines `A k`, `S k`, `F k`, each appended with one write (O_APPEND),
/// so a `kill -9` leaves every line written before it.
final class ProgressFile: Sendable {
  let fd: Int32
  init(path: String) throws {
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard fd >= 0 else { throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))") }
  }
  deinit { close(fd) }

  func append(_ kind: String, _ k: Int64) {
    let line = "\(kind) \(k)\n"
    _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
  }

  struct Contents {
    var attempted: Set<Int64> = []
    var succeeded: Set<Int64> = []
    var failed: Set<Int64> = []
  }

  static func read(_ path: String) throws -> Contents {
    var c = Contents()
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return c }
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ")
      guard parts.count == 2, let k = Int64(parts[1]) else { continue }  // a line cut by kill -9
      switch parts[0] {
      case "A": c.attempted.insert(k)
      case "S": c.succeeded.insert(k)
      case "F": c.failed.insert(k)
      default: continue
      }
    }
    return c
  }
}

struct FaultsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "faults",
    abstract: "Run the fault matrix: invocation semantics × failures, real server and client processes, a table of calls attempted / succeeded / failed / executions.")

  @Option(help: "Calls per cell") var calls = 10_000
  @Option(help: "Rows (default: all): maybe, at-least-once, at-most-once, exactly-once") var semantics: [MatrixSemantics] = MatrixSemantics.allCases
  @Option(help: "Columns (default: all): \(MatrixFault.allCases.map(\.rawValue).joined(separator: ", "))") var fault: [MatrixFault] = MatrixFault.allCases
  @Option(help: "Also write the results as JSON to this file") var json: String?
  @Flag(help: "Print each cell as it finishes") var verbose = false

  struct Cell: Codable {
    var semantics: String
    var fault: String
    var attempted = 0
    var succeeded = 0
    var failed = 0
    var executions = 0
    var duplicateExecutions = 0
    var counter: Int64 = 0
    var acknowledgedSum: Int64 = 0
    var acknowledgedNotExecuted = 0
    var invariantViolations: [String] = []
    var seconds = 0.0
  }

  func run() throws {
    let me = "/proc/self/exe"
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("courier-faults-\(getpid())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: root) }
    flushedPrint("== courier faults: \(calls) increment(by: k) calls per cell, Faults::Counter in a server process, a client process with 16 caller threads")
    var cells: [Cell] = []
    for f in fault {
      for s in semantics {
        let dir = root.appendingPathComponent("\(s.rawValue)-\(f.rawValue)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cell = try runCell(s, f, dir: dir, executable: me)
        if verbose { flushedPrint("[\(f.rawValue) / \(s.rawValue)] \(Self.describe(cell)) in \(String(format: "%.1f", cell.seconds)) s \(cell.invariantViolations.joined(separator: "; "))") }
        cells.append(cell)
      }
    }
    flushedPrint("")
    flushedPrint("cells: attempted / succeeded / failed / executions (+N: requests that ran more than once)")
    flushedPrint("")
    flushedPrint("| semantics | " + fault.map(\.title).joined(separator: " | ") + " |")
    flushedPrint("|---|" + fault.map { _ in "---" }.joined(separator: "|") + "|")
    for s in semantics {
      let row = fault.map { f in cells.first { $0.semantics == s.rawValue && $0.fault == f.rawValue }.map(Self.describe) ?? "" }
      flushedPrint("| \(s.rawValue) | " + row.joined(separator: " | ") + " |")
    }
    let violations = cells.filter { !$0.invariantViolations.isEmpty }
    flushedPrint("")
    if violations.isEmpty {
      flushedPrint("invariants hold: at-most-once and exactly-once never ran a request twice; exactly-once completed every call and its counter equals the sum of acknowledged increments; at-least-once never lost an acknowledged call")
    } else {
      for c in violations { flushedPrint("INVARIANT VIOLATED [\(c.semantics) / \(c.fault)]: \(c.invariantViolations.joined(separator: "; "))") }
    }
    if let json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(cells).write(to: URL(fileURLWithPath: json))
    }
    if !violations.isEmpty { throw ExitCode(1) }
  }

  static func describe(_ c: Cell) -> String {
    "\(c.attempted) / \(c.succeeded) / \(c.failed) / \(c.executions)" + (c.duplicateExecutions > 0 ? " (+\(c.duplicateExecutions))" : "")
  }

  func runCell(_ s: MatrixSemantics, _ f: MatrixFault, dir: URL, executable me: String) throws -> Cell {
    let started = ContinuousClock.now
    let db = dir.appendingPathComponent("server.sqlite").path
    let progress = dir.appendingPathComponent("progress.txt").path
    let log = dir.appendingPathComponent("client.sqlite").path
    let serverArguments = ["faults-server", "--transport", f.transport, "--db", db, "--history", s.history, "--seed", "2"] + f.serverFaults
    var server = try DemoCommand.Child(me, serverArguments + ["--port", "0"], label: "server", quiet: true)
    guard let portText = server.ready.split(separator: ":").last?.split(separator: " ").first, let port = UInt16(portText) else {
      throw ValidationError("cannot read the server's port from: \(server.ready)")
    }
    let url = "corbaloc::1.2@127.0.0.1:\(port)/Counter"
    let clientArguments = ["faults-client", "--url", url, "--transport", f.transport, "--semantics", s.rawValue, "--calls", "\(calls)",
                           "--progress", progress, "--seed", "3"] + (s == .exactlyOnce ? ["--log", log] : []) + f.clientFaults
    var client = try Self.start(me, clientArguments)
    if f == .serverCrash || f == .clientCrash {
      // Half way through (by acknowledged calls), kill -9 one side and start it again.
      let deadline = ContinuousClock.now + .seconds(120)
      while client.isRunning, ContinuousClock.now < deadline, (try ProgressFile.read(progress)).succeeded.count < calls / 2 {
        Thread.sleep(forTimeInterval: 0.005)  // the state is in another process: a bounded poll
      }
      if f == .serverCrash {
        server.stop(SIGKILL, quiet: true)
        server = try DemoCommand.Child(me, serverArguments + ["--port", "\(port)"], label: "server", quiet: true)
      } else {
        kill(client.processIdentifier, SIGKILL)
        client.waitUntilExit()
        client = try Self.start(me, clientArguments)
      }
    }
    client.waitUntilExit()
    server.stop(SIGTERM, quiet: true)

    var cell = Cell(semantics: s.rawValue, fault: f.rawValue)
    let p = try ProgressFile.read(progress)
    cell.attempted = p.attempted.count
    cell.succeeded = p.succeeded.count
    cell.failed = p.failed.subtracting(p.succeeded).count
    cell.acknowledgedSum = p.succeeded.reduce(0, +)
    let queue = try DatabaseQueue(path: db)
    let executedTags = try queue.read { db in Set(try Int64.fetchAll(db, sql: "SELECT tag FROM execution")) }
    try queue.read { db in
      cell.executions = try Int.fetchOne(db, sql: "SELECT count(*) FROM execution") ?? 0
      cell.duplicateExecutions = cell.executions - (try Int.fetchOne(db, sql: "SELECT count(DISTINCT tag) FROM execution") ?? 0)
      cell.counter = try Int64.fetchOne(db, sql: "SELECT value FROM counter") ?? 0
    }
    cell.acknowledgedNotExecuted = p.succeeded.subtracting(executedTags).count
    switch s {
    case .maybe:
      break
    case .atLeastOnce:
      if cell.acknowledgedNotExecuted > 0 { cell.invariantViolations.append("\(cell.acknowledgedNotExecuted) acknowledged calls never ran") }
    case .atMostOnce:
      // A server crash loses the in-memory history: the restarted server refuses a marked
      // retransmission it cannot vouch for (the call fails, COMPLETED_MAYBE) instead of running it.
      if cell.duplicateExecutions > 0 {
        cell.invariantViolations.append("\(cell.duplicateExecutions) requests ran twice")
      }
      if cell.acknowledgedNotExecuted > 0 { cell.invariantViolations.append("\(cell.acknowledgedNotExecuted) acknowledged calls never ran") }
    case .exactlyOnce:
      if cell.duplicateExecutions > 0 { cell.invariantViolations.append("\(cell.duplicateExecutions) requests ran twice") }
      if cell.succeeded != calls { cell.invariantViolations.append("\(calls - cell.succeeded) calls did not complete") }
      if cell.counter != cell.acknowledgedSum { cell.invariantViolations.append("counter \(cell.counter) ≠ acknowledged sum \(cell.acknowledgedSum)") }
    }
    let (whole, fraction) = started.duration(to: .now).components
    cell.seconds = Double(whole) + Double(fraction) / 1e18
    return cell
  }

  static func start(_ me: String, _ arguments: [String]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: me)
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    return p
  }
}
