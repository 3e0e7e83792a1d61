import Testing
@testable import CourierIDL

/// Each mistake gives exactly one diagnostic, at the offending token.
@Suite struct DiagnosticTests {
  @Test func unterminatedComment() {
    #expect(diagnostics("typedef long T;\n  /* never closed\nmodule M {};\n") == ["t.idl:2:3: error: unterminated comment"])
  }

  @Test func unknownType() {
    #expect(diagnostics("struct S {\n  Strnig name;\n};\n") == ["t.idl:2:3: error: unknown type 'Strnig'"])
  }

  @Test func duplicateName() {
    #expect(diagnostics("struct Foo { long x; };\nmodule M {};\ntypedef long Foo;\n")
      == ["t.idl:3:14: error: 'Foo' is already declared at t.idl:1:8"])
  }

  @Test func caseInsensitiveClash() {
    #expect(diagnostics("module M {\n  typedef long Size;\n  const short size = 3;\n};\n")
      == ["t.idl:3:15: error: 'size' collides with 'Size' declared at t.idl:2:16; names in one scope must differ in more than case"])
  }

  @Test func referenceWithWrongCase() {
    #expect(diagnostics("typedef long Size;\ntypedef size Other;\n")
      == ["t.idl:2:9: error: 'size' does not match the case of 'Size' declared at t.idl:1:14"])
  }

  @Test func recursiveInclude() {
    let a = IDLTestSupport.fixturesDirectory + "/recursive/a.idl"
    let b = IDLTestSupport.fixturesDirectory + "/recursive/b.idl"
    do {
      _ = try IDLFrontEnd.compile(file: a)
      Issue.record("a recursive include compiled")
    } catch {
      #expect(error.diagnostics.map(\.description) == ["\(b):2:10: error: recursive #include of 'a.idl'"])
    }
  }

  @Test func unknownIncludeFile() {
    #expect(diagnostics("module M {};\n#include \"missing.idl\"\n") == ["t.idl:2:10: error: cannot find include file 'missing.idl'"])
  }

  @Test func divisionByZero() {
    #expect(diagnostics("const long N = 0;\nconst long X = 10 / N;\n") == ["t.idl:2:19: error: division by zero in constant expression"])
  }

  @Test func valueOutOfRange() {
    #expect(diagnostics("const short S = 40000;\n") == ["t.idl:1:17: error: value 40000 is out of range for 'short'"])
    #expect(diagnostics("typedef unsigned short U;\nconst U v = -1;\n") == ["t.idl:2:13: error: value -1 is out of range for 'unsigned short'"])
    #expect(diagnostics("const octet o = 255 + 1;\n") == ["t.idl:1:17: error: value 256 is out of range for 'octet'"])
  }

  @Test func wrongConstantKind() {
    #expect(diagnostics("const long L = \"text\";\n") == ["t.idl:1:16: error: expected an integer value, found string value"])
    #expect(diagnostics("const string<3> S = \"long\";\n") == ["t.idl:1:21: error: string of length 4 exceeds the bound 3"])
  }

  @Test func keywordAsIdentifier() {
    #expect(diagnostics("typedef long module;\n")
      == ["t.idl:1:14: error: 'module' is a keyword and cannot be used as an identifier (escape it as '_module')"])
  }

  @Test func keywordCaseClash() {
    #expect(diagnostics("interface Interface {};\n")
      == ["t.idl:1:11: error: 'Interface' collides with the keyword 'interface'; identifiers that collide with keywords case-insensitively are not allowed"])
  }

  @Test func missingSemicolon() {
    #expect(diagnostics("module M {\n  typedef long T\n  typedef short S;\n};\n") == ["t.idl:2:17: error: expected ';' after 'T'"])
    #expect(diagnostics("struct S { long x; }\ntypedef S T;\n") == ["t.idl:1:21: error: expected ';' after '}'"])
  }

  @Test func syntaxErrorsRecoverAndReportAll() {
    #expect(diagnostics("""
      module M {
        typedef long = 3;
        struct S { long; };
        typedef Unknown U;
      };
      """) == [
      "t.idl:2:16: error: expected a declarator name, found '='",
      "t.idl:3:18: error: expected a declarator name, found ';'",
      "t.idl:4:11: error: unknown type 'Unknown'",
    ])
  }

  @Test func unionLabels() {
    #expect(diagnostics("union U switch (short) { case 1: long a; case 1: long b; };\n")
      == ["t.idl:1:47: error: duplicate case label 1 in union 'U' (first used at t.idl:1:31)"])
    #expect(diagnostics("enum E { a, b };\nenum F { c };\nunion U switch (E) { case c: long x; };\n")
      == ["t.idl:3:27: error: 'c' is an enumerator of 'F', not of 'E'"])
    #expect(diagnostics("union U switch (float) { case 1: long x; };\n")
      == ["t.idl:1:17: error: 'float' cannot be a union discriminator (integer, char, boolean or enum types can)"])
    #expect(diagnostics("union U switch (long) { default: long x; default: long y; };\n")
      == ["t.idl:1:42: error: union 'U' has more than one 'default' label (the first is at t.idl:1:25)"])
  }

  @Test func interfaceMistakes() {
    #expect(diagnostics("interface A;\ninterface B : A {};\n")
      == ["t.idl:2:15: error: interface 'A' is only forward-declared; it must be defined before it is inherited from"])
    #expect(diagnostics("struct S { long x; };\ninterface B : S {};\n") == ["t.idl:2:15: error: 'S' is a struct, not an interface"])
    #expect(diagnostics("struct S { long x; };\ninterface I { void f() raises (S); };\n")
      == ["t.idl:2:32: error: 'S' is a struct, not an exception"])
    #expect(diagnostics("interface I { oneway long f(); };\n") == ["t.idl:1:15: error: oneway operation 'f' must return void"])
    #expect(diagnostics("interface I { void f(in long a, out long a); };\n")
      == ["t.idl:1:42: error: parameter 'a' is already declared at t.idl:1:30"])
  }

  @Test func typeUsedBeforeDeclaration() {
    #expect(diagnostics("typedef Later L;\nstruct Later { long x; };\n") == ["t.idl:1:9: error: unknown type 'Later'"])
  }

  @Test func preprocessorMistakes() {
    #expect(diagnostics("#define F(x) x\n") == ["t.idl:1:9: error: function-like macro 'F' is not supported (only object-like macros are)"])
    #expect(diagnostics("#ifdef X\ntypedef long T;\n") == ["t.idl:1:1: error: unterminated conditional directive: no '#endif' for this '#if'"])
    #expect(diagnostics("#endif\n") == ["t.idl:1:1: error: '#endif' without '#if'"])
    #expect(diagnostics("#if 1 / 0\n#endif\n") == ["t.idl:1:7: error: invalid '#if' expression: division by zero"])
    #expect(diagnostics("#frobnicate\n") == ["t.idl:1:2: error: unknown preprocessor directive '#frobnicate'"])
    #expect(diagnostics("#error stop here\n") == ["t.idl:1:1: error: #error stop here"])
  }

  @Test func lexicalMistakes() {
    #expect(diagnostics("const string S = \"open\n;\n") == ["t.idl:1:18: error: unterminated string literal"])
    #expect(diagnostics("const long L = 09;\n") == ["t.idl:1:16: error: invalid digit '9' in octal literal 09"])
    #expect(diagnostics("const long long L = 0x1FFFFFFFFFFFFFFFF;\n") == ["t.idl:1:21: error: integer literal 0x1FFFFFFFFFFFFFFFF is too large"])
    #expect(diagnostics("typedef long $T;\n").first == "t.idl:1:14: error: unexpected character '$'")
  }

  @Test func locationsInIncludedFiles() {
    let dir = IDLTestSupport.fixturesDirectory + "/includes"
    #expect(diagnostics("#include <broken.idl>\n", options: .init(includePaths: [dir + "/lib"]))
      == ["\(dir)/lib/broken.idl:3:11: error: unknown type 'Strnig'"])
  }

  @Test func locationsThroughMacros() {
    #expect(diagnostics("#define TYPE Strnig\nstruct S {\n  TYPE name;\n};\n") == ["t.idl:3:3: error: unknown type 'Strnig'"])
  }
}
