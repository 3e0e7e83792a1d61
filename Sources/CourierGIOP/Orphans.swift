public import CourierCore
public import CourierWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Orphans: computations left running on a server after their client crashed, and the
// seeds' (Tanenbaum/van Steen) four ways of dealing with them.
//
// | mode | client pays | server does | pick it when |
// |---|---|---|---|
// | extermination | an fsynced file per call (create + remove) | kills the calls the restarted client lists | calls are few and long, and the client does come back |
// | reincarnation | one fsync per restart | kills every call of an older epoch on announcement | any call of a dead incarnation is worthless |
// | gentle reincarnation | one fsync per restart | kills an older-epoch call only if its connection is closed | calls may outlive a restart on purpose (the owner's connection is alive) |
// | expiration | one renewal per server every T/2 while calls are out | kills a call whose lease (T) ran out | the client may never come back; no storage |
//
// Everything travels in one service context (``OrphanContext``); the server half is
// ``OrphanMonitor`` (on in every ``GIOPServer`` by default), the client half is configured with
// ``ORB/Configuration/orphans``.

/// How a client wants its orphans handled, and where it keeps what survives its crash
/// (``ORB/Configuration/orphans``).
///
/// The state directory holds plain files: `client-id` (this client's identity, kept across
/// restarts), `epoch` (its incarnation number, written to a temporary file, fsynced and
/// renamed), `servers` (every server endpoint it called, one `host:port` a line, for
/// announcements) and, with ``Mode/extermination``, `calls/` (one small fsynced file per
/// call in progress, removed when its reply arrives).
public struct OrphanPolicy: Sendable, Hashable {
  public enum Mode: Sendable, Hashable, CustomStringConvertible {
    /// The calls are identified (servers count them and their orphans) but never cancelled.
    case none
    /// After a restart the client reads its log of calls in progress and asks each server to
    /// kill them. Costs a durable write per call; kills exactly the orphans.
    case extermination
    /// After a restart the client announces a new epoch to every server it ever called; they
    /// kill every call of an older epoch. Costs one durable write per restart.
    case reincarnation
    /// As ``reincarnation``, but a server kills an older-epoch call only when its owner cannot
    /// be reached: the connection the call came on is closed.
    case gentleReincarnation
    /// Each call holds a lease of `quantum` that the client renews every `quantum / 2` while it
    /// lives (over a connection of its own); a server kills a call whose lease ran out. No
    /// storage; a client cut off for longer than `quantum` loses its calls.
    case expiration(quantum: Duration)

    public var description: String {
      switch self {
      case .none: "none"
      case .extermination: "extermination"
      case .reincarnation: "reincarnation"
      case .gentleReincarnation: "gentle reincarnation"
      case .expiration(let q): "expiration (\(q))"
      }
    }

    /// The octet that stands for the mode in ``OrphanContext``.
    var wireValue: UInt8 {
      switch self {
      case .none: 0
      case .extermination: 1
      case .reincarnation: 2
      case .gentleReincarnation: 3
      case .expiration: 4
      }
    }

    /// The lease quantum in whole milliseconds (0 unless ``expiration(quantum:)``).
    var quantumMilliseconds: UInt32 {
      guard case .expiration(let q) = self else { return 0 }
      let (s, atto) = q.components
      let ms = s * 1000 + atto / 1_000_000_000_000_000
      return UInt32(clamping: max(1, ms))
    }
  }

  public var mode: Mode
  /// Where the client id, the epoch, the servers called and the call log live.
  public var stateDirectory: String

  public init(mode: Mode, stateDirectory: String) {
    self.mode = mode
    self.stateDirectory = stateDirectory
  }
}

/// Courier's orphan context (id `0x434F5503`), sent with every two-way request of a client
/// that has an ``OrphanPolicy``. A CDR encapsulation of
///
/// ```idl
/// struct OrphanContext {
///   string             client_id;  // the client's identity, the same across its restarts
///   unsigned long      epoch;      // its incarnation, one more at every restart
///   unsigned long long call_id;    // the call, unique within the epoch (epoch + call_id: the request identity)
///   octet              mode;       // 0 none, 1 extermination, 2 reincarnation, 3 gentle, 4 expiration
///   unsigned long      lease_ms;   // expiration's quantum T in ms (0 for the other modes)
/// };
/// ```
///
/// (the byte-order octet first, alignment relative to it, as every encapsulation).
public struct OrphanContext: Sendable, Hashable {
  public static let serviceContextID: UInt32 = 0x434F_5503

