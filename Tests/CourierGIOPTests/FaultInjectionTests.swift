import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierWire
import Synchronization
import Testing

/// A server on 127.0.0.1 behind a fault-injecting listener, and a client ORB behind a
/// fault-injecting connector; each side has its own injector.
private final class FaultRig: Sendable {
  let clientFaults: FaultInjector
  let serverFaults: FaultInjector
  let echo = CountingEcho()
  let server: GIOPServer
  let orb: ORB

  init(client: FaultPlan = .none, server serverPlan: FaultPlan = .none) throws {
    clientFaults = FaultInjector(client)
    serverFaults = FaultInjector(serverPlan)
    let adapter = ObjectAdapter()
    adapter.activate(Bench_Echo.Servant(echo), key: "Echo")
    let listener = FaultInjectingListener(try TCPListener(host: "127.0.0.1", port: 0), injector: serverFaults)
    server = GIOPServer(adapter: adapter, listener: listener)
    server.start()
    orb = ORB(connector: FaultInjectingConnector(TCPConnector(), injector: clientFaults))
  }

  /// A client ORB of its own (so its own connection) through the client injector.
  func newORB() -> ORB {
    ORB(connector: FaultInjectingConnector(TCPConnector(), injector: clientFaults))
  }

  func stub(on orb: ORB? = nil) throws -> Bench_Echo.Blocking {
    Bench_Echo.Blocking((orb ?? self.orb).object(try server.reference(key: "Echo", typeID: Bench_Echo.repositoryID)))
  }

  func stop() {
    orb.shutdown()
    server.shutdown(timeout: .seconds(2))
  }
}

/// Bench::Echo that counts how often `add` runs.
private final class CountingEcho: Bench_Echo.Service {
  let pings = EchoImplementation()
  private let adds = Mutex(0)
  private let changed = ConditionLock()

  func add(a: Int64, b: Int64) -> Int64 {
    changed.withLock {
      adds.withLock { $0 += 1 }
      changed.broadcast()
    }
    return a &+ b
  }

  func echoBytes(data: Bench_Bytes) -> Bench_Bytes { data }
  func ping() { pings.ping() }

  var addCount: Int { adds.withLock { $0 } }

  /// Waits until `add` ran at least `count` times or `timeout` passed; returns the count then.
  @discardableResult
  func waitForAdds(atLeast count: Int, timeout: Duration) -> Int {
    let deadline = ContinuousClock.now + timeout
    return changed.withLock {
      while addCount < count, changed.wait(until: deadline) {}
      return addCount
    }
  }
}

/// A GIOP 1.2 message of `type` with `body` bytes, in `order`.
private func giopMessage(_ type: GIOPMessageType, body: [UInt8], order: ByteOrder = .littleEndian) -> [UInt8] {
  let size = UInt32(body.count)
  let sizeBytes: [UInt8] = order == .littleEndian
    ? [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24)]
    : [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
  return Array("GIOP".utf8) + [1, 2, order == .littleEndian ? 1 : 0, type.rawValue] + sizeBytes + body
}

/// An in-memory stream: reads hand out the scripted chunks in order, then the end of the
/// stream; writes are recorded.
private final class FaultTestPipe: ByteStream, @unchecked Sendable {
  // @unchecked: every field is guarded by `lock`.
  private let lock = Mutex<(chunks: [[UInt8]], written: [UInt8], shutDown: Bool)>(([], [], false))

  init(reads chunks: [[UInt8]] = []) { lock.withLock { $0.chunks = chunks } }

  var written: [UInt8] { lock.withLock { $0.written } }
  var isShutDown: Bool { lock.withLock { $0.shutDown } }

  func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    try lock.withLock { s throws(TransportError) in
      if s.shutDown { throw TransportError(.closed, "shut down") }
      s.written.append(contentsOf: bytes)
    }
  }

  func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    lock.withLock { s in
      guard !s.shutDown, !s.chunks.isEmpty else { return 0 }
      let n = min(buffer.count, s.chunks[0].count)
      s.chunks[0].withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
      s.chunks[0].removeFirst(n)
      if s.chunks[0].isEmpty { s.chunks.removeFirst() }
      return n
    }
  }

  func shutdown() { lock.withLock { $0.shutDown = true } }
  var peerDescription: String { "scripted" }
  var hasPendingInput: Bool { lock.withLock { !$0.chunks.isEmpty } }
}

/// Reads everything `stream` delivers until its end, in reads of at most `step` bytes.
private func readAll(_ stream: any ByteStream, step: Int = 7) throws -> [UInt8] {
  var out: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: step)
  while true {
    let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0, deadline: .now + .seconds(2)) }
    if n == 0 { return out }
    out += buffer[..<n]
  }
}

