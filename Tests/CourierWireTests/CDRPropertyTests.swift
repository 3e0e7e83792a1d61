import PropertyBased
import Testing

@testable import CourierWire

// Property-based round trips: decode(encode(x)) == x in both byte orders, and — where the
// layout is simple enough to state independently — the exact bytes as well.

/// Writes `x` in both orders, checks the bytes against `beBytes`/`leBytes` and reads it back.
func checkInteger<T: FixedWidthInteger & CDRCodable>(_ x: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let size = MemoryLayout<T>.size
  for order in bothOrders {
    let bytes = try written(order) { try $0.encode(x) }
    #expect(bytes == orderedBytes(UInt64(truncatingIfNeeded: x), size: size, order), "\(x) \(order)",
      sourceLocation: sourceLocation)
    #expect(try roundTrip(x, order) == x, sourceLocation: sourceLocation)
  }
}

@Suite("Property-based round trips: primitives")
struct CDRPrimitivePropertyTests {

  @Test func octet() async { await propertyCheck(count: 100, input: Gen.uint8()) { try checkInteger($0) } }
  @Test func int8() async { await propertyCheck(count: 100, input: Gen.int8()) { try checkInteger($0) } }
  @Test func short() async { await propertyCheck(count: 200, input: Gen.int16()) { try checkInteger($0) } }
  @Test func unsignedShort() async { await propertyCheck(count: 200, input: Gen.uint16()) { try checkInteger($0) } }
  @Test func long() async { await propertyCheck(count: 200, input: Gen.int32()) { try checkInteger($0) } }
  @Test func unsignedLong() async { await propertyCheck(count: 200, input: Gen.uint32()) { try checkInteger($0) } }
  @Test func longLong() async { await propertyCheck(count: 200, input: Gen.int64()) { try checkInteger($0) } }
  @Test func unsignedLongLong() async { await propertyCheck(count: 200, input: Gen.uint64()) { try checkInteger($0) } }
  @Test func int() async { await propertyCheck(count: 200, input: Gen.int()) { try checkInteger($0) } }
  @Test func uint() async { await propertyCheck(count: 200, input: Gen.uint()) { try checkInteger($0) } }

  @Test func boolean() async {
    await propertyCheck(count: 20, input: Gen.bool, byteOrderGenerator) { (b, order) throws in
      #expect(written(order) { $0.write(b) } == [b ? 1 : 0])
      #expect(try roundTrip(b, order) == b)
    }
  }

  @Test("float: every bit pattern, NaN payloads included")
  func float() async {
    await propertyCheck(count: 300, input: Gen.uint32()) { bits in
      let x = Float(bitPattern: bits)
      for order in bothOrders {
        let bytes = try written(order) { try $0.encode(x) }
        #expect(bytes == orderedBytes(UInt64(bits), size: 4, order))
        #expect(try roundTrip(x, order).bitPattern == bits)
      }
    }
  }

  @Test("double: every bit pattern, NaN payloads included")
  func double() async {
    await propertyCheck(count: 300, input: Gen.uint64()) { bits in
      let x = Double(bitPattern: bits)
      for order in bothOrders {
        let bytes = try written(order) { try $0.encode(x) }
        #expect(bytes == orderedBytes(bits, size: 8, order))
        #expect(try roundTrip(x, order).bitPattern == bits)
      }
    }
  }

  @Test("double: ordinary ranges")
  func doubleRanges() async {
    await propertyCheck(count: 200, input: Gen.double(in: -1e12...1e12), byteOrderGenerator) { (x, order) throws in
      #expect(try roundTrip(x, order) == x)
    }
  }

  @Test("long double: CDRLongDouble(d).doubleValue == d for every finite double")
  func longDoubleFromDouble() async {
    await propertyCheck(count: 500, input: Gen.uint64()) { (bits) throws in
      let d = Double(bitPattern: bits)
      guard d.isFinite else { return }
      let q = CDRLongDouble(d)
      #expect(q.doubleValue.bitPattern == bits, "\(d)")
      // Independent check of the fields: same sign; for normal doubles the exponent moves from
      // bias 1023 to bias 16383 and the fraction is shifted to the top of 112 bits.
      #expect(q.high >> 63 == bits >> 63)
      let exponent = (bits >> 52) & 0x7FF
      if exponent != 0 {
        #expect((q.high >> 48) & 0x7FFF == exponent + 16383 - 1023)
        #expect(q.high & 0xFFFF_FFFF_FFFF == (bits & 0xF_FFFF_FFFF_FFFF) >> 4)
        #expect(q.low == (bits & 0xF) << 60)
      }
      for order in bothOrders {
        #expect(try roundTrip(q, order).doubleValue.bitPattern == bits)
      }
    }
  }

