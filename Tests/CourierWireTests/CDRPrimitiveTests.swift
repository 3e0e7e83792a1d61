import Testing

@testable import CourierWire

// Golden layouts for the primitive types, alignment, sequences and encapsulations, written by
// hand from CORBA 3.0 §15.3 (CDR): every primitive of size n is aligned on n relative to the
// start of the stream (or of the encapsulation), padding octets are zero, and the byte order is
// the sender's.

@Suite("CDR primitives: golden layouts")
struct CDRPrimitiveGoldenTests {

  @Test("octet then short, long, long long and double: big endian")
  func alignmentBigEndian() throws {
    let bytes = written(.bigEndian) { w in
      w.write(UInt8(0xAB))
      w.write(Int16(0x0102))
      w.write(Int32(0x0304_0506))
      w.write(UInt8(0x07))
      w.write(Int64(0x0809_0A0B_0C0D_0E0F))
      w.write(Double(1.0))
    }
    let expected: [UInt8] = [
      0xAB,  // [0] octet
      0x00,  // [1] pad: short aligns on 2
      0x01, 0x02,  // [2..3] short 0x0102, MSB first
      0x03, 0x04, 0x05, 0x06,  // [4..7] long, already on 4
      0x07,  // [8] octet
      0, 0, 0, 0, 0, 0, 0,  // [9..15] pad: long long aligns on 8
      0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,  // [16..23] long long
      0x3F, 0xF0, 0, 0, 0, 0, 0, 0,  // [24..31] double 1.0 = 0x3FF0000000000000
    ]
    #expect(bytes == expected, "\(hex(bytes))")
  }

  @Test("octet then short, long, long long and double: little endian")
  func alignmentLittleEndian() throws {
    let bytes = written(.littleEndian) { w in
      w.write(UInt8(0xAB))
      w.write(Int16(0x0102))
      w.write(Int32(0x0304_0506))
      w.write(UInt8(0x07))
      w.write(Int64(0x0809_0A0B_0C0D_0E0F))
      w.write(Double(1.0))
    }
    let expected: [UInt8] = [
      0xAB,  // [0] octet
      0x00,  // [1] pad
      0x02, 0x01,  // [2..3] short 0x0102, LSB first
      0x06, 0x05, 0x04, 0x03,  // [4..7] long
      0x07,  // [8] octet
      0, 0, 0, 0, 0, 0, 0,  // [9..15] pad
      0x0F, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08,  // [16..23] long long
      0, 0, 0, 0, 0, 0, 0xF0, 0x3F,  // [24..31] double 1.0
    ]
    #expect(bytes == expected, "\(hex(bytes))")
  }

  @Test("each type after one octet gets exactly the padding its alignment needs", arguments: bothOrders)
  func paddingAfterOctet(order: ByteOrder) throws {
    // (writer, size of the value, its bits): padding = size - 1 for size > 1.
    let cases: [(String, Int, UInt64, (inout CDRWriter) -> Void)] = [
      ("short", 2, 0xFFFE, { $0.write(Int16(-2)) }),
      ("unsigned short", 2, 0xBEEF, { $0.write(UInt16(0xBEEF)) }),
      ("long", 4, 0xFFFF_FFFF, { $0.write(Int32(-1)) }),
      ("unsigned long", 4, 0xDEAD_BEEF, { $0.write(UInt32(0xDEAD_BEEF)) }),
      ("long long", 8, 0x8000_0000_0000_0000, { $0.write(Int64.min) }),
      ("unsigned long long", 8, 0x0123_4567_89AB_CDEF, { $0.write(UInt64(0x0123_4567_89AB_CDEF)) }),
      ("Int is long long", 8, 0xFFFF_FFFF_FFFF_FFFE, { $0.write(Int(-2)) }),
      ("float", 4, 0x3F80_0000, { $0.write(Float(1.0)) }),
      ("double", 8, 0x4009_21FB_5444_2D18, { $0.write(Double.pi) }),
    ]
    for (name, size, bits, write) in cases {
      let bytes = written(order) { w in
        w.write(UInt8(0x5A))
        write(&w)
      }
      let expected = [0x5A] + [UInt8](repeating: 0, count: size - 1) + orderedBytes(bits, size: size, order)
      #expect(bytes == expected, "\(name): \(hex(bytes))")
    }
  }

