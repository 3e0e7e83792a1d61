import CourierCore
import CourierNIO
import CourierONC
import CourierWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A hand-written program for the runtime tests: 0x2000_0101 version 3.
/// 1 ADD(hyper, hyper) -> hyper; 2 ECHO(opaque<>) -> opaque<>; 3 FAIL(int) throws what it is told;
/// 4 WHO() -> AUTH_SYS uid (or -1); 5 COUNT(int delay_ms) -> calls so far (sleeps first).
struct TestProgram: ONCProgramDispatcher {
  static let number: UInt32 = 0x2000_0101
  let program = TestProgram.number
  let version: UInt32
  var procedures: [UInt32] { [1, 2, 3, 4, 5] }
  let counter = Counter()

  final class Counter: Sendable {
    let value = Atomic<Int32>(0)
    private let changed = ConditionLock()

    func increment() -> Int32 {
      changed.withLock {
        defer { changed.broadcast() }
        return value.add(1, ordering: .relaxed).newValue
      }
    }

    /// Waits until the count reaches `n` (or `timeout` passes); the count then.
    func wait(atLeast n: Int32, timeout: Duration = .seconds(5)) -> Int32 {
      let deadline = ContinuousClock.now + timeout
      return changed.withLock {
        while value.load(ordering: .relaxed) < n { if !changed.wait(until: deadline) { break } }
        return value.load(ordering: .relaxed)
      }
    }
  }

  init(version: UInt32 = 3) { self.version = version }

  func dispatch(arguments: inout XDRReader, results: inout XDRWriter, context: ONCCallContext) throws {
    switch context.procedure {
    case 1:
      let a = try decodeArguments(Int64.self, from: &arguments)
      let b = try decodeArguments(Int64.self, from: &arguments)
      results.write(a &+ b)
    case 2:
      let bytes: [UInt8]
      do { bytes = try arguments.readOpaque(maximum: 1 << 20) } catch { throw ONCReplyError.garbageArguments }
      try results.writeOpaque(bytes)
    case 3:
      switch try decodeArguments(Int32.self, from: &arguments) {
      case 0: throw ONCReplyError.systemError
      case 1: throw ONCReplyError.garbageArguments
      case 2: throw ONCReplyError.authError(.tooWeak)
      default: throw CancellationError()  // any other error: SYSTEM_ERR
      }
    case 4:
      results.write(context.authSys.map { Int32(bitPattern: $0.uid) } ?? -1)
    case 5:
      let delay = try decodeArguments(Int32.self, from: &arguments)
      if delay > 0 { usleep(UInt32(delay) * 1000) }
      results.write(counter.increment())
    default:
      throw ONCReplyError.procedureUnavailable
    }
  }
}

func startTestServer(versions: [UInt32] = [3], configure: (inout ONCServerConfiguration) -> Void = { _ in }) throws -> (ONCServer, [TestProgram]) {
  var configuration = ONCServerConfiguration()
  configure(&configuration)
  let server = ONCServer(configuration: configuration)
  let programs = versions.map { TestProgram(version: $0) }
  for p in programs { server.register(p) }
  try server.start()
  return (server, programs)
}

func add(_ client: ONCClient, _ a: Int64, _ b: Int64, version: UInt32 = 3) throws -> Int64 {
  try client.call(program: TestProgram.number, version: version, procedure: 1,
                  encodeArguments: { $0.write(a); $0.write(b) }, decodeResults: { try $0.read(Int64.self) })
}

@Suite("ONC RPC runtime: client and server over TCP and UDP")
struct ONCRuntimeTests {
  @Test("calls succeed over both transports, on the same port", arguments: [ONCTransportProtocol.tcp, .udp])
  func calls(transport: ONCTransportProtocol) throws {
    let (server, _) = try startTestServer()
    defer { server.shutdown() }
    #expect(server.tcpPort == server.udpPort)
    let client = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: transport)
    for i in 0..<100 { #expect(try add(client, Int64(i), 1_000_000_000_000) == Int64(i) + 1_000_000_000_000) }
    let payload = (0..<3000).map { UInt8($0 % 251) }
    let echoed: [UInt8] = try client.call(program: TestProgram.number, version: 3, procedure: 2,
                                          encodeArguments: { try $0.writeOpaque(payload) }, decodeResults: { try $0.readOpaque() })
    #expect(echoed == payload)
    // The null procedure is answered by the server itself.
    let void: XDRVoid = try client.call(program: TestProgram.number, version: 3, procedure: 0, arguments: XDRVoid())
    #expect(void == XDRVoid())
  }

