import Foundation
import PackagePlugin

/// Compiles the `.idl` (OMG IDL) and `.x` (ONC RPC language) files of a target into Swift with
/// `courier-idl`, at build time.
///
/// Add it to a target: `plugins: [.plugin(name: "CourierIDLPlugin", package: "courier")]`. Every
/// `.idl` file among the target's sources becomes `FILE.idl.swift`, every `.x` file `FILE.x.swift`,
/// in the build directory (both with the same options). The
/// target's directory is an include path; an optional `courier-idl.json` next to the sources
/// sets more: `{"accessLevel": "public", "includePaths": ["../idl"], "defines": ["X=1"]}`
/// (paths relative to the target's directory). The default access level is `internal`.
@main
struct CourierIDLPlugin: BuildToolPlugin {
  struct Config: Decodable {
    var accessLevel: String?
    var includePaths: [String]?
    var defines: [String]?
  }

  func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
    guard let source = target as? SourceModuleTarget else { return [] }
    let directory = source.directoryURL
    let configURL = directory.appending(path: "courier-idl.json")
    let config = (try? Data(contentsOf: configURL)).flatMap { try? JSONDecoder().decode(Config.self, from: $0) } ?? Config()
    let tool = try context.tool(named: "courier-idl")
    let idlFiles = source.sourceFiles.filter { ["idl", "x"].contains($0.url.pathExtension) }.map(\.url)
    let outputDirectory = context.pluginWorkDirectoryURL.appending(path: "CourierIDL")
    var common = ["--output-directory", outputDirectory.path(percentEncoded: false),
                  "--access-level", config.accessLevel ?? "internal", "-I", directory.path(percentEncoded: false)]
    for path in config.includePaths ?? [] {
      common += ["-I", directory.appending(path: path).standardized.path(percentEncoded: false)]
    }
    for d in config.defines ?? [] { common += ["-D", d] }
    return idlFiles.map { file in
      return .buildCommand(
        displayName: "Compiling \(file.lastPathComponent) with courier-idl",
        executable: tool.url,
        arguments: common + [file.path(percentEncoded: false)],
        inputFiles: [file] + idlFiles,
        outputFiles: [outputDirectory.appending(path: file.lastPathComponent + ".swift")]
      )
    }
  }
}
