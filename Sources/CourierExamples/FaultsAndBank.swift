import CourierCore
import CourierGIOP
import Synchronization

// Implementations of FaultsAndBank.idl's interfaces (stubs and skeletons generated at build
// time by CourierIDLPlugin; the IDL declares the operations' invocation semantics).

/// Faults::Counter: `increment` adds and returns the new value; `executions` counts the
/// `increment` calls the servant ran (retransmissions that ran again count too).
public final class CounterImplementation: Faults_Counter.Service {
  struct State {
    var value: Int64 = 0
    var executions: Int64 = 0
  }
  let state = Mutex(State())
  public init() {}

  public func increment(by: Int64) -> Int64 {
    state.withLock { s in
      s.executions += 1
      s.value &+= by
      return s.value
    }
  }
  public func value() -> Int64 { state.withLock { $0.value } }
  public func executions() -> Int64 { state.withLock { $0.executions } }
  public func reset() { state.withLock { $0 = State() } }
}

/// Demo::Bank with accounts in memory: an unknown account has balance 0; `transfer` throws
/// `Demo_InsufficientFunds` when the source account has less than the amount.
public final class InMemoryBank: Demo_Bank.Service {
  let accounts: Mutex<[String: Int64]>
  public init(balances: [String: Int64] = [:]) { accounts = Mutex(balances) }

  /// Sets an account's balance (for tests and demos).
  public func setBalance(_ account: String, _ amount: Int64) { accounts.withLock { $0[account] = amount } }

  /// Every account's balance.
  public var balances: [String: Int64] { accounts.withLock { $0 } }

  public func transfer(from: String, to: String, amount: Int64) throws {
    try accounts.withLock { a in
      let available = a[from, default: 0]
      guard available >= amount else { throw Demo_InsufficientFunds(available: available) }
      a[from] = available - amount
      a[to, default: 0] += amount
    }
  }
  public func balance(account: String) -> Int64 { accounts.withLock { $0[account, default: 0] } }
  public func deposit(account: String, amount: Int64) { accounts.withLock { $0[account, default: 0] += amount } }
}
