import CourierCodeGen
import CourierIDL
import Foundation
import Testing

/// Stubs pass the IDL's declared invocation semantics (`#pragma courier semantics`/`idempotent`)
/// to `invoke(…, declared:)`; undeclared operations generate what they always did.
@Suite("generated Swift: declared invocation semantics")
struct SemanticsCodeGenTests {
  static let idl = """
    module Demo {
      exception InsufficientFunds { long long available; };
      interface Bank {
        void transfer(in string from, in string to, in long long amount) raises (InsufficientFunds);
        long long balance(in string account);
        void deposit(in string account, in long long amount);
        oneway void audit(in string note);
      };
    };
    #pragma courier semantics Demo::Bank::transfer at-most-once
    #pragma courier idempotent Demo::Bank::balance
    #pragma courier semantics Demo::Bank::audit maybe

    """

  /// The generated lines that call `operation` (the async and the blocking stub's).
  static func invokeLines(_ source: String, _ operation: String) -> [Substring] {
    source.split(separator: "\n").filter { $0.contains("self.reference.invoke(\"\(operation)\"") }
  }

  @Test func declaredOperationsPassTheirSemantics() throws {
    let s = try generate(Self.idl).source
    let transfer = Self.invokeLines(s, "transfer")
    #expect(transfer.count == 2)
    for line in transfer {
      #expect(line.contains("options: options, declared: .atMostOnce) { _w in"), "\(line)")
    }
    let balance = Self.invokeLines(s, "balance")
    #expect(balance.count == 2)
    for line in balance { #expect(line.contains("declared: .atLeastOnce)"), "\(line)") }
  }

  @Test func undeclaredOperationsAreUnchanged() throws {
    let s = try generate(Self.idl).source
    let deposit = Self.invokeLines(s, "deposit")
    #expect(deposit.count == 2)
    for line in deposit {
      #expect(!line.contains("declared:"), "\(line)")
      #expect(line.contains("options: options) { _w in"), "\(line)")
    }
    // A oneway call has no semantics to pass (maybe is all it can be).
    #expect(s.contains("try self.reference.invokeOneway(\"audit\") { _w in"))
    // The same IDL without pragmas generates the same stubs, apart from the declared ones.
    let plain = try generate(Self.idl.split(separator: "\n").filter { !$0.hasPrefix("#pragma") }.joined(separator: "\n")).source
    #expect(!plain.contains("declared:"))
    #expect(!plain.contains("operationSemantics"))
    #expect(Self.invokeLines(plain, "deposit") == Self.invokeLines(s, "deposit"))
  }

  @Test func operationSemanticsTable() throws {
    let s = try generate(Self.idl).source
    #expect(s.contains("""
        public static let operationSemantics: [String: InvocationSemantics] = [
          "transfer": .atMostOnce,
          "balance": .atLeastOnce,
        ]
      """))
    #expect(s.contains("public static var operationSemantics: [String: InvocationSemantics] { Demo_Bank.operationSemantics }"))
  }

  @Test func derivedInterfacesInheritTheDeclaration() throws {
    let s = try generate("""
      interface Base { void run(); };
      interface Derived : Base { void other(); };
      #pragma courier semantics Base::run at-most-once

      """).source
    // Base's stubs and Derived's (which call Base's operations too) both pass it.
    #expect(Self.invokeLines(s, "run").count == 4)
    for line in Self.invokeLines(s, "run") { #expect(line.contains("declared: .atMostOnce)")) }
    for line in Self.invokeLines(s, "other") { #expect(!line.contains("declared:")) }
  }
}
