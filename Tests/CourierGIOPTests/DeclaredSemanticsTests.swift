import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import Testing

/// Semantics declared in IDL (FaultsAndBank.idl) reach the wire through the generated stubs:
/// an at-most-once operation carries an FT_REQUEST context (the server's `ReplyHistory` counts
/// it as an execution), an undeclared one does not, and call or reference options override the
/// declaration.
@Suite("Declared invocation semantics", .serialized)
struct DeclaredSemanticsTests {
  final class Running {
    let server: GIOPServer
    let orb = ORB(connector: TCPConnector())
    let bank = InMemoryBank(balances: ["alice": 100, "bob": 0])
    let counter = CounterImplementation()
    let history: ReplyHistory

    init() throws {
      let adapter = ObjectAdapter()
      adapter.activate(Demo_Bank.Servant(bank), key: "Bank")
      adapter.activate(Faults_Counter.Servant(counter), key: "Counter")
      var config = GIOPServer.Configuration()
      config.replyHistory = ReplyHistory()
      server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: 0), configuration: config)
      server.start()
      history = try #require(server.configuration.replyHistory as? ReplyHistory)
    }

    func reference(_ key: String) throws -> ObjectReference {
      try orb.object("corbaloc::127.0.0.1:\(server.port)/\(key)")
    }

    /// Calls that carried an FT_REQUEST context and ran.
    var filteredExecutions: Int { history.statistics.executions }

    func stop() {
      orb.shutdown()
      server.shutdown(timeout: .seconds(5))
    }
  }

  @Test func theGeneratedTableListsTheDeclaredOperations() {
    #expect(Demo_Bank.operationSemantics == ["transfer": .atMostOnce, "deposit": .atMostOnce, "balance": .atLeastOnce])
    #expect(Demo_Bank.Client.operationSemantics == Demo_Bank.operationSemantics)
    #expect(Faults_Counter.operationSemantics == ["value": .atLeastOnce, "executions": .atLeastOnce])
  }

  @Test func atMostOnceDeclaredOperationSendsAnFTRequestContext() throws {
    let r = try Running()
    defer { r.stop() }
    let bank = Demo_Bank.Blocking(try r.reference("Bank"))
    #expect(r.filteredExecutions == 0)
    try bank.transfer(from: "alice", to: "bob", amount: 30)
    #expect(r.filteredExecutions == 1)
    try bank.deposit(account: "bob", amount: 5)
    #expect(r.filteredExecutions == 2)
    // balance is idempotent (at-least-once): retried if need be, but no FT context.
    #expect(try bank.balance(account: "bob") == 35)
    #expect(try bank.balance(account: "alice") == 70)
    #expect(r.filteredExecutions == 2)
    #expect(r.bank.balances == ["alice": 70, "bob": 35])
  }

  @Test func userExceptionsComeThroughTheDeclaredSemantics() throws {
    let r = try Running()
    defer { r.stop() }
    let bank = Demo_Bank.Blocking(try r.reference("Bank"))
    do {
      try bank.transfer(from: "bob", to: "alice", amount: 1)
      Issue.record("transfer without funds succeeded")
    } catch let e as Demo_InsufficientFunds {
      #expect(e.available == 0)
    }
    #expect(r.filteredExecutions == 1)
    #expect(r.bank.balances == ["alice": 100, "bob": 0])
  }

  @Test func asyncStubPassesTheDeclarationToo() async throws {
    let r = try Running()
    defer { r.stop() }
    let bank = Demo_Bank.Client(try r.reference("Bank"))
    try await bank.transfer(from: "alice", to: "bob", amount: 10)
    #expect(r.filteredExecutions == 1)
    #expect(try await bank.balance(account: "bob") == 10)
    #expect(r.filteredExecutions == 1)
  }

  @Test func undeclaredOperationSendsNoFTRequestContext() throws {
    let r = try Running()
    defer { r.stop() }
    let counter = Faults_Counter.Blocking(try r.reference("Counter"))
    #expect(try counter.increment(by: 2) == 2)
    #expect(try counter.increment(by: 3) == 5)
    try counter.reset()
    #expect(try counter.increment(by: 1) == 1)
    #expect(try counter.value() == 1)
    #expect(try counter.executions() == 1)
    #expect(r.filteredExecutions == 0)
    // The ORB or the call can still choose at-most-once for it.
    #expect(try counter.increment(by: 1, options: CallOptions(semantics: .atMostOnce)) == 2)
    #expect(r.filteredExecutions == 1)
  }

  @Test func referenceOptionsOverrideTheDeclaration() throws {
    let r = try Running()
    defer { r.stop() }
    let maybe = Demo_Bank.Blocking(try r.reference("Bank").with(options: CallOptions(semantics: .maybe)))
    try maybe.transfer(from: "alice", to: "bob", amount: 30)
    try maybe.deposit(account: "bob", amount: 1)
    #expect(r.filteredExecutions == 0)
    #expect(r.bank.balances == ["alice": 70, "bob": 31])
    // Options whose semantics is nil leave the declaration in force.
    let asDeclared = Demo_Bank.Blocking(try r.reference("Bank").with(options: CallOptions(timeout: .seconds(10))))
    try asDeclared.transfer(from: "alice", to: "bob", amount: 1)
    #expect(r.filteredExecutions == 1)
  }

  @Test func callOptionsOverrideTheDeclaration() throws {
    let r = try Running()
    defer { r.stop() }
    let bank = Demo_Bank.Blocking(try r.reference("Bank"))
    try bank.transfer(from: "alice", to: "bob", amount: 1, options: CallOptions(semantics: .maybe))
    #expect(r.filteredExecutions == 0)
    try bank.transfer(from: "alice", to: "bob", amount: 1)
    #expect(r.filteredExecutions == 1)
  }
}
