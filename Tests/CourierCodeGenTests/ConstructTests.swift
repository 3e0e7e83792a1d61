import CourierCodeGen
import CourierIDL
import Foundation
import Testing

/// One test per construct: the generated Swift has the declaration and the marshalling calls
/// the mapping promises (SwiftGenerator's doc comment).
@Suite("generated Swift: one construct at a time")
struct ConstructTests {
  func lines(_ idl: String, options: SwiftGenerator.Options = .init()) throws -> String {
    try generate(idl, options: options).source
  }

  @Test func header() throws {
    let s = try lines("module M { struct S { long x; }; };")
    #expect(s.hasPrefix("// DO NOT EDIT.\n"))
    #expect(s.contains("// Source: t.idl"))
    #expect(s.contains("fileprivate struct _CourierGeneratedCodeCheck: CourierGIOP.CourierIDLRuntimeVersion1 {}"))
    #expect(s.contains("public import CourierWire"))
    #expect(s.contains("\nimport CourierCore"))  // not used in public API here
  }

  @Test func structWithEveryBasicType() throws {
    let s = try lines("""
      module M { struct S { short a; unsigned short b; long c; unsigned long d; long long e; unsigned long long f;
        float g; double h; long double i; boolean j; char k; wchar l; octet m; string n; wstring o; }; };
      """)
    #expect(s.contains("public struct M_S: Hashable, Sendable, CDRCodable, CDRTypeCodeProvider {"))
    for (name, type) in [("a", "Int16"), ("b", "UInt16"), ("c", "Int32"), ("d", "UInt32"), ("e", "Int64"), ("f", "UInt64"),
                         ("g", "Float"), ("h", "Double"), ("i", "CDRLongDouble"), ("j", "Bool"), ("k", "Unicode.Scalar"),
                         ("l", "Unicode.Scalar"), ("m", "UInt8"), ("n", "String"), ("o", "String")] {
      #expect(s.contains("public var \(name): \(type)\n"), "member \(name)")
    }
    #expect(s.contains("self.c = try _r.read(Int32.self)"))
    #expect(s.contains("try _w.writeChar(self.k)"))
    #expect(s.contains("try _w.writeWChar(self.l)"))
    #expect(s.contains("self.o = try _r.readWString()"))
    #expect(s.contains("try self.i.encode(to: &_w)"))
  }

  @Test func boundedTypesAreChecked() throws {
    let s = try lines("module M { typedef string<8> Name8; typedef sequence<long, 3> Three; typedef sequence<octet, 4> Four; struct S { Name8 a; Three b; Four c; long m[2][3]; }; };")
    #expect(s.contains("try checkBound(self.a.unicodeScalars.count, 8, \"string\"); try _w.writeString(self.a)"))
    #expect(s.contains("self.a = try _r.readString(bound: 8)"))
    #expect(s.contains("try _w.writeSequence(self.b, bound: 3)"))
    #expect(s.contains("try _r.readSequence(bound: 3, minimumElementSize: 4)"))
    #expect(s.contains("try checkBound(self.c.count, 4, \"sequence<octet>\"); _w.writeOctetSequence(self.c)"))
    #expect(s.contains("self.c = try _r.readOctetSequence(bound: 4)"))
    #expect(s.contains("public var m: [[Int32]]"))
    #expect(s.contains("try _w.writeArray(self.m, count: 2) { _w0, _e0 in try _w0.writeArray(_e0, count: 3)"))
  }

  @Test func enumeration() throws {
    let s = try lines("module M { enum Color { red, green, blue }; };")
    #expect(s.contains("public enum M_Color: UInt32, Hashable, Sendable, CaseIterable, CDRCodable, CDRTypeCodeProvider {"))
    #expect(s.contains("case red = 0"))
    #expect(s.contains("case blue = 2"))
    #expect(s.contains("throw CDRError(.invalidEnum"))
  }