  public var clientID: String
  public var epoch: UInt32
  public var callID: UInt64
  public var mode: OrphanPolicy.Mode

  public init(clientID: String, epoch: UInt32, callID: UInt64, mode: OrphanPolicy.Mode) {
    self.clientID = clientID
    self.epoch = epoch
    self.callID = callID
    self.mode = mode
  }

  /// The context, big endian.
  public var serviceContext: ServiceContext {
    var w = CDRWriter(capacity: 40 + clientID.utf8.count, byteOrder: .bigEndian)
    w.append(ByteOrder.bigEndian.flag)
    try? w.writeString(clientID)  // cannot fail: unbounded, UTF-8
    w.write(epoch)
    w.write(callID)
    w.append(mode.wireValue)
    w.write(mode.quantumMilliseconds)
    return ServiceContext(id: Self.serviceContextID, data: w.finishedBytes())
  }

  /// Decodes the context; `MARSHAL` if it is malformed (an unknown mode, an expiration lease
  /// of 0 ms, a truncated body).
  public init(_ context: ServiceContext) throws(RPCError) {
    do {
      guard let flag = context.data.first else { throw CDRError(.truncated, "empty orphan context") }
      var r = CDRReader(context.data, byteOrder: ByteOrder(flag: flag), position: 1)
      clientID = try r.readString()
      epoch = try r.read()
      callID = try r.read()
      let wire: UInt8 = try r.read()
      let leaseMS: UInt32 = try r.read()
      switch wire {
      case 0: mode = .none
      case 1: mode = .extermination
      case 2: mode = .reincarnation
      case 3: mode = .gentleReincarnation
      case 4:
        guard leaseMS > 0 else { throw CDRError(.truncated, "orphan context: expiration with a lease of 0 ms") }
        mode = .expiration(quantum: .milliseconds(leaseMS))
      default: throw CDRError(.truncated, "orphan context: unknown mode \(wire)")
      }
    } catch let e as CDRError {
      throw RPCError(marshal: e)
    } catch {
      throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .no, "\(error)")
    }
  }
}

extension CourierMinor {
  /// TRANSIENT, COMPLETED_MAYBE: the server cancelled the call as an orphan (its client is
  /// gone: exterminated, reincarnated, or its lease expired). The same code as
  /// ``callerGone``, so ``RPCError/failure`` says ``InvocationFailure/clientCrashed``.
  public static let orphanCancelled: UInt32 = callerGone
}

extension IncomingCall {
  /// True when the request being served should stop: its deadline passed, or the server
  /// cancelled it as an orphan (``OrphanMonitor``). Cheap (a clock read and an atomic load);
  /// always false outside a dispatch.
  public static var isCancelled: Bool {
    guard let slot = CurrentCall.peek else { return false }
    if let running = slot.running, running.isCancelled { return true }
    if let end = slot.endTime, RequestDeadline.nowTimeT() >= end { return true }
    return false
  }

  /// Throws when ``isCancelled``: `TRANSIENT` minor ``CourierMinor/orphanCancelled``
  /// (COMPLETED_MAYBE) for an orphan, `TIMEOUT` minor ``CourierMinor/deadlineExceeded``
  /// (COMPLETED_MAYBE) for a passed deadline. A long-running servant calls it between steps.
  public static func checkCancelled() throws(RPCError) {
    guard let slot = CurrentCall.peek else { return }
    if let running = slot.running, let reason = running.cancellation {
      throw RPCError(.transient, minor: CourierMinor.orphanCancelled, completion: .maybe,
                     "the server cancelled the call as an orphan (\(reason))")
    }
    if let end = slot.endTime, RequestDeadline.nowTimeT() >= end {
      throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .maybe,
                     "the caller's deadline passed while serving the request")
    }
  }
}

