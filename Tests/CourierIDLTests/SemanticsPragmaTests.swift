import Testing
@testable import CourierIDL

/// `#pragma courier semantics` and `#pragma courier idempotent`: the operation's declared
/// invocation semantics in the model, and a diagnostic at the offending token for each mistake.
@Suite struct SemanticsPragmaTests {
  static let bank = """
    module Demo {
      exception InsufficientFunds { long long available; };
      interface Bank {
        void transfer(in string from, in string to, in long long amount) raises (InsufficientFunds);
        long long balance(in string account);
        void deposit(in string account, in long long amount);
        oneway void audit(in string note);
        readonly attribute string name;
      };
    };

    """

  /// The operation `name` of interface `interface` in `model`.
  static func operation(_ model: InterfaceModel, _ interface: String, _ name: String) throws -> Operation {
    guard case .interface(let i)? = model[interface] else { throw IDLTestSupport.Failure(description: "no interface \(interface)") }
    guard let op = i.operations.first(where: { $0.name == name }) else { throw IDLTestSupport.Failure(description: "no operation \(name)") }
    return op
  }

  @Test func semanticsPragmaAtTopLevel() throws {
    let model = try compile(Self.bank + "#pragma courier semantics Demo::Bank::transfer at-most-once\n")
    let transfer = try Self.operation(model, "Demo::Bank", "transfer")
    #expect(transfer.semantics == .atMostOnce)
    #expect(!transfer.idempotent)
    let deposit = try Self.operation(model, "Demo::Bank", "deposit")
    #expect(deposit.semantics == nil)
    #expect(!deposit.idempotent)
    #expect(model.warnings.isEmpty)
  }

  @Test func everySemanticsWord() throws {
    let words: [(String, OperationSemantics)] = [
      ("maybe", .maybe), ("at-least-once", .atLeastOnce), ("at-most-once", .atMostOnce), ("exactly-once", .exactlyOnce),
      ("at_least_once", .atLeastOnce), ("at_most_once", .atMostOnce), ("exactly_once", .exactlyOnce),
    ]
    for (word, expected) in words {
      let model = try compile(Self.bank + "#pragma courier semantics ::Demo::Bank::deposit \(word)\n")
      #expect(try Self.operation(model, "Demo::Bank", "deposit").semantics == expected, "\(word)")
    }
  }

  @Test func namesResolveRelativeToTheScope() throws {
    let source = """
      module Demo {
        interface Bank {
          void transfer(in long long amount);
          long long balance();
          #pragma courier semantics transfer exactly-once
        };
        #pragma courier idempotent Bank::balance
      };

      """
    let model = try compile(source)
    #expect(try Self.operation(model, "Demo::Bank", "transfer").semantics == .exactlyOnce)
    let balance = try Self.operation(model, "Demo::Bank", "balance")
    #expect(balance.semantics == .atLeastOnce)
    #expect(balance.idempotent)
  }

  @Test func idempotentIsAtLeastOnce() throws {
    let model = try compile(Self.bank + "#pragma courier idempotent Demo::Bank::balance\n")
    let balance = try Self.operation(model, "Demo::Bank", "balance")
    #expect(balance.idempotent)
    #expect(balance.semantics == .atLeastOnce)
  }

  @Test func anExplicitSemanticsWinsOverIdempotent() throws {
    for order in [["idempotent Demo::Bank::balance", "semantics Demo::Bank::balance at-most-once"],
                  ["semantics Demo::Bank::balance at-most-once", "idempotent Demo::Bank::balance"]] {
      let model = try compile(Self.bank + order.map { "#pragma courier \($0)\n" }.joined())
      let balance = try Self.operation(model, "Demo::Bank", "balance")
      #expect(balance.idempotent)
      #expect(balance.semantics == .atMostOnce)
      #expect(model.warnings.isEmpty)
    }
  }

  @Test func repeatingTheSameDeclarationIsFine() throws {
    let model = try compile(Self.bank + """
      #pragma courier semantics Demo::Bank::transfer at-most-once
      #pragma courier semantics Demo::Bank::transfer at_most_once
      #pragma courier idempotent Demo::Bank::balance
      #pragma courier idempotent Demo::Bank::balance

      """)
    #expect(try Self.operation(model, "Demo::Bank", "transfer").semantics == .atMostOnce)
    #expect(try Self.operation(model, "Demo::Bank", "balance").semantics == .atLeastOnce)
  }

  @Test func onewayMayDeclareMaybe() throws {
    let model = try compile(Self.bank + "#pragma courier semantics Demo::Bank::audit maybe\n")
    #expect(try Self.operation(model, "Demo::Bank", "audit").semantics == .maybe)
  }

