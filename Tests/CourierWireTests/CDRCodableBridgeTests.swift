import PropertyBased
import Testing

@testable import CourierWire

// The Codable bridge maps a struct positionally, as CDR writes an IDL struct: the fields one
// after another in declaration order, each aligned on its own type. So the bridge's bytes must
// be exactly what writing the fields by hand with CDRWriter gives.

struct Person: Codable, Equatable, Sendable {
  var name: String
  var place: String
  var year: Int32
}

struct Address: Codable, Equatable, Sendable {
  var street: String
  var number: Int16
}

struct Employee: Codable, Equatable, Sendable {
  var id: UInt64
  var person: Person
  var address: Address
  var active: Bool
  var salary: Double
}

struct Team: Codable, Equatable, Sendable {
  var name: String
  var members: [Person]
  var scores: [Int32]
  var grid: [[Int16]]
}

enum Colour: Int32, Codable, Equatable, Sendable {
  case red = 0
  case green = 1
  case blue = 7
}

enum Kind: String, Codable, Equatable, Sendable {
  case small, large
}

struct Paint: Codable, Equatable, Sendable {
  var flag: UInt8
  var colour: Colour
  var kind: Kind
  var palette: [Colour]
}

struct Blob: Codable, Equatable, Sendable {
  var tag: UInt8
  var data: [UInt8]
  var tail: UInt16
}

struct Wide: Codable, Equatable, Sendable {
  var a: WString
  var b: String
  var c: WString
}

struct Profile: Codable, Equatable, Sendable {
  var nickname: String?
  var age: Int32?
  var address: Address?
  var title: WString?
  var score: Double?
  var verified: Bool?
  var big: UInt64?
}

struct AllPrimitives: Codable, Equatable, Sendable {
  var b: Bool
  var u8: UInt8
  var i8: Int8
  var i16: Int16
  var u16: UInt16
  var i32: Int32
  var u32: UInt32
  var i64: Int64
  var u64: UInt64
  var i: Int
  var u: UInt
  var f: Float
  var d: Double
  var s: String
}

struct Exotic: Codable, Equatable, Sendable {
  var c: CDRChar
  var w: CDRWChar
  var q: CDRLongDouble
}

let samplePrimitives = AllPrimitives(
  b: true, u8: 0xFE, i8: -3, i16: -300, u16: 0xBEEF, i32: -70000, u32: 0xDEAD_BEEF,
  i64: -(1 << 40), u64: 0xFEDC_BA98_7654_3210, i: -2, u: 3, f: 1.25, d: -0.5, s: "naïve")

@Suite("Codable bridge: golden bytes and positional mapping")
struct CDRCodableBridgeGoldenTests {

  @Test("Person(\"Ada\", \"London\", 1815) big endian, by hand")
  func personGolden() throws {
    let bytes = try CDREncoder(byteOrder: .bigEndian).encode(Person(name: "Ada", place: "London", year: 1815))
    let expected: [UInt8] = [
      0, 0, 0, 4, 0x41, 0x64, 0x61, 0x00,  // [0..7] name: length 4, "Ada", NUL
      0, 0, 0, 7, 0x4C, 0x6F, 0x6E, 0x64, 0x6F, 0x6E, 0x00,  // [8..18] place: length 7, "London", NUL
      0x00,  // [19] pad: long aligns on 4
      0x00, 0x00, 0x07, 0x17,  // [20..23] year 1815 = 0x717
    ]
    #expect(bytes == expected, "\(hex(bytes))")
    #expect(try CDRDecoder(byteOrder: .bigEndian).decode(Person.self, from: bytes) == Person(name: "Ada", place: "London", year: 1815))
  }

