import CourierCore
import CourierGIOP
import CourierWire
import Testing

/// ServerSession.handle on crafted messages: the server's protocol decisions without sockets.
@Suite("ServerSession")
struct ServerSessionTests {
  func golden(_ name: String, message index: Int = 0) throws -> GIOPIncoming {
    try incoming(try Golden.load(name).message(index))
  }

  func message(_ bytes: [UInt8]) throws -> GIOPIncoming { try incoming(bytes) }

  @Test(arguments: [
    ("request_add_1_0", 4, "add", 44), ("request_add_1_1", 4, "add", 64), ("request_add_1_2", 4, "add", 64),
    ("request_add_be_1_2", 9, "add", 48), ("request_echo16_1_2", 6, "echoBytes", 56),
    ("request_ping_1_2", 8, "ping", 48), ("request_is_a_other_1_1", 12, "_is_a", 48),
  ])
  func requestIsDispatchedWithItsBody(_ name: String, _ id: Int, _ operation: String, _ bodyStart: Int) throws {
    var session = ServerSession()
    let m = try golden(name)
    guard case .request(let d) = session.handle(m) else {
      Issue.record("\(name): not a request action")
      return
    }
    #expect(d.header.requestID == UInt32(id))
    #expect(d.header.operation == operation)
    #expect(d.header.target.objectKey == echoKey)
    #expect(d.bodyStart == bodyStart)
    // The body the servant will read starts there.
    var r = m.bodyReader(codeSets: session.codeSets)
    r.position = d.bodyStart
    switch operation {
    case "add":
      #expect(try r.read(Int64.self) == 2)
      #expect(try r.read(Int64.self) == 40)
    case "echoBytes":
      #expect(try r.readOctetSequence() == pattern(16))
    case "_is_a":
      #expect(try r.readString() == "IDL:Other:1.0")
    default:
      #expect(r.isAtEnd)
    }
  }

  @Test func onewayRequestSaysSo() throws {
    var session = ServerSession()
    guard case .request(let d) = session.handle(try golden("request_ping_1_0")) else {
      Issue.record("not a request")
      return
    }
    #expect(!d.header.responseExpected)
  }

  @Test(arguments: [("locate_request_1_0", "Echo"), ("locate_request_1_1", "Echo"), ("locate_request_1_2", "Echo"),
                    ("locate_request_unknown_1_2", "NoSuchKey")])
  func locateRequest(_ name: String, _ key: String) throws {
    var session = ServerSession()
    guard case .locate(let id, let k) = session.handle(try golden(name)) else {
      Issue.record("\(name): not a locate action")
      return
    }
    #expect(id == 2)
    #expect(k == Array(key.utf8))
  }

  @Test func locateRequestWithProfileAddress() throws {
    // GIOP 1.2 LocateRequest naming its target by a whole IIOP profile.
    let profile = IIOPProfile(version: .v1_2, host: "h", port: 1, objectKey: Array("ByProfile".utf8))
    var b = GIOPMessageBuilder(.locateRequest, version: .v1_2)
    b.writer.write(UInt32(31))
    b.writer.write(Int16(1))
    try profile.taggedProfile().encode(to: &b.writer)
    var session = ServerSession()
    guard case .locate(let id, let key) = session.handle(try message(b.finish())) else {
      Issue.record("not a locate action")
      return
    }
    #expect(id == 31)
    #expect(key == Array("ByProfile".utf8))
  }

  @Test func requestWithReferenceAddress() throws {
    let p0 = IIOPProfile(version: .v1_2, host: "a", port: 1, objectKey: Array("First".utf8))
    let p1 = IIOPProfile(version: .v1_2, host: "b", port: 2, objectKey: Array("Second".utf8))
    let ior = IOR(typeID: "IDL:X:1.0", profiles: [try p0.taggedProfile(), try p1.taggedProfile()])
    var b = GIOPMessageBuilder(.request, version: .v1_2)
    try RequestHeader(requestID: 3, responseExpected: true, target: .reference(selectedProfile: 1, ior), operation: "op")
      .encode(to: &b.writer, version: .v1_2)
    b.beginBody()
    b.writer.write(Int32(7))
    var session = ServerSession()
    let m = try message(b.finish())
    guard case .request(let d) = session.handle(m) else {
      Issue.record("not a request")
      return
    }
    #expect(d.header.target.objectKey == Array("Second".utf8))
    #expect(d.bodyStart % 8 == 0)
    var r = m.bodyReader()
    r.position = d.bodyStart
    #expect(try r.read(Int32.self) == 7)
    // An index past the profiles names no key.
    #expect(TargetAddress.reference(selectedProfile: 5, ior).objectKey == nil)
  }

  @Test func cancelRequestIsIgnored() throws {
    var session = ServerSession()
    for v in [GIOPVersion.v1_0, .v1_1, .v1_2] {
      guard case .ignore = session.handle(try message(GIOPMessageBuilder.cancelRequest(9, version: v))) else {
        Issue.record("CancelRequest \(v) not ignored")
        continue
      }
    }
  }

  @Test(arguments: ["reply_add_1_0", "reply_add_1_2", "locate_reply_1_2", "reply_object_not_exist_1_2"])
  func replyToAServerIsRejected(_ name: String) throws {
    var session = ServerSession()
    guard case .reject = session.handle(try golden(name)) else {
      Issue.record("\(name) accepted by a server")
      return
    }
  }

