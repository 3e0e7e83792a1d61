public import CourierCore
import Synchronization

// Fault injection for tests of invocation semantics (at-most-once, COMPLETED_MAYBE, timeouts):
// transport decorators that drop, duplicate, delay or cut whole GIOP messages, the way
// grpc-swift-2's test transports and capnproto's `onSend` hook do.

/// Which way a message goes, seen from the side whose streams are wrapped.
public enum FaultDirection: Sendable, Hashable, CustomStringConvertible {
  /// What this side writes (a client's Requests, a server's Replies).
  case outgoing
  /// What this side reads (a client's Replies, a server's Requests).
  case incoming

  public var description: String { self == .outgoing ? "outgoing" : "incoming" }
}

/// What a fault does to one whole GIOP message.
public enum FaultAction: Sendable, Hashable, CustomStringConvertible {
  /// The message silently disappears from the byte stream (the messages around it stay whole).
  case drop
  /// The message is delivered twice, back to back.
  case duplicate
  /// The message is delivered after this long. The stream stays ordered, so the messages
  /// behind it wait too (head-of-line, as on TCP). On the outgoing side the writing thread
  /// waits; on the incoming side the reading thread does. Other connections are not held up.
  case delay(Duration)
  /// The connection is closed (both directions shut down) instead of delivering the message.
  /// An outgoing write then fails with `TransportError.closed`; an incoming side reads the
  /// messages that came before it, then the end of the stream.
  case cut
  /// The message is delivered, then the connection is closed (both directions).
  case cutAfter

  public var description: String {
    switch self {
    case .drop: "drop"
    case .duplicate: "duplicate"
    case .delay(let d): "delay(\(d))"
    case .cut: "cut"
    case .cutAfter: "cutAfter"
    }
  }
}

/// What to do to which GIOP messages: a list of rules and the seed of their random choices.
///
/// Each message is matched against the rules in order. Every rule whose direction and message
/// types match counts the message (for ``Rule/nth``); the first rule that then fires (its
/// ``Rule/nth`` and ``Rule/limit`` allow it and its ``Rule/probability`` draw succeeds)
/// decides the message's fate, and the rules after it draw nothing. A message no rule fires
/// for is delivered unchanged.
///
/// ```swift
/// // Lose every Reply a client receives, and every third Request a server receives.
/// let plan = FaultPlan(seed: 42, rules: [
///   .init(.drop, on: .incoming, types: [.reply]),
///   .init(.drop, on: .incoming, types: [.request], probability: 1.0 / 3),
/// ])
/// ```
public struct FaultPlan: Sendable, Hashable {
  /// One rule: which messages, what to do, how likely, how often.
  public struct Rule: Sendable, Hashable {
    /// What the rule does to a message it fires for.
    public var action: FaultAction
    /// Which way the messages it looks at go.
    public var direction: FaultDirection
    /// The message types it looks at; nil: every type. A fragmented message is several GIOP
    /// messages: `[.request]` matches only its first, `[.fragment]` the others.
    public var types: Set<GIOPMessageType>?
    /// The chance, 0...1, that it fires for a message it may fire for. 0 never fires, 1
    /// always does; neither draws a random number.
    public var probability: Double
    /// If set, the rule may fire only for the nth message it matches (1 is the first).
    public var nth: Int?
    /// If set, the rule fires at most this many times.
    public var limit: Int?

    /// A rule that does `action` to messages going `direction` of the given `types` (nil:
    /// all), with `probability`, only for the `nth` match, at most `limit` times.
    public init(_ action: FaultAction, on direction: FaultDirection, types: Set<GIOPMessageType>? = nil,
                probability: Double = 1, nth: Int? = nil, limit: Int? = nil) {
      precondition((0...1).contains(probability), "probability \(probability) is not in 0...1")
      precondition(nth.map { $0 >= 1 } ?? true, "nth counts from 1")
      precondition(limit.map { $0 >= 0 } ?? true, "limit must not be negative")
      self.action = action
      self.direction = direction
      self.types = types
      self.probability = probability
      self.nth = nth
      self.limit = limit
    }

