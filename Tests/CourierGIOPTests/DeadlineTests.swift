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
  /// `hop(mode)`: records the deadline it sees, then (mode 1) waits for the test to open its
  /// gate, (mode -1) checks its deadline, (mode -2) works until its deadline and then checks
  /// it; then calls the next hop (if any) with no timeout of its own, so that only the
  /// inherited deadline bounds that call.
  final class Hop: Servant, @unchecked Sendable {
    let repositoryIDs = ["IDL:Test/Hop:1.0"]
    let next: ObjectReference?
    let seen = Mutex<[ContinuousClock.Instant?]>([])
    let executions = Atomic<Int>(0)
    /// Times checkDeadline() threw in mode -2.
    let sawDeadlinePass = Atomic<Int>(0)
    let events = ConditionLock()
    nonisolated(unsafe) var gateOpen = false  // guarded by `events`
    nonisolated(unsafe) var finished = 0  // guarded by `events`
    init(next: ObjectReference?) { self.next = next }

    func dispatch(_ request: inout ServerRequest) throws {
      let mode: Int32 = try request.read()
      executions.add(1, ordering: .relaxed)
      defer { events.withLock { finished += 1; events.broadcast() } }
      seen.withLock { $0.append(IncomingCall.deadline) }
      switch mode {
      case 1:
        let limit = ContinuousClock.now + .seconds(10)
        events.withLock { while !gateOpen, events.wait(until: limit) {} }
      case -1:
        try IncomingCall.checkDeadline()
      case -2:
        let end = IncomingCall.deadline ?? .now
        events.withLock { while events.wait(until: end) {} }  // "work" until the deadline
        do { try IncomingCall.checkDeadline() } catch {
          sawDeadlinePass.add(1, ordering: .relaxed)
          throw error
        }
      default:
        break
      }
      if let next {
        var reply = try next.invoke("hop") { w in w.write(Int32(0)) }
        let depth: Int32 = try reply.read()
        try request.write(depth + 1)
      } else {
        try request.write(Int32(1))
      }
    }

    func openGate() { events.withLock { gateOpen = true; events.broadcast() } }

    /// Waits (at most 10 s) until `count` calls have finished; returns how many have.
    func waitFinished(_ count: Int) -> Int {
      let limit = ContinuousClock.now + .seconds(10)
      return events.withLock {
        while finished < count, events.wait(until: limit) {}
        return finished
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

  static func call(_ ref: ObjectReference, mode: Int32, options: CallOptions) throws -> Int32 {
    var reply = try ref.invoke("hop", options: options) { w in w.write(mode) }
    return try reply.read()
  }

  @Test func aDeadlineTravelsDownAChainOfThreeServers() throws {
    let chain = try Chain(length: 3)
    defer { chain.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let first = orb.object(try chain.servers[0].reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
    let sent = ContinuousClock.now + .seconds(30)
    #expect(try Self.call(first, mode: 0, options: CallOptions(timeout: .seconds(30))) == 3)
    let seen = chain.hops.map { $0.seen.withLock { $0.first ?? nil } }
    for (i, deadline) in seen.enumerated() {
      let d = try #require(deadline, "server \(i + 1) saw no deadline")
      // The same deadline everywhere (UtcT has 100 ns resolution; the clocks are this machine's).
      #expect(abs((d - sent).components.seconds) < 2, "server \(i + 1): \(d - sent) from the caller's deadline")
    }
    // Without a timeout, no deadline travels.
    #expect(try Self.call(first, mode: 0, options: CallOptions()) == 3)
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
    do { _ = try Self.call(hop, mode: 0, options: stale); Issue.record("an expired request ran") } catch let e as RPCError {
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
    // The first server is held past the deadline; its call to the second is then not sent.
    do { _ = try Self.call(first, mode: 1, options: CallOptions(timeout: .milliseconds(100))); Issue.record("no timeout") } catch let e as RPCError {
      #expect(e.code == .timeout)
    }
    chain.hops[0].openGate()
    #expect(chain.hops[0].waitFinished(1) == 1)
    #expect(chain.hops[0].executions.load(ordering: .relaxed) == 1)
    #expect(chain.hops[1].executions.load(ordering: .relaxed) == 0)
  }

  @Test func aServantSeesItsDeadlinePass() throws {
    let chain = try Chain(length: 1)
    defer { chain.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let hop = orb.object(try chain.servers[0].reference(key: "Hop", typeID: "IDL:Test/Hop:1.0"))
    // checkDeadline() inside the servant passes with time left, and throws once the
    // servant has worked past the deadline.
    #expect(try Self.call(hop, mode: -1, options: CallOptions(timeout: .seconds(30))) == 1)
    do { _ = try Self.call(hop, mode: -2, options: CallOptions(timeout: .milliseconds(50))); Issue.record("no timeout") } catch let e as RPCError {
      #expect(e.code == .timeout)
    }
    #expect(chain.hops[0].waitFinished(2) == 2)
    #expect(chain.hops[0].sawDeadlinePass.load(ordering: .relaxed) == 1)
  }

  @Test func malformedInvocationPoliciesAreMarshalErrors() throws {
    #expect(throws: RPCError.self) { try RequestDeadline.decode(ServiceContext(id: 7, data: [])) }
    #expect(throws: RPCError.self) { try RequestDeadline.decode(ServiceContext(id: 7, data: [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])) }
    // A policy list without an end time carries no deadline.
    #expect(try RequestDeadline.decode(ServiceContext(id: 7, data: [0, 0, 0, 0, 0, 0, 0, 0])) == nil)
  }
}
