public import CourierCore
import CourierWire
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a call promises about how often the server runs it (the seeds' invocation
/// semantics), chosen per call, per reference (``ObjectReference/with(options:)``) or per ORB
/// (``ORB/Configuration/defaultCallOptions``).
public enum InvocationSemantics: Sendable, Hashable {
  /// One send, no retry: the call may or may not have run when it fails.
  case maybe
  /// Sent again (on a new connection if the old one broke, or after ``CallOptions/retransmitAfter``
  /// without a reply) until a reply comes or the deadline passes; the server may run it more
  /// than once. For idempotent operations.
  case atLeastOnce
  /// Sent again like ``atLeastOnce``, with an FT_REQUEST context that stays the same on
  /// every retransmission: the server runs it once and answers duplicates with the retained
  /// reply (``ReplyHistory``). Safe for non-idempotent operations while the server keeps the reply.
  case atMostOnce
  /// At-most-once with the reply history in durable storage on the server (a
  /// `DurableReplyHistory`) and, on the client, the call kept in durable storage until its
  /// outcome arrives: retried across reconnects and server restarts until the one outcome
  /// comes or the deadline passes, and after the client's own restart.
  case exactlyOnce

  /// Whether the server filters duplicates (an FT_REQUEST context goes with the call).
  public var filtersDuplicates: Bool { self == .atMostOnce || self == .exactlyOnce }
}

/// An ORB's identity and request numbering for at-most-once calls.
final class AtMostOnceClient: Sendable {
  let clientID: String
  struct State {
    var next: Int32 = 1
    /// The calls under way, ascending (a handful: one per calling thread; new ids go last).
    var outstanding = OutstandingIDs()
    /// The last acknowledgement sent (the server keeps at most `acknowledgeEvery` more replies).
    var acknowledgedBelow: Int32 = 1
    /// Calls being written to the call log: their ids are not known yet, so no
    /// acknowledgement may go out (it could cover them).
    var recording = 0
  }
  /// An acknowledgement goes with every this-many calls, not each one: the server keeps at most
  /// this many replies of a client beyond the ones it needs.
  static let acknowledgeEvery: Int32 = 8
  let state = Mutex(State())

  init(clientID: String?) {
    if let clientID {
      self.clientID = clientID
    } else {
      // 48 random bits in 13 characters: short enough for Swift's inline strings, so the
      // server reads it without allocating.
      var g = SystemRandomNumberGenerator()
      let bits = (g.next() as UInt64) & 0xFFFF_FFFF_FFFF
      let hex = String(bits, radix: 16)
      self.clientID = "c" + String(repeating: "0", count: 12 - hex.count) + hex
    }
  }

  /// A call whose id was given elsewhere (the call log) is outstanding until ``end(_:)``.
  func adopt(_ id: Int32) { state.withLock { $0.outstanding.insert(id) } }

  /// A retention id for a new call (or `assigned`, from the call log), and the acknowledgement
  /// that goes with it: every reply below the lowest call still outstanding has arrived.
  func begin(assigned: Int32? = nil) -> (Int32, ReplyAcknowledgement?) {
    state.withLock { s in begin(&s, assigned: assigned) }
  }

  /// A call numbered by `record` (the call log's write): while it runs, no acknowledgement
  /// goes out, since one computed meanwhile would not know the id being recorded.
  func beginRecorded(_ record: () throws -> Int32) throws -> (Int32, ReplyAcknowledgement?) {
    state.withLock { $0.recording += 1 }
    let id: Int32
    do {
      id = try record()
    } catch {
      state.withLock { $0.recording -= 1 }
      throw error
    }
    return state.withLock { s in
      s.recording -= 1
      return begin(&s, assigned: id)
    }
  }

  private func begin(_ s: inout State, assigned: Int32?) -> (Int32, ReplyAcknowledgement?) {
    let id: Int32
    if let assigned {
      id = assigned
    } else {
      id = s.next
      s.next = s.next == .max ? 1 : s.next + 1
    }
    s.outstanding.insert(id)
    guard s.recording == 0 else { return (id, nil) }
    let below = s.outstanding.lowest ?? id
    guard below < s.acknowledgedBelow || below - s.acknowledgedBelow >= Self.acknowledgeEvery else { return (id, nil) }
    s.acknowledgedBelow = below
    return (id, ReplyAcknowledgement(clientID: clientID, below: below))
  }

  func end(_ id: Int32) { state.withLock { $0.outstanding.remove(id) } }
}

/// A small ascending set of retention ids: inserting the newest id appends, the lowest is
/// the first, removing searches from the front (calls tend to end in the order they began).
struct OutstandingIDs {
  private var ids: [Int32] = []

  init() { ids.reserveCapacity(16) }

  var lowest: Int32? { ids.first }
  var count: Int { ids.count }

  mutating func insert(_ id: Int32) {
    guard let last = ids.last, id <= last else { return ids.append(id) }
    var i = ids.count - 1
    while i > 0 && ids[i - 1] >= id { i -= 1 }
    if ids[i] != id { ids.insert(id, at: i) }
  }

  mutating func remove(_ id: Int32) {
    if let i = ids.firstIndex(of: id) { ids.remove(at: i) }
  }

  func contains(_ id: Int32) -> Bool { ids.contains(id) }
}

extension ObjectReference {
  /// Runs a call with retrying semantics: resends until a reply, an error that retrying
  /// cannot help, or the deadline (the call's timeout, or 60 s if it has none).
  func invokeRetrying(
    _ operation: String, userExceptions: [any UserException.Type], options effective: CallOptions,
    resuming: LoggedCall? = nil,
    arguments: (inout CDRWriter) throws -> Void
  ) throws -> Reply {
    // Each clock is read once for the call's bookkeeping: the deadline on this process's
    // clock, and as a TimeBase::TimeT (the call log's and the server's).
    let deadline: ContinuousClock.Instant
    let endTime: UInt64
    let firstSent = RequestDeadline.nowTimeT()
    if let resuming {
      deadline = RequestDeadline.instant(resuming.deadline)
      endTime = resuming.deadline
    } else {
      let timeout = effective.timeout ?? .seconds(60)
      deadline = ContinuousClock.now + timeout
      endTime = firstSent &+ RequestDeadline.ticks(timeout)
    }
    // Keep the reply a little past our own deadline, so a late duplicate still finds it.
    let keep = endTime &+ 60 * 10_000_000
    var ft: (FTRequestContext, ReplyAcknowledgement?)?
    var numbering: AtMostOnceClient?
    var logged: (any DurableCallLog)?
    var arguments = arguments
    var loggedArguments: [UInt8] = []
    switch effective.semantics {
    case .atMostOnce?:
      numbering = orb.atMostOnce
      let (id, ack) = orb.atMostOnce.begin()
      ft = (FTRequestContext(clientID: orb.atMostOnce.clientID, retentionID: id, expirationTime: keep), ack)
    case .exactlyOnce?:
      guard let log = orb.configuration.callLog, let client = orb.exactlyOnce else {
        throw RPCError(.badInvOrder, minor: CourierMinor.noCallLog, completion: .no,
                       "\(operation): exactly-once calls need a call log (ORB.Configuration.callLog)")
      }
      let id: Int32
      let ack: ReplyAcknowledgement?
      if let resuming {
        loggedArguments = resuming.arguments
        (id, ack) = client.begin(assigned: resuming.retentionID)
      } else {
        // Marshalled once, logged, and sent as logged on every attempt (GIOP 1.2 body alignment).
        var scratch = CDRWriter(capacity: 64)
        try arguments(&scratch)
        loggedArguments = scratch.finishedBytes()
        let call = LoggedCall(retentionID: 0, target: try ior.stringified(), operation: operation,
                              arguments: loggedArguments, deadline: endTime)
        do {
          (id, ack) = try client.beginRecorded { try log.record(call) }
        } catch {
          throw RPCError(.noResources, minor: CourierMinor.callLogFailed, completion: .no,
                         "\(operation): cannot record the call in the call log: \(error)")
        }
      }
      let bytes = loggedArguments
      arguments = { w in w.writeRaw(bytes) }
      logged = log
      numbering = client
      ft = (FTRequestContext(clientID: log.clientID, retentionID: id, expirationTime: keep), ack)
    default:
      break
    }
    defer {
      if let ft {
        // The outcome arrived (a reply, an exception, or the deadline): nothing to resume —
        // once the caller has taken it in, if it holds outcomes (ORB.holdingCallOutcomes).
        OutcomeHold.finish(ft.0.retentionID, numbering: numbering, log: logged)
      }
    }
    var backoff = Duration.milliseconds(2)
    var mayHaveRun = false
    var attempt = effective
    attempt.semantics = .maybe
    attempt.argumentsPremarshalled = attempt.argumentsPremarshalled || logged != nil
    // The server sees the call's deadline, not an attempt's: a request queued behind others
    // still runs while the caller waits for it.
    attempt.callEndTime = endTime
    attempt.ftRequest = ft?.0
    attempt.acknowledgement = ft?.1
    attempt.timeout = nil
    var firstAttempt = true
    var markedRetransmission = false
    var retransmit: Duration??  // the call's interval or the transport's; looked up again after a failure
    while true {
      do {
        if firstAttempt {
          firstAttempt = false
        } else if ContinuousClock.now >= deadline {
          throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: mayHaveRun ? .maybe : .no,
                         "\(operation): no reply before the deadline")
        }
        // The call's interval, else the transport's (a datagram transport loses messages
        // without breaking the connection, so waiting out the deadline would be wrong).
        if retransmit == nil {
          let interval: Duration? = try effective.retransmitAfter ?? target().connection.stream.retransmitHint
          retransmit = .some(interval)
        }
        // This attempt waits until the deadline, or the retransmission interval.
        let attemptDeadline = retransmit!.map { min(ContinuousClock.now + $0, deadline) } ?? deadline
        return try invokeOnce(operation, userExceptions: userExceptions, options: attempt, attemptDeadline: attemptDeadline,
                              arguments: arguments)
      } catch let error as RPCError where Self.worthRetrying(error) {
        retransmit = nil
        if error.completion != .no { mayHaveRun = true }
        if mayHaveRun && effective.semantics == .atMostOnce && !markedRetransmission {
          // From now on the server learns this may be a retransmission (see Retransmission).
          attempt.serviceContexts = effective.serviceContexts + [Retransmission(firstSent: firstSent).serviceContext]
          markedRetransmission = true
        }
        let attemptTimedOut = error.code == .timeout
        if ContinuousClock.now + (attemptTimedOut ? .zero : backoff) >= deadline {
          throw RPCError(error.code == .timeout ? .timeout : error.code, minor: error.minor,
                         completion: mayHaveRun ? .maybe : .no, "\(operation): gave up at the deadline: \(error.message)", cause: error)
        }
        if !attemptTimedOut {
          // The connection failed: give the server a moment (it may be restarting).
          let pause = backoff
          backoff = min(backoff * 2, .milliseconds(500))
          Self.sleep(pause)
        }
      }
    }
  }

  /// Failures a resend can cure: the connection, the server's availability, an attempt's
  /// own timeout. Not: the object is gone, the request is bad, the servant raised.
  static func worthRetrying(_ error: RPCError) -> Bool {
    (error.code == .commFailure && error.minor != CourierMinor.historyLost && error.minor != CourierMinor.alreadyAcknowledged) || error.code == .transient || error.code == .timeout
      || error.code == .noResponse
  }

  static func sleep(_ d: Duration) {
    let (s, atto) = d.components
    var ts = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
    nanosleep(&ts, nil)
  }
}

