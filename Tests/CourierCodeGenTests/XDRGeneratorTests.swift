import CourierCodeGen
import CourierIDL
import CourierTestSupport
import Foundation
import Testing

/// Compiles RPCL `source` and generates Swift.
func generateRPCL(_ source: String, options: SwiftGenerator.Options = .init()) throws -> SwiftGenerator.Output {
  let model = try RPCLFrontEnd.compile(source: source, fileName: "t.x")
  return SwiftGenerator(options: options).generate(model)
}

/// Every RPCL construct in one file (compiled by the build test below too).
let everyRPCLConstruct = """
  const MAXNAME = 0x20;
  const NEG = -5;
  const GREETING = "hello";
  enum color { RED = 1, GREEN, BLUE = 010, CRIMSON = 1, YELLOW = 20 };
  typedef string name<MAXNAME>;
  typedef opaque handle[12];
  typedef int counts<4>;
  struct node { name item; node *next; };
  typedef node *nodelist;
  struct everything {
    int i; unsigned int u; hyper h; unsigned hyper uh; bool b; float f; double d; quadruple q;
    char c; unsigned char uc; short s; unsigned short us;
    name n; string free<>; handle hd; opaque blob<100>; opaque anyblob<>;
    int fixed[3]; short smalls[2]; name names<5>; counts cs; color col; color *maybe;
    nodelist list; int after;
  };
  union result switch (color c) {
    case RED: int code;
    case GREEN: case BLUE: string message<64>;
    default: void;
  };
  union flag switch (bool on) { case TRUE: int value; case FALSE: void; };
  union numbered switch (unsigned int n) { case 0: void; case 1: hyper big; };
  program EVERYTHING {
    version ONE {
      void NULLPROC(void) = 0;
      result CHECK(everything) = 1;
      nodelist LIST(name, int, color) = 2;
      string ECHO(string) = 3;
    } = 1;
    version TWO { flag TOGGLE(flag) = 1; } = 2;
  } = 0x20000099;
  """

/// Names that clash with Swift keywords, the standard library and the generated names.
let clashingRPCLNames = """
  struct Type { int in; int type; int self; int func; };
  struct String { int value; };
  struct Data { Type t; String s; string label<>; };
  typedef int Client;
  union Self switch (int discriminant) { case 1: int discriminant_; case 2: void; };
  program P { version V { Data GET(Client) = 1; } = 1; } = 77;
  """

@Suite("XDR generator")
struct XDRGeneratorTests {
  static let record = ProcessInfo.processInfo.environment["COURIER_RECORD_SNAPSHOTS"] == "1"

