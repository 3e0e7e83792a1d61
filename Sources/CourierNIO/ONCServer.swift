public import CourierCore
public import CourierONC
import CourierWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How an ``ONCServer`` listens.
public struct ONCServerConfiguration: Sendable {
  /// The address to bind: an IPv4 or IPv6 literal. Loopback by default.
  public var host: String = "127.0.0.1"
  /// The port for TCP and UDP both (0: a free port, the same for both).
  public var port: UInt16 = 0
  /// Which transports to serve.
  public var transports: Set<ONCTransportProtocol> = [.tcp, .udp]
  /// The largest call record accepted over TCP (the sum of its fragments); a longer one closes
  /// the connection. UDP calls are bounded by the datagram size (64 KiB).
  public var maximumRecordSize: Int = 4 << 20
  /// How TCP connections are served.
  public enum TCPModel: Sendable, Hashable {
    /// One thread serves every connection (`poll`, as libtirpc's `svc_run`): no thread switch
    /// per call, the fastest with many connections on few cores; a servant that blocks holds
    /// up every connection.
    case eventLoop
    /// A thread per connection: a slow call holds up only its own connection.
    case threadPerConnection
  }
  /// How TCP connections are served (see ``TCPModel``).
  public var tcpModel: TCPModel = .eventLoop
  /// Threads receiving on the UDP socket (each serves the calls it receives).
  public var udpThreads: Int = 2
  /// The duplicate request cache for UDP calls (nil: none — UDP calls are then at-least-once
  /// under retransmission, as with a server that keeps no cache).
  public var duplicateRequestCache: DuplicateRequestCache? = DuplicateRequestCache()
  /// Whether TCP calls go through the duplicate request cache too (a client that reconnects
  /// and retransmits after a lost connection then gets the reply instead of a second run).
  public var cacheTCPCalls: Bool = false

  public init() {}
}

/// An ONC RPC server (RFC 5531) on TCP and UDP: it serves the program versions registered
/// with it, on blocking POSIX sockets — a thread per TCP connection and `udpThreads` threads on
/// the UDP socket, the model that measured fastest here (see ``TCPStream``).
///
/// ```swift
/// let server = ONCServer()
/// server.register(FileStoreDispatcher(servant: store))
/// try server.start()
/// print(server.tcpPort!, server.udpPort!)
/// ```
public final class ONCServer: Sendable {
  public let configuration: ONCServerConfiguration
  /// The exported programs (the protocol logic: see ``ONCProgramRegistry``).
  public let registry = ONCProgramRegistry()

  private struct State {
    var listener: TCPListener?
    var udpSocket: Int32 = -1
    var tcpPort: UInt16?
    var udpPort: UInt16?
    var connections: [ObjectIdentifier: any ByteStream] = [:]
    var hooks: [@Sendable () -> Void] = []
    var loop: ONCEventLoop?
    var stopped = false
    /// UDP threads still running (the last one closes the socket).
    var runningThreads = 0
  }
  private let state = Mutex(State())
  private let stopped = Atomic<Bool>(false)
  /// The event loop and UDP threads still running, for ``shutdown()`` to wait for.
  private let serving = Mutex(0)
  private let servingDone = ConditionLock()

  public init(configuration: ONCServerConfiguration = ONCServerConfiguration()) {
    self.configuration = configuration
  }

  /// Exports a program version (before or after ``start()``).
  public func register(_ dispatcher: any ONCProgramDispatcher) { registry.register(dispatcher) }

  /// Every exported (program, version).
  public var registeredVersions: [(program: UInt32, version: UInt32)] { registry.registeredVersions }

  /// The TCP port, once started (nil when TCP is not served).
  public var tcpPort: UInt16? { state.withLock { $0.tcpPort } }
  /// The UDP port, once started (nil when UDP is not served).
  public var udpPort: UInt16? { state.withLock { $0.udpPort } }

  /// Runs `body` at the start of ``shutdown()`` (to unregister from rpcbind, say).
  public func addShutdownHook(_ body: @escaping @Sendable () -> Void) {
    state.withLock { $0.hooks.append(body) }
  }

  /// Binds the sockets and starts serving on background threads.
  public func start() throws(TransportError) {
    let serveTCP = configuration.transports.contains(.tcp)
    let serveUDP = configuration.transports.contains(.udp)
    var listener: TCPListener? = nil
    var udp: (fd: Int32, port: UInt16)? = nil
    // With port 0, the kernel's free TCP port may be taken for UDP: try a few.
    var attempts = 0
    while true {
      attempts += 1
      if serveTCP { listener = try TCPListener(host: configuration.host, port: configuration.port, backlog: 1024) }
      guard serveUDP else { break }
      do {
        udp = try Self.bindUDP(host: configuration.host, port: listener?.port ?? configuration.port)
        break
      } catch {
        listener?.close()
        listener = nil
        if configuration.port != 0 || !serveTCP || attempts >= 20 { throw error }
      }
    }
    state.withLock {
      $0.listener = listener
      $0.tcpPort = listener?.port
      $0.udpSocket = udp?.fd ?? -1
      $0.udpPort = udp?.port
    }
    if let listener {
      switch configuration.tcpModel {
      case .threadPerConnection:
        spawnThread(name: "onc-accept") { [self] in acceptLoop(listener) }
      case .eventLoop:
        let loop = ONCEventLoop(listener: listener, registry: registry, maximumRecord: configuration.maximumRecordSize,
                                cache: configuration.cacheTCPCalls ? configuration.duplicateRequestCache : nil)
        state.withLock { $0.loop = loop }
        startServing(1)
        spawnThread(name: "onc-tcp-loop") { [self] in
          loop.run()
          finishServing()
        }
      }
    }
    if let udp {
      let threads = max(1, configuration.udpThreads)
      state.withLock { $0.runningThreads = threads }
      startServing(threads)
      for i in 0..<threads {
        spawnThread(name: "onc-udp-\(i)") { [self] in
          udpLoop(udp.fd)
          finishServing()
        }
      }
    }
  }

