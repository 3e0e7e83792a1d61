import Testing
@testable import CourierIDL

/// The front end never crashes or hangs: truncated and mangled real files give diagnostics.
@Suite struct RobustnessTests {
  static let files = ["COS/CosNaming.idl", "COS/CosNotifyFilter.idl", "ir.idl", "poa.idl", "pollable.idl", "COS/CosCollection.idl"]

  /// Every prefix of several real files (in steps, plus the first 200 bytes one by one).
  @Test(arguments: files) func truncations(of name: String) throws {
    _ = try IDLTestSupport.omniORBFiles()
    let path = OmniORBFilesTests.root + "/" + name
    let bytes = try #require(SourceFiles.read(path))
    var lengths = Array(0..<min(200, bytes.count))
    lengths += stride(from: 200, to: bytes.count, by: 53)
    var failed = 0
    for length in lengths {
      let source = String(decoding: bytes[0..<length], as: UTF8.self)
      do {
        _ = try IDLFrontEnd.compile(source: source, fileName: path, options: OmniORBFilesTests.options)
      } catch {
        failed += 1
        #expect(!error.diagnostics.isEmpty)
        #expect(error.diagnostics.allSatisfy { $0.severity == .error && $0.location.line >= 1 && $0.location.column >= 1 })
      }
    }
    #expect(failed > 0)
  }

  /// Random byte changes (seeded, so repeatable).
  @Test func mutations() throws {
    _ = try IDLTestSupport.omniORBFiles()
    let path = OmniORBFilesTests.root + "/COS/CosNaming.idl"
    let original = try #require(SourceFiles.read(path))
    var generator = SplitMix(seed: 0x1D1)
    let alphabet = Array("{}()<>;:,=[]'\"/*\\#_-+~ \nabzAZ09.Ld".utf8)
    var rejected = 0
    for _ in 0..<300 {
      var bytes = original
      for _ in 0..<(1 + Int(generator.next() % 4)) {
        let at = Int(generator.next() % UInt64(bytes.count))
        switch generator.next() % 3 {
        case 0: bytes[at] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
        case 1: bytes.remove(at: at)
        default: bytes.insert(alphabet[Int(generator.next() % UInt64(alphabet.count))], at: at)
        }
      }
      do {
        _ = try IDLFrontEnd.compile(source: String(decoding: bytes, as: UTF8.self), fileName: path, options: OmniORBFilesTests.options)
      } catch {
        rejected += 1
        #expect(!error.diagnostics.isEmpty)
      }
    }
    #expect(rejected > 100)
  }
}

struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