  @Test("octet, boolean and char are never padded", arguments: bothOrders)
  func unpaddedOctets(order: ByteOrder) throws {
    let bytes = try written(order) { w in
      w.write(UInt8(0x01))
      w.write(true)  // boolean TRUE = 1
      w.write(false)  // boolean FALSE = 0
      w.write(Int8(-1))  // int8, one octet
      try w.writeChar("Z")  // char, one octet
      w.write(UInt8(0xFE))
    }
    #expect(bytes == [0x01, 0x01, 0x00, 0xFF, 0x5A, 0xFE])
  }

  @Test("alignment counts from alignmentOrigin, not from the start of the buffer")
  func writerAlignmentOrigin() throws {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt8(0xEE))  // [0] something before the origin (e.g. a flag)
    w.alignmentOrigin = 1
    w.write(UInt32(1))  // offset 0 from the origin: no padding
    w.write(UInt8(2))  // [5], offset 4
    w.write(UInt16(3))  // offset 5 → pad 1 → [7..8]
    w.write(UInt64(4))  // offset 8 → already on 8: [9..16]
    let expected: [UInt8] = [
      0xEE,  // before the origin
      0, 0, 0, 1,  // ulong, unpadded because its offset is 0
      2,  // octet
      0,  // pad to an even offset (6)
      0, 3,  // ushort at offset 6
      0, 0, 0, 0, 0, 0, 0, 4,  // ulonglong at offset 8 (buffer index 9, not a multiple of 8)
    ]
    #expect(w.bytes == expected, "\(hex(w.bytes))")
  }

  @Test("a reader aligns relative to its alignmentOrigin: a 12-byte GIOP header then a double")
  func readerAlignmentOrigin() throws {
    // After a 12-byte GIOP header, a double must start at 16 (12 is not a multiple of 8).
    var bytes = [UInt8](repeating: 0x47, count: 12)  // the header
    bytes += [0, 0, 0, 0]  // pad 12..15
    bytes += [0x40, 0x00, 0, 0, 0, 0, 0, 0]  // double 2.0 = 0x4000000000000000
    var r = CDRReader(bytes, byteOrder: .bigEndian, position: 12, alignmentOrigin: 0)
    #expect(try r.read(Double.self) == 2.0)
    #expect(r.isAtEnd)

    // The same double right after an origin placed at index 3: no padding at all.
    let shifted: [UInt8] = [9, 9, 9, 0x40, 0x00, 0, 0, 0, 0, 0, 0]
    var s = CDRReader(shifted, byteOrder: .bigEndian, position: 3, alignmentOrigin: 3)
    #expect(try s.read(Double.self) == 2.0)
    #expect(s.position == 11)
  }

  @Test("reset empties the writer and resets the origin")
  func writerReset() throws {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt8(1))
    w.alignmentOrigin = 1
    w.reset()
    #expect(w.count == 0)
    w.write(UInt8(1))
    w.write(UInt32(2))  // aligned from index 0 again: 3 pad octets
    #expect(w.bytes == [1, 0, 0, 0, 0, 0, 0, 2])
  }

  @Test("setUInt32 patches a ulong in the writer's byte order", arguments: bothOrders)
  func patchUInt32(order: ByteOrder) throws {
    var w = CDRWriter(byteOrder: order)
    w.write(UInt32(0))
    w.write(UInt16(0xAAAA))
    w.setUInt32(0x0102_0304, at: 0)
    #expect(w.bytes == orderedBytes(0x0102_0304, size: 4, order) + [0xAA, 0xAA])
  }

  @Test("boolean octets")
  func booleans() throws {
    #expect(written(.bigEndian) { $0.write(true) } == [1])
    #expect(written(.littleEndian) { $0.write(false) } == [0])
    var r = reader([0, 1], .bigEndian)
    #expect(try r.read(Bool.self) == false)
    #expect(try r.read(Bool.self) == true)
  }

  @Test("float and double bit patterns (IEEE 754)", arguments: bothOrders)
  func floatingPointBits(order: ByteOrder) throws {
    let floats: [(Float, UInt64)] = [
      (1.0, 0x3F80_0000),  // sign 0, exponent 127, fraction 0
      (-2.5, 0xC020_0000),  // sign 1, exponent 128, fraction .25
      (0.0, 0x0000_0000),
      (-0.0, 0x8000_0000),
      (.infinity, 0x7F80_0000),
      (Float(bitPattern: 1), 0x0000_0001),  // smallest subnormal
    ]
    for (value, bits) in floats {
      let bytes = written(order) { $0.write(value) }
      #expect(bytes == orderedBytes(bits, size: 4, order), "float \(value): \(hex(bytes))")
    }
    let doubles: [(Double, UInt64)] = [
      (1.0, 0x3FF0_0000_0000_0000),
      (-2.0, 0xC000_0000_0000_0000),
      (0.1, 0x3FB9_9999_9999_999A),
      (.pi, 0x4009_21FB_5444_2D18),
      (-.infinity, 0xFFF0_0000_0000_0000),
      (.leastNonzeroMagnitude, 0x0000_0000_0000_0001),
    ]
    for (value, bits) in doubles {
      let bytes = written(order) { $0.write(value) }
      #expect(bytes == orderedBytes(bits, size: 8, order), "double \(value): \(hex(bytes))")
    }
  }

  @Test("NaN payloads survive a float and a double round trip", arguments: bothOrders)
  func nanPayloads(order: ByteOrder) throws {
    let f = Float(bitPattern: 0x7FA0_1234)  // a signalling NaN with a payload
    let d = Double(bitPattern: 0xFFF4_0000_DEAD_BEEF)  // negative signalling NaN
    let bytes = written(order) { w in
      w.write(f)
      w.write(d)
    }
    #expect(Array(bytes[0..<4]) == orderedBytes(0x7FA0_1234, size: 4, order))
    #expect(Array(bytes[8..<16]) == orderedBytes(0xFFF4_0000_DEAD_BEEF, size: 8, order))
    var r = reader(bytes, order)
    #expect(try r.read(Float.self).bitPattern == 0x7FA0_1234)
    #expect(try r.read(Double.self).bitPattern == 0xFFF4_0000_DEAD_BEEF)
  }
}