  @Test("FileReadWrite.x snapshot")
  func fileReadWriteSnapshot() throws {
    let file = repositoryRoot.appendingPathComponent("Sources/CourierExamples/FileReadWrite.x").path
    let output = SwiftGenerator().generate(try RPCLFrontEnd.compile(file: file))
    #expect(output.diagnostics.isEmpty)
    let snapshot = repositoryRoot.appendingPathComponent("Tests/CourierCodeGenTests/Snapshots/FileReadWrite.x.swift.txt")
    if Self.record {
      try output.source.write(to: snapshot, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: snapshot, encoding: .utf8)
    let a = output.source.split(separator: "\n", omittingEmptySubsequences: false)
    let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
    if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset ?? (a.count == b.count ? nil : min(a.count, b.count)) {
      Issue.record("""
        FileReadWrite.x: generated Swift differs from the snapshot at line \(i + 1):
          generated: \(i < a.count ? String(a[i]) : "<end>")
          snapshot:  \(i < b.count ? String(b[i]) : "<end>")
        (COURIER_RECORD_SNAPSHOTS=1 re-records)
        """)
    }
  }

  @Test func fileReadWriteMatchesRpcgen() throws {
    // rpcgen writes `char buffer[MAX]` with xdr_vector(…, xdr_char): 1000 four-byte ints.
    let source = try generateRPCL("const MAX = 1000;\nstruct Data { int length; char buffer[MAX]; };\n").source
    #expect(source.contains("public var buffer: [Int8]"))
    #expect(source.contains("try _xdrWriteFixedArray(self.buffer, count: 1000, to: &_w) { _e1, _w1 in _w1.write(Int32(_e1)) }"))
    #expect(source.contains("self.buffer = try _r.readFixedArray(count: 1000) { _r1 in try Int8(truncatingIfNeeded: _r1.read(Int32.self)) }"))
    #expect(source.contains("public let MAX: Int = 1000"))
  }

  @Test func boundsAreCheckedBothWays() throws {
    let source = try generateRPCL(everyRPCLConstruct).source
    for expected in [
      "try _w.writeString(self.n, maximum: 32)", "self.n = try _r.readString(maximum: 32)",
      "try _w.writeFixedOpaque(self.hd, count: 12)", "self.hd = try _r.readFixedOpaque(count: 12)",
      "try _w.writeOpaque(self.blob, maximum: 100)", "self.blob = try _r.readOpaque(maximum: 100)",
      "try _w.writeOpaque(self.anyblob)", "self.anyblob = try _r.readOpaque()",
      "try _w.writeArray(self.names, maximum: 5) { _e1, _w1 in try _w1.writeString(_e1, maximum: 32) }",
      "self.names = try _r.readArray(maximum: 5) { _r1 in try _r1.readString(maximum: 32) }",
      "try _w.writeArray(self.cs, maximum: 4)", "self.cs = try _r.readArray(maximum: 4) as [Int32]",
      "self.uh = try _r.read(UInt64.self)", "self.q = try _r.read(XDRQuadruple.self)",
      "_w.write(UInt32(self.uc))", "self.us = try UInt16(truncatingIfNeeded: _r.read(UInt32.self))",
    ] {
      #expect(source.contains(expected), "missing: \(expected)")
    }
  }

  @Test func linkedListsBecomeArraysReadInALoop() throws {
    let source = try generateRPCL(everyRPCLConstruct).source
    #expect(source.contains("public typealias nodelist = [node]"))
    #expect(source.contains("try _w.writeList(self.list)"))
    #expect(source.contains("self.list = try _r.readList() as [node]"))
    // The node's own fields, without the link.
    #expect(source.contains("public init(item: name) {"))
    // Optional data that is not the idiom stays optional.
    #expect(source.contains("public var maybe: color?"))
  }

  @Test func enumsWithSharedValuesGetAliases() throws {
    let source = try generateRPCL(everyRPCLConstruct).source
    #expect(source.contains("public enum color: Int32, XDREnum, Hashable, Sendable, CaseIterable {"))
    #expect(source.contains("  case GREEN = 2"))
    #expect(source.contains("  case BLUE = 8"))
    #expect(source.contains("public static let CRIMSON: color = .RED"))
  }

  @Test func unionsKeepTheDefaultDiscriminant() throws {
    let source = try generateRPCL(everyRPCLConstruct).source
    #expect(source.contains("  case message(String, discriminant: color)"))
    #expect(source.contains("  case `default`(discriminant: color)"))
    #expect(source.contains("self = try _r.readUnion(color.self) { d, _r1 -> result? in"))
    #expect(source.contains("default: Self.`default`(discriminant: d)"))
    #expect(source.contains("case 1: try Self.value(_r1.read(Int32.self))"))
    #expect(source.contains("let d = UInt32(bitPattern: _d)"))
  }

  @Test func programsGetClientServiceAndDispatcher() throws {
    let output = try generateRPCL(everyRPCLConstruct)
    let source = output.source
    #expect(source.contains("public enum EVERYTHING {"))
    #expect(source.contains("    public struct Client: Sendable {"))
    #expect(source.contains("public func LIST(_ arg1: name, _ arg2: Int32, _ arg3: color) throws -> nodelist {"))
    #expect(source.contains("func LIST(_ arg1: name, _ arg2: Int32, _ arg3: color, context: ONCCallContext) throws -> nodelist"))
    #expect(source.contains("public var procedures: [UInt32] { [1, 2, 3] }"))
    #expect(!source.contains("func NULLPROC(context"))  // procedure 0 is the server's
    #expect(source.contains("public func NULLPROC() throws {"))  // but callable
    #expect(source.contains("throw ONCReplyError.procedureUnavailable"))
    #expect(source.contains("import CourierONC") && source.contains("import CourierWire"))
    #expect(!source.contains("CourierGIOP") && !source.contains("CourierCore"))
    #expect(output.diagnostics.isEmpty)
  }

  @Test func namesThatClashAreMovedOrQualified() throws {
    let source = try generateRPCL(clashingRPCLNames).source
    #expect(source.contains("public struct Type_: Hashable"))
    #expect(source.contains("public var `in`: Int32"))
    #expect(source.contains("public var `func`: Int32"))
    #expect(source.contains("public struct String: Hashable"))
    #expect(source.contains("public var s: String"))
    #expect(source.contains("Swift.String"))
    #expect(source.contains("public enum Self_: "))
    #expect(source.contains("public struct Client_: Sendable"))
  }

  @Test func recursionOtherThanTheListIdiomIsReported() throws {
    let output = try generateRPCL("struct tree { tree *left; tree *right; };\n")
    #expect(output.diagnostics.map(\.description) == [
      "t.x:1:8: warning: struct 'tree' holds itself through optional data other than the linked-list idiom (a last member 'tree *next'); a Swift struct cannot: the generated code does not compile"
    ])
  }

  @Test func internalAccessLevel() throws {
    let source = try generateRPCL(everyRPCLConstruct, options: .init(accessLevel: "internal")).source
    #expect(!source.contains("public "))
    #expect(source.contains("\nimport CourierONC\nimport CourierWire\n"))
  }

  @Test func typesOnlyFilesImportOnlyCourierWire() throws {
    let source = try generateRPCL("struct s { int a; };\n").source
    #expect(source.contains("public import CourierWire"))
    #expect(!source.contains("CourierONC"))
  }
}

