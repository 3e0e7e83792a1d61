import CourierCore
import CourierExamples
import CourierGIOP
import CourierInProcess
import CourierNIO
import CourierWire
import Foundation
import Synchronization
import Testing

/// A fake server that answers a Courier client with the bytes omniORB's server sent in the
/// captures (request ids patched), or with hand-made replies Courier's server never sends.
final class OmniORBFakeServer: Sendable {
  let listener: any StreamListener
  let connector: any StreamConnector
  let seen = Mutex<[String]>([])

  init(_ kind: TransportKind) throws {
    switch kind {
    case .inProcess:
      let t = InProcessTransport()
      listener = t.listener
      connector = t.connector
    case .tcp:
      listener = try TCPListener(host: "127.0.0.1", port: 0)
      connector = TCPConnector()
    }
    let listener = self.listener
    spawnThread(name: "fake-omniorb") { [self] in
      for _ in 0..<16 {
        guard let stream = try? listener.accept() else { return }
        spawnThread(name: "fake-omniorb-conn") { [self] in serve(stream) }
      }
    }
  }

  func reference(version: GIOPVersion) throws -> IOR {
    try IOR(typeID: "", profile: IIOPProfile(version: version, host: listener.host, port: listener.port, objectKey: echoKey))
  }

  func stop() { listener.close() }

  private func serve(_ stream: any ByteStream) {
    defer { stream.shutdown() }
    var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 20)
    for _ in 0..<200 {
      guard let message = try? reader.next(deadline: .now + .seconds(10)) else { return }
      var session = ServerSession()
      guard case .request(let d) = session.handle(message) else { continue }
      let v = message.header.version
      let suffix = "_1_\(v.minor)"
      seen.withLock { $0.append("\(d.header.operation)\(suffix)") }
      guard let reply = try? answer(d.header, version: v, suffix: suffix) else { return }
      guard (try? stream.write(reply)) != nil else { return }
      if d.header.operation == "close" || d.header.operation == "garble" { return }
    }
  }

  private func answer(_ h: RequestHeader, version v: GIOPVersion, suffix: String) throws -> [UInt8] {
    let golden: String
    switch h.operation {
    case "add": golden = "reply_add" + suffix
    case "echoBytes": golden = "reply_echo16" + suffix
    case "echo9000": golden = "reply_echo9000" + suffix
    case "_is_a": golden = "reply_is_a_other" + suffix
    case "_non_existent": golden = "reply_non_existent" + suffix
    case "objectNotExist": golden = "reply_object_not_exist_1_2"
    case "badOperation": golden = "reply_bad_operation_1_2"
    case "close": return try Golden.load(v.minor == 0 ? "close_connection_1_0" : "close_connection").bytes
    case "garble": return try Golden.load("message_error_reply").bytes
    case "addBigEndian":
      var b = messageBuilder(.reply, v, order: .bigEndian)
      ReplyHeader(requestID: h.requestID, status: .noException).encode(to: &b.writer, version: v)
      b.beginBody()
      b.writer.write(Int64(42))
      return b.finish()
    case "addWithContexts":
      var b = GIOPMessageBuilder(.reply, version: v)
      ReplyHeader(requestID: h.requestID, status: .noException,
                  serviceContexts: [ServiceContext(id: 0x4154_0000, data: [1, 2, 3, 4, 5]), .codeSets(isoUTF16)])
        .encode(to: &b.writer, version: v)
      b.beginBody()
      b.writer.write(Int64(42))
      return b.finish()
    default:
      var b = GIOPMessageBuilder(.reply, version: v)
      ReplyHeader(requestID: h.requestID, status: .systemException).encode(to: &b.writer, version: v)
      b.beginBody()
      try SystemExceptionBody(repositoryID: "IDL:omg.org/CORBA/NO_IMPLEMENT:1.0", minor: 0, completion: .no).encode(to: &b.writer)
      return b.finish()
    }
    return patchRequestID(try Golden.load(golden).bytes, to: h.requestID)
  }
}

