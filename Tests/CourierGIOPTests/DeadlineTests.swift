import CourierCore
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import Synchronization
import Testing

/// Deadlines travel in the INVOCATION_POLICIES service context (RequestEndTimePolicy): down a
/// chain of servers, and a request whose deadline has passed is never started.
@Suite("Deadlines", .serialized)
struct DeadlineTests {
  /// `hop(sleepMillis)`: records the deadline it sees, sleeps, then calls the next hop (if any)
  /// with no timeout of its own, so that only the inherited deadline bounds that call.
  final class Hop: Servant, @unchecked Sendable {
    let repositoryIDs = ["IDL:Test/Hop:1.0"]
    let next: ObjectReference?
    let seen = Mutex<[ContinuousClock.Instant?]>([])
    let executions = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    init(next: ObjectReference?) { self.next = next }

    func dispatch(_ request: inout ServerRequest) throws {
      let sleepMillis: Int32 = try request.read()
      executions.add(1, ordering: .relaxed)
      defer { finished.add(1, ordering: .releasing) }
      seen.withLock { $0.append(IncomingCall.deadline) }
      if sleepMillis > 0 { Thread.sleep(forTimeInterval: Double(sleepMillis) / 1000) }
      if sleepMillis < 0 { try IncomingCall.checkDeadline() }
      if let next {
        var reply = try next.invoke("hop") { w in w.write(Int32(0)) }
        let depth: Int32 = try reply.read()
        try request.write(depth + 1)
      } else {
        try request.write(Int32(1))
      }
    }
  }

  final class Chain {
    let servers: [GIOPServer]
    let hops: [Hop]
    let orbs: [ORB]
    init(length: Int) throws {
      var servers: [GIOPServer] = []
      var hops: [Hop] = []
      var orbs: [ORB] = []
      var next: ObjectReference?
      for _ in 0..<length {
        let orb = ORB(connector: TCPConnector())
        let hop = Hop(next: next)
        let adapter = ObjectAdapter()
        adapter.activate(hop, key: "Hop")
        let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: 0), orb: orb)
        server.start()
        next = orb.object(try server.reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
        servers.insert(server, at: 0)
        hops.insert(hop, at: 0)
        orbs.append(orb)
      }
      self.servers = servers
      self.hops = hops
      self.orbs = orbs
    }
    func stop() {
      for o in orbs { o.shutdown() }
      for s in servers { s.shutdown(timeout: .seconds(5)) }
    }
  }

  static func call(_ ref: ObjectReference, sleep: Int32, options: CallOptions) throws -> Int32 {
    var reply = try ref.invoke("hop", options: options) { w in w.write(sleep) }
    return try reply.read()
  }

  @Test func aDeadlineTravelsDownAChainOfThreeServers() throws {
    let chain = try Chain(length: 3)
    defer { chain.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let first = orb.object(try chain.servers[0].reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
    let sent = ContinuousClock.now + .seconds(30)
    #expect(try Self.call(first, sleep: 0, options: CallOptions(timeout: .seconds(30))) == 3)
    let seen = chain.hops.map { $0.seen.withLock { $0.first ?? nil } }
    for (i, deadline) in seen.enumerated() {
      let d = try #require(deadline, "server \(i + 1) saw no deadline")
      // The same deadline everywhere (UtcT has 100 ns resolution; the clocks are this machine's).
      #expect(abs((d - sent).components.seconds) < 2, "server \(i + 1): \(d - sent) from the caller's deadline")
    }
    // Without a timeout, no deadline travels.
    #expect(try Self.call(first, sleep: 0, options: CallOptions()) == 3)
    #expect(chain.hops[2].seen.withLock { $0.last! } == nil)
  }

  @Test func anExpiredRequestIsNeverStarted() throws {
    let chain = try Chain(length: 1)
    defer { chain.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let hop = orb.object(try chain.servers[0].reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
    // A deadline already past when the server reads the request (sent by hand, no timeout).
    let stale = CallOptions(serviceContexts: [RequestDeadline.serviceContext(.now - .seconds(1))])
    do { _ = try Self.call(hop, sleep: 0, options: stale); Issue.record("an expired request ran") } catch let e as RPCError {
      #expect(e.code == .timeout)
      #expect(e.completion == .no)
    }
    #expect(chain.hops[0].executions.load(ordering: .relaxed) == 0)
  }

  @Test func anInheritedDeadlinePassedMidChainStopsTheNextCall() throws {
    let chain = try Chain(length: 2)
    defer { chain.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let first = orb.object(try chain.servers[0].reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
    // The first server works past the deadline; its call to the second is not sent.
    do { _ = try Self.call(first, sleep: 300, options: CallOptions(timeout: .milliseconds(100))); Issue.record("no timeout") } catch let e as RPCError {
      #expect(e.code == .timeout)
    }
    let executedFirst = chain.hops[0].executions.load(ordering: .relaxed)
    #expect(executedFirst == 1)
    // Wait (bounded) until the first server has finished (its call to the second failed).
    let start = ContinuousClock.now
    while chain.hops[0].finished.load(ordering: .acquiring) < 1, ContinuousClock.now - start < .seconds(10) {
      Thread.sleep(forTimeInterval: 0.01)
    }
    #expect(chain.hops[0].finished.load(ordering: .acquiring) == 1)
    #expect(chain.hops[1].executions.load(ordering: .relaxed) == 0)
  }

  @Test func aServantSeesItsDeadlinePass() throws {
    let chain = try Chain(length: 1)
    defer { chain.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let hop = orb.object(try chain.servers[0].reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
    // checkDeadline() inside the servant throws once the deadline is behind it; with time left it passes.
    #expect(try Self.call(hop, sleep: -1, options: CallOptions(timeout: .seconds(30))) == 1)
    let past = CallOptions(serviceContexts: [RequestDeadline.serviceContext(.now + .milliseconds(1))])
    Thread.sleep(forTimeInterval: 0.005)
    #expect(throws: RPCError.self) { try Self.call(hop, sleep: -1, options: past) }
  }

  @Test func malformedInvocationPoliciesAreMarshalErrors() throws {
    #expect(throws: RPCError.self) { try RequestDeadline.decode(ServiceContext(id: 7, data: [])) }
    #expect(throws: RPCError.self) { try RequestDeadline.decode(ServiceContext(id: 7, data: [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])) }
    // A policy list without an end time carries no deadline.
    #expect(try RequestDeadline.decode(ServiceContext(id: 7, data: [0, 0, 0, 0, 0, 0, 0, 0])) == nil)
  }
}