/// A client's safe storage for exactly-once calls: its identity and the calls sent and not yet
/// answered, written before the first send, so that a restarted client retries them
/// (``ORB/resumeUnfinishedCalls()``) with the same FT_REQUEST identity and the server answers
/// from its durable reply history instead of running them again.
public protocol DurableCallLog: AnyObject, Sendable {
  /// The client's identity (FT_REQUEST's client id), the same after a restart.
  var clientID: String { get }
  /// Records a call before it is first sent (durably) and returns its retention id, never
  /// handed out before by this log. `call.retentionID` is ignored.
  func record(_ call: LoggedCall) throws -> Int32
  /// Forgets a call whose outcome arrived.
  func complete(_ retentionID: Int32)
  /// The calls recorded and not completed, oldest first.
  func unfinished() throws -> [LoggedCall]
}

/// An exactly-once call as the call log keeps it.
public struct LoggedCall: Sendable, Hashable {
  public var retentionID: Int32
  /// The target's stringified IOR.
  public var target: String
  public var operation: String
  /// The marshalled arguments (CDR in this machine's byte order, GIOP 1.2 body alignment).
  public var arguments: [UInt8]
  /// When the caller stops waiting (TimeBase::TimeT).
  public var deadline: UInt64

  public init(retentionID: Int32, target: String, operation: String, arguments: [UInt8], deadline: UInt64) {
    self.retentionID = retentionID
    self.target = target
    self.operation = operation
    self.arguments = arguments
    self.deadline = deadline
  }
}

