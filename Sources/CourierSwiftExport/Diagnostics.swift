/// A place in a Swift source file: `file:line:column` (line and column count from 1).
public struct SwiftSourceLocation: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int

  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String { "\(file):\(line):\(column)" }
}

/// One message from the exporter, printed like the rest of courier-idl's:
/// `Shapes.swift:12:7: error: unknown type 'Date'`.
public struct SwiftExportDiagnostic: Hashable, Sendable, CustomStringConvertible {
  public enum Severity: String, Hashable, Sendable { case error, warning }

  public var severity: Severity
  public var location: SwiftSourceLocation
  public var message: String

  public init(_ severity: Severity, at location: SwiftSourceLocation, _ message: String) {
    self.severity = severity
    self.location = location
    self.message = message
  }

  public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// The export failed: the diagnostics say why (at least one is an error), in source order.
public struct SwiftExportError: Error, Sendable, CustomStringConvertible {
  public var diagnostics: [SwiftExportDiagnostic]

  public init(_ diagnostics: [SwiftExportDiagnostic]) { self.diagnostics = diagnostics }

  public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
