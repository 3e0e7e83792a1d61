import Foundation
import Testing

@testable import CourierWire

// CORBAAny: golden bytes from omniORB 4.2 (Interop/omniorb/any/golden, see its README),
// round trips of every kind of value, re-marshalling at other alignments and byte orders,
// typed insertion/extraction, and bad input.

// MARK: - golden files

enum AnyGolden {
  /// `Interop/omniorb/any/golden`, found from this file's path.
  static let directory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // AnyTests.swift, CourierWireTests, Tests
    return parts.joined(separator: "/") + "/Interop/omniorb/any/golden"
  }()

  /// The bytes of `name.order.hex` (comment lines start with `#`).
  static func bytes(_ name: String, _ order: ByteOrder) throws -> [UInt8] {
    let path = "\(directory)/\(name).\(order == .littleEndian ? "le" : "be").hex"
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var out: [UInt8] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      for pair in line.split(separator: " ") {
        guard let b = UInt8(pair, radix: 16) else { throw CDRError(.invalidValue, "\(path): bad hex \(pair)") }
        out.append(b)
      }
    }
    return out
  }

  static func decode(_ bytes: [UInt8], _ order: ByteOrder) throws -> CORBAAny {
    var r = CDRReader(bytes, byteOrder: order)
    let any = try CORBAAny(from: &r)
    guard r.isAtEnd else { throw CDRError(.invalidValue, "\(r.remaining) bytes left after the any") }
    return any
  }

  static let point = TCSamples.point
  static let color = TCSamples.color
  static func pointValue(_ x: Int32, _ y: Int32) -> AnyValue { .structure([.long(x), .long(y)]) }
  static let node = TypeCode.struct(id: "IDL:Golden/Node:1.0", name: "Node", members: [
    .init(name: "value", type: .long),
    .init(name: "children", type: .sequence(element: .recursive(id: "IDL:Golden/Node:1.0"), bound: 0)),
  ])
  static func nodeValue(_ v: Int32, _ children: [AnyValue]) -> AnyValue { .structure([.long(v), .sequence(children)]) }
  static let tree = TypeCode.struct(id: "IDL:Golden/Tree:1.0", name: "Tree", members: [
    .init(name: "label", type: .string(bound: 0)),
    .init(name: "kids", type: .alias(id: "IDL:Golden/Forest:1.0", name: "Forest",
      content: .sequence(element: .recursive(id: "IDL:Golden/Tree:1.0"), bound: 0))),
  ])

  /// What each capture holds, from any_golden.cc (`nil`: checked separately).
  static let expected: [String: CORBAAny?] = [
    "long": CORBAAny(type: .long, value: .long(42)),
    "string": CORBAAny(type: .string(bound: 0), value: .string("hello")),
    "struct": CORBAAny(
      type: .struct(id: "IDL:Golden/Shape:1.0", name: "Shape", members: [
        .init(name: "name", type: .string(bound: 0)),
        .init(name: "origin", type: point),
        .init(name: "corners", type: .sequence(element: point, bound: 0)),
        .init(name: "tags", type: .alias(id: "IDL:Golden/ShortSeq:1.0", name: "ShortSeq", content: .sequence(element: .short, bound: 0))),
        .init(name: "area", type: .double),
        .init(name: "flag", type: .octet),
      ]),
      value: .structure([
        .string("tri"), pointValue(1, -2), .sequence([pointValue(3, 4), pointValue(5, 6)]),
        .sequence([.short(7), .short(-8), .short(9)]), .double(2.5), .octet(0xAB),
      ])),
    "union_case": CORBAAny(type: TCSamples.choice, value: .union(discriminator: .long(2), member: .string("two"))),
    "union_number": CORBAAny(type: TCSamples.choice, value: .union(discriminator: .long(1), member: .long(-1))),
    "union_default": CORBAAny(type: TCSamples.choice, value: .union(discriminator: .long(.min), member: .enumerator(2))),
    "union_implicit": CORBAAny(
      type: .union(id: "IDL:Golden/Partial:1.0", name: "Partial", discriminator: color, members: [
        .init(label: .enumerator(0), name: "r", type: .short),
        .init(label: .enumerator(1), name: "g", type: .double),
      ]),
      value: .union(discriminator: .enumerator(2), member: nil)),
    "enum": CORBAAny(type: color, value: .enumerator(1)),
    "alias": CORBAAny(type: .alias(id: "IDL:Golden/Location:1.0", name: "Location", content: point), value: pointValue(10, 20)),
    "array": CORBAAny(
      type: .alias(id: "IDL:Golden/Counts:1.0", name: "Counts", content: .array(element: .long, length: 3)),
      value: .array([.long(1), .long(2), .long(3)])),
    "recursive": CORBAAny(
      type: node, value: nodeValue(1, [nodeValue(2, []), nodeValue(3, [nodeValue(4, [])])])),
    "recursive_alias": CORBAAny(
      type: tree, value: .structure([.string("a"), .sequence([.structure([.string("b"), .sequence([])])])])),
    "objref": nil,
    "objref_nil": CORBAAny(type: .objref(id: "IDL:Golden/Thing:1.0", name: "Thing"), value: .objectReference(.null)),
    "fixed": CORBAAny(type: .fixed(digits: 5, scale: 2), value: .fixed(CDRFixed("-12.34")!)),
    "fixed_even": CORBAAny(type: .fixed(digits: 6, scale: 1), value: .fixed(CDRFixed("1234.5")!)),
    "fixed_alias": CORBAAny(
      type: .alias(id: "IDL:Golden/Money:1.0", name: "Money", content: .fixed(digits: 5, scale: 2)),
      value: .fixed(CDRFixed("999.99")!)),
    "nested_any": CORBAAny(type: .any, value: .any(CORBAAny(type: .any, value: .any(CORBAAny(type: .long, value: .long(7)))))),
    "wide": CORBAAny(
      type: .struct(id: "IDL:Golden/Wide:1.0", name: "Wide", members: [
        .init(name: "text", type: .wstring(bound: 0)), .init(name: "c", type: .wchar),
      ]),
      value: .structure([.wstring("wide \u{FC}\u{20AC}"), .wchar("\u{3A9}")])),
    "exception": CORBAAny(
      type: .except(id: "IDL:Golden/Oops:1.0", name: "Oops", members: [
        .init(name: "code", type: .long), .init(name: "why", type: .string(bound: 0)),
      ]),
      value: .exception([.long(404), .string("gone")])),
    "typecode": CORBAAny(type: .typeCode, value: .typeCode(point)),
  ]

  static let names = expected.keys.sorted()

  /// Cases whose re-encoding cannot equal omniORB's bytes: omniORB writes a `wstring` with a
  /// byte-order mark in the stream's order, Courier's CDRWriter big endian without a mark
  /// (both valid GIOP 1.2).
  static let notByteForByte: Set<String> = ["wide"]
}

