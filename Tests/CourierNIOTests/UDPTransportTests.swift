import CourierCore
import CourierGIOP
import CourierNIO
import CourierWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// GIOP over UDP end to end (a real GIOPServer on a UDPListener, an ORB on a UDPConnector),
/// under seeded datagram loss, duplication and reordering; and the listener's bounds.
@Suite("UDP transport", .serialized)
struct UDPTransportTests {
  /// `increment() -> long long` (not idempotent), `add(a, b)`, `echo(octets)`; counts executions.
  final class Counter: Servant, @unchecked Sendable {
    // @unchecked: `value` and `executions` are guarded by `changed`.
    let repositoryIDs = ["IDL:Test/Counter:1.0"]
    private let changed = ConditionLock()
    private var value: Int64 = 0
    private var runs = 0

    func dispatch(_ request: inout ServerRequest) throws {
      switch request.operation {
      case "increment":
        try request.write(ran { value += 1; return value })
      case "add":
        let a: Int64 = try request.read(), b: Int64 = try request.read()
        try request.write(ran { a &+ b })
      case "echo":
        let data: [UInt8] = try request.read()
        try request.write(ran { data })
      default:
        throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no, request.operation)
      }
    }

    private func ran<T>(_ body: () -> T) -> T {
      changed.withLock {
        runs += 1
        changed.broadcast()
        return body()
      }
    }

    var executions: Int { changed.withLock { runs } }