  @Test func loneFragmentIsRejected() throws {
    var session = ServerSession()
    guard case .reject = session.handle(try golden("request_echo9000_1_2", message: 1)) else {
      Issue.record("Fragment accepted")
      return
    }
  }

  @Test(arguments: ["close_connection", "close_connection_1_0", "close_connection_client_1_2", "message_error_reply"])
  func closeAndMessageErrorClose(_ name: String) throws {
    var session = ServerSession()
    guard case .close = session.handle(try golden(name)) else {
      Issue.record("\(name) does not close")
      return
    }
  }

  @Test func undecodableRequestIsRejected() throws {
    var session = ServerSession()
    guard case .reject = session.handle(try golden("request_bad_key_length_1_2")) else {
      Issue.record("bad request header accepted")
      return
    }
    // A LocateRequest cut short too.
    var b = GIOPMessageBuilder(.locateRequest, version: .v1_2)
    b.writer.write(UInt32(1))
    b.writer.write(Int16(7))  // no such addressing disposition
    guard case .reject = session.handle(try message(b.finish())) else {
      Issue.record("bad LocateRequest accepted")
      return
    }
  }

  @Test func codeSetsContextSetsTheSessionsCodeSets() throws {
    var session = ServerSession()
    #expect(session.codeSets == TransmissionCodeSets(char: .iso8859_1, wchar: .utf16), "the default before any context")
    // A client announcing UTF-8 / UTF-16 (what a Courier client sends).
    var b = GIOPMessageBuilder(.request, version: .v1_2)
    try RequestHeader(requestID: 1, responseExpected: true, target: .key(echoKey), operation: "x",
                      serviceContexts: [ServiceContext(id: 42, data: [1, 2, 3]), .codeSets(.default)])
      .encode(to: &b.writer, version: .v1_2)
    guard case .request(let d) = session.handle(try message(b.finish())) else {
      Issue.record("not a request")
      return
    }
    #expect(d.header.serviceContexts.count == 2)
    #expect(session.codeSets == TransmissionCodeSets(char: .utf8, wchar: .utf16))
    // Later requests without the context keep the choice.
    _ = session.handle(try golden("request_echo16_1_2"))
    #expect(session.codeSets == TransmissionCodeSets(char: .utf8, wchar: .utf16))
    // omniORB's context (ISO-8859-1 / UTF-16, big-endian encapsulation this time).
    var b2 = GIOPMessageBuilder(.request, version: .v1_1)
    try RequestHeader(requestID: 2, responseExpected: true, target: .key(echoKey), operation: "x",
                      serviceContexts: [.codeSets(isoUTF16, byteOrder: .bigEndian)])
      .encode(to: &b2.writer, version: .v1_1)
    _ = session.handle(try message(b2.finish()))
    #expect(session.codeSets == isoUTF16)
    // The golden GIOP 1.2 request carries omniORB's own.
    var fresh = ServerSession()
    var b3 = GIOPMessageBuilder(.request, version: .v1_2)
    try RequestHeader(requestID: 1, responseExpected: true, target: .key(echoKey), operation: "x",
                      serviceContexts: [.codeSets(.default)]).encode(to: &b3.writer, version: .v1_2)
    _ = fresh.handle(try message(b3.finish()))
    _ = fresh.handle(try golden("request_add_1_2"))
    #expect(fresh.codeSets == isoUTF16)
  }

  @Test func codeSetsUsedForTheBody() throws {
    // After a UTF-8 context a string argument is read as UTF-8; before it, as ISO-8859-1.
    func request(_ contexts: [ServiceContext], codeSets: TransmissionCodeSets) throws -> GIOPIncoming {
      var b = GIOPMessageBuilder(.request, version: .v1_2, codeSets: codeSets)
      try RequestHeader(requestID: 1, responseExpected: true, target: .key(echoKey), operation: "say", serviceContexts: contexts)
        .encode(to: &b.writer, version: .v1_2)
      b.beginBody()
      try b.writer.writeString("Zoë")
      return try message(b.finish())
    }
    var session = ServerSession()
    let utf8 = try request([.codeSets(.default)], codeSets: .default)
    guard case .request(let d) = session.handle(utf8) else {
      Issue.record("not a request")
      return
    }
    var r = utf8.bodyReader(codeSets: session.codeSets)
    r.position = d.bodyStart
    #expect(try r.readString() == "Zoë")

    var latin = ServerSession()
    let iso = try request([], codeSets: isoUTF16)
    guard case .request(let d2) = latin.handle(iso) else {
      Issue.record("not a request")
      return
    }
    var r2 = iso.bodyReader(codeSets: latin.codeSets)
    r2.position = d2.bodyStart
    #expect(try r2.readString() == "Zoë")
  }

  @Test func badCodeSetsContextIsIgnored() throws {
    var session = ServerSession()
    var b = GIOPMessageBuilder(.request, version: .v1_2)
    try RequestHeader(requestID: 1, responseExpected: true, target: .key(echoKey), operation: "x",
                      serviceContexts: [ServiceContext(id: ServiceContext.codeSetsID, data: [1, 0])])
      .encode(to: &b.writer, version: .v1_2)
    guard case .request = session.handle(try message(b.finish())) else {
      Issue.record("a bad CodeSets context made the request fail")
      return
    }
    #expect(session.codeSets == isoUTF16)
    #expect(throws: (any Error).self) { try ServiceContext(id: 1, data: []).decodeCodeSets() }
  }
}
