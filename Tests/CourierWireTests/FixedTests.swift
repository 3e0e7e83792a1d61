import PropertyBased
import Testing

@testable import CourierWire

// IDL fixed (CORBA 3.0 §15.3.2.8): packed decimal, half-octets most significant first, the
// sign last (0xC +, 0xD -), a leading zero half-octet when the digit count is even. The byte
// tables are written by hand from those rules; the omniORB ones are its captures
// (Interop/omniorb/any/golden/fixed*.hex).

func fixedBytes(_ f: CDRFixed, digits: Int, scale: Int) throws -> [UInt8] {
  var w = CDRWriter()
  try f.encode(to: &w, digits: digits, scale: scale)
  return w.bytes
}

func fixedFrom(_ bytes: [UInt8], digits: Int, scale: Int) throws -> CDRFixed {
  var r = CDRReader(bytes)
  let f = try CDRFixed(from: &r, digits: digits, scale: scale)
  guard r.isAtEnd else { throw CDRError(.invalidValue, "\(r.remaining) bytes left") }
  return f
}

@Suite("CDRFixed")
struct FixedTests {
  struct Row: Sendable, CustomTestStringConvertible {
    var text: String
    var digits: Int
    var scale: Int
    var bytes: [UInt8]
    var testDescription: String { "\(text) as fixed<\(digits),\(scale)>" }
  }

  static let rows: [Row] = [
    // omniORB's captures.
    Row(text: "-12.34", digits: 5, scale: 2, bytes: [0x01, 0x23, 0x4D]),
    Row(text: "1234.5", digits: 6, scale: 1, bytes: [0x00, 0x12, 0x34, 0x5C]),
    Row(text: "999.99", digits: 5, scale: 2, bytes: [0x99, 0x99, 0x9C]),
    // By hand.
    Row(text: "0", digits: 1, scale: 0, bytes: [0x0C]),
    Row(text: "-7", digits: 1, scale: 0, bytes: [0x7D]),
    Row(text: "12", digits: 4, scale: 0, bytes: [0x00, 0x01, 0x2C]),
    Row(text: "0.05", digits: 3, scale: 2, bytes: [0x00, 0x5C]),
    Row(text: "1.5", digits: 3, scale: 2, bytes: [0x15, 0x0C]),
    Row(text: "-0.5", digits: 2, scale: 2, bytes: [0x05, 0x0D]),
    Row(text: "1", digits: 2, scale: 0, bytes: [0x00, 0x1C]),
    Row(text: "9999999999999999999999999999999", digits: 31, scale: 0, bytes: [UInt8](repeating: 0x99, count: 15) + [0x9C]),
    Row(text: "-0." + String(repeating: "0", count: 30) + "1", digits: 31, scale: 31, bytes: [UInt8](repeating: 0, count: 15) + [0x1D]),
  ]

  @Test("encodes to the table's bytes and decodes back", arguments: rows)
  func encodesAndDecodes(row: Row) throws {
    let f = try #require(CDRFixed(row.text))
    #expect(try fixedBytes(f, digits: row.digits, scale: row.scale) == row.bytes)
    #expect(try fixedFrom(row.bytes, digits: row.digits, scale: row.scale) == f)
    #expect(CDRFixed(f.description(scale: row.scale)) == f)
  }

  @Test("parsing and printing")
  func text() {
    let cases: [(String, String?)] = [
      ("-12.345", "-12.345"), ("0012.3400", "12.34"), ("+1", "1"), ("0.5", "0.5"), (".5", "0.5"), ("5.", "5"),
      ("17d", "17"), ("-0", "0"), ("0.000", "0"), ("-0.05D", "-0.05"), ("", nil), ("-", nil), ("1.2.3", nil),
      ("1e5", nil), ("١٢", nil), ("12 ", nil), (String(repeating: "9", count: 31), String(repeating: "9", count: 31)),
      (String(repeating: "9", count: 32), nil), ("0." + String(repeating: "1", count: 32), nil),
      ("000000000000000000000000000000000001", "1"),
    ]
    for (input, output) in cases {
      #expect(CDRFixed(input)?.description == output, "\(input)")
    }
    #expect(CDRFixed("1.5")!.description(scale: 3) == "1.500")
    #expect(CDRFixed("-1.25")!.description(scale: 1) == "-1.2")
    #expect(CDRFixed("-0.01")!.description(scale: 1) == "0.0")
    #expect(CDRFixed(Int64.min).description == "-9223372036854775808")
    #expect(CDRFixed(0) == CDRFixed())
  }

