import PropertyBased
import Testing

@testable import CourierWire

// Property-based XDR round trips: decode(encode(x)) == x for every type, and the exact bytes
// from an oracle written from RFC 4506 (big endian, 4-byte units, zero fill), independent of
// XDRWriter.

/// `length` bytes of zero fill after `length` bytes of data.
func xdrFill(_ length: Int) -> [UInt8] { [UInt8](repeating: 0, count: (4 - length % 4) % 4) }

/// Writes `value`, reads it back and checks every byte was used.
func xdrRoundTrip<T: XDRCodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
  let bytes = try xdrWritten { try $0.encode(value) }
  var r = XDRReader(bytes)
  let back = try r.decode(T.self)
  #expect(r.isAtEnd, "\(r.remaining) bytes left after \(T.self) from \(hex(bytes))", sourceLocation: sourceLocation)
  return back
}

@Suite("XDR property-based round trips: numbers")
struct XDRNumberPropertyTests {

  @Test func int() async {
    await propertyCheck(count: 200, input: Gen.int32()) { (x) throws in
      #expect(try xdrWritten { try $0.encode(x) } == beBytes(UInt64(UInt32(bitPattern: x)), size: 4))
      #expect(try xdrRoundTrip(x) == x)
    }
  }

  @Test func unsignedInt() async {
    await propertyCheck(count: 200, input: Gen.uint32()) { (x) throws in
      #expect(try xdrWritten { try $0.encode(x) } == beBytes(UInt64(x), size: 4))
      #expect(try xdrRoundTrip(x) == x)
    }
  }

  @Test func hyper() async {
    await propertyCheck(count: 200, input: Gen.int64()) { (x) throws in
      #expect(try xdrWritten { try $0.encode(x) } == beBytes(UInt64(bitPattern: x), size: 8))
      #expect(try xdrRoundTrip(x) == x)
    }
  }

  @Test func unsignedHyper() async {
    await propertyCheck(count: 200, input: Gen.uint64()) { (x) throws in
      #expect(try xdrWritten { try $0.encode(x) } == beBytes(x, size: 8))
      #expect(try xdrRoundTrip(x) == x)
    }
  }

  @Test func bool() async {
    await propertyCheck(count: 20, input: Gen.bool) { (b) throws in
      #expect(try xdrWritten { try $0.encode(b) } == [0, 0, 0, b ? 1 : 0])
      #expect(try xdrRoundTrip(b) == b)
    }
  }

  @Test("any word but 0 and 1 is not a bool")
  func notBool() async {
    await propertyCheck(count: 200, input: Gen.uint32(in: 2...UInt32.max)) { (x) throws in
      var r = XDRReader(beBytes(UInt64(x), size: 4))
      expectXDRError(.invalidBool, at: 0) { try r.read(Bool.self) }
    }
  }

  @Test("float: every bit pattern, NaN payloads included")
  func float() async {
    await propertyCheck(count: 300, input: Gen.uint32()) { (bits) throws in
      let x = Float(bitPattern: bits)
      #expect(try xdrWritten { try $0.encode(x) } == beBytes(UInt64(bits), size: 4))
      #expect(try xdrRoundTrip(x).bitPattern == bits)
    }
  }

  @Test("double: every bit pattern, NaN payloads included")
  func double() async {
    await propertyCheck(count: 300, input: Gen.uint64()) { (bits) throws in
      let x = Double(bitPattern: bits)
      #expect(try xdrWritten { try $0.encode(x) } == beBytes(bits, size: 8))
      #expect(try xdrRoundTrip(x).bitPattern == bits)
    }
  }

  @Test("quadruple: any 128 bits cross unchanged; every finite double converts exactly")
  func quadruple() async {
    await propertyCheck(count: 300, input: Gen.uint64(), Gen.uint64()) { (high, low) throws in
      let q = XDRQuadruple(high: high, low: low)
      let bytes = try xdrWritten { try $0.encode(q) }
      #expect(bytes == beBytes(high, size: 8) + beBytes(low, size: 8))
      #expect(q.bytes == bytes)
      #expect(XDRQuadruple(bytes: bytes) == q)
      #expect(try xdrRoundTrip(q) == q)
      let d = Double(bitPattern: high)
      if d.isFinite { #expect(XDRQuadruple(d).doubleValue.bitPattern == high) }
    }
  }

  @Test("enum: declared values round trip, others are refused")
  func enumeration() async {
    await propertyCheck(count: 200, input: Gen.int32(in: -5...5)) { (x) throws in
      var r = XDRReader(beBytes(UInt64(UInt32(bitPattern: x)), size: 4))
      if let kind = XDRRFCExample.FileKind(rawValue: x) {
        #expect(try r.readEnum(XDRRFCExample.FileKind.self) == kind)
        #expect(try xdrRoundTrip(kind) == kind)
      } else {
        expectXDRError(.invalidEnum, at: 0) { try r.readEnum(XDRRFCExample.FileKind.self) }
      }
    }
  }
}

@Suite("XDR property-based round trips: opaque data and strings")
struct XDROpaquePropertyTests {

