import CourierSwiftExport
import Testing

@Suite struct OperationNamingTests {
  @Test(arguments: [
    ("greet", ["name", "times"], "greet_name_times", "greet(name:times:)"),
    ("area", [], "area", "area()"),
    ("add", [nil, nil], "add", "add(_:_:)"),
    ("describe", [nil, "with"], "describe_with", "describe(_:with:)"),
    ("move", ["to"], "move_to", "move(to:)"),
    ("f", ["_", "x"], "f_x", "f(_:x:)"),
  ] as [(String, [String?], String, String)])
  func ruleAndSelector(base: String, labels: [String?], wire: String, selector: String) {
    #expect(OperationNaming.wireName(baseName: base, labels: labels) == wire)
    #expect(OperationNaming.selector(baseName: base, labels: labels) == selector)
  }

  @Test func pinnedNameWins() {
    let pins = ["greet(name:times:)": "hello"]
    #expect(OperationNaming.wireName(baseName: "greet", labels: ["name", "times"], pinned: pins) == "hello")
    #expect(OperationNaming.wireName(baseName: "greet", labels: ["name"], pinned: pins) == "greet_name")
  }

  /// The external label counts, not the internal parameter name.
  @Test func exportUsesExternalLabels() throws {
    let idl = try export("""
      distributed actor Robot {
        distributed func move(to point: Int32, _ speed: Int32) {}
      }
      """)
    #expect(idl.contains("void move_to(in long point, in long speed);  // move(to:_:)"))
  }

  @Test func pinsFromStaticLetAndComputedVarInExtensions() throws {
    let idl = try export("""
      distributed actor Greeter {
        distributed func greet(name: String, times: Int32) -> String { "" }
        distributed func wave() {}
        static let courierOperationNames: [String: String] = ["greet(name:times:)": "hello"]
      }
      @Resolvable protocol Counter: DistributedActor {
        distributed func add(_ n: Int32)
      }
      extension Counter {
        static var courierOperationNames: [String: String] { ["add(_:)": "increment"] }
      }
      """)
    #expect(idl.contains("string hello(in string name, in long times);  // greet(name:times:)"))
    #expect(idl.contains("void wave();  // wave()"))
    #expect(idl.contains("void increment(in long n);  // add(_:)"))
  }

  @Test func samWireNameIsAnErrorNamingBothSelectors() {
    let d = exportDiagnostics("""
      distributed actor Calc {
        distributed func add(_ a: Int32, _ b: Int32) -> Int32 { 0 }
        distributed func add(_ a: Double) -> Double { 0 }
      }
      """)
    #expect(d.count == 1)
    #expect(d.first?.hasPrefix("t.swift:3:20: error: 'add(_:_:)' and 'add(_:)' have the same wire name 'add' in interface Calc") == true)
    #expect(d.first?.contains("courierOperationNames") == true)
  }

  @Test func pinningResolvesTheClash() throws {
    let idl = try export("""
      distributed actor Calc {
        distributed func add(_ a: Int32, _ b: Int32) -> Int32 { 0 }
        distributed func add(_ a: Double) -> Double { 0 }
        static let courierOperationNames = ["add(_:)": "addDouble"]
      }
      """)
    #expect(idl.contains("long add(in long a, in long b);"))
    #expect(idl.contains("double addDouble(in double a);"))
  }

  @Test func namesDifferingOnlyInCaseAreAnError() {
    let d = exportDiagnostics("""
      distributed actor Calc {
        distributed func getX() -> Int32 { 0 }
        distributed func getx() -> Int32 { 0 }
      }
      """)
    #expect(d.count == 1)
    #expect(d.first?.hasPrefix("t.swift:3:20: error: 'getX()' and 'getx()' have wire names 'getX' and 'getx'") == true)
  }

  @Test func unusedPinIsAWarning() throws {
    let d = exportDiagnostics("""
      distributed actor Calc {
        distributed func add(_ a: Int32) {}
        static let courierOperationNames = ["sub(_:)": "minus"]
      }
      """)
    #expect(d == ["t.swift:3:14: warning: courierOperationNames pins 'sub(_:)', which is no distributed func of Calc"])
  }
}
