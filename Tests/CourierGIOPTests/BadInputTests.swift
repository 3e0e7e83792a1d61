import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierWire
import Foundation
import Testing

/// What a raw connection got back.
struct RawOutcome {
  var messages: [GIOPIncoming] = []
  /// "closed" (end of stream), "timeout" (still open at the deadline) or an error.
  var ending = ""
  var elapsed: Duration = .zero

  var types: [GIOPMessageType] { messages.map(\.header.messageType) }
}

/// Reads messages from `stream` until the server closes it or `timeout` passes.
func readUntilClosed(_ stream: any ByteStream, timeout: Duration = .seconds(2)) -> RawOutcome {
  var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 24)
  let start = ContinuousClock.now
  let deadline = start + timeout
  var out = RawOutcome()
  for _ in 0..<32 {
    do {
      out.messages.append(try reader.next(deadline: deadline))
    } catch {
      switch error {
      case .closed: out.ending = "closed"
      case .transport(let t) where t.code == .timedOut: out.ending = "timeout"
      default: out.ending = "error: \(error)"
      }
      break
    }
  }
  out.elapsed = ContinuousClock.now - start
  return out
}

/// A GIOP request made with Courier's own encoder.
func makeRequest(_ version: GIOPVersion = .v1_2, id: UInt32 = 1, key: [UInt8] = echoKey, operation: String,
                 responseExpected: Bool = true, _ body: (inout CDRWriter) throws -> Void = { _ in }) throws -> [UInt8] {
  var b = GIOPMessageBuilder(.request, version: version)
  try RequestHeader(requestID: id, responseExpected: responseExpected, target: .key(key), operation: operation)
    .encode(to: &b.writer, version: version)
  b.beginBody()
  try body(&b.writer)
  return b.finish()
}

func addRequest(_ version: GIOPVersion = .v1_2, id: UInt32 = 1, _ a: Int64 = 2, _ b: Int64 = 40) throws -> [UInt8] {
  try makeRequest(version, id: id, operation: "add") { w in
    w.write(a)
    w.write(b)
  }
}

/// Cuts a GIOP 1.1/1.2 message into a first message with the more-fragments flag and Fragments
/// (GIOP 1.2 fragments carry the request id). `cuts` are offsets into the message, multiples of 8.
func fragmented(_ message: [UInt8], cuts: [Int]) -> [UInt8] {
  let version = message[5]
  let little = message[6] & 1 == 1
  func sizeField(_ n: Int) -> [UInt8] {
    let v = UInt32(n)
    let le = [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)]
    return little ? le : le.reversed()
  }
  let requestID = Array(message[12..<16])
  var out: [UInt8] = []
  var pieces: [Range<Int>] = []
  var start = 0
  for c in cuts + [message.count] {
    pieces.append(start..<c)
    start = c
  }
  for (i, piece) in pieces.enumerated() {
    let last = i == pieces.count - 1
    let flags: UInt8 = (little ? 1 : 0) | (last ? 0 : 2)
    if i == 0 {
      out.append(contentsOf: message[0..<6])
      out.append(flags)
      out.append(message[7])
      out.append(contentsOf: sizeField(piece.count - 12))
      out.append(contentsOf: message[12..<piece.upperBound])
    } else {
      let extra: [UInt8] = version >= 2 ? requestID : []
      let head: [UInt8] = [0x47, 0x49, 0x4F, 0x50, 1, version, flags, 7]
      out.append(contentsOf: head)
      out.append(contentsOf: sizeField(extra.count + piece.count))
      out.append(contentsOf: extra)
      out.append(contentsOf: message[piece])
    }
  }
  return out
}

@Suite("bad input to a GIOPServer over TCP")
struct BadInputTests {
  /// Sends `bytes` on a fresh raw connection and reads until the server closes it.
  func send(_ h: ServerHarness, _ bytes: [UInt8], timeout: Duration = .seconds(2)) throws -> RawOutcome {
    let s = try h.rawConnection()
    defer { s.shutdown() }
    try s.write(bytes)
    return readUntilClosed(s, timeout: timeout)
  }

