import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
@testable import CourierNaming
import Foundation
import Synchronization
import Testing

/// The binder: versions, policies, access lists, persistence, and the client's BoundReference,
/// with Demo::Greeter servers in this process (each on its own port).
@Suite("Binder", .serialized)
struct BinderTests {
  typealias Version = CourierBinding_Version

  /// A binder on its own server, and a client ORB.
  final class Running {
    let orb = ORB(connector: TCPConnector())
    let client: ORB
    let server: GIOPServer
    let binder: BinderService
    init(configuration: BinderService.Configuration = .init(pollPeriod: .milliseconds(100), failureThreshold: 2),
         databasePath: String? = nil, credential: String? = nil) throws {
      var config = ORB.Configuration()
      config.defaultCallOptions = CallOptions(timeout: .seconds(10),
                                              serviceContexts: credential.map { [Credential.serviceContext($0)] } ?? [])
      client = ORB(configuration: config, connector: TCPConnector())
      server = GIOPServer(adapter: ObjectAdapter(), listener: try TCPListener(host: "127.0.0.1", port: 0), orb: orb)
      binder = try databasePath.map { try BinderService(configuration: configuration, databasePath: $0) } ?? BinderService(configuration: configuration)
      try binder.install(on: server)
      server.start()
    }
    var url: String { "corbaloc::127.0.0.1:\(server.port)/Binder" }
    /// The binder as a client presenting `credential` (none by default) sees it.
    func stub(credential: String? = nil) throws -> CourierBinding_Binder.Blocking {
      let ref = try client.object(url)
      guard let credential else { return CourierBinding_Binder.Blocking(ref) }
      return CourierBinding_Binder.Blocking(ref.with(options: CallOptions(timeout: .seconds(10), serviceContexts: [Credential.serviceContext(credential)])))
    }
    func stop() {
      binder.stop()
      client.shutdown()
      orb.shutdown()
      server.shutdown(timeout: .seconds(5))
    }
  }