  @Test("every non-success status reaches the client with its details", arguments: [ONCTransportProtocol.tcp, .udp])
  func statuses(transport: ONCTransportProtocol) throws {
    let (server, _) = try startTestServer(versions: [3, 5])
    defer { server.shutdown() }
    let client = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: transport)
    func status(program: UInt32 = TestProgram.number, version: UInt32 = 3, procedure: UInt32, _ encode: @escaping (inout XDRWriter) throws -> Void = { _ in }) -> ONCReplyError? {
      do {
        _ = try client.call(program: program, version: version, procedure: procedure, encodeArguments: encode, decodeResults: { _ in () })
        return nil
      } catch let error as RPCError {
        return error.oncReplyError
      } catch {
        return nil
      }
    }
    #expect(status(program: 0x2000_0102, procedure: 1) == .programUnavailable)
    #expect(status(version: 4, procedure: 1) == .programMismatch(low: 3, high: 5))
    #expect(status(procedure: 99) == .procedureUnavailable)
    #expect(status(procedure: 1, { $0.write(Int32(1)) }) == .garbageArguments)  // 4 bytes where 16 are needed
    #expect(status(procedure: 3, { $0.write(Int32(0)) }) == .systemError)
    #expect(status(procedure: 3, { $0.write(Int32(1)) }) == .garbageArguments)
    #expect(status(procedure: 3, { $0.write(Int32(2)) }) == .authError(.tooWeak))
    #expect(status(procedure: 3, { $0.write(Int32(3)) }) == .systemError)
    // The error model: PROG_MISMATCH is NO_IMPLEMENT, completed no, with the range as its cause.
    do {
      _ = try add(client, 1, 2, version: 9)
      Issue.record("version 9 answered")
    } catch let error as RPCError {
      #expect(error.code == .noImplement)
      #expect(error.minor == CourierMinor.oncProgramMismatch)
      #expect(error.completion == .no)
      #expect(error.oncReplyError == .programMismatch(low: 3, high: 5))
    }
    // The connection survives every error status.
    #expect(try add(client, 2, 2) == 4)
  }

  @Test("AUTH_SYS credentials reach the servant; unknown flavors get AUTH_ERROR", arguments: [ONCTransportProtocol.tcp, .udp])
  func credentials(transport: ONCTransportProtocol) throws {
    let (server, _) = try startTestServer()
    defer { server.shutdown() }
    var options = ONCClientOptions()
    options.credential = try AuthSysParameters(machineName: "courier-test", uid: 4242, gid: 7, gids: [7, 8]).credential()
    let sys = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: transport, options: options)
    #expect(try sys.call(program: TestProgram.number, version: 3, procedure: 4, arguments: XDRVoid(), returning: Int32.self) == 4242)
    let anonymous = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: transport)
    #expect(try anonymous.call(program: TestProgram.number, version: 3, procedure: 4, arguments: XDRVoid(), returning: Int32.self) == -1)

    var bad = ONCClientOptions()
    bad.credential = OpaqueAuth(flavor: AuthFlavor(rawValue: 99), body: [1, 2, 3, 4])
    let unknown = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: transport, options: bad)
    #expect(throws: RPCError.self) { try add(unknown, 1, 1) }
    do { _ = try add(unknown, 1, 1) } catch let e as RPCError { #expect(e.oncReplyError == .authError(.rejectedCredential)) }

    bad.credential = OpaqueAuth(flavor: .sys, body: [0, 0, 0, 1])  // an AUTH_SYS body cut short
    let malformed = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: transport, options: bad)
    do {
      _ = try add(malformed, 1, 1)
      Issue.record("a malformed AUTH_SYS credential was accepted")
    } catch let e as RPCError {
      #expect(e.oncReplyError == .authError(.badCredential))
      #expect(e.code == .noPermission)
    }
  }

  @Test("a call to a port with no server fails as TRANSIENT, not completed", arguments: [ONCTransportProtocol.tcp, .udp])
  func noServer(transport: ONCTransportProtocol) throws {
    let (server, _) = try startTestServer()
    let port = server.tcpPort!
    server.shutdown()  // returns once the UDP socket is closed
    var options = ONCClientOptions()
    options.timeout = .seconds(2)
    options.retransmitInitial = .milliseconds(100)
    let client = ONCClient(host: "127.0.0.1", port: port, transport: transport, options: options)
    do {
      _ = try add(client, 1, 1)
      Issue.record("a call to a closed port succeeded")
    } catch let e as RPCError {
      #expect(e.code == .transient)
      #expect(e.completion == .no)
    }
  }
}

