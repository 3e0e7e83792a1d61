import PropertyBased
import Testing

@testable import CourierWire

// Malformed and truncated input must throw CDRError — never trap, never allocate what a
// length field claims before checking it against the bytes that are actually there.

/// One reader operation and a valid encoding for it.
struct ReadCase: Sendable {
  var name: String
  var giopMinor: UInt8 = 2
  /// Writes a valid value.
  var write: @Sendable (inout CDRWriter) throws -> Void
  /// Reads it back (the value is checked elsewhere; here only success or failure matters).
  var read: @Sendable (inout CDRReader) throws -> Void
  /// True when the value has a fixed size, so every truncation is plain `.truncated`.
  var fixedSize: Bool
}

struct OptionalHolder: Codable { var value: OptionalInner? }
struct OptionalInner: Codable { var x: UInt8 }

struct BridgePerson: Codable, Equatable {
  var name: String
  var year: Int32
  var tags: [String]
}

/// Every reader entry point, each after a leading octet (so padding is truncated too) or not.
let readCases: [ReadCase] = {
  var cases: [ReadCase] = [
    ReadCase(name: "boolean", write: { $0.write(true) }, read: { _ = try $0.read(Bool.self) }, fixedSize: true),
    ReadCase(name: "octet", write: { $0.write(UInt8(7)) }, read: { _ = try $0.read(UInt8.self) }, fixedSize: true),
    ReadCase(name: "int8", write: { $0.write(Int8(-7)) }, read: { _ = try $0.read(Int8.self) }, fixedSize: true),
    ReadCase(name: "short", write: { $0.write(Int16(-7)) }, read: { _ = try $0.read(Int16.self) }, fixedSize: true),
    ReadCase(name: "ushort", write: { $0.write(UInt16(7)) }, read: { _ = try $0.read(UInt16.self) }, fixedSize: true),
    ReadCase(name: "long", write: { $0.write(Int32(-7)) }, read: { _ = try $0.read(Int32.self) }, fixedSize: true),
    ReadCase(name: "ulong", write: { $0.write(UInt32(7)) }, read: { _ = try $0.read(UInt32.self) }, fixedSize: true),
    ReadCase(name: "long long", write: { $0.write(Int64(-7)) }, read: { _ = try $0.read(Int64.self) }, fixedSize: true),
    ReadCase(name: "ulong long", write: { $0.write(UInt64(7)) }, read: { _ = try $0.read(UInt64.self) }, fixedSize: true),
    ReadCase(name: "Int", write: { try $0.encode(Int(-7)) }, read: { _ = try $0.decode(Int.self) }, fixedSize: true),
    ReadCase(name: "UInt", write: { try $0.encode(UInt(7)) }, read: { _ = try $0.decode(UInt.self) }, fixedSize: true),
    ReadCase(name: "float", write: { $0.write(Float(1.5)) }, read: { _ = try $0.read(Float.self) }, fixedSize: true),
    ReadCase(name: "double", write: { $0.write(Double(1.5)) }, read: { _ = try $0.read(Double.self) }, fixedSize: true),
    ReadCase(
      name: "long double", write: { try $0.encode(CDRLongDouble(1.5)) },
      read: { _ = try $0.decode(CDRLongDouble.self) }, fixedSize: true),
    ReadCase(name: "char", write: { try $0.writeChar("c") }, read: { _ = try $0.readChar() }, fixedSize: true),
    ReadCase(
      name: "wchar 1.1", giopMinor: 1, write: { try $0.writeWChar("€") }, read: { _ = try $0.readWChar() },
      fixedSize: true),
    ReadCase(
      name: "wchar 1.2", giopMinor: 2, write: { try $0.writeWChar("😀") }, read: { _ = try $0.readWChar() },
      fixedSize: true),
    ReadCase(
      name: "string", write: { try $0.writeString("héllo") }, read: { _ = try $0.readString() }, fixedSize: false),
    ReadCase(
      name: "wstring 1.1", giopMinor: 1, write: { try $0.writeWString("héllo") },
      read: { _ = try $0.readWString() }, fixedSize: false),
    ReadCase(
      name: "wstring 1.2", giopMinor: 2, write: { try $0.writeWString("h😀llo") },
      read: { _ = try $0.readWString() }, fixedSize: false),
    ReadCase(
      name: "sequence<long>", write: { try $0.encode([Int32(1), 2, 3]) }, read: { _ = try $0.decode([Int32].self) },
      fixedSize: false),
    ReadCase(
      name: "sequence<octet>", write: { $0.writeOctetSequence([1, 2, 3]) },
      read: { _ = try $0.readOctetSequence() }, fixedSize: false),
    ReadCase(
      name: "[UInt8] conformance", write: { try $0.encode([UInt8]([1, 2, 3])) },
      read: { _ = try $0.decode([UInt8].self) }, fixedSize: false),
    ReadCase(
      name: "sequence<string>", write: { try $0.encode(["a", "bc"]) }, read: { _ = try $0.decode([String].self) },
      fixedSize: false),
    ReadCase(
      name: "sequence<double> via readSequence", write: { try $0.encode([1.0, 2.0]) },
      read: { _ = try $0.readSequence(Double.self, bound: 5) }, fixedSize: false),
    ReadCase(
      name: "long[3] array", write: { try $0.writeArray([Int32(1), 2, 3]) },
      read: { _ = try $0.readArray(Int32.self, count: 3) }, fixedSize: false),
    ReadCase(
      name: "encapsulation of a ulong long",
      write: { $0.writeEncapsulation { $0.write(UInt64(9)) } },
      read: { r in
        var inner = try r.readEncapsulation()
        _ = try inner.read(UInt64.self)
      }, fixedSize: false),
    ReadCase(
      name: "Codable bridge struct",
      write: { try CDREncoder(byteOrder: $0.byteOrder).encode(BridgePerson(name: "Ada", year: 1815, tags: ["x"]), into: &$0) },
      read: { r in _ = try CDRDecoder(byteOrder: r.byteOrder).decode(BridgePerson.self, from: &r) },
      fixedSize: false),
  ]
  // The same again after one octet, so truncation can also land in the padding.
  cases += cases.map { c in
    var d = c
    d.name = "octet + " + c.name
    d.write = { w in
      w.write(UInt8(0xEE))
      try c.write(&w)
    }
    d.read = { r in
      _ = try r.read(UInt8.self)
      try c.read(&r)
    }
    return d
  }
  return cases
}()

