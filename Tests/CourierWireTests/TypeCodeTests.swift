import Testing

@testable import CourierWire

// TypeCodes (CORBA 3.0 §15.3.5): every kind encoded and decoded in both byte orders, exact
// layouts written by hand from the spec's table, indirections, equal/equivalent, bad input.

enum TCSamples {
  static let point = TypeCode.struct(id: "IDL:Golden/Point:1.0", name: "Point", members: [
    .init(name: "x", type: .long), .init(name: "y", type: .long),
  ])
  static let color = TypeCode.enum(id: "IDL:Golden/Color:1.0", name: "Color", members: ["red", "green", "blue"])
  static let choice = TypeCode.union(id: "IDL:Golden/Choice:1.0", name: "Choice", discriminator: .long, members: [
    .init(label: .long(1), name: "number", type: .long),
    .init(label: .long(2), name: "text", type: .string(bound: 0)),
    .init(label: .long(3), name: "text", type: .string(bound: 0)),
    .init(label: nil, name: "hue", type: color),
  ])
  static let node = TypeCode.struct(id: "IDL:Golden/Node:1.0", name: "Node", members: [
    .init(name: "value", type: .long),
    .init(name: "children", type: .sequence(element: .recursive(id: "IDL:Golden/Node:1.0"), bound: 0)),
  ])
  static let listUnion = TypeCode.union(id: "IDL:List:1.0", name: "List", discriminator: .boolean, members: [
    .init(label: .boolean(true), name: "next", type: .sequence(element: .recursive(id: "IDL:List:1.0", kind: .union), bound: 1)),
  ])
  static let value = TypeCode.value(id: "IDL:V:1.0", name: "V", modifier: 0, base: .null, members: [
    .init(name: "a", type: .long, visibility: 1),
    .init(name: "self", type: .sequence(element: .recursive(id: "IDL:V:1.0", kind: .value), bound: 0), visibility: 0),
  ])

  /// One TypeCode (at least) of every kind.
  static let all: [TypeCode] = [
    .null, .void, .short, .long, .ushort, .ulong, .float, .double, .boolean, .char, .octet, .any, .typeCode,
    .principal, .objref(id: "IDL:Golden/Thing:1.0", name: "Thing"), point, choice, color,
    .string(bound: 0), .string(bound: 17), .sequence(element: .octet, bound: 0), .sequence(element: point, bound: 4),
    .array(element: .array(element: .short, length: 2), length: 3),
    .alias(id: "IDL:Golden/Location:1.0", name: "Location", content: point),
    .except(id: "IDL:Golden/Oops:1.0", name: "Oops", members: [.init(name: "code", type: .long)]),
    .except(id: "IDL:Empty:1.0", name: "Empty", members: []),
    .longlong, .ulonglong, .longdouble, .wchar, .wstring(bound: 0), .wstring(bound: 5), .fixed(digits: 5, scale: 2),
    value, .valueBox(id: "IDL:Box:1.0", name: "Box", content: .long), .native(id: "IDL:N:1.0", name: "N"),
    .abstractInterface(id: "IDL:A:1.0", name: "A"), .localInterface(id: "IDL:L:1.0", name: "L"),
    .component(id: "IDL:C:1.0", name: "C"), .home(id: "IDL:H:1.0", name: "H"),
    .event(id: "IDL:E:1.0", name: "E", modifier: 3, base: value, members: []),
    node, listUnion,
    .union(id: "IDL:U:1.0", name: "U", discriminator: color, members: [
      .init(label: .enumerator(2), name: "b", type: .double), .init(label: nil, name: "d", type: .octet),
    ]),
    .union(id: "IDL:W:1.0", name: "W", discriminator: .wchar, members: [.init(label: .wchar("Ω"), name: "w", type: .char)]),
    .union(id: "IDL:Q:1.0", name: "Q", discriminator: .alias(id: "IDL:T:1.0", name: "T", content: .ulonglong), members: [
      .init(label: .ulonglong(.max), name: "q", type: .longlong),
    ]),
    // A struct with the same struct twice: the second is written as an indirection.
    .struct(id: "IDL:Twice:1.0", name: "Twice", members: [.init(name: "a", type: point), .init(name: "b", type: point)]),
  ]
}