@Suite("CORBAAny: omniORB golden bytes")
struct AnyGoldenTests {
  @Test("every capture is there, in both byte orders")
  func filesPresent() throws {
    #expect(AnyGolden.names.count == 21)
    for name in AnyGolden.names {
      for order in bothOrders { #expect(try !AnyGolden.bytes(name, order).isEmpty, "\(name)") }
    }
  }

  @Test("decodes to the value omniORB was given", arguments: AnyGolden.names)
  func decodes(name: String) throws {
    let le = try AnyGolden.decode(try AnyGolden.bytes(name, .littleEndian), .littleEndian)
    let be = try AnyGolden.decode(try AnyGolden.bytes(name, .bigEndian), .bigEndian)
    #expect(le == be, "little and big endian captures differ")
    if let expected = AnyGolden.expected[name] ?? nil {
      #expect(le == expected, "\(le)")
      #expect(le.type.equal(expected.type))
    }
  }

  @Test("an object reference: the raw IOR")
  func objref() throws {
    let any = try AnyGolden.decode(try AnyGolden.bytes("objref", .littleEndian), .littleEndian)
    #expect(any.type == .objref(id: "IDL:Golden/Thing:1.0", name: "Thing"))
    guard case .objectReference(let ior) = any.value else {
      Issue.record("not an object reference: \(any.value)")
      return
    }
    #expect(ior.typeID == "" && !ior.isNull)
    #expect(ior.profiles.count == 1)
    #expect(ior.profiles.first?.tag == 0)  // TAG_INTERNET_IOP
    // IIOP 1.2 profile body: its own encapsulation (little endian), version 1.2, host 127.0.0.1.
    #expect(ior.profiles.first.map { Array($0.data.prefix(3)) } == [1, 1, 2])
  }

  /// Positions whose value the decoder ignores: changing such a byte leaves the decoded `any`
  /// the same. These are alignment padding (which omniORB leaves uninitialised inside the
  /// TypeCode encapsulations it caches) and the placeholder label of a union's default member.
  static func ignoredPositions(_ bytes: [UInt8], _ order: ByteOrder, value: CORBAAny) -> [Bool] {
    (0..<bytes.count).map { i in
      var mutated = bytes
      mutated[i] ^= 0xFF
      return (try? AnyGolden.decode(mutated, order)) == value
    }
  }

  @Test("re-encoding gives omniORB's bytes (padding masked), little endian", arguments: AnyGolden.names)
  func reencodes(name: String) throws {
    let golden = try AnyGolden.bytes(name, .littleEndian)
    let any = try AnyGolden.decode(golden, .littleEndian)
    var w = CDRWriter(byteOrder: .littleEndian)
    try any.encode(to: &w)
    let ours = w.bytes
    #expect(try AnyGolden.decode(ours, .littleEndian) == any)
    if AnyGolden.notByteForByte.contains(name) { return }
    let ignored = Self.ignoredPositions(golden, .littleEndian, value: any)
    try #require(ours.count == golden.count, "\(name): \(ours.count) bytes, omniORB \(golden.count)\n\(hex(ours))\n\(hex(golden))")
    for i in 0..<ours.count {
      if ignored[i] {
        #expect(ours[i] == 0, "\(name): Courier's padding at \(i) is not zero")
      } else {
        #expect(ours[i] == golden[i], "\(name): byte \(i) is \(ours[i]), omniORB \(golden[i])\n\(hex(ours))\n\(hex(golden))")
      }
    }
    // The mask is padding, not data: at most 7 octets at a time.
    var run = 0
    for flag in ignored {
      run = flag ? run + 1 : 0
      #expect(run <= 7, "\(name): more than 7 ignored octets in a row")
    }
  }

  @Test("big-endian captures: re-encoded big endian, the value reads back the same", arguments: AnyGolden.names)
  func bigEndian(name: String) throws {
    let any = try AnyGolden.decode(try AnyGolden.bytes(name, .bigEndian), .bigEndian)
    var w = CDRWriter(byteOrder: .bigEndian)
    try any.encode(to: &w)
    #expect(try AnyGolden.decode(w.bytes, .bigEndian) == any)
  }

  @Test("every truncation of every capture is a CDRError", arguments: AnyGolden.names)
  func truncated(name: String) throws {
    let golden = try AnyGolden.bytes(name, .littleEndian)
    for n in 0..<golden.count {
      #expect(throws: CDRError.self, "\(name) cut at \(n)") { try AnyGolden.decode(Array(golden[..<n]), .littleEndian) }
    }
  }
}

// MARK: - round trips

/// A test struct with a static TypeCode, as generated code will have.
struct GPoint: CDRCodable, CDRTypeCodeProvider, Equatable {
  var x: Int32
  var y: Int32
  static var typeCode: TypeCode { TCSamples.point }
  func encode(to writer: inout CDRWriter) throws {
    writer.write(x)
    writer.write(y)
  }
  init(x: Int32, y: Int32) {
    self.x = x
    self.y = y
  }
  init(from reader: inout CDRReader) throws {
    x = try reader.read()
    y = try reader.read()
  }
}

enum AnySamples {
  static let all: [CORBAAny] = {
    var list: [CORBAAny] = [
      CORBAAny(),
      CORBAAny(type: .void, value: .null),
      CORBAAny(type: .short, value: .short(-2)),
      CORBAAny(type: .long, value: .long(.min)),
      CORBAAny(type: .ushort, value: .ushort(.max)),
      CORBAAny(type: .ulong, value: .ulong(0xDEAD_BEEF)),
      CORBAAny(type: .longlong, value: .longlong(.min)),
      CORBAAny(type: .ulonglong, value: .ulonglong(.max)),
      CORBAAny(type: .float, value: .float(-1.5)),
      CORBAAny(type: .double, value: .double(.pi)),
      CORBAAny(type: .longdouble, value: .longdouble(CDRLongDouble(3.25))),
      CORBAAny(type: .boolean, value: .boolean(true)),
      CORBAAny(type: .char, value: .char("A")),
      CORBAAny(type: .wchar, value: .wchar("\u{1F600}")),
      CORBAAny(type: .octet, value: .octet(0xFE)),
      CORBAAny(type: .string(bound: 0), value: .string("héllo")),
      CORBAAny(type: .string(bound: 5), value: .string("abc")),
      CORBAAny(type: .wstring(bound: 0), value: .wstring("wïde \u{1F600}")),
      CORBAAny(type: .fixed(digits: 7, scale: 3), value: .fixed(CDRFixed("-1234.5")!)),
      CORBAAny(type: TCSamples.color, value: .enumerator(2)),
      CORBAAny(type: .sequence(element: .octet, bound: 0), value: .sequence([.octet(1), .octet(2), .octet(3)])),
      CORBAAny(type: .sequence(element: .double, bound: 3), value: .sequence([.double(1), .double(2)])),
      CORBAAny(type: .array(element: .array(element: .short, length: 2), length: 2),
        value: .array([.array([.short(1), .short(2)]), .array([.short(3), .short(4)])])),
      CORBAAny(type: TCSamples.point, value: .structure([.long(1), .long(2)])),
      CORBAAny(type: TCSamples.choice, value: .union(discriminator: .long(3), member: .string("x"))),
      CORBAAny(type: TCSamples.choice, value: .union(discriminator: .long(9), member: .enumerator(0))),
      CORBAAny(type: TCSamples.all.first { $0.id == "IDL:U:1.0" }!, value: .union(discriminator: .enumerator(2), member: .double(0.5))),
      CORBAAny(type: TCSamples.all.first { $0.id == "IDL:W:1.0" }!, value: .union(discriminator: .wchar("Ω"), member: .char("z"))),
      CORBAAny(type: .union(id: "IDL:B:1.0", name: "B", discriminator: .boolean, members: [
        .init(label: .boolean(true), name: "t", type: .long),
      ]), value: .union(discriminator: .boolean(false), member: nil)),
      CORBAAny(type: .except(id: "IDL:Golden/Oops:1.0", name: "Oops", members: [.init(name: "code", type: .long)]),
        value: .exception([.long(5)])),
      CORBAAny(type: .alias(id: "IDL:A:1.0", name: "A", content: .string(bound: 0)), value: .string("aliased")),
      CORBAAny(type: .typeCode, value: .typeCode(TCSamples.node)),
      CORBAAny(type: .principal, value: .principal([1, 2, 3])),
      CORBAAny(type: .objref(id: "IDL:X:1.0", name: "X"), value: .objectReference(.null)),
      CORBAAny(type: .objref(id: "IDL:X:1.0", name: "X"), value: .objectReference(RawObjectReference(
        typeID: "IDL:X:1.0", profiles: [.init(tag: 0, data: [0, 1, 2, 0]), .init(tag: 1, data: [])]))),
      CORBAAny(type: .component(id: "IDL:C:1.0", name: "C"), value: .objectReference(.null)),
      CORBAAny(type: AnyGolden.node, value: AnyGolden.nodeValue(1, [AnyGolden.nodeValue(2, [AnyGolden.nodeValue(3, [])])])),
      CORBAAny(type: TCSamples.listUnion, value: .union(discriminator: .boolean(true), member: .sequence([
        .union(discriminator: .boolean(true), member: .sequence([.union(discriminator: .boolean(false), member: nil)]))
      ]))),
      CORBAAny(type: .except(id: "IDL:Empty:1.0", name: "Empty", members: []), value: .exception([])),
    ]
    list.append(CORBAAny(type: .any, value: .any(list[24])))
    list.append(CORBAAny(type: .sequence(element: .any, bound: 0), value: .sequence(list.prefix(20).map { .any($0) })))
    return list
  }()
}

func encodeAny(_ any: CORBAAny, _ order: ByteOrder, offset: Int = 0) throws -> [UInt8] {
  var w = CDRWriter(byteOrder: order)
  w.appendZeros(offset)
  try any.encode(to: &w)
  return w.bytes
}

func decodeAny(_ bytes: [UInt8], _ order: ByteOrder, offset: Int = 0) throws -> CORBAAny {
  var r = CDRReader(bytes, byteOrder: order, position: offset)
  let any = try CORBAAny(from: &r)
  guard r.isAtEnd else { throw CDRError(.invalidValue, "\(r.remaining) bytes left") }
  return any
}

@Suite("CORBAAny")
struct AnyTests {
  @Test("the samples cover every AnyValue case")
  func coverage() {
    func name(_ v: AnyValue) -> String { String(String(describing: v).prefix { $0 != "(" }) }
    let seen = Set(AnySamples.all.map { name($0.value) })
    for expected in [
      "null", "short", "long", "ushort", "ulong", "longlong", "ulonglong", "float", "double", "longdouble", "boolean",
      "char", "wchar", "octet", "string", "wstring", "fixed", "enumerator", "sequence", "array", "structure", "union",
      "exception", "any", "typeCode", "objectReference", "principal",
    ] {
      #expect(seen.contains(expected), "no sample of .\(expected)")
    }
  }

