import CourierCore
import CourierExamples
import CourierGIOP
import CourierInProcess
import CourierWire
import Foundation
import Testing

// Courier against the bytes real omniORB 4.2.5 programs exchanged (Interop/omniorb/golden).
// Decoding checks every field against the capture's breakdown; encoding checks Courier
// produces the same bytes: exactly for server replies (omniORB zeroes their padding), with the
// padding positions masked for client requests (omniORB leaves stale bytes there).

/// An argument or result list as the captures carry it.
enum GoldenBody: Sendable, CustomStringConvertible {
  case none
  case add(Int64, Int64)
  case int64(Int64)
  case bool(Bool)
  case bytes(Int)
  case string(String)
  case systemException(SystemExceptionBody)

  var description: String {
    switch self {
    case .none: "no body"
    case .add(let a, let b): "add(\(a), \(b))"
    case .int64(let v): "long long \(v)"
    case .bool(let v): "boolean \(v)"
    case .bytes(let n): "\(n) octets"
    case .string(let s): "string \"\(s)\""
    case .systemException(let e): "\(e.repositoryID) minor 0x\(String(e.minor, radix: 16)) \(e.completion)"
    }
  }

  func write(to w: inout CDRWriter) throws {
    switch self {
    case .none: break
    case .add(let a, let b):
      w.write(a)
      w.write(b)
    case .int64(let v): w.write(v)
    case .bool(let v): w.write(v)
    case .bytes(let n): w.writeOctetSequence(pattern(n))
    case .string(let s): try w.writeString(s)
    case .systemException(let e): try e.encode(to: &w)
    }
  }

  /// Reads the body from `r` and checks it, and that nothing follows.
  func check(_ r: inout CDRReader, _ what: String) throws {
    switch self {
    case .none:
      break
    case .add(let a, let b):
      let x: Int64 = try r.read()
      let y: Int64 = try r.read()
      #expect(x == a, "\(what): first argument")
      #expect(y == b, "\(what): second argument")
    case .int64(let v):
      let x: Int64 = try r.read()
      #expect(x == v, "\(what): result")
    case .bool(let v):
      let x: Bool = try r.read()
      #expect(x == v, "\(what): boolean")
    case .bytes(let n):
      let data: [UInt8] = try r.readOctetSequence()
      #expect(data.count == n, "\(what): octet count")
      #expect(data == pattern(n), "\(what): octets 00 01 02 ..")
    case .string(let s):
      let x = try r.readString()
      #expect(x == s, "\(what): string")
    case .systemException(let e):
      let x = try SystemExceptionBody.decode(from: &r)
      #expect(x == e, "\(what): system exception")
    }
    #expect(r.isAtEnd, "\(what): \(r.remaining) stray bytes after the body")
  }
}

struct RequestCase: Sendable, CustomTestStringConvertible {
  var file: String
  var version: GIOPVersion
  var order: ByteOrder = .littleEndian
  var header: RequestHeader
  /// Where the decoder leaves the reader: after the header (GIOP 1.2: after the body alignment).
  var bodyStart: Int
  var body: GoldenBody
  var testDescription: String { file }
}

struct ReplyCase: Sendable, CustomTestStringConvertible {
  var file: String
  var version: GIOPVersion
  var header: ReplyHeader
  var bodyStart: Int
  var body: GoldenBody
  var testDescription: String { file }
}

struct LocateCase: Sendable, CustomTestStringConvertible {
  var file: String
  var version: GIOPVersion
  var requestID: UInt32
  var key: [UInt8]
  var testDescription: String { file }
}

struct LocateReplyCase: Sendable, CustomTestStringConvertible {
  var file: String
  var version: GIOPVersion
  var requestID: UInt32
  var status: LocateStatus
  var testDescription: String { file }
}

let omniCodeSets: ServiceContext = .codeSets(isoUTF16, byteOrder: .littleEndian)

func req(_ id: UInt32, _ expected: Bool, _ op: String, key: [UInt8] = echoKey, contexts: [ServiceContext] = []) -> RequestHeader {
  RequestHeader(requestID: id, responseExpected: expected, target: .key(key), operation: op, serviceContexts: contexts)
}

