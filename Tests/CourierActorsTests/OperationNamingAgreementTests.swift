import CourierActors
import CourierSwiftExport
import Testing

/// The runtime derives wire names from demangled thunks; `courier-idl export` derives them from
/// Swift source. The two modules cannot share code (the exporter is not part of the runtime, the
/// runtime must not need swift-syntax), so the rule is written twice: these cases keep the two
/// copies in agreement.
@Suite("Operation naming: runtime and exporter agree")
struct OperationNamingAgreementTests {
  static let cases: [(String, [String?])] = [
    ("area", []), ("greet", ["name", "times"]), ("add", [nil, nil]), ("describe", [nil, "with"]),
    ("move", ["to"]), ("set", ["_"]), ("f", [nil, "a", nil, "b"]),
  ]

  @Test(arguments: 0..<cases.count)
  func wireNamesAndSelectorsAgree(index: Int) {
    let (base, labels) = Self.cases[index]
    #expect(CourierActors.OperationNaming.wireName(baseName: base, labels: labels)
            == CourierSwiftExport.OperationNaming.wireName(baseName: base, labels: labels))
    #expect(CourierActors.OperationNaming.selector(baseName: base, labels: labels)
            == CourierSwiftExport.OperationNaming.selector(baseName: base, labels: labels))
  }

  @Test func theRuntimeReadsLabelsFromDemangledThunks() {
    let parts = CourierActors.OperationNaming.parseThunk(
      demangled: "distributed thunk M.T.describe(_: Swift.Int, with: Swift.Optional<Swift.Dictionary<Swift.String, Swift.Int>>) async throws -> Swift.String")
    #expect(parts?.typeName == "M.T")
    #expect(parts?.baseName == "describe")
    #expect(parts?.labels == [nil, "with"])
    let bare = CourierActors.OperationNaming.parseThunk(demangled: "distributed thunk M.T.add(Swift.Int, Swift.Int) async throws -> Swift.Int")
    #expect(bare?.labels == [nil, nil])
    #expect(CourierActors.OperationNaming.parseThunk(demangled: "M.T.add(Swift.Int)") == nil)
  }
}
