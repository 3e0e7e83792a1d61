import Testing
@testable import CourierIDL

@Suite struct PreprocessorTests {
  func typedefNames(_ model: InterfaceModel) -> [String] {
    model.definitions.compactMap { if case .typedef(let t) = $0 { return t.info.name } else { return nil } }
  }

  @Test func objectLikeMacrosAndUndef() throws {
    let model = try compile("""
      #define SIZE 4 * 2
      #define ELEMENT long
      #define EMPTY
      typedef ELEMENT Row[SIZE] EMPTY;
      #undef SIZE
      const long SIZE = 1;
      """)
    guard case .typedef(let row)? = model["Row"], case .constant(let size)? = model["SIZE"] else {
      Issue.record("declarations missing"); return
    }
    #expect(row.type == .array(.long, dimensions: [8]))
    #expect(size.value == .integer(1))
  }

  @Test func conditionals() throws {
    let model = try compile("""
      #define LEVEL 2
      #if LEVEL == 2 && defined(LEVEL) && !defined UNDEFINED
      typedef long A;
      #elif LEVEL == 3
      typedef long Wrong1;
      #else
      typedef long Wrong2;
      #endif
      #if (LEVEL != 2) || 0
      typedef long Wrong3;
      #elif LEVEL
      typedef long B;
      #endif
      #ifdef LEVEL
      typedef long C;
      #else
      typedef long Wrong4;
      #endif
      #ifndef LEVEL
      typedef long Wrong5;
      #if 1
      typedef long Wrong6;
      #endif
      /* a comment with an apostrophe: don't
      #endif
      */
      #else
      typedef long D;
      #endif
      #if 0
      this is 'not IDL' at all "
      #endif
      """)
    #expect(typedefNames(model) == ["A", "B", "C", "D"])
  }

  @Test func commandLineDefines() throws {
    let model = try compile("#ifdef _FLAG\ntypedef long Flagged;\n#endif\ntypedef string<N> S;\n",
                            options: .init(defines: ["_FLAG": "", "N": "12"]))
    #expect(typedefNames(model) == ["Flagged", "S"])
    guard case .typedef(let s)? = model["S"] else { return }
    #expect(s.type == .string(bound: 12))
  }

  @Test func lineContinuation() throws {
    let model = try compile("#define LONG_TYPE \\\n  unsigned \\\n  long\ntypedef LONG_TYPE U;\ntypedef long \\\nName;\ntypedef unsigned\\\n long Joined;\n")
    guard case .typedef(let u)? = model["U"] else { Issue.record("no typedef"); return }
    #expect(u.type == .unsignedLong)
    #expect(model["Name"]?.info.location == SourceLocation(file: "t.idl", line: 6, column: 1))
    guard case .typedef(let joined)? = model["Joined"] else { Issue.record("no typedef"); return }
    #expect(joined.type == .unsignedLong)
  }

  @Test func includesAreReadOnceAndMarked() throws {
    let dir = IDLTestSupport.fixturesDirectory + "/includes"
    let model = try IDLFrontEnd.compile(file: dir + "/main.idl", options: .init(includePaths: [dir + "/lib"]))
    #expect(model.definitions.map(\.info.name) == ["Types", "Shared", "App"])
    #expect(model.definitions.map(\.info.isFromMainFile) == [false, false, true])
    guard case .structure(let point)? = model["Types::Point"], case .interface(let service)? = model["App::Service"] else {
      Issue.record("declarations missing"); return
    }
    #expect(point.info.location == SourceLocation(file: dir + "/types.idl", line: 4, column: 10))
    // The prefix pragma of types.idl ends with that file.
    #expect(point.info.repositoryID == "IDL:example.org/Types/Point:1.0")
    #expect(service.info.repositoryID == "IDL:App/Service:1.0")
    #expect(service.operations.map(\.returnType) == [.named(ScopedName(["Types", "Point"])), .named(ScopedName(["Shared", "Id"]))])
  }

  @Test func unknownPragmasAreIgnored() throws {
    let model = try compile("#pragma hh #include \"x.h\"\n#pragma javaPackage \"org.x\"\ntypedef long T;\n")
    #expect(typedefNames(model) == ["T"])
  }

  /// CORBA 3.0 §10.7.5's example: prefixes are scoped to modules, versions and ids apply to names.
  @Test func repositoryIDPragmas() throws {
    let model = try compile("""
      module M1 {
        typedef long T1;
        typedef long T2;
        #pragma ID T2 "DCE:d62207a2-011e-11ce-88b4-0800090b5d3e:3"
      };
      #pragma prefix "P1"
      module M2 {
        module M3 {
          #pragma prefix "P2"
          typedef long T3;
        };
        typedef long T4;
        #pragma version T4 2.4
      };
      """)
    #expect(model["M1::T1"]?.info.repositoryID == "IDL:M1/T1:1.0")
    #expect(model["M1::T2"]?.info.repositoryID == "DCE:d62207a2-011e-11ce-88b4-0800090b5d3e:3")
    #expect(model["M2::M3::T3"]?.info.repositoryID == "IDL:P2/T3:1.0")
    #expect(model["M2::T4"]?.info.repositoryID == "IDL:P1/M2/T4:2.4")
    #expect(model["M2"]?.info.repositoryID == "IDL:P1/M2:1.0")
  }
}