  @Test func unionWithDefaultAndSeveralLabels() throws {
    let s = try lines("module M { union U switch (long) { case 1: case 2: long a; case 3: string b; default: double c; }; };")
    #expect(s.contains("case a(Int32, discriminator: Int32)"))
    #expect(s.contains("case b(String)\n"))
    #expect(s.contains("case c(Double, discriminator: Int32)"))
    #expect(!s.contains("case unset"))
    #expect(s.contains("case Int32(1), Int32(2): self = .a(try _r.read(Int32.self), discriminator: d)"))
    #expect(s.contains("default: self = .c(try _r.read(Double.self), discriminator: d)"))
  }

  @Test func unionWithoutDefaultHasUnset() throws {
    let s = try lines("module M { union U switch (boolean) { case TRUE: string yes; }; };")
    #expect(s.contains("case unset(discriminator: Bool)"))
    #expect(s.contains("default: self = .unset(discriminator: d)"))
  }

  @Test func unionCoveringEveryEnumeratorHasNoUnset() throws {
    let s = try lines("module M { enum E { a, b }; union U switch (E) { case a: long x; case b: string y; }; };")
    #expect(!s.contains("unset"))
    #expect(s.contains("case M_E.a: return M_E.a") || s.contains("case .x: return M_E.a"))
  }

  @Test func typedefsAndConstants() throws {
    let s = try lines("""
      module M { typedef sequence<string> Names; const long N = 2 * (3 + 4); const string G = "hi\\n";
        const double PI = 3.5; const boolean T = TRUE; enum E { a, b }; const E F = b; const char C = 'x';
        interface I { const short K = -1; }; };
      """)
    #expect(s.contains("public typealias M_Names = [String]"))
    #expect(s.contains("public let M_N: Int32 = 14"))
    #expect(s.contains("public let M_G: String = \"hi\\n\""))
    #expect(s.contains("public let M_PI: Double = 3.5"))
    #expect(s.contains("public let M_T: Bool = true"))
    #expect(s.contains("public let M_F: M_E = M_E.b"))
    #expect(s.contains("public let M_C: Unicode.Scalar = Unicode.Scalar(UInt8(120))"))
    #expect(s.contains("public static let K: Int16 = -1"))
  }

  @Test func exception() throws {
    let s = try lines("module M { exception Oops { long code; }; };")
    #expect(s.contains("public struct M_Oops: UserException, Hashable, CDRTypeCodeProvider {"))
    #expect(s.contains("public static let repositoryID = \"IDL:M/Oops:1.0\""))
  }

  @Test func interfaceStubsServiceAndSkeleton() throws {
    let s = try lines("""
      module M { exception E {}; interface I {
        readonly attribute string name; attribute long count;
        long op(in long a, out string b, inout double c) raises (E);
        oneway void fire(in string what);
      }; };
      """)
    // Client: async; Blocking: sync.
    #expect(s.contains("public func op(a: Int32, c: Double, options: CallOptions? = nil) async throws -> (result: Int32, b: String, c: Double)"))
    #expect(s.contains("public func op(a: Int32, c: Double, options: CallOptions? = nil) throws -> (result: Int32, b: String, c: Double)"))
    #expect(s.contains("userExceptions: [M_E.self]"))
    #expect(s.contains("public var name: String {\n      get async throws {"))
    #expect(s.contains("public func setCount(_ value: Int32, options: CallOptions? = nil) async throws"))
    #expect(s.contains("try self.reference.invokeOneway(\"fire\")"))
    // Service.
    #expect(s.contains("var name: String { get throws }"))
    #expect(s.contains("func setCount(_ value: Int32) throws"))
    #expect(s.contains("func op(a: Int32, c: Double) throws -> (result: Int32, b: String, c: Double)"))
    #expect(s.contains("func fire(what: String) throws"))
    // Skeleton.
    #expect(s.contains("case \"_get_name\":"))
    #expect(s.contains("case \"_set_count\":"))
    #expect(s.contains("let (_a, _c) = try request.decodeArguments { _r in (try _r.read(Int32.self), try _r.read(Double.self)) }"))
    #expect(s.contains("try request.encodeResults { _w in _w.write(_out.result); try _w.writeString(_out.b); _w.write(_out.c) }"))
    #expect(s.contains("throw request.unknownOperation(interface: \"M::I\")"))
  }