private let short = CallOptions(timeout: .milliseconds(500))
private let patient = CallOptions(timeout: .seconds(5))

@Suite("FaultInjection: fault-injecting transport decorators")
struct FaultInjectionTests {
  // MARK: framing

  @Test func splitterFramesBytesFedOneAtATime() throws {
    let messages = [
      giopMessage(.request, body: Array(0..<40)),
      giopMessage(.closeConnection, body: []),
      giopMessage(.reply, body: Array(repeating: 0xAB, count: 300), order: .bigEndian),
    ]
    var splitter = GIOPFrameSplitter()
    var frames: [GIOPFrameSplitter.Frame] = []
    for (m, message) in messages.enumerated() {
      for (i, byte) in message.enumerated() {
        splitter.append([byte])
        let frame = splitter.next()
        if i < message.count - 1 {
          #expect(frame == nil, "message \(m) came out after \(i + 1) of \(message.count) bytes")
        } else if let frame {
          frames.append(frame)
        }
      }
    }
    #expect(frames.count == 3)
    for (frame, message) in zip(frames, messages) {
      guard case .message(let header, let bytes) = frame else { Issue.record("not a message: \(frame)"); continue }
      #expect(bytes == message)
      #expect(header.messageType.rawValue == message[7])
      #expect(Int(header.messageSize) == message.count - GIOPHeader.size)
    }
    #expect(splitter.bufferedByteCount == 0)
    #expect(!splitter.isUnframed)
  }

  @Test func splitterFramesSeveralMessagesInOneChunk() throws {
    let a = giopMessage(.request, body: [1, 2, 3, 4])
    let b = giopMessage(.cancelRequest, body: [0, 0, 0, 9])
    let c = giopMessage(.reply, body: Array(repeating: 7, count: 100))
    var splitter = GIOPFrameSplitter()
    // Two whole messages and part of a third in one chunk, the rest in another.
    splitter.append(a + b + c.prefix(20))
    let first = splitter.drain()
    let types = first.map { frame -> GIOPMessageType? in
      if case .message(let header, _) = frame { return header.messageType }
      return nil
    }
    #expect(types == [.request, .cancelRequest])
    #expect(splitter.bufferedByteCount == 20)
    splitter.append(Array(c.dropFirst(20)))
    #expect(splitter.drain() == [.message(try parseHeader(c).get(), c)])
  }

  @Test func splitterPassesNonGIOPThrough() {
    var splitter = GIOPFrameSplitter()
    // A wrong first byte is seen at once, without waiting for a whole header.
    splitter.append([0x48])
    #expect(splitter.next() == .unframed([0x48]))
    #expect(splitter.isUnframed)
    // From then on nothing is framed, even valid GIOP.
    let m = giopMessage(.request, body: [1, 2, 3, 4])
    splitter.append(m)
    #expect(splitter.drain() == [.unframed(m)])

    // A message after good ones with an unknown type, or a size over the limit: unframed from there.
    var limited = GIOPFrameSplitter(maxMessageSize: 1000)
    var unknown = giopMessage(.request, body: [])
    unknown[7] = 42
    let good = giopMessage(.reply, body: [5])
    limited.append(good + unknown + good)
    #expect(limited.drain() == [.message(try! parseHeader(good).get(), good), .unframed(unknown + good)])
    var big = GIOPFrameSplitter(maxMessageSize: 1000)
    let huge = giopMessage(.request, body: Array(repeating: 0, count: 1001))
    big.append(huge)
    #expect(big.drain() == [.unframed(huge)])
  }

