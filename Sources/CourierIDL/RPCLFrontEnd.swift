/// The ONC RPC language front end (RFC 5531 §12, the `.x` files of rpcgen): preprocessor, parser
/// and name resolution, producing an ``InterfaceModel`` whose ``InterfaceModel/sourceLanguage``
/// is ``SourceLanguage/rpcl``.
///
/// ```swift
/// let model = try RPCLFrontEnd.compile(file: "FileReadWrite.x")
/// ```
///
/// The file goes through the same C-like preprocessor as OMG IDL (`#include`, `#define`,
/// `#ifdef`/`#if`/`#else`, comments), and lines whose first character is `%` are passed over
/// (rpcgen copies them into its C output).
///
/// ## Which `RPC_*` symbol is defined
/// rpcgen runs the C preprocessor once per output file and defines one symbol each time:
/// `RPC_HDR` (the header), `RPC_XDR` (the XDR routines), `RPC_SVC` (the server), `RPC_CLNT` (the
/// client stubs), and `RPC_TBL`/`RPC_SAMPLE` for the rarer outputs. Courier's output is one Swift
/// file that does all of these jobs at once, so one symbol must stand for it: this front end
/// defines `RPC_XDR` (as `1`), because what the generated Swift must get exactly right is the
/// bytes on the wire, and those are what the peer's XDR routines, compiled with `RPC_XDR`, read
/// and write. (In practice `.x` files guard only `%` lines with these symbols, which are passed
/// over whatever is defined.) Define any `RPC_*` symbol yourself (`-D RPC_HDR`) and the front end
/// defines none of its own.
public enum RPCLFrontEnd {
  /// The symbol defined unless the options define an `RPC_*` symbol themselves.
  public static let outputSymbol = "RPC_XDR"

  /// Compiles the RPCL file at `path`.
  /// - Throws: ``IDLCompilationError`` with every diagnostic found (never crashes on bad input).
  public static func compile(file path: String, options: IDLFrontEnd.Options = .init()) throws(IDLCompilationError) -> InterfaceModel {
    guard let bytes = SourceFiles.read(path) else {
      throw IDLCompilationError([IDLDiagnostic(.error, at: SourceLocation(file: path, line: 1, column: 1), "cannot read file '\(path)'")])
    }
    return try compile(bytes: bytes, fileName: path, options: options)
  }

  /// Compiles RPCL text given in memory, as if read from `fileName`.
  public static func compile(source: String, fileName: String = "<source>.x", options: IDLFrontEnd.Options = .init()) throws(IDLCompilationError) -> InterfaceModel {
    try compile(bytes: Array(source.utf8), fileName: fileName, options: options)
  }

  private static func compile(bytes: [UInt8], fileName: String, options: IDLFrontEnd.Options) throws(IDLCompilationError) -> InterfaceModel {
    var defines = options.defines
    if !defines.keys.contains(where: { $0.hasPrefix("RPC_") }) { defines[outputSymbol] = "1" }
    var preprocessor = Preprocessor(includePaths: options.includePaths, defines: defines, skipsPercentLines: true)
    preprocessor.run(mainSource: bytes, path: fileName, preincludes: options.preincludes)
    if preprocessor.diagnostics.contains(where: { $0.severity == .error }) {
      throw IDLCompilationError(preprocessor.diagnostics)
    }
    var parser = RPCLParser(tokens: preprocessor.tokens)
    let parsed = parser.parse()
    var diagnostics = preprocessor.diagnostics + parser.diagnostics
    if diagnostics.contains(where: { $0.severity == .error }) {
      throw IDLCompilationError(diagnostics)
    }
    var resolver = RPCLResolver(definitions: parsed)
    let definitions = resolver.resolve()
    diagnostics += resolver.diagnostics
    if diagnostics.contains(where: { $0.severity == .error }) {
      throw IDLCompilationError(diagnostics)
    }
    return InterfaceModel(mainFile: fileName, definitions: definitions, warnings: diagnostics.filter { $0.severity == .warning },
                          sourceLanguage: .rpcl)
  }
}
