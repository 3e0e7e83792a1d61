import ArgumentParser
import CourierActorExamples
import CourierActors
import CourierCore
import CourierGIOP
import Distributed
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `courier actor-churn`: a client creates and drops COUNT remote actors in a loop (the seeds'
/// ShapeList's unkept shapes, in a server process of their own) and shows both processes'
/// resident memory and the server's live exports before, during and after.
struct ActorChurnCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actor-churn",
    abstract: "Create and drop remote distributed actors in a loop; print both processes' RSS and the server's live exports.")

  @Option(help: "How many remote actors the client creates and drops.") var count = 100_000
  @Option(help: "The lease period of both actor systems, in seconds.") var leaseSeconds = 60.0
  @Option(help: "How long to wait at the end for the server's exports to drop back, in seconds.") var drainSeconds = 60.0
  @Flag(help: .hidden) var serve = false

  func validate() throws {
    guard count >= 1, leaseSeconds > 0, drainSeconds > 0 else { throw ValidationError("count, lease and drain must be positive") }
  }

  func run() throws {
    if serve { return try Self.serve(lease: .seconds(leaseSeconds)) }
    let server = try DemoCommand.Child("/proc/self/exe", ["actor-churn", "--serve", "--lease-seconds", "\(leaseSeconds)"],
                                       label: "server", quiet: true)
    defer { server.stop(SIGTERM, quiet: true) }
    let words = server.ready.split(separator: " ")
    guard words.count == 3, words[0] == "READY",
          let listIOR = words[1].split(separator: "=", maxSplits: 1).last.map(String.init),
          let probeIOR = words[2].split(separator: "=", maxSplits: 1).last.map(String.init) else {
      throw ValidationError("cannot read the server's READY line: \(server.ready)")
    }
    let count = count
    let lease = Duration.seconds(leaseSeconds)
    let drain = Duration.seconds(drainSeconds)
    let serverPid = server.process.processIdentifier
    flushedPrint("== actor-churn: \(count) remote actors (ShapeList.makeShape, then getVersion, then dropped), "
      + "lease \(leaseSeconds) s, server pid \(serverPid), client pid \(getpid())")
    try waitFor {
      var configuration = CourierActorSystem.Configuration()
      configuration.leasePeriod = lease
      configuration.orb.defaultCallOptions.timeout = .seconds(10)
      let system = try CourierActorSystem(configuration: configuration, logger: logger("courier.actor-churn", verbose: false))
      defer { system.shutdown() }
      let list = try ShapeList.resolve(id: CourierActorID(ior: IOR(stringified: listIOR)), using: system)
      let probe = try ChurnProbe.resolve(id: CourierActorID(ior: IOR(stringified: probeIOR)), using: system)
      // The list and the probe are exported to this client once its leases on them are in.
      let (base, _) = try await Self.waitUntil(drain, probe) { $0.exported >= 2 }
      let table = ChurnTable()
      table.row("start", done: 0, client: system, server: base)
      let g = GraphicalObject(type: "circle", enclosing: Rectangle(width: 1, height: 1, x: 0, y: 0), isFilled: false)
      let warmUp = max(count / 10, 1)
      let started = ContinuousClock.now
      for i in 1...count {
        let s = try await list.makeShape(g)
        _ = try await s.getVersion()
        if i == warmUp && i != count { table.row("after 10% (warm-up)", done: i, client: system, server: try await probe.status()) }
      }
      let loop = ContinuousClock.now - started
      table.row("end of loop", done: count, client: system, server: try await probe.status())
      let (drained, waited) = try await Self.waitUntil(drain, probe) {
        $0.exported == base.exported && $0.live == base.live && system.heldLeaseCount == 2
      }
      table.row("exports drained", done: count, client: system, server: drained)
      table.print()
      flushedPrint("loop: \(Self.format(loop)) (\(Int(Double(count) / loop.inSeconds)) actors/s); "
        + "the server's exports back to \(drained.exported) and live actors to \(drained.live) "
        + (drained.exported == base.exported && drained.live == base.live ? "\(Self.format(waited)) after the loop"
                                                                            : "NOT within \(Self.format(drain))")
        + "; shapes unreferenced on the server: \(drained.unreferenced)")
    }
  }

  /// Polls the probe until `done` holds or `timeout` passes; returns the last status and the time waited.
  static func waitUntil(_ timeout: Duration, _ probe: ChurnProbe, _ done: (ChurnStatus) -> Bool) async throws -> (ChurnStatus, Duration) {
    let start = ContinuousClock.now
    var status = try await probe.status()
    while !done(status), ContinuousClock.now - start < timeout {
      try await Task.sleep(for: .milliseconds(20))
      status = try await probe.status()
    }
    return (status, ContinuousClock.now - start)
  }

  static func format(_ d: Duration) -> String { String(format: "%.2f s", d.inSeconds) }

  /// The server process: a ShapeList and a ChurnProbe; one READY line with both references.
  static func serve(lease: Duration) throws {
    Signals.block()
    var configuration = CourierActorSystem.Configuration()
    configuration.leasePeriod = lease
    let system = try CourierActorSystem(configuration: configuration, logger: logger("courier.actor-churn", verbose: false))
    let unreferenced = Atomic<Int>(0)
    let list = ShapeList(actorSystem: system) { _ in unreferenced.add(1, ordering: .relaxed) }
    let probe = ChurnProbe(actorSystem: system) { unreferenced.load(ordering: .relaxed) }
    flushedPrint("READY list=\(try list.id.stringified()) probe=\(try probe.id.stringified())")
    _ = Signals.wait()
    withExtendedLifetime((list, probe)) {}
    system.shutdown()
  }
}

