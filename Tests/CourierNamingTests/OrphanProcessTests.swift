import CourierCore
import CourierGIOP
import CourierNIO
import CourierTestSupport
import CourierWire
import Foundation
import Testing

/// Orphans across real processes: `courier example orphan-server`, and an
/// `courier example orphan-client` making a 30 s call that is killed with SIGKILL mid-call.
/// Each mode must get the orphan cancelled (and nothing left); with no orphan handling the
/// orphan runs on until it ends by itself.
@Suite("Orphans across processes", .serialized)
struct OrphanProcessTests {
  static var courier: String { CourierProcess.packageRoot.appendingPathComponent(".build/debug/courier").path }

  /// A running orphan-server, a client ORB to ask it for statistics, and a state directory.
  final class Setup {
    let server: CourierProcess
    let url: String
    let orb: ORB
    let stateDirectory: String

    init(_ name: String) throws {
      let port = try BinderProcessTests.freePort()
      server = try CourierProcess(["example", "orphan-server", "--port", String(port)])
      url = "corbaloc::127.0.0.1:\(port)/Orphans"
      var config = ORB.Configuration()
      config.defaultCallOptions = CallOptions(timeout: .seconds(10))
      config.idleProbeAfter = .zero
      orb = ORB(configuration: config, connector: TCPConnector())
      stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-orphans-\(name)-\(getpid())").path
      try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    deinit {
      orb.shutdown()
      server.signal(SIGKILL)
      try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    func stats() throws -> OrphanMonitor.Statistics {
      var reply = try orb.object(url).invoke("stats")
      return try OrphanMonitor.Statistics(from: &reply.body)
    }

    /// The statistics as text, for failure messages.
    var described: String { (try? stats()).map { "\($0)" } ?? "(no statistics)" }

    func clientArguments(mode: String, seconds: Double) -> [String] {
      ["example", "orphan-client", "--server", url, "--mode", mode, "--state", stateDirectory, "--seconds", String(seconds),
       "--quantum-ms", "300"]
    }

    /// Starts a client making a `seconds` call, waits until the server runs it (or, with a
    /// lease, cancelled it already), and kills the client with SIGKILL.
    func killClientMidCall(mode: String, seconds: Double) throws {
      let client = try CourierProcess(clientArguments(mode: mode, seconds: seconds))
      defer { client.signal(SIGKILL) }
      let running = try BinderProcessTests.eventually { let s = try stats(); return s.running == 1 || s.cancelledByExpiration > 0 }
      #expect(running, "the server never ran the client's call: \(described)")
    }

    /// Runs the client again on the same state directory: only its restart step.
    func restartClient(mode: String) {
      let result = runProgram(OrphanProcessTests.courier, clientArguments(mode: mode, seconds: 0), timeout: 30)
      #expect(result.status == 0, "\(result.output)")
    }

    /// Waits until nothing runs any more and `cancelled` says the call was cancelled.
    func waitForCancellation(_ cancelled: (OrphanMonitor.Statistics) -> Int) throws -> OrphanMonitor.Statistics {
      _ = try BinderProcessTests.eventually { let s = try stats(); return s.running == 0 && cancelled(s) >= 1 }
      return try stats()
    }
  }

  @Test func exterminationKillsTheLoggedCallAfterTheRestart() throws {
    let setup = try Setup("extermination")
    try setup.killClientMidCall(mode: "extermination", seconds: 30)
    #expect(try setup.stats().running == 1)  // nobody killed it yet
    setup.restartClient(mode: "extermination")
    let s = try setup.waitForCancellation(\.cancelledByExtermination)
    #expect(s.running == 0 && s.cancelledByExtermination == 1 && s.orphansLeft == 0, "\(s)")
    #expect(s.cancelledByReincarnation + s.cancelledByGentleReincarnation + s.cancelledByExpiration == 0, "\(s)")
    // The log was cleared: one more restart exterminates nothing.
    setup.restartClient(mode: "extermination")
    #expect(try setup.stats().cancelledByExtermination == 1)
  }

  @Test func reincarnationKillsTheOlderEpochAfterTheRestart() throws {
    let setup = try Setup("reincarnation")
    try setup.killClientMidCall(mode: "reincarnation", seconds: 30)
    #expect(try setup.stats().running == 1)
    setup.restartClient(mode: "reincarnation")
    let s = try setup.waitForCancellation(\.cancelledByReincarnation)
    #expect(s.running == 0 && s.cancelledByReincarnation == 1 && s.orphansLeft == 0, "\(s)")
    #expect(s.cancelledByExtermination + s.cancelledByGentleReincarnation + s.cancelledByExpiration == 0, "\(s)")
  }

  @Test func gentleReincarnationKillsTheDeadOwnersCall() throws {
    let setup = try Setup("gentle")
    try setup.killClientMidCall(mode: "gentle", seconds: 30)
    // The owner's connection is closed: an orphan, not killed before the announcement.
    #expect(try BinderProcessTests.eventually { try setup.stats().orphansLeft == 1 })
    setup.restartClient(mode: "gentle")
    let s = try setup.waitForCancellation(\.cancelledByGentleReincarnation)
    #expect(s.running == 0 && s.cancelledByGentleReincarnation == 1 && s.orphansLeft == 0, "\(s)")
    #expect(s.cancelledByExtermination + s.cancelledByReincarnation + s.cancelledByExpiration == 0, "\(s)")
  }

  @Test func expirationKillsTheCallWhenItsLeaseRunsOut() throws {
    let setup = try Setup("expiration")
    try setup.killClientMidCall(mode: "expiration", seconds: 30)
    // No restart: nobody renews the lease (300 ms) any more.
    let s = try setup.waitForCancellation(\.cancelledByExpiration)
    #expect(s.running == 0 && s.cancelledByExpiration == 1 && s.orphansLeft == 0, "\(s)")
    #expect(s.cancelledByExtermination + s.cancelledByReincarnation + s.cancelledByGentleReincarnation == 0, "\(s)")
  }

  /// Control: calls identified but never cancelled (mode none). After SIGKILL the orphan runs
  /// on (orphans left 1) until its 5 s of work are done.
  @Test func withoutOrphanHandlingTheOrphanRunsToItsEnd() throws {
    let setup = try Setup("none")
    try setup.killClientMidCall(mode: "none", seconds: 5)
    #expect(try BinderProcessTests.eventually { try setup.stats().orphansLeft == 1 }, "\(setup.described)")
    #expect(try BinderProcessTests.eventually(within: .seconds(30)) { try setup.stats().running == 0 })
    let s = try setup.stats()
    #expect(s.orphansLeft == 0 && s.cancelledByExtermination + s.cancelledByReincarnation + s.cancelledByGentleReincarnation
            + s.cancelledByExpiration == 0, "\(s)")
  }
}