    /// Waits until at least `n` executions happened (or `timeout` passed); returns the count.
    func waitForExecutions(_ n: Int, timeout: Duration = .seconds(10)) -> Int {
      let deadline = ContinuousClock.now + timeout
      return changed.withLock {
        while runs < n, changed.wait(until: deadline) {}
        return runs
      }
    }
  }

  /// A server on a UDP listener and a client ORB on a UDP connector, each with its faults.
  final class Rig {
    let counter = Counter()
    let listener: UDPListener
    let server: GIOPServer
    let connector: UDPConnector
    let orb: ORB

    init(client: DatagramFaultPlan = .none, server serverFaults: DatagramFaultPlan = .none,
         clientConfiguration: UDPConfiguration = UDPConfiguration(), serverConfiguration: UDPConfiguration = UDPConfiguration()) throws {
      let adapter = ObjectAdapter()
      adapter.activate(counter, key: "Counter")
      listener = try UDPListener(configuration: serverConfiguration, faults: serverFaults)
      server = GIOPServer(adapter: adapter, listener: listener)
      server.start()
      connector = UDPConnector(configuration: clientConfiguration, faults: client)
      orb = ORB(connector: connector)
    }

    func reference(_ options: CallOptions) throws -> ObjectReference {
      try orb.object("corbaloc::127.0.0.1:\(listener.port)/Counter").with(options: options)
    }

    func stop() {
      orb.shutdown()
      server.shutdown(timeout: .seconds(5))
    }
  }

  /// Faster resends than the default, to keep lossy runs short.
  static var quickResend: UDPConfiguration {
    var c = UDPConfiguration()
    c.retransmitInterval = .milliseconds(20)
    return c
  }

  /// 20 % of the client's Requests and 20 % of the server's Replies lost.
  static let lossy = (client: DatagramFaultPlan(seed: 11, rules: [.init(.outbound, types: [.request], drop: 0.2)]),
                      server: DatagramFaultPlan(seed: 12, rules: [.init(.outbound, types: [.reply], drop: 0.2)]))

  static func increment(_ ref: ObjectReference) throws -> Int64 {
    var reply = try ref.invoke("increment")
    return try reply.read()
  }

  static func echo(_ ref: ObjectReference, _ data: [UInt8]) throws -> [UInt8] {
    var reply = try ref.invoke("echo") { w in w.writeOctetSequence(data) }
    return try reply.read()
  }

  // MARK: - calls

  @Test func addAndEchoWork() throws {
    let rig = try Rig()
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(10)))
    var reply = try ref.invoke("add") { w in w.write(Int64(2)); w.write(Int64(40)) }
    #expect(try reply.read(Int64.self) == 42)
    let data = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
    #expect(try Self.echo(ref, data) == data)
    #expect(try Self.increment(ref) == 1)
    #expect(rig.counter.executions == 3)
    #expect(rig.connector.statistics.messagesReceived == 3)
    #expect(rig.listener.statistics.peersAccepted == 1)
    #expect(rig.listener.statistics.malformed == 0)
  }

  @Test func aMegabyteEchoIsFragmentedAndReassembled() throws {
    let rig = try Rig()
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(30), semantics: .maybe))
    var random = SplitMix64(seed: 5)
    let data = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    #expect(try Self.echo(ref, data) == data)
    // More than a megabyte each way in 8 KiB datagrams (the server counts its last one
    // after sending it: wait for the count).
    #expect(rig.connector.statistics.sent >= (1 << 20) / 8_192)
    #expect(rig.listener.faults.wait(until: { $0.sent >= (1 << 20) / 8_192 }, timeout: .seconds(5)))
    #expect(rig.connector.statistics.messagesReceived == 1)
  }

  @Test func theLargestDatagramsCarryMessagesWhole() throws {
    var config = UDPConfiguration()
    config.maxDatagramPayload = DatagramFraming.maxUDPPayload
    let rig = try Rig(clientConfiguration: config, serverConfiguration: config)
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(10), semantics: .maybe))
    // Fits in one 65,507-byte datagram (with the request header), then needs fragments.
    for size in [65_000, 200_000] {
      let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
      #expect(try Self.echo(ref, data) == data)
    }
    #expect(rig.connector.statistics.sent == 1 + 4)
  }

  @Test func aStreamSilentPastReconnectAfterIdleIsReplacedBeforeTheNextCall() throws {
    var config = UDPConfiguration()
    config.reconnectAfterIdle = .zero
    let rig = try Rig(clientConfiguration: config)
    defer { rig.stop() }
    var orbConfig = ORB.Configuration()
    orbConfig.idleProbeAfter = .zero
    let orb = ORB(configuration: orbConfig, connector: rig.connector)
    defer { orb.shutdown() }
    let ref = try orb.object("corbaloc::127.0.0.1:\(rig.listener.port)/Counter")
      .with(options: CallOptions(timeout: .seconds(10), semantics: .maybe))
    // Each call finds the stream stale, so it goes on a new socket: a new peer to the server.
    for i in 1...3 { #expect(try Self.increment(ref) == Int64(i)) }
    #expect(rig.listener.statistics.peersAccepted == 3)
  }

  @Test func theStreamSuggestsItsRetransmitInterval() throws {
    let listener = try UDPListener()
    defer { listener.close() }
    let stream = try UDPConnector().connect(host: "127.0.0.1", port: listener.port, deadline: nil)
    defer { stream.shutdown() }
    #expect(stream.retransmitHint == .milliseconds(50))
    var config = UDPConfiguration()
    config.retransmitInterval = nil
    let quiet = try UDPConnector(configuration: config).connect(host: "127.0.0.1", port: listener.port, deadline: nil)
    defer { quiet.shutdown() }
    #expect(quiet.retransmitHint == nil)
  }

  // MARK: - semantics under loss

  @Test func atMostOnceUnderLossRunsEveryCallExactlyOnce() throws {
    let rig = try Rig(client: Self.lossy.client, server: Self.lossy.server, clientConfiguration: Self.quickResend)
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(20), semantics: .atMostOnce))
    let calls = 200
    for i in 1...calls {
      // Each call is acknowledged with its own, single execution's result.
      #expect(try Self.increment(ref) == Int64(i))
    }
    #expect(rig.counter.executions == calls)
    #expect(rig.connector.statistics.dropped > 0, "requests were lost")
    #expect(rig.listener.statistics.dropped > 0, "replies were lost")
    #expect((rig.server.configuration.replyHistory as! ReplyHistory).statistics.replays > 0, "lost replies were answered from the history")
  }

  @Test func atLeastOnceUnderLossCompletesEveryCall() throws {
    let rig = try Rig(client: Self.lossy.client, server: Self.lossy.server, clientConfiguration: Self.quickResend)
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(20), semantics: .atLeastOnce))
    let calls = 200
    var last: Int64 = 0
    for _ in 1...calls {
      let now = try Self.increment(ref)
      #expect(now > last)
      last = now
    }
    #expect(rig.counter.executions >= calls)
    #expect(rig.listener.statistics.dropped > 0)
  }

  @Test func maybeUnderLossFailsSomeCallsWithTimeoutAndNeverResends() throws {
    let rig = try Rig(client: Self.lossy.client, server: Self.lossy.server)
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .milliseconds(100), semantics: .maybe))
    let calls = 50
    var succeeded = 0, timedOut = 0
    for _ in 1...calls {
      do {
        _ = try Self.increment(ref)
        succeeded += 1
      } catch let e as RPCError {
        #expect(e.code == .timeout)
        #expect(e.completion != .yes)
        timedOut += 1
      }
    }
    #expect(succeeded + timedOut == calls)
    #expect(timedOut > 0)
    // One send per call: exactly the requests that were not lost run, each once.
    let requestsLost = rig.connector.statistics.dropped
    #expect(requestsLost > 0)
    #expect(rig.counter.waitForExecutions(calls - requestsLost) == calls - requestsLost)
    let expected = calls - requestsLost + timedOut
    #expect(rig.listener.faults.wait(until: { $0.messagesReceived == expected }, timeout: .seconds(5)),
            "the requests that were not lost, and a CancelRequest per timeout: \(rig.listener.statistics.messagesReceived) of \(expected)")
  }

  @Test func duplicatedAndReorderedDatagramsStillRunAtMostOnceCallsOnce() throws {
    let client = DatagramFaultPlan(seed: 21, rules: [.init(.outbound, duplicate: 0.2, reorder: 0.2)])
    let server = DatagramFaultPlan(seed: 22, rules: [.init(.outbound, duplicate: 0.2, reorder: 0.2)])
    let rig = try Rig(client: client, server: server, clientConfiguration: Self.quickResend)
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(20), semantics: .atMostOnce))
    let calls = 200
    for i in 1...calls { #expect(try Self.increment(ref) == Int64(i)) }
    #expect(rig.counter.executions == calls)
    #expect(rig.connector.statistics.duplicated > 0)
    #expect(rig.connector.statistics.reordered > 0)
    #expect(rig.listener.statistics.duplicated > 0)
  }

  @Test func inboundFaultsOnFragmentsAreRepairedByReassemblyAndRetransmission() throws {
    // Both sides receive a lossy, duplicating, reordering stream of datagrams; every message
    // (20 KB each way) travels as three fragments, so fragments arrive twice and out of order.
    let faults = DatagramFaultPlan(seed: 41, rules: [.init(.inbound, drop: 0.1, duplicate: 0.1, reorder: 0.1)])
    let rig = try Rig(client: faults, server: faults, clientConfiguration: Self.quickResend)
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(20), semantics: .atMostOnce))
    let calls = 100
    for i in 1...calls {
      let data = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 20_000)
      #expect(try Self.echo(ref, data) == data)
    }
    #expect(rig.counter.executions == calls)
    for stats in [rig.connector.statistics, rig.listener.statistics] {
      #expect(stats.dropped > 0 && stats.duplicated > 0 && stats.reordered > 0, "\(stats)")
      #expect(stats.malformed == 0)
    }
  }

  @Test func duplicatedRequestsMayRunAgainWithoutDuplicateFiltering() throws {
    let rig = try Rig(client: DatagramFaultPlan(seed: 31, rules: [.init(.outbound, types: [.request], duplicate: 0.2)]))
    defer { rig.stop() }
    let calls = 100
    for semantics in [InvocationSemantics.atLeastOnce, .maybe] {
      let ref = try rig.reference(CallOptions(timeout: .seconds(20), semantics: semantics))
      for _ in 1...calls { _ = try Self.increment(ref) }
    }
    let duplicates = rig.connector.statistics.duplicated
    #expect(duplicates > 0)
    // Every duplicate reaches the server and runs: nothing filters it.
    #expect(rig.counter.waitForExecutions(2 * calls + duplicates) >= 2 * calls + duplicates)
  }

  @Test func duplicateAndLateRepliesAreIgnoredByTheClient() throws {
    // Every Reply arrives twice: the second copy finds no caller waiting and is dropped.
    let rig = try Rig(server: DatagramFaultPlan(seed: 1, rules: [.init(.outbound, types: [.reply], duplicate: 1)]))
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(10), semantics: .maybe))
    for i in 1...20 { #expect(try Self.increment(ref) == Int64(i)) }
    #expect(rig.listener.statistics.duplicated == 20)
    #expect(rig.connector.faults.wait(until: { $0.messagesReceived == 40 }, timeout: .seconds(5)))
    #expect(rig.counter.executions == 20)
  }

  @Test func aHeldBackDatagramGoesAfterAShortDelayWhenNothingFollows() throws {
    let rig = try Rig(client: DatagramFaultPlan(seed: 1, rules: [.init(.outbound, types: [.request], reorder: 1)]))
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(10), semantics: .maybe))
    #expect(try Self.increment(ref) == 1)
    #expect(rig.connector.statistics.reordered == 1)
  }

  @Test func garbageDatagramsDoNotBreakACallersCalls() throws {
    let rig = try Rig()
    defer { rig.stop() }
    let ref = try rig.reference(CallOptions(timeout: .seconds(10), semantics: .atMostOnce))
    let raw = try RawUDPSocket()
    var random = SplitMix64(seed: 77)
    var badSize = DatagramFramingTests.message(40)
    badSize[11] = 0xFF
    let garbage: [[UInt8]] = [
      [], [0x47], Array("GIOP".utf8), badSize,
      DatagramFramingTests.fragment(id: 1, offset: 500, total: 100, [1, 2, 3]),
      DatagramFramingTests.fragment(id: 2, offset: 0, total: 0xFFFF_FFF0, [1, 2, 3]),
      (0..<300).map { _ in UInt8(truncatingIfNeeded: random.next()) },
    ]
    for i in 1...50 {
      raw.send(garbage[i % garbage.count], to: rig.listener.port)
      #expect(try Self.increment(ref) == Int64(i))
    }
    // A plausible GIOP Request with a body that is not a request header: that peer's stream
    // is refused (MessageError to it), the caller's calls go on.
    raw.send(DatagramFramingTests.message(64), to: rig.listener.port)
    #expect(rig.listener.faults.wait(until: { $0.received >= 50 + 50 + 1 }, timeout: .seconds(5)))
    for i in 51...60 { #expect(try Self.increment(ref) == Int64(i)) }
    #expect(rig.listener.statistics.malformed >= 50)
    #expect(rig.counter.executions == 60)
  }

  // MARK: - the listener's peers

  @Test func anIdlePeerGetsTheEndOfItsStream() throws {
    var config = UDPConfiguration()
    config.peerIdleTimeout = .milliseconds(200)
    let listener = try UDPListener(configuration: config)
    defer { listener.close() }
    let client = try UDPConnector().connect(host: "127.0.0.1", port: listener.port, deadline: nil)
    defer { client.shutdown() }
    let message = DatagramFramingTests.message(100)
    try client.write(message)
    #expect(listener.faults.wait(until: { $0.peersAccepted == 1 }, timeout: .seconds(5)))
    let stream = try listener.accept()
    #expect(try Self.readMessage(stream, count: 100) == message)
    // Silence: the stream ends (0, as a TCP peer closing), long before this deadline.
    var byte: UInt8 = 0
    let n = try withUnsafeMutableBytes(of: &byte) { try stream.read(into: $0, deadline: .now + .seconds(20)) }
    #expect(n == 0)
    #expect(listener.statistics.peersExpired == 1)
    #expect(listener.peerCount == 0)
    // The same peer speaking again gets a new stream.
    try client.write(message)
    #expect(listener.faults.wait(until: { $0.peersAccepted == 2 }, timeout: .seconds(5)))
    #expect(try Self.readMessage(try listener.accept(), count: 100) == message)
  }

  @Test func beyondMaxPeersTheLeastRecentlyActiveIdlePeerGoes() throws {
    var config = UDPConfiguration()
    config.maxPeers = 2
    let listener = try UDPListener(configuration: config)
    defer { listener.close() }
    let peers = try (0..<3).map { _ in try RawUDPSocket() }
    let message = DatagramFramingTests.message(50)
    var streams: [any ByteStream] = []
    for (i, peer) in peers.enumerated() {
      peer.send(message, to: listener.port)
      #expect(listener.faults.wait(until: { $0.peersAccepted == i + 1 }, timeout: .seconds(5)))
      let stream = try listener.accept()
      #expect(try Self.readMessage(stream, count: 50) == message)
      streams.append(stream)
    }
    #expect(listener.statistics.peersEvicted == 1)
    #expect(listener.peerCount == 2)
    var byte: UInt8 = 0
    #expect(try withUnsafeMutableBytes(of: &byte) { try streams[0].read(into: $0, deadline: .now + .seconds(5)) } == 0,
            "the first peer, least recently active, was dropped")
    #expect(!streams[1].hasPendingInput)
  }

  @Test func aPeersQueueIsBounded() throws {
    var config = UDPConfiguration()
    config.queueLimit = 4
    let listener = try UDPListener(configuration: config)
    defer { listener.close() }
    let peer = try RawUDPSocket()
    for i in 0..<10 { peer.send(DatagramFramingTests.message(20 + i), to: listener.port) }
    #expect(listener.faults.wait(until: { $0.queueOverflows == 6 }, timeout: .seconds(5)))
    #expect(listener.statistics.messagesReceived == 4)
    let stream = try listener.accept()
    for i in 0..<4 { #expect(try Self.readMessage(stream, count: 20 + i) == DatagramFramingTests.message(20 + i)) }
    #expect(!stream.hasPendingInput)
  }

  @Test func closingTheListenerEndsAcceptAndTheStreams() throws {
    let listener = try UDPListener()
    let client = try UDPConnector().connect(host: "127.0.0.1", port: listener.port, deadline: nil)
    defer { client.shutdown() }
    try client.write(DatagramFramingTests.message(30))
    #expect(listener.faults.wait(until: { $0.peersAccepted == 1 }, timeout: .seconds(5)))
    let stream = try listener.accept()
    _ = try Self.readMessage(stream, count: 30)
    let outcome = Mutex<TransportError.Code?>(nil)
    let done = ConditionLock()
    spawnThread(name: "udp-accept-test") {
      var code: TransportError.Code = .failed
      do { _ = try listener.accept() } catch let error as TransportError { code = error.code } catch {}
      done.withLock { outcome.withLock { $0 = code }; done.broadcast() }
    }
    listener.close()
    let deadline = ContinuousClock.now + .seconds(5)
    let code = done.withLock { () -> TransportError.Code? in
      while outcome.withLock({ $0 }) == nil, done.wait(until: deadline) {}
      return outcome.withLock { $0 }
    }
    #expect(code == .closed)
    var byte: UInt8 = 0
    #expect(try withUnsafeMutableBytes(of: &byte) { try stream.read(into: $0, deadline: .now + .seconds(5)) } == 0)
  }

  @Test func theClientReadsWholeMessagesAndTimesOutWithoutOne() throws {
    let listener = try UDPListener()
    defer { listener.close() }
    let client = try UDPConnector().connect(host: "127.0.0.1", port: listener.port, deadline: nil)
    defer { client.shutdown() }
    try client.write(DatagramFramingTests.message(30))
    #expect(listener.faults.wait(until: { $0.peersAccepted == 1 }, timeout: .seconds(5)))
    let stream = try listener.accept()
    _ = try Self.readMessage(stream, count: 30)
    // The server's reply, written in two parts, goes out as one datagram once whole.
    let reply = DatagramFramingTests.message(40, type: 1)
    try stream.write(Array(reply[0..<10]))
    try stream.write(Array(reply[10...]))
    #expect(try Self.readMessage(client, count: 40) == reply)
    #expect(listener.faults.wait(until: { $0.sent == 1 }, timeout: .seconds(5)))
    #expect(listener.statistics.sent == 1)
    var byte: UInt8 = 0
    #expect(throws: TransportError.self) {
      _ = try withUnsafeMutableBytes(of: &byte) { try client.read(into: $0, deadline: .now + .milliseconds(20)) }
    }
  }

  /// Reads exactly `count` bytes (waiting at most a few seconds).
  static func readMessage(_ stream: any ByteStream, count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var have = 0
    let deadline = ContinuousClock.now + .seconds(5)
    while have < count {
      let n = try bytes.withUnsafeMutableBytes { try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[have...]), deadline: deadline) }
      if n == 0 { break }
      have += n
    }
    return Array(bytes[0..<have])
  }
}

/// A plain unconnected UDP socket on 127.0.0.1, for sending what a well-behaved client would not.
final class RawUDPSocket {
  let fd: Int32

  init() throws {
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw TransportError(.failed, "socket") }
  }

  deinit { close(fd) }

  func send(_ bytes: [UInt8], to port: UInt16) {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = bytes.withUnsafeBytes { raw in
      withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
  }
}
