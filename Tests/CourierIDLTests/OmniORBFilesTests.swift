import Testing
@testable import CourierIDL
#if canImport(Glibc)
import Glibc
#endif

/// Every IDL file of Debian's `omniorb-idl` package, compiled the way omniidl compiles them.
@Suite struct OmniORBFilesTests {
  static let root = "/usr/share/idl/omniORB"
  /// omniidl is run with `-I` of the directory and its COS subfolder, and defines `__OMNIIDL__`.
  static let options = IDLFrontEnd.Options(includePaths: [root, root + "/COS"], defines: ["__OMNIIDL__": "1"])

  @Test func debugDump() throws {
    let files = try IDLTestSupport.omniORBFiles()
    for file in files {
      do {
        _ = try IDLFrontEnd.compile(file: file, options: Self.options)
      } catch {
        print("== \(file)\n" + error.diagnostics.prefix(5).map(\.description).joined(separator: "\n"))
      }
    }
  }
}