  @Test("long double: any 128 bits cross the wire unchanged")
  func longDoubleBits() async {
    await propertyCheck(count: 200, input: Gen.uint64(), Gen.uint64()) { high, low in
      let q = CDRLongDouble(high: high, low: low)
      let be = try written(.bigEndian) { try $0.encode(q) }
      #expect(be == beBytes(high, size: 8) + beBytes(low, size: 8))
      let le = try written(.littleEndian) { try $0.encode(q) }
      #expect(le == Array(be.reversed()))  // a 128-bit little-endian number is the BE octets reversed
      #expect(try roundTrip(q, .bigEndian) == q)
      #expect(try roundTrip(q, .littleEndian) == q)
    }
  }
}

@Suite("Property-based round trips: text")
struct CDRTextPropertyTests {

  @Test("string: UTF-8 text without NUL, layout and round trip")
  func string() async {
    await propertyCheck(count: 200, input: stringGenerator(maxLength: 40, allowAstral: true)) { s in
      for order in bothOrders {
        let bytes = try written(order) { try $0.encode(s) }
        let utf8 = Array(s.utf8)
        #expect(bytes == orderedBytes(UInt64(utf8.count + 1), size: 4, order) + utf8 + [0])
        #expect(try roundTrip(s, order) == s)
      }
    }
  }

  @Test("string in ISO-8859-1: Latin-1 text round trips one octet per character")
  func latin1String() async {
    let sets = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)
    let gen = Gen.uint8(in: 1...255).array(of: 0...30)
    await propertyCheck(count: 100, input: gen, byteOrderGenerator) { octets, order in
      var view = String.UnicodeScalarView()
      for o in octets { view.append(Unicode.Scalar(o)) }
      let s = String(view)
      let bytes = try written(order, codeSets: sets) { try $0.writeString(s) }
      #expect(bytes == orderedBytes(UInt64(octets.count + 1), size: 4, order) + octets + [0])
      #expect(try roundTrip(s, order, codeSets: sets) == s)
    }
  }

  @Test("wstring under GIOP 1.2: any Unicode text, UTF-16BE units")
  func wstring12() async {
    await propertyCheck(count: 200, input: stringGenerator(maxLength: 30, allowAstral: true)) { s in
      for order in bothOrders {
        let bytes = try written(order, giopMinor: 2) { try $0.encode(WString(s)) }
        let units = s.utf16.flatMap { beBytes(UInt64($0), size: 2) }
        #expect(bytes == orderedBytes(UInt64(units.count), size: 4, order) + units)
        #expect(try roundTrip(WString(s), order, giopMinor: 2).value == s)
      }
    }
  }

  @Test("wstring under GIOP 1.0 and 1.1: BMP text, units in the stream's order, NUL unit")
  func wstring11() async {
    await propertyCheck(
      count: 200, input: stringGenerator(maxLength: 30, allowAstral: false), Gen.uint8(in: 0...1)
    ) { s, minor in
      for order in bothOrders {
        let bytes = try written(order, giopMinor: minor) { try $0.encode(WString(s)) }
        let units = (Array(s.utf16) + [0]).flatMap { orderedBytes(UInt64($0), size: 2, order) }
        #expect(bytes == orderedBytes(UInt64(s.utf16.count + 1), size: 4, order) + units)
        #expect(try roundTrip(WString(s), order, giopMinor: minor).value == s)
      }
    }
  }

  @Test("wstring under GIOP 1.1 also carries text outside the BMP as surrogate pairs")
  func wstring11Astral() async {
    await propertyCheck(count: 100, input: stringGenerator(maxLength: 20, allowAstral: true), byteOrderGenerator) {
      (s, order) throws in
      #expect(try roundTrip(WString(s), order, giopMinor: 1).value == s)
    }
  }

  @Test("char: ASCII in UTF-8, Latin-1 in ISO-8859-1")
  func char() async {
    let latin = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)
    await propertyCheck(count: 100, input: Gen.uint8(), byteOrderGenerator) { (octet, order) throws in
      let c = CDRChar(Unicode.Scalar(octet))
      if octet < 0x80 {
        #expect(try written(order) { try $0.encode(c) } == [octet])
        #expect(try roundTrip(c, order) == c)
      } else {
        #expect(throws: CDRError.self) { try written(order) { try $0.encode(c) } }
      }
      #expect(try written(order, codeSets: latin) { try $0.encode(c) } == [octet])
      #expect(try roundTrip(c, order, codeSets: latin) == c)
    }
  }

  @Test("wchar under GIOP 1.2: any scalar")
  func wchar12() async {
    await propertyCheck(count: 200, input: scalarGenerator(allowAstral: true), byteOrderGenerator) { (scalar, order) throws in
      let c = CDRWChar(scalar)
      let units = String(scalar).utf16.flatMap { beBytes(UInt64($0), size: 2) }
      #expect(try written(order, giopMinor: 2) { try $0.encode(c) } == [UInt8(units.count)] + units)
      #expect(try roundTrip(c, order, giopMinor: 2) == c)
    }
  }

  @Test("wchar under GIOP 1.0/1.1: BMP scalars, one unit in the stream's order")
  func wchar11() async {
    await propertyCheck(count: 200, input: scalarGenerator(allowAstral: false), byteOrderGenerator, Gen.uint8(in: 0...1)) {
      (scalar, order, minor) throws in
      let c = CDRWChar(scalar)
      #expect(try written(order, giopMinor: minor) { try $0.encode(c) } == orderedBytes(UInt64(scalar.value), size: 2, order))
      #expect(try roundTrip(c, order, giopMinor: minor) == c)
    }
  }
}