  @Test("every sample round trips in both byte orders at every alignment", arguments: bothOrders)
  func roundTrips(order: ByteOrder) throws {
    for any in AnySamples.all {
      for offset in 0..<8 {
        let bytes = try encodeAny(any, order, offset: offset)
        #expect(try decodeAny(bytes, order, offset: offset) == any, "\(any.type) at \(offset)")
      }
    }
  }

  @Test("re-marshalling at another alignment and byte order decodes the same")
  func remarshal() throws {
    for any in AnySamples.all {
      let first = try decodeAny(try encodeAny(any, .littleEndian, offset: 0), .littleEndian)
      for offset in 1..<8 {
        // Decoded from one stream, written into another where every value sits elsewhere.
        let moved = try encodeAny(first, .bigEndian, offset: offset)
        let again = try decodeAny(moved, .bigEndian, offset: offset)
        #expect(again == any)
        #expect(try encodeAny(again, .littleEndian) == encodeAny(any, .littleEndian))
      }
    }
  }

  @Test("GIOP 1.0 wide-character rules")
  func giop10() throws {
    let any = CORBAAny(type: .wstring(bound: 0), value: .wstring("wide"))
    var w = CDRWriter(byteOrder: .bigEndian, giopMinor: 0)
    try any.encode(to: &w)
    var r = CDRReader(w.bytes, byteOrder: .bigEndian, giopMinor: 0)
    #expect(try CORBAAny(from: &r) == any)
  }