func encodeTC(_ tc: TypeCode, _ order: ByteOrder, offset: Int = 0) throws -> [UInt8] {
  var w = CDRWriter(byteOrder: order)
  w.appendZeros(offset)
  try tc.encode(to: &w)
  return w.bytes
}

func decodeTC(_ bytes: [UInt8], _ order: ByteOrder, offset: Int = 0) throws -> TypeCode {
  var r = CDRReader(bytes, byteOrder: order, position: offset)
  let tc = try TypeCode(from: &r)
  guard r.isAtEnd else { throw CDRError(.invalidValue, "\(r.remaining) bytes left") }
  return tc
}

@Suite("TypeCode")
struct TypeCodeTests {
  @Test("the samples cover every TCKind")
  func everyKind() {
    let kinds = Set(TCSamples.all.map(\.kind))
    #expect(kinds == Set(TCKind.allCases), "missing: \(Set(TCKind.allCases).subtracting(kinds))")
  }

  @Test("every kind round trips in both byte orders, at every alignment", arguments: bothOrders)
  func roundTrips(order: ByteOrder) throws {
    for tc in TCSamples.all {
      for offset in 0..<8 {
        let bytes = try encodeTC(tc, order, offset: offset)
        #expect(try decodeTC(bytes, order, offset: offset) == tc, "\(tc) at \(offset): \(hex(bytes))")
      }
    }
  }

