import CourierCore
public import CourierGIOP
import Synchronization

// Seeded, deterministic fault injection for the UDP transport: datagrams dropped, duplicated
// or reordered on their way out of or into a `UDPConnector`'s streams or a `UDPListener`'s
// peers. The TCP counterpart is `FaultInjector` (whole GIOP messages on a byte stream); here
// the unit is the datagram, as the network sees it.

/// Which way a datagram goes, seen from the connector or listener that applies the faults.
public enum DatagramDirection: Sendable, Hashable, CustomStringConvertible {
  /// Datagrams this side sends (a client's Requests, a server's Replies).
  case outbound
  /// Datagrams this side receives, before they are reassembled (a client's Replies, a
  /// server's Requests).
  case inbound

  public var description: String { self == .outbound ? "outbound" : "inbound" }
}

/// What happens to datagrams: rules by direction and GIOP message type, and the seed of the
/// random draws.
///
/// Each datagram takes the first rule whose direction and message types match it, and one
/// random draw splits it among the rule's outcomes: dropped with probability ``Rule/drop``,
/// sent twice with ``Rule/duplicate``, held back with ``Rule/reorder`` (it goes after the
/// next datagram the same stream sends or receives, or after ``reorderDelay`` if none comes),
/// and otherwise passed unchanged. A datagram no rule matches passes unchanged and draws
/// nothing.
///
/// ```swift
/// // A client whose Requests are lost 20 % of the time, and a server whose Replies are.
/// let connector = UDPConnector(faults: DatagramFaultPlan(seed: 7, rules: [.init(.outbound, types: [.request], drop: 0.2)]))
/// let listener = try UDPListener(faults: DatagramFaultPlan(seed: 8, rules: [.init(.outbound, types: [.reply], drop: 0.2)]))
/// ```
public struct DatagramFaultPlan: Sendable, Hashable {
  /// Which datagrams a rule applies to and how likely each outcome is.
  public struct Rule: Sendable, Hashable {
    /// The direction of the datagrams it looks at.
    public var direction: DatagramDirection
    /// The GIOP message types it looks at; nil: every datagram. A datagram shows its type
    /// when it is a whole message; outbound, every fragment of a message shows the message's
    /// type; inbound, only a message's first fragment does (the others match only rules
    /// without types).
    public var types: Set<GIOPMessageType>?
    /// The chance a matching datagram is lost.
    public var drop: Double
    /// The chance it is delivered twice.
    public var duplicate: Double
    /// The chance it is held back behind the next one.
    public var reorder: Double

    /// A rule for datagrams going `direction` of the given `types` (nil: all). The three
    /// chances are each in 0...1 and add up to at most 1.
    public init(_ direction: DatagramDirection, types: Set<GIOPMessageType>? = nil,
                drop: Double = 0, duplicate: Double = 0, reorder: Double = 0) {
      for p in [drop, duplicate, reorder] { precondition((0...1).contains(p), "probability \(p) is not in 0...1") }
      precondition(drop + duplicate + reorder <= 1 + 1e-9, "the chances add up to more than 1")
      self.direction = direction
      self.types = types
      self.drop = drop
      self.duplicate = duplicate
      self.reorder = reorder
    }

    func matches(_ direction: DatagramDirection, _ type: UInt8?) -> Bool {
      guard direction == self.direction else { return false }
      guard let types else { return true }
      guard let type, let known = GIOPMessageType(rawValue: type) else { return false }
      return types.contains(known)
    }
  }

  /// The rules, the first matching one applies.
  public var rules: [Rule]
  /// The seed of the draws: the same seed and the same sequence of datagrams give the same faults.
  public var seed: UInt64
  /// How long a held-back datagram waits for a next one before it goes anyway.
  public var reorderDelay: Duration

  public init(seed: UInt64 = 0, rules: [Rule] = [], reorderDelay: Duration = .milliseconds(5)) {
    self.seed = seed
    self.rules = rules
    self.reorderDelay = reorderDelay
  }

  /// No faults.
  public static let none = DatagramFaultPlan()
}

/// The counters of a UDP connector or listener.
public struct UDPTransportStatistics: Sendable, Hashable {
  /// Datagrams handed to the socket (a duplicate counts twice).
  public var sent = 0
  /// Datagrams read from the socket.
  public var received = 0
  /// Datagrams dropped by the fault plan (either direction).
  public var dropped = 0
  /// Datagrams the fault plan delivered twice.
  public var duplicated = 0
  /// Datagrams the fault plan held back behind a later one.
  public var reordered = 0
  /// Received datagrams refused: not GIOP, a bad fragment, or from a peer that could not
  /// be given a stream.
  public var malformed = 0
  /// Whole GIOP messages written (one or more datagrams each).
  public var messagesSent = 0
  /// Whole GIOP messages handed to readers (joined from fragments where needed).
  public var messagesReceived = 0
  /// Whole messages dropped because the stream's queue was full.
  public var queueOverflows = 0
  /// Datagrams the socket refused to send (buffer full, ICMP unreachable): lost.
  public var sendFailures = 0
  /// Listener: peers given a stream.
  public var peersAccepted = 0
  /// Listener: idle peers dropped to make room for a new one (``UDPConfiguration/maxPeers``).
  public var peersEvicted = 0
  /// Listener: peers ended after ``UDPConfiguration/peerIdleTimeout`` of silence.
  public var peersExpired = 0

  public init() {}
}

