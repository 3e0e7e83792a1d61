import CourierCore
import CourierGIOP
import CourierNIO
import CourierTestSupport
import CourierWire
import Foundation
import Synchronization
import Testing

/// Everything.idl end to end: Courier against itself, Courier's client against omniORB's C++
/// servant, omniORB's C++ client against Courier's servant — every operation checked.
@Suite("Everything.idl: every construct, Courier and omniORB both ways", .serialized)
struct EverythingInteropTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// A Courier server with the Tester under key "Everything" (and an ORB for callbacks/items).
  final class CourierSide {
    /// The server's ORB (callbacks, item references).
    let orb = ORB(connector: TCPConnector())
    /// The test's client ORB: its own connections. (Sharing the server's ORB would put the
    /// callback on the very connection whose thread is running callMe: with per-connection
    /// dispatch that waits for itself.)
    let clientORB = ORB(connector: TCPConnector())
    let adapter = ObjectAdapter()
    let server: GIOPServer
    let tester = TesterImplementation()
    let callback = CallbackImplementation()
    let callbackReference: Everything_Callback.Client

    init() throws {
      let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: 0), orb: orb)
      self.server = server
      adapter.activate(Everything_Tester.Servant(tester), key: "Everything")
      let me = orb.object(try server.reference(key: "Everything", typeID: Everything_Tester.repositoryID))
      callbackReference = Everything_Callback.Client(try server.activate(Everything_Callback.Servant(callback),
                                                                         typeID: Everything_Callback.repositoryID))
      tester.server.withLock { $0 = server }
      tester.me.withLock { $0 = me }
      server.start()
    }

    var testerIOR: String { get throws { try server.reference(key: "Everything", typeID: Everything_Tester.repositoryID).stringified() } }

    func stop() {
      clientORB.shutdown()
      orb.shutdown()
      server.shutdown(timeout: .seconds(5))
    }
  }

  func report(_ checks: EverythingChecks, _ what: String) {
    #expect(checks.failed.isEmpty, "\(what): \(checks.failed.count) failed:\n\(checks.failed.joined(separator: "\n"))")
    // Every check of EverythingChecks.run ran and passed.
    #expect(checks.passed.count == 38, "\(what): \(checks.passed.count) of 38 checks passed")
  }

  @Test("Courier client -> Courier server")
  func courierToCourier() throws {
    let side = try CourierSide()
    defer { side.stop() }
    let tester = try Everything_Tester.Blocking.narrow(side.clientORB.object(try side.testerIOR))
    report(EverythingChecks.run(tester, callback: side.callbackReference, received: side.callback), "Courier -> Courier")
  }

  // MARK: omniORB

  static let build: Result<URL, CodeGenInteropError> = {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("courier-interop-build")
    let out = runProgram("/usr/bin/make", ["-s", "-C", root.appendingPathComponent("Interop/omniorb").path, "BUILD=\(dir.path)"], timeout: 600)
    guard out.status == 0 else { return .failure(CodeGenInteropError("make failed: \(out.output)")) }
    return .success(dir)
  }()

  @Test("Courier client -> omniORB C++ server")
  func courierToOmniORB() throws {
    let dir = try Self.build.get()
    let iorFile = NSTemporaryDirectory() + "courier-everything-\(getpid()).ior"
    let probe = try TCPListener(host: "127.0.0.1", port: 0)
    let port = probe.port
    probe.close()
    let server = Process()
    server.executableURL = dir.appendingPathComponent("everything_server")
    server.arguments = [String(port), iorFile]
    let out = Pipe()
    server.standardOutput = out
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer {
      if server.isRunning { server.terminate() }
      server.waitUntilExit()
    }
    var seen = ""
    let deadline = Date().addingTimeInterval(20)
    while !seen.contains("\n") {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty || Date() > deadline { throw CodeGenInteropError("everything_server did not start: \(seen)") }
      seen += String(decoding: chunk, as: UTF8.self)
    }
    let ior = try String(contentsOfFile: iorFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    // Our own server hosts the callback object the C++ servant calls.
    let side = try CourierSide()
    defer { side.stop() }
    let tester = try Everything_Tester.Blocking.narrow(side.clientORB.object(ior))
    report(EverythingChecks.run(tester, callback: side.callbackReference, received: side.callback), "Courier -> omniORB")
    // Also by corbaloc.
    let byURL = Everything_Tester.Blocking(try side.clientORB.object("corbaloc:iiop:1.2@127.0.0.1:\(port)/Everything"))
    #expect(try byURL.base_op(x: 1) == 2)
  }

  @Test("omniORB C++ client -> Courier server")
  func omniORBToCourier() throws {
    let dir = try Self.build.get()
    let side = try CourierSide()
    defer { side.stop() }
    let result = runProgram(dir.appendingPathComponent("everything_client").path, [try side.testerIOR], timeout: 120)
    let lines = result.output.split(separator: "\n")
    let failures = lines.filter { $0.hasPrefix("FAIL") }
    #expect(result.status == 0, "everything_client exited \(result.status):\n\(failures.joined(separator: "\n"))\n\(lines.suffix(3).joined(separator: "\n"))")
    // The 40 checks of everything_client.cc.
    #expect(lines.filter { $0.hasPrefix("ok ") }.count == 40, "checks: \(lines.suffix(3))")
    #expect(failures.isEmpty)
  }
}

struct CodeGenInteropError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
