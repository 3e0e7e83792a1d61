import CourierSwiftExport
import Foundation
import Testing

/// Each unsupported construct gives one error, at the line and column of the offending syntax.
@Suite struct DiagnosticTests {
  @Test(arguments: [
    ("distributed func f(_ d: Date) {}", "2:27: error: unknown type 'Date'"),
    ("distributed func f() -> [String: Int32] { [:] }", "2:27: error: dictionary '[String: Int32]' has no positional CDR form"),
    ("distributed func f(s: Set<Int32>) {}", "2:25: error: 'Set<Int32>': sets have no positional CDR form"),
    ("distributed func f(s: Dictionary<String, Int32>) {}", "2:25: error: 'Dictionary<String, Int32>': dictionaries"),
    ("distributed func f(t: (Int32, Int32)) {}", "2:25: error: tuple '(Int32, Int32)' cannot be exported"),
    ("distributed func f(c: @escaping @Sendable () -> Void) {}", "2:25: error: '@escaping @Sendable () -> Void': attributed types"),
    ("distributed func f(c: () -> Void) {}", "2:25: error: closure '() -> Void' cannot be sent"),
    ("distributed func f<T: Codable>(_ t: T) {}", "2:21: error: generic distributed func 'f(_:)' cannot be exported"),
    ("distributed func f(x: inout Int32) {}", "2:25: error: inout parameter 'inout Int32'"),
    ("distributed func f(xs: Int32...) {}", "2:22: error: variadic parameter 'xs' of 'f(xs:)' cannot be exported; use an array"),
    ("distributed func f(x: Int32??) {}", "2:25: error: nested optional 'Int32??'"),
    ("distributed func f(x: some Codable) {}", "2:25: error: 'some Codable': generic and existential types"),
    ("distributed func f(x: Plain) {}", "2:25: error: struct 'Plain' is not Codable"),
    ("distributed func f(x: Choice) {}", "2:25: error: enum 'Choice' has cases with associated values"),
    ("distributed func f(x: Box<Int32>) {}", "2:25: error: generic type 'Box<Int32>' cannot be exported"),
  ] as [(String, String)])
  func unsupported(member: String, expected: String) {
    let source = """
      distributed actor A {
        \(member)
      }
      struct Plain { var x: Int32 }
      enum Choice: Codable { case one(Int32), two }
      struct Box<T: Codable>: Codable { var t: T }
      """
    let d = exportDiagnostics(source).filter { $0.contains("error:") }
    #expect(d.count == 1, "\(d)")
    #expect(d.first?.hasPrefix("t.swift:" + expected) == true, "\(d)")
  }

  /// Used, it is an error where it is used; unused, a warning at the first such case.
  @Test func enumWithAssociatedValues() {
    let source = """
      enum Choice: Codable {
        case one(Int32), two
      }
      distributed actor A { distributed func f(x: Choice) {} }
      """
    #expect(exportDiagnostics(source) == ["t.swift:4:45: error: enum 'Choice' has cases with associated values, which the Codable bridge cannot write"])
    let unused = exportDiagnostics(source.replacingOccurrences(of: "f(x: Choice)", with: "f()"))
    #expect(unused.count == 1)
    #expect(unused.first?.hasPrefix("t.swift:1:6: warning: 'Choice' is not exported (no distributed func uses it): enum 'Choice' has cases") == true, "\(unused)")
  }

  @Test func recursiveStructs() {
    let d = exportDiagnostics("""
      struct Node: Codable {
        var children: [Node]
      }
      distributed actor A { distributed func tree() -> Node { fatalError() } }
      """)
    #expect(d.count == 1)
    #expect(d.first?.hasPrefix("t.swift:1:8: error: recursive types (Node → [Node] → Node) cannot be exported") == true, "\(d)")
  }

  @Test func constantWithInitialValue() {
    let d = exportDiagnostics("""
      struct S: Codable {
        var a: Int32
        let version: Int32 = 1
      }
      distributed actor A { distributed func s() -> S { fatalError() } }
      """)
    #expect(d == ["t.swift:3:7: error: 'let version' has an initial value: synthesized Codable writes it but never reads it back; make it 'var'"])
  }

  @Test func customCodable() {
    let d = exportDiagnostics("""
      struct S: Codable {
        var a: Int32
        func encode(to encoder: any Encoder) throws {}
      }
      distributed actor A { distributed func s() -> S { fatalError() } }
      """)
    #expect(d.count == 1)
    #expect(d.first?.hasPrefix("t.swift:3:3: error: 'S' implements encode(to:) or init(from:) itself") == true, "\(d)")
  }

  @Test func typeNestedInAnActor() {
    let d = exportDiagnostics("""
      distributed actor A {
        struct State: Codable { var x: Int32 }
        distributed func s() -> State { fatalError() }
      }
      """)
    #expect(d.count == 1)
    #expect(d.first?.hasPrefix("t.swift:2:10: error: 'A.State' is nested in distributed actor 'A'") == true, "\(d)")
  }

  @Test func severalErrorsInSourceOrder() {
    let d = exportDiagnostics("""
      distributed actor A {
        distributed func f(_ d: Date) {}
        distributed func g(_ u: URL) {}
      }
      """)
    #expect(d.map { String($0.prefix(10)) } == ["t.swift:2:", "t.swift:3:"])
  }

  @Test func operationNamedLikeItsInterface() {
    let d = exportDiagnostics("distributed actor Ping {\n  distributed func ping() {}\n}")
    #expect(d.first?.hasPrefix("t.swift:2:20: error: wire name 'ping' of 'ping()' is the interface's own name") == true, "\(d)")
  }
}
