public import CourierCore
public import CourierWire
import Synchronization

/// One client connection to one endpoint, shared by every caller: many requests in flight,
/// matched to their replies by request id (the "questions" table).
///
/// Reading uses the leader/followers pattern: a caller waiting for a reply when nobody is
/// reading becomes the reader itself, reads until its own reply arrives, hands other callers'
/// replies to them, and passes the reader role on. A lone caller therefore reads its reply on
/// its own thread, with no hand-off between threads, while many callers still share one
/// connection. A dead connection fails every outstanding call at once and every later call
/// fast; the connection pool then opens a new one.
public final class GIOPClientConnection: Sendable {
  /// One outstanding call.
  final class Waiter: @unchecked Sendable {
    // @unchecked: `result` is only touched with `connection.lock` held.
    var result: Result<GIOPIncoming, RPCError>?
  }

  struct State {
    var nextRequestID: UInt32 = 1
    var pending: [UInt32: Waiter] = [:]
    var leaderActive = false
    var failure: RPCError?
    var sentCodeSets = false
  }

  let stream: any ByteStream
  /// The GIOP version of every request on this connection.
  public let version: GIOPVersion
  /// The negotiated transmission code sets.
  public let codeSets: TransmissionCodeSets
  /// True if the server's profile had a CODE_SETS component, so the first request tells
  /// the server the choice in a CodeSets service context.
  let announceCodeSets: Bool
  let lock = ConditionLock()
  // Guarded by `lock` (ConditionLock, because followers sleep on it).
  nonisolated(unsafe) var state = State()
  // Touched only by the current leader.
  nonisolated(unsafe) var reader: GIOPMessageReader
  let writeLock = Mutex<Void>(())

  init(stream: any ByteStream, version: GIOPVersion, codeSets: TransmissionCodeSets, announceCodeSets: Bool, maxMessageSize: Int) {
    self.stream = stream
    self.version = version
    self.codeSets = codeSets
    self.announceCodeSets = announceCodeSets
    self.reader = GIOPMessageReader(stream: stream, maxMessageSize: maxMessageSize)
  }

  /// True once the connection failed or was closed by the server.
  public var isBroken: Bool { lock.withLock { state.failure != nil } }

  /// Reserves a request id and says whether this request must carry the CodeSets context.
  func nextRequest() throws(RPCError) -> (id: UInt32, sendCodeSets: Bool) {
    try lock.withLock { () throws(RPCError) -> (UInt32, Bool) in
      if let failure = state.failure { throw failure }
      let id = state.nextRequestID
      state.nextRequestID &+= 1
      let first = announceCodeSets && !state.sentCodeSets
      state.sentCodeSets = true
      return (id, first)
    }
  }

