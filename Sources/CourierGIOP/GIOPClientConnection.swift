import CourierCore
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
    // @unchecked: `result` is only touched with `connection.lock` held (so the dynamic
    // exclusivity check, which costs more than the lock, is off).
    @exclusivity(unchecked) var result: Result<GIOPIncoming, RPCError>?
  }

  struct State {
    var nextRequestID: UInt32 = 1
    var pending = PendingTable()
    var leaderActive = false
    var failure: RPCError?
    var sentCodeSets = false
    /// Waiters of finished synchronous calls, for the next calls (no allocation per call).
    var spareWaiters: [Waiter] = []
    /// The bytes of a reply its caller is done with, handed to the next leader's reader.
    var spareReply: [UInt8] = []
    /// When the last request began (a connection idle longer than `idleProbeAfter` is
    /// checked for a close by the server before it is used again).
    var lastBegin = ContinuousClock.now
  }

  /// How long a connection may sit idle before a call checks that the server has not closed it.
  let idleProbeAfter: Duration

  let stream: any ByteStream
  /// The GIOP version of every request on this connection.
  public let version: GIOPVersion
  /// The negotiated transmission code sets.
  public let codeSets: TransmissionCodeSets
  /// True if the server's profile had a CODE_SETS component, so the first request tells
  /// the server the choice in a CodeSets service context.
  let announceCodeSets: Bool
  let lock = ConditionLock()
  // Guarded by `lock` (ConditionLock, because followers sleep on it). The lock is what keeps
  // accesses exclusive, so the dynamic exclusivity check is off.
  @exclusivity(unchecked) nonisolated(unsafe) var state = State()
  // Touched only by the current leader.
  @exclusivity(unchecked) nonisolated(unsafe) var reader: GIOPMessageReader
  /// Serializes writes; holds a spare request buffer, lent to the next request so that
  /// marshalling a call allocates nothing.
  let writeLock = Mutex<[UInt8]>([])
  /// Set once, when the connection fails: read without the lock on every call.
  let broken = Atomic<Bool>(false)
  /// The largest request buffer kept for reuse.
  static let maxSpareBuffer = 64 * 1024

  init(stream: any ByteStream, version: GIOPVersion, codeSets: TransmissionCodeSets, announceCodeSets: Bool, maxMessageSize: Int,
       idleProbeAfter: Duration = .milliseconds(1)) {
    self.idleProbeAfter = idleProbeAfter
    self.stream = stream
    self.version = version
    self.codeSets = codeSets
    self.announceCodeSets = announceCodeSets
    self.reader = GIOPMessageReader(stream: stream, maxMessageSize: maxMessageSize)
  }

  /// True once the connection failed or was closed by the server.
  public var isBroken: Bool { broken.load(ordering: .acquiring) }

  /// What ``begin(expectReply:)`` reserved for one request.
  struct Ticket {
    let requestID: UInt32
    let sendCodeSets: Bool
    let waiter: Waiter?
  }

  /// Reserves a request id, says whether the request must carry the CodeSets context, and
  /// (two-way) registers the waiter before anything is sent, so that no reply is missed.
  func begin(expectReply: Bool) throws(RPCError) -> Ticket {
    try lock.withLock { () throws(RPCError) -> Ticket in
      if let failure = state.failure { throw failure }
      if state.pending.isEmpty {
        // Nobody reads an idle connection: a server that died or closed it meanwhile is seen
        // only now. Then the request is certainly not sent (TRANSIENT, COMPLETED_NO), and
        // the ORB sends it again on a new connection.
        let now = ContinuousClock.now
        if now - state.lastBegin > idleProbeAfter, serverClosedIdleConnection() {
          let error = RPCError(.transient, minor: CourierMinor.idleConnectionClosed, completion: .no,
                               "\(stream.peerDescription) closed the connection while it was idle")
          state.failure = error
          broken.store(true, ordering: .releasing)
          stream.shutdown()
          throw error
        }
        state.lastBegin = now
      }
      let waiter = expectReply ? (state.spareWaiters.popLast() ?? Waiter()) : nil
      let id = state.nextRequestID
      state.nextRequestID &+= 1
      let first = announceCodeSets && !state.sentCodeSets
      state.sentCodeSets = true
      if let waiter { state.pending.insert(waiter, for: id) }
      return Ticket(requestID: id, sendCodeSets: first, waiter: waiter)
    }
  }

  /// Whether the server closed this idle connection: the end of the stream, or a
  /// CloseConnection or MessageError waiting. A stray Reply (to a call that timed out, or a
  /// duplicate) is not a close: the next reader discards it.
  private func serverClosedIdleConnection() -> Bool {
    withUnsafeTemporaryAllocation(byteCount: 8, alignment: 8) { buffer in
      guard let n = stream.peekPending(buffer) else { return false }
      guard n >= 8, buffer[0] == 0x47, buffer[1] == 0x49, buffer[2] == 0x4F, buffer[3] == 0x50 else { return n == 0 }
      let type = buffer[7]
      return type == GIOPMessageType.closeConnection.rawValue || type == GIOPMessageType.messageError.rawValue
    }
  }

  /// Takes back the bytes of a reply its caller has finished reading (see ``Reply``).
  func returnReplyBuffer(_ bytes: [UInt8]) {
    guard bytes.capacity <= Self.maxSpareBuffer else { return }
    lock.withLock { state.spareReply = bytes }
  }

  /// Forgets a request that was begun but will not be sent (its arguments did not marshal).
  func abandon(_ requestID: UInt32) {
    lock.withLock { _ = state.pending.removeValue(forKey: requestID) }
  }

  /// A buffer to marshal the next request into (the spare one, if no other call has it).
  func takeBuffer() -> [UInt8] {
    writeLock.withLock { spare in
      let buffer = spare
      spare = []
      return buffer
    }
  }

  /// Sends a marshalled request and keeps its buffer as the spare one. A failed write fails
  /// the connection (and with it every call waiting on it).
  func transmit(_ message: consuming CDRWriter) throws(RPCError) {
    var message = message
    let failure = writeLock.withLock { spare -> TransportError? in
      do {
        try message.withUnsafeBytes { try stream.write($0) }
      } catch let e as TransportError {
        return e
      } catch {
        return TransportError(.failed, "\(error)")
      }
      let storage = message.takeStorage()
      if storage.capacity <= Self.maxSpareBuffer { spare = storage }
      return nil
    }
    if let failure {
      let error = RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe,
                           "cannot send to \(stream.peerDescription): \(failure.message)", cause: failure)
      fail(with: error)
      throw error
    }
  }

  /// Waits for the reply of `requestID`, reading as the leader when nobody else is.
  /// - Parameter recycle: the caller will not look at `waiter` again (a synchronous call), so
  ///   it may serve a later call.
  func wait(for requestID: UInt32, waiter: Waiter, deadline: ContinuousClock.Instant?, recycle: Bool = false) throws(RPCError) -> GIOPIncoming {
    lock.lock()
    while true {
      if let result = waiter.result {
        if recycle, state.spareWaiters.count < 64 {
          waiter.result = nil
          state.spareWaiters.append(waiter)
        }
        lock.unlock()
        return try result.get()
      }
      if !state.leaderActive {
        state.leaderActive = true
        let spare = state.spareReply
        state.spareReply = []
        lock.unlock()
        if spare.capacity > 0 { reader.recycle(bytes: spare) }
        let outcome = lead(until: requestID, waiter: waiter, deadline: deadline)
        lock.lock()
        state.leaderActive = false
        // Wake the others: one of them becomes the next leader.
        if !state.pending.isEmpty { lock.broadcast() }
        if case .timedOut = outcome {
          if waiter.result == nil {
            state.pending.removeValue(forKey: requestID)
            lock.unlock()
            cancel(requestID)
            throw Self.timeoutError(requestID)
          }
        }
        continue
      }
      if !lock.wait(until: deadline), waiter.result == nil {
        state.pending.removeValue(forKey: requestID)
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
    broken.store(true, ordering: .releasing)
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

/// The calls waiting for replies on one connection, by request id. A short array searched
/// from the newest end: there are rarely more than a few dozen calls in flight on one
/// connection, and then this beats hashing.
struct PendingTable {
  private var ids: [UInt32] = []
  private var waiters: [GIOPClientConnection.Waiter] = []

  var isEmpty: Bool { ids.isEmpty }
  var values: [GIOPClientConnection.Waiter] { waiters }

  mutating func insert(_ waiter: GIOPClientConnection.Waiter, for id: UInt32) {
    ids.append(id)
    waiters.append(waiter)
  }

  /// Removes and returns the waiter for `id`, if it is still there.
  @discardableResult
  mutating func removeValue(forKey id: UInt32) -> GIOPClientConnection.Waiter? {
    guard let index = ids.lastIndex(of: id) else { return nil }
    let waiter = waiters[index]
    let last = ids.count - 1
    if index != last {
      ids[index] = ids[last]
      waiters[index] = waiters[last]
    }
    ids.removeLast()
    waiters.removeLast()
    return waiter
  }

  mutating func removeAll() {
    ids.removeAll(keepingCapacity: true)
    waiters.removeAll(keepingCapacity: true)
  }
}