    func matches(_ direction: FaultDirection, _ type: GIOPMessageType) -> Bool {
      direction == self.direction && (types?.contains(type) ?? true)
    }
  }

  /// The rules, tried in order.
  public var rules: [Rule]
  /// The seed of the random choices: the same seed and the same sequence of messages give the
  /// same faults.
  public var seed: UInt64

  public init(seed: UInt64 = 0, rules: [Rule] = []) {
    self.seed = seed
    self.rules = rules
  }

  /// No faults: every message passes unchanged (and is counted).
  public static let none = FaultPlan()
}

/// The counters of a ``FaultInjector``: messages seen and faults done, by direction and type.
public struct FaultStats: Sendable, Hashable {
  /// The counters of one direction and message type.
  public struct Counts: Sendable, Hashable {
    /// Whole messages seen (faulted or not; a duplicate counts once).
    public var seen = 0
    /// Messages that disappeared (`.drop`).
    public var dropped = 0
    /// Messages delivered twice (`.duplicate`).
    public var duplicated = 0
    /// Messages delivered late (`.delay`).
    public var delayed = 0
    /// Connections closed by a `.cut` or `.cutAfter` on a message of this type.
    public var cut = 0
    public init() {}
  }

  /// By message type, for what the wrapped streams wrote.
  public var outgoing: [GIOPMessageType: Counts] = [:]
  /// By message type, for what the wrapped streams read.
  public var incoming: [GIOPMessageType: Counts] = [:]
  /// Bytes passed through unexamined because they were not valid GIOP (bad magic, version,
  /// type, or a size over the injector's limit): after such bytes a direction of a stream is
  /// no longer framed.
  public var unframedBytes = 0
  /// Streams wrapped (connections opened or accepted).
  public var connections = 0

  public init() {}

  /// The counters of `type` going `direction`.
  public func counts(_ type: GIOPMessageType, _ direction: FaultDirection) -> Counts {
    (direction == .outgoing ? outgoing : incoming)[type] ?? Counts()
  }

  /// A counter summed over `type` (nil: all types) and `direction` (nil: both).
  public func total(_ counter: KeyPath<Counts, Int>, _ type: GIOPMessageType? = nil, _ direction: FaultDirection? = nil) -> Int {
    var sum = 0
    for (d, table) in [(FaultDirection.outgoing, outgoing), (.incoming, incoming)] where direction == nil || direction == d {
      for (t, c) in table where type == nil || type == t { sum += c[keyPath: counter] }
    }
    return sum
  }

  public func seen(_ type: GIOPMessageType? = nil, _ direction: FaultDirection? = nil) -> Int { total(\.seen, type, direction) }
  public func dropped(_ type: GIOPMessageType? = nil, _ direction: FaultDirection? = nil) -> Int { total(\.dropped, type, direction) }
  public func duplicated(_ type: GIOPMessageType? = nil, _ direction: FaultDirection? = nil) -> Int { total(\.duplicated, type, direction) }
  public func delayed(_ type: GIOPMessageType? = nil, _ direction: FaultDirection? = nil) -> Int { total(\.delayed, type, direction) }
  public func cut(_ type: GIOPMessageType? = nil, _ direction: FaultDirection? = nil) -> Int { total(\.cut, type, direction) }
}

/// One fault done, as recorded in ``FaultInjector/events``.
public struct FaultEvent: Sendable, Hashable, CustomStringConvertible {
  public var direction: FaultDirection
  public var messageType: GIOPMessageType
  /// Which message of this direction and type it was, counting from 1 since the injector
  /// was made (or its stats were reset).
  public var ordinal: Int
  public var action: FaultAction
  /// The index of the rule that fired, in ``FaultPlan/rules``.
  public var rule: Int