  /// Sends a request; for a two-way call registers the waiter first so no reply is missed.
  func send(_ message: [UInt8], requestID: UInt32, expectReply: Bool) throws(RPCError) -> Waiter? {
    var waiter: Waiter?
    if expectReply {
      let w = Waiter()
      try lock.withLock { () throws(RPCError) in
        if let failure = state.failure { throw failure }
        state.pending[requestID] = w
      }
      waiter = w
    }
    do {
      try writeLock.withLock { _ throws(TransportError) in try stream.write(message) }
    } catch {
      let failure = RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe,
                             "cannot send to \(stream.peerDescription): \(error.message)", cause: error)
      fail(with: failure)
      throw failure
    }
    return waiter
  }

  /// Waits for the reply of `requestID`, reading as the leader when nobody else is.
  func wait(for requestID: UInt32, waiter: Waiter, deadline: ContinuousClock.Instant?) throws(RPCError) -> GIOPIncoming {
    lock.lock()
    while true {
      if let result = waiter.result {
        lock.unlock()
        return try result.get()
      }
      if !state.leaderActive {
        state.leaderActive = true
        lock.unlock()
        let outcome = lead(until: requestID, waiter: waiter, deadline: deadline)
        lock.lock()
        state.leaderActive = false
        // Wake the others: one of them becomes the next leader.
        if !state.pending.isEmpty { lock.broadcast() }
        if case .timedOut = outcome {
          if waiter.result == nil {
            state.pending[requestID] = nil
            lock.unlock()
            cancel(requestID)
            throw Self.timeoutError(requestID)
          }
        }
        continue
      }
      if !lock.wait(until: deadline), waiter.result == nil {
        state.pending[requestID] = nil
        lock.unlock()
        cancel(requestID)
        throw Self.timeoutError(requestID)
      }
    }
  }

  static func timeoutError(_ id: UInt32) -> RPCError {
    RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .maybe, "no reply to request \(id) before the deadline")
  }

  enum LeadOutcome { case done, timedOut, failed }

  /// Reads messages until `waiter` has its result, the deadline passes, or the connection dies.
  private func lead(until requestID: UInt32, waiter: Waiter, deadline: ContinuousClock.Instant?) -> LeadOutcome {
    while true {
      let message: GIOPIncoming
      do {
        message = try reader.next(deadline: deadline)
      } catch {
        if case .transport(let t) = error, t.code == .timedOut { return .timedOut }
        fail(with: Self.error(for: error, peer: stream.peerDescription))
        return .failed
      }
      switch message.header.messageType {
      case .reply, .locateReply:
        var r = message.bodyReader()
        let id: UInt32
        if message.header.version.minor >= 2 || message.header.messageType == .locateReply {
          guard let v = try? r.read(UInt32.self) else { fail(with: Self.garbled("short reply")); return .failed }
          id = v
        } else {
          guard (try? r.readServiceContexts()) != nil, let v = try? r.read(UInt32.self) else {
            fail(with: Self.garbled("short reply header")); return .failed
          }
          id = v
        }
        let mine = lock.withLock { () -> Bool in
          // A reply nobody waits for (cancelled or timed out) is dropped: allowed by GIOP.
          guard let w = state.pending.removeValue(forKey: id) else { return false }
          w.result = .success(message)
          if w !== waiter { lock.broadcast() }
          return w === waiter
        }
        if mine { return .done }
      case .closeConnection:
        // Orderly: the server processed none of the requests it has not answered.
        fail(with: RPCError(.transient, minor: CourierMinor.connectionLost, completion: .no,
                            "\(stream.peerDescription) closed the connection (CloseConnection)"))
        return .failed
      case .messageError:
        fail(with: RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe,
                            "\(stream.peerDescription) answered MessageError"))
        return .failed
      default:
        // A server must not send requests on this connection (no bidirectional GIOP here).
        fail(with: Self.garbled("unexpected \(message.header.messageType) from the server"))
        sendMessageError()
        return .failed
      }
    }
  }

  static func garbled(_ why: String) -> RPCError {
    RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "protocol error: \(why)")
  }

  static func error(for readError: GIOPReadError, peer: String) -> RPCError {
    switch readError {
    case .closed, .truncated:
      return RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "\(peer) closed the connection")
    case .badHeader(let problem):
      return RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "bad message from \(peer): \(problem)")
    case .badFragment(let why):
      return RPCError(.marshal, minor: CourierMinor.badBody, completion: .maybe, "bad fragment from \(peer): \(why)")
    case .transport(let t):
      return RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "\(peer): \(t.message)", cause: t)
    }
  }

  /// Fails every outstanding call and every later one with `error`, and closes the stream.
  func fail(with error: RPCError) {
    lock.withLock {
      if state.failure == nil { state.failure = error }
      for w in state.pending.values where w.result == nil { w.result = .failure(error) }
      state.pending.removeAll()
      lock.broadcast()
    }
    stream.shutdown()
  }

  /// Sends CancelRequest for `requestID` (best effort).
  func cancel(_ requestID: UInt32) {
    let message = GIOPMessageBuilder.cancelRequest(requestID, version: version)
    try? writeLock.withLock { _ throws(TransportError) in try stream.write(message) }
  }

  private func sendMessageError() {
    let message = GIOPMessageBuilder.headerOnly(.messageError, version: version)
    try? writeLock.withLock { _ throws(TransportError) in try stream.write(message) }
  }

  /// Closes the connection; outstanding calls fail with `COMM_FAILURE`.
  public func close() {
    fail(with: RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "connection closed locally"))
  }
}