/// The fault plan and the counters shared by the streams of one ``UDPConnector`` or
/// ``UDPListener``, and the timer that releases held-back datagrams.
///
/// The plan can be changed while streams are open (a test can switch faults on and off);
/// random draws come from a SplitMix64 generator seeded with ``DatagramFaultPlan/seed``, in the
/// order datagrams pass. With several threads sending at once that order depends on
/// scheduling; keep the faulted traffic on one thread for a reproducible pattern.
public final class DatagramFaultInjector: Sendable {
  enum Fate { case deliver, drop, duplicate, reorder }

  struct State {
    var plan: DatagramFaultPlan
    var random: SplitMix64
    var statistics = UDPTransportStatistics()
  }

  private let state: Mutex<State>
  /// Broadcast after every change of the counters, for ``wait(until:timeout:)``.
  private let changed = ConditionLock()
  private let timers = DatagramTimers()

  /// An injector following `plan`.
  public init(_ plan: DatagramFaultPlan = .none) {
    state = Mutex(State(plan: plan, random: SplitMix64(seed: plan.seed)))
  }

  /// The plan in force; setting it restarts the random draws from its seed (the counters go on).
  public var plan: DatagramFaultPlan {
    get { state.withLock { $0.plan } }
    set { state.withLock { $0.plan = newValue; $0.random = SplitMix64(seed: newValue.seed) } }
  }

  /// The counters so far.
  public var statistics: UDPTransportStatistics { state.withLock { $0.statistics } }

  /// Waits until `condition` holds for the counters, or `timeout` passes; returns whether it held.
  @discardableResult
  public func wait(until condition: (UDPTransportStatistics) -> Bool, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    return changed.withLock {
      while !condition(statistics) {
        if !changed.wait(until: deadline) { return condition(statistics) }
      }
      return true
    }
  }

  /// Adds to a counter.
  func count(_ counter: WritableKeyPath<UDPTransportStatistics, Int>, _ amount: Int = 1) {
    state.withLock { $0.statistics[keyPath: counter] += amount }
    changed.withLock { changed.broadcast() }
  }

  /// Draws the fate of one datagram going `direction` showing GIOP message type `type`.
  func decide(_ direction: DatagramDirection, type: UInt8?) -> Fate {
    state.withLock { s in
      guard let rule = s.plan.rules.first(where: { $0.matches(direction, type) }) else { return .deliver }
      let faulty = rule.drop + rule.duplicate + rule.reorder
      guard faulty > 0 else { return .deliver }
      let u = s.random.nextUnitDouble()
      if u < rule.drop { return .drop }
      if u < rule.drop + rule.duplicate { return .duplicate }
      if u < faulty { return .reorder }
      return .deliver
    }
  }

  /// Applies the plan to one datagram and hands what survives to `emit`, in delivery order.
  /// `slot` is the stream's held-back datagram for this direction.
  func pass(_ datagram: [UInt8], type: UInt8?, _ direction: DatagramDirection, slot: ReorderSlot,
            emit: @escaping @Sendable ([UInt8]) -> Void) {
    switch decide(direction, type: type) {
    case .drop:
      count(\.dropped)
    case .deliver:
      emit(datagram)
      if let held = slot.take() { emit(held) }
    case .duplicate:
      count(\.duplicated)
      emit(datagram)
      emit(datagram)
      if let held = slot.take() { emit(held) }
    case .reorder:
      if let held = slot.take() {
        // One is held already: this one overtakes it, which is the reordering asked for.
        emit(datagram)
        emit(held)
        return
      }
      count(\.reordered)
      let ticket = slot.hold(datagram)
      timers.schedule(after: plan.reorderDelay) {
        if let late = slot.take(ticket) { emit(late) }
      }
    }
  }
}

/// One stream direction's datagram held back by a reorder fault.
final class ReorderSlot: Sendable {
  private let held = Mutex<(ticket: UInt64, datagram: [UInt8])?>(nil)
  private let tickets = Atomic<UInt64>(0)

  /// Holds `datagram`; the ticket takes it back later unless something else did first.
  func hold(_ datagram: [UInt8]) -> UInt64 {
    let ticket = tickets.add(1, ordering: .relaxed).newValue
    held.withLock { $0 = (ticket, datagram) }
    return ticket
  }

  /// Takes the held datagram, if any (and, with a ticket, only if it is still that one).
  func take(_ ticket: UInt64? = nil) -> [UInt8]? {
    held.withLock { slot in
      guard let current = slot, ticket == nil || current.ticket == ticket else { return nil }
      slot = nil
      return current.datagram
    }
  }

  /// Forgets the held datagram (the stream closed).
  func clear() { held.withLock { $0 = nil } }
}

/// Runs actions after a delay on one thread, started when there is something to run and gone
/// when there is not.
final class DatagramTimers: @unchecked Sendable {
  // @unchecked: `pending` and `running` are guarded by `lock`.
  struct Entry {
    let due: ContinuousClock.Instant
    let action: @Sendable () -> Void
  }
  private let lock = ConditionLock()
  private var pending: [Entry] = []
  private var running = false

  func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
    let start = lock.withLock { () -> Bool in
      pending.append(Entry(due: .now + delay, action: action))
      lock.broadcast()
      if running { return false }
      running = true
      return true
    }
    if start { spawnThread(name: "courier-udp-timer") { [self] in run() } }
  }

  private func run() {
    lock.lock()
    while !pending.isEmpty {
      let now = ContinuousClock.now
      let due = pending.filter { $0.due <= now }
      if due.isEmpty {
        lock.wait(until: pending.map(\.due).min())
        continue
      }
      pending.removeAll { $0.due <= now }
      lock.unlock()
      for entry in due { entry.action() }
      lock.lock()
    }
    running = false
    lock.unlock()
  }
}