@Suite("Property-based round trips: sequences")
struct CDRSequencePropertyTests {

  @Test("sequence<long>")
  func longs() async {
    await propertyCheck(count: 200, input: Gen.int32().array(of: 0...20)) { xs in
      for order in bothOrders {
        let bytes = try written(order) { try $0.encode(xs) }
        let body = xs.flatMap { orderedBytes(UInt64(UInt32(bitPattern: $0)), size: 4, order) }
        #expect(bytes == orderedBytes(UInt64(xs.count), size: 4, order) + body)
        #expect(try roundTrip(xs, order) == xs)
      }
    }
  }

  @Test("sequence<octet>")
  func octets() async {
    await propertyCheck(count: 200, input: Gen.uint8().array(of: 0...40), byteOrderGenerator) { (xs, order) throws in
      #expect(try written(order) { try $0.encode(xs) } == orderedBytes(UInt64(xs.count), size: 4, order) + xs)
      #expect(try roundTrip(xs, order) == xs)
    }
  }

  @Test("sequence<string>")
  func strings() async {
    await propertyCheck(count: 200, input: stringGenerator(maxLength: 10, allowAstral: true).array(of: 0...8), byteOrderGenerator) {
      (xs, order) throws in
      #expect(try roundTrip(xs, order) == xs)
    }
  }

  @Test("sequence<double> and sequence<short> and nested sequences")
  func others() async {
    await propertyCheck(
      count: 100, input: Gen.double(in: -1e6...1e6).array(of: 0...6), Gen.int16().array(of: 0...6).array(of: 0...4),
      byteOrderGenerator
    ) { ds, grid, order in
      #expect(try roundTrip(ds, order) == ds)
      #expect(try roundTrip(grid, order) == grid)
      // A short sequence then a double sequence: the doubles are aligned on 8 after their count.
      let bytes = try written(order) { w in
        try w.encode([Int16(1)])
        try w.encode(ds)
      }
      // [0..3] count 1, [4..5] short, [6..7] pad, [8..11] count, then pad to 16 if non-empty.
      #expect(bytes.count == (ds.isEmpty ? 12 : 16 + 8 * ds.count))
      var r = reader(bytes, order)
      #expect(try r.decode([Int16].self) == [1])
      #expect(try r.decode([Double].self) == ds)
      #expect(r.isAtEnd)
    }
  }

  @Test("bounded sequences: writeSequence accepts up to the bound and refuses more")
  func bounded() async {
    await propertyCheck(count: 100, input: Gen.int32().array(of: 0...10), Gen.int(in: 0...10)) { xs, bound in
      var w = CDRWriter(byteOrder: .bigEndian)
      if xs.count <= bound {
        try w.writeSequence(xs, bound: bound)
        var r = reader(w.bytes, .bigEndian)
        #expect(try r.readSequence(Int32.self, bound: bound) == xs)
      } else {
        expectCDRError(.boundExceeded) { try w.writeSequence(xs, bound: bound) }
        let bytes = try written(.bigEndian) { try $0.encode(xs) }
        var r = reader(bytes, .bigEndian)
        expectCDRError(.boundExceeded) { try r.readSequence(Int32.self, bound: bound) }
      }
    }
  }
}