/// Sets the request id of every Reply, LocateReply and (GIOP 1.2) Fragment in `bytes`,
/// assuming an empty service context list in GIOP 1.0/1.1 replies (as in every capture).
func patchRequestID(_ bytes: [UInt8], to id: UInt32) -> [UInt8] {
  var out = bytes
  var start = 0
  while start + 12 <= out.count {
    let little = out[start + 6] & 1 == 1
    let minor = out[start + 5]
    let type = out[start + 7]
    let s = (0..<4).map { UInt32(out[start + 8 + $0]) }
    let size = little ? s[0] | s[1] << 8 | s[2] << 16 | s[3] << 24 : s[3] | s[2] << 8 | s[1] << 16 | s[0] << 24
    var at: Int?
    switch (type, minor) {
    case (1, 2), (4, _), (7, 2): at = start + 12
    case (1, _): at = start + 16
    default: at = nil
    }
    if let at {
      let v = little ? id.littleEndian : id.bigEndian
      withUnsafeBytes(of: v) { raw in for i in 0..<4 { out[at + i] = raw[i] } }
    }
    start += 12 + Int(size)
  }
  return out
}

@Suite("a Courier client reading omniORB's replies")
struct OmniORBReplyTests {
  @Test(arguments: TransportKind.allCases, [GIOPVersion.v1_0, .v1_1, .v1_2])
  func omniORBRepliesDecode(_ kind: TransportKind, _ version: GIOPVersion) throws {
    let fake = try OmniORBFakeServer(kind)
    defer { fake.stop() }
    let orb = ORB(connector: fake.connector)
    defer { orb.shutdown() }
    let ref = orb.object(try fake.reference(version: version))
    let echo = Bench_Echo.Blocking(ref)
    #expect(try echo.add(a: 2, b: 40) == 42)
    #expect(try echo.echoBytes(data: pattern(16)) == pattern(16))
    var big = try ref.invoke("echo9000")
    #expect(try big.read([UInt8].self) == pattern(9000), "omniORB's reply, fragmented in GIOP 1.1/1.2")
    #expect(try ref.isA("IDL:Other:1.0") == false)
    #expect(try ref.nonExistent() == false)
    #expect(try echo.add(a: 1, b: 1) == 42, "the canned answer again: replies matched by request id")
    if version == .v1_2 {
      let e1 = expectRPCError(.objectNotExist, completion: .no) { _ = try ref.invoke("objectNotExist") }
      #expect(e1?.minor == 0x4F4D_0001)
      let e2 = expectRPCError(.badOperation, completion: .no) { _ = try ref.invoke("badOperation") }
      #expect(e2?.minor == 0x4154_0026)
    }
    var be = try ref.invoke("addBigEndian")
    #expect(try be.read(Int64.self) == 42)
    var ctx = try ref.invoke("addWithContexts")
    #expect(try ctx.read(Int64.self) == 42)
    expectRPCError(.noImplement) { _ = try ref.invoke("whatever") }
    let ops = fake.seen.withLock { $0 }
    #expect(ops.allSatisfy { $0.hasSuffix("_1_\(version.minor)") }, "\(ops)")
  }

  @Test(arguments: TransportKind.allCases)
  func closeConnectionFailsTheCallAsTransient(_ kind: TransportKind) throws {
    let fake = try OmniORBFakeServer(kind)
    defer { fake.stop() }
    let orb = ORB(connector: fake.connector)
    defer { orb.shutdown() }
    let ref = orb.object(try fake.reference(version: .v1_2))
    // The server closed without answering: the request was not run, so TRANSIENT, COMPLETED_NO.
    expectRPCError(.transient, completion: .no) { _ = try ref.invoke("close", options: CallOptions(timeout: .seconds(5))) }
    // The ORB opens a new connection for the next call.
    #expect(try Bench_Echo.Blocking(ref).add(a: 2, b: 40) == 42)
    expectRPCError(.commFailure) { _ = try ref.invoke("garble", options: CallOptions(timeout: .seconds(5))) }
    #expect(try Bench_Echo.Blocking(ref).add(a: 2, b: 40) == 42)
  }

  @Test func patchRequestIDTouchesOnlyTheIDs() throws {
    let g = try Golden.load("reply_echo9000_1_2").bytes
    let p = patchRequestID(g, to: 0x0A0B_0C0D)
    #expect(p.count == g.count)
    let diffs = (0..<g.count).filter { g[$0] != p[$0] }
    #expect(!diffs.isEmpty)
    #expect(Set(diffs).isSubset(of: [12, 13, 14, 15, 8204, 8205, 8206, 8207]), "\(diffs)")
    #expect(Array(p[12..<16]) == [0x0D, 0x0C, 0x0B, 0x0A])
    #expect(Array(p[8192 + 12..<8192 + 16]) == [0x0D, 0x0C, 0x0B, 0x0A])
    let r10 = patchRequestID(try Golden.load("reply_add_1_0").bytes, to: 7)
    #expect(Array(r10[16..<20]) == [7, 0, 0, 0])
  }
}