  @Test("equality is numeric")
  func equality() throws {
    #expect(CDRFixed("1.50") == CDRFixed("1.5"))
    #expect(CDRFixed("-0.0") == CDRFixed("0"))
    #expect(CDRFixed("1.5") != CDRFixed("-1.5"))
    #expect(CDRFixed("10") != CDRFixed("1"))
    #expect(Set([CDRFixed("2.0")!, CDRFixed("2")!]).count == 1)
    #expect(try CDRFixed(digits: [0, 1, 2, 0], scale: 2, negative: true) == CDRFixed("-1.2"))
    #expect(try CDRFixed(digits: [0, 0, 5], scale: 2).integerDigitCount == 0)
  }

  @Test("values that do not fit the type are refused, never rounded")
  func range() throws {
    let f = CDRFixed("123.45")!
    expectCDRError(.boundExceeded) { try fixedBytes(f, digits: 4, scale: 2) }  // 3 integer digits, room for 2
    expectCDRError(.boundExceeded) { try fixedBytes(f, digits: 5, scale: 1) }  // 2 decimals, room for 1
    #expect(try fixedBytes(f, digits: 6, scale: 3) == [0x01, 0x23, 0x45, 0x0C])
    expectCDRError(.invalidValue) { try fixedBytes(f, digits: 32, scale: 2) }
    expectCDRError(.invalidValue) { try fixedBytes(f, digits: 0, scale: 0) }
    expectCDRError(.invalidValue) { try fixedBytes(f, digits: 5, scale: 6) }
    expectCDRError(.invalidValue) { try fixedBytes(f, digits: 5, scale: -1) }
    expectCDRError(.invalidValue) { try CDRFixed(digits: [10], scale: 0) }
    expectCDRError(.invalidValue) { try CDRFixed(digits: [1], scale: 2) }
    expectCDRError(.boundExceeded) { try CDRFixed(digits: [UInt8](repeating: 1, count: 32), scale: 0) }
  }

  @Test("bad packed decimals")
  func badInput() throws {
    expectCDRError(.invalidValue) { try fixedFrom([0x1A, 0x2C], digits: 3, scale: 0) }  // digit 0xA
    expectCDRError(.invalidValue) { try fixedFrom([0x12, 0x39], digits: 3, scale: 0) }  // sign 9
    expectCDRError(.invalidValue) { try fixedFrom([0x10, 0x2C], digits: 2, scale: 0) }  // pad half-octet 1
    expectCDRError(.truncated) { try fixedFrom([0x12], digits: 3, scale: 0) }
    expectCDRError(.invalidValue) { try fixedFrom([0x1C], digits: 0, scale: 0) }
    #expect(try fixedFrom([0x12, 0x3B], digits: 3, scale: 1) == CDRFixed("-12.3"))  // 0xB: also minus
    #expect(try fixedFrom([0x12, 0x3F], digits: 3, scale: 1) == CDRFixed("12.3"))  // 0xF: plus
  }

  @Test("random values round trip through their smallest type")
  func property() async {
    await propertyCheck(count: 300, input: Gen.int64(), Gen.int(in: 0...18)) { (n, scale) in
      let text = String(n.magnitude)
      let s = min(scale, text.count)
      let dotted = (n < 0 ? "-" : "") + text.dropLast(s) + (s > 0 ? "." + text.suffix(s) : "")
      let f = try #require(CDRFixed(String(dotted)))
      let digits = max(1, max(f.digits.count, f.scale))
      let bytes = try fixedBytes(f, digits: digits, scale: f.scale)
      #expect(bytes.count == (digits + 2) / 2)
      #expect(try fixedFrom(bytes, digits: digits, scale: f.scale) == f)
      #expect(CDRFixed(f.description) == f)
    }
  }
}
