import CourierCore
import CourierGIOP
import CourierNIO
import CourierNaming
import CourierTestSupport
import Foundation
import Testing

/// The in-memory CosNaming service: the operations and their exceptions, stringified names,
/// and omniORB's `nameclt` against it.
@Suite("CosNaming service (in memory)", .serialized)
struct NamingServiceTests {
  typealias NC = CosNaming_NamingContext

  final class Running {
    let orb = ORB(connector: TCPConnector())
    let clientORB = ORB(connector: TCPConnector())
    let server: GIOPServer
    let naming = NamingService()
    init() throws {
      server = GIOPServer(adapter: ObjectAdapter(), listener: try TCPListener(host: "127.0.0.1", port: 0), orb: orb)
      try naming.install(on: server)
      server.start()
    }
    var url: String { "corbaloc:iiop:1.2@127.0.0.1:\(server.port)/NameService" }
    func root() throws -> CosNaming_NamingContextExt.Blocking {
      try CosNaming_NamingContextExt.Blocking.narrow(clientORB.object(url))
    }
    func stop() {
      clientORB.shutdown()
      orb.shutdown()
      server.shutdown(timeout: .seconds(5))
    }
  }

  func name(_ s: String) throws -> CosNaming_Name { try NamingService.parse(s) }

  @Test func bindResolveCompoundNamesAndExceptions() throws {
    let r = try Running()
    defer { r.stop() }
    let root = try r.root()
    let target = r.clientORB.object(try r.server.reference(key: "NameService", typeID: "IDL:x/Y:1.0"))
    _ = try root.bind_new_context(n: try name("a"))
    _ = try root.bind_new_context(n: try name("a/b.kind"))
    try root.bind(n: try name("a/b.kind/obj"), obj: target)
    #expect(try root.resolve(n: try name("a/b.kind/obj"))?.ior == target.ior)
    #expect(try root.resolve_str(sn: "a/b.kind/obj")?.ior == target.ior)
    // Through the sub-context's own reference too.
    guard let sub = try root.resolve(n: try name("a")) else { Issue.record("nil context"); return }
    #expect(try NC.Blocking(sub).resolve(n: try name("b.kind/obj"))?.ior == target.ior)

    do { try root.bind(n: try name("a/b.kind/obj"), obj: target); Issue.record("rebound") } catch is NC.AlreadyBound {}
    do { _ = try root.resolve(n: try name("a/nope/x")); Issue.record("resolved") } catch let e as NC.NotFound {
      #expect(e.why == .missing_node)
      #expect(e.rest_of_name == (try name("nope/x")))
    }
    do { _ = try root.resolve(n: try name("a/b.kind/obj/deeper")); Issue.record("resolved") } catch let e as NC.NotFound {
      #expect(e.why == .not_context)
      #expect(e.rest_of_name == (try name("obj/deeper")))
    }
    do { _ = try root.resolve(n: []); Issue.record("resolved an empty name") } catch is NC.InvalidName {}
    // destroy of a non-empty context, unbind, then destroy.
    guard let bctx = try root.resolve(n: try name("a/b.kind")) else { Issue.record("nil"); return }
    do { try NC.Blocking(bctx).destroy(); Issue.record("destroyed") } catch is NC.NotEmpty {}
    try root.unbind(n: try name("a/b.kind/obj"))
    do { try root.unbind(n: try name("a/b.kind/obj")); Issue.record("unbound twice") } catch is NC.NotFound {}
    try NC.Blocking(bctx).destroy()
    try root.rebind(n: try name("a/x"), obj: target)
    try root.rebind(n: try name("a/x"), obj: nil)
    #expect(try root.resolve(n: try name("a/x")) == nil)
  }

  @Test func cyclesOfContextsAndHugeNames() throws {
    let r = try Running()
    defer { r.stop() }
    let root = try r.root()
    let target = r.clientORB.object(try r.server.reference(key: "NameService", typeID: "IDL:x/Y:1.0"))
    // The root bound inside itself: resolution follows the name, so a cycle cannot loop.
    try root.bind_context(n: try name("loop"), nc: CosNaming_NamingContext.Client(root.reference))
    try root.bind(n: try name("obj"), obj: target)
    #expect(try root.resolve_str(sn: "loop/loop/loop/obj")?.ior == target.ior)
    #expect(try root.list(how_many: 10).bl.count == 2)
    // A 1 MiB component binds and resolves; the service stays responsive.
    let huge = String(repeating: "x", count: 1 << 20)
    try root.bind(n: [.init(id: huge, kind: "")], obj: target)
    #expect(try root.resolve(n: [.init(id: huge, kind: "")])?.ior == target.ior)
    do { _ = try root.resolve(n: [.init(id: huge + "y", kind: "")]); Issue.record("resolved") } catch let e as NC.NotFound {
      #expect(e.rest_of_name.first?.id.count == (1 << 20) + 1)
    }
    #expect(try root.resolve_str(sn: "obj")?.ior == target.ior)
  }