  private func startServing(_ n: Int) { serving.withLock { $0 += n } }

  private func finishServing() {
    servingDone.withLock {
      serving.withLock { $0 -= 1 }
      servingDone.broadcast()
    }
  }

  /// Stops serving: runs the shutdown hooks, closes the listener, the UDP socket and every
  /// connection, and returns once the event loop and the UDP threads have stopped (they look
  /// every 200 ms; at most 2 s) — so the port is closed when it returns. Calls being served on
  /// a thread per connection finish, but their replies may not be sent.
  public func shutdown() {
    let hooks = state.withLock { s -> [@Sendable () -> Void] in
      if s.stopped { return [] }
      s.stopped = true
      defer { s.hooks = [] }
      return s.hooks
    }
    for hook in hooks { hook() }
    stopped.store(true, ordering: .releasing)
    let (listener, connections, udp, loop) = state.withLock { s in
      defer { s.connections = [:]; s.listener = nil; s.udpSocket = -1; s.loop = nil }
      return (s.listener, Array(s.connections.values), s.udpSocket, s.loop)
    }
    loop?.stop()  // the loop notices within its poll timeout and closes its connections
    listener?.close()
    for c in connections { c.shutdown() }
    if udp >= 0 { _ = Glibc.shutdown(udp, Int32(SHUT_RDWR)) }
    // The UDP threads notice within their receive timeout and the last one closes the socket.
    let deadline = ContinuousClock.now + .seconds(2)
    servingDone.withLock {
      while serving.withLock({ $0 }) > 0 {
        if !servingDone.wait(until: deadline) { break }
      }
    }
  }

  // MARK: TCP

  private func acceptLoop(_ listener: TCPListener) {
    while !stopped.load(ordering: .acquiring) {
      let stream: any ByteStream
      do { stream = try listener.accept() } catch { return }
      let admitted = state.withLock { s -> Bool in
        if s.stopped { return false }
        s.connections[ObjectIdentifier(stream)] = stream
        return true
      }
      guard admitted else { stream.shutdown(); return }
      spawnThread(name: "onc-tcp") { [self] in
        serve(stream)
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(stream)) }
      }
    }
  }

  /// Serves calls on one connection until it closes or breaks the record format.
  private func serve(_ stream: any ByteStream) {
    let client = (stream as? TCPStream).flatMap { peerAddress(of: $0.fd) }
    let cache = configuration.cacheTCPCalls ? configuration.duplicateRequestCache : nil
    var reader = RecordStreamReader(maximumRecord: configuration.maximumRecordSize)
    var w = XDRWriter(capacity: 16 * 1024)
    var lookupCache = ONCProgramRegistry.LookupCache()
    let registry = self.registry
    while true {
      do {
        let send = try reader.withNextRecord(from: stream, deadline: nil) { record, start, end in
          w.reset()
          w.write(UInt32(0))  // the record mark, filled in by sendRecord
          return registry.handle(record, start: start, end: end, transport: .tcp, client: client, cache: cache,
                                 lookupCache: &lookupCache, reply: &w)
        }
        if send { try sendRecord(&w, on: stream) }
      } catch {
        // End of stream, a truncated or oversized record, a transport failure: the
        // connection cannot go on (a record stream cannot be resynchronised).
        stream.shutdown()
        return
      }
    }
  }

  // MARK: UDP

  private static func bindUDP(host: String, port: UInt16) throws(TransportError) -> (fd: Int32, port: UInt16) {
    let (fd, boundPort) = try boundDatagramSocket(host: host, port: port)
    var size: Int32 = 4 << 20
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    // A receive timeout, so that the threads notice shutdown.
    var tv = timeval(tv_sec: 0, tv_usec: 200_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return (fd, boundPort)
  }

  /// The largest datagram: a UDP call or reply is one datagram.
  static let maximumDatagram = 65_536

  private func udpLoop(_ fd: Int32) {
    defer {
      let last = state.withLock { s -> Bool in
        s.runningThreads -= 1
        return s.runningThreads == 0
      }
      if last { close(fd) }
    }
    var buffer = [UInt8](repeating: 0, count: Self.maximumDatagram)
    var w = XDRWriter(capacity: Self.maximumDatagram)
    let cache = configuration.duplicateRequestCache
    let registry = self.registry
    var lookupCache = ONCProgramRegistry.LookupCache()
    var from = sockaddr_storage()
    while !stopped.load(ordering: .acquiring) {
      var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
      let n = buffer.withUnsafeMutableBytes { p in
        withUnsafeMutablePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, p.baseAddress, p.count, Int32(MSG_TRUNC), $0, &fromLength) }
        }
      }
      if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
        return
      }
      if n == 0 && stopped.load(ordering: .acquiring) { return }
      guard n <= buffer.count else { continue }  // truncated: larger than any call we take
      w.reset()
      let client = ONCPeerAddress(from)
      guard registry.handle(buffer, start: 0, end: n, transport: .udp, client: client, cache: cache,
                            lookupCache: &lookupCache, reply: &w) else { continue }
      _ = w.withUnsafeBytes { raw in
        withUnsafePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), $0, fromLength) }
        }
      }
    }
  }
}