/// Generates Swift for the 17 `.x` files Debian installs in /usr/include/rpcsvc (rpcsvc-proto,
/// libnsl-dev), plus FileReadWrite.x and the construct and name-clash files above, and compiles
/// each into a static library with `swiftc` against the CourierWire and CourierONC modules of
/// the current build (Swift 6 mode, the package's upcoming features). The .x files are read
/// where the packages put them, never copied.
@Suite("generated XDR Swift builds", .serialized)
struct XDRGeneratedCodeBuildTests {
  /// The directory holding the current build's `.swiftmodule`s.
  static func modulesDirectory() throws -> String {
    var candidates: [String] = []
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = executable.deletingLastPathComponent()
    for _ in 0..<4 {
      candidates.append(dir.appendingPathComponent("Modules").path)
      dir = dir.deletingLastPathComponent()
    }
    candidates += [".build/debug/Modules", ".build/x86_64-unknown-linux-gnu/debug/Modules", ".build/aarch64-unknown-linux-gnu/debug/Modules"]
      .map { repositoryRoot.appendingPathComponent($0).path }
    for c in candidates where FileManager.default.fileExists(atPath: c + "/CourierONC.swiftmodule")
      && FileManager.default.fileExists(atPath: c + "/CourierWire.swiftmodule") {
      return c
    }
    throw CodeGenTestError("no CourierWire/CourierONC modules found (looked in \(candidates)); run swift build --build-tests first")
  }

  struct Unit {
    var name: String
    /// The .x file, or nil for in-memory source.
    var file: String?
    var source: String? = nil
    var preincludes: [String] = []
    /// Other units whose generated Swift it needs (their declarations are only referred to).
    var companions: [String] = []
  }

  static let rpcsvc = "/usr/include/rpcsvc"