/// The server half of orphan handling: a registry of the running calls that carry an
/// ``OrphanContext`` (client id, epoch, connection, lease, cancelled flag), and the built-in
/// object under ``objectKey`` through which clients announce epochs, exterminate and renew.
///
/// A ``GIOPServer`` has one by default (``GIOPServer/Configuration/orphans``) and activates
/// the built-in object in its adapter. Requests without the context cost nothing: they are
/// never registered. Cancelling sets a flag the servant sees through
/// ``IncomingCall/isCancelled`` / ``IncomingCall/checkCancelled()``: cancellation is
/// cooperative, a servant that never looks runs to its end.
///
/// The built-in object (`IDL:courier/Orphans:1.0`), in IDL:
///
/// ```idl
/// typedef sequence<unsigned long long> CallIds;
/// struct Statistics { unsigned long running, by_extermination, by_reincarnation,
///                     by_gentle_reincarnation, by_expiration, orphans_left; };
/// interface Orphans {
///   // Reincarnation: cancel every older-epoch call of the client (gentle: only those whose
///   // connection is closed). Returns how many were cancelled.
///   unsigned long announce_epoch(in string client_id, in unsigned long epoch);
///   // Extermination: cancel these calls of (client, epoch). Returns how many were running.
///   unsigned long exterminate(in string client_id, in unsigned long epoch, in CallIds calls);
///   // Expiration: extend the leases of these calls to now + quantum_ms. Returns how many.
///   unsigned long renew(in string client_id, in unsigned long epoch, in CallIds calls, in unsigned long quantum_ms);
///   Statistics statistics();
/// };
/// ```
public final class OrphanMonitor: Sendable {
  /// The built-in object's key.
  public static let objectKey = "CourierOrphans"
  /// The built-in object's repository id.
  public static let repositoryID = "IDL:courier/Orphans:1.0"

  /// What the monitor has seen.
  public struct Statistics: Sendable, Hashable, CustomStringConvertible {
    /// Calls with the orphan context running now.
    public var running = 0
    public var cancelledByExtermination = 0
    public var cancelledByReincarnation = 0
    public var cancelledByGentleReincarnation = 0
    public var cancelledByExpiration = 0
    /// Running calls whose owner's connection is closed now (orphans nobody has killed yet).
    public var orphansLeft = 0
    public init() {}

    public var description: String {
      "running \(running), cancelled: extermination \(cancelledByExtermination), reincarnation \(cancelledByReincarnation), "
        + "gentle \(cancelledByGentleReincarnation), expiration \(cancelledByExpiration); orphans left \(orphansLeft)"
    }
  }

  /// Why a call was cancelled.
  enum Reason: UInt8, CustomStringConvertible {
    case extermination = 1, reincarnation, gentleReincarnation, expiration
    var description: String {
      switch self {
      case .extermination: "exterminated by its restarted client"
      case .reincarnation: "its client announced a new epoch"
      case .gentleReincarnation: "its client announced a new epoch and its connection is closed"
      case .expiration: "its lease expired"
      }
    }
  }

  /// One running call that carried the context.
  final class RunningCall: Sendable {
    let context: OrphanContext
    /// The connection the call came on: closed means its owner is gone.
    let connection: (any ByteStream)?
    /// 0 while running; else a ``Reason``.
    let state = Atomic<UInt8>(0)

    init(context: OrphanContext, connection: (any ByteStream)?) {
      self.context = context
      self.connection = connection
    }

    var isCancelled: Bool { state.load(ordering: .relaxed) != 0 }
    var cancellation: Reason? { Reason(rawValue: state.load(ordering: .relaxed)) }

    /// Whether the call's connection is closed (a non-blocking peek: end of stream or error).
    var ownerGone: Bool {
      guard let connection else { return false }
      var byte: UInt8 = 0
      return withUnsafeMutableBytes(of: &byte) { connection.peekPending($0) } == 0
    }
  }

  struct Entry {
    let call: RunningCall
    var leaseEnd: ContinuousClock.Instant?
  }

  struct State {
    var calls: [ObjectIdentifier: Entry] = [:]
    var cancelled: [UInt8: Int] = [:]
    /// The newest epoch each client announced (bounded), so that a request of an older
    /// incarnation that arrives after the announcement is refused under reincarnation.
    var epochs: [String: UInt32] = [:]
    var sweeping = false
    var leased = 0
  }

  static let maxRememberedEpochs = 4096
  private let state = Mutex(State())
  private let sweepWake = ConditionLock()

  public init() {}

  /// Counts, and the orphans left now.
  public var statistics: Statistics {
    let (calls, cancelled) = state.withLock { s in (s.calls.values.map(\.call), s.cancelled) }
    var stats = Statistics()
    stats.running = calls.count
    stats.cancelledByExtermination = cancelled[Reason.extermination.rawValue] ?? 0
    stats.cancelledByReincarnation = cancelled[Reason.reincarnation.rawValue] ?? 0
    stats.cancelledByGentleReincarnation = cancelled[Reason.gentleReincarnation.rawValue] ?? 0
    stats.cancelledByExpiration = cancelled[Reason.expiration.rawValue] ?? 0
    stats.orphansLeft = calls.filter { !$0.isCancelled && $0.ownerGone }.count
    return stats
  }

