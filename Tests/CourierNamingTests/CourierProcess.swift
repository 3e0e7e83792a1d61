import Foundation

/// A `courier` process (the package's debug build), started and waited for until it prints
/// its READY line; the tests end it by signal.
final class CourierProcess {
  /// The package's root folder.
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  let process = Process()
  let readyLine: String
  init(_ arguments: [String]) throws {
    let exe = CourierProcess.packageRoot.appendingPathComponent(".build/debug/courier")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
      throw NamingTestError("\(exe.path) is missing: swift build --build-tests builds it")
    }
    process.executableURL = exe
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    var seen = ""
    let deadline = Date().addingTimeInterval(20)
    while !seen.contains("\n") {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty || Date() > deadline {
        kill(process.processIdentifier, SIGKILL)
        throw NamingTestError("courier \(arguments.joined(separator: " ")) did not start: \(seen)")
      }
      seen += String(decoding: chunk, as: UTF8.self)
    }
    readyLine = seen
  }
  func signal(_ sig: Int32) {
    kill(process.processIdentifier, sig)
    process.waitUntilExit()
  }
}
