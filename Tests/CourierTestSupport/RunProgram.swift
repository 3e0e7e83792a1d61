import Dispatch
import Foundation
import Synchronization

/// What a program run by ``runProgram(_:_:timeout:environment:)`` did.
public struct ProgramResult: Sendable {
  /// The exit status; -1 if it could not start, -2 if the timeout ended it.
  public var status: Int32
  /// Standard output and standard error, interleaved.
  public var output: String
}

/// Runs a program to completion, bounded by `timeout` seconds (a watchdog ends it, so a hung
/// peer fails the test instead of hanging the suite), and returns its status and output.
public func runProgram(_ path: String, _ arguments: [String], timeout: Double = 60,
                       environment: [String: String]? = nil) -> ProgramResult {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = arguments
  if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
  let pipe = Pipe()
  p.standardOutput = pipe
  p.standardError = pipe
  do { try p.run() } catch { return ProgramResult(status: -1, output: "cannot start \(path): \(error)") }
  let timedOut = Atomic<Bool>(false)
  let watchdog = DispatchWorkItem {
    if p.isRunning {
      timedOut.store(true, ordering: .relaxed)
      p.terminate()
    }
  }
  DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  watchdog.cancel()
  if timedOut.load(ordering: .relaxed) { return ProgramResult(status: -2, output: "\(path) timed out after \(timeout) s") }
  return ProgramResult(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
}
