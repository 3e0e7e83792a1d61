import ArgumentParser
import CourierCore
import CourierDurable
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The benchmark server of `shared/peers`: Bench::Echo under the key `Echo` on 127.0.0.1.
struct BenchServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-server", abstract: "Serve Bench::Echo under key \"Echo\" for the peers' benchmark.")

  @Argument(help: "TCP port on 127.0.0.1")
  var port: UInt16

  @Option(help: "Write the IOR to this file.")
  var iorFile: String?

  @Flag(help: "Dispatch each request on a worker thread instead of the connection's thread.")
  var concurrent = false

  @Option(help: "Keep the reply history in this SQLite file (exactly-once calls) instead of memory.")
  var durableHistory: String?

  @Option(help: "With --durable-history: power-loss (fsync per commit, the default) or process-crash.")
  var durability: BenchDurability = .powerLoss

  func run() throws {
    Signals.block()
    let adapter = ObjectAdapter()
    adapter.activate(Bench_Echo.Servant(EchoImplementation()), key: "Echo")
    var config = GIOPServer.Configuration()
    config.dispatchMode = concurrent ? .concurrent : .perConnection
    if let durableHistory { config.replyHistory = try DurableReplyHistory(path: durableHistory, durability: durability.durability) }
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port), configuration: config,
                            logger: logger("courier.bench", verbose: false))
    server.start()
    let ior = try server.reference(key: "Echo", typeID: Bench_Echo.repositoryID).stringified()
    if let iorFile { try writeFileAtomically(iorFile, ior + "\n") }
    flushedPrint("READY courier-bench 127.0.0.1:\(server.port) pid=\(getpid())")
    _ = Signals.wait()
    server.shutdown(timeout: .seconds(2))
  }
}

/// How hard exactly-once storage works to keep a commit (``Durability``), as an argument.
enum BenchDurability: String, ExpressibleByArgument {
  case powerLoss = "power-loss", processCrash = "process-crash"
  var durability: Durability { self == .powerLoss ? .powerLoss : .processCrash }
}

/// The benchmark client of `shared/peers` (its README, "The client protocol"):
/// `HOST PORT PAYLOAD MODE CONC CALLS SECONDS`, one JSON line on stdout.
struct BenchClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-client", abstract: "Measure Bench::Echo calls (the peers' client protocol; prints one JSON line).")

  @Argument var host: String
  @Argument var port: UInt16
  @Argument(help: "add, or a byte count for echoBytes") var payload: String
  @Argument(help: "lat or tput") var mode: String
  @Argument var conc: Int = 1
  @Argument var calls: Int = 20000
  @Argument var seconds: Double = 5

  /// COURIER_BENCH_SEMANTICS: maybe (default), at-least-once, at-most-once, exactly-once.
  /// Exactly-once calls log in a SQLite file per caller (COURIER_BENCH_DURABILITY: power-loss,
  /// the default, or process-crash), in a scratch folder removed at the end.
  static func semantics() throws -> InvocationSemantics {
    switch getenv("COURIER_BENCH_SEMANTICS").map({ String(cString: $0) }) ?? "maybe" {
    case "maybe": return .maybe
    case "at-least-once": return .atLeastOnce
    case "at-most-once": return .atMostOnce
    case "exactly-once": return .exactlyOnce
    case let other: throw ValidationError("COURIER_BENCH_SEMANTICS=\(other): maybe, at-least-once, at-most-once or exactly-once")
    }
  }

  static func durability() throws -> Durability {
    let text = getenv("COURIER_BENCH_DURABILITY").map { String(cString: $0) } ?? "power-loss"
    guard let d = BenchDurability(rawValue: text) else { throw ValidationError("COURIER_BENCH_DURABILITY=\(text): power-loss or process-crash") }
    return d.durability
  }

  func run() throws {
    let isAdd = payload == "add"
    guard isAdd || Int(payload) != nil, mode == "lat" || mode == "tput", (1...256).contains(conc),
          calls >= 1, seconds > 0, (Int(payload) ?? 0) >= 0 else {
      throw ValidationError("usage: bench-client HOST PORT (add|BYTES) (lat|tput) CONC CALLS SECONDS")
    }
    let size = Int(payload) ?? 0
    let iorFile = getenv("COURIER_IOR_FILE").map { String(cString: $0) } ?? ""
    let refText = iorFile.isEmpty ? "corbaloc:iiop:1.2@\(host):\(port)/Echo" : try readFile(iorFile)
    let callers = mode == "lat" ? 1 : conc
    // One ORB per caller: each caller gets its own connection, as the protocol asks.
    var stubs: [Bench_Echo.Blocking] = []
    let semantics = try Self.semantics()
    var scratch: String?
    if semantics == .exactlyOnce {
      let dir = "/tmp/courier-bench-log-\(getpid())"
      try? FileManager.default.removeItem(atPath: dir)
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      scratch = dir
    }
    defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
    for i in 0..<callers {
      var config = ORB.Configuration()
      // A log per ORB: each caller is its own client (its own identity and acknowledgements).
      if let scratch { config.callLog = try SQLiteCallLog(path: "\(scratch)/caller-\(i).sqlite", durability: try Self.durability()) }
      let orb = ORB(configuration: config, connector: TCPConnector())
      let stub = Bench_Echo.Blocking(try orb.object(refText).with(options: CallOptions(
        timeout: getenv("COURIER_BENCH_NO_TIMEOUT") == nil ? .seconds(10) : nil, semantics: try Self.semantics())))
      stubs.append(stub)
      // One fully checked call (also opens the connection).
      if isAdd {
        guard try stub.add(a: Int64(1_000_003 * i), b: 42) == Int64(1_000_003 * i) + 42 else { throw ValidationError("wrong sum") }
      } else {
        let data = BenchClient.fill(size, seed: i)
        guard try stub.echoBytes(data: data) == data else { throw ValidationError("echo mismatch") }
      }
    }
    let note = "Courier, GIOP 1.2 over TCP (blocking POSIX sockets), " + (iorFile.isEmpty ? "corbaloc" : "IOR from file")
      + ", semantics \(try Self.semantics())"
    let measure = BenchMeasure(system: "courier", payload: payload, mode: mode, calls: calls, seconds: seconds)
    let calls: [@Sendable () -> Bool] = stubs.enumerated().map { i, stub in
      let data = BenchClient.fill(size, seed: i)
      let a = Int64(1_000_003 * i)
      return { BenchClient.call(stub, isAdd: isAdd, data: data, a: a) }
    }
    if mode == "lat" {
      measure.latency(note: note, calls[0])
    } else {
      measure.throughput(note: note, callers: calls)
    }
  }

  static func fill(_ n: Int, seed: Int) -> [UInt8] {
    (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ 1) }
  }

  /// One call; true when the answer is right.
  static func call(_ stub: Bench_Echo.Blocking, isAdd: Bool, data: [UInt8], a: Int64) -> Bool {
    do {
      if isAdd { return try stub.add(a: a, b: 42) == a + 42 }
      let r = try stub.echoBytes(data: data)
      return r.count == data.count && (data.isEmpty || (r[0] == data[0] && r[r.count - 1] == data[data.count - 1]))
    } catch {
      return false
    }
  }

}