  @Test("the bridge writes the same bytes as writing every field by hand", arguments: bothOrders)
  func primitivesByHand(order: ByteOrder) throws {
    let v = samplePrimitives
    let bridge = try CDREncoder(byteOrder: order).encode(v)
    let hand = try written(order) { w in
      w.write(v.b)
      w.write(v.u8)
      w.write(v.i8)
      w.write(v.i16)
      w.write(v.u16)
      w.write(v.i32)
      w.write(v.u32)
      w.write(v.i64)
      w.write(v.u64)
      w.write(Int64(v.i))
      w.write(UInt64(v.u))
      w.write(v.f)
      w.write(v.d)
      try w.writeString(v.s)
    }
    #expect(bridge == hand, "bridge \(hex(bridge))\nhand   \(hex(hand))")
    // The offsets, worked out by hand: b[0] u8[1] i8[2] pad[3] i16[4..5] u16[6..7] i32[8..11]
    // u32[12..15] i64[16..23] u64[24..31] i[32..39] u[40..47] f[48..51] pad[52..55] d[56..63]
    // s: length[64..67] "naïve" is 6 UTF-8 octets + NUL [68..74].
    #expect(bridge.count == 75)
    #expect(bridge[3] == 0 && bridge[52..<56].allSatisfy { $0 == 0 })
    #expect(Array(bridge[56..<64]) == orderedBytes((-0.5 as Double).bitPattern, size: 8, order))
    #expect(try CDRDecoder(byteOrder: order).decode(AllPrimitives.self, from: bridge) == v)
  }

  @Test("nested structs are written inline", arguments: bothOrders)
  func nested(order: ByteOrder) throws {
    let e = Employee(
      id: 42, person: Person(name: "Grace", place: "NYC", year: 1906),
      address: Address(street: "Main", number: -7), active: true, salary: 1e6)
    let bridge = try CDREncoder(byteOrder: order).encode(e)
    let hand = try written(order) { w in
      w.write(e.id)
      try w.writeString(e.person.name)
      try w.writeString(e.person.place)
      w.write(e.person.year)
      try w.writeString(e.address.street)
      w.write(e.address.number)
      w.write(e.active)
      w.write(e.salary)
    }
    #expect(bridge == hand)
    #expect(try CDRDecoder(byteOrder: order).decode(Employee.self, from: bridge) == e)
  }

  @Test("arrays of structs, of integers and of arrays are sequences", arguments: bothOrders)
  func arrays(order: ByteOrder) throws {
    let t = Team(
      name: "Analytical",
      members: [Person(name: "Ada", place: "London", year: 1815), Person(name: "Charles", place: "", year: 1791)],
      scores: [3, -1],
      grid: [[1, 2, 3], [], [4]])
    let bridge = try CDREncoder(byteOrder: order).encode(t)
    let hand = try written(order) { w in
      try w.writeString(t.name)
      w.write(UInt32(t.members.count))
      for m in t.members {
        try w.writeString(m.name)
        try w.writeString(m.place)
        w.write(m.year)
      }
      w.write(UInt32(t.scores.count))
      for s in t.scores { w.write(s) }
      w.write(UInt32(t.grid.count))
      for row in t.grid {
        w.write(UInt32(row.count))
        for x in row { w.write(x) }
      }
    }
    #expect(bridge == hand, "bridge \(hex(bridge))\nhand   \(hex(hand))")
    #expect(try CDRDecoder(byteOrder: order).decode(Team.self, from: bridge) == t)
  }

  @Test("a top-level array of structs is a sequence")
  func topLevelArray() throws {
    let people = [Person(name: "a", place: "b", year: 1), Person(name: "", place: "cd", year: -1)]
    let bridge = try CDREncoder(byteOrder: .bigEndian).encode(people)
    let hand = try written(.bigEndian) { w in
      w.write(UInt32(2))
      for p in people {
        try w.writeString(p.name)
        try w.writeString(p.place)
        w.write(p.year)
      }
    }
    #expect(bridge == hand)
    #expect(try CDRDecoder(byteOrder: .bigEndian).decode([Person].self, from: bridge) == people)
    #expect(try CDRDecoder(byteOrder: .bigEndian).decode([Person].self, from: [0, 0, 0, 0]) == [])
  }

