import ArgumentParser
import CourierSwiftExport
import Foundation

/// `courier-idl export`: writes OMG IDL for the distributed actors declared in Swift files, so
/// that CORBA clients (omniORB's C++, say) can call them through Courier's actor system.
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write OMG IDL for the distributed actors declared in Swift source files.",
    discussion: """
      Reads the Swift files (syntax only: they are not compiled) and writes one IDL file: an interface per
      distributed actor and per protocol refining DistributedActor (its distributed funcs as operations), and
      the Codable structs, enums with a raw type, sequences and optionals they use, as Courier's Codable→CDR
      bridge writes them. Operation names: the method's base name, then _label for each labeled parameter
      (greet(name:times:) → greet_name_times), unless the type pins one in courierOperationNames.
      See docs/swift-idl-export.md. Errors are printed as file:line:column: error: message, and the exit
      status is 1.
      """)

  @Option(help: "The Swift module the files are compiled into: the outer IDL module and the first part of every repository id.")
  var swiftModule: String

  @Option(name: [.customShort("o"), .customLong("output")], help: "The IDL file to write (standard output if absent).")
  var output: String?

  @Argument(help: "Swift source files to read, as one module.")
  var files: [String]

  func validate() throws {
    guard !files.isEmpty else { throw ValidationError("name at least one Swift file to export") }
  }

  func run() throws {
    var sources: [SwiftIDLExporter.SourceFile] = []
    for file in files {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
        FileHandle.standardError.write(Data("\(file): error: cannot read the file\n".utf8))
        throw ExitCode(1)
      }
      sources.append(.init(path: file, text: text))
    }
    let commandLine = "courier-idl export --swift-module \(swiftModule)" + (output.map { " -o \(($0 as NSString).lastPathComponent)" } ?? "")
    let exporter = SwiftIDLExporter(options: .init(swiftModule: swiftModule, commandLine: commandLine))
    let result: SwiftIDLExporter.Output
    do {
      result = try exporter.export(sources)
    } catch {
      for d in error.diagnostics { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
      throw ExitCode(1)
    }
    for d in result.warnings { FileHandle.standardError.write(Data((d.description + "\n").utf8)) }
    guard let output else {
      print(result.idl, terminator: "")
      return
    }
    do {
      if (try? String(contentsOfFile: output, encoding: .utf8)) != result.idl {
        try result.idl.write(toFile: output, atomically: true, encoding: .utf8)
      }
    } catch {
      FileHandle.standardError.write(Data("\(output): error: cannot write: \(error)\n".utf8))
      throw ExitCode(1)
    }
  }
}
