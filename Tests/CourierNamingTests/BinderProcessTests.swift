import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierNaming
import Foundation
import Testing

/// The binder across real processes: `courier naming serve` (persistent) and three
/// `courier example greeter-server` processes that register themselves. One server is
/// killed with SIGKILL and restarted; the binder itself is killed with SIGKILL and restarted
/// on its file; a server stopped with SIGTERM deregisters.
@Suite("Binder across processes", .serialized)
struct BinderProcessTests {
  static func freePort() throws -> UInt16 {
    let probe = try TCPListener(host: "127.0.0.1", port: 0)
    defer { probe.close() }
    return probe.port
  }

  /// Waits (bounded) until `condition` holds.
  static func eventually(within limit: Duration = .seconds(20), _ condition: () throws -> Bool) rethrows -> Bool {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < limit {
      if try condition() { return true }
      Thread.sleep(forTimeInterval: 0.02)
    }
    return false
  }

  @Test func killedServersLeaveAndReturnAndTheBinderSurvivesKillMinus9() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-binder-proc-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("naming.sqlite").path
    let binderPort = try Self.freePort()
    let binderURL = "corbaloc::127.0.0.1:\(binderPort)/Binder"
    let serve = ["naming", "serve", "--port", String(binderPort), "--db", db, "--poll-period", "0.2", "--failures", "2"]
    var binderProcess = try CourierProcess(serve)
    defer { binderProcess.signal(SIGKILL) }

    let ports = try (0..<3).map { _ in try Self.freePort() }
    func greeter(_ i: Int) throws -> CourierProcess {
      try CourierProcess(["example", "greeter-server", "--port", String(ports[i]), "--server-name", ["A", "B", "C"][i],
                   "--binder", binderURL, "--version", "1.\(i)"])
    }
    var servers = try (0..<3).map(greeter)
    defer { for s in servers { s.signal(SIGKILL) } }

    var config = ORB.Configuration()
    config.defaultCallOptions = CallOptions(timeout: .seconds(10))
    config.idleProbeAfter = .zero  // check idle connections on every call: no need to wait for idleness
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let binder = CourierBinding_Binder.Blocking(try orb.object(binderURL))
    let ids = try binder.registrations(name: "Greeter").map(\.id)
    #expect(ids.count == 3)
    func portOf(_ id: UInt64) throws -> UInt16? {
      try binder.registrations(name: "Greeter").first { $0.id == id }?.server?.ior.iiopProfiles.first?.port
    }

    // Round-robin over the three processes.
    var counts: [UInt64: Int] = [:]
    for _ in 0..<3000 { counts[try binder.lookup(name: "Greeter", versions: .compatible(with: .init(major: 1, minor: 0))).id, default: 0] += 1 }
    for id in ids { #expect((950...1050).contains(counts[id] ?? 0), "registration \(id): \(counts[id] ?? 0) of 3000") }

    // kill -9 B: within the configured period (2 polls of 0.2 s) lookups stop returning it.
    let idB = try #require(try ids.first { try portOf($0) == ports[1] })
    let directB = Demo_Greeter.Blocking(try orb.object("corbaloc::127.0.0.1:\(ports[1])/Greeter"))
    #expect(try directB.serverName == "B")
    servers[1].signal(SIGKILL)
    // The client's idle connection to B is dead: the next call finds out before sending
    // (TRANSIENT, COMPLETED_NO), not after (COMM_FAILURE, COMPLETED_MAYBE).
    do { _ = try directB.serverName; Issue.record("a killed server answered") } catch let e as RPCError {
      #expect(e.code == .transient && e.completion == .no, "\(e)")
    }
    #expect(try Self.eventually { try (0..<30).allSatisfy { _ in try binder.lookup(name: "Greeter", versions: .any).id != idB } },
            "lookups still return the killed server")
    // B restarts on its port; it is returned again (same reference, same registration).
    servers[1] = try greeter(1)
    #expect(try Self.eventually { try (0..<3).contains { _ in try binder.lookup(name: "Greeter", versions: .any).id == idB } })
    #expect(try binder.registrations(name: "Greeter").map(\.id) == ids)

    // kill -9 the binder, restart it on its file: the registrations are all still there.
    binderProcess.signal(SIGKILL)
    binderProcess = try CourierProcess(serve)
    #expect(try binder.registrations(name: "Greeter").map(\.id) == ids)
    let greeted = try Demo_Greeter.Blocking(try #require(try binder.lookup(name: "Greeter", versions: .exactly(.init(major: 1, minor: 2))).server)).greet(who: "test")
    #expect(greeted == "hello, test, from C")

    // SIGTERM C: it deregisters on its way out.
    let idC = try #require(try ids.first { try portOf($0) == ports[2] })
    servers[2].signal(SIGTERM)
    #expect(try !binder.registrations(name: "Greeter").contains { $0.id == idC })
    #expect(throws: CourierBinding_VersionMismatch.self) { try binder.lookup(name: "Greeter", versions: .exactly(.init(major: 1, minor: 2))) }
  }
}