  @Test("enums with an Int32 raw value are a long; String raw values a string", arguments: bothOrders)
  func enums(order: ByteOrder) throws {
    let p = Paint(flag: 1, colour: .blue, kind: .large, palette: [.green, .red])
    let bridge = try CDREncoder(byteOrder: order).encode(p)
    let hand = try written(order) { w in
      w.write(UInt8(1))
      w.write(Int32(7))  // .blue
      try w.writeString("large")
      w.write(UInt32(2))
      w.write(Int32(1))
      w.write(Int32(0))
    }
    #expect(bridge == hand)
    #expect(Array(bridge[0..<8]) == [1, 0, 0, 0] + orderedBytes(7, size: 4, order))  // octet, pad, long 7
    #expect(try CDRDecoder(byteOrder: order).decode(Paint.self, from: bridge) == p)
    #expect(try CDREncoder(byteOrder: .bigEndian).encode(Colour.blue) == [0, 0, 0, 7])
  }

  @Test("[UInt8] fields are sequence<octet>", arguments: bothOrders)
  func octetFields(order: ByteOrder) throws {
    let b = Blob(tag: 9, data: [0xDE, 0xAD, 0xBE], tail: 0x0102)
    let bridge = try CDREncoder(byteOrder: order).encode(b)
    let expected: [UInt8] =
      [9, 0, 0, 0]  // tag, pad
      + orderedBytes(3, size: 4, order)  // count
      + [0xDE, 0xAD, 0xBE]  // the octets
      + [0]  // pad: offset 11 → 12
      + orderedBytes(0x0102, size: 2, order)  // tail
    #expect(bridge == expected, "\(hex(bridge))")
    #expect(try CDRDecoder(byteOrder: order).decode(Blob.self, from: bridge) == b)
  }