@Suite("CDR long double (binary128)")
struct CDRLongDoubleTests {

  @Test("1.0 big endian is 3FFF000000000000 0000000000000000")
  func oneBigEndian() throws {
    let bytes = try written(.bigEndian) { try $0.encode(CDRLongDouble(1.0)) }
    let expected: [UInt8] = [
      0x3F, 0xFF, 0, 0, 0, 0, 0, 0,  // sign 0, exponent 16383 (0x3FFF), fraction high bits 0
      0, 0, 0, 0, 0, 0, 0, 0,  // fraction low bits 0
    ]
    #expect(bytes == expected, "\(hex(bytes))")
  }

  @Test("1.0 little endian is the same 16 octets reversed")
  func oneLittleEndian() throws {
    let bytes = try written(.littleEndian) { try $0.encode(CDRLongDouble(1.0)) }
    let expected: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0x3F]
    #expect(bytes == expected, "\(hex(bytes))")
  }

  @Test("binary128 fields for doubles worked out by hand")
  func conversions() throws {
    // (double, high, low): exponent bias 16383 instead of 1023, the 52 fraction bits become
    // the top 52 of 112 (48 in `high`, 4 at the top of `low`).
    let cases: [(Double, UInt64, UInt64)] = [
      (1.0, 0x3FFF_0000_0000_0000, 0),
      (-2.0, 0xC000_0000_0000_0000, 0),  // sign 1, exponent 16384
      (0.5, 0x3FFE_0000_0000_0000, 0),  // exponent 16382: below the double bias
      (1.5, 0x3FFF_8000_0000_0000, 0),  // fraction .1 (binary)
      (1.0 + 0x1p-52, 0x3FFF_0000_0000_0000, 0x1000_0000_0000_0000),  // lowest fraction bit → bit 60 of low
      (0x1p-1074, 0x3BCD_0000_0000_0000, 0),  // smallest subnormal double = 2^-1074 is normal: 16383-1074 = 0x3BCD
      (0x1p-1023 + 0x1p-1024, 0x3C00_8000_0000_0000, 0),  // subnormal double 1.1b × 2^-1023: exponent 15360
      (0.0, 0, 0),
      (-0.0, 0x8000_0000_0000_0000, 0),
      (.infinity, 0x7FFF_0000_0000_0000, 0),
      (-.infinity, 0xFFFF_0000_0000_0000, 0),
      (.greatestFiniteMagnitude, 0x43FE_FFFF_FFFF_FFFF, 0xF000_0000_0000_0000),  // 2^1023 × (2 - 2^-52)
    ]
    for (value, high, low) in cases {
      let q = CDRLongDouble(value)
      #expect(q.high == high && q.low == low,
        "\(value): got \(String(q.high, radix: 16)) \(String(q.low, radix: 16))")
      #expect(q.doubleValue.bitPattern == value.bitPattern, "\(value) back: \(q.doubleValue)")
    }
  }

  @Test("NaN stays NaN")
  func nan() throws {
    let q = CDRLongDouble(Double.nan)
    #expect(q.high & 0x7FFF_0000_0000_0000 == 0x7FFF_0000_0000_0000)
    #expect(q.high & 0x0000_FFFF_FFFF_FFFF != 0 || q.low != 0)
    #expect(q.doubleValue.isNaN)
  }

  @Test("a binary128 value with bits below double precision reads back truncated toward zero")
  func truncation() throws {
    let q = CDRLongDouble(high: 0x3FFF_0000_0000_0000, low: 0x0800_0000_0000_0000)  // 1 + 2^-53
    #expect(q.doubleValue == 1.0)
    let big = CDRLongDouble(high: 0x7FFE_0000_0000_0000, low: 0)  // 2^16383: beyond Double
    #expect(big.doubleValue == .infinity)
  }

  @Test("aligned on 8 after an octet", arguments: bothOrders)
  func alignment(order: ByteOrder) throws {
    let bytes = try written(order) { w in
      w.write(UInt8(1))
      try w.encode(CDRLongDouble(-2.0))
    }
    #expect(bytes.count == 24)
    #expect(Array(bytes[0..<8]) == [1, 0, 0, 0, 0, 0, 0, 0])
    let body = order == .bigEndian
      ? beBytes(0xC000_0000_0000_0000, size: 8) + beBytes(0, size: 8)
      : leBytes(0, size: 8) + leBytes(0xC000_0000_0000_0000, size: 8)
    #expect(Array(bytes[8...]) == body)
    var r = reader(bytes, order)
    #expect(try r.read(UInt8.self) == 1)
    #expect(try r.decode(CDRLongDouble.self).doubleValue == -2.0)
  }
}

