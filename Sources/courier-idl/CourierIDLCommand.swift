import ArgumentParser
import CourierCodeGen
import CourierIDL
import Foundation

/// `courier-idl`: compiles OMG IDL files (`.idl`) and ONC RPC language files (`.x`) into Swift
/// stubs, skeletons and types (the default subcommand, `compile`: `courier-idl FILES…` as
/// before), and exports Swift distributed actors as OMG IDL (`courier-idl export`).
@main
struct CourierIDLCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "courier-idl",
    abstract: "Courier's interface compiler: IDL and .x to Swift (the default), Swift distributed actors to IDL (export).",
    subcommands: [CompileCommand.self, ExportCommand.self],
    defaultSubcommand: CompileCommand.self)
}

/// `courier-idl [compile] FILES…`: compiles OMG IDL files (`.idl`) and ONC RPC language files
/// (`.x`) into Swift stubs, skeletons and types.
struct CompileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compile",
    abstract: "Compile OMG IDL (.idl) or ONC RPC language (.x) into Swift client stubs, servant protocols and types for Courier.",
    discussion: """
      Each input file FILE.idl becomes OUTPUT/FILE.idl.swift, and each FILE.x (the ONC RPC language of RFC 5531
      and rpcgen) OUTPUT/FILE.x.swift, with the declarations of that file; declarations of
      files it includes are referred to by name, so compile those into the same Swift module too (or import the
      module that has them with --import). Errors are printed as file:line:column: error: message, and the exit
      status is 1.

      Pragmas: #pragma prefix "p", #pragma ID Name "IDL:...:1.0", #pragma version Name 1.2, and Courier's own
        #pragma courier semantics Scoped::operation maybe|at-least-once|at-most-once|exactly-once
        #pragma courier idempotent Scoped::operation      (declared at-least-once unless a semantics pragma says otherwise)
      which the stubs pass to the ORB as the operation's declared invocation semantics (call and reference
      options override it). Other pragmas are ignored; an unknown #pragma courier is a warning.

      .x files: XDR types, and per program version a Client (over an ONCCaller), a Service protocol and an
      ONCProgramDispatcher (docs/rpcl-mapping.md). Lines starting with % are passed over; the preprocessor defines
      RPC_HDR=1 unless -D defines some RPC_* symbol, and
      remembers %#define NAME VALUE lines, whose NAME may be used as a size. The same options apply.
      """)

  @Argument(help: "IDL (.idl) and ONC RPC language (.x) files to compile.")
  var files: [String]

  @Option(name: [.customShort("I"), .customLong("include")], help: "A directory to search for included files (repeatable).")
  var includePaths: [String] = []

  @Option(name: [.customShort("D"), .customLong("define")], help: "Define a preprocessor macro: NAME or NAME=VALUE (repeatable).")
  var defines: [String] = []

  @Option(name: .customLong("preinclude"), help: "A file read before each input file, as if included first (C's -include; repeatable).")
  var preincludes: [String] = []

  @Option(name: [.customShort("o"), .customLong("output-directory")], help: "Where to write the .swift files.")
  var outputDirectory: String = "."

  @Option(help: "Access level of the generated declarations: public, package or internal.")
  var accessLevel: String = "public"

  @Option(help: "Name of the Swift module the generated code is compiled into (recorded in the file header).")
  var moduleName: String?

  @Option(help: "A prefix for every top-level generated Swift name.")
  var namePrefix: String = ""

  @Option(name: .customLong("import"), help: "A Swift module to import, holding the code generated from included IDL (repeatable).")
  var imports: [String] = []

  @Flag(help: "Print the interface model's declarations instead of writing Swift.")
  var dumpModel = false

  func validate() throws {
    guard ["public", "package", "internal"].contains(accessLevel) else {
      throw ValidationError("--access-level must be public, package or internal, not '\(accessLevel)'")
    }
  }

  /// `FILE.idl` → `FILE.idl.swift`, `FILE.x` → `FILE.x.swift` (and any other name gets `.idl.swift`).
  static func outputName(_ base: String) -> String {
    if base.hasSuffix(".idl") || base.hasSuffix(".x") { return base + ".swift" }
    return base + ".idl.swift"
  }

  func run() throws {
    var defined: [String: String] = [:]
    for d in defines {
      let parts = d.split(separator: "=", maxSplits: 1)
      defined[String(parts[0])] = parts.count > 1 ? String(parts[1]) : "1"
    }
    let frontEndOptions = IDLFrontEnd.Options(includePaths: includePaths, defines: defined, preincludes: preincludes)
    let generator = SwiftGenerator(options: .init(accessLevel: accessLevel, namePrefix: namePrefix))
    var failed = false
    for file in files {
      let model: InterfaceModel
      do {
        model = file.hasSuffix(".x")
          ? try RPCLFrontEnd.compile(file: file, options: frontEndOptions)
          : try IDLFrontEnd.compile(file: file, options: frontEndOptions)
      } catch {
        for d in error.diagnostics { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
        failed = true
        continue
      }
      for d in model.warnings { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
      if dumpModel {
        for (name, definition) in model.index.sorted(by: { $0.key < $1.key }) {
          print("\(name)\t\(definition.info.repositoryID)")
        }
        continue
      }
      var output = generator.generate(model)
      for d in output.diagnostics { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
      if !imports.isEmpty || moduleName != nil {
        var extra = moduleName.map { "// Swift module: \($0)\n" } ?? ""
        for m in imports { extra += "\(accessLevel == "public" ? "public " : "")import \(m)\n" }
        if model.sourceLanguage == .rpcl {
          output.source = output.source.replacingOccurrences(of: "import CourierWire\n", with: "import CourierWire\n" + extra)
        } else {
          output.source = output.source.replacingOccurrences(of: "\nfileprivate struct _CourierGeneratedCodeCheck", with: "\n" + extra + "fileprivate struct _CourierGeneratedCodeCheck")
        }
      }
      let base = (file as NSString).lastPathComponent
      let target = (outputDirectory as NSString).appendingPathComponent(Self.outputName(base))
      do {
        try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        // Write only when the content changes, so builds do not recompile untouched files.
        if (try? String(contentsOfFile: target, encoding: .utf8)) != output.source {
          try output.source.write(toFile: target, atomically: true, encoding: .utf8)
        }
      } catch {
        FileHandle.standardError.write(Data("\(target): error: cannot write: \(error)\n".utf8))
        failed = true
      }
    }
    if failed { throw ExitCode(1) }
  }
}
