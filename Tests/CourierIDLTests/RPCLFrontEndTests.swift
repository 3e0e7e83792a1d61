import Testing
@testable import CourierIDL
#if canImport(Glibc)
import Glibc
#endif

/// Compiles RPCL `source` (as `t.x`), failing the test with the diagnostics if it does not compile.
func compileRPCL(_ source: String, options: IDLFrontEnd.Options = .init(), sourceLocation: Testing.SourceLocation = #_sourceLocation)
  throws -> InterfaceModel
{
  do {
    return try RPCLFrontEnd.compile(source: source, fileName: "t.x", options: options)
  } catch {
    Issue.record("compilation failed:\n\(error)", sourceLocation: sourceLocation)
    throw error
  }
}

/// The diagnostics compiling RPCL `source` (as `t.x`) gives (empty when it compiles).
func rpclDiagnostics(_ source: String, options: IDLFrontEnd.Options = .init()) -> [String] {
  do {
    _ = try RPCLFrontEnd.compile(source: source, fileName: "t.x", options: options)
    return []
  } catch {
    return error.diagnostics.map(\.description)
  }
}

extension InterfaceModel {
  func member(_ structName: String, _ member: String) -> IDLType? {
    guard case .structure(let s)? = self[structName] else { return nil }
    return s.members.first { $0.name == member }?.type
  }
}

@Suite("RPCL front end: constructs")
struct RPCLConstructTests {
  @Test func constantsHexOctalNegativeAndByName() throws {
    let m = try compileRPCL("const A = 0x10;\nconst B = 010;\nconst C = -3;\nconst D = A;\nconst E = 4294967295;\nconst S = \"abc\";\n")
    #expect(m.sourceLanguage == .rpcl)
    func value(_ n: String) -> ConstantValue? { if case .constant(let c)? = m[n] { return c.value } else { return nil } }
    #expect(value("A") == .integer(16))
    #expect(value("B") == .integer(8))
    #expect(value("C") == .integer(-3))
    #expect(value("D") == .integer(16))
    #expect(value("E") == .integer(4294967295))
    #expect(value("S") == .string("abc"))
    if case .constant(let e)? = m["E"] { #expect(e.type == .unsignedLong) }
  }

  @Test func enumValuesExplicitOmittedAndShared() throws {
    let m = try compileRPCL("const K = 7;\nenum e { A, B = K, C, D = 0 };\n")
    guard case .enumeration(let e)? = m["e"] else { Issue.record("no enum"); return }
    #expect(e.enumerators == ["A", "B", "C", "D"])
    #expect(e.values == [0, 7, 8, 0])
  }

  @Test func everyBuiltinType() throws {
    let m = try compileRPCL("""
      struct s {
        int a; unsigned int b; unsigned c; hyper d; unsigned hyper e; float f; double g; quadruple h;
        bool i; char j; unsigned char k; short l; unsigned short m; long n; unsigned long o;
        u_int p; u_char q; uint32_t r; int64_t t; netobj u;
      };
      """)
    let expected: [(String, IDLType)] = [
      ("a", .long), ("b", .unsignedLong), ("c", .unsignedLong), ("d", .longLong), ("e", .unsignedLongLong),
      ("f", .float), ("g", .double), ("h", .longDouble), ("i", .boolean), ("j", .char), ("k", .octet),
      ("l", .short), ("m", .unsignedShort), ("n", .long), ("o", .unsignedLong), ("p", .unsignedLong), ("q", .octet),
      ("r", .unsignedLong), ("t", .longLong), ("u", .opaque(bound: 1024)),
    ]
    for (name, type) in expected { #expect(m.member("s", name) == type, "\(name)") }
  }

  @Test func arraysOpaqueStringsAndOptionalData() throws {
    let m = try compileRPCL("""
      const N = 4;
      struct t { int x; };
      struct s {
        int fixed[N]; int variable<N>; int unbounded<>;
        opaque fo[3]; opaque vo<8>; opaque uo<>;
        string bs<16>; string us<>;
        t *opt; struct t named;
      };
      """)
    #expect(m.member("s", "fixed") == .array(.long, dimensions: [4]))
    #expect(m.member("s", "variable") == .sequence(.long, bound: 4))
    #expect(m.member("s", "unbounded") == .sequence(.long, bound: nil))
    #expect(m.member("s", "fo") == .fixedOpaque(count: 3))
    #expect(m.member("s", "vo") == .opaque(bound: 8))
    #expect(m.member("s", "uo") == .opaque(bound: nil))
    #expect(m.member("s", "bs") == .string(bound: 16))
    #expect(m.member("s", "us") == .string(bound: nil))
    #expect(m.member("s", "opt") == .optional(.named(ScopedName(["t"]))))
    #expect(m.member("s", "named") == .named(ScopedName(["t"])))
  }

  @Test func forwardReferencesAndTypedefs() throws {
    let m = try compileRPCL("typedef struct node *list;\nstruct node { int v; list next; };\ntypedef struct node node;\n")
    guard case .typedef(let t)? = m["list"] else { Issue.record("no typedef"); return }
    #expect(t.type == .optional(.named(ScopedName(["node"]))))
    // `typedef struct node node;` declares nothing new.
    if case .structure? = m["node"] {} else { Issue.record("node is not the struct") }
  }

  @Test func unionsWithEnumIntAndBoolDiscriminants() throws {
    let m = try compileRPCL("""
      enum kind { TEXT = 0, DATA = 1, EXEC = 2, ALIAS = 2 };
      union u1 switch (kind k) { case TEXT: void; case DATA: case ALIAS: string s<10>; default: int other; };
      union u2 switch (unsigned int n) { case 0: int a; case 0x10: void; };
      union u3 switch (bool b) { case TRUE: int x; case FALSE: void; };
      """)
    guard case .union(let u1)? = m["u1"], case .union(let u2)? = m["u2"], case .union(let u3)? = m["u3"] else {
      Issue.record("missing unions"); return
    }
    let kind = ScopedName(["kind"])
    #expect(u1.discriminatorName == "k")
    #expect(u1.cases.map(\.labels) == [[.enumerator(kind, "TEXT")], [.enumerator(kind, "DATA"), .enumerator(kind, "ALIAS")], []])
    #expect(u1.cases.map(\.isDefault) == [false, false, true])
    #expect(u1.cases[0].member.type == .void)
    #expect(u2.discriminator == .unsignedLong)
    #expect(u2.cases.map(\.labels) == [[.integer(0)], [.integer(16)]])
    #expect(u3.cases.map(\.labels) == [[.boolean(true)], [.boolean(false)]])
  }

  @Test func programsVersionsAndProcedures() throws {
    let m = try compileRPCL("""
      struct a { int x; };
      program P {
        version V1 { void NULLPROC(void) = 0; a GET(int, string, a) = 1; string NAME(void) = 2; } = 1;
        version V2 { void NULLPROC(void) = 0; } = 2;
      } = 0x20000001;
      """)
    guard case .module(let p)? = m["P"], case .interface(let v1)? = m["P::V1"], case .interface(let v2)? = m["P::V2"] else {
      Issue.record("missing program"); return
    }
    #expect(p.definitions.count == 2)
    #expect(v1.programNumber == 0x2000_0001 && v1.programVersion == 1 && v2.programVersion == 2)
    #expect(v1.operations.map(\.name) == ["NULLPROC", "GET", "NAME"])
    #expect(v1.operations.map(\.number) == [0, 1, 2])
    let get = v1.operations[1]
    #expect(get.returnType == .named(ScopedName(["a"])))
    #expect(get.parameters.map(\.type) == [.long, .string(bound: nil), .named(ScopedName(["a"]))])
    #expect(get.parameters.map(\.name) == ["arg1", "arg2", "arg3"])
    #expect(v1.operations[0].parameters.isEmpty && v1.operations[0].returnType == .void)
  }

  @Test func percentLinesAndPreprocessor() throws {
    let m = try compileRPCL("""
      %#include <rpc/types.h>
      % * it's a comment with a quote
      #ifdef RPC_HDR
      %#define LEN 8+2
      #endif
      #ifdef RPC_SVC
      this is not RPCL at all
      #endif
      #define SIZE 12
      #if RPC_HDR
      struct s { string a<LEN>; opaque b[SIZE]; };
      #else
      struct s { int wrong; };
      #endif
      """)
    #expect(m.member("s", "a") == .string(bound: 10))
    #expect(m.member("s", "b") == .fixedOpaque(count: 12))
  }

  @Test func definingAnRPCSymbolReplacesRPCHDR() throws {
    let m = try compileRPCL("#ifdef RPC_XDR\nconst X = 1;\n#endif\n#ifdef RPC_HDR\nconst Y = 2;\n#endif\n",
                            options: .init(defines: ["RPC_XDR": "1"]))
    #expect(m["X"] != nil && m["Y"] == nil)
  }

  @Test func includesAndPreincludes() throws {
    let dir = "/tmp/courier-rpcl-\(getpid())"
    mkdir(dir, 0o755)
    let shared = dir + "/shared.x"
    let file = fopen(shared, "w")
    fputs("const SHARED = 5;\nstruct common { int v; };\n", file)
    fclose(file)
    let included = try RPCLFrontEnd.compile(source: "#include \"shared.x\"\nstruct s { common c<SHARED>; };\n", fileName: dir + "/main.x")
    #expect(included.member("s", "c") == .sequence(.named(ScopedName(["common"])), bound: 5))
    #expect(included["common"]?.info.isFromMainFile == false)
    let pre = try compileRPCL("struct s { common c; };\n", options: .init(preincludes: [shared]))
    #expect(pre["common"]?.info.isFromMainFile == false)
    #expect(pre["s"]?.info.isFromMainFile == true)
  }
}

/// Each mistake gives a diagnostic at file:line:column, and never a crash.
@Suite("RPCL front end: diagnostics")
struct RPCLDiagnosticTests {
  @Test func undeclaredType() {
    #expect(rpclDiagnostics("struct s {\n  strnig x;\n};\n") == ["t.x:2:3: error: undeclared type 'strnig'"])
  }

  @Test func undeclaredConstant() {
    #expect(rpclDiagnostics("struct s { int a[NOPE]; };\n") == ["t.x:1:18: error: undeclared constant 'NOPE'"])
  }

  @Test func missingSemicolon() {
    #expect(rpclDiagnostics("struct s {\n  int a\n};\n") == ["t.x:2:8: error: expected ';' after the member 'a'"])
    #expect(rpclDiagnostics("const A = 1\nconst B = 2;\n") == ["t.x:1:12: error: expected ';' after the constant definition"])
  }

  @Test func badArraySizes() {
    #expect(rpclDiagnostics("const Z = 0;\nstruct s { int a[Z]; };\n") == ["t.x:2:18: error: bad array size 0: it must be from 1 to 4294967295"])
    #expect(rpclDiagnostics("struct s { int a<-1>; };\n") == ["t.x:1:18: error: bad maximum size -1: it must be from 0 to 4294967295"])
    #expect(rpclDiagnostics("struct s { int a<0x100000000>; };\n") == ["t.x:1:18: error: bad maximum size 4294967296: it must be from 0 to 4294967295"])
  }

  @Test func duplicateProcedureNumberAndName() {
    #expect(rpclDiagnostics("program P { version V { void A(void) = 1; void B(void) = 1; } = 1; } = 5;\n")
      == ["t.x:1:58: error: duplicate procedure number 1 in version 'V': procedure 'A' has it too"])
    #expect(rpclDiagnostics("program P { version V { void A(void) = 1; void A(void) = 2; } = 1; } = 5;\n")
      == ["t.x:1:48: error: duplicate procedure 'A' in version 'V' (first at t.x:1:30)"])
  }

  @Test func duplicateVersionAndProgramNumbers() {
    #expect(rpclDiagnostics("program P { version V { void A(void) = 1; } = 1; version W { void A(void) = 1; } = 1; } = 5;\n")
      == ["t.x:1:84: error: duplicate version number 1 in program 'P': version 'V' has it too"])
    #expect(rpclDiagnostics("program P { version V { void A(void) = 1; } = 1; } = 5;\nprogram Q { version V { void A(void) = 1; } = 1; } = 5;\n")
      == ["t.x:2:54: error: duplicate program number 5: program 'P' has it too"])
  }

  @Test func redeclaration() {
    #expect(rpclDiagnostics("const A = 1;\nstruct A { int x; };\n") == ["t.x:2:8: error: 'A' is already declared at t.x:1:7"])
  }

  @Test func duplicateMembersArmsAndLabels() {
    #expect(rpclDiagnostics("struct s { int a; int a; };\n") == ["t.x:1:23: error: duplicate member 'a' in struct 's' (first at t.x:1:16)"])
    #expect(rpclDiagnostics("union u switch (int d) { case 1: int a; case 1: void; };\n")
      == ["t.x:1:46: error: duplicate case label 1 in union 'u' (first at t.x:1:31)"])
  }

  @Test func unionLabelsAndDiscriminants() {
    #expect(rpclDiagnostics("enum e { A = 1 };\nunion u switch (e d) { case 2: void; };\n")
      == ["t.x:2:29: error: case label 2 is not a value of enum 'e'"])
    #expect(rpclDiagnostics("union u switch (hyper d) { case 1: void; };\n")
      == ["t.x:1:23: error: a union's discriminant must be int, unsigned int, bool or an enum, not hyper"])
    #expect(rpclDiagnostics("union u switch (int d) { default: void; case 1: void; };\n")
      == ["t.x:1:41: error: the 'default' arm must be the last arm of union 'u'"])
    #expect(rpclDiagnostics("union u switch (bool b) { case 2: void; };\n")
      == ["t.x:1:32: error: case label 2 is not a bool (TRUE or FALSE)"])
  }

  @Test func stringsAndOpaqueNeedSizes() {
    #expect(rpclDiagnostics("struct s { string x; };\n") == ["t.x:1:19: error: string 'x' needs a maximum size: 'string x<N>' or 'string x<>'"])
    #expect(rpclDiagnostics("struct s { opaque x; };\n") == ["t.x:1:19: error: opaque 'x' needs a size: 'opaque x[N]', 'opaque x<N>' or 'opaque x<>'"])
  }

  @Test func nestedDefinitionsAreRefusedAsRpcgenDoes() {
    #expect(rpclDiagnostics("struct s { struct { int a; } x; };\n")
      == ["t.x:1:19: error: rpcgen does not accept a struct defined inside a declaration: define 'struct name { ... };' on its own and use its name"])
  }

  @Test func wrongKindsOfNames() {
    #expect(rpclDiagnostics("const A = 1;\nstruct s { A x; };\n") == ["t.x:2:12: error: 'A' is a constant, not a type"])
    #expect(rpclDiagnostics("struct t { int x; };\nstruct s { int a[t]; };\n") == ["t.x:2:18: error: 't' is a type, not a constant"])
    #expect(rpclDiagnostics("enum t { X };\nstruct s { struct t v; };\n") == ["t.x:2:12: error: 'struct t': 't' is declared as a enum at t.x:1:6"])
  }

  @Test func cycles() {
    #expect(rpclDiagnostics("const A = B;\nconst B = A;\n").first?.contains("is defined in terms of itself") == true)
    #expect(rpclDiagnostics("typedef a b;\ntypedef b a;\n").contains { $0.contains("refers to itself") })
  }

  @Test func keywordsCannotBeNames() {
    #expect(rpclDiagnostics("struct s { int string; };\n") == ["t.x:1:16: error: expected a name in the struct declaration, found the keyword 'string'"])
  }

  @Test func severalErrorsAreAllReported() {
    // Syntax errors: each definition is skipped to its end and the next one parsed.
    #expect(rpclDiagnostics("struct a { int x };\nstruct b { int; };\nconst C = ;\n") == [
      "t.x:1:17: error: expected ';' after the member 'x'",
      "t.x:2:15: error: expected a name in the struct declaration, found ';'",
      "t.x:3:11: error: expected the constant's value (a number or a constant's name), found ';'",
    ])
    // Name errors (found once the file parses): every one.
    #expect(rpclDiagnostics("struct a { nope x; };\nstruct b { int y[NONE]; };\n").count == 2)
  }

  @Test func voidWhereItCannotBe() {
    #expect(rpclDiagnostics("struct s { void; };\n") == ["t.x:1:12: error: a struct member cannot be 'void'"])
    #expect(rpclDiagnostics("program P { version V { void A(void, int) = 1; } = 1; } = 5;\n")
      == ["t.x:1:36: error: 'void' must be a procedure's only argument"])
  }

  @Test func garbageNeverCrashes() {
    let inputs = ["", "}", "program", "program P {", "union u switch (", "struct s { int a[", "enum e { A, };",
                  "const A = 99999999999999999999999;", "typedef;", "%only a percent line", "struct s { int a<"]
    for input in inputs {
      let found = rpclDiagnostics(input)
      if input.isEmpty || input.hasPrefix("%") { #expect(found.isEmpty) } else { #expect(!found.isEmpty, "\(input)") }
    }
  }
}

/// The .x files Debian installs (rpcsvc-proto, libnsl-dev) all compile.
@Suite("RPCL front end: /usr/include/rpcsvc")
struct RPCLSystemFilesTests {
  @Test func allSeventeenCompile() throws {
    let listing = IDLTestSupport.shell("dpkg -L rpcsvc-proto libnsl-dev").output
    let files = listing.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".x") }.sorted()
    try #require(files.count == 17, "rpcsvc-proto and libnsl-dev must be installed (scripts/test.sh does): \(files)")
    var failed: [String] = []
    for file in files {
      let preincludes = file.hasSuffix("/nis_callback.x") ? [String(file.dropLast("nis_callback.x".count)) + "nis.x"] : []
      do {
        let model = try RPCLFrontEnd.compile(file: file, options: .init(preincludes: preincludes))
        #expect(model.definitions.contains { $0.info.isFromMainFile }, "\(file) declares nothing")
      } catch {
        failed.append("\(file):\n\(error)")
      }
    }
    #expect(failed.isEmpty, "\(failed.joined(separator: "\n"))")
  }
}