  public var description: String { "\(action) \(direction) \(messageType) #\(ordinal) (rule \(rule))" }
}

/// Decides the fate of each GIOP message by a ``FaultPlan``, and counts.
///
/// One injector is shared by the streams of a ``FaultInjectingConnector`` (client side) and/or
/// a ``FaultInjectingListener`` (server side). The plan can be changed while connections are
/// open, so a test can switch faults on and off:
///
/// ```swift
/// let faults = FaultInjector(FaultPlan(rules: [.init(.drop, on: .incoming, types: [.reply])]))
/// let orb = ORB(connector: FaultInjectingConnector(TCPConnector(), injector: faults))
/// let echo = Bench_Echo.Blocking(try orb.object(ior))
/// // The server runs the call, but its Reply is lost: TIMEOUT, COMPLETED_MAYBE.
/// #expect(throws: RPCError.self) { try echo.add(a: 1, b: 2, options: CallOptions(timeout: .milliseconds(200))) }
/// #expect(faults.stats.dropped(.reply) == 1)
/// faults.plan = .none  // back to a clean network
/// ```
///
/// Random choices come from a SplitMix64 generator seeded with ``FaultPlan/seed`` and drawn
/// in the order messages are seen. With several connections sending at once that order (and
/// so the pattern) depends on thread scheduling; for a reproducible pattern, keep the
/// probabilistic traffic on one connection in one thread.
public final class FaultInjector: Sendable {
  struct State {
    var plan: FaultPlan
    var random: SplitMix64
    /// Per rule: messages matched, and times fired.
    var matched: [Int]
    var fired: [Int]
    var stats = FaultStats()
    var events: [FaultEvent] = []

    init(plan: FaultPlan) {
      self.plan = plan
      random = SplitMix64(seed: plan.seed)
      matched = Array(repeating: 0, count: plan.rules.count)
      fired = Array(repeating: 0, count: plan.rules.count)
    }
  }

  /// The most events ``events`` keeps (the first ones).
  public static let maxEvents = 10_000

  private let state: Mutex<State>
  /// Broadcast after every change of the stats, for ``wait(until:timeout:)``.
  private let changed = ConditionLock()
  /// Messages that claim more than this are not framed (their bytes pass through unexamined).
  public let maxMessageSize: Int

  /// An injector following `plan`.
  /// - Parameter maxMessageSize: the largest message re-assembled; a header announcing more
  ///   switches that direction of the stream to pass-through.
  public init(_ plan: FaultPlan = .none, maxMessageSize: Int = 64 * 1024 * 1024) {
    state = Mutex(State(plan: plan))
    self.maxMessageSize = maxMessageSize
  }

  /// The plan in force. Setting it takes effect for the next message on every connection,
  /// restarts the random generator from the new plan's seed and the rules' ``FaultPlan/Rule/nth``
  /// and ``FaultPlan/Rule/limit`` counts; the stats go on.
  public var plan: FaultPlan {
    get { state.withLock { $0.plan } }
    set {
      state.withLock { s in
        let stats = s.stats, events = s.events
        s = State(plan: newValue)
        s.stats = stats
        s.events = events
      }
    }
  }

  /// The counters so far.
  public var stats: FaultStats { state.withLock { $0.stats } }

  /// The faults done so far, in order (at most ``maxEvents``).
  public var events: [FaultEvent] { state.withLock { $0.events } }

  /// Waits until `condition` holds for the stats, or `timeout` passes; returns whether it
  /// held. For tests that must wait for a message to go by (never sleep and hope):
  ///
  /// ```swift
  /// #expect(faults.wait(until: { $0.seen(.reply, .outgoing) >= 2 }, timeout: .seconds(2)))
  /// ```
  @discardableResult
  public func wait(until condition: (FaultStats) -> Bool, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    return changed.withLock {
      while !condition(stats) {
        if !changed.wait(until: deadline) { return condition(stats) }
      }
      return true
    }
  }

