import Testing
@testable import CourierIDL
#if canImport(Glibc)
import Glibc
#endif

enum IDLTestSupport {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// This test target's Fixtures folder (found from the source path, without Foundation).
  static let fixturesDirectory: String = {
    let path = #filePath
    return String(path[..<path.lastIndex(of: "/")!]) + "/Fixtures"
  }()

  /// Runs a shell command and returns its standard output (nil when it fails to start).
  static func shell(_ command: String) -> (status: Int32, output: String) {
    guard let pipe = popen(command + " 2>/dev/null", "r") else { return (-1, "") }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = fread(&buffer, 1, buffer.count, pipe)
      if count <= 0 { break }
      output.append(contentsOf: buffer[0..<count])
    }
    let status = pclose(pipe)
    return (status, String(decoding: output, as: UTF8.self))
  }

  /// The `.idl` files of the omniorb-idl package, sorted; fails when the package is missing.
  static func omniORBFiles() throws -> [String] {
    guard shell("dpkg -s omniorb-idl").status == 0 else {
      throw Failure(description: "the omniorb-idl package is not installed: run `apt-get install omniorb-idl` (scripts/test.sh does)")
    }
    let files = shell("dpkg -L omniorb-idl").output.split(separator: "\n").map(String.init).filter { $0.hasSuffix(".idl") }.sorted()
    return files
  }
}

/// Compiles `source` (as `t.idl`), failing the test with the diagnostics if it does not compile.
func compile(_ source: String, options: IDLFrontEnd.Options = .init(), sourceLocation: Testing.SourceLocation = #_sourceLocation)
  throws -> InterfaceModel
{
  do {
    return try IDLFrontEnd.compile(source: source, fileName: "t.idl", options: options)
  } catch {
    Issue.record("compilation failed:\n\(error)", sourceLocation: sourceLocation)
    throw error
  }
}

/// The diagnostics compiling `source` (as `t.idl`) gives (empty when it compiles).
func diagnostics(_ source: String, options: IDLFrontEnd.Options = .init()) -> [String] {
  do {
    _ = try IDLFrontEnd.compile(source: source, fileName: "t.idl", options: options)
    return []
  } catch {
    return error.diagnostics.map(\.description)
  }
}

extension InterfaceModel {
  /// The declaration named `A::B` (test shorthand).
  subscript(_ name: String) -> Definition? { declaration(named: ScopedName(name.split(separator: "::").map(String.init))) }
}