@Suite("CDR sequences, arrays and encapsulations: golden layouts")
struct CDRConstructedGoldenTests {

  @Test("sequence<long> [1, -1]", arguments: bothOrders)
  func sequenceOfLong(order: ByteOrder) throws {
    let bytes = try written(order) { try $0.encode([Int32(1), -1]) }
    let expected =
      orderedBytes(2, size: 4, order)  // ulong element count
      + orderedBytes(1, size: 4, order)  // long 1
      + [0xFF, 0xFF, 0xFF, 0xFF]  // long -1
    #expect(bytes == expected, "\(hex(bytes))")
    var r = reader(bytes, order)
    #expect(try r.decode([Int32].self) == [1, -1])
  }

  @Test("sequence<octet> is a count and the raw octets", arguments: bothOrders)
  func sequenceOfOctet(order: ByteOrder) throws {
    let bytes = try written(order) { try $0.encode([UInt8]([1, 2, 3])) }
    #expect(bytes == orderedBytes(3, size: 4, order) + [1, 2, 3])
    let direct = written(order) { $0.writeOctetSequence([1, 2, 3]) }
    #expect(direct == bytes)
    var r = reader(bytes, order)
    #expect(try r.readOctetSequence() == [1, 2, 3])
  }

  @Test("empty sequences are a zero count", arguments: bothOrders)
  func emptySequences(order: ByteOrder) throws {
    #expect(try written(order) { try $0.encode([Int64]()) } == [0, 0, 0, 0])
    #expect(try written(order) { try $0.encode([UInt8]()) } == [0, 0, 0, 0])
    var r = reader([0, 0, 0, 0], order)
    #expect(try r.decode([Int64].self) == [])
  }