  @Test("typed insertion and extraction")
  func typed() throws {
    #expect(try CORBAAny(Int32(42)) == CORBAAny(type: .long, value: .long(42)))
    #expect(try CORBAAny(Int32(42)).extract(Int32.self) == 42)
    #expect(try CORBAAny("hi").extract(String.self) == "hi")
    #expect(try CORBAAny(WString("wïde")).extract(WString.self) == "wïde")
    #expect(try CORBAAny(CDRChar("c")).extract(CDRChar.self) == CDRChar("c"))
    #expect(try CORBAAny(CDRWChar("Ω")).extract(CDRWChar.self) == CDRWChar("Ω"))
    #expect(try CORBAAny(Int16(-3)).extract(Int16.self) == -3)
    #expect(try CORBAAny(UInt16(3)).extract(UInt16.self) == 3)
    #expect(try CORBAAny(UInt32(3)).extract(UInt32.self) == 3)
    #expect(try CORBAAny(Int64.min).extract(Int64.self) == .min)
    #expect(try CORBAAny(UInt64.max).extract(UInt64.self) == .max)
    #expect(try CORBAAny(Int(5)).extract(Int.self) == 5)
    #expect(try CORBAAny(Float(1.5)).extract(Float.self) == 1.5)
    #expect(try CORBAAny(2.5).extract(Double.self) == 2.5)
    #expect(try CORBAAny(true).extract(Bool.self) == true)
    #expect(try CORBAAny(UInt8(7)).extract(UInt8.self) == 7)
    #expect(try CORBAAny(CDRLongDouble(1.0)).extract(CDRLongDouble.self) == CDRLongDouble(1.0))
    #expect(try CORBAAny([Int16(1), 2, 3]).extract([Int16].self) == [1, 2, 3])
    #expect(try CORBAAny([UInt8]([1, 2])).type == .sequence(element: .octet, bound: 0))
    let p = GPoint(x: 3, y: -4)
    let any = try CORBAAny(p)
    #expect(any.value == .structure([.long(3), .long(-4)]))
    #expect(try any.extract(GPoint.self) == p)
    #expect(try CORBAAny([p, p]).extract([GPoint].self) == [p, p])
    // An equivalent TypeCode (an alias, other names) extracts too.
    let aliased = CORBAAny(type: .alias(id: "IDL:L:1.0", name: "L", content: .struct(id: "IDL:Golden/Point:1.0",
      name: "P", members: [.init(name: "a", type: .long), .init(name: "b", type: .long)])), value: any.value)
    #expect(try aliased.extract(GPoint.self) == p)
    // Nested anys and TypeCodes.
    let nested = try CORBAAny(any)
    #expect(nested.type == .any)
    #expect(try nested.extract(CORBAAny.self) == any)
    #expect(try CORBAAny(TCSamples.node).extract(TypeCode.self) == TCSamples.node)
  }

