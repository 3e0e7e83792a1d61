import CourierCodeGen
import CourierIDL
import CourierTestSupport
import Foundation
import Testing

/// Generates Swift for the examples, the everything-fixture and every omniORB IDL file, and
/// builds it with `swift build` in a scratch package that depends on this one, with warnings
/// as errors (Swift 6 mode, the package's upcoming features).
///
/// omniORB ships two IDL files for some modules (Naming.idl and COS/CosNaming.idl both declare
/// CosNaming), so the files are put in as few Swift targets as needed for no target to declare
/// a name twice; each target also gets the files its files include.
@Suite("generated Swift builds", .serialized)
struct GeneratedCodeBuildTests {
  struct Unit {
    var file: String
    var model: InterfaceModel
    /// Files whose declarations this one refers to (its includes).
    var includes: Set<String>
    /// Scoped names of the main file's own declarations (modules excluded).
    var declares: Set<ScopedName>
  }

  static func unit(_ file: String, options: IDLFrontEnd.Options) throws -> Unit {
    let model = try IDLFrontEnd.compile(file: file, options: options)
    var includes: Set<String> = []
    var declares: Set<ScopedName> = []
    for (name, d) in model.index {
      if case .module = d { continue }
      if d.info.isFromMainFile { declares.insert(name) } else { includes.insert(d.info.location.file) }
    }
    return Unit(file: file, model: model, includes: includes, declares: declares)
  }

  @Test("examples, Everything.idl and all of omniORB's IDL generate Swift that builds without warnings")
  func everythingBuilds() throws {
    var units: [Unit] = []
    var failedToParse: [String] = []
    for file in exampleIDL { units.append(try Self.unit(file, options: .init())) }
    let omni = try OmniORBIDL.files()
    for file in omni {
      do { units.append(try Self.unit(file, options: OmniORBIDL.options)) } catch {
        failedToParse.append(URL(fileURLWithPath: file).lastPathComponent)
      }
    }
    // The ten files omniidl rejects too (missing IOP.idl, undefined CORBA types); the
    // front end's tests check their diagnostics.
    #expect(failedToParse.count == 10, "omniORB files that did not compile: \(failedToParse)")
    let byPath = Dictionary(units.map { ($0.file, $0) }, uniquingKeysWith: { a, _ in a })

    // Group into targets with no name declared twice.
    struct Group { var files: [String] = []; var declares: Set<ScopedName> = [] }
    var groups: [Group] = []
    func closure(_ u: Unit) -> [String] {
      var seen: [String] = [u.file]
      var queue = Array(u.includes)
      while let f = queue.popLast() {
        guard !seen.contains(f), let v = byPath[f] else { continue }
        seen.append(f)
        queue += v.includes
      }
      return seen
    }
    for u in units {
      let members = closure(u)
      let placed = groups.indices.first { g in
        members.allSatisfy { f in groups[g].files.contains(f) || byPath[f]!.declares.isDisjoint(with: groups[g].declares) }
      }
      let g = placed ?? { groups.append(Group()); return groups.count - 1 }()
      for f in members where !groups[g].files.contains(f) {
        groups[g].files.append(f)
        groups[g].declares.formUnion(byPath[f]!.declares)
      }
    }

    // Write the scratch package.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("courier-codegen-build")
    let sources = scratch.appendingPathComponent("Sources")
    try? FileManager.default.removeItem(at: sources)
    var targets: [String] = []
    // SwiftPM names a path dependency after its folder.
    let identity = SwiftNamesForTests.literal(repositoryRoot.lastPathComponent.lowercased())
    var generatedCount = 0
    var warnings = 0
    for (i, group) in groups.enumerated() {
      let dir = sources.appendingPathComponent("Generated\(i)")
      try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
      for f in group.files {
        let output = SwiftGenerator().generate(byPath[f]!.model)
        warnings += output.diagnostics.count
        let name = URL(fileURLWithPath: f).deletingPathExtension().lastPathComponent + ".idl.swift"
        try output.source.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        generatedCount += 1
      }
      targets.append("""
            .target(name: "Generated\(i)", dependencies: [
              .product(name: "CourierCore", package: \(identity)), .product(name: "CourierGIOP", package: \(identity)),
              .product(name: "CourierWire", package: \(identity))], swiftSettings: settings),
        """)
    }
    let manifest = """
      // swift-tools-version: 6.1
      import PackageDescription
      let settings: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"), .enableUpcomingFeature("MemberImportVisibility"),
        .unsafeFlags(["-warnings-as-errors"])]
      let package = Package(name: "generated", dependencies: [.package(path: \(SwiftNamesForTests.literal(repositoryRoot.path)))],
        targets: [
      \(targets.joined(separator: "\n"))
        ])
      """
    try manifest.write(to: scratch.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
    let started = Date()
    let result = runProgram(swiftExecutable(), ["build", "--package-path", scratch.path, "--scratch-path", scratch.appendingPathComponent(".build").path], timeout: 900)
    let seconds = Date().timeIntervalSince(started)
    let errors = result.output.split(separator: "\n").filter { $0.contains("error:") }
    print("codegen build: \(units.count) IDL files compiled (\(omni.count - failedToParse.count) of \(omni.count) omniORB), \(generatedCount) Swift files generated in \(groups.count) targets, \(warnings) generator warnings; swift build \(result.status == 0 ? "succeeded" : "FAILED") in \(Int(seconds)) s")
    #expect(result.status == 0, "swift build of the generated code failed:\n\(errors.prefix(40).joined(separator: "\n"))")
  }
}

enum SwiftNamesForTests {
  static func literal(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
}
