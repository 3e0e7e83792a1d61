import CourierONC
import CourierWire
import Testing

/// RFC 5531 message headers. The golden bytes here follow the RFC's XDR layout field by field;
/// bytes captured from rpcgen/libtirpc peers are still to come (issue 6).
@Suite("ONC RPC messages")
struct RPCMessageTests {
  static func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
  }

  @Test func callHeaderMatchesTheRFCLayout() throws {
    // The seeds' FILEREADWRITE program (9999), version 2, procedure WRITE (1), AUTH_NONE.
    let header = RPCMessageHeader(xid: 0x0102_0304, body: .call(CallHeader(program: 9999, version: 2, procedure: 1)))
    let bytes = try header.encoded()
    #expect(bytes == Self.hex("01020304 00000000 00000002 0000270F 00000002 00000001 00000000 00000000 00000000 00000000"))
    var r = XDRReader(bytes)
    #expect(try RPCMessageHeader.read(from: &r) == header)
    #expect(r.isAtEnd)
  }

  @Test("every reply round-trips", arguments: [
    ReplyBody.accepted(verifier: .none, status: .success),
    .accepted(verifier: .none, status: .programUnavailable),
    .accepted(verifier: .none, status: .programMismatch(low: 1, high: 3)),
    .accepted(verifier: .none, status: .procedureUnavailable),
    .accepted(verifier: .none, status: .garbageArguments),
    .accepted(verifier: OpaqueAuth(flavor: .short, body: [1, 2, 3]), status: .systemError),
    .rpcMismatch(low: 2, high: 2),
    .authError(.badCredential),
    .authError(.tooWeak),
  ])
  func replyRoundTrips(body: ReplyBody) throws {
    let header = RPCMessageHeader(xid: 77, body: .reply(body))
    var w = XDRWriter()
    try header.write(to: &w)
    w.write(Int32(-5))  // results after the header stay where they are
    var r = XDRReader(w.finishedBytes())
    #expect(try RPCMessageHeader.read(from: &r) == header)
    #expect(try r.read(Int32.self) == -5)
  }

  @Test func programMismatchCarriesItsRange() throws {
    let bytes = try RPCMessageHeader(xid: 1, body: .reply(.accepted(verifier: .none, status: .programMismatch(low: 2, high: 4)))).encoded()
    #expect(bytes == Self.hex("00000001 00000001 00000000 00000000 00000000 00000002 00000002 00000004"))
  }

  @Test func authSysCredentialsRoundTripAndAreBounded() throws {
    let parameters = AuthSysParameters(stamp: 42, machineName: "host", uid: 1000, gid: 100, gids: [4, 24, 27])
    let credential = try parameters.credential()
    #expect(credential.flavor == .sys)
    #expect(credential.body == Self.hex("0000002A 00000004 686F7374 000003E8 00000064 00000003 00000004 00000018 0000001B"))
    #expect(try AuthSysParameters(credential) == parameters)
    #expect(throws: XDRError.self) { try AuthSysParameters(machineName: "h", uid: 0, gid: 0, gids: Array(0..<17)).credential() }
    var tooMany = credential.body
    tooMany.replaceSubrange(20..<24, with: [0, 0, 0, 17])
    #expect { try AuthSysParameters(OpaqueAuth(flavor: .sys, body: tooMany)) } throws: { ($0 as? XDRError)?.code == .lengthTooLarge }
    #expect { try AuthSysParameters(OpaqueAuth(flavor: .sys, body: credential.body + [0, 0, 0, 0])) } throws: {
      ($0 as? XDRError)?.code == .sizeMismatch
    }
  }

  @Test func badHeadersAreErrorsNotTraps() throws {
    let call = try RPCMessageHeader(xid: 9, body: .call(CallHeader(program: 100_000, version: 2, procedure: 0))).encoded()
    // Every truncation of a valid header fails cleanly.
    for cut in 0..<call.count {
      var r = XDRReader(Array(call[0..<cut]))
      #expect(throws: XDRError.self) { try RPCMessageHeader.read(from: &r) }
    }
    // An unknown message type, reply state, accept status and reject status.
    for bytes in [
      Self.hex("00000001 00000007"),
      Self.hex("00000001 00000001 00000009"),
      Self.hex("00000001 00000001 00000000 00000000 00000000 00000006"),
      Self.hex("00000001 00000001 00000001 00000002"),
    ] {
      var r = XDRReader(bytes)
      #expect { try RPCMessageHeader.read(from: &r) } throws: { ($0 as? XDRError)?.code == .invalidEnum }
    }
    // A credential body above 400 bytes: refused before it is read.
    var w = XDRWriter()
    w.write(UInt32(1)); w.write(UInt32(0)); w.write(UInt32(2)); w.write(UInt32(1)); w.write(UInt32(1)); w.write(UInt32(1))
    w.write(UInt32(1)); w.write(UInt32(401))
    var r = XDRReader(w.finishedBytes() + [UInt8](repeating: 0, count: 404))
    #expect { try RPCMessageHeader.read(from: &r) } throws: { ($0 as? XDRError)?.code == .lengthTooLarge }
  }
}

@Suite("ONC RPC record marking")
struct RecordMarkingTests {
  @Test func oneFragmentHasTheLastBitAndTheLength() {
    #expect(RecordMarking.frame([1, 2, 3]) == [0x80, 0, 0, 3, 1, 2, 3])
    #expect(RecordMarking.frame([]) == [0x80, 0, 0, 0])
  }

  @Test("records survive any fragmenting and any feeding", arguments: [1, 2, 3, 7, 1000])
  func reassembly(fragmentSize: Int) throws {
    let records: [[UInt8]] = [[], Array(0..<10), [UInt8](repeating: 0xAB, count: 2_500), [42]]
    let stream = records.flatMap { RecordMarking.frame($0, fragmentSize: fragmentSize) }
    for piece in [1, 5, 4096] {
      var reassembler = RecordReassembler(maximumRecord: 4096)
      var out: [[UInt8]] = []
      var at = 0
      while at < stream.count {
        out += try reassembler.feed(stream[at..<min(at + piece, stream.count)])
        at += piece
      }
      #expect(out == records)
      try reassembler.finish()
    }
  }

  @Test func aHeaderClaimingTwoGiBFailsAtOnce() {
    var reassembler = RecordReassembler(maximumRecord: 1 << 20)
    #expect { _ = try reassembler.feed([0xFF, 0xFF, 0xFF, 0xFF]) } throws: { ($0 as? RecordMarkingError)?.code == .recordTooLarge }
  }

  @Test func fragmentsAddingUpPastTheBoundFail() throws {
    var reassembler = RecordReassembler(maximumRecord: 100)
    let stream = RecordMarking.frame([UInt8](repeating: 1, count: 150), fragmentSize: 60)
    #expect(throws: RecordMarkingError.self) { _ = try reassembler.feed(stream) }
  }

  @Test func aStreamEndingInsideARecordIsTruncated() throws {
    var reassembler = RecordReassembler()
    let stream = RecordMarking.frame(Array(0..<20), fragmentSize: 8)
    #expect(try reassembler.feed(stream.dropLast(3)).isEmpty)
    #expect { try reassembler.finish() } throws: { ($0 as? RecordMarkingError)?.code == .truncated }
  }
}
