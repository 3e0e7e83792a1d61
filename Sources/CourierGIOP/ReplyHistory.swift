public import CourierCore
public import CourierWire
import Synchronization

/// A service context whose data (a big-endian CDR encapsulation) the ORB writes in place,
/// without building a ``ServiceContext``.
protocol InPlaceContext {
  /// The encapsulation's size in bytes.
  var contextDataSize: Int { get }
  /// Writes the encapsulation into `buffer` (exactly ``contextDataSize`` bytes).
  func writeContextData(into buffer: UnsafeMutableRawBufferPointer)
}

/// Offsets in a big-endian encapsulation that starts with the byte-order flag and a string.
private enum EncapsulationLayout {
  /// Where the value after a string of `length` bytes (flag, padding, length, chars, NUL)
  /// aligned to `boundary` starts.
  static func afterString(_ length: Int, alignedTo boundary: Int) -> Int {
    let end = 8 + length + 1
    return (end + boundary - 1) & ~(boundary - 1)
  }

  /// Zeroes `buffer`, writes the flag (big endian) and the string; returns nothing.
  static func writeHeader(_ string: String, into buffer: UnsafeMutableRawBufferPointer) {
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    buffer[0] = 0  // big endian
    var count = 0
    var s = string
    s.withUTF8 { utf8 in
      count = utf8.count
      UnsafeMutableRawBufferPointer(rebasing: buffer[8..<(8 + utf8.count)]).copyMemory(from: UnsafeRawBufferPointer(utf8))
    }
    store(UInt32(count + 1), at: 4, in: buffer)
  }

  static func store<T: FixedWidthInteger>(_ value: T, at offset: Int, in buffer: UnsafeMutableRawBufferPointer) {
    buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
  }
}

/// FT-CORBA's `FT_REQUEST` service context (id 13): who is calling (`client_id`), which of
/// its requests this is (`retention_id`, the same on every retransmission) and until when the
/// server should keep the reply (`expiration_time`, a `TimeBase::TimeT`).
public struct FTRequestContext: Sendable, Hashable, InPlaceContext {
  /// `IOP::FT_REQUEST`.
  public static let serviceContextID: UInt32 = 13

  public var clientID: String
  public var retentionID: Int32
  /// 100 ns units since 1582-10-15 UTC.
  public var expirationTime: UInt64

  public init(clientID: String, retentionID: Int32, expirationTime: UInt64) {
    self.clientID = clientID
    self.retentionID = retentionID
    self.expirationTime = expirationTime
  }

  var contextDataSize: Int {
    let retention = EncapsulationLayout.afterString(clientID.utf8.count, alignedTo: 4)
    return ((retention + 4 + 7) & ~7) + 8
  }

  func writeContextData(into buffer: UnsafeMutableRawBufferPointer) {
    EncapsulationLayout.writeHeader(clientID, into: buffer)
    let retention = EncapsulationLayout.afterString(clientID.utf8.count, alignedTo: 4)
    EncapsulationLayout.store(retentionID, at: retention, in: buffer)
    EncapsulationLayout.store(expirationTime, at: (retention + 4 + 7) & ~7, in: buffer)
  }

  /// The context: an encapsulation of `FTRequestServiceContext` (big endian).
  public var serviceContext: ServiceContext {
    let size = contextDataSize
    return ServiceContext(id: Self.serviceContextID, data: [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
      writeContextData(into: UnsafeMutableRawBufferPointer(buffer))
      count = size
    })
  }

  /// Decodes the context; `MARSHAL` if malformed.
  public init(_ context: ServiceContext) throws {
    do {
      self = try Self.decode(context.data, start: 0, end: context.data.count)
    } catch {
      throw RPCError(marshal: error)
    }
  }

  /// Decodes the encapsulation in `bytes[start..<end]` where it lies.
  static func decode(_ bytes: [UInt8], start: Int, end: Int) throws(CDRError) -> FTRequestContext {
    guard start < end, end <= bytes.count else { throw CDRError(.truncated, "empty FT_REQUEST context") }
    var r = CDRReader(bytes, byteOrder: ByteOrder(flag: bytes[start]), position: start + 1, alignmentOrigin: start, end: end)
    do {
      return FTRequestContext(clientID: try r.readString(), retentionID: try r.read(), expirationTime: try r.read())
    } catch let e as CDRError {
      throw e
    } catch {
      throw CDRError(.invalidValue, "FT_REQUEST context: \(error)")
    }
  }
}

/// Courier's acknowledgement context (id `0x434F5502`), sent with at-most-once requests:
/// the client has every reply of `clientID` with a retention id below `below`, so the server
/// may forget them. CDR encapsulation of `{ string client_id; long below; }`.
public struct ReplyAcknowledgement: Sendable, Hashable, InPlaceContext {
  public static let serviceContextID: UInt32 = 0x434F_5502
  public var clientID: String
  public var below: Int32