  @Test("variable-length opaque: length, bytes, zero fill; bounded both ways")
  func opaque() async {
    await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...40), Gen.int(in: 0...40)) { (data, maximum) throws in
      let golden = beBytes(UInt64(data.count), size: 4) + data + xdrFill(data.count)
      #expect(try xdrWritten { try $0.writeOpaque(data) } == golden)
      #expect(golden.count % 4 == 0)
      var w = XDRWriter()
      var r = XDRReader(golden)
      if data.count <= maximum {
        try w.writeOpaque(data, maximum: maximum)
        #expect(w.bytes == golden)
        #expect(try r.readOpaque(maximum: maximum) == data)
        #expect(r.isAtEnd)
      } else {
        expectXDRError(.lengthTooLarge, at: 0) { try w.writeOpaque(data, maximum: maximum) }
        #expect(w.count == 0)
        expectXDRError(.lengthTooLarge, at: 0) { try r.readOpaque(maximum: maximum) }
      }
    }
  }

  @Test("fixed-length opaque: bytes and zero fill, no length")
  func fixedOpaque() async {
    await propertyCheck(count: 200, input: Gen.uint8().array(of: 0...40)) { (data) throws in
      let golden = data + xdrFill(data.count)
      #expect(try xdrWritten { try $0.writeFixedOpaque(data, count: data.count) } == golden)
      var r = XDRReader(golden)
      #expect(try r.readFixedOpaque(count: data.count) == data)
      #expect(r.isAtEnd)
    }
  }

  @Test("string: UTF-8 bytes, fill, bounded in bytes both ways")
  func string() async {
    await propertyCheck(count: 300, input: stringGenerator(maxLength: 20, allowAstral: true), Gen.int(in: 0...60)) {
      (s, maximum) throws in
      let utf8 = Array(s.utf8)
      let golden = beBytes(UInt64(utf8.count), size: 4) + utf8 + xdrFill(utf8.count)
      #expect(try xdrWritten { try $0.encode(s) } == golden)
      #expect(try xdrRoundTrip(s) == s)
      var r = XDRReader(golden)
      if utf8.count <= maximum {
        #expect(try xdrWritten { try $0.writeString(s, maximum: maximum) } == golden)
        #expect(try r.readString(maximum: maximum) == s)
      } else {
        var w = XDRWriter()
        expectXDRError(.lengthTooLarge) { try w.writeString(s, maximum: maximum) }
        expectXDRError(.lengthTooLarge, at: 0) { try r.readString(maximum: maximum) }
      }
    }
  }

  @Test("any non-zero fill byte: strict readers refuse it where it is, lenient ones read the same data")
  func fill() async {
    await propertyCheck(
      count: 300, input: Gen.uint8().array(of: 0...30), Gen.int(in: 0...2), Gen.uint8(in: 1...255)
    ) { (data, which, junk) throws in
      let pad = (4 - data.count % 4) % 4
      guard pad > 0 else { return }
      var bytes = try xdrWritten { try $0.writeOpaque(data) }
      let spoiled = 4 + data.count + which % pad
      bytes[spoiled] = junk
      var strict = XDRReader(bytes)
      expectXDRError(.nonZeroPadding, at: spoiled) { try strict.readOpaque() }
      var lenient = XDRReader(bytes, requiresZeroPadding: false)
      #expect(try lenient.readOpaque() == data)
      #expect(lenient.isAtEnd)
      // The same bytes as fixed opaque after the length word.
      var fixed = XDRReader(Array(bytes[4...]))
      expectXDRError(.nonZeroPadding, at: spoiled - 4) { try fixed.readFixedOpaque(count: data.count) }
    }
  }
}

@Suite("XDR property-based round trips: composite types")
struct XDRCompositePropertyTests {