/// What became of a call resumed after a restart.
public struct ResumedCall: Sendable {
  public var call: LoggedCall
  /// The reply body, or why there is none.
  public var outcome: Result<ReplyBox, RPCError>
}

extension ORB {
  /// Sends again every exactly-once call the call log holds from before a restart (same
  /// identity: the server answers from its reply history if it ran it) and waits for their
  /// outcomes; each leaves the log when its outcome arrives or its deadline passes.
  public func resumeUnfinishedCalls() throws -> [ResumedCall] {
    guard let log = configuration.callLog else { return [] }
    var results: [ResumedCall] = []
    for call in try log.unfinished() {
      let reference: ObjectReference
      do {
        reference = try object(call.target)
      } catch {
        // The call cannot start (a bad target): it leaves the log, and no longer holds back
        // acknowledgements. (Once started, invokeRetrying ends it, whatever the outcome.)
        OutcomeHold.finish(call.retentionID, numbering: exactlyOnce, log: log)
        results.append(ResumedCall(call: call, outcome: .failure(Self.rpcError(error))))
        continue
      }
      var options = reference.defaultOptions ?? configuration.defaultCallOptions
      options.semantics = .exactlyOnce
      do {
        let reply = try reference.invokeRetrying(call.operation, userExceptions: [], options: options, resuming: call) { _ in }
        results.append(ResumedCall(call: call, outcome: .success(ReplyBox(body: reply.body))))
      } catch {
        results.append(ResumedCall(call: call, outcome: .failure(Self.rpcError(error))))
      }
    }
    return results
  }