let requestCases: [RequestCase] = [
  .init(file: "request_add_1_0", version: .v1_0, header: req(4, true, "add"), bodyStart: 44, body: .add(2, 40)),
  .init(file: "request_add_1_1", version: .v1_1, header: req(4, true, "add", contexts: [omniCodeSets]), bodyStart: 64, body: .add(2, 40)),
  .init(file: "request_add_1_2", version: .v1_2, header: req(4, true, "add", contexts: [omniCodeSets]), bodyStart: 64, body: .add(2, 40)),
  .init(file: "request_add_be_1_2", version: .v1_2, order: .bigEndian, header: req(9, true, "add"), bodyStart: 48, body: .add(2, 40)),
  .init(file: "request_echo16_1_0", version: .v1_0, header: req(6, true, "echoBytes"), bodyStart: 52, body: .bytes(16)),
  .init(file: "request_echo16_1_1", version: .v1_1, header: req(6, true, "echoBytes"), bodyStart: 52, body: .bytes(16)),
  .init(file: "request_echo16_1_2", version: .v1_2, header: req(6, true, "echoBytes"), bodyStart: 56, body: .bytes(16)),
  .init(file: "request_ping_1_0", version: .v1_0, header: req(8, false, "ping"), bodyStart: 48, body: .none),
  .init(file: "request_ping_1_1", version: .v1_1, header: req(8, false, "ping"), bodyStart: 48, body: .none),
  .init(file: "request_ping_1_2", version: .v1_2, header: req(8, false, "ping"), bodyStart: 48, body: .none),
  .init(file: "request_non_existent_1_0", version: .v1_0, header: req(10, true, "_non_existent"), bodyStart: 56, body: .none),
  .init(file: "request_non_existent_1_1", version: .v1_1, header: req(10, true, "_non_existent"), bodyStart: 56, body: .none),
  .init(file: "request_non_existent_1_2", version: .v1_2, header: req(10, true, "_non_existent"), bodyStart: 56, body: .none),
  .init(file: "request_is_a_other_1_0", version: .v1_0, header: req(12, true, "_is_a"), bodyStart: 48, body: .string("IDL:Other:1.0")),
  .init(file: "request_is_a_other_1_1", version: .v1_1, header: req(12, true, "_is_a"), bodyStart: 48, body: .string("IDL:Other:1.0")),
  .init(file: "request_is_a_other_1_2", version: .v1_2, header: req(12, true, "_is_a"), bodyStart: 48, body: .string("IDL:Other:1.0")),
  .init(file: "request_is_a_1_2", version: .v1_2, header: req(2, true, "_is_a"), bodyStart: 48, body: .string("IDL:Bench/Echo:1.0")),
  .init(file: "request_is_a_corbaloc_default", version: .v1_0, header: req(2, true, "_is_a"), bodyStart: 48, body: .string("IDL:Bench/Echo:1.0")),
  .init(file: "request_object_not_exist_1_2", version: .v1_2, header: req(7, true, "add", key: Array("NoSuchKey".utf8)), bodyStart: 56, body: .add(1, 2)),
  .init(file: "request_bad_operation_1_2", version: .v1_2, header: req(8, true, "noSuchOperation"), bodyStart: 56, body: .none),
  .init(file: "request_echo9000_1_0", version: .v1_0, header: req(4, true, "echoBytes"), bodyStart: 52, body: .bytes(9000)),
  // Fragmented captures: checked after reassembly.
  .init(file: "request_echo9000_1_1", version: .v1_1, header: req(4, true, "echoBytes", contexts: [omniCodeSets]), bodyStart: 72, body: .bytes(9000)),
  .init(file: "request_echo9000_1_2", version: .v1_2, header: req(4, true, "echoBytes", contexts: [omniCodeSets]), bodyStart: 72, body: .bytes(9000)),
  .init(file: "request_echo16384_1_1", version: .v1_1, header: req(6, true, "echoBytes"), bodyStart: 52, body: .bytes(16384)),
  .init(file: "request_echo16384_1_2", version: .v1_2, header: req(6, true, "echoBytes"), bodyStart: 56, body: .bytes(16384)),
]

func rep(_ id: UInt32, _ status: ReplyStatus = .noException) -> ReplyHeader { ReplyHeader(requestID: id, status: status) }

let objectNotExistBody = SystemExceptionBody(repositoryID: "IDL:omg.org/CORBA/OBJECT_NOT_EXIST:1.0", minor: 0x4F4D_0001, completion: .no)
let badOperationBody = SystemExceptionBody(repositoryID: "IDL:omg.org/CORBA/BAD_OPERATION:1.0", minor: 0x4154_0026, completion: .no)