  @Test func streamDropsWholeMessagesFromSplitWritesAndReads() throws {
    let a = giopMessage(.request, body: Array(repeating: 1, count: 50))
    let b = giopMessage(.reply, body: Array(repeating: 2, count: 70))
    let c = giopMessage(.request, body: Array(repeating: 3, count: 30))
    let injector = FaultInjector(FaultPlan(rules: [
      .init(.drop, on: .outgoing, types: [.reply]),
      .init(.drop, on: .incoming, types: [.request], nth: 2),
    ]))
    // Writes: the three messages cut at odd places; the Reply disappears, the rest is whole.
    let wire = a + b + c
    let out = FaultTestPipe()
    let writing = injector.wrap(out)
    var offset = 0
    for piece in [5, 60, 1, 3, 80, wire.count] where offset < wire.count {
      let end = min(wire.count, offset + piece)
      try writing.write(Array(wire[offset..<end]))
      offset = end
    }
    #expect(out.written == a + c)

    // Reads: chunks that split the messages; the second Request disappears.
    let input = FaultTestPipe(reads: [Array(wire.prefix(3)), Array(wire[3..<100]), Array(wire[100...])])
    let reading = injector.wrap(input)
    #expect(try readAll(reading) == a + b)
    #expect(reading.hasPendingInput, "the end of the stream waits to be read")

    let stats = injector.stats
    #expect(stats.seen(.request, .outgoing) == 2)
    #expect(stats.dropped(.reply, .outgoing) == 1)
    #expect(stats.seen(.request, .incoming) == 2)
    #expect(stats.dropped(.request, .incoming) == 1)
    #expect(stats.dropped() == 2)
    #expect(stats.connections == 2)
    #expect(injector.events.map(\.description) == ["drop outgoing Reply #1 (rule 0)", "drop incoming Request #2 (rule 1)"])
  }

  @Test func streamKeepsPendingInputAndPassesNonGIOP() throws {
    let m = giopMessage(.reply, body: [9, 9, 9, 9])
    let injector = FaultInjector(FaultPlan(rules: [.init(.duplicate, on: .incoming, types: [.reply])]))
    let stream = injector.wrap(FaultTestPipe(reads: [m]))
    #expect(stream.hasPendingInput)  // the inner stream has bytes
    var four = [UInt8](repeating: 0, count: 4)
    #expect(try four.withUnsafeMutableBytes { try stream.read(into: $0, deadline: nil) } == 4)
    // The rest of the message and its duplicate wait re-assembled in the decorator.
    #expect(stream.hasPendingInput)
    #expect(try readAll(stream) == Array(m.dropFirst(4)) + m)

    let raw: [UInt8] = Array("GET / HTTP/1.0\r\n\r\n".utf8)
    let out = FaultTestPipe()
    let plain = FaultInjector(FaultPlan(rules: [.init(.drop, on: .outgoing)])).wrap(out)
    try plain.write(raw)
    try plain.write(m)
    #expect(out.written == raw + m)
    #expect(plain.injector.stats.unframedBytes == raw.count + m.count)
    #expect(plain.injector.stats.seen() == 0)
  }

  @Test func rulesHonourNthLimitAndProbability() {
    let injector = FaultInjector(FaultPlan(rules: [
      .init(.drop, on: .outgoing, types: [.request], nth: 3),
      .init(.duplicate, on: .outgoing, types: [.request], limit: 2),
      .init(.cut, on: .incoming, probability: 0),
    ]))
    let outcomes = (0..<6).map { _ in injector.decide(.outgoing, .request) }
    // Rule 1 sees every Request (even the one rule 0 dropped) but fires only twice.
    #expect(outcomes == [.duplicate, .duplicate, .drop, nil, nil, nil])
    #expect((0..<100).allSatisfy { _ in injector.decide(.incoming, .reply) == nil })
    #expect(injector.decide(.outgoing, .reply) == nil)  // no rule for outgoing Replies
    // A new plan starts its counts again.
    injector.plan = FaultPlan(rules: [.init(.delay(.milliseconds(5)), on: .outgoing, types: [.request], limit: 1)])
    #expect(injector.decide(.outgoing, .request) == .delay(.milliseconds(5)))
    #expect(injector.decide(.outgoing, .request) == nil)
    let stats = injector.stats
    #expect(stats.seen(.request, .outgoing) == 8)
    #expect(stats.duplicated() == 2 && stats.dropped() == 1 && stats.delayed() == 1 && stats.cut() == 0)
    #expect(stats.seen(.reply, .incoming) == 100)
    #expect(injector.events.map(\.ordinal) == [1, 2, 3, 7])
    injector.resetStats()
    #expect(injector.stats == FaultStats() && injector.events.isEmpty)
  }

  // MARK: over TCP, with a real server and ORB