@Suite("Bad input: truncation")
struct CDRTruncationTests {

  @Test("every reader call on every strict prefix throws CDRError", arguments: bothOrders)
  func everyPrefixThrows(order: ByteOrder) throws {
    for c in readCases {
      var w = CDRWriter(byteOrder: order, giopMinor: c.giopMinor)
      try c.write(&w)
      let full = w.bytes

      // The full encoding reads back and is used up exactly.
      var whole = CDRReader(full, byteOrder: order, giopMinor: c.giopMinor)
      #expect(throws: Never.self, "\(c.name)") { try c.read(&whole) }
      #expect(whole.isAtEnd, "\(c.name): \(whole.remaining) bytes left")

      for n in 0..<full.count {
        let codes: Set<CDRError.Code> = c.fixedSize ? [.truncated] : [.truncated, .lengthExceedsData]
        // A short array…
        var short = CDRReader(Array(full.prefix(n)), byteOrder: order, giopMinor: c.giopMinor)
        expectCDRError(oneOf: codes, "\(c.name), \(order), \(n) of \(full.count) bytes") { try c.read(&short) }
        // …and the full storage with `end` before its end: nothing past `end` may be used.
        var fenced = CDRReader(full, byteOrder: order, end: n, giopMinor: c.giopMinor)
        expectCDRError(oneOf: codes, "\(c.name), \(order), end \(n) of \(full.count)") { try c.read(&fenced) }
      }
    }
  }

  @Test("a truncated read leaves the reader usable: the position does not pass the end")
  func positionStaysInBounds() throws {
    var r = reader([1, 2, 3], .bigEndian)
    _ = try r.read(UInt8.self)
    expectCDRError(.truncated) { try r.read(UInt64.self) }
    #expect(r.position <= r.end)
    #expect(r.remaining >= 0)
  }

  @Test("an encapsulation whose own contents are too short throws .truncated inside it")
  func truncatedInsideEncapsulation() throws {
    // Length 4: flag + 3 octets; reading a ulong inside must stop at the encapsulation's end even
    // though the outer buffer has more bytes after it.
    let bytes: [UInt8] = [0, 0, 0, 4, 0, 1, 2, 3, 0xAA, 0xBB, 0xCC, 0xDD]
    var r = reader(bytes, .bigEndian)
    var inner = try r.readEncapsulation()
    expectCDRError(.truncated) { try inner.read(UInt32.self) }
    #expect(try r.read(UInt32.self) == 0xAABB_CCDD)
  }
}