/// What the churn server reports about itself.
struct ChurnStatus: Codable, Sendable {
  var rssKiB: Int64
  /// Local actors kept alive because something remote references them.
  var exported: Int32
  /// Local actors alive.
  var live: Int32
  /// Shapes whose `unreferenced()` ran.
  var unreferenced: Int64
}

/// The churn server's probe: its resident memory and its actor system's counts.
distributed actor ChurnProbe {
  typealias ActorSystem = CourierActorSystem

  let unreferenced: @Sendable () -> Int

  init(actorSystem: CourierActorSystem, unreferenced: @escaping @Sendable () -> Int) {
    self.actorSystem = actorSystem
    self.unreferenced = unreferenced
  }

  distributed func status() -> ChurnStatus {
    ChurnStatus(rssKiB: residentKiB(), exported: Int32(actorSystem.exportedCount), live: Int32(actorSystem.liveActorCount),
                unreferenced: Int64(unreferenced()))
  }
}

/// VmRSS of this process, in KiB, from /proc/self/status (0 if unreadable).
func residentKiB() -> Int64 {
  guard let text = try? readFile("/proc/self/status") else { return 0 }
  for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
    return Int64(line.split(separator: " ").dropFirst().first ?? "") ?? 0
  }
  return 0
}

/// The churn's rows, printed as a table at the end.
final class ChurnTable {
  private var rows: [[String]] = [["", "actors made", "client RSS", "server RSS", "server live actors", "server exports", "client leases"]]

  func row(_ name: String, done: Int, client: CourierActorSystem, server: ChurnStatus) {
    rows.append([name, "\(done)", Self.mib(residentKiB()), Self.mib(server.rssKiB), "\(server.live)", "\(server.exported)",
                 "\(client.heldLeaseCount)"])
  }

  static func mib(_ kib: Int64) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }

  func print() {
    let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
    for (i, row) in rows.enumerated() {
      let cells = row.enumerated().map { c, text in
        c == 0 ? text.padding(toLength: widths[c], withPad: " ", startingAt: 0)
               : String(repeating: " ", count: widths[c] - text.count) + text
      }
      flushedPrint("| " + cells.joined(separator: " | ") + " |")
      if i == 0 { flushedPrint("|" + widths.enumerated().map { c, w in c == 0 ? String(repeating: "-", count: w + 2) : String(repeating: "-", count: w + 1) + ":" }.joined(separator: "|") + "|") }
    }
  }
}

extension Duration {
  var inSeconds: Double {
    let (s, atto) = components
    return Double(s) + Double(atto) / 1e18
  }
}