  // MARK: - calls

  /// Registers the request if it carries the orphan context (nil if not: nothing happens).
  /// A newer epoch in it counts as an announcement. Throws `MARSHAL` for a malformed context
  /// (nothing is registered or announced), and `TRANSIENT` ``CourierMinor/orphanCancelled``
  /// (COMPLETED_NO) for a request of an incarnation already superseded under reincarnation.
  /// The call's connection is the one the serving thread's slot names (set by the server).
  func begin(_ contexts: [ServiceContext]) throws(RPCError) -> RunningCall? {
    guard let raw = contexts.first(where: { $0.id == OrphanContext.serviceContextID }) else { return nil }
    let context = try OrphanContext(raw)
    let call = RunningCall(context: context, connection: CurrentCall.peek?.connection)
    var lease: ContinuousClock.Instant?
    if case .expiration(let q) = context.mode { lease = .now + q }
    let superseded = state.withLock { s -> Bool in
      if context.mode == .reincarnation, let newest = s.epochs[context.clientID], newest > context.epoch { return true }
      s.calls[ObjectIdentifier(call)] = Entry(call: call, leaseEnd: lease)
      if lease != nil { s.leased += 1 }
      return false
    }
    if superseded {
      cancel([call], .reincarnation)
      throw RPCError(.transient, minor: CourierMinor.orphanCancelled, completion: .no,
                     "client \(context.clientID) epoch \(context.epoch) was superseded by a newer epoch")
    }
    if context.mode == .reincarnation || context.mode == .gentleReincarnation {
      _ = announce(clientID: context.clientID, epoch: context.epoch)
    }
    if lease != nil { ensureSweeper() }
    return call
  }

  /// Unregisters a call that returned.
  func end(_ call: RunningCall) {
    state.withLock { s in
      if let e = s.calls.removeValue(forKey: ObjectIdentifier(call)), e.leaseEnd != nil { s.leased -= 1 }
    }
  }

  /// Marks calls cancelled (once each) and counts them.
  @discardableResult
  private func cancel(_ calls: [RunningCall], _ reason: Reason) -> Int {
    var n = 0
    for call in calls where call.state.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed).exchanged {
      n += 1
    }
    if n > 0 { state.withLock { $0.cancelled[reason.rawValue, default: 0] += n } }
    return n
  }

  /// Reincarnation: `clientID` is now at `epoch`. Cancels its calls of older epochs: under
  /// ``OrphanPolicy/Mode/reincarnation`` all of them, under ``OrphanPolicy/Mode/gentleReincarnation``
  /// those whose connection is closed (the owner cannot be reached). Returns how many.
  @discardableResult
  public func announce(clientID: String, epoch: UInt32) -> Int {
    let older = state.withLock { s -> [RunningCall] in
      if (s.epochs[clientID] ?? 0) < epoch {
        if s.epochs[clientID] == nil, s.epochs.count >= Self.maxRememberedEpochs { s.epochs.removeAll() }
        s.epochs[clientID] = epoch
      }
      return s.calls.values.compactMap { e in
        e.call.context.clientID == clientID && e.call.context.epoch < epoch && !e.call.isCancelled ? e.call : nil
      }
    }
    guard !older.isEmpty else { return 0 }
    let plain = older.filter { $0.context.mode == .reincarnation }
    let gentle = older.filter { $0.context.mode == .gentleReincarnation && $0.ownerGone }
    return cancel(plain, .reincarnation) + cancel(gentle, .gentleReincarnation)
  }

  /// Extermination: cancels the listed calls of `clientID` at `epoch`. Returns how many were running.
  @discardableResult
  public func exterminate(clientID: String, epoch: UInt32, calls ids: [UInt64]) -> Int {
    let wanted = Set(ids)
    let found = state.withLock { s in
      s.calls.values.compactMap { e in
        e.call.context.clientID == clientID && e.call.context.epoch == epoch && wanted.contains(e.call.context.callID) ? e.call : nil
      }
    }
    return cancel(found, .extermination)
  }

  /// Expiration: the listed calls' leases end `quantum` from now. Returns how many were found.
  @discardableResult
  public func renew(clientID: String, epoch: UInt32, calls ids: [UInt64], quantum: Duration) -> Int {
    let wanted = Set(ids)
    let end = ContinuousClock.now + quantum
    return state.withLock { s in
      var n = 0
      for (key, e) in s.calls where e.leaseEnd != nil && e.call.context.clientID == clientID && e.call.context.epoch == epoch
        && wanted.contains(e.call.context.callID) {
        s.calls[key]?.leaseEnd = end
        n += 1
      }
      return n
    }
  }

  // MARK: - the lease sweeper

  /// Starts the sweeper if it is not running, or wakes it to look at a new lease.
  private func ensureSweeper() {
    let start = state.withLock { s -> Bool in
      if s.sweeping { return false }
      s.sweeping = true
      return true
    }
    if start {
      spawnThread(name: "courier-orphan-sweeper") { [self] in sweep() }
    } else {
      sweepWake.withLock { sweepWake.broadcast() }
    }
  }

  /// Cancels calls whose lease ran out; sleeps until the next lease end (at most a second,
  /// woken by new leases); ends when no leased call is left.
  private func sweep() {
    sweepWake.lock()
    defer { sweepWake.unlock() }
    while true {
      let now = ContinuousClock.now
      let (expired, next, keepGoing) = state.withLock { s -> ([RunningCall], ContinuousClock.Instant?, Bool) in
        var expired: [RunningCall] = []
        var next: ContinuousClock.Instant?
        for e in s.calls.values {
          guard let end = e.leaseEnd, !e.call.isCancelled else { continue }
          if end <= now { expired.append(e.call) } else { next = min(next ?? end, end) }
        }
        if s.leased == 0 { s.sweeping = false }
        return (expired, next, s.sweeping)
      }
      cancel(expired, .expiration)
      guard keepGoing else { return }
      sweepWake.wait(until: min(next ?? now + .seconds(1), now + .seconds(1)))
    }
  }
}

