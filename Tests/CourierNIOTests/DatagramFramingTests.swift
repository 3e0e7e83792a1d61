import CourierCore
import CourierGIOP
import Testing

/// The pure datagram framing: messages to datagrams and back, and every way a datagram can
/// be refused.
@Suite("Datagram framing")
struct DatagramFramingTests {
  /// A GIOP 1.2 message of `total` bytes (header included), big-endian, body from `seed`.
  static func message(_ total: Int, type: UInt8 = 0, seed: UInt64 = 1) -> [UInt8] {
    precondition(total >= 12)
    let size = UInt32(total - 12)
    var bytes: [UInt8] = [0x47, 0x49, 0x4F, 0x50, 1, 2, 0, type,
                          UInt8(size >> 24), UInt8(truncatingIfNeeded: size >> 16), UInt8(truncatingIfNeeded: size >> 8), UInt8(truncatingIfNeeded: size)]
    var random = SplitMix64(seed: seed)
    bytes.reserveCapacity(total)
    while bytes.count < total { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
    return bytes
  }

  /// A hand-made fragment datagram.
  static func fragment(id: UInt32, offset: UInt32, total: UInt32, _ chunk: [UInt8]) -> [UInt8] {
    var d: [UInt8] = [0x43, 0x46, 0x52, 0x47]
    for v in [id, offset, total] { d += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    return d + chunk
  }

  /// Feeds datagrams; returns the messages that came out.
  static func feed(_ datagrams: [[UInt8]], into r: inout DatagramReassembler) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for d in datagrams { if case .message(let m) = r.accept(d) { out.append(m) } }
    return out
  }

  @Test("round trip", arguments: [12, 13, 100, 4_096, 8_191, 8_192, 8_193, 8_176 * 2, 8_176 * 2 + 1, 50_000, 1 << 20])
  func roundTrip(size: Int) {
    var fragmenter = DatagramFragmenter()
    var reassembler = DatagramReassembler()
    let m = Self.message(size, seed: UInt64(size))
    let datagrams = fragmenter.datagrams(for: m)
    #expect(datagrams.allSatisfy { $0.count <= 8_192 })
    if size <= 8_192 {
      #expect(datagrams == [m], "a message that fits goes unchanged, in one datagram")
    } else {
      #expect(datagrams.count == (size + 8_175) / 8_176)
      #expect(datagrams.allSatisfy { $0.starts(with: DatagramFraming.fragmentMagic) })
    }
    #expect(Self.feed(datagrams, into: &reassembler) == [m])
    #expect(reassembler.partialMessageCount == 0)
    #expect(reassembler.bufferedByteCount == 0)
  }

  @Test func exactlyAtTheLimitIsOneDatagramAndOneOverIsTwo() {
    var fragmenter = DatagramFragmenter(maxPayload: 100)
    #expect(fragmenter.datagrams(for: Self.message(100)).count == 1)
    let over = fragmenter.datagrams(for: Self.message(101))
    #expect(over.count == 2)
    #expect(over.map(\.count) == [100, 16 + 101 - 84])
    var reassembler = DatagramReassembler()
    #expect(Self.feed(over, into: &reassembler) == [Self.message(101)])
  }

  @Test func messageIDsIncreasePerFragmentedMessage() {
    var fragmenter = DatagramFragmenter(maxPayload: 64, firstMessageID: 7)
    _ = fragmenter.datagrams(for: Self.message(40))  // fits: no id used
    let a = fragmenter.datagrams(for: Self.message(200))
    let b = fragmenter.datagrams(for: Self.message(200))
    #expect(Array(a[0][4..<8]) == [0, 0, 0, 7])
    #expect(Array(b[0][4..<8]) == [0, 0, 0, 8])
    #expect(fragmenter.nextMessageID == 9)
  }

  @Test func reorderedAndDuplicatedFragmentsReassembleOnce() {
    var fragmenter = DatagramFragmenter(maxPayload: 1_000)
    let m = Self.message(10_000)
    let datagrams = fragmenter.datagrams(for: m)
    var shuffled = datagrams + [datagrams[3], datagrams[0], datagrams[7]]
    var random = SplitMix64(seed: 99)
    shuffled.shuffle(using: &random)
    // The last fragment to arrive completes the message: put a fragment not duplicated last.
    var reassembler = DatagramReassembler()
    #expect(Self.feed(shuffled, into: &reassembler) == [m])
    #expect(reassembler.statistics.duplicates == 3)
    #expect(reassembler.statistics.joined == 1)
    // A late copy after completion does not start the message over.
    #expect(reassembler.accept(datagrams[5]) == .duplicate)
    #expect(reassembler.partialMessageCount == 0)
  }

  @Test func interleavedMessagesReassembleIndependently() {
    var fragmenter = DatagramFragmenter(maxPayload: 300)
    let a = Self.message(2_000, seed: 1), b = Self.message(1_500, seed: 2)
    let da = fragmenter.datagrams(for: a), db = fragmenter.datagrams(for: b)
    var mixed: [[UInt8]] = []
    for i in 0..<max(da.count, db.count) {
      if i < db.count { mixed.append(db[db.count - 1 - i]) }
      if i < da.count { mixed.append(da[i]) }
    }
    var reassembler = DatagramReassembler()
    #expect(Set(Self.feed(mixed, into: &reassembler)) == [a, b])
  }

  @Test func malformedDatagramsAreRejected() {
    var r = DatagramReassembler(limits: .init(maxMessageSize: 10_000))
    let chunk = [UInt8](repeating: 1, count: 10)
    func rejected(_ d: [UInt8]) -> DatagramReassembler.Rejection? {
      if case .rejected(let why) = r.accept(d) { return why }
      return nil
    }
    #expect(rejected([]) == .truncated(0))
    #expect(rejected([0x47, 0x49]) == .truncated(2))
    #expect(rejected(Array("HELLO, WORLD".utf8)) == .badMagic)
    #expect(rejected(Array(Self.fragment(id: 1, offset: 0, total: 100, [])[0..<10])) == .truncated(10), "a fragment header cut short")
    #expect(rejected(Self.fragment(id: 1, offset: 0, total: 100, [])) == .emptyFragment)
    #expect(rejected(Self.fragment(id: 1, offset: 95, total: 100, chunk)) == .outOfBounds(offset: 95, length: 10, total: 100))
    #expect(rejected(Self.fragment(id: 1, offset: 0xFFFF_FFFF, total: 0xFFFF_FFFF, chunk)) == .tooLarge(0xFFFF_FFFF))
    #expect(rejected(Self.fragment(id: 1, offset: 0, total: 10_001, chunk)) == .tooLarge(10_001), "over the limit, refused before anything is kept")
    #expect(r.partialMessageCount == 0)
    #expect(r.accept(Self.fragment(id: 2, offset: 0, total: 100, Array(Self.message(100)[0..<10]))) == .incomplete)
    #expect(rejected(Self.fragment(id: 2, offset: 10, total: 200, chunk)) == .totalMismatch(expected: 100, got: 200))
    #expect(rejected(Self.fragment(id: 2, offset: 5, total: 100, chunk)) == .overlap(offset: 5), "overlaps the first chunk")
    #expect(rejected(Self.fragment(id: 2, offset: 0, total: 100, chunk)) == .overlap(offset: 0), "same place, other bytes")
    #expect(r.bufferedByteCount == 10, "refused fragments keep nothing")
    // Whole GIOP datagrams are checked too.
    var badSize = Self.message(40)
    badSize[11] = 99
    #expect(rejected(badSize) == .notGIOP("size field 99 for 28 bytes of body"))
    var badVersion = Self.message(40)
    badVersion[5] = 9
    #expect(rejected(badVersion) == .notGIOP("GIOP version 1.9"))
    var badType = Self.message(40)
    badType[7] = 8
    #expect(rejected(badType) == .notGIOP("message type 8"))
    #expect(rejected(Self.message(10_001)) == .tooLarge(10_001))
    // Fragments that join into something that is not GIOP are refused at the end.
    #expect(r.accept(Self.fragment(id: 3, offset: 0, total: 20, chunk)) == .incomplete)
    #expect(rejected(Self.fragment(id: 3, offset: 10, total: 20, chunk)) == .notGIOP("no GIOP magic"))
    #expect(r.statistics.rejected == 16)
    #expect(r.statistics.messages == 0)
  }

  @Test func atMostKPartialMessagesAreKeptTheOldestGoes() {
    var r = DatagramReassembler(limits: .init(maxPartialMessages: 4))
    var fragmenter = DatagramFragmenter(maxPayload: 100)
    let messages = (0..<6).map { Self.message(300, seed: UInt64($0)) }
    let datagrams = messages.map { fragmenter.datagrams(for: $0) }
    let start = ContinuousClock.now
    for (i, d) in datagrams.enumerated() { #expect(r.accept(d[0], at: start + .milliseconds(i)) == .incomplete) }
    #expect(r.partialMessageCount == 4)
    #expect(r.statistics.evicted == 2)
    // The two newest complete; the oldest was forgotten, so its rest does not complete it.
    #expect(Self.feed(Array(datagrams[5].dropFirst()), into: &r) == [messages[5]])
    #expect(Self.feed(Array(datagrams[0].dropFirst()), into: &r) == [])
  }

  @Test func partialMessagesTimeOut() {
    var r = DatagramReassembler(limits: .init(partialTimeout: .seconds(5)))
    var fragmenter = DatagramFragmenter(maxPayload: 100)
    let old = fragmenter.datagrams(for: Self.message(300, seed: 1))
    let young = fragmenter.datagrams(for: Self.message(300, seed: 2))
    let t0 = ContinuousClock.now
    #expect(r.accept(old[0], at: t0) == .incomplete)
    #expect(r.accept(young[0], at: t0 + .seconds(3)) == .incomplete)
    #expect(r.expire(at: t0 + .seconds(4)) == 0)
    // Any fragment arriving past the timeout sweeps the stale ones first.
    #expect(r.accept(young[1], at: t0 + .seconds(6)) == .incomplete)
    #expect(r.statistics.expired == 1)
    #expect(r.partialMessageCount == 1)
    #expect(r.expire(at: t0 + .seconds(9)) == 1)
    #expect(r.partialMessageCount == 0)
    #expect(r.bufferedByteCount == 0)
  }

  @Test func heldBytesStayUnderTheBound() {
    var r = DatagramReassembler(limits: .init(maxMessageSize: 1_000, maxBufferedBytes: 1_000))
    var fragmenter = DatagramFragmenter(maxPayload: 216)
    let a = fragmenter.datagrams(for: Self.message(1_000, seed: 1))
    let b = fragmenter.datagrams(for: Self.message(1_000, seed: 2))
    for d in a.dropLast() { _ = r.accept(d) }
    #expect(r.bufferedByteCount == 800)
    _ = r.accept(b[0])
    #expect(r.bufferedByteCount == 1_000)
    _ = r.accept(b[1])
    #expect(r.bufferedByteCount == 400, "the older message made room")
    #expect(r.statistics.evicted == 1)
  }

  @Test func messageTypeShowsOnWholeMessagesAndFirstFragments() {
    var fragmenter = DatagramFragmenter(maxPayload: 100)
    #expect(Self.message(50, type: 1).withUnsafeBytes { DatagramFraming.giopMessageType(of: $0) } == 1)
    let parts = fragmenter.datagrams(for: Self.message(250, type: 1))
    #expect(parts.map { d in d.withUnsafeBytes { DatagramFraming.giopMessageType(of: $0) } } == [1, nil, nil])
    #expect([UInt8](repeating: 0, count: 30).withUnsafeBytes { DatagramFraming.giopMessageType(of: $0) } == nil)
  }

  @Test func randomSplitsDuplicatesAndOrdersAlwaysReassembleExactly() {
    var random = SplitMix64(seed: 2024)
    for round in 0..<300 {
      let payload = 17 + Int(random.next() % 2_000)
      let size = 12 + Int(random.next() % 20_000)
      var fragmenter = DatagramFragmenter(maxPayload: payload, firstMessageID: UInt32(truncatingIfNeeded: random.next()))
      let m = Self.message(size, type: UInt8(random.next() % 7), seed: random.next())
      let datagrams = fragmenter.datagrams(for: m)
      #expect(datagrams.allSatisfy { $0.count <= payload })
      var arrival = datagrams
      for _ in 0..<Int(random.next() % 4) { arrival.append(datagrams[Int(random.next() % UInt64(datagrams.count))]) }
      arrival.shuffle(using: &random)
      var r = DatagramReassembler()
      let out = Self.feed(arrival, into: &r)
      // A whole-message datagram carries no id: each copy is a message (GIOP's request ids
      // tell them apart above). Fragments are joined once.
      let expected = datagrams.count == 1 ? Array(repeating: m, count: arrival.count) : [m]
      #expect(out == expected, "round \(round): \(size) bytes in \(payload)-byte datagrams")
      #expect(r.partialMessageCount == 0)
      if out != expected { return }
    }
  }
}
