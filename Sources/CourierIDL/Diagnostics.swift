/// One message from the compiler, printed like a C compiler's:
/// `file.idl:12:7: error: unknown type 'Strnig'`.
public struct IDLDiagnostic: Hashable, Sendable, CustomStringConvertible {
  public enum Severity: String, Hashable, Sendable { case error, warning, note }

  public var severity: Severity
  public var location: SourceLocation
  public var message: String

  public init(_ severity: Severity, at location: SourceLocation, _ message: String) {
    self.severity = severity
    self.location = location
    self.message = message
  }

  public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Compilation failed: the diagnostics say why (at least one is an error).
public struct IDLCompilationError: Error, Sendable, CustomStringConvertible {
  public var diagnostics: [IDLDiagnostic]

  public init(_ diagnostics: [IDLDiagnostic]) { self.diagnostics = diagnostics }

  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