  @Test("sequence<long long>: the element is aligned on 8 after the count")
  func sequenceOfLongLong() throws {
    let bytes = try written(.bigEndian) { try $0.encode([Int64(1)]) }
    let expected: [UInt8] = [
      0, 0, 0, 1,  // count
      0, 0, 0, 0,  // pad to 8
      0, 0, 0, 0, 0, 0, 0, 1,  // long long 1
    ]
    #expect(bytes == expected)
  }

  @Test("sequence<string> [\"a\", \"\"]: each string aligned on 4")
  func sequenceOfString() throws {
    let bytes = try written(.bigEndian) { try $0.encode(["a", ""]) }
    let expected: [UInt8] = [
      0, 0, 0, 2,  // [0..3] count
      0, 0, 0, 2, 0x61, 0x00,  // [4..9] "a": length 2 (incl. NUL), 'a', NUL
      0, 0,  // [10..11] pad to 12
      0, 0, 0, 1, 0x00,  // [12..16] "": length 1, NUL
    ]
    #expect(bytes == expected, "\(hex(bytes))")
    var r = reader(bytes, .bigEndian)
    #expect(try r.decode([String].self) == ["a", ""])
  }

  @Test("sequence<short> after an octet: count aligned on 4, shorts packed")
  func sequenceOfShortAfterOctet() throws {
    let bytes = try written(.littleEndian) { w in
      w.write(UInt8(9))
      try w.encode([Int16(0x0102), Int16(-1)])
    }
    let expected: [UInt8] = [
      9, 0, 0, 0,  // octet, pad
      2, 0, 0, 0,  // count 2
      0x02, 0x01,  // 0x0102 little endian
      0xFF, 0xFF,  // -1
    ]
    #expect(bytes == expected)
  }

  @Test("fixed-size arrays have no count")
  func fixedArrays() throws {
    let bytes = try written(.bigEndian) { try $0.writeArray([Int16(1), Int16(2), Int16(3)]) }
    #expect(bytes == [0, 1, 0, 2, 0, 3])
    var r = reader(bytes, .bigEndian)
    #expect(try r.readArray(Int16.self, count: 3) == [1, 2, 3])
    #expect(r.isAtEnd)
  }

  @Test("bounded sequence within its bound is an ordinary sequence")
  func boundedSequence() throws {
    let bytes = try written(.bigEndian) { try $0.writeSequence([Int32(7), 8], bound: 2) }
    #expect(bytes == [0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 8])
    var r = reader(bytes, .bigEndian)
    #expect(try r.readSequence(Int32.self, bound: 2) == [7, 8])
  }

  @Test("encapsulation of a ulong: flag octet, 3 pad octets, the ulong", arguments: bothOrders)
  func encapsulatedULong(order: ByteOrder) throws {
    let bytes = written(order) { w in
      w.writeEncapsulation { $0.write(UInt32(7)) }
    }
    let expected =
      orderedBytes(8, size: 4, order)  // encapsulation length: 1 + 3 + 4
      + [order == .littleEndian ? 1 : 0]  // byte-order flag
      + [0, 0, 0]  // pad: the ulong is at offset 4 from the flag
      + orderedBytes(7, size: 4, order)  // the ulong
    #expect(bytes == expected, "\(hex(bytes))")
  }

