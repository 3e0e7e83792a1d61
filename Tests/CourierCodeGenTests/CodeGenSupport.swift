import CourierCodeGen
import CourierIDL
import CourierTestSupport
import Foundation
import Testing

/// The repository root (this file is Tests/CourierCodeGenTests/CodeGenSupport.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The fixture and example IDL files the generator is tested on.
let exampleIDL: [String] = [
  "Tests/CourierIDLInteropTests/Everything.idl",
  "Sources/CourierExamples/Echo.idl",
  "Sources/CourierExamples/Person.idl",
  "Sources/CourierExamples/Shape.idl",
].map { repositoryRoot.appendingPathComponent($0).path }

/// Where Debian's omniorb-idl package puts its IDL, and how omniidl is pointed at it.
enum OmniORBIDL {
  static let root = "/usr/share/idl/omniORB"
  static let options = IDLFrontEnd.Options(includePaths: [root, root + "/COS"], defines: ["__OMNIIDL__": "1"])

  /// Every .idl file of the package, sorted.
  static func files() throws -> [String] {
    guard FileManager.default.fileExists(atPath: root) else {
      throw CodeGenTestError("omniORB's IDL files are missing: apt-get install omniorb-idl (scripts/test.sh does)")
    }
    var found: [String] = []
    let e = FileManager.default.enumerator(atPath: root)
    while let f = e?.nextObject() as? String {
      if f.hasSuffix(".idl") { found.append(root + "/" + f) }
    }
    return found.sorted()
  }
}

struct CodeGenTestError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}

/// Compiles `source` (IDL text) and generates Swift.
func generate(_ source: String, options: SwiftGenerator.Options = .init()) throws -> SwiftGenerator.Output {
  let model = try IDLFrontEnd.compile(source: source, fileName: "t.idl")
  return SwiftGenerator(options: options).generate(model)
}

/// The `swift` driver next to the running toolchain.
func swiftExecutable() -> String {
  for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
    let candidate = "\(dir)/swift"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return "/opt/swift/usr/bin/swift"
}
