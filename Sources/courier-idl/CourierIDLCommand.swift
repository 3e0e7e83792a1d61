import ArgumentParser
import CourierCodeGen
import CourierIDL
import Foundation

/// `courier-idl`: compiles OMG IDL files into Swift stubs, skeletons and types.
@main
struct CourierIDLCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "courier-idl",
    abstract: "Compile OMG IDL into Swift client stubs, servant protocols, skeletons and types for Courier.",
    discussion: """
      Each input file FILE.idl becomes OUTPUT/FILE.idl.swift with the declarations of that file; declarations of
      files it includes are referred to by name, so compile those into the same Swift module too (or import the
      module that has them with --import). Errors are printed as file:line:column: error: message, and the exit
      status is 1.

      Pragmas: #pragma prefix "p", #pragma ID Name "IDL:...:1.0", #pragma version Name 1.2, and Courier's own
        #pragma courier semantics Scoped::operation maybe|at-least-once|at-most-once|exactly-once
        #pragma courier idempotent Scoped::operation      (declared at-least-once unless a semantics pragma says otherwise)
      which the stubs pass to the ORB as the operation's declared invocation semantics (call and reference
      options override it). Other pragmas are ignored; an unknown #pragma courier is a warning.
      """)

  @Argument(help: "IDL files to compile.")
  var files: [String]

  @Option(name: [.customShort("I"), .customLong("include")], help: "A directory to search for included files (repeatable).")
  var includePaths: [String] = []

  @Option(name: [.customShort("D"), .customLong("define")], help: "Define a preprocessor macro: NAME or NAME=VALUE (repeatable).")
  var defines: [String] = []

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

  func run() throws {
    var defined: [String: String] = [:]
    for d in defines {
      let parts = d.split(separator: "=", maxSplits: 1)
      defined[String(parts[0])] = parts.count > 1 ? String(parts[1]) : "1"
    }
    let frontEndOptions = IDLFrontEnd.Options(includePaths: includePaths, defines: defined)
    let generator = SwiftGenerator(options: .init(accessLevel: accessLevel, namePrefix: namePrefix))
    var failed = false
    for file in files {
      let model: InterfaceModel
      do {
        model = try IDLFrontEnd.compile(file: file, options: frontEndOptions)
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
        output.source = output.source.replacingOccurrences(of: "\nfileprivate struct _CourierGeneratedCodeCheck", with: "\n" + extra + "fileprivate struct _CourierGeneratedCodeCheck")
      }
      let base = (file as NSString).lastPathComponent
      let stem = base.hasSuffix(".idl") ? String(base.dropLast(4)) : base
      let target = (outputDirectory as NSString).appendingPathComponent(stem + ".idl.swift")
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