  private func notify() {
    changed.withLock { changed.broadcast() }
  }

  /// Sets the counters and the events back to zero.
  public func resetStats() {
    state.withLock { s in
      s.stats = FaultStats()
      s.events = []
    }
  }

  /// Counts one whole message of `type` going `direction` and returns what to do to it (nil:
  /// deliver it unchanged). The wrapped streams call this once per message; a custom
  /// transport decorator may too.
  public func decide(_ direction: FaultDirection, _ type: GIOPMessageType) -> FaultAction? {
    defer { notify() }
    return state.withLock { s in
      var counts = s.stats.counts(type, direction)
      counts.seen += 1
      var chosen: (rule: Int, action: FaultAction)?
      for (i, rule) in s.plan.rules.enumerated() where rule.matches(direction, type) {
        s.matched[i] += 1
        guard chosen == nil else { continue }
        if let nth = rule.nth, s.matched[i] != nth { continue }
        if let limit = rule.limit, s.fired[i] >= limit { continue }
        if rule.probability <= 0 { continue }
        if rule.probability < 1, s.random.nextUnitDouble() >= rule.probability { continue }
        s.fired[i] += 1
        chosen = (i, rule.action)
      }
      if let chosen {
        switch chosen.action {
        case .drop: counts.dropped += 1
        case .duplicate: counts.duplicated += 1
        case .delay: counts.delayed += 1
        case .cut, .cutAfter: counts.cut += 1
        }
        if s.events.count < Self.maxEvents {
          s.events.append(FaultEvent(direction: direction, messageType: type, ordinal: counts.seen,
                                     action: chosen.action, rule: chosen.rule))
        }
      }
      if direction == .outgoing { s.stats.outgoing[type] = counts } else { s.stats.incoming[type] = counts }
      return chosen?.action
    }
  }

  func countUnframed(_ bytes: Int) {
    state.withLock { $0.stats.unframedBytes += bytes }
    notify()
  }

  func countConnection() {
    state.withLock { $0.stats.connections += 1 }
    notify()
  }

  /// `stream` with this injector's faults applied to what goes through it.
  public func wrap(_ stream: any ByteStream) -> FaultInjectingStream {
    FaultInjectingStream(wrapping: stream, injector: self)
  }
}

/// A client-side ``StreamConnector`` whose streams go through a ``FaultInjector``.
///
/// ```swift
/// let faults = FaultInjector(FaultPlan(rules: [.init(.cutAfter, on: .outgoing, types: [.request], limit: 1)]))
/// let orb = ORB(connector: FaultInjectingConnector(TCPConnector(), injector: faults))
/// ```
public struct FaultInjectingConnector: StreamConnector {
  public let base: any StreamConnector
  public let injector: FaultInjector

  public init(_ base: any StreamConnector, injector: FaultInjector) {
    self.base = base
    self.injector = injector
  }

  public func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream {
    injector.wrap(try base.connect(host: host, port: port, deadline: deadline))
  }
}

/// A server-side ``StreamListener`` whose accepted streams go through a ``FaultInjector``.
///
/// ```swift
/// let faults = FaultInjector(FaultPlan(rules: [.init(.duplicate, on: .incoming, types: [.request])]))
/// let listener = FaultInjectingListener(try TCPListener(host: "127.0.0.1", port: 0), injector: faults)
/// let server = GIOPServer(adapter: adapter, listener: listener)
/// server.start()  // every request now runs twice
/// ```
public final class FaultInjectingListener: StreamListener {
  public let base: any StreamListener
  public let injector: FaultInjector

  public init(_ base: any StreamListener, injector: FaultInjector) {
    self.base = base
    self.injector = injector
  }

  public func accept() throws(TransportError) -> any ByteStream { injector.wrap(try base.accept()) }
  public var host: String { base.host }
  public var port: UInt16 { base.port }
  public func close() { base.close() }
}