  @Test("extraction as the wrong type is an error")
  func wrongType() throws {
    expectCDRError(.invalidValue) { try CORBAAny(Int32(1)).extract(Int16.self) }
    expectCDRError(.invalidValue) { try CORBAAny(Int32(1)).extract(UInt32.self) }
    expectCDRError(.invalidValue) { try CORBAAny("x").extract(WString.self) }
    expectCDRError(.invalidValue) { try CORBAAny(GPoint(x: 1, y: 2)).extract([Int32].self) }
    // A value that does not match its TypeCode.
    expectCDRError(.invalidValue) { try CORBAAny(type: .long, value: .short(1)).extract(Int32.self) }
  }

  // MARK: writing values that do not match

  @Test("values that do not match their TypeCode are refused when written")
  func mismatches() {
    let cases: [(CORBAAny, CDRError.Code)] = [
      (CORBAAny(type: .long, value: .short(1)), .invalidValue),
      (CORBAAny(type: .string(bound: 2), value: .string("abc")), .boundExceeded),
      (CORBAAny(type: .wstring(bound: 2), value: .wstring("abc")), .boundExceeded),
      (CORBAAny(type: .sequence(element: .long, bound: 1), value: .sequence([.long(1), .long(2)])), .boundExceeded),
      (CORBAAny(type: .sequence(element: .long, bound: 0), value: .sequence([.short(1)])), .invalidValue),
      (CORBAAny(type: .array(element: .long, length: 2), value: .array([.long(1)])), .invalidValue),
      (CORBAAny(type: TCSamples.point, value: .structure([.long(1)])), .invalidValue),
      (CORBAAny(type: TCSamples.color, value: .enumerator(3)), .invalidEnum),
      (CORBAAny(type: TCSamples.choice, value: .union(discriminator: .long(1), member: nil)), .invalidValue),
      (CORBAAny(type: .union(id: "IDL:B:1.0", name: "B", discriminator: .boolean, members: [
        .init(label: .boolean(true), name: "t", type: .long),
      ]), value: .union(discriminator: .boolean(false), member: .long(1))), .invalidValue),
      (CORBAAny(type: TCSamples.choice, value: .union(discriminator: .short(1), member: .long(1))), .invalidValue),
      (CORBAAny(type: .fixed(digits: 3, scale: 1), value: .fixed(CDRFixed("123.4")!)), .boundExceeded),
      (CORBAAny(type: TCSamples.value, value: .null), .invalidValue),
      (CORBAAny(type: .recursive(id: "IDL:Nowhere:1.0"), value: .null), .invalidValue),
      (CORBAAny(type: .char, value: .char("\u{20AC}")), .dataConversion),
    ]
    for (any, code) in cases {
      expectCDRError(code, "\(any)") { try encodeAny(any, .bigEndian) }
    }
  }

