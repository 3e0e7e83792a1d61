/// The seeds' five ways a remote call fails, as the caller learns of them, each with what is
/// known about whether the server ran the call.
///
/// Every ``RPCError`` has one (``RPCError/failure``), and each case maps to the CORBA system
/// exception and completion status that carry it on the wire (``rpcError(_:)``), so peers
/// that only know CORBA see the standard exceptions:
///
/// | failure | CORBA | completion |
/// |---|---|---|
/// | ``cannotLocateServer`` | `TRANSIENT` (connect failed), `OBJECT_NOT_EXIST`, `INV_OBJREF` | NO |
/// | ``requestLost`` | `TRANSIENT` (other minor codes) | NO |
/// | ``replyLost`` | `COMM_FAILURE` | YES |
/// | ``serverCrashed(completion:)`` | `COMM_FAILURE` | MAYBE or NO |
/// | ``timedOut(completion:)`` | `TIMEOUT` | as sent |
/// | ``clientCrashed`` | `TRANSIENT` minor `callerGone` (what an orphan's servant sees) | MAYBE |
///
/// Anything else (the servant raised, a marshalling error, a bad parameter) is ``notACommunicationFailure``.
public enum InvocationFailure: Sendable, Hashable, CustomStringConvertible {
  /// The server could not be located: nothing listens at the reference's address, the object
  /// does not exist there, or the reference is unusable. The call did not run.
  case cannotLocateServer
  /// The request did not reach the server (the connection was closed before it was sent, or
  /// the server refused it unrun). The call did not run: safe to send again.
  case requestLost
  /// The server ran the call but its reply was lost.
  case replyLost
  /// The server (or the connection to it) died while the call was out: it may have run.
  case serverCrashed(completion: CompletionStatus)
  /// No reply before the deadline: the request or the reply was lost, or the server is slow.
  case timedOut(completion: CompletionStatus)
  /// Seen by a servant: the client that made the request is gone, and the call was cancelled.
  case clientCrashed
  /// Not a failure of communication: the call was answered, with an error.
  case notACommunicationFailure

  public var description: String {
    switch self {
    case .cannotLocateServer: "cannot locate the server"
    case .requestLost: "the request was lost (not run)"
    case .replyLost: "the reply was lost (the call ran)"
    case .serverCrashed(let c): "the server crashed (\(c))"
    case .timedOut(let c): "timed out (\(c))"
    case .clientCrashed: "the client is gone"
    case .notACommunicationFailure: "not a communication failure"
    }
  }

  /// Whether the call may have run on the server.
  public var mayHaveRun: Bool {
    switch self {
    case .cannotLocateServer, .requestLost: false
    case .replyLost, .clientCrashed, .notACommunicationFailure: true
    case .serverCrashed(let c), .timedOut(let c): c != .no
    }
  }

  /// The CORBA system exception that carries this failure.
  public func rpcError(_ message: String) -> RPCError {
    switch self {
    case .cannotLocateServer: RPCError(.transient, minor: CourierMinor.connectFailed, completion: .no, message)
    case .requestLost: RPCError(.transient, minor: CourierMinor.idleConnectionClosed, completion: .no, message)
    case .replyLost: RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .yes, message)
    case .serverCrashed(let c): RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: c, message)
    case .timedOut(let c): RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: c, message)
    case .clientCrashed: RPCError(.transient, minor: CourierMinor.callerGone, completion: .maybe, message)
    case .notACommunicationFailure: RPCError(.unknown, minor: 0, completion: .maybe, message)
    }
  }
}

extension RPCError {
  /// Which of the five failures this error reports (from its code, minor code and completion).
  public var failure: InvocationFailure {
    switch code {
    case .transient:
      if minor == CourierMinor.callerGone { return .clientCrashed }
      if minor == CourierMinor.connectFailed || completion == .no && minor == 0 { return .cannotLocateServer }
      return completion == .no ? .requestLost : .serverCrashed(completion: completion)
    case .objectNotExist, .invObjref:
      return .cannotLocateServer
    case .commFailure:
      return completion == .yes ? .replyLost : .serverCrashed(completion: completion)
    case .timeout:
      return .timedOut(completion: completion)
    default:
      return .notACommunicationFailure
    }
  }
}
