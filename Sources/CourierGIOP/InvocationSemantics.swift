import CourierCore
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
    var outstanding: Set<Int32> = []
    /// The last acknowledgement sent (the server keeps at most `acknowledgeEvery` more replies).
    var acknowledgedBelow: Int32 = 1
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

  /// A retention id for a new call, and the acknowledgement that goes with it: every reply
  /// below the lowest call still outstanding has arrived.
  func begin() -> (Int32, ReplyAcknowledgement?) {
    state.withLock { s in
      let id = s.next
      s.next = s.next == .max ? 1 : s.next + 1
      s.outstanding.insert(id)
      let below = s.outstanding.count == 1 ? id : (s.outstanding.min() ?? id)
      guard below < s.acknowledgedBelow || below - s.acknowledgedBelow >= Self.acknowledgeEvery else { return (id, nil) }
      s.acknowledgedBelow = below
      return (id, ReplyAcknowledgement(clientID: clientID, below: below))
    }
  }

  func end(_ id: Int32) { _ = state.withLock { $0.outstanding.remove(id) } }
}

extension ObjectReference {
  /// Runs a call with retrying semantics: resends until a reply, an error that retrying
  /// cannot help, or the deadline (the call's timeout, or 60 s if it has none).
  func invokeRetrying(
    _ operation: String, userExceptions: [any UserException.Type], options effective: CallOptions,
    arguments: (inout CDRWriter) throws -> Void
  ) throws -> Reply {
    let deadline = ContinuousClock.now + (effective.timeout ?? .seconds(60))
    var ft: (FTRequestContext, ReplyAcknowledgement?)?
    if effective.semantics?.filtersDuplicates == true {
      let (id, ack) = orb.atMostOnce.begin()
      // Keep the reply a little past our own deadline, so a late duplicate still finds it.
      let keep = RequestDeadline.nowTimeT() &+ UInt64((effective.timeout ?? .seconds(60)).components.seconds + 60) &* 10_000_000
      ft = (FTRequestContext(clientID: orb.atMostOnce.clientID, retentionID: id, expirationTime: keep), ack)
    }
    defer { if let ft { orb.atMostOnce.end(ft.0.retentionID) } }
    var backoff = Duration.milliseconds(2)
    var mayHaveRun = false
    var attempt = effective
    attempt.semantics = .maybe
    if let ft {
      let mine = ft.1.map { [ft.0.serviceContext, $0.serviceContext] } ?? [ft.0.serviceContext]
      attempt.serviceContexts = effective.serviceContexts.isEmpty ? mine : mine + effective.serviceContexts
    }
    while true {
      let remaining = ContinuousClock.now.duration(to: deadline)
      do {
        guard remaining > .zero else {
          throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: mayHaveRun ? .maybe : .no,
                         "\(operation): no reply before the deadline")
        }
        // The call's interval, else the transport's (a datagram transport loses messages
        // without breaking the connection, so waiting out the deadline would be wrong).
        let retransmit = try effective.retransmitAfter ?? target().connection.stream.retransmitHint
        attempt.timeout = retransmit.map { min($0, remaining) } ?? remaining
        return try invokeOnce(operation, userExceptions: userExceptions, options: attempt, arguments: arguments)
      } catch let error as RPCError where Self.worthRetrying(error) {
        if error.completion != .no { mayHaveRun = true }
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
    error.code == .commFailure || error.code == .transient || error.code == .timeout || error.code == .noResponse
  }

  static func sleep(_ d: Duration) {
    let (s, atto) = d.components
    var ts = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
    nanosleep(&ts, nil)
  }
}
