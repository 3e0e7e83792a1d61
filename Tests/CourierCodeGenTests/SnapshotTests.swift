import CourierCodeGen
import CourierIDL
import Foundation
import Testing

/// Whole-file snapshots of the generated Swift. `COURIER_RECORD_SNAPSHOTS=1 swift test --filter
/// SnapshotTests` rewrites them; review the diff before committing.
@Suite("generated Swift: whole-file snapshots")
struct SnapshotTests {
  static let record = ProcessInfo.processInfo.environment["COURIER_RECORD_SNAPSHOTS"] == "1"

  @Test("snapshot", arguments: exampleIDL)
  func snapshot(_ file: String) throws {
    let model = try IDLFrontEnd.compile(file: file)
    let output = SwiftGenerator().generate(model)
    let name = URL(fileURLWithPath: file).lastPathComponent
    let snapshot = repositoryRoot.appendingPathComponent("Tests/CourierCodeGenTests/Snapshots/\(name).swift.txt")
    if Self.record {
      try output.source.write(to: snapshot, atomically: true, encoding: .utf8)
      return
    }
    let expected = try String(contentsOf: snapshot, encoding: .utf8)
    if output.source != expected {
      // Point at the first differing line.
      let a = output.source.split(separator: "\n", omittingEmptySubsequences: false)
      let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
      let i = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
      Issue.record("""
        \(name): generated Swift differs from the snapshot at line \(i + 1):
          generated: \(i < a.count ? String(a[i]) : "<end>")
          snapshot:  \(i < b.count ? String(b[i]) : "<end>")
        (COURIER_RECORD_SNAPSHOTS=1 re-records)
        """)
    }
  }
}