  @Test func otherPragmasAreStillIgnored() throws {
    let model = try compile(Self.bank + "#pragma omniorb anything goes\n#pragma courierx semantics Demo::Bank::transfer nonsense\n")
    #expect(model.warnings.isEmpty)
  }

  @Test func pragmasInInactiveConditionalsAreSkipped() throws {
    let model = try compile(Self.bank + "#if 0\n#pragma courier semantics Demo::Bank::transfer sometimes\n#endif\n")
    #expect(try Self.operation(model, "Demo::Bank", "transfer").semantics == nil)
  }

  // MARK: Diagnostics (the bank is 10 lines: the first pragma is on line 11)

  @Test func unknownCourierPragmaIsAWarning() throws {
    let model = try compile(Self.bank + "#pragma courier retries Demo::Bank::transfer 3\n")
    #expect(model.warnings.map(\.description)
      == ["t.idl:11:17: warning: unknown pragma '#pragma courier retries' is ignored (known: semantics, idempotent)"])
  }

  @Test func unknownName() {
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::withdraw at-most-once\n")
      == ["t.idl:11:27: error: unknown name 'Demo::Bank::withdraw' in '#pragma courier semantics'"])
    #expect(diagnostics(Self.bank + "#pragma courier idempotent Bank::balance\n")
      == ["t.idl:11:28: error: unknown name 'Bank::balance' in '#pragma courier idempotent'"])
  }

  @Test func notAnOperation() {
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::name at-most-once\n")
      == ["t.idl:11:27: error: 'Demo::Bank::name' is an attribute, not an operation ('#pragma courier semantics' applies to interface operations)"])
    #expect(diagnostics(Self.bank + "#pragma courier idempotent Demo::Bank\n")
      == ["t.idl:11:28: error: 'Demo::Bank' is an interface, not an operation ('#pragma courier idempotent' applies to interface operations)"])
    #expect(diagnostics(Self.bank + "#pragma courier idempotent Demo::InsufficientFunds\n")
      == ["t.idl:11:28: error: 'Demo::InsufficientFunds' is an exception, not an operation ('#pragma courier idempotent' applies to interface operations)"])
  }

  @Test func valueTypeOperationIsNotAnInterfaceOperation() {
    let source = "valuetype V { long f(); };\n#pragma courier idempotent V::f\n"
    #expect(diagnostics(source)
      == ["t.idl:2:28: error: 'V::f' is not an operation of an interface ('#pragma courier idempotent' applies to interface operations)"])
  }

  @Test func unknownSemanticsWord() {
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::transfer at-most-twice\n")
      == ["t.idl:11:48: error: unknown invocation semantics 'at-most-twice' in '#pragma courier semantics' (expected maybe, at-least-once, at-most-once or exactly-once)"])
  }

  @Test func missingOrExtraArguments() {
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::transfer\n")
      == ["t.idl:11:39: error: '#pragma courier semantics' expects maybe, at-least-once, at-most-once or exactly-once after the operation name"])
    #expect(diagnostics(Self.bank + "#pragma courier semantics\n")
      == ["t.idl:11:17: error: '#pragma courier semantics' expects an operation name and maybe, at-least-once, at-most-once or exactly-once"])
    #expect(diagnostics(Self.bank + "#pragma courier idempotent Demo::Bank::balance twice\n")
      == ["t.idl:11:48: error: '#pragma courier idempotent' expects only an operation name, found 'twice'"])
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::transfer at-most-once please\n")
      == ["t.idl:11:61: error: unexpected 'please' after the semantics in '#pragma courier semantics'"])
  }

  @Test func conflictingDeclarations() {
    let source = Self.bank + """
      #pragma courier semantics Demo::Bank::transfer at-most-once
      #pragma courier semantics Demo::Bank::transfer at-least-once

      """
    #expect(diagnostics(source)
      == ["t.idl:12:48: error: conflicting semantics for 'Demo::Bank::transfer': at-least-once here, at-most-once declared at t.idl:11:48"])
  }

  @Test func onewayWithRetryingSemantics() {
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::audit at-most-once\n")
      == ["t.idl:11:45: error: oneway operation 'Demo::Bank::audit' cannot be at-most-once: a oneway call has no reply to retry on"])
    #expect(diagnostics(Self.bank + "#pragma courier semantics Demo::Bank::audit at-least-once\n")
      == ["t.idl:11:45: error: oneway operation 'Demo::Bank::audit' cannot be at-least-once: a oneway call has no reply to retry on"])
    #expect(diagnostics(Self.bank + "#pragma courier idempotent Demo::Bank::audit\n")
      == ["t.idl:11:28: error: oneway operation 'Demo::Bank::audit' cannot be idempotent (at-least-once): a oneway call has no reply to retry on"])
  }
}