/// Raw-socket helpers: bytes on the wire, not through ONCClient.
enum Wire {
  static func call(xid: UInt32, program: UInt32 = TestProgram.number, version: UInt32 = 3, procedure: UInt32,
                   rpcVersion: UInt32 = 2, credential: OpaqueAuth = .none, _ arguments: (inout XDRWriter) throws -> Void = { _ in }) throws -> [UInt8] {
    var w = XDRWriter()
    try RPCMessageHeader(xid: xid, body: .call(CallHeader(program: program, version: version, procedure: procedure,
                                                           credential: credential, rpcVersion: rpcVersion))).write(to: &w)
    try arguments(&w)
    return w.finishedBytes()
  }

  static func connectTCP(_ port: UInt16) throws -> any ByteStream {
    try TCPConnector().connect(host: "127.0.0.1", port: port, deadline: nil)
  }

  /// Reads one whole record (any fragmentation), or nil at end of stream.
  static func readRecord(_ stream: any ByteStream, timeout: Duration = .seconds(5)) throws -> [UInt8]? {
    var reassembler = RecordReassembler(maximumRecord: 1 << 24)
    var buffer = [UInt8](repeating: 0, count: 65536)
    let deadline = ContinuousClock.now + timeout
    while true {
      let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0, deadline: deadline) }
      if n == 0 { return nil }
      if let record = try reassembler.feed(buffer[..<n]).first { return record }
    }
  }

  /// The records of one stream, in order (bytes read past a record are kept for the next).
  final class Records {
    let stream: any ByteStream
    var reassembler = RecordReassembler(maximumRecord: 1 << 24)
    var ready: [[UInt8]] = []
    init(_ stream: any ByteStream) { self.stream = stream }
    func next(timeout: Duration = .seconds(5)) throws -> [UInt8]? {
      var buffer = [UInt8](repeating: 0, count: 65536)
      let deadline = ContinuousClock.now + timeout
      while ready.isEmpty {
        let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0, deadline: deadline) }
        if n == 0 { return nil }
        ready += try reassembler.feed(buffer[..<n])
      }
      return ready.removeFirst()
    }
  }

  /// Whether the server closed the connection (end of stream within the timeout).
  static func isClosed(_ stream: any ByteStream, timeout: Duration = .seconds(5)) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 1024)
    let deadline = ContinuousClock.now + timeout
    while true {
      guard let n = try? buffer.withUnsafeMutableBytes({ try stream.read(into: $0, deadline: deadline) }) else { return false }
      if n == 0 { return true }
    }
  }

  static func reply(_ record: [UInt8]) throws -> (RPCMessageHeader, XDRReader) {
    var r = XDRReader(record)
    let header = try RPCMessageHeader.read(from: &r)
    return (header, r)
  }

  /// A connected UDP socket to 127.0.0.1:port.
  static func udpSocket(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var tv = timeval(tv_sec: 3, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return fd
  }

  static func udpExchange(_ fd: Int32, _ datagram: [UInt8]) -> [UInt8]? {
    _ = datagram.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    return n < 0 ? nil : Array(buffer[..<n])
  }
}