  @Test("WString fields are wstrings under the encoder's GIOP version", arguments: [UInt8(1), 2])
  func wideFields(minor: UInt8) throws {
    let v = Wide(a: "Hi", b: "x", c: "é😀")
    for order in bothOrders {
      let bridge = try CDREncoder(byteOrder: order, giopMinor: minor).encode(v)
      let hand = try written(order, giopMinor: minor) { w in
        try w.writeWString("Hi")
        try w.writeString("x")
        try w.writeWString("é😀")
      }
      #expect(bridge == hand)
      #expect(try CDRDecoder(byteOrder: order, giopMinor: minor).decode(Wide.self, from: bridge) == v)
    }
    // GIOP 1.2 big endian, by hand: a = 00000004 0048 0069.
    if minor == 2 {
      let bytes = try CDREncoder(byteOrder: .bigEndian, giopMinor: 2).encode(Wide(a: "Hi", b: "", c: ""))
      #expect(bytes == [0, 0, 0, 4, 0x00, 0x48, 0x00, 0x69, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    }
  }

  @Test("char, wchar and long double fields write themselves")
  func exoticFields() throws {
    let v = Exotic(c: CDRChar("A"), w: CDRWChar("€"), q: CDRLongDouble(1.0))
    let bridge = try CDREncoder(byteOrder: .bigEndian, giopMinor: 2).encode(v)
    let expected: [UInt8] = [
      0x41,  // char 'A'
      0x02, 0x20, 0xAC,  // wchar (GIOP 1.2): 2 octets, U+20AC big endian
      0, 0, 0, 0,  // pad to 8
      0x3F, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // long double 1.0
    ]
    #expect(bridge == expected, "\(hex(bridge))")
    #expect(try CDRDecoder(byteOrder: .bigEndian, giopMinor: 2).decode(Exotic.self, from: bridge) == v)
  }

  @Test("Optional fields: a boolean discriminator, then the value if present", arguments: bothOrders)
  func optionals(order: ByteOrder) throws {
    let full = Profile(
      nickname: "Bob", age: 30, address: Address(street: "High", number: 1), title: "Dr", score: 2.5,
      verified: false, big: 1 << 63)
    let empty = Profile(nickname: nil, age: nil, address: nil, title: nil, score: nil, verified: nil, big: nil)
    let mixed = Profile(nickname: nil, age: 5, address: nil, title: "é", score: nil, verified: true, big: nil)
    for p in [full, empty, mixed] {
      let bridge = try CDREncoder(byteOrder: order).encode(p)
      let hand = try written(order) { w in
        w.write(p.nickname != nil)
        if let x = p.nickname { try w.writeString(x) }
        w.write(p.age != nil)
        if let x = p.age { w.write(x) }
        w.write(p.address != nil)
        if let x = p.address {
          try w.writeString(x.street)
          w.write(x.number)
        }
        w.write(p.title != nil)
        if let x = p.title { try w.writeWString(x.value) }
        w.write(p.score != nil)
        if let x = p.score { w.write(x) }
        w.write(p.verified != nil)
        if let x = p.verified { w.write(x) }
        w.write(p.big != nil)
        if let x = p.big { w.write(x) }
      }
      #expect(bridge == hand, "\(p)\nbridge \(hex(bridge))\nhand   \(hex(hand))")
      #expect(try CDRDecoder(byteOrder: order).decode(Profile.self, from: bridge) == p)
    }
    // All absent: seven FALSE octets and nothing else.
    #expect(try CDREncoder(byteOrder: order).encode(empty) == [0, 0, 0, 0, 0, 0, 0])
  }

  @Test("a top-level Optional and an array of Optionals")
  func optionalContainers() throws {
    let some: Int32? = 5
    #expect(try CDREncoder(byteOrder: .bigEndian).encode(some) == [1, 0, 0, 0, 0, 0, 0, 5])
    #expect(try CDREncoder(byteOrder: .bigEndian).encode(Int32?.none) == [0])
    let list: [Int16?] = [1, nil, 2]
    let bytes = try CDREncoder(byteOrder: .bigEndian).encode(list)
    let expected: [UInt8] = [
      0, 0, 0, 3,  // count
      1, 0, 0, 1,  // TRUE, pad, short 1
      0,  // FALSE
      1, 0, 2,  // TRUE, short 2 (offset 10 is already even)
    ]
    #expect(bytes == expected, "\(hex(bytes))")
    #expect(try CDRDecoder(byteOrder: .bigEndian).decode([Int16?].self, from: bytes) == list)
  }

  @Test("a top-level Optional round trips, present or absent", arguments: bothOrders)
  func topLevelOptionalRoundTrip(order: ByteOrder) throws {
    for value: Int32? in [nil, 5, -1] {
      let bytes = try CDREncoder(byteOrder: order).encode(value)
      #expect(bytes == (value.map { [1, 0, 0, 0] + orderedBytes(UInt64(UInt32(bitPattern: $0)), size: 4, order) } ?? [0]))
      #expect(try CDRDecoder(byteOrder: order).decode(Int32?.self, from: bytes) == value)
    }
    for value: Person? in [nil, Person(name: "a", place: "", year: 2)] {
      let bytes = try CDREncoder(byteOrder: order).encode(value)
      #expect(try CDRDecoder(byteOrder: order).decode(Person?.self, from: bytes) == value)
    }
  }

  @Test("top-level CDR-only values keep their CDR form", arguments: bothOrders)
  func topLevelCDRTypes(order: ByteOrder) throws {
    for minor: UInt8 in [1, 2] {
      let enc = CDREncoder(byteOrder: order, giopMinor: minor)
      let dec = CDRDecoder(byteOrder: order, giopMinor: minor)
      let w: WString = "é😀x"
      let wBytes = try enc.encode(w)
      #expect(wBytes == (try written(order, giopMinor: minor) { try $0.writeWString(w.value) }))
      #expect(try dec.decode(WString.self, from: wBytes) == w)

      let wc = CDRWChar("€")
      let wcBytes = try enc.encode(wc)
      #expect(wcBytes == (try written(order, giopMinor: minor) { try $0.writeWChar("€") }))
      #expect(try dec.decode(CDRWChar.self, from: wcBytes) == wc)
    }
    let c = CDRChar("q")
    #expect(try CDREncoder(byteOrder: order).encode(c) == [0x71])
    #expect(try CDRDecoder(byteOrder: order).decode(CDRChar.self, from: [0x71]) == c)

    let q = CDRLongDouble(-2.0)
    let qBytes = try CDREncoder(byteOrder: order).encode(q)
    #expect(qBytes.count == 16)  // 16 octets, no sequence count
    #expect(qBytes == (try written(order) { try $0.encode(q) }))
    #expect(try CDRDecoder(byteOrder: order).decode(CDRLongDouble.self, from: qBytes) == q)
  }

  @Test("top-level primitives through the bridge are what CDRWriter writes", arguments: bothOrders)
  func topLevelPrimitives(order: ByteOrder) throws {
    let e = CDREncoder(byteOrder: order)
    #expect(try e.encode(Int16(-2)) == written(order) { $0.write(Int16(-2)) })
    #expect(try e.encode(UInt64(7)) == written(order) { $0.write(UInt64(7)) })
    #expect(try e.encode(true) == [1])
    #expect(try e.encode("Hi") == (try written(order) { try $0.writeString("Hi") }))
    #expect(try e.encode([UInt8]([1, 2])) == written(order) { $0.writeOctetSequence([1, 2]) })
    #expect(try e.encode([Int32(3)]) == (try written(order) { try $0.encode([Int32(3)]) }))
    #expect(try CDRDecoder(byteOrder: order).decode([UInt8].self, from: orderedBytes(2, size: 4, order) + [1, 2]) == [1, 2])
  }

  @Test("encode(_:into:) continues a writer: alignment counts from its origin", arguments: bothOrders)
  func encodeIntoWriter(order: ByteOrder) throws {
    let p = Person(name: "Ada", place: "London", year: 1815)
    var w = CDRWriter(byteOrder: order)
    w.write(UInt8(0xAB))
    try CDREncoder(byteOrder: order).encode(p, into: &w)
    w.write(UInt16(0xCDEF))
    let hand = try written(order) { h in
      h.write(UInt8(0xAB))
      try h.writeString(p.name)
      try h.writeString(p.place)
      h.write(p.year)
      h.write(UInt16(0xCDEF))
    }
    #expect(w.bytes == hand)

    var r = reader(w.bytes, order)
    #expect(try r.read(UInt8.self) == 0xAB)
    #expect(try CDRDecoder(byteOrder: order).decode(Person.self, from: &r) == p)
    #expect(try r.read(UInt16.self) == 0xCDEF)
    #expect(r.isAtEnd)
  }

  @Test("encode(_:into:) inside an encapsulation aligns relative to the flag")
  func encodeIntoEncapsulation() throws {
    let bytes = try written(.bigEndian) { w in
      try w.writeEncapsulation { e in
        try CDREncoder(byteOrder: .bigEndian).encode(Int64(-1), into: &e)
      }
    }
    let expected: [UInt8] = [
      0, 0, 0, 16,  // length
      0,  // flag
      0, 0, 0, 0, 0, 0, 0,  // pad to inner offset 8
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,  // -1
    ]
    #expect(bytes == expected)
  }

  @Test("the decoder uses its own byte order, not the machine's")
  func decoderOrder() throws {
    let bytes: [UInt8] = [0, 0, 0, 2, 0x41, 0, 0, 0, 0, 0, 0, 2, 0x42, 0, 0, 0, 0x01, 0x02, 0x03, 0x04]
    let p = try CDRDecoder(byteOrder: .bigEndian).decode(Person.self, from: bytes)
    #expect(p == Person(name: "A", place: "B", year: 0x0102_0304))
  }
}

@Suite("Codable bridge: property-based round trips")
struct CDRCodableBridgePropertyTests {