@Suite("Bad input: lengths and counts")
struct CDRBadLengthTests {

  @Test("a sequence count of 0xFFFFFFFF with 8 bytes left throws .lengthExceedsData promptly", arguments: bothOrders)
  func hugeSequenceCount(order: ByteOrder) throws {
    let bytes: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 8)
    let clock = ContinuousClock()
    let start = clock.now
    var r1 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r1.decode([Int32].self) }
    var r2 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r2.decode([UInt8].self) }
    var r3 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r3.decode([String].self) }
    var r4 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r4.readOctetSequence() }
    var r5 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r5.readSequence(Int64.self) }
    var r6 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r6.readCount() }
    var r7 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r7.readString() }
    var r8 = reader(bytes, order, giopMinor: 2)
    expectCDRError(.lengthExceedsData) { try r8.readWString() }
    var r9 = reader(bytes, order, giopMinor: 1)
    expectCDRError(.lengthExceedsData) { try r9.readWString() }
    var r10 = reader(bytes, order)
    expectCDRError(.lengthExceedsData) { try r10.readEncapsulation() }
    expectCDRError(.lengthExceedsData) { try CDRDecoder(byteOrder: order).decode([BridgePerson].self, from: bytes) }
    #expect(clock.now - start < .seconds(2))
  }

  @Test("readCount with an element size checks count × size against the data")
  func readCountMinimumSize() throws {
    // count 3 with 8 bytes left: fine for 1-byte elements, too many for 4-byte ones.
    let bytes: [UInt8] = [0, 0, 0, 3] + [UInt8](repeating: 0, count: 8)
    var ok = reader(bytes, .bigEndian)
    #expect(try ok.readCount(minimumElementSize: 1) == 3)
    var bad = reader(bytes, .bigEndian)
    expectCDRError(.lengthExceedsData) { try bad.readCount(minimumElementSize: 4) }
    var exact = reader(bytes, .bigEndian)
    #expect(try exact.readCount(minimumElementSize: 2) == 3)  // 6 ≤ 8
  }

  @Test("a fixed array longer than the data throws .lengthExceedsData")
  func arrayTooLong() throws {
    var r = reader([0, 1, 0, 2], .bigEndian)
    expectCDRError(.lengthExceedsData) { try r.readArray(UInt8.self, count: 5) }
  }

  @Test("string length 0 throws .invalidString", arguments: bothOrders)
  func stringLengthZero(order: ByteOrder) throws {
    var r = reader([0, 0, 0, 0, 0x41, 0], order)
    expectCDRError(.invalidString) { try r.readString() }
  }

  @Test("a string without its NUL terminator throws .invalidString")
  func stringWithoutNUL() throws {
    var r = reader([0, 0, 0, 2, 0x41, 0x42], .bigEndian)
    expectCDRError(.invalidString) { try r.readString() }
  }

  @Test("a string with a NUL before its end throws .invalidString")
  func stringWithInnerNUL() throws {
    var r = reader([0, 0, 0, 3, 0x41, 0x00, 0x00], .bigEndian)
    expectCDRError(.invalidString) { try r.readString() }
  }

  @Test("a string longer than the data throws .lengthExceedsData")
  func stringTooLong() throws {
    var r = reader([0, 0, 0, 9, 0x41, 0x42, 0x00], .bigEndian)
    expectCDRError(.lengthExceedsData) { try r.readString() }
    // Even when the storage has the bytes, but `end` says they are not part of this message.
    var fenced = reader([0, 0, 0, 3, 0x41, 0x42, 0x00], .bigEndian, end: 6)
    expectCDRError(.lengthExceedsData) { try fenced.readString() }
  }

  @Test("invalid UTF-8 throws .dataConversion")
  func invalidUTF8() throws {
    let bodies: [[UInt8]] = [
      [0xFF],  // never valid
      [0xC3],  // lead byte without its continuation
      [0x80],  // lone continuation byte
      [0xC0, 0x80],  // overlong NUL
      [0xED, 0xA0, 0x80],  // UTF-8 encoded surrogate D800
      [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
    ]
    for body in bodies {
      let bytes = beBytes(UInt64(body.count + 1), size: 4) + body + [0]
      var r = reader(bytes, .bigEndian)
      expectCDRError(.dataConversion, "\(hex(body))") { try r.readString() }
    }
  }

  @Test("a boolean octet of 2 throws .invalidBoolean")
  func badBoolean() throws {
    for octet: UInt8 in [2, 0x80, 0xFF] {
      var r = reader([octet], .bigEndian)
      expectCDRError(.invalidBoolean, "octet \(octet)") { try r.read(Bool.self) }
    }
  }

  @Test("encapsulation length 0 throws .invalidEncapsulation")
  func emptyEncapsulation() throws {
    var r = reader([0, 0, 0, 0], .bigEndian)
    expectCDRError(.invalidEncapsulation) { try r.readEncapsulation() }
  }

  @Test("encapsulation longer than the data throws .lengthExceedsData")
  func encapsulationTooLong() throws {
    var r = reader([0, 0, 0, 9, 0, 0, 0, 0, 7], .bigEndian)
    expectCDRError(.lengthExceedsData) { try r.readEncapsulation() }
  }

  @Test("GIOP 1.0/1.1 wstring: length 0 and a missing NUL unit throw .invalidString")
  func wstring11Malformed() throws {
    var zero = reader([0, 0, 0, 0], .bigEndian, giopMinor: 1)
    expectCDRError(.invalidString) { try zero.readWString() }
    var noNUL = reader([0, 0, 0, 2, 0, 0x41, 0, 0x42], .bigEndian, giopMinor: 1)
    expectCDRError(.invalidString) { try noNUL.readWString() }
  }

  @Test("GIOP 1.2 wstring: odd octet count throws .invalidString")
  func wstring12Odd() throws {
    var r = reader([0, 0, 0, 3, 0, 0x41, 0], .bigEndian, giopMinor: 2)
    expectCDRError(.invalidString) { try r.readWString() }
  }

  @Test("lone surrogates in wide text throw .dataConversion")
  func loneSurrogates() throws {
    var w12 = reader([0, 0, 0, 2, 0xD8, 0x3D], .bigEndian, giopMinor: 2)
    expectCDRError(.dataConversion) { try w12.readWString() }
    var w11 = reader([0, 0, 0, 2, 0xDE, 0x00, 0, 0], .bigEndian, giopMinor: 1)
    expectCDRError(.dataConversion) { try w11.readWString() }
    var c11 = reader([0xD8, 0x00], .bigEndian, giopMinor: 1)
    expectCDRError(.dataConversion) { try c11.readWChar() }
    var c12 = reader([2, 0xDC, 0x00], .bigEndian, giopMinor: 2)
    expectCDRError(.dataConversion) { try c12.readWChar() }
  }

  @Test("GIOP 1.2 wchar holding two characters (or none) throws .invalidValue")
  func wcharWrongCount() throws {
    var two = reader([4, 0, 0x41, 0, 0x42], .bigEndian, giopMinor: 2)
    expectCDRError(.invalidValue) { try two.readWChar() }
    var none = reader([0], .bigEndian, giopMinor: 2)
    expectCDRError(.invalidValue) { try none.readWChar() }
  }
}