@Suite("ONC RPC server: records, bad input and the duplicate request cache")
struct ONCServerInputTests {
  @Test("a call split over many fragments is served")
  func multiFragment() throws {
    let (server, _) = try startTestServer()
    defer { server.shutdown() }
    let stream = try Wire.connectTCP(server.tcpPort!)
    let call = try Wire.call(xid: 77, procedure: 1) { $0.write(Int64(40)); $0.write(Int64(2)) }
    try stream.write(RecordMarking.frame(call, fragmentSize: 4))
    let (header, results) = try Wire.reply(try #require(try Wire.readRecord(stream)))
    var r = results
    #expect(header.xid == 77)
    #expect(header.body == .reply(.accepted(verifier: .none, status: .success)))
    #expect(try r.read(Int64.self) == 42)
  }

  @Test("several calls written at once are all answered, in order")
  func pipelined() throws {
    let (server, _) = try startTestServer()
    defer { server.shutdown() }
    let stream = try Wire.connectTCP(server.tcpPort!)
    var bytes: [UInt8] = []
    for i in 0..<50 { bytes += RecordMarking.frame(try Wire.call(xid: UInt32(i), procedure: 1) { $0.write(Int64(i)); $0.write(Int64(1)) }) }
    try stream.write(bytes)
    var reassembler = RecordReassembler(maximumRecord: 1 << 20)
    var records: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    let deadline = ContinuousClock.now + .seconds(5)
    while records.count < 50 {
      let n = try buffer.withUnsafeMutableBytes { try stream.read(into: $0, deadline: deadline) }
      if n == 0 { break }
      records += try reassembler.feed(buffer[..<n])
    }
    #expect(records.count == 50)
    for (i, record) in records.enumerated() {
      var (header, r) = try Wire.reply(record)
      #expect(header.xid == UInt32(i))
      #expect(try r.read(Int64.self) == Int64(i) + 1)
    }
  }

  @Test("a fragment header claiming 2 GiB closes the connection at once; the server goes on")
  func hugeFragment() throws {
    let (server, _) = try startTestServer()
    defer { server.shutdown() }
    let stream = try Wire.connectTCP(server.tcpPort!)
    try stream.write([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1])
    #expect(Wire.isClosed(stream))
    let client = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: .tcp)
    #expect(try add(client, 1, 2) == 3)
  }

  @Test("a record above the configured bound closes the connection")
  func oversizedRecord() throws {
    let (server, _) = try startTestServer { $0.maximumRecordSize = 1024 }
    defer { server.shutdown() }
    let stream = try Wire.connectTCP(server.tcpPort!)
    let call = try Wire.call(xid: 1, procedure: 2) { try $0.writeOpaque([UInt8](repeating: 1, count: 2000)) }
    try stream.write(RecordMarking.frame(call, fragmentSize: 512))
    #expect(Wire.isClosed(stream))
  }

  @Test("a connection cut inside a record leaves the server serving")
  func truncatedRecord() throws {
    let (server, programs) = try startTestServer()
    defer { server.shutdown() }
    let stream = try Wire.connectTCP(server.tcpPort!)
    let call = RecordMarking.frame(try Wire.call(xid: 1, procedure: 5) { $0.write(Int32(0)) })
    try stream.write(Array(call.prefix(call.count - 2)))
    stream.shutdown()
    let client = ONCClient(host: "127.0.0.1", port: server.tcpPort!, transport: .tcp)
    #expect(try add(client, 5, 5) == 10)
    #expect(programs[0].counter.value.load(ordering: .relaxed) == 0)  // the cut call never ran
  }