  /// Expects exactly one MessageError and then the connection closed.
  func expectMessageErrorAndClose(_ out: RawOutcome, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(out.types == [.messageError], "got \(out.types), \(out.ending)", sourceLocation: sourceLocation)
    #expect(out.messages.first?.header.messageSize == 0, sourceLocation: sourceLocation)
    #expect(out.ending == "closed", "connection \(out.ending) after \(out.elapsed)", sourceLocation: sourceLocation)
  }

  /// Reads one reply and decodes it: status and body reader.
  func readReply(_ reader: inout GIOPMessageReader) throws -> (ReplyHeader, CDRReader) {
    let m = try reader.next(deadline: .now + .seconds(5))
    #expect(m.header.messageType == .reply)
    var r = m.bodyReader()
    let h = try ReplyHeader.decode(from: &r, version: m.header.version)
    return (h, r)
  }

  @Test func truncatedHeaderThenClose() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    for n in [1, 5, 11] {
      let s = try h.rawConnection()
      try s.write(Array(try addRequest().prefix(n)))
      s.shutdown()
    }
    // A header announcing a body that never comes.
    let s = try h.rawConnection()
    try s.write(Array(try addRequest().prefix(30)))
    s.shutdown()
    h.expectAlive()
    h.expectAlive()
  }

  @Test func truncatedMessageGetsNoAnswerButServerLives() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let s = try h.rawConnection()
    defer { s.shutdown() }
    try s.write(Array(try addRequest().prefix(40)))
    let out = readUntilClosed(s, timeout: .milliseconds(200))
    #expect(out.messages.isEmpty)
    #expect(out.ending == "timeout", "the server waits for the rest: \(out.ending)")
    h.expectAlive()
  }

  @Test(arguments: [
    ("bad magic", [0x47, 0x49, 0x4F, 0x58, 1, 2, 1, 0, 0, 0, 0, 0] as [UInt8]),
    ("HTTP", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
    ("zeros", [UInt8](repeating: 0, count: 12)),
    ("unknown type 9", [0x47, 0x49, 0x4F, 0x50, 1, 2, 1, 9, 0, 0, 0, 0]),
    ("GIOP 1.3", [0x47, 0x49, 0x4F, 0x50, 1, 3, 1, 0, 0, 0, 0, 0]),
    ("GIOP 2.0", [0x47, 0x49, 0x4F, 0x50, 2, 0, 1, 0, 0, 0, 0, 0]),
    ("GIOP 1.0 Fragment", [0x47, 0x49, 0x4F, 0x50, 1, 0, 1, 7, 0, 0, 0, 0]),
  ])
  func badHeaderGetsMessageErrorAndClose(_ what: String, _ bytes: [UInt8]) throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    expectMessageErrorAndClose(try send(h, bytes))
    h.expectAlive()
  }

  @Test func hugeSizeIsRefusedAtOnce() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let golden = try Golden.load("request_huge_length_1_2").bytes
    #expect(golden.count == 12)
    let out = try send(h, golden, timeout: .seconds(1))
    expectMessageErrorAndClose(out)
    #expect(out.elapsed < .seconds(1), "answered after \(out.elapsed)")
    // omniORB answers this one with a GIOP 1.2 MessageError; Courier's is a valid MessageError too.
    #expect(out.messages.first?.header.version.major == 1)
    h.expectAlive()
  }

  @Test func overConfiguredLimitIsRefused() throws {
    var config = GIOPServer.Configuration()
    config.maxMessageSize = 1024
    let h = try ServerHarness(.tcp, configuration: config)
    defer { h.stop() }
    let big = try makeRequest(operation: "echoBytes") { w in w.writeOctetSequence(pattern(1940)) }
    #expect(big.count > 1024 && big.count <= 2000)
    expectMessageErrorAndClose(try send(h, big))
    // Just under the limit is fine.
    let s = try h.rawConnection()
    defer { s.shutdown() }
    let fits = try makeRequest(operation: "echoBytes") { w in w.writeOctetSequence(pattern(900)) }
    #expect(fits.count - GIOPHeader.size <= 1024)
    try s.write(fits)
    var reader = GIOPMessageReader(stream: s, maxMessageSize: 1 << 20)
    var (reply, r) = try readReply(&reader)
    #expect(reply.status == .noException)
    #expect(try r.readOctetSequence() == pattern(900))
    // Fragments adding up to more than the limit are refused too.
    let whole = try makeRequest(id: 7, operation: "echoBytes") { w in w.writeOctetSequence(pattern(1200)) }
    expectMessageErrorAndClose(try send(h, fragmented(whole, cuts: [600])))
    h.expectAlive()
    // The omniORB capture of a 3 MiB header and 16 KiB of it, against a 2 MiB limit.
    var config2 = GIOPServer.Configuration()
    config2.maxMessageSize = 2 * 1024 * 1024
    let h2 = try ServerHarness(.tcp, configuration: config2)
    defer { h2.stop() }
    expectMessageErrorAndClose(try send(h2, try Golden.load("request_over_max_1_2").bytes))
    h2.expectAlive()
    _ = reply
  }

  @Test func unmarshalableRequestHeaderGetsMessageError() throws {
    // Courier, like omniORB (message_error_bad_key_length_1_2.hex), answers MessageError and closes.
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let out = try send(h, try Golden.load("request_bad_key_length_1_2").bytes)
    expectMessageErrorAndClose(out)
    h.expectAlive()
  }

  @Test func operationWithoutNULGetsMessageError() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    for op: [UInt8] in [Array("add".utf8), []] {
      var b = GIOPMessageBuilder(.request, version: .v1_2)
      b.writer.write(UInt32(1))  // request id
      b.writer.write(UInt8(3))  // response flags
      b.writer.writeRaw([0, 0, 0])
      b.writer.write(Int16(0))  // KeyAddr
      b.writer.writeOctetSequence(echoKey)
      b.writer.write(UInt32(op.count))  // a length that leaves no room for the NUL
      b.writer.writeRaw(op)
      b.writer.write(UInt32(0))  // no service contexts
      b.writer.align(8)
      b.writer.write(Int64(2))
      b.writer.write(Int64(40))
      let bytes = b.finish()
      expectMessageErrorAndClose(try send(h, bytes))
    }
    h.expectAlive()
  }

  @Test func octetSequenceLongerThanMessageIsMarshal() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let s = try h.rawConnection()
    defer { s.shutdown() }
    let bad = try makeRequest(id: 5, operation: "echoBytes") { w in
      w.write(UInt32(1000))  // claims 1000 octets
      w.writeRaw(pattern(8))  // has 8
    }
    try s.write(bad)
    var reader = GIOPMessageReader(stream: s, maxMessageSize: 1 << 20)
    var (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 5)
    #expect(reply.status == .systemException)
    let e = try SystemExceptionBody.decode(from: &r)
    #expect(e.repositoryID == "IDL:omg.org/CORBA/MARSHAL:1.0")
    #expect(e.completion == .no)
    // A 4 GiB count too: no allocation, the same answer.
    try s.write(try makeRequest(id: 6, operation: "echoBytes") { w in w.write(UInt32.max) })
    (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 6 && reply.status == .systemException)
    #expect(try SystemExceptionBody.decode(from: &r).repositoryID == "IDL:omg.org/CORBA/MARSHAL:1.0")
    // The connection is still good.
    try s.write(try addRequest(id: 7))
    (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 7 && reply.status == .noException)
    #expect(try r.read(Int64.self) == 42)
    h.expectAlive()
  }

  @Test func unknownObjectKeyAndOperation() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let s = try h.rawConnection()
    defer { s.shutdown() }
    var reader = GIOPMessageReader(stream: s, maxMessageSize: 1 << 20)
    try s.write(try Golden.load("request_object_not_exist_1_2").bytes)
    var (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 7)
    #expect(reply.status == .systemException)
    var e = try SystemExceptionBody.decode(from: &r)
    #expect(e.repositoryID == "IDL:omg.org/CORBA/OBJECT_NOT_EXIST:1.0")
    #expect(e.completion == .no)
    #expect(e.minor == CourierMinor.noSuchObject)
    try s.write(try Golden.load("request_bad_operation_1_2").bytes)
    (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 8)
    #expect(reply.status == .systemException)
    e = try SystemExceptionBody.decode(from: &r)
    #expect(e.repositoryID == "IDL:omg.org/CORBA/BAD_OPERATION:1.0")
    #expect(e.completion == .no)
    // A oneway to an unknown key gets no reply at all; the next two-way call is answered.
    try s.write(try makeRequest(id: 9, key: Array("Nope".utf8), operation: "ping", responseExpected: false))
    try s.write(try addRequest(id: 10))
    (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 10 && reply.status == .noException)
    h.expectAlive()
  }

  @Test func messagesAServerMustNotGet() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    // A Reply, a LocateReply, a lone Fragment: protocol violations.
    for name in ["reply_add_1_2", "locate_reply_1_2"] {
      expectMessageErrorAndClose(try send(h, try Golden.load(name).bytes))
    }
    expectMessageErrorAndClose(try send(h, try Golden.load("request_echo9000_1_2").message(1)))
    // A MessageError or CloseConnection from the client: the server just closes.
    for name in ["message_error_reply", "close_connection_client_1_2"] {
      let out = try send(h, try Golden.load(name).bytes)
      #expect(out.messages.isEmpty, "\(name): got \(out.types)")
      #expect(out.ending == "closed", "\(name): \(out.ending)")
    }
    h.expectAlive()
  }

  @Test func cancelRequestIsIgnored() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let s = try h.rawConnection()
    defer { s.shutdown() }
    try s.write(GIOPMessageBuilder.cancelRequest(99, version: .v1_2) + (try addRequest(id: 3)))
    var reader = GIOPMessageReader(stream: s, maxMessageSize: 1 << 20)
    var (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 3)
    #expect(try r.read(Int64.self) == 42)
    _ = reply
  }

  @Test(arguments: [GIOPVersion.v1_1, .v1_2])
  func fragmentedRequestsAreReassembled(_ version: GIOPVersion) throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let s = try h.rawConnection()
    defer { s.shutdown() }
    var reader = GIOPMessageReader(stream: s, maxMessageSize: 1 << 20)
    let data = pattern(3000)
    let whole = try makeRequest(version, id: 11, operation: "echoBytes") { w in w.writeOctetSequence(data) }
    try s.write(fragmented(whole, cuts: [64, 1024, 2048]))
    var (reply, r) = try readReply(&reader)
    #expect(reply.requestID == 11 && reply.status == .noException)
    #expect(try r.readOctetSequence() == data)
    if version >= .v1_2 {
      // GIOP 1.2: fragments of two requests interleaved, told apart by request id.
      let a = fragmented(try makeRequest(id: 21, operation: "echoBytes") { w in w.writeOctetSequence(pattern(500)) }, cuts: [128])
      let b = fragmented(try addRequest(id: 22, 20, 22), cuts: [48])
      let aFirst = try parseHeader(a).get(), bFirst = try parseHeader(b).get()
      let aLen = 12 + Int(aFirst.messageSize), bLen = 12 + Int(bFirst.messageSize)
      try s.write(Array(a[..<aLen]) + Array(b[..<bLen]) + Array(b[bLen...]) + Array(a[aLen...]))
      (reply, r) = try readReply(&reader)
      #expect(reply.requestID == 22)
      #expect(try r.read(Int64.self) == 42)
      (reply, r) = try readReply(&reader)
      #expect(reply.requestID == 21)
      #expect(try r.readOctetSequence() == pattern(500))
    }
    h.expectAlive()
  }

  @Test func omniORBFragmentedCapturesAreServed() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let s = try h.rawConnection()
    defer { s.shutdown() }
    var reader = GIOPMessageReader(stream: s, maxMessageSize: 1 << 20)
    for (name, count) in [("request_echo9000_1_1", 9000), ("request_echo9000_1_2", 9000),
                          ("request_echo16384_1_1", 16384), ("request_echo16384_1_2", 16384)] {
      try s.write(try Golden.load(name).bytes)
      var (reply, r) = try readReply(&reader)
      #expect(reply.status == .noException, "\(name)")
      #expect(try r.readOctetSequence() == pattern(count), "\(name)")
      _ = reply
    }
  }

  @Test func manyBadConnectionsInARow() throws {
    // A burst of garbage connections, then normal service.
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let garbage: [[UInt8]] = [
      [0x47, 0x49, 0x4F, 0x50, 1, 2, 1, 9, 0, 0, 0, 0],
      try Golden.load("request_huge_length_1_2").bytes,
      try Golden.load("request_bad_key_length_1_2").bytes,
      Array(repeating: 0xFF, count: 64),
    ]
    for round in 0..<5 {
      for g in garbage {
        let out = try send(h, g)
        #expect(out.ending == "closed", "round \(round): \(out.ending)")
      }
    }
    h.expectAlive()
  }
}
