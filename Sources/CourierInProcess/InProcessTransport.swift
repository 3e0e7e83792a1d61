public import CourierCore
import CourierGIOP
import CourierNIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An in-process transport: a connector and a listener joined by socket pairs inside one
/// process, so a client ORB and a ``GIOPServer`` talk through the full GIOP code path with
/// no TCP port (for tests, and for colocated objects).
///
/// ```swift
/// let transport = InProcessTransport()
/// let server = GIOPServer(adapter: adapter, listener: transport.listener)
/// server.start()
/// let orb = ORB(connector: transport.connector)
/// ```
public final class InProcessTransport: Sendable {
  /// Accepts the connections made through ``connector``.
  public let listener: InProcessListener
  /// Connects to ``listener`` whatever host and port the reference names.
  public var connector: InProcessConnector { InProcessConnector(listener: listener) }

  public init(host: String = "inprocess", port: UInt16 = 1) {
    listener = InProcessListener(host: host, port: port)
  }
}

/// The server side of an ``InProcessTransport``.
public final class InProcessListener: StreamListener {
  struct State {
    var waiting: [any ByteStream] = []
    var closed = false
  }
  let state = Mutex(State())
  let ready = ConditionLock()
  public let host: String
  public let port: UInt16

  init(host: String, port: UInt16) {
    self.host = host
    self.port = port
  }

  func enqueue(_ stream: any ByteStream) throws(TransportError) {
    try ready.withLock { () throws(TransportError) in
      let ok = state.withLock { s -> Bool in
        if s.closed { return false }
        s.waiting.append(stream)
        return true
      }
      guard ok else { throw TransportError(.connectFailed, "in-process listener is closed") }
      ready.broadcast()
    }
  }

  public func accept() throws(TransportError) -> any ByteStream {
    try ready.withLock { () throws(TransportError) -> any ByteStream in
      while true {
        let next = state.withLock { s -> (any ByteStream)?? in
          if s.closed { return .some(nil) }
          return s.waiting.isEmpty ? nil : .some(s.waiting.removeFirst())
        }
        switch next {
        case .some(.some(let stream)): return stream
        case .some(.none): throw TransportError(.closed, "in-process listener closed")
        case .none: ready.wait(until: nil)
        }
      }
    }
  }

  public func close() {
    ready.withLock {
      state.withLock { $0.closed = true }
      ready.broadcast()
    }
  }
}

/// The client side of an ``InProcessTransport``.
public struct InProcessConnector: StreamConnector {
  let listener: InProcessListener

  public func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
      throw TransportError(.connectFailed, "socketpair: \(String(cString: strerror(errno)))")
    }
    let client = TCPStream(descriptor: fds[0], peer: "in-process server")
    try listener.enqueue(TCPStream(descriptor: fds[1], peer: "in-process client"))
    return client
  }
}
