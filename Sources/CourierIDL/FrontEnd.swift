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

    public init(includePaths: [String] = [], defines: [String: String] = [:]) {
      self.includePaths = includePaths
      self.defines = defines
    }
  }

  /// Compiles the IDL file at `path`.
  /// - Throws: ``IDLCompilationError`` with every diagnostic found (never crashes on bad input).
  public static func compile(file path: String, options: Options = Options()) throws(IDLCompilationError) -> InterfaceModel {
    fatalError("IDLFrontEnd.compile(file:) is being written")
  }

  /// Compiles IDL text given in memory, as if read from `fileName` (includes are still read
  /// from the include paths and the current directory).
  public static func compile(source: String, fileName: String = "<source>", options: Options = Options()) throws(IDLCompilationError) -> InterfaceModel {
    fatalError("IDLFrontEnd.compile(source:) is being written")
  }
}
