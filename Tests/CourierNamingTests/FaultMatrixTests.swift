import Foundation
import Testing

/// `courier faults` at a small scale: real server and client processes per cell, UDP datagram
/// faults, kill -9 of the server and of the client. The command checks the invariants itself
/// (exit status 1 when one fails); the test also reads its JSON.
@Suite("Fault matrix", .serialized)
struct FaultMatrixTests {
  struct Cell: Decodable {
    var semantics: String
    var fault: String
    var attempted: Int
    var succeeded: Int
    var failed: Int
    var executions: Int
    var duplicateExecutions: Int
    var counter: Int64
    var acknowledgedSum: Int64
    var acknowledgedNotExecuted: Int
    var invariantViolations: [String]
  }

  @Test func invariantsHoldInEveryCell() throws {
    let calls = 200
    let json = FileManager.default.temporaryDirectory.appendingPathComponent("faults-\(UUID().uuidString).json").path
    let process = Process()
    process.executableURL = CourierProcess.packageRoot.appendingPathComponent(".build/debug/courier")
    process.arguments = ["faults", "--calls", "\(calls)", "--json", json]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let cells = try JSONDecoder().decode([Cell].self, from: Data(contentsOf: URL(fileURLWithPath: json)))
    #expect(process.terminationStatus == 0, "\(cells.filter { !$0.invariantViolations.isEmpty }.map { "\($0.semantics)/\($0.fault): \($0.invariantViolations)" })")
    #expect(cells.count == 24)
    for c in cells {
      switch c.semantics {
      case "exactly-once":
        #expect(c.succeeded == calls, "\(c.fault)")
        #expect(c.duplicateExecutions == 0, "\(c.fault)")
        #expect(c.counter == c.acknowledgedSum, "\(c.fault)")
      case "at-most-once":
        #expect(c.duplicateExecutions == 0, "\(c.fault)")
        #expect(c.acknowledgedNotExecuted == 0, "\(c.fault)")
      case "at-least-once":
        #expect(c.acknowledgedNotExecuted == 0, "\(c.fault)")
      default:
        #expect(c.attempted >= c.succeeded)
      }
      #expect(c.attempted <= calls)
    }
    // The faults bite: maybe loses calls to lost requests, at-least-once runs lost replies' calls again.
    let maybeLost = try #require(cells.first { $0.semantics == "maybe" && $0.fault == "lost-requests" })
    #expect(maybeLost.failed > 0)
    let againOnLostReplies = try #require(cells.first { $0.semantics == "at-least-once" && $0.fault == "lost-replies" })
    #expect(againOnLostReplies.duplicateExecutions > 0)
  }
}