  /// A Greeter server on its own port (a given one, to restart it where it was).
  final class Greeter {
    let server: GIOPServer
    let orb = ORB(connector: TCPConnector())
    let name: String
    init(_ name: String, port: UInt16 = 0) throws {
      self.name = name
      let adapter = ObjectAdapter()
      adapter.activate(Demo_Greeter.Servant(GreeterImplementation(serverName: name)), key: "Greeter")
      server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port), orb: orb)
      server.start()
    }
    func reference(in orb: ORB) throws -> ObjectReference {
      orb.object(try server.reference(key: "Greeter", typeID: Demo_Greeter.repositoryID))
    }
    func stop() {
      server.shutdown(timeout: .seconds(5))
      orb.shutdown()
    }
  }

  static let v1 = Version(major: 1, minor: 0)

  @Test func registerLookupVersionsAndErrors() throws {
    let r = try Running()
    defer { r.stop() }
    let binder = try r.stub()
    let g = try Greeter("g")
    defer { g.stop() }
    let ref = try g.reference(in: r.client)

    let id10 = try binder.register(name: "Greeter", version: Version(major: 1, minor: 0), server: ref, allowed: [])
    let id13 = try binder.register(name: "Greeter", version: Version(major: 1, minor: 3), server: ref, allowed: [])
    let id20 = try binder.register(name: "Greeter", version: Version(major: 2, minor: 0), server: ref, allowed: [])
    #expect(Set([id10, id13, id20]).count == 3)
    // Registering the same server, name and version again gives the same id.
    #expect(try binder.register(name: "Greeter", version: Version(major: 1, minor: 3), server: ref, allowed: []) == id13)

    #expect(try binder.lookup(name: "Greeter", versions: .compatible(with: Version(major: 1, minor: 1))).id == id13)
    #expect(try binder.lookup(name: "Greeter", versions: .exactly(Version(major: 2, minor: 0))).id == id20)
    #expect(try binder.lookup(name: "Greeter", versions: #require(.init("1.0-1.2"))).id == id10)
    do {
      _ = try binder.lookup(name: "Greeter", versions: .compatible(with: Version(major: 3, minor: 0)))
      Issue.record("no 3.x server, yet a lookup succeeded")
    } catch let e as CourierBinding_VersionMismatch {
      #expect(e.name == "Greeter")
      #expect(e.available == [Version(major: 1, minor: 0), Version(major: 1, minor: 3), Version(major: 2, minor: 0)])
    }
    do { _ = try binder.lookup(name: "Nobody", versions: .any); Issue.record("found Nobody") } catch let e as CourierBinding_NoServer {
      #expect(e.name == "Nobody")
    }
    // The stub the binder returns works.
    let found = try binder.lookup(name: "Greeter", versions: .exactly(Version(major: 2, minor: 0)))
    #expect(try Demo_Greeter.Blocking(#require(found.server)).greet(who: "x") == "hello, x, from g")

    // One name, one interface: another repository id under the same name is refused.
    let other = try r.client.object(try r.server.reference(key: "Binder", typeID: CourierBinding_Binder.repositoryID).stringified())
    #expect(throws: CourierBinding_InvalidRegistration.self) {
      try binder.register(name: "Greeter", version: Self.v1, server: other, allowed: [])
    }
    #expect(throws: CourierBinding_InvalidRegistration.self) { try binder.register(name: "", version: Self.v1, server: ref, allowed: []) }
    #expect(throws: CourierBinding_InvalidRegistration.self) { try binder.register(name: "X", version: Self.v1, server: nil, allowed: []) }
    #expect(throws: CourierBinding_InvalidRegistration.self) { try binder.register(name: "X", version: Self.v1, server: ref, allowed: ["a\nb"]) }

    try binder.deregister(id: id20)
    do { try binder.deregister(id: id20); Issue.record("deregistered twice") } catch let e as CourierBinding_UnknownRegistration {
      #expect(e.id == id20)
    }
    #expect(throws: CourierBinding_VersionMismatch.self) { try binder.lookup(name: "Greeter", versions: .exactly(Version(major: 2, minor: 0))) }
    #expect(try binder.registrations(name: "Greeter").map(\.id) == [id10, id13])
  }

  @Test func versionRangeText() throws {
    #expect(CourierBinding_VersionRange("1.2") == .exactly(Version(major: 1, minor: 2)))
    #expect(CourierBinding_VersionRange("1.2+") == .compatible(with: Version(major: 1, minor: 2)))
    #expect(CourierBinding_VersionRange("1-2.5") == CourierBinding_VersionRange(lowest: Version(major: 1, minor: 0), highest: Version(major: 2, minor: 5)))
    #expect(CourierBinding_VersionRange("*") == .any)
    for bad in ["", "x", "1.2.3", "2.0-1.0", "1.-2", "70000"] { #expect(CourierBinding_VersionRange(bad) == nil, "\(bad)") }
  }

  /// Three servers under one name; one stops: lookups leave it out within the configured
  /// period and return it again once it is back on its port; round-robin spreads evenly.
  @Test func threeServersOneDiesAndComesBack() throws {
    let period = Duration.milliseconds(100)
    let threshold = 2
    let r = try Running(configuration: .init(pollPeriod: period, failureThreshold: threshold))
    defer { r.stop() }
    let binder = try r.stub()
    var servers = try ["A", "B", "C"].map { try Greeter($0) }
    defer { for s in servers { s.stop() } }
    var ids: [UInt64] = []
    for s in servers { ids.append(try binder.register(name: "Greeter", version: Self.v1, server: try s.reference(in: r.client), allowed: [])) }

    // Round-robin: 3,000 lookups, each server within ±5% of 1,000.
    var counts: [UInt64: Int] = [:]
    for _ in 0..<3000 { counts[try binder.lookup(name: "Greeter", versions: .any).id, default: 0] += 1 }
    for id in ids { #expect((950...1050).contains(counts[id] ?? 0), "registration \(id): \(counts[id] ?? 0) of 3000") }

    // B's server goes away (its port closes, as when its process dies).
    let port = servers[1].server.port
    servers[1].stop()
    let stopped = ContinuousClock.now
    let gone = r.binder.waitUntil(timeout: .seconds(20)) { $0[ids[1]]?.alive == false }
    #expect(gone, "the binder still returns the stopped server")
    // Bound: `threshold` polls of `period` each, plus one period of phase and each poll's timeout.
    let noticed = ContinuousClock.now - stopped
    #expect(noticed < period * (threshold + 1) + .seconds(2) * threshold, "noticed after \(noticed)")
    for _ in 0..<300 { #expect(try binder.lookup(name: "Greeter", versions: .any).id != ids[1]) }
    // The registration is kept, marked failing.
    #expect(try binder.registrations(name: "Greeter").first { $0.id == ids[1] }.map { ($0.alive, $0.failures >= UInt32(threshold)) }! == (false, true))

    // B comes back on the same port: the next successful poll puts it back.
    servers[1] = try Greeter("B again", port: port)
    let back = r.binder.waitUntil(timeout: .seconds(20)) { $0[ids[1]]?.alive == true }
    #expect(back, "the restarted server was not returned again")
    counts = [:]
    for _ in 0..<300 { counts[try binder.lookup(name: "Greeter", versions: .any).id, default: 0] += 1 }
    #expect(counts.values.sorted() == [100, 100, 100])
  }

  @Test func leastRecentlyUsedAndRandomPolicies() throws {
    let r = try Running()
    defer { r.stop() }
    let binder = try r.stub()
    let servers = try ["A", "B", "C"].map { try Greeter($0) }
    defer { for s in servers { s.stop() } }
    var ids: [UInt64] = []
    for s in servers { ids.append(try binder.register(name: "G", version: Self.v1, server: try s.reference(in: r.client), allowed: [])) }

    try binder.set_policy(name: "G", policy: .LEAST_RECENTLY_USED)
    // Make A the most recently used, then the others come first, oldest first.
    let first = try (0..<3).map { _ in try binder.lookup(name: "G", versions: .any).id }
    #expect(Set(first) == Set(ids))
    let next = try (0..<3).map { _ in try binder.lookup(name: "G", versions: .any).id }
    #expect(next == first, "LRU repeats the order in which servers were last used")

    try binder.set_policy(name: "G", policy: .RANDOM)
    var seen: [UInt64: Int] = [:]
    for _ in 0..<600 { seen[try binder.lookup(name: "G", versions: .any).id, default: 0] += 1 }
    #expect(Set(seen.keys) == Set(ids))
    // Uniform: each near 200; 600 draws put one below 100 with probability far under 1e-9.
    for id in ids { #expect(seen[id, default: 0] > 100) }
  }

  @Test func accessListsRefuseClientsNotOnTheList() throws {
    let r = try Running()
    defer { r.stop() }
    let g1 = try Greeter("restricted")
    let g2 = try Greeter("open")
    defer { g1.stop(); g2.stop() }
    let anonymous = try r.stub()
    let restricted = try anonymous.register(name: "Payroll", version: Self.v1, server: try g1.reference(in: r.client), allowed: ["alice", "carol"])

    do { _ = try anonymous.lookup(name: "Payroll", versions: .any); Issue.record("anonymous lookup succeeded") } catch let e as CourierBinding_AccessDenied {
      #expect(e.name == "Payroll")
      #expect(e.credential == "")
    }
    do { _ = try r.stub(credential: "bob").lookup(name: "Payroll", versions: .any); Issue.record("bob's lookup succeeded") } catch let e as CourierBinding_AccessDenied {
      #expect(e.credential == "bob")
    }
    #expect(try r.stub(credential: "alice").lookup(name: "Payroll", versions: .any).id == restricted)
    #expect(try r.stub(credential: "carol").lookup(name: "Payroll", versions: .any).id == restricted)

    // With an open server beside it, others get only the open one.
    let open = try anonymous.register(name: "Payroll", version: Self.v1, server: try g2.reference(in: r.client), allowed: [])
    for _ in 0..<10 { #expect(try r.stub(credential: "bob").lookup(name: "Payroll", versions: .any).id == open) }
    let aliceSees = Set(try (0..<10).map { _ in try r.stub(credential: "alice").lookup(name: "Payroll", versions: .any).id })
    #expect(aliceSees == [restricted, open])

    // An ORB-wide credential (CallOptions) works the same as a per-reference one.
    let alice = try Running.clientStub(url: r.url, credential: "alice")
    #expect(try alice.lookup(name: "Payroll", versions: .exactly(Self.v1)).server != nil)
  }

  @Test func credentialContextIsMalformedSafe() throws {
    let good = Credential.serviceContext("zoë")
    #expect(try Credential.decode(good) == "zoë")
    #expect(throws: RPCError.self) { try Credential.decode(ServiceContext(id: Credential.serviceContextID, data: [])) }
    #expect(throws: RPCError.self) { try Credential.decode(ServiceContext(id: Credential.serviceContextID, data: [0, 0, 0, 0, 0xFF, 0xFF])) }
    // Outside a request there is no credential; inside one that carries it, there is.
    #expect(try Credential.current() == nil)
    #expect(try IncomingCall.with(serviceContexts: [good]) { try Credential.current() } == "zoë")
  }

  @Test func registrationsSurviveARestart() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-binder-\(getpid())-\(UInt32.random(in: 0 ... .max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("binder.sqlite").path
    let g = try Greeter("persistent")
    defer { g.stop() }
    let first = try Running(databasePath: db)
    let binder = try first.stub()
    let id = try binder.register(name: "Greeter", version: Version(major: 1, minor: 4), server: try g.reference(in: first.client), allowed: ["alice"])
    let gone = try binder.register(name: "Greeter", version: Version(major: 1, minor: 5), server: try g.reference(in: first.client), allowed: [])
    try binder.deregister(id: gone)
    try binder.set_policy(name: "Greeter", policy: .LEAST_RECENTLY_USED)
    first.stop()

    let second = try Running(databasePath: db)
    defer { second.stop() }
    let again = try second.stub()
    let regs = try again.registrations(name: "")
    #expect(regs.map(\.id) == [id])
    #expect(regs.first?.allowed == ["alice"])
    #expect(regs.first?.version == Version(major: 1, minor: 4))
    #expect(throws: CourierBinding_AccessDenied.self) { try again.lookup(name: "Greeter", versions: .any) }
    let found = try second.stub(credential: "alice").lookup(name: "Greeter", versions: .any)
    #expect(try Demo_Greeter.Blocking(#require(found.server)).serverName == "persistent")
    // New ids continue after the old ones.
    #expect(try again.register(name: "Other", version: Self.v1, server: try g.reference(in: second.client), allowed: []) > gone)
  }

  /// The client's side: implicit binding on the first call, rebinding when the server dies,
  /// and no repeat of a call whose completion is unknown unless it is idempotent.
  @Test func boundReferenceRebindsWhenItsServerDies() throws {
    let r = try Running(configuration: .init(pollPeriod: .seconds(60), failureThreshold: 3))  // no polls: only reports
    defer { r.stop() }
    let binder = try r.stub()
    let a = try Greeter("A")
    let b = try Greeter("B")
    defer { a.stop(); b.stop() }
    let idA = try binder.register(name: "Greeter", version: Self.v1, server: try a.reference(in: r.client), allowed: [])
    _ = try binder.register(name: "Greeter", version: Self.v1, server: try b.reference(in: r.client), allowed: [])

    let greeter = BoundReference(binder: binder, name: "Greeter", versions: .compatible(with: Self.v1), make: Demo_Greeter.Blocking.init)
    #expect(greeter.binding == nil, "binding is implicit: nothing before the first call")
    #expect(try greeter.call { try $0.greet(who: "1") } == "hello, 1, from A")
    #expect(greeter.binding?.id == idA)
    #expect(try greeter.call { try $0.greet(who: "2") } == "hello, 2, from A", "a bound reference stays with its server")

    a.stop()
    #expect(try greeter.call { try $0.greet(who: "3") } == "hello, 3, from B")
    // The report made the binder take A out at once, without waiting for polls.
    #expect(try binder.registrations(name: "Greeter").first { $0.id == idA }?.alive == false)
    for _ in 0..<10 { #expect(try binder.lookup(name: "Greeter", versions: .any).id != idA) }

    // Explicit binding, and the binder's errors reach the caller.
    let none = BoundReference(binder: binder, name: "Nothing", make: Demo_Greeter.Blocking.init)
    #expect(throws: CourierBinding_NoServer.self) { try none.bind() }
  }

  @Test func onlyCallsThatDidNotRunAreRepeated() {
    func e(_ code: RPCError.Code, _ completion: CompletionStatus) -> RPCError { RPCError(code, minor: 0, completion: completion, "test") }
    typealias B = BoundReference<Int>
    #expect(B.mayRepeat(e(.transient, .no), idempotent: false))
    #expect(!B.mayRepeat(e(.commFailure, .maybe), idempotent: false))
    #expect(B.mayRepeat(e(.commFailure, .maybe), idempotent: true))
    #expect(!B.mayRepeat(e(.timeout, .maybe), idempotent: false))
    #expect(B.mayRepeat(e(.timeout, .maybe), idempotent: true))
    #expect(!B.mayRepeat(e(.badParam, .no), idempotent: true))
    #expect(!B.mayRepeat(e(.marshal, .yes), idempotent: true))
  }
}

extension BinderTests.Running {
  /// A binder stub on an ORB whose every call presents `credential`.
  static func clientStub(url: String, credential: String) throws -> CourierBinding_Binder.Blocking {
    var config = ORB.Configuration()
    config.defaultCallOptions = CallOptions(timeout: .seconds(10), serviceContexts: [Credential.serviceContext(credential)])
    return CourierBinding_Binder.Blocking(try ORB(configuration: config, connector: TCPConnector()).object(url))
  }
}