  private static func rpcError(_ error: any Error) -> RPCError {
    error as? RPCError ?? RPCError(.unknown, minor: 0, completion: .maybe, "\(error)")
  }
}

/// Exactly-once outcomes the caller has received and not yet taken in: their calls stay in
/// the call log (and unacknowledged to the server) until the hold ends, so a crash before the
/// caller has recorded what a call returned resumes it after the restart — the server answers
/// from its reply history without running it again.
final class OutcomeHold: Sendable {
  struct Held: Sendable {
    var id: Int32
    var numbering: AtMostOnceClient?
    var log: (any DurableCallLog)?
  }
  private let held = Mutex<[Held]>([])

  /// The hold of the innermost ``ORB/holdingCallOutcomes(_:)`` around this code, if any.
  @TaskLocal static var current: OutcomeHold?

  /// Ends call `id`: now, or when the current hold ends (a call with a log only).
  static func finish(_ id: Int32, numbering: AtMostOnceClient?, log: (any DurableCallLog)?) {
    if log != nil, let hold = current {
      hold.held.withLock { $0.append(Held(id: id, numbering: numbering, log: log)) }
    } else {
      numbering?.end(id)
      log?.complete(id)
    }
  }

  func release() {
    for h in held.withLock({ held in defer { held = [] }; return held }) {
      h.numbering?.end(h.id)
      h.log?.complete(h.id)
    }
  }
}

extension ORB {
  /// Runs `body`, keeping every exactly-once call whose outcome arrives inside it in the call
  /// log until `body` returns or throws. Record what the calls returned inside `body`: a crash
  /// before that leaves the calls in the log, and ``resumeUnfinishedCalls()`` after the
  /// restart gets their outcomes again (the server replays its recorded replies; nothing runs
  /// twice). Without a hold, a call leaves the log as its outcome arrives, and a crash just
  /// after that loses the outcome (not the execution).
  ///
  /// ```swift
  /// try orb.holdingCallOutcomes {
  ///   let balance = try bank.transfer(from: "alice", to: "bob", amount: 10)
  ///   try ledger.record(balance)   // the application's own durable step
  /// }
  /// ```
  public func holdingCallOutcomes<R>(_ body: () throws -> R) rethrows -> R {
    let hold = OutcomeHold()
    defer { hold.release() }
    return try OutcomeHold.$current.withValue(hold) { try body() }
  }

  /// ``holdingCallOutcomes(_:)`` for async code.
  public func holdingCallOutcomes<R>(_ body: () async throws -> R) async rethrows -> R {
    let hold = OutcomeHold()
    defer { hold.release() }
    return try await OutcomeHold.$current.withValue(hold) { try await body() }
  }
}