  // MARK: bad input

  /// The bytes of `type` followed by `body` (big endian).
  func anyBytes(_ type: TypeCode, _ body: (inout CDRWriter) throws -> Void = { _ in }) throws -> [UInt8] {
    var w = CDRWriter(byteOrder: .bigEndian)
    try type.encode(to: &w)
    try body(&w)
    return w.bytes
  }

  @Test("absurd counts and lengths fail before allocating")
  func absurdCounts() throws {
    for element: TypeCode in [.octet, .long, .string(bound: 0), .any, TCSamples.point, .null,
      .struct(id: "IDL:Z:1.0", name: "Z", members: [])]
    {
      let bytes = try anyBytes(.sequence(element: element, bound: 0)) { $0.write(UInt32.max) }
      expectCDRError(.lengthExceedsData, "sequence<\(element)>") { try decodeAny(bytes, .bigEndian) }
    }
    expectCDRError(.lengthExceedsData) { try decodeAny(try anyBytes(.string(bound: 0)) { $0.write(UInt32(0x7FFF_FFFF)) }, .bigEndian) }
    expectCDRError(.lengthExceedsData) { try decodeAny(try anyBytes(.principal) { $0.write(UInt32(0x7FFF_FFFF)) }, .bigEndian) }
    expectCDRError(.lengthExceedsData) {
      try decodeAny(try anyBytes(.objref(id: "", name: "")) { w in try w.writeString(""); w.write(UInt32.max) }, .bigEndian)
    }
    // Arrays: the length is in the TypeCode, so it is checked against the data left.
    expectCDRError(.lengthExceedsData) { try decodeAny(try anyBytes(.array(element: .long, length: .max)), .bigEndian) }
    // Values that take no octets: a short stream cannot expand into billions of them.
    expectCDRError(.lengthExceedsData) { try decodeAny(try anyBytes(.array(element: .null, length: .max)), .bigEndian) }
    expectCDRError(.lengthExceedsData) {
      try decodeAny(try anyBytes(.array(element: .array(element: .void, length: 60_000), length: 60_000)), .bigEndian)
    }
    let empty = TypeCode.struct(id: "IDL:Z:1.0", name: "Z", members: [])
    let bytes = try anyBytes(.sequence(element: .sequence(element: empty, bound: 0), bound: 0)) { w in
      w.write(UInt32(2000))
      for _ in 0..<2000 { w.write(UInt32(4000)) }
    }
    expectCDRError(.lengthExceedsData) { try decodeAny(bytes, .bigEndian) }
  }