  @Test("garbage, replies and RPC version 3 over UDP: dropped, dropped, RPC_MISMATCH")
  func badDatagrams() throws {
    let (server, _) = try startTestServer()
    defer { server.shutdown() }
    let fd = Wire.udpSocket(server.udpPort!)
    defer { close(fd) }
    var tv = timeval(tv_sec: 0, tv_usec: 300_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    #expect(Wire.udpExchange(fd, [1, 2, 3]) == nil)  // shorter than a header: no reply
    var reply = XDRWriter()
    try RPCMessageHeader(xid: 5, body: .reply(.accepted(verifier: .none, status: .success))).write(to: &reply)
    #expect(Wire.udpExchange(fd, reply.finishedBytes()) == nil)  // a reply sent to a server: no reply
    let mismatch = try #require(Wire.udpExchange(fd, try Wire.call(xid: 9, procedure: 1, rpcVersion: 3)))
    #expect(try Wire.reply(mismatch).0 == RPCMessageHeader(xid: 9, body: .reply(.rpcMismatch(low: 2, high: 2))))
  }

  @Test("UDP: a retransmitted call runs once; the cache replays its reply")
  func duplicateRequestCache() throws {
    let (server, programs) = try startTestServer()
    defer { server.shutdown() }
    let fd = Wire.udpSocket(server.udpPort!)
    defer { close(fd) }
    let call = try Wire.call(xid: 1234, procedure: 5) { $0.write(Int32(0)) }
    let first = try #require(Wire.udpExchange(fd, call))
    let second = try #require(Wire.udpExchange(fd, call))
    #expect(first == second)
    #expect(programs[0].counter.value.load(ordering: .relaxed) == 1)
    // Same xid, different arguments: a different call (the checksum tells them apart).
    _ = try #require(Wire.udpExchange(fd, try Wire.call(xid: 1234, procedure: 5) { $0.write(Int32(1)) }))
    #expect(programs[0].counter.value.load(ordering: .relaxed) == 2)
    #expect(server.configuration.duplicateRequestCache!.replays == 1)
  }

  @Test("UDP: a client retransmitting while the call runs gets one execution")
  func retransmissionWhileRunning() throws {
    let (server, programs) = try startTestServer()
    defer { server.shutdown() }
    var options = ONCClientOptions()
    options.retransmitInitial = .milliseconds(20)
    options.retransmitMaximum = .milliseconds(40)
    let client = ONCClient(host: "127.0.0.1", port: server.udpPort!, transport: .udp, options: options)
    // The call sleeps 300 ms: the client sends it about 8 times.
    let count: Int32 = try client.call(program: TestProgram.number, version: 3, procedure: 5, arguments: Int32(300))
    #expect(count == 1)
    #expect(programs[0].counter.value.load(ordering: .relaxed) == 1)
    #expect(server.configuration.duplicateRequestCache!.dropsInProgress >= 2)
  }

  @Test("without a cache, the same retransmissions run the call again (the cache is what makes it at-most-once)")
  func noCacheRunsAgain() throws {
    let (server, programs) = try startTestServer { $0.duplicateRequestCache = nil; $0.udpThreads = 4 }
    defer { server.shutdown() }
    var options = ONCClientOptions()
    options.retransmitInitial = .milliseconds(20)
    options.retransmitMaximum = .milliseconds(40)
    let client = ONCClient(host: "127.0.0.1", port: server.udpPort!, transport: .udp, options: options)
    _ = try client.call(program: TestProgram.number, version: 3, procedure: 5, arguments: Int32(300), returning: Int32.self)
    // The retransmitted copies are still sleeping when the first reply arrives: wait for one.
    #expect(programs[0].counter.wait(atLeast: 2) > 1)
  }

  @Test("UDP: a server that never answers times the call out after the total timeout, retransmitting with backoff")
  func timeout() throws {
    // A bound UDP socket that reads nothing.
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    var options = ONCClientOptions()
    options.timeout = .milliseconds(700)
    options.retransmitInitial = .milliseconds(50)
    options.retransmitMaximum = .milliseconds(200)
    let client = ONCClient(host: "127.0.0.1", port: UInt16(bigEndian: a.sin_port), transport: .udp, options: options)
    do {
      _ = try add(client, 1, 1)
      Issue.record("answered")
    } catch let e as RPCError {
      #expect(e.code == .timeout)
      #expect(e.completion == .maybe)
    }
    // 50, 100, 200, 200 ms...: within 700 ms, between 4 and 6 transmissions, all with one xid.
    var buffer = [UInt8](repeating: 0, count: 2048)
    var xids: [UInt32] = []
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
      if n <= 0 { break }
      xids.append(UInt32(buffer[0]) << 24 | UInt32(buffer[1]) << 16 | UInt32(buffer[2]) << 8 | UInt32(buffer[3]))
    }
    #expect((4...6).contains(xids.count), "transmissions: \(xids.count)")
    #expect(Set(xids).count == 1)
  }
}