  @Test("variable-length arrays: count then elements; bounded both ways")
  func arrays() async {
    await propertyCheck(count: 200, input: Gen.int32().array(of: 0...20), Gen.int(in: 0...20)) { (xs, maximum) throws in
      let golden = beBytes(UInt64(xs.count), size: 4) + xs.flatMap { beBytes(UInt64(UInt32(bitPattern: $0)), size: 4) }
      #expect(try xdrWritten { try $0.encode(xs) } == golden)
      #expect(try xdrRoundTrip(xs) == xs)
      var r = XDRReader(golden)
      var w = XDRWriter()
      if xs.count <= maximum {
        try w.writeArray(xs, maximum: maximum)
        #expect(w.bytes == golden)
        #expect(try r.readArray(Int32.self, maximum: maximum) == xs)
      } else {
        expectXDRError(.lengthTooLarge) { try w.writeArray(xs, maximum: maximum) }
        expectXDRError(.lengthTooLarge, at: 0) { try r.readArray(Int32.self, maximum: maximum) }
      }
    }
  }

  @Test("fixed arrays, nested arrays, arrays of strings and of hypers")
  func nested() async {
    await propertyCheck(
      count: 150, input: Gen.int32().array(of: 0...6).array(of: 0...5),
      stringGenerator(maxLength: 8, allowAstral: true).array(of: 0...6), Gen.uint64().array(of: 0...6)
    ) { (grid, names, hypers) throws in
      #expect(try xdrRoundTrip(grid) == grid)
      #expect(try xdrRoundTrip(names) == names)
      #expect(try xdrRoundTrip(hypers) == hypers)
      let fixed = try xdrWritten { try $0.writeFixedArray(hypers, count: hypers.count) }
      #expect(fixed == hypers.flatMap { beBytes($0, size: 8) })
      var r = XDRReader(fixed)
      #expect(try r.readFixedArray(UInt64.self, count: hypers.count, minimumElementSize: 8) == hypers)
    }
  }

  @Test("optional data: FALSE, or TRUE and the value")
  func optional() async {
    await propertyCheck(count: 200, input: Gen.int64(), Gen.bool) { (x, present) throws in
      let value: Int64? = present ? x : nil
      let golden: [UInt8] = present ? [0, 0, 0, 1] + beBytes(UInt64(bitPattern: x), size: 8) : [0, 0, 0, 0]
      #expect(try xdrWritten { try $0.encode(value) } == golden)
      #expect(try xdrRoundTrip(value) == value)
    }
  }

  @Test("linked lists: writeList/readList and recursive optional data agree")
  func lists() async {
    await propertyCheck(count: 150, input: Gen.int32().array(of: 0...30)) { (xs) throws in
      let golden: [UInt8] = xs.flatMap { x -> [UInt8] in [0, 0, 0, 1] + beBytes(UInt64(UInt32(bitPattern: x)), size: 4) } + [0, 0, 0, 0]
      #expect(try xdrWritten { try $0.writeList(xs) } == golden)
      var r = XDRReader(golden)
      #expect(try r.readList(Int32.self) == xs)
      var chain: XDRLinkedNode? = nil
      for x in xs.reversed() { chain = XDRLinkedNode(value: x, next: chain) }
      #expect(try xdrWritten { try $0.encode(chain) } == golden)
      var rr = XDRReader(golden)
      #expect(try rr.decode(XDRLinkedNode?.self)?.values ?? [] == xs)
    }
  }

  @Test("RFC 4506 §7 file and its union: any values round trip")
  func rfcFile() async {
    await propertyCheck(
      count: 200, input: stringGenerator(maxLength: 20, allowAstral: true), Gen.int(in: 0...2),
      stringGenerator(maxLength: 10, allowAstral: false, asciiOnly: true), Gen.uint8().array(of: 0...50)
    ) { (name, kind, owner, data) throws in
      let type: XDRRFCExample.FileType =
        switch kind {
        case 0: .text
        case 1: .data(creator: owner)
        default: .exec(interpretor: name)
        }
      let file = XDRRFCExample.File(filename: name, type: type, owner: owner, data: data)
      let bytes = try xdrWritten { try $0.encode(file) }
      let armSize = kind == 0 ? 0 : 4 + (kind == 1 ? owner.utf8.count : name.utf8.count)
      func padded(_ n: Int) -> Int { n + (4 - n % 4) % 4 }
      #expect(bytes.count == 4 + padded(name.utf8.count) + 4 + padded(armSize) + 4 + padded(owner.utf8.count) + 4 + padded(data.count))
      #expect(try xdrRoundTrip(file) == file)
    }
  }
}

// MARK: mixed streams

