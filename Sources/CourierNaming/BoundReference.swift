import CourierCore
public import CourierGIOP
import Synchronization

/// A client's side of dynamic binding: a stub for "a server of `name`, version in
/// `versions`", found through the binder and found again when its server dies.
///
/// ```swift
/// let echo = BoundReference(binder: binder, name: "Echo", versions: .compatible(with: .init(major: 1, minor: 0)),
///                           make: Bench_Echo.Blocking.init)
/// let sum = try echo.call { try $0.add(a: 2, b: 40) }   // binds on the first call
/// ```
///
/// Binding is implicit (the first ``call(idempotent:_:)`` or ``stub`` asks the binder) unless
/// ``bind()`` is called first (explicit binding). When a call fails because its server cannot
/// be reached, the reference reports the server to the binder, binds again and repeats the
/// call, up to ``maxAttempts`` times. It repeats only calls that certainly did not run
/// (`TRANSIENT` or `OBJECT_NOT_EXIST` with `COMPLETED_NO`), unless the call is declared
/// idempotent: then also after `COMM_FAILURE` and `TIMEOUT`, whose completion is unknown.
public final class BoundReference<Stub: Sendable>: Sendable {
  /// The name bound.
  public let name: String
  /// The versions the client accepts.
  public let versions: CourierBinding_VersionRange
  /// How many servers one call tries before it gives up.
  public let maxAttempts: Int
  let binder: CourierBinding_Binder.Blocking
  let make: @Sendable (ObjectReference) -> Stub
  let bound = Mutex<(binding: CourierBinding_Binding, stub: Stub)?>(nil)

  /// - Parameters:
  ///   - binder: the binder (its reference may carry a ``Credential`` in its call options).
  ///   - make: the stub for a server's reference (`Bench_Echo.Blocking.init`, `….Client.init`).
  public init(binder: CourierBinding_Binder.Blocking, name: String, versions: CourierBinding_VersionRange = .any,
              maxAttempts: Int = 4, make: @escaping @Sendable (ObjectReference) -> Stub) {
    self.binder = binder
    self.name = name
    self.versions = versions
    self.maxAttempts = max(1, maxAttempts)
    self.make = make
  }

  /// Asks the binder for a server now (explicit binding), replacing any current one.
  /// - Throws: the binder's `NoServer`, `VersionMismatch` or `AccessDenied`, or a system exception.
  @discardableResult
  public func bind() throws -> Stub {
    let binding = try binder.lookup(name: name, versions: versions)
    guard let server = binding.server else {
      throw RPCError(.invObjref, minor: 0, completion: .no, "the binder returned a nil reference for \(name)")
    }
    let stub = make(server)
    bound.withLock { $0 = (binding, stub) }
    return stub
  }

  /// The bound stub, binding first if nothing is bound (implicit binding).
  public var stub: Stub {
    get throws {
      if let current = bound.withLock({ $0?.stub }) { return current }
      return try bind()
    }
  }

  /// The binder's answer currently in use (nil before the first binding).
  public var binding: CourierBinding_Binding? { bound.withLock { $0?.binding } }

  /// Calls `body` on the bound server; rebinds and repeats after a failure that allows it.
  public func call<R>(idempotent: Bool = false, _ body: (Stub) throws -> R) throws -> R {
    var attempt = 1
    while true {
      let stub = try self.stub
      do {
        return try body(stub)
      } catch let error as RPCError where attempt < maxAttempts && Self.mayRepeat(error, idempotent: idempotent) {
        attempt += 1
        serverFailed()
      }
    }
  }

  /// The async form of ``call(idempotent:_:)``.
  public func call<R>(idempotent: Bool = false, _ body: (Stub) async throws -> R) async throws -> R {
    var attempt = 1
    while true {
      let stub = try self.stub
      do {
        return try await body(stub)
      } catch let error as RPCError where attempt < maxAttempts && Self.mayRepeat(error, idempotent: idempotent) {
        attempt += 1
        serverFailed()
      }
    }
  }

  /// Forgets the current server and tells the binder it failed.
  func serverFailed() {
    guard let failed = bound.withLock({ b -> CourierBinding_Binding? in defer { b = nil }; return b?.binding }) else { return }
    try? binder.report_failure(id: failed.id)
  }

  /// Whether a call that failed with `error` may be sent to another server: when it did not
  /// run, or when it may have run and running it twice is harmless.
  static func mayRepeat(_ error: RPCError, idempotent: Bool) -> Bool {
    switch error.failure {
    case .cannotLocateServer, .requestLost: true
    case .serverCrashed, .timedOut, .replyLost: idempotent
    case .clientCrashed, .notACommunicationFailure: false
    }
  }
}