/// A ``ByteStream`` decorator that re-assembles the GIOP messages written to and read from
/// another stream and applies a ``FaultInjector``'s rules to each whole message.
///
/// Writes may hold part of a message or several; a part is kept until the rest is written,
/// so the peer receives nothing of a message before its last byte is written. Reads return
/// whole messages' bytes once the message is complete (and its delay, if any, has passed).
/// Bytes that are not valid GIOP (see ``GIOPFrameSplitter``) pass through unchanged, and from
/// then on that direction is not framed. At the end of the stream an incomplete message is
/// delivered as it is (the reader then sees it truncated).
///
/// A `.delay` on the outgoing side blocks the writing thread (and so, in Courier's client, the
/// other callers on that connection, who wait for the write lock); on the incoming side it
/// blocks the reading thread until the message is due. Both waits end at ``shutdown()``.
public final class FaultInjectingStream: ByteStream, @unchecked Sendable {
  // @unchecked: `queue`, `cut`, `closed` and `innerEnded` are guarded by `lock`; the splitters
  // are in Mutexes; `scratch` is used only by the reading thread (one at a time, as
  // ByteStream requires; the callers' locks order successive readers).

  /// Bytes due to be read, and when.
  struct Chunk {
    var bytes: [UInt8]
    var offset = 0
    var due: ContinuousClock.Instant?
  }

  /// The stream faults are applied to.
  public let inner: any ByteStream
  public let injector: FaultInjector
  private let lock = ConditionLock()
  private var queue: [Chunk] = []
  /// A fault closed the connection: reads return what was queued before it, then 0; writes fail.
  private var cut = false
  /// ``shutdown()`` was called: reads return 0 at once, writes fail.
  private var closed = false
  /// The inner stream returned 0.
  private var innerEnded = false
  private let writeSplitter: Mutex<GIOPFrameSplitter>
  private let readSplitter: Mutex<GIOPFrameSplitter>
  private let scratch: UnsafeMutableRawBufferPointer

  /// Wraps `inner`; counts one connection in `injector`'s stats.
  public init(wrapping inner: any ByteStream, injector: FaultInjector) {
    self.inner = inner
    self.injector = injector
    writeSplitter = Mutex(GIOPFrameSplitter(maxMessageSize: injector.maxMessageSize))
    readSplitter = Mutex(GIOPFrameSplitter(maxMessageSize: injector.maxMessageSize))
    scratch = .allocate(byteCount: 64 * 1024, alignment: 8)
    injector.countConnection()
  }

  deinit { scratch.deallocate() }

  public var peerDescription: String { inner.peerDescription }

  // MARK: writing