  static let personGen = zip(
    stringGenerator(maxLength: 12, allowAstral: true),
    stringGenerator(maxLength: 12, allowAstral: true),
    Gen.int32()
  ).map { Person(name: $0.0, place: $0.1, year: $0.2) }

  @Test("Person round trips and matches the hand-written bytes in both orders")
  func personRoundTrip() async {
    await propertyCheck(count: 200, input: Self.personGen, byteOrderGenerator) { p, order in
      let bridge = try CDREncoder(byteOrder: order).encode(p)
      let hand = try written(order) { w in
        try w.writeString(p.name)
        try w.writeString(p.place)
        w.write(p.year)
      }
      #expect(bridge == hand)
      #expect(try CDRDecoder(byteOrder: order).decode(Person.self, from: bridge) == p)
    }
  }

  @Test("arrays of People round trip")
  func peopleRoundTrip() async {
    await propertyCheck(count: 100, input: Self.personGen.array(of: 0...6), byteOrderGenerator) { people, order in
      let bytes = try CDREncoder(byteOrder: order).encode(people)
      #expect(try CDRDecoder(byteOrder: order).decode([Person].self, from: bytes) == people)
    }
  }

  @Test("Profiles with random Optionals round trip")
  func profileRoundTrip() async {
    let gen = zip(
      stringGenerator(maxLength: 8, allowAstral: true).optional,
      Gen.int32().optional,
      zip(stringGenerator(maxLength: 8, allowAstral: false), Gen.int16()).map { Address(street: $0.0, number: $0.1) }.optional,
      stringGenerator(maxLength: 8, allowAstral: true).map { WString($0) }.optional,
      Gen.uint64().map { Double(bitPattern: $0) }.filter { !$0.isNaN }.optional,
      Gen.bool.optional,
      Gen.uint64().optional
    ).map { Profile(nickname: $0.0, age: $0.1, address: $0.2, title: $0.3, score: $0.4, verified: $0.5, big: $0.6) }
    await propertyCheck(count: 200, input: gen, byteOrderGenerator) { p, order in
      let bytes = try CDREncoder(byteOrder: order).encode(p)
      #expect(try CDRDecoder(byteOrder: order).decode(Profile.self, from: bytes) == p)
    }
  }