@Suite("Bad input: bounds")
struct CDRBoundTests {

  @Test("reading a bounded sequence over its bound throws .boundExceeded")
  func readOverBound() throws {
    let bytes = try written(.bigEndian) { try $0.encode([Int32(1), 2, 3]) }
    var r = reader(bytes, .bigEndian)
    expectCDRError(.boundExceeded) { try r.readSequence(Int32.self, bound: 2) }
    var exact = reader(bytes, .bigEndian)
    #expect(try exact.readSequence(Int32.self, bound: 3) == [1, 2, 3])
    var octets = reader([0, 0, 0, 3, 1, 2, 3], .bigEndian)
    expectCDRError(.boundExceeded) { try octets.readOctetSequence(bound: 2) }
  }

  @Test("a bound is checked before the data: a huge count over the bound is .boundExceeded")
  func boundBeforeLength() throws {
    var r = reader([0xFF, 0xFF, 0xFF, 0xFF], .bigEndian)
    expectCDRError(.boundExceeded) { try r.readSequence(Int32.self, bound: 10) }
  }

  @Test("writing a bounded sequence over its bound throws .boundExceeded and writes nothing")
  func writeOverBound() throws {
    var w = CDRWriter(byteOrder: .bigEndian)
    expectCDRError(.boundExceeded) { try w.writeSequence([Int32(1), 2, 3], bound: 2) }
    #expect(w.count == 0)
    try w.writeSequence([Int32(1), 2], bound: 2)
    #expect(w.bytes == [0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2])
  }