  public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    try checkWritable()
    let frames = writeSplitter.withLock { s in
      s.append(bytes)
      return s.drain()
    }
    for (index, frame) in frames.enumerated() {
      switch frame {
      case .unframed(let raw):
        injector.countUnframed(raw.count)
        try inner.write(raw)
      case .message(let header, let message):
        switch injector.decide(.outgoing, header.messageType) {
        case nil:
          try inner.write(message)
        case .drop:
          continue
        case .duplicate:
          try inner.write(message)
          try inner.write(message)
        case .delay(let duration):
          try pause(duration)
          try inner.write(message)
        case .cut:
          cutConnection()
          throw TransportError(.closed, "\(peerDescription): connection cut (fault injected) instead of sending a \(header.messageType)")
        case .cutAfter:
          try inner.write(message)
          cutConnection()
          if index < frames.count - 1 {
            throw TransportError(.closed, "\(peerDescription): connection cut (fault injected) after a \(header.messageType)")
          }
          return
        }
      }
    }
  }

  private func checkWritable() throws(TransportError) {
    let (isCut, isClosed) = lock.withLock { (cut, closed) }
    if isCut { throw TransportError(.closed, "\(peerDescription): connection cut (fault injected)") }
    if isClosed { throw TransportError(.closed, "\(peerDescription): stream shut down") }
  }

  /// Waits `duration` (a delayed write), or until the stream is shut down or cut.
  private func pause(_ duration: Duration) throws(TransportError) {
    let until = ContinuousClock.now + duration
    let interrupted = lock.withLock { () -> Bool in
      while !cut, !closed, ContinuousClock.now < until { lock.wait(until: until) }
      return cut || closed
    }
    if interrupted { throw TransportError(.closed, "\(peerDescription): stream closed during an injected delay") }
  }

  private func cutConnection() {
    lock.withLock {
      cut = true
      lock.broadcast()
    }
    inner.shutdown()
  }

  // MARK: reading

  public func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    enum Step { case delivered(Int), ended, timedOut, readInner }
    while true {
      let step = lock.withLock { () -> Step in
        while true {
          if closed { return .ended }
          if let head = queue.first {
            if let due = head.due {
              let now = ContinuousClock.now
              if now < due {
                if let deadline, now >= deadline { return .timedOut }
                lock.wait(until: deadline.map { min($0, due) } ?? due)
                continue
              }
            }
            let n = min(buffer.count, head.bytes.count - head.offset)
            head.bytes.withUnsafeBytes { src in
              buffer.baseAddress!.copyMemory(from: src.baseAddress! + head.offset, byteCount: n)
            }
            queue[0].offset += n
            if queue[0].offset == queue[0].bytes.count { queue.removeFirst() }
            return .delivered(n)
          }
          if cut || innerEnded { return .ended }
          return .readInner
        }
      }
      switch step {
      case .delivered(let n): return n
      case .ended: return 0
      case .timedOut: throw TransportError(.timedOut, "no data from \(peerDescription) before the deadline (a delayed message is due later)")
      case .readInner: break
      }
      let n = try inner.read(into: scratch, deadline: deadline)
      if n == 0 {
        // The end of the stream: an incomplete message goes to the reader as it is.
        let rest = readSplitter.withLock { $0.takeRemainder() }
        lock.withLock {
          if !rest.isEmpty { queue.append(Chunk(bytes: rest)) }
          innerEnded = true
          lock.broadcast()
        }
        continue
      }
      let frames = readSplitter.withLock { s in
        s.append(UnsafeRawBufferPointer(rebasing: scratch[..<n]))
        return s.drain()
      }
      receive(frames)
    }
  }

  /// Applies the rules to messages read and queues what is to be delivered.
  private func receive(_ frames: [GIOPFrameSplitter.Frame]) {
    var chunks: [Chunk] = []
    var cutNow = false
    frames: for frame in frames {
      switch frame {
      case .unframed(let raw):
        injector.countUnframed(raw.count)
        chunks.append(Chunk(bytes: raw))
      case .message(let header, let message):
        switch injector.decide(.incoming, header.messageType) {
        case nil: chunks.append(Chunk(bytes: message))
        case .drop: continue
        case .duplicate:
          chunks.append(Chunk(bytes: message))
          chunks.append(Chunk(bytes: message))
        case .delay(let duration):
          chunks.append(Chunk(bytes: message, due: ContinuousClock.now + duration))
        case .cut:
          cutNow = true
          break frames
        case .cutAfter:
          chunks.append(Chunk(bytes: message))
          cutNow = true
          break frames
        }
      }
    }
    lock.withLock {
      if !closed { queue.append(contentsOf: chunks) }
      if cutNow { cut = true }
      lock.broadcast()
    }
    // The peer sees the connection close now, not when the reader gets to the end.
    if cutNow { inner.shutdown() }
  }

  public func shutdown() {
    lock.withLock {
      closed = true
      lock.broadcast()
    }
    inner.shutdown()
  }

  /// True if a message (or the end of the stream) waits in this stream, or the inner stream
  /// has bytes (perhaps only part of a message, or a message a rule will drop).
  public var hasPendingInput: Bool {
    if lock.withLock({ !queue.isEmpty || cut || closed || innerEnded }) { return true }
    return inner.hasPendingInput
  }
}