  @Test("encapsulation contents align on the flag, not on the enclosing stream")
  func encapsulationRelativeAlignment() throws {
    let bytes = written(.bigEndian) { w in
      w.write(UInt8(0xAA))
      w.writeEncapsulation { e in
        e.write(UInt8(0x55))
        e.write(UInt64(0x0102_0304_0506_0708))
      }
    }
    let expected: [UInt8] = [
      0xAA,  // [0] outer octet
      0, 0, 0,  // [1..3] pad: the length is a ulong
      0, 0, 0, 16,  // [4..7] encapsulation length 16
      0x00,  // [8] flag: big endian (offset 0 inside)
      0x55,  // [9] octet (offset 1)
      0, 0, 0, 0, 0, 0,  // [10..15] pad to offset 8 inside
      1, 2, 3, 4, 5, 6, 7, 8,  // [16..23] ulonglong at inner offset 8
    ]
    #expect(bytes == expected, "\(hex(bytes))")

    // A case where the two disagree: without the leading octet, the inner ulonglong is at
    // outer index 12 — not a multiple of 8 — because alignment restarts at the flag (index 4).
    let plain = written(.bigEndian) { w in
      w.writeEncapsulation { e in e.write(UInt64(1)) }
    }
    let plainExpected: [UInt8] = [
      0, 0, 0, 16,  // length
      0,  // flag
      0, 0, 0, 0, 0, 0, 0,  // pad to inner offset 8
      0, 0, 0, 0, 0, 0, 0, 1,  // ulonglong at outer index 12
    ]
    #expect(plain == plainExpected, "\(hex(plain))")
    var r = reader(plain, .bigEndian)
    var inner = try r.readEncapsulation()
    #expect(try inner.read(UInt64.self) == 1)
    #expect(inner.isAtEnd)
    #expect(r.isAtEnd)
  }

  @Test("nested encapsulations each restart alignment")
  func nestedEncapsulation() throws {
    let bytes = written(.littleEndian) { w in
      w.writeEncapsulation { e in
        e.writeEncapsulation { f in f.write(UInt16(0x0A0B)) }
      }
    }
    let expected: [UInt8] = [
      12, 0, 0, 0,  // outer length: 1 flag + 3 pad + 4 length + 4 inner
      1,  // outer flag: little endian
      0, 0, 0,  // pad
      4, 0, 0, 0,  // inner length: flag, pad, ushort
      1,  // inner flag
      0,  // pad to 2
      0x0B, 0x0A,  // ushort 0x0A0B little endian
    ]
    #expect(bytes == expected, "\(hex(bytes))")
    var r = reader(bytes, .littleEndian)
    var outer = try r.readEncapsulation()
    var inner = try outer.readEncapsulation()
    #expect(try inner.read(UInt16.self) == 0x0A0B)
    #expect(inner.isAtEnd && outer.isAtEnd && r.isAtEnd)
  }
}

@Suite("Reading honours the sender's byte order")
struct CDRByteOrderReadingTests {

