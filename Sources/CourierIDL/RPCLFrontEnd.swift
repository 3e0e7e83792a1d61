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
/// (rpcgen copies them into its C output; see "`%#define`" below).
///
/// ## Which `RPC_*` symbol is defined
/// rpcgen runs the C preprocessor once per output file and defines one symbol each time:
/// `RPC_HDR` (the header), `RPC_XDR` (the XDR routines), `RPC_SVC` (the server), `RPC_CLNT` (the
/// client stubs), and `RPC_TBL`/`RPC_SAMPLE` for the rarer outputs. Courier's output is one Swift
/// file that does all of these jobs at once, so one symbol must stand for it. This front end
/// defines `RPC_HDR` (as `1`): the header is the output every other output includes, so what it
/// sees is what they all share — the declarations, and the C constants `.x` files define for them
/// in `%#define` lines, which are nearly always inside `#ifdef RPC_HDR` (nlm_prot.x's
/// `LM_MAXSTRLEN`, used as `string caller_name<LM_MAXSTRLEN>`). The `%` lines guarded by
/// `RPC_XDR`, `RPC_SVC` or `RPC_CLNT` are C code for those outputs only, which Swift does not
/// need. Define any `RPC_*` symbol yourself (`-D RPC_XDR`) and the front end defines none.
///
/// ## `%#define`
/// Lines starting with `%` are passed over, except that `%#define NAME VALUE` (in the active
/// parts of the file) is remembered: RPCL may use `NAME` as a size or a value, as rpcgen allows
/// (it hands the name to the C compiler), when `VALUE` is an integer expression.
public enum RPCLFrontEnd {
  /// The symbol defined unless the options define an `RPC_*` symbol themselves.
  public static let outputSymbol = "RPC_HDR"

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
    var resolver = RPCLResolver(definitions: parsed, macros: preprocessor.percentDefines)
    let definitions = resolver.resolve()
    diagnostics += resolver.diagnostics
    if diagnostics.contains(where: { $0.severity == .error }) {
      throw IDLCompilationError(diagnostics)
    }
    return InterfaceModel(mainFile: fileName, definitions: definitions, warnings: diagnostics.filter { $0.severity == .warning },
                          sourceLanguage: .rpcl)
  }
}
