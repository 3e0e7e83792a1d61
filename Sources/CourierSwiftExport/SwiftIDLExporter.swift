import SwiftSyntax

/// Writes OMG IDL for the distributed actors declared in Swift source, so that a CORBA client
/// (omniORB's C++, say) can call them through Courier's actor system.
///
/// Every `distributed actor` and every protocol refining `DistributedActor` becomes an IDL
/// `interface` in `module <swiftModule>` (types nested in other types: one IDL module per
/// enclosing type), with one operation per `distributed func`, named by ``OperationNaming``.
/// Codable structs become IDL structs (stored properties in order), enums with a raw type a
/// typedef of the raw type, arrays typedefs of sequences, optionals unions on a boolean: the
/// bytes Courier's Codable→CDR bridge (`CDREncoder`) writes. The source is only parsed, never
/// compiled: names are resolved by syntax, among the files given.
///
/// ```swift
/// let exporter = SwiftIDLExporter(options: .init(swiftModule: "Shapes"))
/// let output = try exporter.export([.init(path: "Shapes.swift", text: source)])
/// print(output.idl)
/// ```
public struct SwiftIDLExporter: Sendable {
  /// What the export depends on beyond the sources.
  public struct Options: Sendable {
    /// The Swift module the sources are compiled into: the outer IDL module, and the first
    /// component of every repository id (`IDL:Shapes/Shape:1.0`).
    public var swiftModule: String
    /// The command line recorded in the header comment (`courier-idl export …`).
    public var commandLine: String?

    public init(swiftModule: String, commandLine: String? = nil) {
      self.swiftModule = swiftModule
      self.commandLine = commandLine
    }
  }

  /// One Swift source file: the path used in the header and in diagnostics, and its text.
  public struct SourceFile: Sendable {
    public var path: String
    public var text: String

    public init(path: String, text: String) {
      self.path = path
      self.text = text
    }
  }

  /// A successful export: the IDL text and the warnings (types left out, unused pins).
  public struct Output: Sendable {
    public var idl: String
    public var warnings: [SwiftExportDiagnostic]
  }

  public var options: Options

  public init(options: Options) { self.options = options }

  /// Exports the distributed actors of `files` (read together, as one Swift module) as IDL.
  ///
  /// - Throws: ``SwiftExportError`` with every problem found, as `file:line:column: error: …`:
  ///   a type that is not declared in the files nor built in, a dictionary, set, tuple, closure,
  ///   generic, `inout` or variadic parameter, an enum with associated values, recursive
  ///   structs, or two operations with one wire name.
  public func export(_ files: [SourceFile]) throws(SwiftExportError) -> Output {
    var scanner = SwiftScanner(swiftModule: options.swiftModule)
    for file in files { scanner.scan(file: file.path, source: file.text) }
    scanner.finish()
    var builder = IDLBuilder(module: scanner.module, options: options)
    return try builder.build()
  }
}
