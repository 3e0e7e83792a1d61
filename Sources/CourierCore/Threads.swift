#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body` on a new detached OS thread.
///
/// Courier's protocol engines block in system calls (thread per connection, as omniORB
/// does), so they run on their own threads rather than on Swift's cooperative pool.
public func spawnThread(name: String, _ body: @escaping @Sendable () -> Void) {
  final class Box: @unchecked Sendable {  // handed to exactly one thread, read once
    let body: @Sendable () -> Void
    let name: String
    init(_ body: @escaping @Sendable () -> Void, _ name: String) {
      self.body = body
      self.name = name
    }
  }
  let box = Unmanaged.passRetained(Box(body, name)).toOpaque()
  var attr = pthread_attr_t()
  pthread_attr_init(&attr)
  pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
  var thread = pthread_t()
  let rc = pthread_create(&thread, &attr, { raw in
    let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
    box.body()
    return nil
  }, box)
  pthread_attr_destroy(&attr)
  precondition(rc == 0, "pthread_create failed: \(rc)")
}

/// A mutex with a condition variable, for threads that block until something happens.
///
/// `@unchecked Sendable`: the pthread objects are heap-allocated once and only touched
/// through pthread calls, which synchronise themselves.
public final class ConditionLock: @unchecked Sendable {
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let cond: UnsafeMutablePointer<pthread_cond_t>

  public init() {
    mutex = .allocate(capacity: 1)
    cond = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    var attr = pthread_condattr_t()
    pthread_condattr_init(&attr)
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
    pthread_cond_init(cond, &attr)
    pthread_condattr_destroy(&attr)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    cond.deallocate()
  }

  public func lock() { pthread_mutex_lock(mutex) }
  public func unlock() { pthread_mutex_unlock(mutex) }

  /// Runs `body` with the mutex held.
  public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body()
  }

  /// Wakes every waiting thread. Call with or without the mutex held.
  public func broadcast() { pthread_cond_broadcast(cond) }
  /// Wakes one waiting thread.
  public func signal() { pthread_cond_signal(cond) }

  /// Waits (mutex held) until signalled or until `deadline`; returns false on timeout.
  @discardableResult
  public func wait(until deadline: ContinuousClock.Instant?) -> Bool {
    guard let deadline else {
      pthread_cond_wait(cond, mutex)
      return true
    }
    let remaining = ContinuousClock.now.duration(to: deadline)
    if remaining <= .zero { return false }
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let (secs, attos) = remaining.components
    var ns = Int(now.tv_nsec) + Int(attos / 1_000_000_000)
    var s = Int(now.tv_sec) + Int(secs)
    if ns >= 1_000_000_000 { s += 1; ns -= 1_000_000_000 }
    var ts = timespec(tv_sec: s, tv_nsec: ns)
    return pthread_cond_timedwait(cond, mutex, &ts) != ETIMEDOUT
  }
}