let replyCases: [ReplyCase] = [
  .init(file: "reply_add_1_0", version: .v1_0, header: rep(4), bodyStart: 24, body: .int64(42)),
  .init(file: "reply_add_1_1", version: .v1_1, header: rep(4), bodyStart: 24, body: .int64(42)),
  .init(file: "reply_add_1_2", version: .v1_2, header: rep(4), bodyStart: 24, body: .int64(42)),
  .init(file: "reply_add_be_1_2", version: .v1_2, header: rep(9), bodyStart: 24, body: .int64(42)),
  .init(file: "reply_echo16_1_0", version: .v1_0, header: rep(6), bodyStart: 24, body: .bytes(16)),
  .init(file: "reply_echo16_1_1", version: .v1_1, header: rep(6), bodyStart: 24, body: .bytes(16)),
  .init(file: "reply_echo16_1_2", version: .v1_2, header: rep(6), bodyStart: 24, body: .bytes(16)),
  .init(file: "reply_is_a_other_1_0", version: .v1_0, header: rep(12), bodyStart: 24, body: .bool(false)),
  .init(file: "reply_is_a_other_1_1", version: .v1_1, header: rep(12), bodyStart: 24, body: .bool(false)),
  .init(file: "reply_is_a_other_1_2", version: .v1_2, header: rep(12), bodyStart: 24, body: .bool(false)),
  .init(file: "reply_is_a_1_2", version: .v1_2, header: rep(2), bodyStart: 24, body: .bool(true)),
  .init(file: "reply_non_existent_1_0", version: .v1_0, header: rep(10), bodyStart: 24, body: .bool(false)),
  .init(file: "reply_non_existent_1_1", version: .v1_1, header: rep(10), bodyStart: 24, body: .bool(false)),
  .init(file: "reply_non_existent_1_2", version: .v1_2, header: rep(10), bodyStart: 24, body: .bool(false)),
  .init(file: "reply_object_not_exist_1_2", version: .v1_2, header: rep(7, .systemException), bodyStart: 24, body: .systemException(objectNotExistBody)),
  .init(file: "reply_bad_operation_1_2", version: .v1_2, header: rep(8, .systemException), bodyStart: 24, body: .systemException(badOperationBody)),
  .init(file: "reply_echo9000_1_0", version: .v1_0, header: rep(4), bodyStart: 24, body: .bytes(9000)),
  .init(file: "reply_echo9000_1_1", version: .v1_1, header: rep(4), bodyStart: 24, body: .bytes(9000)),
  .init(file: "reply_echo9000_1_2", version: .v1_2, header: rep(4), bodyStart: 24, body: .bytes(9000)),
]

let locateRequestCases: [LocateCase] = [
  .init(file: "locate_request_1_0", version: .v1_0, requestID: 2, key: echoKey),
  .init(file: "locate_request_1_1", version: .v1_1, requestID: 2, key: echoKey),
  .init(file: "locate_request_1_2", version: .v1_2, requestID: 2, key: echoKey),
  .init(file: "locate_request_unknown_1_2", version: .v1_2, requestID: 2, key: Array("NoSuchKey".utf8)),
]

let locateReplyCases: [LocateReplyCase] = [
  .init(file: "locate_reply_1_0", version: .v1_0, requestID: 2, status: .objectHere),
  .init(file: "locate_reply_1_1", version: .v1_1, requestID: 2, status: .objectHere),
  .init(file: "locate_reply_1_2", version: .v1_2, requestID: 2, status: .objectHere),
  .init(file: "locate_reply_unknown_1_2", version: .v1_2, requestID: 2, status: .unknownObject),
  .init(file: "locate_reply_crafted_1_2", version: .v1_2, requestID: 5, status: .objectHere),
  .init(file: "locate_reply_unknown_crafted_1_2", version: .v1_2, requestID: 6, status: .unknownObject),
]

/// The whole message a capture holds (reassembled if it is fragmented) and its padding mask.
func goldenWhole(_ name: String) throws -> (bytes: [UInt8], mask: [Bool], fragments: Int) {
  let file = try Golden.load(name)
  if file.messageRanges.count == 1 { return (file.message(0), file.paddingMask(0), 1) }
  let messages = try readAll(file.bytes)
  guard messages.count == 1 else { throw GoldenError("\(name): \(messages.count) messages after reassembly") }
  var mask = file.paddingMask(0)
  mask += [Bool](repeating: false, count: max(0, messages[0].bytes.count - mask.count))
  return (messages[0].bytes, mask, file.messageRanges.count)
}

/// A builder for `type` writing in `order` (GIOPMessageBuilder writes the native order).
func messageBuilder(_ type: GIOPMessageType, _ version: GIOPVersion, order: ByteOrder = .native) -> GIOPMessageBuilder {
  var b = GIOPMessageBuilder(type, version: version)
  if order != .native {
    b.writer = CDRWriter(capacity: 256, byteOrder: order, giopMinor: version.minor)
    GIOPHeader.begin(type, version: version, writer: &b.writer)
  }
  return b
}

@Suite("omniORB golden messages")
struct GoldenMessageTests {
  @Test func goldenFolderIsThere() throws {
    let names = try Golden.allNames()
    #expect(names.count >= 60, "found \(names.count) captures in \(Golden.directory.path)")
    for needed in requestCases.map(\.file) + replyCases.map(\.file) + ["request_bad_key_length_1_2", "request_huge_length_1_2"] {
      #expect(names.contains(needed), "missing \(needed).hex")
    }
  }

  // MARK: every capture against its own breakdown