@Suite("ONC RPC server: both TCP models")
struct ONCTCPModelTests {
  @Test("fragments, pipelines, oversized and cut records, errors, many connections", arguments: [ONCServerConfiguration.TCPModel.eventLoop, .threadPerConnection])
  func model(_ model: ONCServerConfiguration.TCPModel) throws {
    let (server, programs) = try startTestServer { $0.tcpModel = model; $0.maximumRecordSize = 64 * 1024 }
    defer { server.shutdown() }
    let port = server.tcpPort!
    // A call in 3-byte... 4-byte fragments.
    let s1 = try Wire.connectTCP(port)
    let records = Wire.Records(s1)
    try s1.write(RecordMarking.frame(try Wire.call(xid: 1, procedure: 1) { $0.write(Int64(40)); $0.write(Int64(2)) }, fragmentSize: 4))
    var (h, r) = try Wire.reply(try #require(try records.next()))
    #expect(h.xid == 1)
    #expect(try r.read(Int64.self) == 42)
    // 20 calls in one write, then a 60 KiB echo written a byte at a time in a few pieces.
    var bytes: [UInt8] = []
    for i in 0..<20 { bytes += RecordMarking.frame(try Wire.call(xid: UInt32(100 + i), procedure: 1) { $0.write(Int64(i)); $0.write(Int64(1)) }) }
    try s1.write(bytes)
    for i in 0..<20 {
      (h, r) = try Wire.reply(try #require(try records.next()))
      #expect(h.xid == UInt32(100 + i))
      #expect(try r.read(Int64.self) == Int64(i) + 1)
    }
    let big = (0..<60_000).map { UInt8($0 % 253) }
    let echo = RecordMarking.frame(try Wire.call(xid: 7, procedure: 2) { try $0.writeOpaque(big) })
    for chunk in stride(from: 0, to: echo.count, by: 7_000) { try s1.write(Array(echo[chunk..<min(echo.count, chunk + 7_000)])) }
    (h, r) = try Wire.reply(try #require(try records.next()))
    #expect(try r.readOpaque() == big)
    // A record above the bound, and a 2 GiB header, close their connections; the others go on.
    let s2 = try Wire.connectTCP(port)
    try s2.write(RecordMarking.frame(try Wire.call(xid: 1, procedure: 2) { try $0.writeOpaque([UInt8](repeating: 0, count: 70_000)) }, fragmentSize: 40_000))
    #expect(Wire.isClosed(s2))
    let s3 = try Wire.connectTCP(port)
    try s3.write([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1])
    #expect(Wire.isClosed(s3))
    // A cut call never runs.
    let s4 = try Wire.connectTCP(port)
    let cut = RecordMarking.frame(try Wire.call(xid: 1, procedure: 5) { $0.write(Int32(0)) })
    try s4.write(Array(cut.dropLast(3)))
    s4.shutdown()
    // Sixteen clients at once.
    let failures = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    let finished = ConditionLock()
    for t in 0..<16 {
      spawnThread(name: "client-\(t)") {
        let c = ONCClient(host: "127.0.0.1", port: port, transport: .tcp)
        for i in 0..<200 where (try? add(c, Int64(t), Int64(i))) != Int64(t + i) { failures.add(1, ordering: .relaxed) }
        finished.withLock {
          done.add(1, ordering: .releasing)
          finished.broadcast()
        }
      }
    }
    let deadline = ContinuousClock.now + .seconds(30)
    finished.withLock {
      while done.load(ordering: .acquiring) < 16 { if !finished.wait(until: deadline) { break } }
    }
    #expect(done.load(ordering: .acquiring) == 16)
    #expect(failures.load(ordering: .relaxed) == 0)
    #expect(programs[0].counter.value.load(ordering: .relaxed) == 0)
  }
}