  @Test func listWithIterator() throws {
    let r = try Running()
    defer { r.stop() }
    let root = try r.root()
    for i in 0..<25 { try root.bind(n: [.init(id: "n\(i)", kind: "")], obj: nil) }
    let (first, iterator) = try root.list(how_many: 10)
    #expect(first.count == 10)
    guard let it = iterator?.blocking else { Issue.record("no iterator"); return }
    var rest: [CosNaming_Binding] = []
    while true {
      let (more, batch) = try it.next_n(how_many: 7)
      if !more { break }
      rest += batch
    }
    #expect(Set((first + rest).map { $0.binding_name[0].id }) == Set((0..<25).map { "n\($0)" }))
    #expect(try it.next_one().result == false)
    try it.destroy()
    // A destroyed iterator is gone (its servant deactivated), as in omniNames.
    do { _ = try it.next_one(); Issue.record("a destroyed iterator answered") } catch let e as RPCError {
      #expect(e.code == .objectNotExist)
    }
  }

  @Test func iteratorsClientsNeverDestroyAreBounded() throws {
    let r = try Running()
    defer { r.stop() }
    let root = try r.root()
    for i in 0..<3 { try root.bind(n: [.init(id: "n\(i)", kind: "")], obj: nil) }
    var iterators: [CosNaming_BindingIterator.Blocking] = []
    for _ in 0...NamingService.maxIterators { iterators.append(try #require(try root.list(how_many: 1).bi).blocking) }
    // The oldest was destroyed to make room; the newest works.
    #expect(throws: RPCError.self) { try iterators[0].next_one() }
    #expect(try iterators[NamingService.maxIterators].next_one().result)
  }

  @Test func aDestroyedContextStillBoundIsObjectNotExist() throws {
    let r = try Running()
    defer { r.stop() }
    let root = try r.root()
    let s1 = try #require(try root.bind_new_context(n: try name("s1")))
    try NC.Blocking(s1.reference).destroy()
    for call in [{ _ = try root.resolve(n: try name("s1/x")) }, { try root.unbind(n: try name("s1/x")) },
                 { try root.bind(n: try name("s1/x"), obj: nil) }, { _ = try root.bind_new_context(n: try name("s1/x")) }] {
      do { try call(); Issue.record("a call through a destroyed context succeeded") } catch let e as RPCError {
        #expect(e.code == .objectNotExist)
      }
    }
  }

  /// A context of another service on the same port but another host is not taken for ours.
  @Test func federationAcrossHostsOnTheSamePort() throws {
    let a = try Running()
    defer { a.stop() }
    let orbB = ORB(connector: TCPConnector())
    let serverB = GIOPServer(adapter: ObjectAdapter(), listener: try TCPListener(host: "127.0.0.2", port: a.server.port), orb: orbB)
    try NamingService().install(on: serverB)
    serverB.start()
    defer { orbB.shutdown(); serverB.shutdown(timeout: .seconds(5)) }
    let rootB = CosNaming_NamingContextExt.Blocking(try a.clientORB.object("corbaloc::127.0.0.2:\(a.server.port)/NameService"))
    let target = try a.clientORB.object("corbaloc::127.0.0.1:9/OnlyInB")
    try rootB.bind(n: try name("onlyInB"), obj: target)
    let rootA = try a.root()
    try rootA.bind_context(n: try name("fed"), nc: CosNaming_NamingContext.Client(rootB.reference))
    #expect(try rootA.resolve_str(sn: "fed/onlyInB")?.ior == target.ior)
    do { _ = try rootA.resolve_str(sn: "fed/fed"); Issue.record("fed/fed resolved in A's own root") } catch let e as NC.NotFound {
      #expect(e.rest_of_name == (try name("fed")))
    }
  }

  @Test("stringified names", arguments: [
    ("a", [("a", "")]), ("a.b/c", [("a", "b"), ("c", "")]), (".k", [("", "k")]), ("a\\/b", [("a/b", "")]),
    ("x\\.y.z", [("x.y", "z")]), ("a\\\\b", [("a\\b", "")]),
  ])
  func stringifiedNames(text: String, expected: [(String, String)]) throws {
    let n = try NamingService.parse(text)
    #expect(n == expected.map { CosNaming_NameComponent(id: $0.0, kind: $0.1) })
    #expect(NamingService.stringify(n) == text)
  }

  @Test("malformed stringified names are InvalidName", arguments: ["", "a//b", "a/", "a.b.c", "a\\"])
  func invalidNames(text: String) {
    #expect(throws: NC.InvalidName.self) { _ = try NamingService.parse(text) }
  }

  @Test func toURL() throws {
    let r = try Running()
    defer { r.stop() }
    #expect(try r.root().to_url(addr: ":myhost:2809", sn: "a b/c") == "corbaname::myhost:2809#a%20b/c")
    do { _ = try r.root().to_url(addr: "", sn: "a"); Issue.record("accepted an empty address") } catch is CosNaming_NamingContextExt.InvalidAddress {}
  }

  @Test func initialReferencesAndCorbaname() throws {
    let r = try Running()
    defer { r.stop() }
    var config = ORB.Configuration()
    let rest = config.apply(arguments: ["x", "-ORBInitRef", "NameService=\(r.url)", "y"], environment: ["COURIER_INITREF_Other": "corbaloc::h:1/K"])
    #expect(rest == ["x", "y"])
    #expect(config.initialReferences == ["NameService": r.url, "Other": "corbaloc::h:1/K"])
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let root = CosNaming_NamingContextExt.Blocking(try orb.resolveInitialReferences("NameService"))
    let target = orb.object(try r.server.reference(key: "NameService", typeID: "IDL:x/Y:1.0"))
    _ = try root.bind_new_context(n: try name("dir"))
    try root.bind(n: try name("dir/thing.kind"), obj: target)
    #expect(try orb.object("corbaname::127.0.0.1:\(r.server.port)#dir/thing.kind").ior == target.ior)
    #expect(try orb.object("corbaname::127.0.0.1:\(r.server.port)/NameService#dir/thing%2Ekind").ior == target.ior)
    var defaulted = ORB.Configuration()
    defaulted.defaultInitialReference = "corbaloc::127.0.0.1:\(r.server.port)"
    let orb2 = ORB(configuration: defaulted, connector: TCPConnector())
    defer { orb2.shutdown() }
    #expect(try CosNaming_NamingContextExt.Blocking(orb2.resolveInitialReferences("NameService")).resolve_str(sn: "dir/thing.kind")?.ior == target.ior)
    #expect(throws: RPCError.self) { _ = try ORB(connector: TCPConnector()).resolveInitialReferences("NameService") }
  }

  @Test("omniORB's nameclt against Courier's naming service")
  func nameclt() throws {
    let r = try Running()
    defer { r.stop() }
    func run(_ args: [String]) throws -> String {
      let result = runProgram("/usr/bin/nameclt", ["-ORBInitRef", "NameService=corbaloc::127.0.0.1:\(r.server.port)/NameService"] + args, timeout: 30)
      guard result.status == 0 else { throw NamingTestError("nameclt \(args) exited \(result.status): \(result.output)") }
      return result.output
    }
    let ior = try r.server.reference(key: "NameService", typeID: "IDL:x/Y:1.0").stringified()
    _ = try run(["bind_new_context", "apps"])
    _ = try run(["bind", "apps/echo.service", ior])
    let listed = try run(["list", "apps"])
    #expect(listed.contains("echo.service"), "nameclt list: \(listed)")
    let resolved = try run(["resolve", "apps/echo.service"]).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try IOR(stringified: resolved) == IOR(stringified: ior))
    // What nameclt bound, Courier's client sees.
    #expect(try r.root().resolve_str(sn: "apps/echo.service")?.ior == (try IOR(stringified: ior)))
    _ = try run(["unbind", "apps/echo.service"])
    _ = try run(["remove_context", "apps"])
    #expect(throws: NC.NotFound.self) { _ = try r.root().resolve_str(sn: "apps") }
  }
}

struct NamingTestError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