  @Test("bounded strings and wstrings over their bound throw .boundExceeded")
  func stringBounds() throws {
    var s = reader([0, 0, 0, 4, 0x61, 0x62, 0x63, 0], .bigEndian)
    expectCDRError(.boundExceeded) { try s.readString(bound: 2) }
    for minor: UInt8 in [1, 2] {
      let bytes = try written(.bigEndian, giopMinor: minor) { try $0.writeWString("abc") }
      var r = reader(bytes, .bigEndian, giopMinor: minor)
      expectCDRError(.boundExceeded, "GIOP 1.\(minor)") { try r.readWString(bound: 2) }
    }
  }
}

@Suite("Bad input: the Codable bridge")
struct CDRBridgeBadInputTests {

  @Test("decode(_:from:) with trailing bytes throws")
  func trailingBytes() throws {
    let bytes = try CDREncoder(byteOrder: .bigEndian).encode(Int32(5)) + [0]
    let error = #expect(throws: CDRError.self) { try CDRDecoder(byteOrder: .bigEndian).decode(Int32.self, from: bytes) }
    #expect(error?.code == .invalidValue)
    // Without the extra byte it decodes.
    #expect(try CDRDecoder(byteOrder: .bigEndian).decode(Int32.self, from: Array(bytes.dropLast())) == 5)
  }

  @Test("decode(_:from:) of a truncated struct throws CDRError")
  func truncatedStruct() throws {
    let bytes = try CDREncoder(byteOrder: .littleEndian).encode(BridgePerson(name: "Ada", year: 1815, tags: ["a", "b"]))
    for n in 0..<bytes.count {
      #expect(throws: CDRError.self, "\(n) bytes") {
        try CDRDecoder(byteOrder: .littleEndian).decode(BridgePerson.self, from: Array(bytes.prefix(n)))
      }
    }
  }

  @Test("an Optional discriminator of 2 throws .invalidBoolean")
  func badOptionalDiscriminator() throws {
    expectCDRError(.invalidBoolean) { try CDRDecoder(byteOrder: .bigEndian).decode(OptionalHolder.self, from: [2, 0]) }
    let ok = try CDRDecoder(byteOrder: .bigEndian).decode(OptionalHolder.self, from: [1, 9])
    #expect(ok.value?.x == 9)
  }

  @Test("an out-of-range enum raw value fails to decode")
  func badEnum() throws {
    enum Colour: Int32, Codable { case red = 0, green = 1 }
    #expect(throws: (any Error).self) { try CDRDecoder(byteOrder: .bigEndian).decode(Colour.self, from: [0, 0, 0, 2]) }
    #expect(try CDRDecoder(byteOrder: .bigEndian).decode(Colour.self, from: [0, 0, 0, 1]) == .green)
  }

  @Test("enums with associated values cannot be decoded")
  func associatedValues() throws {
    enum Shape: Codable, Equatable { case circle(radius: Int32) }
    #expect(throws: (any Error).self) {
      try CDRDecoder(byteOrder: .bigEndian).decode(Shape.self, from: [0, 0, 0, 1, 0, 0, 0, 5])
    }
  }
}

@Suite("Bad input: random bytes")
struct CDRFuzzTests {

  @Test("random bytes never trap: every reader call succeeds or throws CDRError")
  func randomBytes() async {
    await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...40), byteOrderGenerator, Gen.uint8(in: 0...2)) {
      bytes, order, minor in
      for c in readCases {
        var r = CDRReader(bytes, byteOrder: order, giopMinor: minor)
        do {
          try c.read(&r)
          #expect(r.position <= r.end, "\(c.name)")
        } catch is CDRError {
          // expected for most inputs
        } catch {
          Issue.record("\(c.name) threw a non-CDR error \(error) for \(hex(bytes))")
        }
      }
    }
  }

  @Test("random bytes with a plausible length prefix never trap")
  func plausibleLengths() async {
    // A small length field makes the string, sequence and encapsulation paths go further.
    await propertyCheck(count: 300, input: Gen.uint8(in: 0...12), Gen.uint8().array(of: 0...16), byteOrderGenerator) {
      length, tail, order in
      let bytes = orderedBytes(UInt64(length), size: 4, order) + tail
      for c in readCases {
        for minor: UInt8 in [1, 2] {
          var r = CDRReader(bytes, byteOrder: order, giopMinor: minor)
          do {
            try c.read(&r)
          } catch is CDRError {
          } catch {
            Issue.record("\(c.name) threw a non-CDR error \(error) for \(hex(bytes))")
          }
        }
      }
    }
  }
}
