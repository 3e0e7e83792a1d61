#if canImport(Glibc)
import Glibc
#endif

/// A client's transport address as a server sees it, in a form cheap to hash and compare
/// (no allocation): the IP address in 128 bits (IPv4 in the low 32) and the port.
public struct ONCPeerAddress: Hashable, Sendable, CustomStringConvertible {
  public var family: UInt16
  public var high: UInt64
  public var low: UInt64
  public var port: UInt16

  public init(family: UInt16, high: UInt64, low: UInt64, port: UInt16) {
    self.family = family
    self.high = high
    self.low = low
    self.port = port
  }

  /// An IPv4 address (host byte order) and port.
  public static func ipv4(_ address: UInt32, port: UInt16) -> ONCPeerAddress {
    ONCPeerAddress(family: 2, high: 0, low: UInt64(address), port: port)
  }

  public var description: String {
    if family == 2 {
      let a = UInt32(truncatingIfNeeded: low)
      return "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255):\(port)"
    }
    var groups: [String] = []
    for word in [high, low] {
      for shift in stride(from: 48, through: 0, by: -16) { groups.append(String(word >> UInt64(shift) & 0xFFFF, radix: 16)) }
    }
    return "[\(groups.joined(separator: ":"))]:\(port)"
  }
}

/// What identifies a request for duplicate detection: transaction id, client address,
/// program, version, procedure and a checksum of the argument bytes. A client that reuses an
/// xid for a different call (after a restart, or after 2³² calls) is told apart by the rest.
public struct DuplicateRequestKey: Hashable, Sendable {
  public var xid: UInt32
  public var client: ONCPeerAddress
  public var program: UInt32
  public var version: UInt32
  public var procedure: UInt32
  public var checksum: UInt64

  public init(xid: UInt32, client: ONCPeerAddress, program: UInt32, version: UInt32, procedure: UInt32, checksum: UInt64) {
    self.xid = xid
    self.client = client
    self.program = program
    self.version = version
    self.procedure = procedure
    self.checksum = checksum
  }

  /// FNV-1a (64 bits) of `bytes`, eight bytes at a time: the argument checksum.
  public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    let prime: UInt64 = 0x100_0000_01b3
    var i = 0
    let n = bytes.count
    while i + 8 <= n {
      h = (h ^ bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* prime
      i += 8
    }
    while i < n {
      h = (h ^ UInt64(bytes[i])) &* prime
      i += 1
    }
    return (h ^ UInt64(n)) &* prime
  }
}

/// The server's duplicate request cache: it makes calls over a datagram transport
/// at-most-once while their entry lives. A retransmission of a call that has finished gets the
/// reply that was sent (the procedure does not run again); one of a call still running is
/// dropped (the client will retransmit again, and get the reply then).
///
/// Bounded by entry count and by the bytes of replies kept; the oldest finished entries go
/// first, and entries older than ``lifetime`` are forgotten. The lifetime should exceed the
/// clients' total call timeout (25 s for libtirpc and Courier by default), so that a
/// retransmission never finds its entry gone.
public final class DuplicateRequestCache: @unchecked Sendable {
  // @unchecked: every field is touched only with `mutex` held.

  /// What to do with a request.
  public enum Lookup: Sendable, Equatable {
    /// Not seen (or forgotten): run it, then call ``finish(_:reply:)`` or ``abandon(_:)``.
    case new
    /// The same request is running now: drop this copy.
    case inProgress
    /// The request ran: send these reply bytes again.
    case replay([UInt8])
  }

  public let capacity: Int
  public let maximumBytes: Int
  public let lifetime: Duration

  private struct Entry {
    var reply: [UInt8]?
    var born: Int64  // CLOCK_MONOTONIC_COARSE, nanoseconds
  }
  private var entries: [DuplicateRequestKey: Entry] = [:]
  /// Keys in insertion order (a queue: `order[head...]` are live or stale positions).
  private var order: [DuplicateRequestKey] = []
  private var head = 0
  private var bytes = 0
  private var mutex = pthread_mutex_t()
  private let lifetimeNS: Int64

  /// Statistics, for tests and logs.
  public private(set) var replays = 0
  public private(set) var dropsInProgress = 0

  public init(capacity: Int = 4_096, maximumBytes: Int = 16 << 20, lifetime: Duration = .seconds(120)) {
    precondition(capacity > 0 && maximumBytes > 0)
    self.capacity = capacity
    self.maximumBytes = maximumBytes
    self.lifetime = lifetime
    let (s, a) = lifetime.components
    lifetimeNS = s * 1_000_000_000 + a / 1_000_000_000
    pthread_mutex_init(&mutex, nil)
  }

  deinit { pthread_mutex_destroy(&mutex) }

  private static func now() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
  }

  /// Looks `key` up, and records it as running when it is new.
  public func begin(_ key: DuplicateRequestKey) -> Lookup {
    let now = Self.now()
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    if let entry = entries[key] {
      if now - entry.born <= lifetimeNS {
        if let reply = entry.reply {
          replays += 1
          return .replay(reply)
        }
        dropsInProgress += 1
        return .inProgress
      }
      remove(key)
    }
    evict(now: now, making: 1)
    entries[key] = Entry(reply: nil, born: now)
    order.append(key)
    return .new
  }

  /// Keeps the reply sent for `key`.
  public func finish(_ key: DuplicateRequestKey, reply: [UInt8]) {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    guard entries[key] != nil else { return }
    if reply.count > maximumBytes { remove(key); return }
    entries[key]!.reply = reply
    bytes += reply.count
    evict(now: Self.now(), making: 0)
  }

  /// Forgets `key` (the request was not answered: a retransmission should run it).
  public func abandon(_ key: DuplicateRequestKey) {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    remove(key)
  }

  /// The number of entries (running and finished).
  public var count: Int {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return entries.count
  }

  private func remove(_ key: DuplicateRequestKey) {
    if let old = entries.removeValue(forKey: key) { bytes -= old.reply?.count ?? 0 }
  }

  /// Drops expired entries and the oldest ones until `making` more fit within the bounds.
  /// Entries still running are dropped last (only when everything else is gone).
  private func evict(now: Int64, making: Int) {
    while head < order.count {
      let key = order[head]
      guard let entry = entries[key] else { head += 1; continue }  // removed earlier
      let expired = now - entry.born > lifetimeNS
      let over = entries.count + making > capacity || bytes > maximumBytes
      if !expired && !over { break }
      remove(key)
      head += 1
    }
    if head > 1024 && head * 2 > order.count {
      order.removeFirst(head)
      head = 0
    }
  }
}
