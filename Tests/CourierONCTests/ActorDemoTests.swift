import CourierTestSupport
import Foundation
import Testing

/// The distributed-actor part of `courier demo`: the seeds' ShapeList in a server process, used
/// from a client process (the factory, the shapes' state, the typed error).
@Suite("courier demo: distributed actors")
struct ActorDemoTests {
  @Test("a client process uses a ShapeList actor of a server process and the shapes it makes there")
  func shapeListAcrossProcesses() throws {
    let courier = try PrivateNetwork.courierExecutable()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-actor-demo-test-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let iorFile = dir.appendingPathComponent("shapes.ior").path
    let server = Process()
    server.executableURL = URL(fileURLWithPath: courier)
    server.arguments = ["actor-demo-server", "--port", "0", "--ior-file", iorFile]
    server.standardOutput = FileHandle.nullDevice
    try server.run()
    defer {
      server.terminate()
      server.waitUntilExit()
    }
    let deadline = Date().addingTimeInterval(30)
    while !FileManager.default.fileExists(atPath: iorFile), Date() < deadline, server.isRunning { usleep(20_000) }
    try #require(FileManager.default.fileExists(atPath: iorFile), "the server wrote no IOR")

    let result = runProgram(courier, ["actor-demo-client", "@" + iorFile], timeout: 60)
    #expect(result.status == 0, "\(result.output)")
    let lines = result.output.split(separator: "\n").map(String.init)
    #expect(lines.filter { $0.contains("newShape(") && $0.contains("-> a proxy for a Shape made in the server process") }.count == 3,
            "\(result.output)")
    #expect(lines.contains { $0.contains("newShape(hexagon) threw ShapeListFull(capacity: 3)") }, "\(result.output)")
    #expect(lines.contains { $0.contains("allShapes() -> 3 references (the same actors: true)") }, "\(result.output)")
    #expect(lines.contains("[actor client]   square 20x10 at (1, 0), filled: false"), "\(result.output)")
    #expect(lines.contains("[actor client] getVersion() = 3"), "\(result.output)")
  }
}