/// Cuts a byte stream into whole GIOP messages.
///
/// Bytes are framed by the 12-byte header's size field (in the byte order of flags bit 0).
/// As soon as the bytes cannot be GIOP (the first bytes are not `GIOP`, or the header has
/// an unknown version or message type, or a size over ``maxMessageSize``), the splitter
/// stops framing: everything from there on, buffered or later, comes out as
/// ``Frame/unframed(_:)``.
///
/// ```swift
/// var splitter = GIOPFrameSplitter()
/// splitter.append(bytesFromTheWire)
/// while let frame = splitter.next() {
///   if case .message(let header, let bytes) = frame { print(header.messageType, bytes.count) }
/// }
/// ```
public struct GIOPFrameSplitter: Sendable {
  /// One piece of the stream.
  public enum Frame: Sendable, Hashable {
    /// One whole GIOP message, header included.
    case message(GIOPHeader, [UInt8])
    /// Bytes that are not framed as GIOP.
    case unframed([UInt8])
  }

  /// A header announcing a larger message stops the framing.
  public let maxMessageSize: Int
  private var buffer: [UInt8] = []
  private var start = 0
  /// True once bytes turned out not to be GIOP.
  public private(set) var isUnframed = false

  public init(maxMessageSize: Int = 64 * 1024 * 1024) {
    self.maxMessageSize = maxMessageSize
  }

  /// The bytes appended and not yet returned.
  public var bufferedByteCount: Int { buffer.count - start }

  /// Adds bytes from the stream.
  public mutating func append(_ bytes: UnsafeRawBufferPointer) {
    buffer.append(contentsOf: bytes)
  }

  /// Adds bytes from the stream.
  public mutating func append(_ bytes: [UInt8]) {
    buffer.append(contentsOf: bytes)
  }

  /// The next whole message, or unframed bytes; nil if more bytes are needed.
  public mutating func next() -> Frame? {
    let available = buffer.count - start
    guard available > 0 else { return nil }
    if isUnframed { return .unframed(takeRemainder()) }
    for i in 0..<min(available, 4) where buffer[start + i] != GIOPHeader.magic[i] {
      isUnframed = true
      return .unframed(takeRemainder())
    }
    guard available >= GIOPHeader.size else { return nil }
    let parsed = buffer.withUnsafeBytes { raw in
      GIOPHeader.parse(UnsafeRawBufferPointer(rebasing: raw[start..<start + GIOPHeader.size]), maxMessageSize: maxMessageSize)
    }
    guard case .success(let header) = parsed else {
      isUnframed = true
      return .unframed(takeRemainder())
    }
    let total = GIOPHeader.size + Int(header.messageSize)
    guard available >= total else { return nil }
    let message = Array(buffer[start..<start + total])
    start += total
    compact()
    return .message(header, message)
  }

  /// Every frame available now.
  public mutating func drain() -> [Frame] {
    var frames: [Frame] = []
    while let frame = next() { frames.append(frame) }
    return frames
  }

  /// Takes every buffered byte (e.g. an incomplete message at the end of the stream).
  public mutating func takeRemainder() -> [UInt8] {
    let rest = Array(buffer[start...])
    buffer.removeAll(keepingCapacity: true)
    start = 0
    return rest
  }

  private mutating func compact() {
    if start == buffer.count {
      buffer.removeAll(keepingCapacity: true)
      start = 0
    } else if start >= 64 * 1024, start * 2 >= buffer.count {
      buffer.removeFirst(start)
      start = 0
    }
  }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small generator whose sequence depends only on its
/// seed, for reproducible fault patterns (also the datagram fault injector's, in CourierNIO).
package struct SplitMix64: RandomNumberGenerator, Sendable {
  var state: UInt64
  package init(seed: UInt64) { state = seed }

  package mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A double in 0..<1 from the top 53 bits.
  package mutating func nextUnitDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }
}