  @Test func inheritance() throws {
    let s = try lines("module M { interface A { void opa(); }; interface B { void opb(); }; interface C : A, B { void opc(); }; };")
    #expect(s.contains("public protocol Service: M_A.Service, M_B.Service {"))
    #expect(s.contains("public static let repositoryIDs: [String] = [\"IDL:M/C:1.0\", \"IDL:M/A:1.0\", \"IDL:M/B:1.0\"]"))
    // C's client and skeleton have the inherited operations.
    let cPart = s[s.range(of: "public enum M_C {")!.lowerBound...]
    #expect(cPart.contains("public func opa(options: CallOptions? = nil) async throws"))
    #expect(cPart.contains("case \"opb\":"))
  }

  @Test func objectReferences() throws {
    let s = try lines("module M { interface Item {}; interface F { Item make(); void take(in Item i); Object any_object(); }; };")
    #expect(s.contains("func make(options: CallOptions? = nil) async throws -> M_Item.Client?"))
    #expect(s.contains("try _r.readObjectReference().map(M_Item.Client.init)"))
    #expect(s.contains("try _w.writeObjectReference(i?.reference)"))
    #expect(s.contains("-> ObjectReference?"))
  }

  @Test func swiftKeywordsAreEscaped() throws {
    let t = try lines("module M { struct S { long _in; long _default; }; };")
    #expect(t.contains("public var `in`: Int32"))
    #expect(t.contains("public var `default`: Int32"))
    #expect(t.contains("self.`in` = try _r.read(Int32.self)"))
  }

  @Test func accessLevelAndPrefix() throws {
    let s = try lines("module M { struct S { long x; }; };", options: .init(accessLevel: "internal", namePrefix: "X"))
    #expect(s.contains("internal struct XM_S"))
    #expect(!s.contains("public "))
  }

  @Test func unsupportedConstructsWarnAndStillCompile() throws {
    let out = try generate("module M { valuetype V { public long x; }; struct S { V v; }; };")
    #expect(out.source.contains("public var v: UnsupportedIDLValue"))
    #expect(out.diagnostics.count == 1)
    #expect(out.diagnostics.first?.severity == .warning)
    #expect(out.diagnostics.first?.message.contains("value type 'M::V' is not mapped") == true)
  }

  @Test func anyFixedAndTypeCode() throws {
    let s = try lines("module M { struct S { any a; fixed<5,2> f; }; };")
    #expect(s.contains("public var a: CORBAAny"))
    #expect(s.contains("self.a = try CORBAAny(from: &_r)"))
    #expect(s.contains("try self.f.encode(to: &_w, digits: 5, scale: 2)"))
    #expect(s.contains("self.f = try CDRFixed(from: &_r, digits: 5, scale: 2)"))
  }
}

@Suite("generated Swift: TypeCodes and contexts")
struct TypeCodeAndContextTests {
  @Test func recursiveStructDescribesItselfByIndirection() throws {
    let s = try generate("module M { struct N; typedef sequence<N> Ns; struct N { string name; Ns kids; }; };").source
    #expect(s.contains("if enclosing.contains(id) { return .recursive(id: id, kind: .struct) }"))
    #expect(s.contains(".init(name: \"kids\", type: .alias(id: \"IDL:M/Ns:1.0\", name: \"Ns\", content: .sequence(element: M_N.typeCode(enclosing: e), bound: 0)))"))
  }

  @Test func unionLabelsInTheTypeCode() throws {
    let s = try generate("module M { union U switch (short) { case -1: long a; default: string b; }; };").source
    #expect(s.contains(".init(label: .short(-1), name: \"a\", type: .long)"))
    #expect(s.contains(".init(label: nil, name: \"b\", type: .string(bound: 0))"))
  }

  @Test func contextClauseSendsAnEmptyContextAndTheSkeletonSkipsIt() throws {
    let s = try generate("module M { interface I { void f(in long x) context(\"USER\"); }; };").source
    #expect(s.contains("{ _w in _w.write(x); _w.write(UInt32(0)) }"))
    #expect(s.contains("// the Context, unused"))
  }
}