  @Test("TypeCode as a CDRCodable value inside a stream")
  func inStream() throws {
    for order in bothOrders {
      for tc in TCSamples.all { #expect(try roundTrip(tc, order) == tc) }
    }
  }

  @Test("simple kinds: just the TCKind; string, wstring and fixed: inline parameters")
  func simpleLayouts() throws {
    #expect(try encodeTC(.long, .bigEndian) == [0, 0, 0, 3])
    #expect(try encodeTC(.longdouble, .littleEndian) == [25, 0, 0, 0])
    #expect(try encodeTC(.string(bound: 10), .bigEndian) == [0, 0, 0, 18, 0, 0, 0, 10])
    #expect(try encodeTC(.wstring(bound: 0), .littleEndian) == [27, 0, 0, 0, 0, 0, 0, 0])
    #expect(try encodeTC(.fixed(digits: 5, scale: 2), .bigEndian) == [0, 0, 0, 28, 0, 5, 0, 2])
    for kind in TCKind.allCases where kind.rawValue <= 13 || (23...26).contains(kind.rawValue) {
      let tc = try decodeTC([0, 0, 0, UInt8(kind.rawValue)], .bigEndian)
      #expect(tc.kind == kind)
    }
  }

  @Test("complex kinds: an encapsulation (byte-order octet, id, name, parameters)")
  func complexLayout() throws {
    // enum E { a }; big endian, written by hand from Table 15-2.
    let expected: [UInt8] = [
      0, 0, 0, 17,  // tk_enum
      0, 0, 0, 28,  // encapsulation length
      0,  // big endian
      0, 0, 0,  // padding
      0, 0, 0, 6, 0x49, 0x44, 0x4C, 0x3A, 0x45, 0,  // id "IDL:E"
      0, 0,  // padding
      0, 0, 0, 2, 0x45, 0,  // name "E"
      0, 0,  // padding before the member count
    ]
    let tc = TypeCode.enum(id: "IDL:E", name: "E", members: [])
    var bytes = try encodeTC(tc, .bigEndian)
    // The member count (0) follows at offset 32.
    #expect(bytes.count == 36)
    #expect(Array(bytes[32...]) == [0, 0, 0, 0])
    bytes.removeLast(4)
    #expect(bytes == expected, "\(hex(bytes))")

    // A sequence<long, 7>: element TypeCode and bound in an encapsulation, little endian.
    #expect(try encodeTC(.sequence(element: .long, bound: 7), .littleEndian) == [
      19, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0,
    ])
  }

  @Test("a recursive member is written as an indirection to the enclosing TypeCode")
  func recursiveIndirection() throws {
    for order in bothOrders {
      let bytes = try encodeTC(TCSamples.node, order)
      // Find the marker; the offset after it points back to 0 (the tk_struct).
      var r = CDRReader(bytes, byteOrder: order)
      var found = false
      while r.remaining >= 8 {
        r.align(4)
        let at = r.position
        if try r.read(UInt32.self) == 0xFFFF_FFFF {
          let offset = try r.read(Int32.self)
          #expect(at + 4 + Int(offset) == 0)
          found = true
          break
        }
      }
      #expect(found)
      #expect(try decodeTC(bytes, order) == TCSamples.node)
    }
  }

  @Test("recursive references outside their type are refused when writing")
  func danglingRecursiveWrite() {
    expectCDRError(.invalidValue) { try encodeTC(.recursive(id: "IDL:X:1.0"), .bigEndian) }
    expectCDRError(.invalidValue) { try encodeTC(.sequence(element: .recursive(id: "IDL:X:1.0"), bound: 0), .bigEndian) }
  }

  @Test("equal and equivalent")
  func equivalence() {
    let p = TCSamples.point
    let renamed = TypeCode.struct(id: "IDL:Golden/Point:1.0", name: "P", members: [
      .init(name: "a", type: .long), .init(name: "b", type: .long),
    ])
    let anonymous = TypeCode.struct(id: "", name: "", members: [.init(name: "u", type: .long), .init(name: "v", type: .long)])
    let otherID = TypeCode.struct(id: "IDL:Other:1.0", name: "Point", members: [
      .init(name: "x", type: .long), .init(name: "y", type: .long),
    ])
    let alias = TypeCode.alias(id: "IDL:Golden/Location:1.0", name: "Location", content: p)
    #expect(p.equal(p) && p.equivalent(p))
    #expect(!p.equal(renamed) && p.equivalent(renamed))
    #expect(!p.equal(anonymous) && p.equivalent(anonymous))
    #expect(!p.equivalent(otherID))
    #expect(!p.equal(alias) && p.equivalent(alias) && alias.equivalent(p))
    #expect(TypeCode.sequence(element: alias, bound: 0).equivalent(.sequence(element: anonymous, bound: 0)))
    #expect(!TypeCode.sequence(element: p, bound: 1).equivalent(.sequence(element: p, bound: 0)))
    #expect(!TypeCode.long.equivalent(.ulong))
    #expect(TypeCode.fixed(digits: 5, scale: 2).equivalent(.alias(id: "IDL:M:1.0", name: "M", content: .fixed(digits: 5, scale: 2))))
    #expect(!TypeCode.fixed(digits: 5, scale: 2).equivalent(.fixed(digits: 5, scale: 1)))
    let anonymousEnum = TypeCode.enum(id: "", name: "", members: ["x", "y", "z"])
    #expect(TCSamples.color.equivalent(anonymousEnum))
    #expect(!TCSamples.color.equivalent(.enum(id: "", name: "", members: ["x"])))
    #expect(TypeCode.recursive(id: "IDL:Golden/Node:1.0").equivalent(TCSamples.node))
  }

  @Test("kind, id, name and unaliased")
  func accessors() {
    let alias = TypeCode.alias(id: "IDL:A:1.0", name: "A", content: .alias(id: "IDL:B:1.0", name: "B", content: .short))
    #expect(alias.kind == .alias && alias.id == "IDL:A:1.0" && alias.name == "A" && alias.unaliased == .short)
    #expect(TypeCode.long.id == nil && TypeCode.long.name == nil)
    #expect(TypeCode.recursive(id: "IDL:L:1.0", kind: .union).kind == .union)
    #expect(TCKind.typeCode.description == "tk_TypeCode" && TCKind.valueBox.description == "tk_value_box")
    #expect(TCKind.struct.description == "tk_struct")
  }

  // MARK: bad input

  @Test("every truncation of every sample is a CDRError", arguments: bothOrders)
  func truncated(order: ByteOrder) throws {
    for tc in TCSamples.all {
      let bytes = try encodeTC(tc, order)
      for n in 0..<bytes.count {
        #expect(throws: CDRError.self, "\(tc) cut at \(n)") { try decodeTC(Array(bytes[..<n]), order) }
      }
    }
  }

  @Test("unknown TCKinds")
  func unknownKind() {
    for raw: UInt32 in [37, 38, 0x7FFF_FFFF, 0xFFFF_FFFE] {
      expectCDRError(.invalidEnum) { try decodeTC(beBytes(UInt64(raw), size: 4), .bigEndian) }
    }
  }

  @Test("indirections to itself, forward, outside the data, into the middle of a TypeCode")
  func badIndirections() throws {
    func indirection(_ offset: Int32, prefix: [UInt8] = []) -> [UInt8] {
      prefix + [0xFF, 0xFF, 0xFF, 0xFF] + beBytes(UInt64(UInt32(bitPattern: offset)), size: 4)
    }
    for offset: Int32 in [-4, 0, 4, -8, -1000, .min, .max, 1] {
      #expect(throws: CDRError.self, "offset \(offset)") { try decodeTC(indirection(offset), .bigEndian) }
    }
    // Two indirections in a sequence pointing at each other: sequence<#> where # points to
    // the sequence's own encapsulation body.
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt32(19))
    w.writeEncapsulation { e in
      e.write(UInt32(0xFFFF_FFFF))
      e.write(Int32(-8))  // back to the length of the encapsulation: not a TypeCode
      e.write(UInt32(0))
    }
    expectCDRError(.invalidValue) { try decodeTC(w.bytes, .bigEndian) }
    // An indirection to an enclosing sequence (only struct/union/value/event may recurse):
    var s = CDRWriter(byteOrder: .bigEndian)
    s.write(UInt32(19))
    s.writeEncapsulation { e in
      e.write(UInt32(0xFFFF_FFFF))
      e.write(Int32(-16))  // the offset sits at 16: back to 0, the tk_sequence being read
      e.write(UInt32(0))
    }
    #expect(throws: CDRError.self) { try decodeTC(s.bytes, .bigEndian) }
  }

  @Test("a repeated TypeCode is an indirection and decodes to the full TypeCode")
  func repeatedTypeCode() throws {
    let twice = TypeCode.struct(id: "IDL:Twice:1.0", name: "Twice", members: [
      .init(name: "a", type: TCSamples.point), .init(name: "b", type: TCSamples.point),
    ])
    let once = TypeCode.struct(id: "IDL:Twice:1.0", name: "Twice", members: [.init(name: "a", type: TCSamples.point)])
    let twiceBytes = try encodeTC(twice, .littleEndian)
    let onceBytes = try encodeTC(once, .littleEndian)
    // The second Point: member name "b" (8 bytes with padding) + indirection (8 bytes).
    #expect(twiceBytes.count == onceBytes.count + 6 + 2 + 8)
    #expect(try decodeTC(twiceBytes, .littleEndian) == twice)
  }

  @Test("absurd member counts fail before allocating")
  func absurdCounts() {
    for kind: UInt32 in [15, 16, 17, 22, 29] {
      var w = CDRWriter(byteOrder: .bigEndian)
      w.write(kind)
      try? w.writeEncapsulation { e in
        try e.writeString("IDL:X:1.0")
        try e.writeString("X")
        if kind == 16 { e.write(UInt32(3)); e.write(Int32(-1)) }  // discriminator long, no default
        if kind == 29 { e.write(Int16(0)); e.write(UInt32(0)) }  // modifier, base tk_null
        e.write(UInt32.max)
      }
      expectCDRError(.lengthExceedsData, "kind \(kind)") { try decodeTC(w.bytes, .bigEndian) }
    }
  }

  @Test("unions: bad discriminator type, bad default index")
  func badUnions() throws {
    func union(disc: UInt32, defaultIndex: Int32) -> [UInt8] {
      var w = CDRWriter(byteOrder: .bigEndian)
      w.write(UInt32(16))
      try? w.writeEncapsulation { e in
        try e.writeString("IDL:U:1.0")
        try e.writeString("U")
        e.write(disc)
        e.write(defaultIndex)
        e.write(UInt32(1))
        e.write(Int32(0))  // label
        try e.writeString("m")
        e.write(UInt32(3))
      }
      return w.bytes
    }
    #expect(try decodeTC(union(disc: 3, defaultIndex: -1), .bigEndian).kind == .union)
    #expect(try decodeTC(union(disc: 3, defaultIndex: 0), .bigEndian) == .union(
      id: "IDL:U:1.0", name: "U", discriminator: .long, members: [.init(label: nil, name: "m", type: .long)]))
    expectCDRError(.invalidValue) { try decodeTC(union(disc: 7, defaultIndex: -1), .bigEndian) }  // double
    expectCDRError(.invalidValue) { try decodeTC(union(disc: 3, defaultIndex: 1), .bigEndian) }
    expectCDRError(.invalidValue) { try decodeTC(union(disc: 3, defaultIndex: -2), .bigEndian) }
    // Writing: two defaults, a label of the wrong type.
    let two = TypeCode.union(id: "IDL:U:1.0", name: "U", discriminator: .long, members: [
      .init(label: nil, name: "a", type: .long), .init(label: nil, name: "b", type: .long),
    ])
    expectCDRError(.invalidValue) { try encodeTC(two, .bigEndian) }
    let wrongLabel = TypeCode.union(id: "IDL:U:1.0", name: "U", discriminator: .long, members: [
      .init(label: .short(1), name: "a", type: .long)
    ])
    expectCDRError(.invalidValue) { try encodeTC(wrongLabel, .bigEndian) }
  }

  @Test("nesting deeper than the limit is refused")
  func tooDeep() throws {
    var tc = TypeCode.long
    for _ in 0..<100 { tc = .sequence(element: tc, bound: 0) }
    let bytes = try encodeTC(tc, .bigEndian)
    expectCDRError(.boundExceeded) { try decodeTC(bytes, .bigEndian) }
    var ok = TypeCode.long
    for _ in 0..<(TypeCode.maximumNestingDepth - 1) { ok = .sequence(element: ok, bound: 0) }
    #expect(try decodeTC(try encodeTC(ok, .littleEndian), .littleEndian) == ok)
  }

  @Test("indirections that multiply a TypeCode beyond the node limit are refused")
  func exponentialIndirection() throws {
    // T(k) = struct { T(k-1) a; T(k-1) b; }: the second is an indirection, so the bytes grow
    // linearly while the tree doubles at every level.
    var tc = TypeCode.long
    for k in 0..<24 {
      tc = .struct(id: "IDL:T\(k):1.0", name: "T\(k)", members: [.init(name: "a", type: tc), .init(name: "b", type: tc)])
    }
    let bytes = try encodeTC(tc, .bigEndian)
    #expect(bytes.count < 4096)
    expectCDRError(.boundExceeded) { try decodeTC(bytes, .bigEndian) }
  }

  @Test("random octets never crash the TypeCode reader")
  func randomInput() {
    var rng = SystemRandomNumberGenerator()
    let seeds = TCSamples.all.compactMap { try? encodeTC($0, .bigEndian) }
    for _ in 0..<2000 {
      var bytes = seeds.randomElement(using: &rng)!
      for _ in 0..<Int.random(in: 1...4, using: &rng) {
        bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
      }
      _ = try? decodeTC(bytes, .bigEndian)
    }
  }
}
