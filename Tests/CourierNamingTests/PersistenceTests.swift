import CourierCore
import CourierGIOP
import CourierNIO
import CourierNaming
import Foundation
import Testing

/// The persistent naming service survives `kill -9`: 10,000 names bound in nested contexts
/// through a `courier naming serve` process, SIGKILL, a new process on the same file and port,
/// and every name resolves to its object again.
@Suite("CosNaming service: persistence across kill -9", .serialized)
struct PersistenceTests {
  @Test func tenThousandNamesSurviveKillMinus9() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-naming-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("naming.sqlite").path
    let probe = try TCPListener(host: "127.0.0.1", port: 0)
    let port = probe.port
    probe.close()

    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let url = "corbaloc::127.0.0.1:\(port)/NameService"
    // Objects to bind: references with distinct keys (they need not exist).
    func object(_ i: Int) throws -> ObjectReference { try orb.object("corbaloc::127.0.0.1:9/obj\(i)") }

    var first = try CourierProcess(["naming", "serve", "--port", String(port), "--db", db])
    let root = CosNaming_NamingContextExt.Blocking(try orb.object(url))
    // 10 top-level contexts × 10 sub-contexts × 100 names.
    for a in 0..<10 {
      _ = try root.bind_new_context(n: [.init(id: "a\(a)", kind: "dir")])
      for b in 0..<10 {
        _ = try root.bind_new_context(n: [.init(id: "a\(a)", kind: "dir"), .init(id: "b\(b)", kind: "")])
        for c in 0..<100 {
          let i = a * 1000 + b * 100 + c
          try root.bind(n: try NamingService.parse("a\(a).dir/b\(b)/n\(c)"), obj: try object(i))
        }
      }
    }
    first.signal(SIGKILL)
    orb.shutdown()

    first = try CourierProcess(["naming", "serve", "--port", String(port), "--db", db])
    defer { first.signal(SIGKILL) }
    let orb2 = ORB(connector: TCPConnector())
    defer { orb2.shutdown() }
    let root2 = CosNaming_NamingContextExt.Blocking(try orb2.object(url))
    var wrong = 0
    for i in 0..<10_000 {
      let (a, b, c) = (i / 1000, (i / 100) % 10, i % 100)
      let got = try root2.resolve_str(sn: "a\(a).dir/b\(b)/n\(c)")
      if got?.ior.iiopProfiles.first?.objectKey != Array("obj\(i)".utf8) { wrong += 1 }
    }
    #expect(wrong == 0, "\(wrong) of 10,000 names resolved wrongly after kill -9")
    // The context references handed out before the crash still work (persistent keys).
    let sub = try root2.resolve_str(sn: "a3.dir/b4")
    #expect(try CosNaming_NamingContext.Blocking(#require(sub)).resolve(n: [.init(id: "n5", kind: "")])?.ior.iiopProfiles.first?.objectKey == Array("obj3405".utf8))
  }
}
