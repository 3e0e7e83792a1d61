import CourierCore
import CourierGIOP
import CourierNIO
import CourierNaming
import CourierTestSupport
import Foundation
import Testing

/// omniORB's C++ CosNaming client (`Interop/omniorb/naming_client.cc`) against Courier's
/// in-memory naming service: compound names it builds itself (`courier-cc.test/inner/leaf.obj`),
/// bind, resolve, resolve_str, NotFound with rest_of_name, AlreadyBound, NotEmpty, list, unbind
/// and destroy; then Courier's own client checks what the C++ client left behind: nothing.
@Suite("CompoundNameCxx: omniORB C++ client, compound names, Courier's naming service", .serialized)
struct CompoundNameCxxTests {
  typealias NC = CosNaming_NamingContext

  static let interopDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Interop/omniorb")

  /// Builds naming_client (only it: no omniidl needed) once into a build folder of its own.
  static let build: Result<URL, NamingTestError> = {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("courier-naming-cc-build")
    let program = dir.appendingPathComponent("naming_client")
    let out = runProgram("/usr/bin/make", ["-s", "-C", interopDir.path, "BUILD=\(dir.path)", program.path], timeout: 300)
    guard out.status == 0 else { return .failure(NamingTestError("make naming_client exited \(out.status):\n\(out.output)")) }
    return .success(program)
  }()

  /// The root reference as the C++ client is given it: a plain corbaloc URL means IIOP 1.0, so
  /// omniORB talks GIOP 1.0 to the root; `1.2@` gives GIOP 1.2.
  @Test("naming_client binds, resolves and removes a compound name", arguments: ["", "1.2@"])
  func cxxClientCompoundName(version: String) throws {
    let program: URL
    switch Self.build {
    case .success(let p): program = p
    case .failure(let e): Issue.record("\(e)"); return
    }
    let r = try NamingServiceTests.Running()
    defer { r.stop() }
    let url = "corbaloc::\(version)127.0.0.1:\(r.server.port)/NameService"
    let result = runProgram(program.path, ["-ORBInitRef", "NameService=\(url)"], timeout: 60)
    let lines = result.output.split(separator: "\n").map(String.init)
    let checks = lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("FAIL ") }
    #expect(result.status == 0, "naming_client (\(url)) exited \(result.status):\n\(result.output)")
    for line in checks where line.hasPrefix("FAIL ") { Issue.record("naming_client (\(url)): \(line)") }
    // Every check ran: a crash half-way would leave fewer lines (and no FAIL).
    let expected = ["narrow-root", "bind_new_context-courier-cc.test", "bind_new_context-courier-cc.test/inner",
                    "bind-leaf", "to_name", "to_string", "resolve-leaf", "resolve_str-leaf", "resolve-leaf-via-inner",
                    "resolved-leaf-is-a-context", "resolve-missing", "resolve-missing-middle", "resolve-through-object",
                    "bind-leaf-again", "list-inner", "list-top", "destroy-non-empty", "unbind-leaf",
                    "resolve-unbound-leaf", "destroy-inner", "destroyed-inner-gone", "unbind-inner", "destroy-top", "unbind-top", "top-gone"]
    #expect(checks == expected.map { "ok " + $0 }, "naming_client output:\n\(result.output)")

    // What the C++ client left: no courier-cc.test, an empty root, and its two contexts destroyed.
    let root = try r.root()
    do {
      _ = try root.resolve_str(sn: "courier-cc.test")
      Issue.record("courier-cc.test still resolves")
    } catch let e as NC.NotFound {
      #expect(e.why == .missing_node)
      #expect(e.rest_of_name == [CosNaming_NameComponent(id: "courier-cc", kind: "test")])
    }
    #expect(try root.list(how_many: 100).bl.isEmpty)
    let contexts = lines.compactMap { line -> (String, String)? in
      let prefix = "naming_client: context "
      guard line.hasPrefix(prefix) else { return nil }
      let parts = line.dropFirst(prefix.count).split(separator: " ")
      return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
    }
    #expect(contexts.map(\.0) == ["courier-cc.test", "courier-cc.test/inner"], "naming_client output:\n\(result.output)")
    for (name, ior) in contexts {
      let ref = r.clientORB.object(try IOR(stringified: ior))
      #expect(try ref.nonExistent(), "\(name) was destroyed but its reference still answers")
    }
    // And the service still works for Courier's client.
    _ = try root.bind_new_context(n: try NamingService.parse("courier-cc.test"))
    try root.bind(n: try NamingService.parse("courier-cc.test/leaf.obj"), obj: root.reference)
    #expect(try root.resolve_str(sn: "courier-cc.test/leaf.obj")?.ior == root.reference.ior)
  }
}
