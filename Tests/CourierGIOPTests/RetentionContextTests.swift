import CourierCore
@testable import CourierGIOP
import CourierNIO
import CourierWire
import Synchronization
import Testing

/// The FT_REQUEST and acknowledgement contexts the ORB writes and reads in place.
@Suite("Retention contexts")
struct RetentionContextTests {
  /// The encapsulation as the generic CDR writer lays it out (the reference for the in-place one).
  static func viaWriter(_ body: (inout CDRWriter) throws -> Void) rethrows -> [UInt8] {
    var w = CDRWriter(capacity: 64, byteOrder: .bigEndian)
    w.append(ByteOrder.bigEndian.flag)
    try body(&w)
    return w.finishedBytes()
  }

  @Test("in-place FT_REQUEST bytes equal the CDR writer's", arguments: ["", "c", "c0123456789ab", "a-much-longer-client-identity-string"])
  func ftRequestBytes(clientID: String) throws {
    let ft = FTRequestContext(clientID: clientID, retentionID: -7, expirationTime: 0x0102_0304_0506_0708)
    let expected = try Self.viaWriter { w in
      try w.writeString(clientID)
      w.write(Int32(-7))
      w.write(UInt64(0x0102_0304_0506_0708))
    }
    #expect(ft.serviceContext.data == expected)
    #expect(try FTRequestContext(ft.serviceContext) == ft)
  }

  @Test("in-place acknowledgement bytes equal the CDR writer's", arguments: ["", "abc", "c0123456789ab"])
  func acknowledgementBytes(clientID: String) throws {
    let ack = ReplyAcknowledgement(clientID: clientID, below: 42)
    let expected = try Self.viaWriter { w in
      try w.writeString(clientID)
      w.write(Int32(42))
    }
    #expect(ack.serviceContext.data == expected)
    #expect(try ReplyAcknowledgement(ack.serviceContext) == ack)
  }

  @Test func headerRoundTripKeepsThemOutOfTheList() throws {
    let ft = FTRequestContext(clientID: "client", retentionID: 5, expirationTime: 99)
    let ack = ReplyAcknowledgement(clientID: "client", below: 3)
    let other = ServiceContext(id: 0x1234, data: [0, 1, 2])
    for version in [GIOPVersion.v1_0, .v1_1, .v1_2] {
      let header = RequestHeader(requestID: 9, responseExpected: true, target: .key([1, 2]), operation: "op",
                                 serviceContexts: [other], requestEndTime: 1234, ftRequest: ft, acknowledgement: ack)
      var w = CDRWriter(capacity: 128)
      w.giopMinor = version.minor
      try header.encode(to: &w, version: version)
      var r = CDRReader(w.bytes, byteOrder: w.byteOrder)
      let decoded = try RequestHeader.decode(from: &r, version: version)
      #expect(decoded.ftRequest == ft)
      #expect(decoded.acknowledgement == ack)
      #expect(decoded.requestEndTime == 1234)
      #expect(decoded.serviceContexts == [other])
    }
  }

  @Test("a truncated FT_REQUEST stays in the list", arguments: [1, 4, 9, 14, 20])
  func truncatedStaysInTheList(cut: Int) throws {
    let good = FTRequestContext(clientID: "client", retentionID: 5, expirationTime: 99).serviceContext
    let bad = ServiceContext(id: good.id, data: Array(good.data.prefix(cut)))
    let header = RequestHeader(requestID: 1, responseExpected: true, target: .key([1]), operation: "op", serviceContexts: [bad])
    var w = CDRWriter(capacity: 128)
    try header.encode(to: &w, version: .v1_2)
    var r = CDRReader(w.bytes, byteOrder: w.byteOrder)
    let decoded = try RequestHeader.decode(from: &r, version: .v1_2)
    #expect(decoded.ftRequest == nil)
    #expect(decoded.serviceContexts == [bad])
  }

  /// A request whose FT_REQUEST cannot be decoded is answered MARSHAL and not run.
  @Test func malformedContextIsRejectedUnrun() throws {
    let account = InvocationSemanticsTests.Account()
    let r = try InvocationSemanticsTests.Running(account)
    defer { r.stop() }
    let bad = ServiceContext(id: FTRequestContext.serviceContextID, data: [0, 0, 0])
    let ref = try r.reference(CallOptions(timeout: .seconds(5), serviceContexts: [bad]))
    #expect {
      _ = try InvocationSemanticsTests.deposit(ref, 5)
    } throws: { error in
      (error as? RPCError)?.code == .marshal && (error as? RPCError)?.completion == .no
    }
    #expect(account.executions.load(ordering: .relaxed) == 0)
    #expect(try InvocationSemanticsTests.deposit(try r.reference(CallOptions(timeout: .seconds(5))), 5) == 5)
  }
}
