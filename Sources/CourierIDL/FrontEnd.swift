/// The OMG IDL front end: preprocessor, parser and semantic analysis, producing an
/// ``InterfaceModel``.
///
/// ```swift
/// let model = try IDLFrontEnd.compile(file: "Person.idl", options: .init(includePaths: ["idl"]))
/// ```
public enum IDLFrontEnd {
  public struct Options: Sendable {
    /// Directories searched for `#include <…>` and (after the including file's directory) `#include "…"`.
    public var includePaths: [String]
    /// Macros defined before the first line (`-D NAME=VALUE`).
    public var defines: [String: String]
    /// Files read before the main file, as if it began by including each (C's `-include FILE`):
    /// their declarations can be used, and are generated from their own files. For RPCL files that
    /// use types another `.x` file declares without including it (`nis_callback.x` uses
    /// `nis_object.x`'s types through a `%#include` of the C header).
    public var preincludes: [String]

    public init(includePaths: [String] = [], defines: [String: String] = [:], preincludes: [String] = []) {
      self.includePaths = includePaths
      self.defines = defines
      self.preincludes = preincludes
    }
  }

  /// Compiles the IDL file at `path`.
  /// - Throws: ``IDLCompilationError`` with every diagnostic found (never crashes on bad input).
  public static func compile(file path: String, options: Options = Options()) throws(IDLCompilationError) -> InterfaceModel {
    guard let bytes = SourceFiles.read(path) else {
      throw IDLCompilationError([IDLDiagnostic(.error, at: SourceLocation(file: path, line: 1, column: 1), "cannot read file '\(path)'")])
    }
    return try compile(bytes: bytes, fileName: path, options: options)
  }

  /// Compiles IDL text given in memory, as if read from `fileName` (includes are still read
  /// from the include paths and the current directory).
  public static func compile(source: String, fileName: String = "<source>", options: Options = Options()) throws(IDLCompilationError) -> InterfaceModel {
    try compile(bytes: Array(source.utf8), fileName: fileName, options: options)
  }

  private static func compile(bytes: [UInt8], fileName: String, options: Options) throws(IDLCompilationError) -> InterfaceModel {
    var preprocessor = Preprocessor(includePaths: options.includePaths, defines: options.defines)
    preprocessor.run(mainSource: bytes, path: fileName, preincludes: options.preincludes)
    let parser = Parser(tokens: preprocessor.tokens)
    let parsed = parser.parseSpecification()
    let diagnostics = preprocessor.diagnostics + parser.diagnostics
    if diagnostics.contains(where: { $0.severity == .error }) {
      throw IDLCompilationError(diagnostics)
    }
    let assigner = RepositoryIDAssigner(idOverrides: parser.idOverrides, versionOverrides: parser.versionOverrides,
                                        typePrefixes: parser.typePrefixes, serialByLocation: parser.serialByLocation)
    var definitions = assigner.assign(parsed)
    if !parser.semanticsDeclarations.isEmpty {
      definitions = definitions.map { $0.applyingSemantics(parser.semanticsDeclarations) }
    }
    return InterfaceModel(mainFile: fileName, definitions: definitions, warnings: diagnostics.filter { $0.severity == .warning })
  }
}

extension Definition {
  /// The same definition with the declared semantics on its interfaces' operations.
  func applyingSemantics(_ declarations: [ScopedName: Parser.SemanticsDeclaration]) -> Definition {
    switch self {
    case .module(var m):
      m.definitions = m.definitions.map { $0.applyingSemantics(declarations) }
      return .module(m)
    case .interface(var i):
      for k in i.operations.indices {
        guard let declaration = declarations[i.info.scopedName.appending(i.operations[k].name)] else { continue }
        i.operations[k].semantics = declaration.declared
        i.operations[k].idempotent = declaration.idempotent
      }
      return .interface(i)
    default:
      return self
    }
  }
}