/// The built-in object under ``OrphanMonitor/objectKey``.
final class OrphanControlServant: Servant {
  let monitor: OrphanMonitor
  init(_ monitor: OrphanMonitor) { self.monitor = monitor }

  var repositoryIDs: [String] { [OrphanMonitor.repositoryID] }

  func dispatch(_ request: inout ServerRequest) throws {
    func ids(_ request: inout ServerRequest) throws -> [UInt64] {
      let count = try request.arguments.readCount(minimumElementSize: 8)
      return try (0..<count).map { _ in try request.read(UInt64.self) }
    }
    switch request.operation {
    case "announce_epoch":
      let client = try request.arguments.readString()
      let epoch: UInt32 = try request.read()
      try request.write(UInt32(clamping: monitor.announce(clientID: client, epoch: epoch)))
    case "exterminate":
      let client = try request.arguments.readString()
      let epoch: UInt32 = try request.read()
      let calls = try ids(&request)
      try request.write(UInt32(clamping: monitor.exterminate(clientID: client, epoch: epoch, calls: calls)))
    case "renew":
      let client = try request.arguments.readString()
      let epoch: UInt32 = try request.read()
      let calls = try ids(&request)
      let quantum: UInt32 = try request.read()
      guard quantum > 0 else { throw RPCError(.badParam, minor: 0, completion: .no, "renew: a quantum of 0 ms") }
      try request.write(UInt32(clamping: monitor.renew(clientID: client, epoch: epoch, calls: calls, quantum: .milliseconds(quantum))))
    case "statistics":
      monitor.statistics.encode(to: &request.reply)
    default:
      throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no, "Orphans has no operation \(request.operation)")
    }
  }
}

extension OrphanMonitor.Statistics {
  /// Reads the six counts of the built-in object's `statistics` reply (or a servant's that
  /// returns the same struct).
  public init(from r: inout CDRReader) throws {
    self.init()
    running = Int(try r.read(UInt32.self))
    cancelledByExtermination = Int(try r.read(UInt32.self))
    cancelledByReincarnation = Int(try r.read(UInt32.self))
    cancelledByGentleReincarnation = Int(try r.read(UInt32.self))
    cancelledByExpiration = Int(try r.read(UInt32.self))
    orphansLeft = Int(try r.read(UInt32.self))
  }

  /// Writes the six counts (the `statistics` reply).
  public func encode(to w: inout CDRWriter) {
    for v in [running, cancelledByExtermination, cancelledByReincarnation, cancelledByGentleReincarnation, cancelledByExpiration, orphansLeft] {
      w.write(UInt32(clamping: v))
    }
  }
}