  @Test("the same bytes read as big or little endian")
  func sameBytesBothWays() throws {
    let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04]
    var be = reader(bytes, .bigEndian)
    var le = reader(bytes, .littleEndian)
    #expect(try be.read(UInt32.self) == 0x0102_0304)
    #expect(try le.read(UInt32.self) == 0x0403_0201)
  }

  @Test("hand-built big-endian and little-endian streams decode to the same values")
  func handBuiltStreams() throws {
    // short -2, (pad), long 0x11223344, double -1.5 (0xBFF8000000000000), ulonglong.
    let big: [UInt8] = [
      0xFF, 0xFE, 0, 0,
      0x11, 0x22, 0x33, 0x44,
      0xBF, 0xF8, 0, 0, 0, 0, 0, 0,
      0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
    ]
    let little: [UInt8] = [
      0xFE, 0xFF, 0, 0,
      0x44, 0x33, 0x22, 0x11,
      0, 0, 0, 0, 0, 0, 0xF8, 0xBF,
      0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01,
    ]
    for (bytes, order) in [(big, ByteOrder.bigEndian), (little, .littleEndian)] {
      var r = reader(bytes, order)
      #expect(try r.read(Int16.self) == -2)
      #expect(try r.read(Int32.self) == 0x1122_3344)
      #expect(try r.read(Double.self) == -1.5)
      #expect(try r.read(UInt64.self) == 0x0123_4567_89AB_CDEF)
      #expect(r.isAtEnd)
    }
  }

  @Test("what a writer writes in one order, a reader told that order reads back", arguments: bothOrders)
  func writerReaderAgree(order: ByteOrder) throws {
    let bytes = written(order) { w in
      w.write(Int16(-12345))
      w.write(UInt32(0xCAFE_BABE))
      w.write(Float(-0.75))
    }
    var r = reader(bytes, order)
    #expect(try r.read(Int16.self) == -12345)
    #expect(try r.read(UInt32.self) == 0xCAFE_BABE)
    #expect(try r.read(Float.self) == -0.75)
    // And the other order gets it wrong (the values are not palindromes).
    var wrong = reader(bytes, order == .bigEndian ? .littleEndian : .bigEndian)
    #expect(try wrong.read(Int16.self) != -12345)
  }

  @Test("a little-endian encapsulation inside a big-endian stream is read little endian")
  func littleEncapsulationInBigStream() throws {
    let stream: [UInt8] = [
      0, 0, 0, 10,  // [0..3] outer (big endian) encapsulation length 10
      1,  // [4] flag: little endian
      0, 0, 0,  // [5..7] pad to inner offset 4
      7, 0, 0, 0,  // [8..11] ulong 7, little endian
      0x34, 0x12,  // [12..13] ushort 0x1234, little endian (inner offset 8)
      0, 0,  // [14..15] outer pad to 16
      0, 0, 0, 5,  // [16..19] outer ulong 5, big endian
    ]
    var r = reader(stream, .bigEndian)
    var inner = try r.readEncapsulation()
    #expect(inner.byteOrder == .littleEndian)
    #expect(try inner.read(UInt32.self) == 7)
    #expect(try inner.read(UInt16.self) == 0x1234)
    #expect(inner.isAtEnd)
    #expect(r.position == 14)
    #expect(try r.read(UInt32.self) == 5)
    #expect(r.isAtEnd)
  }

  @Test("a big-endian encapsulation inside a little-endian stream is read big endian")
  func bigEncapsulationInLittleStream() throws {
    let bytes: [UInt8] = [
      8, 0, 0, 0,  // outer (little endian) length 8
      0,  // flag: big endian
      0, 0, 0,  // pad
      0, 0, 0, 7,  // ulong 7, big endian
    ]
    var r = reader(bytes, .littleEndian)
    var inner = try r.readEncapsulation()
    #expect(inner.byteOrder == .bigEndian)
    #expect(try inner.read(UInt32.self) == 7)
    #expect(r.isAtEnd)
  }

  @Test("only bit 0 of the flag octet selects the order")
  func flagBits() {
    #expect(ByteOrder(flag: 0) == .bigEndian)
    #expect(ByteOrder(flag: 1) == .littleEndian)
    #expect(ByteOrder(flag: 3) == .littleEndian)  // GIOP 1.1+ flags: bit 1 is "more fragments"
    #expect(ByteOrder(flag: 2) == .bigEndian)
    #expect(ByteOrder.bigEndian.flag == 0)
    #expect(ByteOrder.littleEndian.flag == 1)
  }

  @Test("the default order is the machine's own")
  func nativeOrder() {
    let probe: UInt32 = 0x0102_0304
    let firstByte = withUnsafeBytes(of: probe) { $0[0] }
    #expect(ByteOrder.native == (firstByte == 0x04 ? .littleEndian : .bigEndian))
    #expect(CDRWriter().byteOrder == .native)
  }

  @Test("a reader stops at `end` even when the storage goes on")
  func readerEnd() throws {
    let bytes: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 2]
    var r = reader(bytes, .bigEndian, end: 6)
    #expect(try r.read(UInt32.self) == 1)
    #expect(r.remaining == 2)
    expectCDRError(.truncated) { try r.read(UInt32.self) }
    #expect(try r.read(UInt16.self) == 0)  // the 2 bytes before `end` are still readable
    #expect(r.isAtEnd)
  }

  @Test("skip, readRaw and withRawBytes move the position")
  func rawAccess() throws {
    var r = reader([1, 2, 3, 4, 5, 6], .bigEndian)
    try r.skip(1)
    #expect(try r.readRaw(count: 2) == [2, 3])
    let sum = try r.withRawBytes(count: 3) { buf in buf.reduce(0) { $0 + Int($1) } }
    #expect(sum == 4 + 5 + 6)
    #expect(r.isAtEnd)
    expectCDRError(.truncated) { try r.skip(1) }
    expectCDRError(.truncated) { try r.readRaw(count: 1) }
  }
}