  public init(clientID: String, below: Int32) {
    self.clientID = clientID
    self.below = below
  }

  var contextDataSize: Int { EncapsulationLayout.afterString(clientID.utf8.count, alignedTo: 4) + 4 }

  func writeContextData(into buffer: UnsafeMutableRawBufferPointer) {
    EncapsulationLayout.writeHeader(clientID, into: buffer)
    EncapsulationLayout.store(below, at: EncapsulationLayout.afterString(clientID.utf8.count, alignedTo: 4), in: buffer)
  }

  public var serviceContext: ServiceContext {
    let size = contextDataSize
    return ServiceContext(id: Self.serviceContextID, data: [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
      writeContextData(into: UnsafeMutableRawBufferPointer(buffer))
      count = size
    })
  }

  public init(_ context: ServiceContext) throws {
    do {
      self = try Self.decode(context.data, start: 0, end: context.data.count)
    } catch {
      throw RPCError(marshal: error)
    }
  }

  static func decode(_ bytes: [UInt8], start: Int, end: Int) throws(CDRError) -> ReplyAcknowledgement {
    guard start < end, end <= bytes.count else { throw CDRError(.truncated, "empty acknowledgement context") }
    var r = CDRReader(bytes, byteOrder: ByteOrder(flag: bytes[start]), position: start + 1, alignmentOrigin: start, end: end)
    do {
      return ReplyAcknowledgement(clientID: try r.readString(), below: try r.read())
    } catch let e as CDRError {
      throw e
    } catch {
      throw CDRError(.invalidValue, "acknowledgement context: \(error)")
    }
  }
}

/// Where a server keeps the replies of requests that must not run twice (those with an
/// FT_REQUEST context): ``ReplyHistory`` in memory (at-most-once), or a durable store that
/// records each reply before it leaves (exactly-once; `CourierDurable.DurableReplyHistory`).
public protocol ReplyRetention: AnyObject, Sendable {
  /// Forgets the replies `ack` covers.
  func acknowledge(_ ack: ReplyAcknowledgement)

  /// Answers the request `ft` identifies: the first time by calling `execute`, which leaves the
  /// reply message in `buffer` and returns whether there is one to send (false for a oneway);
  /// later (a retransmission) by putting the retained reply message in `buffer` without
  /// running anything. A duplicate that arrives while the first still runs waits for it.
  ///
  /// `firstSent` is set when the client says this is a retransmission of a request it first
  /// sent then (``Retransmission``): a history that started later (the server restarted) and
  /// does not know the request cannot tell whether it ran, and throws instead of running it.
  ///
  /// - Returns: whether `buffer` holds a message to send, and whether it is a retained one
  ///   (the server then patches its request id).
  /// - Throws: COMM_FAILURE (minor ``CourierMinor/historyLost``, COMPLETED_MAYBE).
  func respond(to ft: FTRequestContext, retransmissionOf firstSent: UInt64?, buffer: inout CDRWriter,
               execute: (inout CDRWriter) -> Bool) throws(RPCError) -> (send: Bool, replayed: Bool)
}

/// Courier's retransmission context (id `0x434F5504`), sent with an at-most-once request
/// after an attempt that may have run: when the client first sent it (TimeBase::TimeT), so
/// that a server whose in-memory history is younger (it restarted) refuses instead of
/// running it a second time. CDR encapsulation of `unsigned long long`.
public struct Retransmission: Sendable, Hashable {
  public static let serviceContextID: UInt32 = 0x434F_5504
  public var firstSent: UInt64
  public init(firstSent: UInt64) { self.firstSent = firstSent }

  public var serviceContext: ServiceContext {
    var w = CDRWriter(capacity: 16, byteOrder: .bigEndian)
    w.append(ByteOrder.bigEndian.flag)
    w.write(firstSent)
    return ServiceContext(id: Self.serviceContextID, data: w.finishedBytes())
  }

  /// Decodes the context; `MARSHAL` if malformed.
  public init(_ context: ServiceContext) throws(RPCError) {
    guard let flag = context.data.first else { throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .no, "empty retransmission context") }
    var r = CDRReader(context.data, byteOrder: ByteOrder(flag: flag), position: 1)
    do { firstSent = try r.read() } catch { throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .no, "retransmission context: \(error)") }
  }
}

/// A server's memory of the replies it sent to at-most-once requests, so that a retransmitted
/// request gets the retained reply instead of running again (the seeds' "filter duplicates,
/// retransmit the reply").
///
/// Entries are keyed by (client id, retention id) from the request's ``FTRequestContext``.
/// A duplicate that arrives while the first is still running waits for it and gets its reply.
/// Replies are forgotten when the client acknowledges them (``ReplyAcknowledgement``), when
/// their expiration time passes, or, oldest first, when the history exceeds ``maxEntries`` or
/// ``maxBytes`` — so memory stays under `maxBytes` plus `maxEntries` × ~100 bytes of
/// bookkeeping. A reply forgotten early makes a late duplicate run again: size the bounds
/// for the retransmission window.
public final class ReplyHistory: ReplyRetention {
  struct Key: Hashable, Sendable {
    var client: String
    var retention: Int32
  }