  @Test(arguments: (try? Golden.allNames()) ?? [])
  func headerAndFieldsAgreeWithBreakdown(_ name: String) throws {
    let file = try Golden.load(name)
    #expect(!file.fields[0].isEmpty, "\(name): no breakdown found")
    for index in file.messageRanges.indices {
      let bytes = file.message(index)
      let header = try parseHeader(bytes).get()
      let what = "\(name) message \(index + 1)"
      var checked = 0
      if let v = file.value("GIOP version", message: index) {
        #expect(v == "\(header.version.major).\(header.version.minor)", "\(what): version")
        checked += 1
      }
      if let t = file.intValue("message type", message: index) {
        #expect(UInt64(header.messageType.rawValue) == t, "\(what): message type")
        checked += 1
      }
      if let s = file.intValue("message size", message: index) {
        #expect(UInt64(header.messageSize) == s, "\(what): message size")
        checked += 1
      }
      if let flags = file.value("flags", message: index).flatMap({ UInt8($0.dropFirst(2).prefix(2), radix: 16) }) {
        #expect(header.byteOrder == (flags & 1 == 1 ? .littleEndian : .bigEndian), "\(what): byte order")
        #expect(header.moreFragments == (flags & 2 != 0), "\(what): more fragments")
        checked += 1
      }
      if let order = file.intValue("byte_order", message: index) {
        #expect(header.byteOrder == (order == 1 ? .littleEndian : .bigEndian), "\(what): byte order")
        checked += 1
      }
      #expect(checked >= 4, "\(what): only \(checked) header fields found in the breakdown")
    }

    // The body fields, on the whole (reassembled) message; partial captures stop at the header.
    let first = try parseHeader(file.message(0)).get()
    let complete = file.messageRanges[0].count == GIOPHeader.size + Int(first.messageSize)
    guard complete, first.messageType != .fragment else { return }
    let whole = try goldenWhole(name).bytes
    let message = try incoming(whole)
    var r = message.bodyReader()
    var checked = 0
    func expectField(_ key: String, _ actual: UInt64) {
      guard let v = file.intValue(key) else { return }
      #expect(actual == v, "\(name): \(key)")
      checked += 1
    }
    switch message.header.messageType {
    case .request:
      guard name != "request_bad_key_length_1_2" else {
        #expect(throws: (any Error).self) { _ = try RequestHeader.decode(from: &r, version: message.header.version) }
        return
      }
      let h = try RequestHeader.decode(from: &r, version: message.header.version)
      expectField("request_id", UInt64(h.requestID))
      expectField("response_flags", UInt64(h.responseFlags))
      expectField("response_expected", h.responseExpected ? 1 : 0)
      expectField("service context list: count", UInt64(h.serviceContexts.count))
      if let op = file.value("operation") {
        #expect(h.operation == op, "\(name): operation")
        checked += 1
      }
      if let key = quotedKey(file) {
        #expect(h.target.objectKey == Array(key.utf8), "\(name): object key")
        checked += 1
      }
      if let tcsc = file.intValue("char_data (TCS-C)"), let tcsw = file.intValue("wchar_data (TCS-W)") {
        let cs = try #require(h.serviceContexts.first { $0.id == ServiceContext.codeSetsID })
        let decoded = try cs.decodeCodeSets()
        #expect(UInt64(decoded.char.rawValue) == tcsc && UInt64(decoded.wchar.rawValue) == tcsw, "\(name): code sets")
        checked += 1
      }
      #expect(checked >= 4, "\(name): only \(checked) request fields compared")
    case .reply:
      let h = try ReplyHeader.decode(from: &r, version: message.header.version)
      expectField("request_id", UInt64(h.requestID))
      expectField("reply_status", UInt64(h.status.rawValue))
      expectField("service context list: count", UInt64(h.serviceContexts.count))
      if h.status == .systemException {
        let e = try SystemExceptionBody.decode(from: &r)
        expectField("minor code", UInt64(e.minor))
        expectField("completion_status", UInt64(e.completion.rawValue))
        #expect(file.value("exception repository id") == e.repositoryID, "\(name): repository id")
      }
      #expect(checked >= 3, "\(name): only \(checked) reply fields compared")
    case .locateRequest:
      var session = ServerSession()
      guard case .locate(let id, let key) = session.handle(message) else {
        Issue.record("\(name): not decoded as a LocateRequest")
        return
      }
      expectField("request_id", UInt64(id))
      if let k = quotedKey(file) { #expect(key == Array(k.utf8)); checked += 1 }
      #expect(checked == 2, "\(name): only \(checked) LocateRequest fields compared")
    case .locateReply:
      let id: UInt32 = try r.read()
      let status: UInt32 = try r.read()
      expectField("request_id", UInt64(id))
      expectField("locate_status", UInt64(status))
      #expect(checked == 2, "\(name): only \(checked) LocateReply fields compared")
    default:
      #expect(message.header.messageSize == 0, "\(name): header-only message with a body")
    }
  }

  /// The object key the breakdown quotes (`object key = 4 octets "Echo"`).
  func quotedKey(_ file: GoldenFile) -> String? {
    for field in file.fields[0] {
      guard let r = field.text.range(of: "object key = ") ?? field.text.range(of: "object_key = ") else { continue }
      let rest = field.text[r.upperBound...]
      guard let open = rest.firstIndex(of: "\"") else { continue }
      let body = rest[rest.index(after: open)...]
      guard let close = body.firstIndex(of: "\"") else { continue }
      return String(body[..<close])
    }
    return nil
  }

  // MARK: requests

  @Test(arguments: requestCases)
  func decodeRequest(_ c: RequestCase) throws {
    let (bytes, _, fragments) = try goldenWhole(c.file)
    let message = try incoming(bytes)
    #expect(message.header.version == c.version)
    #expect(message.header.byteOrder == c.order)
    #expect(message.header.messageType == .request)
    #expect(!message.header.moreFragments)
    #expect(Int(message.header.messageSize) == bytes.count - GIOPHeader.size)
    if case .bytes(let n) = c.body, n > 8000, c.version >= .v1_1 { #expect(fragments == 2, "\(c.file) is a fragmented capture") }
    var r = message.bodyReader()
    let header = try RequestHeader.decode(from: &r, version: c.version)
    #expect(header == c.header)
    #expect(header.target.objectKey == c.header.target.objectKey)
    #expect(header.principal.isEmpty)
    #expect(r.position == c.bodyStart, "\(c.file): body starts at \(r.position)")
    if let cs = header.serviceContexts.first(where: { $0.id == ServiceContext.codeSetsID }) {
      #expect(try cs.decodeCodeSets() == isoUTF16, "\(c.file): CodeSets ISO-8859-1 / UTF-16")
    }
    try c.body.check(&r, c.file)
  }

  @Test(arguments: requestCases)
  func encodeRequestLikeOmniORB(_ c: RequestCase) throws {
    let (golden, mask, _) = try goldenWhole(c.file)
    var b = messageBuilder(.request, c.version, order: c.order)
    try c.header.encode(to: &b.writer, version: c.version)
    b.beginBody()
    try c.body.write(to: &b.writer)
    let bytes = b.finish()
    #expect(maskedDifference(bytes, golden, mask: mask) == nil, "\(c.file): \(maskedDifference(bytes, golden, mask: mask) ?? "")")
    // Courier's own padding is always zero.
    for i in 0..<min(bytes.count, mask.count) where mask[i] {
      #expect(bytes[i] == 0, "\(c.file): Courier padding byte at \(i) is \(bytes[i])")
    }
  }

  @Test(arguments: requestCases)
  func requestDecodeThenReencode(_ c: RequestCase) throws {
    let (golden, mask, _) = try goldenWhole(c.file)
    let message = try incoming(golden)
    var r = message.bodyReader()
    let header = try RequestHeader.decode(from: &r, version: c.version)
    var b = messageBuilder(.request, c.version, order: message.header.byteOrder)
    try header.encode(to: &b.writer, version: c.version)
    b.beginBody()
    #expect(b.writer.count == r.position, "\(c.file): re-encoded header ends at \(b.writer.count), decoded at \(r.position)")
    b.writer.writeRaw(golden[r.position...])
    let bytes = b.finish()
    #expect(maskedDifference(bytes, golden, mask: mask) == nil, "\(c.file): \(maskedDifference(bytes, golden, mask: mask) ?? "")")
  }

  @Test func bigEndianRequestDecodes() throws {
    let file = try Golden.load("request_add_be_1_2")
    let message = try incoming(file.message())
    #expect(message.header.byteOrder == .bigEndian)
    #expect(message.header.messageSize == 52)
    var r = message.bodyReader()
    #expect(r.byteOrder == .bigEndian)
    let h = try RequestHeader.decode(from: &r, version: .v1_2)
    #expect(h.requestID == 9)
    #expect(h.responseFlags == 3)
    #expect(h.target == .key(echoKey))
    #expect(h.operation == "add")
    #expect(h.serviceContexts.isEmpty)
    let a: Int64 = try r.read(), b: Int64 = try r.read()
    #expect(a + b == 42)
    // Read little-endian by mistake the same bytes say something else: the flag matters.
    var wrong = CDRReader(file.message(), byteOrder: .littleEndian, position: 12)
    #expect(try wrong.read(UInt32.self) == 0x0900_0000)
  }

  // MARK: replies

  @Test(arguments: replyCases)
  func decodeReply(_ c: ReplyCase) throws {
    let (bytes, _, _) = try goldenWhole(c.file)
    let message = try incoming(bytes)
    #expect(message.header.version == c.version)
    #expect(message.header.messageType == .reply)
    #expect(message.header.byteOrder == .littleEndian)
    var r = message.bodyReader()
    let header = try ReplyHeader.decode(from: &r, version: c.version)
    #expect(header == c.header)
    #expect(r.position == c.bodyStart)
    try c.body.check(&r, c.file)
    if case .systemException(let e) = c.body {
      // What a Courier client makes of it.
      var again = message.bodyReader()
      _ = try ReplyHeader.decode(from: &again, version: c.version)
      let error = try SystemExceptionBody.decode(from: &again).error
      #expect(error.code.repositoryID == e.repositoryID)
      #expect(error.minor == e.minor)
      #expect(error.completion == .no)
    }
  }

  @Test(arguments: replyCases)
  func encodeReplyExactlyLikeOmniORB(_ c: ReplyCase) throws {
    let (golden, _, _) = try goldenWhole(c.file)
    var b = GIOPMessageBuilder(.reply, version: c.version)
    c.header.encode(to: &b.writer, version: c.version)
    b.beginBody()
    try c.body.write(to: &b.writer)
    let bytes = b.finish()
    #expect(maskedDifference(bytes, golden) == nil, "\(c.file): \(maskedDifference(bytes, golden) ?? "")")
  }

  @Test(arguments: replyCases)
  func replyDecodeThenReencode(_ c: ReplyCase) throws {
    let (golden, _, _) = try goldenWhole(c.file)
    let message = try incoming(golden)
    var r = message.bodyReader()
    let header = try ReplyHeader.decode(from: &r, version: c.version)
    var b = GIOPMessageBuilder(.reply, version: c.version)
    let statusOffset = header.encode(to: &b.writer, version: c.version)
    #expect(statusOffset == (c.version >= .v1_2 ? 16 : 20))
    b.beginBody()
    b.writer.writeRaw(golden[r.position...])
    let bytes = b.finish()
    #expect(bytes == golden, "\(c.file): \(maskedDifference(bytes, golden) ?? "")")
  }

  // MARK: locate

  @Test(arguments: locateRequestCases)
  func locateRequest(_ c: LocateCase) throws {
    let file = try Golden.load(c.file)
    let message = try incoming(file.message())
    #expect(message.header.messageType == .locateRequest)
    #expect(message.header.version == c.version)
    var session = ServerSession()
    guard case .locate(let id, let key) = session.handle(message) else {
      Issue.record("\(c.file) not decoded as a LocateRequest")
      return
    }
    #expect(id == c.requestID)
    #expect(key == c.key)
    // Encoded by hand with Courier's writer: the same bytes, padding aside.
    var b = GIOPMessageBuilder(.locateRequest, version: c.version)
    b.writer.write(c.requestID)
    if c.version >= .v1_2 { b.writer.write(Int16(0)) }
    b.writer.writeOctetSequence(c.key)
    let bytes = b.finish()
    #expect(maskedDifference(bytes, file.message(), mask: file.paddingMask()) == nil,
            "\(c.file): \(maskedDifference(bytes, file.message(), mask: file.paddingMask()) ?? "")")
  }

  @Test(arguments: locateReplyCases)
  func locateReply(_ c: LocateReplyCase) throws {
    let file = try Golden.load(c.file)
    let message = try incoming(file.message())
    #expect(message.header.messageType == .locateReply)
    #expect(message.header.version == c.version)
    var r = message.bodyReader()
    #expect(try r.read(UInt32.self) == c.requestID)
    #expect(try LocateStatus(rawValue: r.read(UInt32.self)) == c.status)
    #expect(r.isAtEnd)
    // What GIOPServer writes for a LocateRequest.
    var b = GIOPMessageBuilder(.locateReply, version: c.version)
    b.writer.write(c.requestID)
    b.writer.write(c.status.rawValue)
    #expect(b.finish() == file.message())
  }

  // MARK: header-only messages

  @Test(arguments: [
    ("close_connection", GIOPMessageType.closeConnection, GIOPVersion.v1_2),
    ("close_connection_1_0", .closeConnection, .v1_0),
    ("close_connection_client_1_2", .closeConnection, .v1_2),
    ("message_error_reply", .messageError, .v1_2),
    ("message_error_bad_key_length_1_2", .messageError, .v1_2),
    ("message_error_over_max_1_2", .messageError, .v1_2),
  ])
  func headerOnlyMessages(_ name: String, _ type: GIOPMessageType, _ version: GIOPVersion) throws {
    let file = try Golden.load(name)
    let header = try parseHeader(file.message()).get()
    #expect(header.messageType == type)
    #expect(header.version == version)
    #expect(header.messageSize == 0)
    #expect(GIOPMessageBuilder.headerOnly(type, version: version) == file.message())
  }

  @Test func cancelRequestLayout() throws {
    // No capture has one; CORBA 3.0 §15.4.4: GIOP header + request_id.
    let bytes = GIOPMessageBuilder.cancelRequest(0x0102_0304, version: .v1_2)
    #expect(bytes == [0x47, 0x49, 0x4F, 0x50, 1, 2, 1, 2, 4, 0, 0, 0, 0x04, 0x03, 0x02, 0x01])
  }

  // MARK: header parsing

  @Test func headerParseRefusesGarbage() {
    func parse(_ b: [UInt8], max: Int = 1 << 20) -> Result<GIOPHeader, GIOPHeader.Problem> { parseHeader(b, maxMessageSize: max) }
    let good: [UInt8] = [0x47, 0x49, 0x4F, 0x50, 1, 2, 1, 0, 8, 0, 0, 0]
    #expect((try? parse(good).get())?.messageSize == 8)
    var bad = good
    bad[3] = 0x58
    #expect(parse(bad) == .failure(.badMagic))
    bad = good; bad[5] = 3
    #expect(parse(bad) == .failure(.unsupportedVersion(1, 3)))
    bad = good; bad[4] = 2; bad[5] = 0
    #expect(parse(bad) == .failure(.unsupportedVersion(2, 0)))
    bad = good; bad[7] = 9
    #expect(parse(bad) == .failure(.unknownMessageType(9)))
    bad = good; bad[5] = 0; bad[7] = 7
    #expect(parse(bad) == .failure(.unknownMessageType(7)), "GIOP 1.0 has no Fragment")
    bad = good; bad[8] = 0xFF; bad[9] = 0xFF; bad[10] = 0xFF; bad[11] = 0xFF
    #expect(parse(bad) == .failure(.tooLarge(0xFFFF_FFFF, limit: 1 << 20)))
    // GIOP 1.0 has no fragment bit: flag bit 1 is ignored there.
    bad = good; bad[5] = 0; bad[6] = 3
    #expect((try? parse(bad).get())?.moreFragments == false)
    bad = good; bad[6] = 3
    #expect((try? parse(bad).get())?.moreFragments == true)
  }

  // MARK: fragments

  @Test(arguments: ["request_echo9000_1_1", "request_echo9000_1_2", "request_echo16384_1_1", "request_echo16384_1_2",
                    "reply_echo9000_1_1", "reply_echo9000_1_2"])
  func fragmentedCaptureReassembles(_ name: String) throws {
    let file = try Golden.load(name)
    #expect(file.messageRanges.count == 2)
    let first = try parseHeader(file.message(0)).get()
    let second = try parseHeader(file.message(1)).get()
    #expect(first.moreFragments)
    #expect(second.messageType == .fragment)
    #expect(!second.moreFragments)
    let expectedCount = name.contains("16384") ? 16384 : 9000
    let fragmentHeader = first.version >= .v1_2 ? 4 : 0
    let expectedSize = file.bytes.count - 2 * GIOPHeader.size - fragmentHeader

    var results: [[GIOPIncoming]] = [try readAll(file.bytes)]
    for seed in 1...6 { results.append(try readAll(file.bytes, drip: true, seed: UInt64(seed))) }
    for messages in results {
      #expect(messages.count == 1)
      guard let m = messages.first else { continue }
      #expect(m.header.messageType == first.messageType)
      #expect(!m.header.moreFragments)
      #expect(m.bytes[6] & 2 == 0, "flags byte still says more fragments")
      #expect(Int(m.header.messageSize) == expectedSize)
      #expect(m.bytes.count == GIOPHeader.size + expectedSize)
      #expect(try parseHeader(m.bytes).get().messageSize == m.header.messageSize, "size field patched")
      var r = m.bodyReader()
      if m.header.messageType == .request {
        let h = try RequestHeader.decode(from: &r, version: m.header.version)
        #expect(h.operation == "echoBytes")
        #expect(h.target.objectKey == echoKey)
      } else {
        let h = try ReplyHeader.decode(from: &r, version: m.header.version)
        #expect(h.status == .noException)
        #expect(h.requestID == 4)
      }
      let data: [UInt8] = try r.readOctetSequence()
      #expect(data.count == expectedCount)
      #expect(data == pattern(expectedCount))
      #expect(r.isAtEnd)
    }
  }

  @Test func manyMessagesThroughADrippingStream() throws {
    // Every single-message capture back to back, cut at random places: the same messages come out.
    let names = requestCases.map(\.file) + replyCases.map(\.file) + locateReplyCases.map(\.file) + ["close_connection"]
    var stream: [UInt8] = []
    var expected: [[UInt8]] = []
    for name in names {
      let file = try Golden.load(name)
      stream += file.bytes
      expected.append(try goldenWhole(name).bytes)
    }
    for seed in [3, 7, 11] {
      let messages = try readAll(stream, drip: true, seed: UInt64(seed))
      #expect(messages.map(\.bytes) == expected)
    }
    #expect(try readAll(stream).map(\.bytes) == expected)
  }

  @Test func readerRefusesFragmentWithoutStartAndOversizeReassembly() throws {
    let fragment = try Golden.load("request_echo9000_1_2").message(1)
    let stream = MemoryStream(fragment)
    var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 20)
    do {
      _ = try reader.next()
      Issue.record("a lone Fragment was accepted")
    } catch {
      guard case .badFragment = error else { Issue.record("wrong error \(error)"); return }
    }
    // The two pieces are each under 9000 bytes, the whole is not.
    let whole = try Golden.load("request_echo9000_1_2").bytes
    var small = GIOPMessageReader(stream: MemoryStream(whole), maxMessageSize: 8500)
    do {
      _ = try small.next()
      Issue.record("reassembly over the limit was accepted")
    } catch {
      guard case .badFragment = error else { Issue.record("wrong error \(error)"); return }
    }
    // A cut in the middle of a message is .truncated, at a boundary .closed.
    let two = try Golden.load("reply_add_1_2").bytes
    var cut = GIOPMessageReader(stream: MemoryStream(two + two.prefix(20)), maxMessageSize: 1 << 20)
    _ = try cut.next()
    do {
      _ = try cut.next()
      Issue.record("truncated message accepted")
    } catch {
      guard case .truncated = error else { Issue.record("wrong error \(error)"); return }
    }
    var huge = GIOPMessageReader(stream: MemoryStream(try Golden.load("request_huge_length_1_2").bytes), maxMessageSize: 64 << 20)
    do {
      _ = try huge.next()
      Issue.record("4 GiB header accepted")
    } catch {
      guard case .badHeader(.tooLarge(0xFFFF_FFFF, limit: _)) = error else { Issue.record("wrong error \(error)"); return }
    }
  }

