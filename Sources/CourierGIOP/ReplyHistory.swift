public import CourierCore
public import CourierWire
import Synchronization

/// A service context whose data (a big-endian CDR encapsulation) the ORB writes in place,
/// without building a ``ServiceContext``.
protocol InPlaceContext {
  /// The context's id.
  static var serviceContextID: UInt32 { get }
  /// The encapsulation's size in bytes.
  var contextDataSize: Int { get }
  /// Writes the encapsulation into `buffer` (exactly ``contextDataSize`` bytes).
  func writeContextData(into buffer: UnsafeMutableRawBufferPointer)
  /// Decodes the encapsulation in `bytes[start..<end]` where it lies.
  static func decode(_ bytes: [UInt8], start: Int, end: Int) throws(CDRError) -> Self
}

extension InPlaceContext {
  /// The context as a ``ServiceContext`` (for callers that want one; the ORB writes it in place).
  var builtServiceContext: ServiceContext {
    let size = contextDataSize
    return ServiceContext(id: Self.serviceContextID, data: [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
      writeContextData(into: UnsafeMutableRawBufferPointer(buffer))
      count = size
    })
  }

  /// Decodes `context`'s data; `MARSHAL` if malformed.
  static func decoding(_ context: ServiceContext) throws -> Self {
    do {
      return try decode(context.data, start: 0, end: context.data.count)
    } catch {
      throw RPCError(marshal: error)
    }
  }
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

/// Reads the small encapsulations the ORB decodes on every at-most-once request (a string
/// and integers), straight from the message bytes: the same checks as ``CDRReader`` (bounds,
/// NUL termination, UTF-8), without making a reader.
struct EncapsulationScanner {
  let bytes: UnsafeBufferPointer<UInt8>
  let origin: Int
  let end: Int
  let little: Bool
  var position: Int

  init(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
    self.bytes = bytes
    self.origin = start
    self.end = end
    self.little = bytes[start] & 1 == 1
    self.position = start + 1
  }

  mutating func uint32() throws(CDRError) -> UInt32 {
    let at = origin + ((position - origin + 3) & ~3)
    guard at + 4 <= end else { throw CDRError(.truncated, "context ends inside an integer") }
    var v: UInt32 = 0
    for i in 0..<4 { v |= UInt32(bytes[at + (little ? i : 3 - i)]) << (8 * i) }
    position = at + 4
    return v
  }

  mutating func uint64() throws(CDRError) -> UInt64 {
    let at = origin + ((position - origin + 7) & ~7)
    guard at + 8 <= end else { throw CDRError(.truncated, "context ends inside an integer") }
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(bytes[at + (little ? i : 7 - i)]) << (8 * i) }
    position = at + 8
    return v
  }