  enum Slot {
    case running
    case done(message: [UInt8]?)
  }

  struct Entry {
    var slot: Slot
    var expiration: UInt64
    var sequence: UInt64
  }

  /// One client's retained replies, by retention id.
  final class Client {
    var entries: [Int32: Entry] = [:]
    /// The retention id below which it acknowledged everything.
    var acknowledged: Int32?
  }

  struct State {
    /// Per client, by retention id (so an acknowledgement touches only its client's replies).
    /// Per client (one string hash per operation: the record is a class, changed in place).
    var clients: [String: Client] = [:]
    var count = 0
    /// Completed keys in completion order (for eviction); stale keys are skipped.
    var order: [(Key, UInt64)] = []
    var orderStart = 0
    var sequence: UInt64 = 0
    var bytes = 0
    var replays = 0
    var executions = 0
    /// Arrays of forgotten replies, reused for new ones (no allocation per call in a steady state).
    var pool: [[UInt8]] = []
  }

  /// At most this many arrays wait in the pool.
  static let poolLimit = 256

  /// At most this many replies are kept.
  public let maxEntries: Int
  /// At most this many bytes of replies are kept.
  public let maxBytes: Int
  /// Guarded by `lock` (a condition lock: duplicates of a running request sleep on it).
  @exclusivity(unchecked) nonisolated(unsafe) var state = State()
  let lock = ConditionLock()

  public init(maxEntries: Int = 100_000, maxBytes: Int = 64 * 1024 * 1024) {
    self.maxEntries = max(1, maxEntries)
    self.maxBytes = max(1, maxBytes)
  }

  /// What to do with an at-most-once request.
  enum Decision {
    /// Run it (first arrival); call ``finish`` with its reply.
    case execute
    /// A retransmission the history cannot answer: it started after the request was first sent.
    case lost
    /// Send this retained reply (the server patches the request id); nil: it was a oneway.
    case replay([UInt8]?)
    /// A stale duplicate: the client acknowledged this id already (see ``isAcknowledged``).
    case acknowledged
  }

  /// Whether `retention` lies below a client's acknowledgement `below`: the client had every
  /// such call's outcome (or gave up on it), so a request with it is a late duplicate. Serial
  /// number arithmetic: ids wrap after `Int32.max`.
  public static func isAcknowledged(_ retention: Int32, below: Int32?) -> Bool {
    guard let below else { return false }
    let distance = Int64(below) - Int64(retention)
    return distance > 0 && distance < 1 << 30
  }

  /// When this history started (TimeBase::TimeT): a retransmission first sent before it may
  /// have run in an earlier process.
  public let startedAt = RequestDeadline.nowTimeT()

  public func respond(to ft: FTRequestContext, retransmissionOf firstSent: UInt64?, buffer: inout CDRWriter,
                      execute: (inout CDRWriter) -> Bool) throws(RPCError) -> (send: Bool, replayed: Bool) {
    switch begin(ft, unknownIsLost: firstSent.map { $0 < startedAt } ?? false) {
    case .lost:
      throw RPCError(.commFailure, minor: CourierMinor.historyLost, completion: .maybe,
                     "the server restarted since this request was first sent: it may have run (at-most-once keeps replies in memory)")
    case .acknowledged:
      throw RPCError(.commFailure, minor: CourierMinor.alreadyAcknowledged, completion: .maybe,
                     "a late duplicate: the client acknowledged this request's outcome already")
    case .replay(let stored):
      guard let stored else { return (false, true) }
      buffer.reset()
      stored.withUnsafeBytes { buffer.writeRaw($0) }
      return (true, true)
    case .execute:
      let sent = execute(&buffer)
      if sent {
        buffer.withUnsafeBytes { finish(ft, reply: $0) }
      } else {
        finish(ft, reply: nil)
      }
      return (sent, false)
    }
  }

  /// Registers a request, or finds its earlier execution (waiting for it if it still runs).
  func begin(_ ft: FTRequestContext, unknownIsLost: Bool = false) -> Decision {
    let key = Key(client: ft.clientID, retention: ft.retentionID)
    return lock.withLock {
      while true {
        let found: Slot?
        let client: Client
        if let existing = state.clients[key.client] {
          client = existing
        } else {
          client = Client()
          state.clients[key.client] = client
        }
        if let entry = client.entries[key.retention] {
          found = entry.slot
        } else if Self.isAcknowledged(key.retention, below: client.acknowledged) {
          return .acknowledged
        } else if unknownIsLost {
          return .lost
        } else {
          state.sequence += 1
          client.entries[key.retention] = Entry(slot: .running, expiration: ft.expirationTime, sequence: state.sequence)
          state.count += 1
          state.executions += 1
          found = nil
        }
        switch found {
        case nil: return .execute
        case .running?: lock.wait(until: nil)
        case .done(let message)?:
          state.replays += 1
          return .replay(message)
        }
      }
    }
  }