  // MARK: a Courier server answers omniORB's requests as omniORB did

  struct Exchange: Sendable {
    var request: String
    var reply: String?
    /// The offset of a minor code that differs on purpose (Courier's own minor codes).
    var minorAt: Int?
    var expectEcho: Int?
  }

  @Test func courierServerAnswersOmniORBRequestsWithOmniORBsBytes() throws {
    let adapter = ObjectAdapter()
    let echo = EchoImplementation()
    adapter.activate(Bench_Echo.Servant(echo), key: "Echo")
    let transport = InProcessTransport()
    let server = GIOPServer(adapter: adapter, listener: transport.listener)
    server.start()
    defer { server.shutdown(timeout: .seconds(5)) }
    let stream = try transport.connector.connect(host: "inprocess", port: 1, deadline: nil)
    defer { stream.shutdown() }
    var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 24)

    var exchanges: [Exchange] = []
    for v in ["1_0", "1_1", "1_2"] {
      exchanges += [
        Exchange(request: "locate_request_\(v)", reply: "locate_reply_\(v)"),
        Exchange(request: "request_add_\(v)", reply: "reply_add_\(v)"),
        Exchange(request: "request_echo16_\(v)", reply: "reply_echo16_\(v)"),
        Exchange(request: "request_ping_\(v)", reply: nil),
        Exchange(request: "request_non_existent_\(v)", reply: "reply_non_existent_\(v)"),
        Exchange(request: "request_is_a_other_\(v)", reply: "reply_is_a_other_\(v)"),
        Exchange(request: "request_echo9000_\(v)", reply: "reply_echo9000_\(v)"),
      ]
    }
    exchanges += [
      Exchange(request: "request_is_a_1_2", reply: "reply_is_a_1_2"),
      Exchange(request: "request_is_a_corbaloc_default", reply: nil, expectEcho: nil),
      Exchange(request: "request_add_be_1_2", reply: "reply_add_be_1_2"),
      Exchange(request: "request_object_not_exist_1_2", reply: "reply_object_not_exist_1_2", minorAt: 68),
      Exchange(request: "request_bad_operation_1_2", reply: "reply_bad_operation_1_2", minorAt: 64),
      Exchange(request: "locate_request_unknown_1_2", reply: "locate_reply_unknown_1_2"),
      Exchange(request: "request_echo16384_1_1", reply: nil, expectEcho: 16384),
      Exchange(request: "request_echo16384_1_2", reply: nil, expectEcho: 16384),
    ]
    for x in exchanges {
      try stream.write(try Golden.load(x.request).bytes)
      if let replyName = x.reply {
        let reply = try reader.next(deadline: .now + .seconds(5))
        let golden = try goldenWhole(replyName).bytes
        var mask = [Bool](repeating: false, count: golden.count)
        if let m = x.minorAt { for i in m..<m + 4 { mask[i] = true } }
        #expect(maskedDifference(reply.bytes, golden, mask: mask) == nil,
                "reply to \(x.request): \(maskedDifference(reply.bytes, golden, mask: mask) ?? "")")
      } else if x.request == "request_is_a_corbaloc_default" {
        // omniORB's reply to this one was not captured: a GIOP 1.0 true.
        let reply = try reader.next(deadline: .now + .seconds(5))
        #expect(reply.header.version == .v1_0)
        var r = reply.bodyReader()
        let h = try ReplyHeader.decode(from: &r, version: .v1_0)
        #expect(h.requestID == 2 && h.status == .noException)
        #expect(try r.read(Bool.self) == true)
      } else if let n = x.expectEcho {
        let reply = try reader.next(deadline: .now + .seconds(5))
        var r = reply.bodyReader()
        let h = try ReplyHeader.decode(from: &r, version: reply.header.version)
        #expect(h.requestID == 6 && h.status == .noException)
        #expect(try r.readOctetSequence() == pattern(n))
      }
    }
    // The three oneway pings ran, in order with the rest (one connection thread).
    #expect(echo.pingCount == 3)
  }
}
