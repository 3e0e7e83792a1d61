import CourierActorExamples
import CourierActors
import CourierGIOP
import Foundation
import Synchronization
import Testing

/// A `courier actor-node` process: its READY line, then every line it prints, collected by a
/// reader thread. Ended with SIGKILL (test threads block SIGTERM, and children inherit that).
final class ActorNode: @unchecked Sendable {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  final class Lines: Sendable {
    let all = Mutex<[String]>([])
  }

  let process = Process()
  private let lines = Lines()
  private(set) var holder = ""
  private(set) var list = ""

  init(_ arguments: [String]) throws {
    let exe = Self.packageRoot.appendingPathComponent(".build/debug/courier")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      throw CourierActorError(.unsupported, "\(exe.path) is missing: swift build --build-tests builds it")
    }
    process.executableURL = exe
    process.arguments = ["actor-node"] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let handle = out.fileHandleForReading
    let collected = lines
    Thread.detachNewThread {
      var pending = ""
      while true {
        let chunk = handle.availableData
        if chunk.isEmpty { return }
        pending += String(decoding: chunk, as: UTF8.self)
        while let newline = pending.firstIndex(of: "\n") {
          let line = String(pending[..<newline])
          pending = String(pending[pending.index(after: newline)...])
          collected.all.withLock { $0.append(line) }
        }
      }
    }
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
      if let ready = output.first(where: { $0.hasPrefix("READY ") }) {
        for field in ready.split(separator: " ") {
          if field.hasPrefix("holder=") { holder = String(field.dropFirst(7)) }
          if field.hasPrefix("list=") { list = String(field.dropFirst(5)) }
        }
        return
      }
      Thread.sleep(forTimeInterval: 0.01)
    }
    kill()
    throw CourierActorError(.unsupported, "courier actor-node \(arguments) did not start")
  }

  /// Starts a node off the cooperative pool (the start waits for the child's READY line).
  static func start(_ arguments: [String]) async throws -> ActorNode {
    try await offPool { try ActorNode(arguments) }
  }

  var output: [String] { lines.all.withLock { $0 } }
  func unreferencedLines() -> [String] { output.filter { $0.hasPrefix("UNREFERENCED ") } }

  func kill() {
    Foundation.kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

@Suite("Distributed actors: across processes", .serialized)
struct ActorProcessTests {
  /// The seeds' race with three real processes: A (factory) makes a shape for B; B passes it
  /// to C and drops it while C's dirty call to A is delayed 800 ms by C's fault injector; C
  /// calls it, then drops it. A runs the shape's `unreferenced()` exactly once, after C dropped.
  @Test func threeProcessesPassAReferenceAndTheActorIsCollectedOnlyAfterTheLastDrop() async throws {
    let a = try await ActorNode.start(["--factory", "--lease-ms", "3000"])
    defer { a.kill() }
    let b = try await ActorNode.start(["--lease-ms", "3000"])
    defer { b.kill() }
    let c = try await ActorNode.start(["--lease-ms", "3000", "--delay-first-request-ms", "800"])
    defer { c.kill() }
    let driver = try makeSystem()
    defer { driver.shutdown() }
    let list = try await driver.lookup(url: a.list, as: ShapeList.self)
    let holderB = try await driver.lookup(url: b.holder, as: ShapeHolder.self)
    let holderC = try await driver.lookup(url: c.holder, as: ShapeHolder.self)

    #expect(try await holderB.obtain(from: list, type: "hexagon") == 1)
    try await holderB.pass(to: holderC)
    #expect(try await holderB.isHolding() == false)
    #expect(try await holderC.callHeld() == "hexagon")
    // B has let go of everything (its hold was acknowledged after C's delayed registration, and
    // its clean calls went out): the shape is still referenced, by C.
    #expect(try await eventually { try await holderB.leaseCount() == 0 })
    #expect(a.unreferencedLines().isEmpty)
    #expect(try await holderC.callHeld() == "hexagon")
    try await holderC.drop()
    #expect(await eventually { a.unreferencedLines().count == 1 })
    // A round trip to A after the release: still exactly one run of the hook.
    _ = try await list.getVersion()
    #expect(a.unreferencedLines().count == 1)
  }

  /// The control: with B's transit holds off, the same sequence collects the shape while C
  /// still holds a reference (B's clean overtakes C's delayed dirty), and C's call fails clearly.
  @Test func withoutTransitHoldsTheSameSequenceCollectsEarly() async throws {
    let a = try await ActorNode.start(["--factory", "--lease-ms", "3000"])
    defer { a.kill() }
    let b = try await ActorNode.start(["--lease-ms", "3000", "--no-transit-holds"])
    defer { b.kill() }
    // B's clean must overtake C's dirty call: C holds it back 5 s (time for a loaded machine).
    let c = try await ActorNode.start(["--lease-ms", "3000", "--delay-first-request-ms", "5000"])
    defer { c.kill() }
    let driver = try makeSystem()
    defer { driver.shutdown() }
    let list = try await driver.lookup(url: a.list, as: ShapeList.self)
    let holderB = try await driver.lookup(url: b.holder, as: ShapeHolder.self)
    let holderC = try await driver.lookup(url: c.holder, as: ShapeHolder.self)
    #expect(try await holderB.obtain(from: list, type: "hexagon") == 1)
    try await holderB.pass(to: holderC)
    #expect(await eventually(.seconds(20)) { a.unreferencedLines().count == 1 })
    await #expect(throws: RemoteActorError.self) { _ = try await holderC.callHeld() }
  }

  /// A holder killed with SIGKILL sends no clean call: its lease runs out after the lease
  /// period, and then the actor is released.
  @Test func aKilledHolderReleasesItsLeaseAfterTheLeasePeriod() async throws {
    let log = UnreferencedLog()
    let owner = try makeSystem(lease: .milliseconds(1500))
    defer { owner.shutdown() }
    let list = ShapeList(actorSystem: owner, onShapeUnreferenced: log.record)
    let holderProcess = try await ActorNode.start(["--lease-ms", "1500"])
    defer { holderProcess.kill() }
    let holder = try await owner.lookup(url: holderProcess.holder, as: ShapeHolder.self)
    #expect(try await holder.obtain(from: list, type: "kite") == 1)
    #expect(try await holder.callHeld() == "kite")
    #expect(log.total == 0)
    let killedAt = ContinuousClock.now
    holderProcess.kill()
    #expect(await eventually(.seconds(15)) { log.total == 1 })
    // Not before the lease ran out: renewed every 500 ms, the last renewal left at least
    // 1,000 ms of its 1,500 ms lease at the moment of the kill.
    #expect(ContinuousClock.now - killedAt > .milliseconds(900))
  }
}