  @Test("bounds, enumerators and discriminators out of range")
  func outOfRange() throws {
    expectCDRError(.boundExceeded) {
      try decodeAny(try anyBytes(.string(bound: 2)) { try $0.writeString("abc") }, .bigEndian)
    }
    expectCDRError(.boundExceeded) {
      try decodeAny(try anyBytes(.sequence(element: .octet, bound: 2)) { $0.writeOctetSequence([1, 2, 3]) }, .bigEndian)
    }
    expectCDRError(.invalidEnum) { try decodeAny(try anyBytes(TCSamples.color) { $0.write(UInt32(3)) }, .bigEndian) }
    let partial = TypeCode.union(id: "IDL:P:1.0", name: "P", discriminator: TCSamples.color, members: [
      .init(label: .enumerator(0), name: "r", type: .short)
    ])
    expectCDRError(.invalidEnum) { try decodeAny(try anyBytes(partial) { $0.write(UInt32(7)) }, .bigEndian) }
    // A discriminator matching no label, no default: the implicit default (no member).
    #expect(try decodeAny(try anyBytes(partial) { $0.write(UInt32(1)) }, .bigEndian).value
      == .union(discriminator: .enumerator(1), member: nil))
    expectCDRError(.invalidBoolean) { try decodeAny(try anyBytes(.boolean) { $0.write(UInt8(2)) }, .bigEndian) }
    // Fixed with a bad digit.
    expectCDRError(.invalidValue) { try decodeAny(try anyBytes(.fixed(digits: 1, scale: 0)) { $0.write(UInt8(0xAC)) }, .bigEndian) }
  }