  static func units() throws -> [Unit] {
    let listing = runProgram("/usr/bin/dpkg", ["-L", "rpcsvc-proto", "libnsl-dev"], timeout: 30).output
    let files = listing.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".x") }.sorted()
    guard files.count == 17 else {
      throw CodeGenTestError("expected the 17 .x files of rpcsvc-proto and libnsl-dev (scripts/test.sh installs them), found \(files)")
    }
    var units = files.map { file -> Unit in
      var u = Unit(name: URL(fileURLWithPath: file).lastPathComponent, file: file)
      // nis.x includes nis_object.x; nis_callback.x uses nis.x's types without including it
      // (its C gets them from <rpcsvc/nis.h>), so it reads nis.x first.
      if u.name == "nis.x" { u.companions = ["nis_object.x"] }
      if u.name == "nis_callback.x" {
        u.preincludes = [URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("nis.x").path]
        u.companions = ["nis.x", "nis_object.x"]
      }
      return u
    }
    units.append(Unit(name: "FileReadWrite.x", file: repositoryRoot.appendingPathComponent("Sources/CourierExamples/FileReadWrite.x").path))
    units.append(Unit(name: "Everything.x", file: nil, source: everyRPCLConstruct))
    units.append(Unit(name: "Clashes.x", file: nil, source: clashingRPCLNames))
    return units
  }

  @Test("the 17 rpcsvc .x files, FileReadWrite.x and the construct files generate Swift that builds")
  func generatedSwiftBuilds() throws {
    let modules = try Self.modulesDirectory()
    let units = try Self.units()
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("courier-xdr-build-\(getpid())")
    try? FileManager.default.removeItem(at: scratch)
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }

    // Generate every unit first (companions are generated from their own files).
    var generated: [String: URL] = [:]
    var failures: [String] = []
    for u in units {
      do {
        let options = IDLFrontEnd.Options(preincludes: u.preincludes)
        let model = try u.file.map { try RPCLFrontEnd.compile(file: $0, options: options) }
          ?? RPCLFrontEnd.compile(source: u.source ?? "", fileName: u.name, options: options)
        let output = SwiftGenerator().generate(model)
        let url = scratch.appendingPathComponent(u.name + ".swift")
        try output.source.write(to: url, atomically: true, encoding: .utf8)
        generated[u.name] = url
      } catch {
        failures.append("\(u.name): courier-idl failed:\n\(error)")
      }
    }

    let swiftc = URL(fileURLWithPath: swiftExecutable()).deletingLastPathComponent().appendingPathComponent("swiftc").path
    let started = Date()
    var built: [String] = []
    for u in units {
      guard let main = generated[u.name] else { continue }
      let companions = u.companions.compactMap { generated[$0]?.path }
      let module = "Generated_" + u.name.replacingOccurrences(of: ".", with: "_")
      let arguments = ["-swift-version", "6", "-parse-as-library", "-module-name", module, "-I", modules,
                       "-enable-upcoming-feature", "ExistentialAny", "-enable-upcoming-feature", "InternalImportsByDefault",
                       "-enable-upcoming-feature", "MemberImportVisibility", "-warnings-as-errors",
                       "-emit-library", "-static", "-o", scratch.appendingPathComponent("lib\(module).a").path, main.path] + companions
      let result = runProgram(swiftc, arguments, timeout: 120)
      let errors = result.output.split(separator: "\n").filter { $0.contains("error:") || $0.contains("warning:") }
      if result.status == 0 && FileManager.default.fileExists(atPath: scratch.appendingPathComponent("lib\(module).a").path) {
        built.append(u.name)
        print("xdr build: \(u.name): generated and built")
      } else {
        failures.append("\(u.name): swiftc \(result.status == -2 ? "timed out" : "failed"):\n\(errors.prefix(20).joined(separator: "\n"))")
        print("xdr build: \(u.name): FAILED")
      }
    }
    let rpcsvcBuilt = built.filter { name in units.contains { $0.name == name && $0.file?.hasPrefix(Self.rpcsvc) == true } }
    print("xdr build: \(rpcsvcBuilt.count) of 17 rpcsvc files and \(built.count - rpcsvcBuilt.count) others generated and built in \(Int(Date().timeIntervalSince(started))) s")
    #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
    #expect(rpcsvcBuilt.count == 17)
  }
}
