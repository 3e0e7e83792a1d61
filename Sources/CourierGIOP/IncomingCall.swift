import CourierCore
#if canImport(Glibc)
import Glibc
#endif

/// What a servant can learn about the request it is serving, beyond its arguments: the
/// service contexts the client sent (a credential), the request's deadline, and whether the
/// call was cancelled (``isCancelled``: the deadline passed, or the server killed it as an orphan).
///
/// ```swift
/// func lookup(name: String) throws -> ObjectReference? {
///   let who = IncomingCall.serviceContext(id: Credential.serviceContextID)
///   …
/// }
/// ```
///
/// The GIOP server sets them in a thread-local slot around the servant's (synchronous)
/// dispatch, without allocating, and calls the servant makes from that thread inherit the
/// deadline. Work the servant hands to other threads or tasks does not see them: read what
/// it needs first and pass it on.
public enum IncomingCall {
  /// The service contexts of the request being served on this thread; empty outside a
  /// dispatch or when the request had none. (The deadline's INVOCATION_POLICIES context is
  /// not among them: see ``deadline``.)
  public static var serviceContexts: [ServiceContext] { CurrentCall.peek?.contexts ?? [] }

  /// The first service context with `id`, if the request carried one.
  public static func serviceContext(id: UInt32) -> ServiceContext? {
    CurrentCall.peek?.contexts.first { $0.id == id }
  }

  /// Runs `body` as if serving a request that carried `contexts` (for servants called in
  /// process, and for tests).
  public static func with<R>(serviceContexts: [ServiceContext], _ body: () throws -> R) rethrows -> R {
    try CurrentCall.with(contexts: serviceContexts, endTime: CurrentCall.peek?.endTime, running: CurrentCall.peek?.running, body)
  }
}

/// The thread-local slot behind ``IncomingCall``: one object per thread, reused.
final class CurrentCall {
  var contexts: [ServiceContext] = []
  /// The request's end time (TimeBase::TimeT), if it has one.
  var endTime: UInt64?
  /// The request's entry in the server's orphan registry, if it carried the orphan context.
  var running: OrphanMonitor.RunningCall?
  /// The connection this (server) thread serves, set once per connection thread when the
  /// server tracks orphans: where an orphan's owner is looked for.
  var connection: (any ByteStream)?

  static let key: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { pointer in
      if let pointer { Unmanaged<CurrentCall>.fromOpaque(pointer).release() }
    }
    return key
  }()

  /// This thread's slot, if it was ever used.
  static var peek: CurrentCall? {
    pthread_getspecific(key).map { Unmanaged<CurrentCall>.fromOpaque($0).takeUnretainedValue() }
  }

  /// This thread's slot, made on first use.
  static var mine: CurrentCall {
    if let existing = peek { return existing }
    let made = CurrentCall()
    pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
    return made
  }

  /// Runs `body` with the slot set, then puts back what was there (calls nest).
  static func with<R>(contexts: [ServiceContext], endTime: UInt64?, running: OrphanMonitor.RunningCall? = nil,
                      _ body: () throws -> R) rethrows -> R {
    let slot = mine
    let saved = (slot.contexts, slot.endTime, slot.running)
    slot.contexts = contexts
    slot.endTime = endTime
    slot.running = running
    defer {
      slot.contexts = saved.0
      slot.endTime = saved.1
      slot.running = saved.2
    }
    return try body()
  }
}