/// One XDR item in a random stream, with its bytes stated from RFC 4506 (the oracle).
enum XDRMixedItem: Equatable, Sendable {
  case int(Int32), uint(UInt32), hyper(Int64), uhyper(UInt64), bool(Bool), float(UInt32), double(UInt64)
  case quad(UInt64, UInt64), opaque([UInt8]), fixedOpaque([UInt8]), string(String), ints([Int32])
  case optional(Int32?), void, kind(XDRRFCExample.FileKind), outcome(XDRSampleOutcome)

  static let kindCount = 16

  init(kind: Int, bits: UInt64, text: String, flag: Bool) {
    let small = Int(bits % 11)
    switch kind {
    case 0: self = .int(Int32(truncatingIfNeeded: bits))
    case 1: self = .uint(UInt32(truncatingIfNeeded: bits))
    case 2: self = .hyper(Int64(bitPattern: bits))
    case 3: self = .uhyper(bits)
    case 4: self = .bool(flag)
    case 5: self = .float(UInt32(truncatingIfNeeded: bits))
    case 6: self = .double(bits)
    case 7: self = .quad(bits, ~bits)
    case 8: self = .opaque(Array(text.utf8.prefix(small)))
    case 9: self = .fixedOpaque((0..<small).map { UInt8(truncatingIfNeeded: bits >> UInt64($0)) })
    case 10: self = .string(text)
    case 11: self = .ints((0..<small % 4).map { Int32(truncatingIfNeeded: bits >> UInt64($0 * 8)) })
    case 12: self = .optional(flag ? Int32(truncatingIfNeeded: bits) : nil)
    case 13: self = .void
    case 14: self = .kind(XDRRFCExample.FileKind(rawValue: Int32(bits % 3))!)
    default:
      let outcome: XDRSampleOutcome =
        switch bits % 3 {
        case 0: .value(Int64(bitPattern: bits))
        case 1: .nothing
        default: .failed(status: Int32(truncatingIfNeeded: bits >> 8) | 2, reason: String(text.prefix(3)))
        }
      self = .outcome(outcome)
    }
  }

  /// The item's bytes, from the RFC's rules.
  var oracle: [UInt8] {
    func word(_ v: UInt32) -> [UInt8] { beBytes(UInt64(v), size: 4) }
    func counted(_ b: [UInt8]) -> [UInt8] { word(UInt32(b.count)) + b + xdrFill(b.count) }
    switch self {
    case .int(let x): return word(UInt32(bitPattern: x))
    case .uint(let x): return word(x)
    case .hyper(let x): return beBytes(UInt64(bitPattern: x), size: 8)
    case .uhyper(let x): return beBytes(x, size: 8)
    case .bool(let b): return word(b ? 1 : 0)
    case .float(let bits): return word(bits)
    case .double(let bits): return beBytes(bits, size: 8)
    case .quad(let h, let l): return beBytes(h, size: 8) + beBytes(l, size: 8)
    case .opaque(let b): return counted(b)
    case .fixedOpaque(let b): return b + xdrFill(b.count)
    case .string(let s): return counted(Array(s.utf8))
    case .ints(let xs): return word(UInt32(xs.count)) + xs.flatMap { word(UInt32(bitPattern: $0)) }
    case .optional(let x): return x.map { word(1) + word(UInt32(bitPattern: $0)) } ?? word(0)
    case .void: return []
    case .kind(let k): return word(UInt32(bitPattern: k.rawValue))
    case .outcome(.value(let v)): return word(0) + beBytes(UInt64(bitPattern: v), size: 8)
    case .outcome(.nothing): return word(1)
    case .outcome(.failed(let status, let reason)): return word(UInt32(bitPattern: status)) + counted(Array(reason.utf8))
    }
  }

  func write(to w: inout XDRWriter) throws {
    switch self {
    case .int(let x): w.write(x)
    case .uint(let x): w.write(x)
    case .hyper(let x): w.write(x)
    case .uhyper(let x): w.write(x)
    case .bool(let b): w.write(b)
    case .float(let bits): w.write(Float(bitPattern: bits))
    case .double(let bits): w.write(Double(bitPattern: bits))
    case .quad(let h, let l): w.write(XDRQuadruple(high: h, low: l))
    case .opaque(let b): try w.writeOpaque(b, maximum: 10)
    case .fixedOpaque(let b): try w.writeFixedOpaque(b, count: b.count)
    case .string(let s): try w.writeString(s)
    case .ints(let xs): try w.writeArray(xs, maximum: 3)
    case .optional(let x): try w.writeOptional(x)
    case .void: w.writeVoid()
    case .kind(let k): w.writeEnum(k)
    case .outcome(let o): try w.encode(o)
    }
  }