  mutating func string() throws(CDRError) -> String {
    let length = Int(try uint32())
    guard length > 0 else { throw CDRError(.invalidString, "string length 0 (no room for its NUL)") }
    guard length <= end - position else { throw CDRError(.lengthExceedsData, "string of \(length) bytes, only \(end - position) left") }
    let body = UnsafeBufferPointer(rebasing: bytes[position..<(position + length - 1)])
    guard bytes[position + length - 1] == 0 else { throw CDRError(.invalidString, "string is not terminated by NUL") }
    position += length
    var nul = false, high = false
    for b in body {
      nul = nul || b == 0
      high = high || b > 0x7F
    }
    if nul { throw CDRError(.invalidString, "string contains NUL before its end") }
    if !high { return String(decoding: body, as: UTF8.self) }  // ASCII: the common case, no validation needed
    guard let text = String(validating: body, as: UTF8.self) else { throw CDRError(.dataConversion, "string is not valid UTF-8") }
    return text
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
  public var serviceContext: ServiceContext { builtServiceContext }

  /// Decodes the context; `MARSHAL` if malformed.
  public init(_ context: ServiceContext) throws { self = try Self.decoding(context) }

  static func decode(_ bytes: [UInt8], start: Int, end: Int) throws(CDRError) -> FTRequestContext {
    guard start < end, end <= bytes.count else { throw CDRError(.truncated, "empty FT_REQUEST context") }
    return try bytes.withUnsafeBufferPointer { (all) throws(CDRError) -> FTRequestContext in
      var scan = EncapsulationScanner(all, start: start, end: end)
      return FTRequestContext(clientID: try scan.string(), retentionID: Int32(bitPattern: try scan.uint32()), expirationTime: try scan.uint64())
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

  /// The context (big-endian encapsulation).
  public var serviceContext: ServiceContext { builtServiceContext }

  /// Decodes the context; `MARSHAL` if malformed.
  public init(_ context: ServiceContext) throws { self = try Self.decoding(context) }

  static func decode(_ bytes: [UInt8], start: Int, end: Int) throws(CDRError) -> ReplyAcknowledgement {
    guard start < end, end <= bytes.count else { throw CDRError(.truncated, "empty acknowledgement context") }
    return try bytes.withUnsafeBufferPointer { (all) throws(CDRError) -> ReplyAcknowledgement in
      var scan = EncapsulationScanner(all, start: start, end: end)
      return ReplyAcknowledgement(clientID: try scan.string(), below: Int32(bitPattern: try scan.uint32()))
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
  enum Slot {
    case running
    case done(message: [UInt8]?)
  }

  struct Entry {
    var slot: Slot
    var expiration: UInt64
    var sequence: UInt64
  }

  /// One client's retained replies, by retention id. Guarded by the history's lock (hence no
  /// dynamic exclusivity checks).
  final class Client {
    let id: String
    @exclusivity(unchecked) var entries = RetentionTable()
    /// The retention id below which it acknowledged everything.
    @exclusivity(unchecked) var acknowledged: Int32?
    init(id: String) { self.id = id }
  }

  /// A completed reply in completion order (for eviction); stale ones are skipped.
  struct Completed {
    var client: Client
    var retention: Int32
    var sequence: UInt64
  }

  struct State {
    /// Per client, by retention id (so an acknowledgement touches only its client's replies).
    /// Per client (one string hash per operation: the record is a class, changed in place).
    var clients: [String: Client] = [:]
    /// The client of the last request: a connection's requests mostly come from one client,
    /// and comparing its id is cheaper than hashing it.
    var recent: Client?
    var count = 0
    var order: [Completed] = []
    var orderStart = 0
    /// Replies recorded since the last look for expired ones.
    var sinceSweep = 0
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

  /// Replies recorded between looks for expired ones (when within the bounds).
  static let sweepEvery = 64

  /// What to do with an at-most-once request.
  enum Decision {
    /// Run it (first arrival); call ``finish`` with its reply and this client.
    case execute(Client)
    /// A retransmission the history cannot answer: it started after the request was first sent.
    case lost
    /// Send this retained reply (the server patches the request id); nil: it was a oneway.
    case replay([UInt8]?)
    /// A stale duplicate: the client acknowledged this id already (see ``isAcknowledged``).
    case acknowledged
  }

  /// What a history answers a request below its client's acknowledgement (not retried).
  public static let lateDuplicate = RPCError(.commFailure, minor: CourierMinor.alreadyAcknowledged, completion: .maybe,
                                             "a late duplicate: the client acknowledged this request's outcome already")

  /// Whether `retention` lies below a client's acknowledgement `below`: the client had every
  /// such call's outcome (or gave up on it), so a request with it is a late duplicate. Serial
  /// number arithmetic: ids wrap after `Int32.max`.
  public static func isAcknowledged(_ retention: Int32, below: Int32?) -> Bool {
    guard let below else { return false }
    return RetentionTable.precedes(retention, below)
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
      throw Self.lateDuplicate
    case .replay(let stored):
      guard let stored else { return (false, true) }
      buffer.reset()
      stored.withUnsafeBytes { buffer.writeRaw($0) }
      return (true, true)
    case .execute(let client):
      let sent = execute(&buffer)
      if sent {
        buffer.withUnsafeBytes { finish(client, ft.retentionID, reply: $0) }
      } else {
        finish(client, ft.retentionID, reply: nil)
      }
      return (sent, false)
    }
  }

  /// Registers a request, or finds its earlier execution (waiting for it if it still runs).
  func begin(_ ft: FTRequestContext, unknownIsLost: Bool = false) -> Decision {
    lock.withLock {
      let client = client(ft.clientID, in: &state)
      while true {
        let found: Slot?
        if let entry = client.entries[ft.retentionID] {
          found = entry.slot
        } else if Self.isAcknowledged(ft.retentionID, below: client.acknowledged) {
          return .acknowledged
        } else if unknownIsLost {
          return .lost
        } else {
          state.sequence += 1
          client.entries[ft.retentionID] = Entry(slot: .running, expiration: ft.expirationTime, sequence: state.sequence)
          state.count += 1
          state.executions += 1
          found = nil
        }
        switch found {
        case nil: return .execute(client)
        case .running?: lock.wait(until: nil)
        case .done(let message)?:
          state.replays += 1
          return .replay(message)
        }
      }
    }
  }

  /// The record of client `id` (made if new). Call with the lock held.
  private func client(_ id: String, in s: inout State) -> Client {
    if let recent = s.recent, recent.id == id { return recent }
    let client: Client
    if let existing = s.clients[id] {
      client = existing
    } else {
      client = Client(id: id)
      s.clients[id] = client
    }
    s.recent = client
    return client
  }

  /// Records the reply of a request ``begin`` said to execute (copied), and wakes its duplicates.
  func finish(_ client: Client, _ retention: Int32, reply: UnsafeRawBufferPointer?) {
    lock.withLock {
      if var entry = client.entries[retention] {
        var message: [UInt8]?
        if let reply {
          var stored = state.pool.popLast() ?? []
          stored.removeAll(keepingCapacity: true)
          stored.append(contentsOf: reply)
          message = stored
        }
        entry.slot = .done(message: message)
        client.entries[retention] = entry
        state.bytes += message?.count ?? 0
        state.order.append(Completed(client: client, retention: retention, sequence: entry.sequence))
        evict(&state)
        if state.clients.count > maxEntries {
          // Tables of clients whose replies were all acknowledged stay to save churn; not for ever.
          state.clients = state.clients.filter { !$0.value.entries.isEmpty }
          state.recent = nil
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
    guard let client = s.recent.flatMap({ $0.id == ack.clientID ? $0 : nil }) ?? s.clients[ack.clientID] else { return }
    if let acknowledged = client.acknowledged, !RetentionTable.precedes(acknowledged, ack.below) { return }
    // Completed replies below the mark go (from the front of the table); running ones stay.
    client.entries.removeCompleted(below: ack.below) { message in
      s.bytes -= message?.count ?? 0
      s.count -= 1
      recycle(&s, message)
    }
    client.acknowledged = ack.below
  }

  private func recycle(_ s: inout State, _ message: consuming [UInt8]?) {
    if let message, s.pool.count < Self.poolLimit, message.capacity <= 4096 { s.pool.append(message) }
  }

  /// Drops the oldest completed replies beyond the bounds, and (every ``sweepEvery`` recorded
  /// replies) the expired ones: a reply may outlive its expiration by that many replies.
  private func evict(_ s: inout State) {
    s.sinceSweep += 1
    guard s.count > maxEntries || s.bytes > maxBytes || s.sinceSweep >= Self.sweepEvery else { return }
    s.sinceSweep = 0
    let now = RequestDeadline.nowTimeT()
    while s.orderStart < s.order.count {
      let head = s.order[s.orderStart]
      let client = head.client
      guard let entry = client.entries[head.retention], entry.sequence == head.sequence, case .done(let message) = entry.slot else {
        s.orderStart += 1  // already acknowledged or replaced
        continue
      }
      let over = s.count > maxEntries || s.bytes > maxBytes
      guard over || entry.expiration <= now else { break }
      s.bytes -= message?.count ?? 0
      s.count -= 1
      client.entries[head.retention] = nil
      recycle(&s, message)
      if client.entries.isEmpty, s.clients[client.id] === client {
        s.clients[client.id] = nil
        if s.recent === client { s.recent = nil }
      }
      s.orderStart += 1
    }
    if s.orderStart > 1024 && s.orderStart * 2 > s.order.count {
      s.order.removeFirst(s.orderStart)
      s.orderStart = 0
    }
    // Acknowledged replies leave stale records behind a live one: compact now and then, so the
    // order list stays within twice the entries.
    if s.order.count - s.orderStart > 2 * maxEntries + 1024 {
      let live = s.order[s.orderStart...].filter { $0.client.entries[$0.retention]?.sequence == $0.sequence }
      s.order = Array(live)
      s.orderStart = 0
    }
  }

  /// How many requests ran, how many duplicates got a retained reply, and how much is kept.
  public var statistics: (executions: Int, replays: Int, retained: Int, bytes: Int) {
    lock.withLock { (state.executions, state.replays, state.count, state.bytes) }
  }
}

/// One client's retained replies by retention id: an array in id order (ids are handed out
/// consecutively, so a new one goes last and acknowledged ones leave from the front), with
/// serial-number order so that ids wrapping past `Int32.max` stay in order. No hashing.
struct RetentionTable {
  struct Item {
    var id: Int32
    var entry: ReplyHistory.Entry?  // nil: removed (skipped until trimmed)
  }
  private var items: [Item] = []
  private var start = 0
  private(set) var count = 0

  var isEmpty: Bool { count == 0 }

  /// Whether `a` comes before `b` in serial-number order (ids within 2^30 of each other).
  /// Retention ids run 1, 2, …, `Int32.max`, then 1 again (clients never use 0 or negative
  /// ids), so the ring has `Int32.max` ids, not 2^32: `Int32.max` precedes 1. (A two's
  /// complement difference got that wrong: found by the retention table's model test.)
  static func precedes(_ a: Int32, _ b: Int32) -> Bool {
    let ring = Int64(Int32.max)
    var d = (Int64(b) - Int64(a)) % ring
    if d < 0 { d += ring }
    return d > 0 && d < 1 << 30
  }

  /// The index of `id` (live or removed) among `items[start...]`, or where it would go.
  private func position(of id: Int32) -> (index: Int, found: Bool) {
    // The newest ids are the ones asked about most: look at the end first.
    if let last = items.last, start < items.count {
      if last.id == id { return (items.count - 1, true) }
      if Self.precedes(last.id, id) { return (items.count, false) }
    }
    var low = start, high = items.count
    while low < high {
      let mid = (low + high) / 2
      if items[mid].id == id { return (mid, true) }
      if Self.precedes(items[mid].id, id) { low = mid + 1 } else { high = mid }
    }
    return (low, false)
  }

  subscript(id: Int32) -> ReplyHistory.Entry? {
    get {
      let (i, found) = position(of: id)
      return found ? items[i].entry : nil
    }
    set {
      let (i, found) = position(of: id)
      if found {
        switch (items[i].entry == nil, newValue == nil) {
        case (true, false): count += 1
        case (false, true): count -= 1
        default: break
        }
        items[i].entry = newValue
        if newValue == nil { trim() }
      } else if let newValue {
        if i == items.count { items.append(Item(id: id, entry: newValue)) } else { items.insert(Item(id: id, entry: newValue), at: i) }
        count += 1
      }
    }
  }

  /// Removes the completed entries whose ids come before `below`, passing each reply to `removed`.
  mutating func removeCompleted(below: Int32, _ removed: (consuming [UInt8]?) -> Void) {
    var i = start
    while i < items.count, Self.precedes(items[i].id, below) {
      if let entry = items[i].entry, case .done(let message) = entry.slot {
        items[i].entry = nil
        count -= 1
        removed(message)
      }
      i += 1
    }
    trim()
  }

  /// Drops removed items at both ends; compacts the front now and then.
  private mutating func trim() {
    while start < items.count, items[start].entry == nil { start += 1 }
    while let last = items.last, last.entry == nil, items.count > start { items.removeLast() }
    if start == items.count {
      items.removeAll(keepingCapacity: true)
      start = 0
    } else if start > 32 && start * 2 > items.count {
      items.removeFirst(start)
      start = 0
    }
  }
}