  @Test func emptyPlanPassesEverythingThrough() throws {
    let rig = try FaultRig()
    defer { rig.stop() }
    let echo = try rig.stub()
    for i in 0..<50 { #expect(try echo.add(a: Int64(i), b: 1000) == Int64(i + 1000)) }
    let big = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    for _ in 0..<4 { #expect(try echo.echoBytes(data: big) == big) }
    for _ in 0..<5 { try echo.ping() }
    #expect(try echo.add(a: 20, b: 22) == 42)  // after the pings on the same connection
    #expect(rig.echo.pings.pingCount == 5)
    #expect(rig.echo.addCount == 51)

    let client = rig.clientFaults.stats, server = rig.serverFaults.stats
    #expect(client.seen(.request, .outgoing) == 60)
    #expect(client.seen(.reply, .incoming) == 55)
    #expect(server.seen(.request, .incoming) == 60)
    #expect(server.seen(.reply, .outgoing) == 55)
    #expect(client.dropped() + client.duplicated() + client.delayed() + client.cut() == 0)
    #expect(client.unframedBytes == 0 && server.unframedBytes == 0)
    #expect(client.connections == 1 && server.connections == 1)
  }

  @Test func lostRepliesTimeOutAfterTheServantRan() throws {
    let rig = try FaultRig(client: FaultPlan(rules: [.init(.drop, on: .incoming, types: [.reply])]))
    defer { rig.stop() }
    let echo = try rig.stub()
    expectRPCError(.timeout, completion: .maybe) { _ = try echo.add(a: 1, b: 2, options: short) }
    #expect(rig.echo.waitForAdds(atLeast: 1, timeout: .seconds(2)) == 1, "the server ran the call")
    #expect(rig.clientFaults.stats.dropped(.reply, .incoming) == 1)
    #expect(rig.clientFaults.stats.seen(.cancelRequest, .outgoing) == 1, "the client cancelled at its deadline")
    // Faults off: the same connection works again.
    rig.clientFaults.plan = .none
    #expect(try echo.add(a: 2, b: 40, options: patient) == 42)
    #expect(rig.echo.addCount == 2)
    #expect(rig.clientFaults.stats.connections == 1)
  }

  @Test func lostRequestsTimeOutAndNeverRun() throws {
    let rig = try FaultRig(client: FaultPlan(rules: [.init(.drop, on: .outgoing, types: [.request])]))
    defer { rig.stop() }
    let echo = try rig.stub()
    expectRPCError(.timeout) { _ = try echo.add(a: 1, b: 2, options: short) }
    #expect(rig.clientFaults.stats.dropped(.request, .outgoing) == 1)
    rig.clientFaults.plan = .none
    // The server runs the requests of one connection in order: had the first come, it would
    // have run before this one.
    #expect(try echo.add(a: 2, b: 40, options: patient) == 42)
    #expect(rig.echo.addCount == 1, "the lost request never ran")
    #expect(rig.serverFaults.stats.seen(.request, .incoming) == 1)
  }

  @Test func duplicatedRequestsRunTwice() throws {
    let rig = try FaultRig(server: FaultPlan(rules: [.init(.duplicate, on: .incoming, types: [.request])]))
    defer { rig.stop() }
    let echo = try rig.stub()
    try echo.ping()
    #expect(rig.echo.pings.waitForPings(atLeast: 2, timeout: .seconds(2)) == 2, "a oneway duplicate runs twice")
    #expect(try echo.add(a: 2, b: 40, options: patient) == 42, "the client still gets its answer")
    #expect(rig.echo.waitForAdds(atLeast: 2, timeout: .seconds(2)) == 2)
    #expect(rig.serverFaults.wait(until: { $0.seen(.reply, .outgoing) >= 2 }, timeout: .seconds(2)))
    let server = rig.serverFaults.stats
    #expect(server.duplicated(.request, .incoming) == 2)
    #expect(server.seen(.reply, .outgoing) == 2, "both runs of add answered")
    // The second Reply has no caller: the client drops it and goes on.
    #expect(try echo.add(a: 1, b: 1, options: patient) == 2)
    #expect(rig.echo.waitForAdds(atLeast: 4, timeout: .seconds(2)) == 4)
  }

  @Test func cutAfterTheRequestIsCompletedMaybe() throws {
    let rig = try FaultRig(client: FaultPlan(rules: [.init(.cutAfter, on: .outgoing, types: [.request], limit: 1)]))
    defer { rig.stop() }
    let echo = try rig.stub()
    expectRPCError(.commFailure, completion: .maybe) { _ = try echo.add(a: 1, b: 2, options: patient) }
    #expect(rig.echo.waitForAdds(atLeast: 1, timeout: .seconds(2)) == 1, "the request was delivered and ran")
    #expect(rig.clientFaults.stats.cut(.request, .outgoing) == 1)
    // The next call goes over a new connection.
    #expect(try echo.add(a: 2, b: 40, options: patient) == 42)
    #expect(rig.clientFaults.stats.connections == 2)
  }

  @Test func cutBeforeTheRequestNeverRuns() throws {
    let rig = try FaultRig(client: FaultPlan(rules: [.init(.cut, on: .outgoing, types: [.request], limit: 1)]))
    defer { rig.stop() }
    let echo = try rig.stub()
    do {
      _ = try echo.add(a: 1, b: 2, options: patient)
      Issue.record("the call succeeded over a cut connection")
    } catch let e as RPCError {
      #expect(e.code == .commFailure || e.code == .transient, "got \(e)")
    }
    #expect(try echo.add(a: 2, b: 40, options: patient) == 42)
    #expect(rig.echo.addCount == 1, "the cut request never ran")
    #expect(rig.serverFaults.stats.seen(.request, .incoming) == 1)
    #expect(rig.clientFaults.stats.cut(.request, .outgoing) == 1)
  }

  @Test func serverCutOfAnIncomingRequestFailsTheCall() throws {
    let rig = try FaultRig(server: FaultPlan(rules: [.init(.cut, on: .incoming, types: [.request], limit: 1)]))
    defer { rig.stop() }
    let echo = try rig.stub()
    expectRPCError(.commFailure, completion: .maybe) { _ = try echo.add(a: 1, b: 2, options: patient) }
    #expect(try echo.add(a: 2, b: 40, options: patient) == 42)
    #expect(rig.echo.addCount == 1)
  }

  @Test func delayedMessagesHoldUpOnlyTheirConnection() throws {
    // The first Reply is 400 ms late; a call on another connection meanwhile is not.
    let rig = try FaultRig(client: FaultPlan(rules: [.init(.delay(.milliseconds(400)), on: .incoming, types: [.reply], nth: 1)]))
    defer { rig.stop() }
    let slow = try rig.stub()
    let other = rig.newORB()
    defer { other.shutdown() }
    let fast = try rig.stub(on: other)
    let slowTook = Mutex<Duration?>(nil)
    let errors = runThreads(2) { i in
      if i == 0 {
        let start = ContinuousClock.now
        guard try slow.add(a: 1, b: 1, options: patient) == 2 else { throw GoldenError("slow: wrong sum") }
        slowTook.withLock { $0 = ContinuousClock.now - start }
      } else {
        // Once the delayed Reply has arrived (and waits), call on the other connection.
        guard rig.clientFaults.wait(until: { $0.delayed() == 1 }, timeout: .seconds(2)) else { throw GoldenError("no delayed Reply") }
        let start = ContinuousClock.now
        guard try fast.add(a: 2, b: 2, options: patient) == 4 else { throw GoldenError("fast: wrong sum") }
        let took = ContinuousClock.now - start
        guard took < .milliseconds(300) else { throw GoldenError("the other connection waited \(took)") }
        guard slowTook.withLock({ $0 }) == nil else { throw GoldenError("the delayed call finished first") }
      }
    }
    #expect(errors.isEmpty, "\(errors)")
    #expect(try #require(slowTook.withLock { $0 }) >= .milliseconds(400))
    // A delay past the deadline is a timeout; the late Reply is then dropped by the client.
    rig.clientFaults.plan = FaultPlan(rules: [.init(.delay(.milliseconds(300)), on: .incoming, types: [.reply], limit: 1)])
    expectRPCError(.timeout) { _ = try slow.add(a: 1, b: 2, options: CallOptions(timeout: .milliseconds(100))) }
    #expect(try slow.add(a: 3, b: 4, options: patient) == 7)
  }

  @Test func seededProbabilityIsReproducible() throws {
    /// Sends 40 pings with half of the Requests lost; returns which were lost.
    func lostPings(seed: UInt64, probability: Double) throws -> [Int] {
      let rig = try FaultRig(client: FaultPlan(seed: seed, rules: [.init(.drop, on: .outgoing, types: [.request], probability: probability)]))
      defer { rig.stop() }
      let echo = try rig.stub()
      for _ in 0..<40 { try echo.ping() }
      rig.clientFaults.plan = .none
      #expect(try echo.add(a: 0, b: 0, options: patient) == 0)  // every ping before it has run
      let lost = rig.clientFaults.events.map(\.ordinal)
      #expect(rig.echo.pings.pingCount == 40 - lost.count)
      #expect(rig.clientFaults.stats.dropped() == lost.count)
      return lost
    }
    let first = try lostPings(seed: 2024, probability: 0.5)
    let second = try lostPings(seed: 2024, probability: 0.5)
    #expect(first == second, "same seed, same pattern")
    #expect(first.count > 5 && first.count < 35, "about half: \(first)")
    #expect(try lostPings(seed: 2025, probability: 0.5) != first, "another seed, another pattern")
    #expect(try lostPings(seed: 1, probability: 0).isEmpty)
    #expect(try lostPings(seed: 1, probability: 1) == Array(1...40))
  }
}