  /// Reads an item of the same kind as `self`.
  func readSameKind(from r: inout XDRReader) throws -> XDRMixedItem {
    switch self {
    case .int: return .int(try r.read())
    case .uint: return .uint(try r.read())
    case .hyper: return .hyper(try r.read())
    case .uhyper: return .uhyper(try r.read())
    case .bool: return .bool(try r.read())
    case .float: return .float(try r.read(Float.self).bitPattern)
    case .double: return .double(try r.read(Double.self).bitPattern)
    case .quad:
      let q = try r.read(XDRQuadruple.self)
      return .quad(q.high, q.low)
    case .opaque: return .opaque(try r.readOpaque(maximum: 10))
    case .fixedOpaque(let b): return .fixedOpaque(try r.readFixedOpaque(count: b.count))
    case .string: return .string(try r.readString())
    case .ints: return .ints(try r.readArray(maximum: 3))
    case .optional: return .optional(try r.readOptional())
    case .void:
      r.readVoid()
      return .void
    case .kind: return .kind(try r.readEnum())
    case .outcome: return .outcome(try r.decode())
    }
  }
}

@Suite("XDR property-based: mixed streams, truncation and garbage")
struct XDRMixedStreamPropertyTests {

  static let items = zip(
    Gen.int(in: 0...(XDRMixedItem.kindCount - 1)), Gen.uint64(), stringGenerator(maxLength: 7, allowAstral: true),
    Gen.bool
  ).map { XDRMixedItem(kind: $0.0, bits: $0.1, text: $0.2, flag: $0.3) }.array(of: 0...20)

  @Test("a random stream: the bytes are the oracle's, positions advance by its sizes, values come back")
  func stream() async {
    await propertyCheck(count: 300, input: Self.items) { (items) throws in
      var w = XDRWriter(capacity: 8)
      var expected: [UInt8] = []
      var ends: [Int] = []
      for item in items {
        try item.write(to: &w)
        expected += item.oracle
        #expect(w.count == expected.count, "after \(item)")
        ends.append(expected.count)
      }
      #expect(w.bytes == expected)
      var r = XDRReader(expected)
      for (item, end) in zip(items, ends) {
        #expect(try item.readSameKind(from: &r) == item)
        #expect(r.position == end, "position after \(item)")
      }
      #expect(r.isAtEnd)
    }
  }

  @Test("a random stream cut anywhere short: reading it throws .truncated")
  func truncated() async {
    await propertyCheck(count: 300, input: Self.items, Gen.int(in: 0...10_000)) { (items, cutSeed) throws in
      let bytes = try xdrWritten { w in for item in items { try item.write(to: &w) } }
      guard !bytes.isEmpty else { return }
      let cut = cutSeed % bytes.count
      var r = XDRReader(bytes, end: cut)
      let error = expectXDRError(.truncated, "cut at \(cut) of \(bytes.count)") {
        for item in items { _ = try item.readSameKind(from: &r) }
      }
      if let error { #expect(error.offset <= cut) }
    }
  }

  /// Words that make interesting garbage: small counts, booleans, huge lengths, random bits.
  static let garbage = Gen<UInt32?>.element(of: [0, 1, 2, 3, 4, 5, 9, 255, 0x8000_0000, 0xFFFF_FFFF] as [UInt32])
    .map { $0 ?? 0 }.array(of: 0...40)

  @Test("garbage never traps: decoding throws XDRError or succeeds, and a success re-encodes to a prefix")
  func garbage() async {
    await propertyCheck(count: 500, input: Self.garbage, Gen.uint8().array(of: 0...3)) { (words, tail) throws in
      let bytes = words.flatMap { beBytes(UInt64($0), size: 4) } + tail
      func attempt<T: XDRCodable>(_: T.Type) throws {
        var r = XDRReader(bytes)
        do {
          let value = try r.decode(T.self)
          // What was read re-encodes to exactly the bytes consumed.
          #expect(try xdrWritten { try $0.encode(value) } == Array(bytes[..<r.position]))
        } catch is XDRError {
          #expect(r.position <= r.end)
        }
      }
      try attempt(XDRRFCExample.File.self)
      try attempt(XDREverything.self)
      try attempt(XDRSampleOutcome.self)
      try attempt([[String]].self)
      try attempt([Int64?].self)
      var r = XDRReader(bytes, requiresZeroPadding: false)
      _ = try? r.readList { try $0.readOpaque(maximum: 8) }
    }
  }
}
