#if canImport(Glibc)
import Glibc
#endif

/// A value behind a reader-writer lock: lookups (most of a naming service's work) run side by
/// side; changes are exclusive. (A plain `Mutex` serialised every resolve, and under many
/// server threads its slow path dominated.)
final class ReadWriteLocked<Value: Sendable>: @unchecked Sendable {
  // @unchecked: `value` is only touched with `lock` held (shared for reads, exclusive for writes).
  private var value: Value
  private let lock: UnsafeMutablePointer<pthread_rwlock_t>

  init(_ value: Value) {
    self.value = value
    lock = .allocate(capacity: 1)
    lock.initialize(to: pthread_rwlock_t())
    pthread_rwlock_init(lock, nil)
  }

  deinit {
    pthread_rwlock_destroy(lock)
    lock.deallocate()
  }

  /// Reads under the shared lock.
  func read<R>(_ body: (Value) throws -> R) rethrows -> R {
    pthread_rwlock_rdlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return try body(value)
  }

  /// Changes under the exclusive lock.
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    pthread_rwlock_wrlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return try body(&value)
  }
}