  /// Records the reply of a request ``begin`` said to execute (copied), and wakes its duplicates.
  func finish(_ ft: FTRequestContext, reply: UnsafeRawBufferPointer?) {
    let key = Key(client: ft.clientID, retention: ft.retentionID)
    lock.withLock {
      if let client = state.clients[key.client], var entry = client.entries[key.retention] {
        var message: [UInt8]?
        if let reply {
          var stored = state.pool.popLast() ?? []
          stored.removeAll(keepingCapacity: true)
          stored.append(contentsOf: reply)
          message = stored
        }
        entry.slot = .done(message: message)
        client.entries[key.retention] = entry
        state.bytes += message?.count ?? 0
        state.order.append((key, entry.sequence))
        evict(&state)
        if state.clients.count > maxEntries {
          // Tables of clients whose replies were all acknowledged stay to save churn; not for ever.
          state.clients = state.clients.filter { !$0.value.entries.isEmpty }
        }
      }
      lock.broadcast()
    }
  }

  /// Forgets the replies `ack` covers. A client numbers its calls consecutively, so this
  /// walks only the ids acknowledged since the last acknowledgement.
  public func acknowledge(_ ack: ReplyAcknowledgement) {
    lock.withLock { acknowledge(&state, ack) }
  }

  private func acknowledge(_ s: inout State, _ ack: ReplyAcknowledgement) {
    guard let client = s.clients[ack.clientID] else { return }
    let from = client.acknowledged ?? (client.entries.keys.min() ?? ack.below)
    guard from < ack.below else { return }
    if Int(ack.below) - Int(from) > 4 * (client.entries.count + 1) {
      // A jump (ids wrapped, or a new numbering): look at what is there instead.
      for retention in client.entries.keys where retention < ack.below { forget(&s, client, retention) }
    } else {
      var retention = from
      while retention < ack.below {
        forget(&s, client, retention)
        retention += 1
      }
    }
    client.acknowledged = ack.below
  }

  /// Removes one completed reply (a running one stays; an emptied client's table stays too,
  /// so that a client's next call does not make it again).
  private func forget(_ s: inout State, _ client: Client, _ retention: Int32) {
    guard let entry = client.entries.removeValue(forKey: retention) else { return }
    guard case .done(let message) = entry.slot else {
      client.entries[retention] = entry  // still running: stays
      return
    }
    s.bytes -= message?.count ?? 0
    s.count -= 1
    recycle(&s, message)
  }

  private func recycle(_ s: inout State, _ message: consuming [UInt8]?) {
    if let message, s.pool.count < Self.poolLimit, message.capacity <= 4096 { s.pool.append(message) }
  }

  /// Drops expired and then oldest completed replies beyond the bounds.
  private func evict(_ s: inout State) {
    let now = RequestDeadline.nowTimeT()
    while s.orderStart < s.order.count {
      let (key, sequence) = s.order[s.orderStart]
      guard let client = s.clients[key.client], let entry = client.entries[key.retention], entry.sequence == sequence,
            case .done(let message) = entry.slot else {
        s.orderStart += 1  // already acknowledged or replaced
        continue
      }
      let over = s.count > maxEntries || s.bytes > maxBytes
      guard over || entry.expiration <= now else { break }
      s.bytes -= message?.count ?? 0
      s.count -= 1
      client.entries[key.retention] = nil
      recycle(&s, message)
      if client.entries.isEmpty { s.clients[key.client] = nil }
      s.orderStart += 1
    }
    if s.orderStart > 1024 && s.orderStart * 2 > s.order.count {
      s.order.removeFirst(s.orderStart)
      s.orderStart = 0
    }
    // Acknowledged replies leave stale keys behind a live one: compact now and then, so the
    // order list stays within twice the entries.
    if s.order.count - s.orderStart > 2 * maxEntries + 1024 {
      let live = s.order[s.orderStart...].filter { key, sequence in s.clients[key.client]?.entries[key.retention]?.sequence == sequence }
      s.order = Array(live)
      s.orderStart = 0
    }
  }

  /// How many requests ran, how many duplicates got a retained reply, and how much is kept.
  public var statistics: (executions: Int, replays: Int, retained: Int, bytes: Int) {
    lock.withLock { (state.executions, state.replays, state.count, state.bytes) }
  }
}