  @Test("AllPrimitives round trips for random values")
  func primitivesRoundTrip() async {
    let ints = zip(Gen.bool, Gen.uint8(), Gen.int8(), Gen.int16(), Gen.uint16(), Gen.int32(), Gen.uint32())
    let wide = zip(Gen.int64(), Gen.uint64(), Gen.int(), Gen.uint(), Gen.uint32(), Gen.uint64(),
      stringGenerator(allowAstral: true))
    await propertyCheck(count: 200, input: ints, wide, byteOrderGenerator) { a, b, order in
      // NaN != NaN, so compare floating-point fields through their bit patterns instead.
      let v = AllPrimitives(
        b: a.0, u8: a.1, i8: a.2, i16: a.3, u16: a.4, i32: a.5, u32: a.6,
        i64: b.0, u64: b.1, i: b.2, u: b.3, f: Float(bitPattern: b.4), d: Double(bitPattern: b.5), s: b.6)
      let bytes = try CDREncoder(byteOrder: order).encode(v)
      let back = try CDRDecoder(byteOrder: order).decode(AllPrimitives.self, from: bytes)
      #expect(back.f.bitPattern == v.f.bitPattern && back.d.bitPattern == v.d.bitPattern)
      var vv = v, bb = back
      vv.f = 0; vv.d = 0; bb.f = 0; bb.d = 0
      #expect(bb == vv)
    }
  }
}