// MARK: mixed streams

/// One value in a mixed stream, with its alignment and size stated from the CDR rules.
enum MixedItem: Equatable, Sendable {
  case octet(UInt8), boolean(Bool), short(Int16), ushort(UInt16), long(Int32), ulong(UInt32)
  case longLong(Int64), ulongLong(UInt64), float(UInt32), double(UInt64), longDouble(UInt64, UInt64)
  case string(String), wstring(String), char(UInt8), wchar(Unicode.Scalar), octets([UInt8]), longs([Int32])

  static let kindCount = 17

  init(kind: Int, bits: UInt64, text: String, wideText: String) {
    switch kind {
    case 0: self = .octet(UInt8(truncatingIfNeeded: bits))
    case 1: self = .boolean(bits & 1 == 1)
    case 2: self = .short(Int16(truncatingIfNeeded: bits))
    case 3: self = .ushort(UInt16(truncatingIfNeeded: bits))
    case 4: self = .long(Int32(truncatingIfNeeded: bits))
    case 5: self = .ulong(UInt32(truncatingIfNeeded: bits))
    case 6: self = .longLong(Int64(bitPattern: bits))
    case 7: self = .ulongLong(bits)
    case 8: self = .float(UInt32(truncatingIfNeeded: bits))
    case 9: self = .double(bits)
    case 10: self = .longDouble(bits, ~bits)
    case 11: self = .string(text)
    case 12: self = .wstring(wideText)
    case 13: self = .char(UInt8(bits & 0x7F))
    case 14: self = .wchar(wideText.unicodeScalars.first ?? "w")
    case 15: self = .octets(Array(text.utf8.prefix(Int(bits % 9))))
    default: self = .longs((0..<Int(bits % 4)).map { Int32(truncatingIfNeeded: bits >> UInt64($0 * 16)) })
    }
  }

  /// Alignment of the first primitive, and the octets after the padding (CORBA 3.0 §15.3).
  func layout(giopMinor: UInt8) -> (alignment: Int, size: Int) {
    switch self {
    case .octet, .boolean, .char: (1, 1)
    case .short, .ushort: (2, 2)
    case .long, .ulong, .float: (4, 4)
    case .longLong, .ulongLong, .double: (8, 8)
    case .longDouble: (8, 16)
    case .string(let s): (4, 4 + s.utf8.count + 1)
    case .wstring(let s): giopMinor >= 2 ? (4, 4 + 2 * s.utf16.count) : (4, 4 + 2 * (s.utf16.count + 1))
    case .wchar(let c): giopMinor >= 2 ? (1, 1 + 2 * String(c).utf16.count) : (2, 2)
    case .octets(let o): (4, 4 + o.count)
    case .longs(let l): (4, 4 + 4 * l.count)
    }
  }

  func write(to w: inout CDRWriter) throws {
    switch self {
    case .octet(let x): w.write(x)
    case .boolean(let x): w.write(x)
    case .short(let x): w.write(x)
    case .ushort(let x): w.write(x)
    case .long(let x): w.write(x)
    case .ulong(let x): w.write(x)
    case .longLong(let x): w.write(x)
    case .ulongLong(let x): w.write(x)
    case .float(let bits): w.write(Float(bitPattern: bits))
    case .double(let bits): w.write(Double(bitPattern: bits))
    case .longDouble(let h, let l): try w.encode(CDRLongDouble(high: h, low: l))
    case .string(let s): try w.writeString(s)
    case .wstring(let s): try w.writeWString(s)
    case .char(let c): try w.writeChar(Unicode.Scalar(c))
    case .wchar(let c): try w.writeWChar(c)
    case .octets(let o): w.writeOctetSequence(o)
    case .longs(let l): try w.encode(l)
    }
  }

