import Testing
@testable import CourierIDL

@Suite struct ConstantTests {
  func constants(_ source: String) throws -> [String: ConstantValue] {
    var values: [String: ConstantValue] = [:]
    for case .constant(let c) in try compile(source).definitions { values[c.info.name] = c.value }
    return values
  }

  @Test func integerExpressions() throws {
    let v = try constants("""
      const long a = 1 + 2 * 3;
      const long b = (1 + 2) * 3;
      const long c = 0x1F | 010;
      const long d = 1 << 10 >> 2;
      const long e = -7 / 2;
      const long f = -7 % 3;
      const long g = ~0;
      const unsigned short h = ~0;
      const octet i = 0xff ^ 0x0f;
      const long long j = 9223372036854775807;
      const unsigned long long k = 18446744073709551615;
      const short l = a - b;
      const long m = 6 & 3;
      typedef unsigned long Count;
      const Count n = 4000000000;
      """)
    #expect(v["a"] == .integer(7))
    #expect(v["b"] == .integer(9))
    #expect(v["c"] == .integer(31))
    #expect(v["d"] == .integer(256))
    #expect(v["e"] == .integer(-3))
    #expect(v["f"] == .integer(-1))
    #expect(v["g"] == .integer(-1))
    #expect(v["h"] == .integer(65535))
    #expect(v["i"] == .integer(0xf0))
    #expect(v["j"] == .integer(Int128(Int64.max)))
    #expect(v["k"] == .integer(Int128(UInt64.max)))
    #expect(v["l"] == .integer(-2))
    #expect(v["m"] == .integer(2))
    #expect(v["n"] == .integer(4_000_000_000))
  }

  @Test func otherConstantTypes() throws {
    let v = try constants("""
      const double pi = 3.14159;
      const float half = 1 / 2.0;
      const double big = 1.5e3;
      const char letter = 'A';
      const char tab = '\\t';
      const char octal = '\\101';
      const char hex = '\\x41';
      const wchar omega = L'\\u03A9';
      const boolean yes = TRUE;
      const string greeting = "Hello, " "world";
      const string<5> short_one = "abc";
      const wstring wide = L"wide";
      const fixed price = 12.50d;
      const fixed total = price * 2 + 0.25d;
      const fixed negative = -0.5d;
      """)
    #expect(v["pi"] == .floatingPoint(3.14159))
    #expect(v["half"] == .floatingPoint(0.5))
    #expect(v["big"] == .floatingPoint(1500))
    #expect(v["letter"] == .char(65))
    #expect(v["tab"] == .char(9))
    #expect(v["octal"] == .char(65))
    #expect(v["hex"] == .char(65))
    #expect(v["omega"] == .wchar("\u{3A9}"))
    #expect(v["yes"] == .boolean(true))
    #expect(v["greeting"] == .string("Hello, world"))
    #expect(v["short_one"] == .string("abc"))
    #expect(v["wide"] == .wstring("wide"))
    #expect(v["price"] == .fixed("12.50", digits: 4, scale: 2))
    #expect(v["total"] == .fixed("25.25", digits: 4, scale: 2))
    #expect(v["negative"] == .fixed("-0.5", digits: 1, scale: 1))
  }

  @Test func boundsAndSizesAreConstantExpressions() throws {
    let model = try compile("""
      const long N = 4;
      typedef string<N * 2> Name;
      typedef long Grid[N][N + 1];
      typedef sequence<long, N> Few;
      """)
    guard case .typedef(let name)? = model["Name"], case .typedef(let grid)? = model["Grid"], case .typedef(let few)? = model["Few"] else {
      Issue.record("typedefs missing"); return
    }
    #expect(name.type == .string(bound: 8))
    #expect(grid.type == .array(.long, dimensions: [4, 5]))
    #expect(few.type == .sequence(.long, bound: 4))
  }
}
