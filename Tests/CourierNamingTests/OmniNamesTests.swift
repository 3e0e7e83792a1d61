import CourierCore
import CourierGIOP
import CourierNIO
import CourierNaming
import Foundation
import Testing

/// Courier's client (the generated CosNaming stubs) against omniORB's own naming service,
/// omniNames: bind_new_context, bind, resolve, list with an iterator, unbind, destroy.
@Suite("Courier client -> omniNames", .serialized)
struct OmniNamesTests {
  @Test func courierClientAgainstOmniNames() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-omninames-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let probe = try TCPListener(host: "127.0.0.1", port: 0)
    let port = probe.port
    probe.close()
    let omniNames = Process()
    omniNames.executableURL = URL(fileURLWithPath: "/usr/bin/omniNames")
    omniNames.arguments = ["-start", String(port), "-logdir", dir.path, "-ORBendPoint", "giop:tcp:127.0.0.1:\(port)"]
    let log = Pipe()
    omniNames.standardOutput = log
    omniNames.standardError = log
    try omniNames.run()
    defer {
      // omniNames does not exit on SIGTERM: SIGKILL the one this test started.
      kill(omniNames.processIdentifier, SIGKILL)
      omniNames.waitUntilExit()
    }
    var config = ORB.Configuration()
    _ = config.apply(arguments: ["-ORBInitRef", "NameService=corbaloc::127.0.0.1:\(port)/NameService"])
    config.defaultCallOptions = CallOptions(timeout: .seconds(10))
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    // omniNames logs "Read data file … successfully." once it has its data; it listens from then on.
    var seen = ""
    let started = ContinuousClock.now
    while !seen.contains("successfully") {
      let chunk = log.fileHandleForReading.availableData
      if chunk.isEmpty || ContinuousClock.now - started > .seconds(20) { throw NamingTestError("omniNames did not start: \(seen)") }
      seen += String(decoding: chunk, as: UTF8.self)
    }
    let root = try CosNaming_NamingContextExt.Blocking.narrow(orb.resolveInitialReferences("NameService"))

    let target = try orb.object("corbaloc::127.0.0.1:9/SomeObject")
    guard let ctx = try root.bind_new_context(n: try NamingService.parse("courier.test")) else { Issue.record("nil context"); return }
    for i in 0..<30 { try root.bind(n: try NamingService.parse("courier.test/obj\(i)"), obj: target) }
    #expect(try root.resolve_str(sn: "courier.test/obj7")?.ior == target.ior)
    #expect(try root.to_string(n: try NamingService.parse("a\\/b.c/d")) == "a\\/b.c/d")
    do { _ = try root.resolve_str(sn: "courier.test/missing/x"); Issue.record("resolved") } catch let e as CosNaming_NamingContext.NotFound {
      #expect(e.why == .missing_node)
      #expect(e.rest_of_name == (try NamingService.parse("missing/x")))
    }
    let (first, iterator) = try CosNaming_NamingContext.Blocking(ctx.reference).list(how_many: 10)
    var names = first.map { $0.binding_name[0].id }
    if let it = iterator?.blocking {
      while case (true, let more) = try it.next_n(how_many: 8) { names += more.map { $0.binding_name[0].id } }
      try it.destroy()
    }
    #expect(Set(names) == Set((0..<30).map { "obj\($0)" }))
    do { try ctx.blocking_destroy(); Issue.record("destroyed a non-empty context") } catch is CosNaming_NamingContext.NotEmpty {}
    for i in 0..<30 { try root.unbind(n: try NamingService.parse("courier.test/obj\(i)")) }
    try ctx.blocking_destroy()
    try root.unbind(n: try NamingService.parse("courier.test"))
    #expect(throws: CosNaming_NamingContext.NotFound.self) { _ = try root.resolve_str(sn: "courier.test") }
  }
}

extension CosNaming_NamingContext.Client {
  func blocking_destroy() throws { try blocking.destroy() }
}