  /// Reads a value of the same kind as `self`.
  func readSameKind(from r: inout CDRReader) throws -> MixedItem {
    switch self {
    case .octet: return .octet(try r.read(UInt8.self))
    case .boolean: return .boolean(try r.read(Bool.self))
    case .short: return .short(try r.read(Int16.self))
    case .ushort: return .ushort(try r.read(UInt16.self))
    case .long: return .long(try r.read(Int32.self))
    case .ulong: return .ulong(try r.read(UInt32.self))
    case .longLong: return .longLong(try r.read(Int64.self))
    case .ulongLong: return .ulongLong(try r.read(UInt64.self))
    case .float: return .float(try r.read(Float.self).bitPattern)
    case .double: return .double(try r.read(Double.self).bitPattern)
    case .longDouble:
      let q = try r.decode(CDRLongDouble.self)
      return .longDouble(q.high, q.low)
    case .string: return .string(try r.readString())
    case .wstring: return .wstring(try r.readWString())
    case .char: return .char(UInt8(try r.readChar().value))
    case .wchar: return .wchar(try r.readWChar())
    case .octets: return .octets(try r.readOctetSequence())
    case .longs: return .longs(try r.decode([Int32].self))
    }
  }
}

@Suite("Property-based: mixed streams and position arithmetic")
struct CDRMixedStreamPropertyTests {

  static let itemSeeds = zip(
    Gen.int(in: 0...(MixedItem.kindCount - 1)),
    Gen.uint64(),
    stringGenerator(maxLength: 6, allowAstral: true),
    stringGenerator(maxLength: 6, allowAstral: false),
    stringGenerator(maxLength: 6, allowAstral: true)
  ).array(of: 0...24)

  @Test("a random mix of values: padding, positions and values agree with the CDR rules")
  func mixedStream() async {
    await propertyCheck(
      count: 300, input: Self.itemSeeds, byteOrderGenerator, Gen.uint8(in: 0...2), Gen.uint8().array(of: 0...9)
    ) { seeds, order, minor, prefix in
      let items = seeds.map { s in
        MixedItem(kind: s.0, bits: s.1, text: s.2, wideText: minor >= 2 ? s.4 : s.3)
      }
      // Octets before the origin (like a header the values are not aligned to).
      var w = CDRWriter(byteOrder: order, giopMinor: minor)
      w.writeRaw(prefix)
      w.alignmentOrigin = prefix.count

      var offset = 0  // relative to the origin, from the model
      var ends: [Int] = []
      for item in items {
        let (alignment, size) = item.layout(giopMinor: minor)
        let padding = (alignment - offset % alignment) % alignment
        try item.write(to: &w)
        let padStart = prefix.count + offset
        offset += padding + size
        guard w.count - prefix.count == offset else {
          Issue.record("after \(item): written \(w.count - prefix.count), model \(offset)")
          return
        }
        #expect(w.bytes[padStart..<padStart + padding].allSatisfy { $0 == 0 }, "padding before \(item)")
        ends.append(w.count)
      }

      var r = CDRReader(w.bytes, byteOrder: order, position: prefix.count, alignmentOrigin: prefix.count, giopMinor: minor)
      for (item, end) in zip(items, ends) {
        let back = try item.readSameKind(from: &r)
        #expect(back == item)
        #expect(r.position == end, "position after \(item)")
      }
      #expect(r.isAtEnd)
    }
  }

  @Test("the same stream inside an encapsulation: alignment restarts at the flag")
  func mixedInEncapsulation() async {
    await propertyCheck(count: 150, input: Self.itemSeeds, byteOrderGenerator, Gen.uint8(in: 0...7)) {
      seeds, order, leading in
      let items = seeds.map { MixedItem(kind: $0.0, bits: $0.1, text: $0.2, wideText: $0.4) }
      let outerOrder: ByteOrder = order == .bigEndian ? .littleEndian : .bigEndian
      // The encapsulation body is written on its own (flag at 0), in `order`…
      var inner = CDRWriter(byteOrder: order)
      inner.write(order.flag)
      for item in items { try item.write(to: &inner) }
      // …and embedded, after `leading` octets, in a stream of the other order.
      var outer = CDRWriter(byteOrder: outerOrder)
      for _ in 0..<leading { outer.write(UInt8(0xEE)) }
      outer.writeOctetSequence(inner.bytes)
      outer.write(UInt32(0xFEED_FACE))

      var r = CDRReader(outer.bytes, byteOrder: outerOrder)
      try r.skip(Int(leading))
      var e = try r.readEncapsulation()
      #expect(e.byteOrder == order)
      for item in items { #expect(try item.readSameKind(from: &e) == item) }
      #expect(e.isAtEnd)
      #expect(try r.read(UInt32.self) == 0xFEED_FACE)
      #expect(r.isAtEnd)
    }
  }
}