  @Test("values of tk_value and the other unsupported kinds are refused")
  func unsupported() throws {
    for type in [TCSamples.value, .valueBox(id: "IDL:B:1.0", name: "B", content: .long), .native(id: "IDL:N:1.0", name: "N"),
      .abstractInterface(id: "IDL:A:1.0", name: "A"), .localInterface(id: "IDL:L:1.0", name: "L")]
    {
      expectCDRError(.invalidValue, "\(type)") { try decodeAny(try anyBytes(type) { $0.write(UInt32(0)) }, .bigEndian) }
    }
  }

  @Test("nesting too deep: anys in anys, recursive values")
  func tooDeep() throws {
    var any = CORBAAny(type: .long, value: .long(1))
    for _ in 0..<100 { any = CORBAAny(type: .any, value: .any(any)) }
    // The writer refuses it too; write the nesting by hand.
    var w = CDRWriter(byteOrder: .bigEndian)
    for _ in 0..<100 { w.write(UInt32(11)) }
    w.write(UInt32(3))
    w.write(Int32(1))
    expectCDRError(.boundExceeded) { try decodeAny(w.bytes, .bigEndian) }
    expectCDRError(.boundExceeded) { try encodeAny(any, .bigEndian) }

    // A Node whose children nest 100 deep.
    var n = AnyGolden.nodeValue(0, [])
    for i in 1...100 { n = AnyGolden.nodeValue(Int32(i), [n]) }
    var v = CDRWriter(byteOrder: .bigEndian)
    try AnyGolden.node.encode(to: &v)
    for i in stride(from: 100, through: 1, by: -1) {
      v.write(Int32(i))
      v.write(UInt32(1))
    }
    v.write(Int32(0))
    v.write(UInt32(0))
    expectCDRError(.boundExceeded) { try decodeAny(v.bytes, .bigEndian) }
    // A struct that contains itself directly (no sequence in between) cannot be read.
    let loop = TypeCode.struct(id: "IDL:Loop:1.0", name: "Loop", members: [.init(name: "me", type: .recursive(id: "IDL:Loop:1.0"))])
    expectCDRError(.boundExceeded) { try decodeAny(try anyBytes(loop), .bigEndian) }
  }

  @Test("random octets never crash the any reader")
  func randomInput() throws {
    var rng = SystemRandomNumberGenerator()
    let seeds = try AnySamples.all.map { try encodeAny($0, .littleEndian) }
    for _ in 0..<3000 {
      var bytes = seeds.randomElement(using: &rng)!
      for _ in 0..<Int.random(in: 1...4, using: &rng) {
        bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
      }
      _ = try? decodeAny(bytes, .littleEndian)
    }
  }

  @Test("AnyValue.read and write: a value whose TypeCode travels apart")
  func valueOnly() throws {
    var w = CDRWriter(byteOrder: .littleEndian)
    w.write(UInt8(1))
    try AnyValue.structure([.long(1), .long(2)]).write(as: TCSamples.point, to: &w)
    var r = CDRReader(w.bytes, byteOrder: .littleEndian, position: 1)
    #expect(try AnyValue.read(TCSamples.point, from: &r) == .structure([.long(1), .long(2)]))
    #expect(r.isAtEnd)
  }
}
