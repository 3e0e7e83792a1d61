public import CourierCore
import CourierGIOP
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// GIOP over UDP behind the same ByteStream / StreamConnector / StreamListener protocols as TCP,
// so the ORB, GIOPServer, the reply history (at-most-once) and deadlines work unchanged.
//
// Every write is one whole GIOP message (GIOPClientConnection and GIOPServer write whole
// messages; a partial write is buffered until the header's size is complete), sent as one
// datagram, byte for byte as on TCP and as TAO's DIOP sends it, or, above the payload limit,
// as Courier `CFRG` fragments (see DatagramFraming in CourierCore). Reads return the bytes of
// whole received messages, so the GIOPMessageReader above sees a clean stream; a datagram
// that is not GIOP, or a bad fragment, is dropped and counted, never spliced into the stream.
//
// UDP loses, duplicates and reorders: a lost request or reply is not a broken connection.
// Streams say so through `ByteStream.retransmitHint`, which retrying semantics use as the
// per-attempt timeout; `.atMostOnce` then filters the duplicates on the server.
// docs/udp-transport.md has the whole picture.

/// Settings of a ``UDPConnector`` or ``UDPListener`` (each field says which side uses it).
public struct UDPConfiguration: Sendable, Hashable {
  /// Both: the largest datagram sent; larger messages are fragmented. 17 ... 65,507.
  public var maxDatagramPayload: Int = DatagramFraming.defaultMaxPayload
  /// Both: the largest message received (GIOP header included); larger ones are refused.
  public var maxMessageSize: Int = 64 * 1024 * 1024
  /// Both: fragmented messages in progress per stream (the oldest is dropped beyond).
  public var maxPartialMessages: Int = 64
  /// Both: a fragmented message still incomplete this long after its first fragment is dropped.
  public var partialMessageTimeout: Duration = .seconds(10)
  /// Both: whole messages waiting to be read per stream; more are dropped (counted in
  /// ``UDPTransportStatistics/queueOverflows``).
  public var queueLimit: Int = 256
  /// Both: SO_RCVBUF and SO_SNDBUF asked for (the kernel caps them at rmem_max / wmem_max).
  public var socketBufferSize: Int = 4 * 1024 * 1024
  /// Client: how long a call waits for a reply before a retrying call sends again
  /// (``ByteStream/retransmitHint``); nil leaves it to ``CallOptions/retransmitAfter``.
  public var retransmitInterval: Duration? = .milliseconds(50)
  /// Client: a stream used and then silent (nothing sent or received) this long tells the ORB, when it
  /// next wants to use it, that the server may have forgotten it, so the ORB opens a new one
  /// (with a fresh session: code sets announced again). Keep it below the server's
  /// ``peerIdleTimeout``. nil: never.
  public var reconnectAfterIdle: Duration? = .seconds(30)
  /// Server: at most this many peers have a stream; for a new one the least recently active
  /// idle peer is dropped (a new peer is refused if none is idle).
  public var maxPeers: Int = 1_024
  /// Server: a peer silent this long, with nothing waiting to be read, gets the end of its
  /// stream (as a TCP client closing) and is forgotten.
  public var peerIdleTimeout: Duration = .seconds(60)

  public init() {}

  var reassemblyLimits: DatagramReassembler.Limits {
    DatagramReassembler.Limits(maxMessageSize: maxMessageSize, maxPartialMessages: maxPartialMessages,
                               partialTimeout: partialMessageTimeout, maxBufferedBytes: maxMessageSize)
  }
}

// MARK: - client

/// Opens UDP "connections": connected UDP sockets, each a ``UDPStream`` (IPv4 and IPv6, names
/// resolved with `getaddrinfo`).
///
/// ```swift
/// let orb = ORB(connector: UDPConnector())
/// let ref = try orb.object("corbaloc::127.0.0.1:2809/Echo")
///   .with(options: CallOptions(timeout: .seconds(5), semantics: .atMostOnce))
/// ```
public struct UDPConnector: StreamConnector {
  public let configuration: UDPConfiguration
  /// The fault plan and counters of every stream this connector opens.
  public let faults: DatagramFaultInjector

  /// - Parameters:
  ///   - configuration: payload limit, retransmit interval, bounds.
  ///   - faults: datagram faults to inject (none by default).
  public init(configuration: UDPConfiguration = UDPConfiguration(), faults: DatagramFaultPlan = .none) {
    precondition((DatagramFraming.fragmentHeaderSize + 1...DatagramFraming.maxUDPPayload).contains(configuration.maxDatagramPayload),
                 "maxDatagramPayload \(configuration.maxDatagramPayload) is not in 17...65507")
    self.configuration = configuration
    self.faults = DatagramFaultInjector(faults)
  }

  /// The counters of every stream this connector opened.
  public var statistics: UDPTransportStatistics { faults.statistics }

  public func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream {
    let fd = try connectedSocket(host: host, port: port, type: SOCK_DGRAM, describe: "udp \(host):\(port)")
    UDPSocket.setBufferSizes(fd, configuration.socketBufferSize)
    return UDPStream(socket: UDPSocket(fd), peer: "udp \(host):\(port)", configuration: configuration, faults: faults)
  }
}

/// A connected UDP socket as a byte stream of whole GIOP messages. A thread of its own
/// receives datagrams, joins fragments and queues whole messages for ``read(into:deadline:)``.
public final class UDPStream: ByteStream, Sendable {
  let socket: UDPSocket
  public let peerDescription: String
  let configuration: UDPConfiguration
  let faults: DatagramFaultInjector
  let inbound: InboundPath
  let outbound: OutboundPath
  /// When something was last sent or received (for ``UDPConfiguration/reconnectAfterIdle``).
  let lastActivity = ActivityStamp()
  private let sentSomething = Atomic<Bool>(false)

  init(socket: UDPSocket, peer: String, configuration: UDPConfiguration, faults: DatagramFaultInjector) {
    self.socket = socket
    self.peerDescription = peer
    self.configuration = configuration
    self.faults = faults
    let inbox = MessageInbox(limit: configuration.queueLimit)
    inbound = InboundPath(inbox: inbox, limits: configuration.reassemblyLimits, faults: faults)
    outbound = OutboundPath(configuration: configuration, faults: faults) { [socket, faults] datagram in
      UDPSocket.send(datagram, faults: faults) { Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    spawnThread(name: "courier-udp-recv") { [socket, faults, inbound, lastActivity] in
      Self.receiveLoop(socket: socket, inbound: inbound, faults: faults, activity: lastActivity)
    }
  }

  deinit { shutdown() }

  /// Receives until the socket is shut down.
  private static func receiveLoop(socket: UDPSocket, inbound: InboundPath, faults: DatagramFaultInjector,
                                  activity: ActivityStamp) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    defer { buffer.deallocate() }
    while true {
      let n = recv(socket.fd, buffer.baseAddress, buffer.count, 0)
      if n < 0 {
        // ECONNREFUSED: an ICMP "port unreachable" for an earlier send (the server is not
        // there, perhaps yet): like a lost datagram.
        if errno == EINTR || errno == ECONNREFUSED || errno == EAGAIN { continue }
        inbound.inbox.shutdown()
        return
      }
      if socket.isShutDown { return }
      faults.count(\.received)
      activity.touch()
      inbound.receive(Array(UnsafeRawBufferPointer(rebasing: buffer[..<n])))
    }
  }

  /// Writes one whole GIOP message (a part of one is kept until the rest comes).
  public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    if socket.isShutDown { throw TransportError(.closed, "\(peerDescription): stream shut down") }
    lastActivity.touch()
    sentSomething.store(true, ordering: .releasing)
    try outbound.write(bytes, peer: peerDescription)
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    try inbound.inbox.read(into: buffer, deadline: deadline, peer: peerDescription)
  }

  public func shutdown() {
    guard socket.markShutDown() else { return }
    inbound.inbox.shutdown()
    inbound.held.clear()
    outbound.held.clear()
    _ = Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
  }

  public var hasPendingInput: Bool { inbound.inbox.hasPendingInput || isStale }

  /// Queued bytes, or the end of the stream once it has been silent past
  /// ``UDPConfiguration/reconnectAfterIdle`` (the server may have forgotten this peer).
  public func peekPending(_ buffer: UnsafeMutableRawBufferPointer) -> Int? {
    if isStale { return 0 }
    return inbound.inbox.peek(into: buffer)
  }

  /// Silent past the limit since it was last used (a stream that never sent anything is
  /// not stale: the server cannot have forgotten a peer it never heard from).
  private var isStale: Bool {
    guard let limit = configuration.reconnectAfterIdle, sentSomething.load(ordering: .acquiring) else { return false }
    return ContinuousClock.now - lastActivity.last > limit
  }

  /// The configured ``UDPConfiguration/retransmitInterval``.
  public var retransmitHint: Duration? { configuration.retransmitInterval }
}

// MARK: - server

/// One UDP socket serving many peers: a receive thread sorts datagrams by sender, and the
/// first whole message from a new sender makes a stream that ``accept()`` returns (so
/// GIOPServer serves it on its own thread, as a TCP connection); writes on it go to that
/// sender.
///
/// Bounded: ``UDPConfiguration/maxPeers`` streams (for a new peer the least recently active
/// idle one is dropped), ``UDPConfiguration/queueLimit`` messages waiting per stream, a peer
/// silent for ``UDPConfiguration/peerIdleTimeout`` gets the end of its stream.
///
/// ```swift
/// let server = GIOPServer(adapter: adapter, listener: try UDPListener(port: 2809))
/// server.start()
/// ```
public final class UDPListener: StreamListener, Sendable {
  let core: UDPListenerCore
  public let host: String
  public let port: UInt16

  /// Binds `host` (an IPv4 or IPv6 literal; `127.0.0.1` by default) and `port` (0: any free port).
  public init(host: String = "127.0.0.1", port: UInt16 = 0, configuration: UDPConfiguration = UDPConfiguration(),
              faults: DatagramFaultPlan = .none) throws(TransportError) {
    precondition((DatagramFraming.fragmentHeaderSize + 1...DatagramFraming.maxUDPPayload).contains(configuration.maxDatagramPayload),
                 "maxDatagramPayload \(configuration.maxDatagramPayload) is not in 17...65507")
    let (fd, boundPort) = try boundDatagramSocket(host: host, port: port)
    UDPSocket.setBufferSizes(fd, configuration.socketBufferSize)
    self.host = host
    self.port = boundPort
    core = UDPListenerCore(socket: UDPSocket(fd), configuration: configuration, faults: DatagramFaultInjector(faults),
                           name: "\(host):\(boundPort)")
    core.start()
  }

  deinit { core.close() }

  /// The fault plan and counters of this listener's peers.
  public var faults: DatagramFaultInjector { core.faults }
  /// The counters so far.
  public var statistics: UDPTransportStatistics { core.faults.statistics }
  /// Peers that have a stream now.
  public var peerCount: Int { core.peerCount }
  public var configuration: UDPConfiguration { core.configuration }

  public func accept() throws(TransportError) -> any ByteStream { try core.accept() }

  /// Stops receiving: ``accept()`` throws `.closed`, and every peer's stream reads the end of
  /// the stream. Writes still go out (a server's CloseConnection on its way down).
  public func close() { core.close() }
}

/// A UDP socket bound to `host` (an IPv4 or IPv6 literal) and `port` (0: any free port), and
/// the port it got.
func boundDatagramSocket(host: String, port: UInt16) throws(TransportError) -> (fd: Int32, port: UInt16) {
  var hints = addrinfo()
  hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
  var list: UnsafeMutablePointer<addrinfo>?
  let rc = getaddrinfo(host, String(port), &hints, &list)
  guard rc == 0, let ai = list else {
    throw TransportError(.failed, "bad listen address \(host): \(String(cString: gai_strerror(rc)))")
  }
  defer { freeaddrinfo(list) }
  let fd = socket(ai.pointee.ai_family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  guard fd >= 0 else { throw TransportError(.failed, "socket: \(String(cString: strerror(errno)))") }
  guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else {
    let why = String(cString: strerror(errno))
    Glibc.close(fd)
    throw TransportError(.failed, "bind udp \(host):\(port): \(why)")
  }
  var storage = sockaddr_storage()
  var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
  _ = withUnsafeMutablePointer(to: &storage) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
  }
  return (fd, PeerAddress(storage: storage, length: len).port)
}

/// The listener's socket, peers and receive thread (apart from the public object, so that the
/// thread does not keep the listener alive).
final class UDPListenerCore: @unchecked Sendable {
  // @unchecked: `peers`, `acceptQueue` and `closed` are guarded by `lock`.
  let socket: UDPSocket
  let configuration: UDPConfiguration
  let faults: DatagramFaultInjector
  let name: String
  let lock = ConditionLock()
  private var peers: [PeerAddress: UDPPeerStream] = [:]
  private var acceptQueue: [UDPPeerStream] = []
  private var closed = false

  init(socket: UDPSocket, configuration: UDPConfiguration, faults: DatagramFaultInjector, name: String) {
    self.socket = socket
    self.configuration = configuration
    self.faults = faults
    self.name = name
  }

  /// How often the receive thread looks for idle peers when no datagram comes.
  var sweepInterval: Duration {
    max(.milliseconds(1), min(configuration.peerIdleTimeout / 4, .seconds(1)))
  }

  func start() {
    UDPSocket.setReceiveTimeout(socket.fd, sweepInterval)
    spawnThread(name: "courier-udp-listen") { [self] in receiveLoop() }
  }

  var peerCount: Int { lock.withLock { peers.count } }

  private func receiveLoop() {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)
    defer { buffer.deallocate() }
    var lastSweep = ContinuousClock.now
    while true {
      var storage = sockaddr_storage()
      var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
      let n = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket.fd, buffer.baseAddress, buffer.count, 0, $0, &len) }
      }
      if lock.withLock({ closed }) { return }
      let now = ContinuousClock.now
      if now - lastSweep >= sweepInterval {
        sweep(now)
        lastSweep = now
      }
      if n < 0 {
        if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNREFUSED { continue }
        close()
        return
      }
      faults.count(\.received)
      let datagram = Array(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
      guard let stream = stream(for: PeerAddress(storage: storage, length: len), first: datagram) else {
        faults.count(\.malformed)
        continue
      }
      stream.touch(now)
      stream.inbound.receive(datagram)
    }
  }

  /// The stream of `peer`, made for it if `datagram` could start one (GIOP or a fragment)
  /// and there is room.
  private func stream(for peer: PeerAddress, first datagram: [UInt8]) -> UDPPeerStream? {
    let (found, evicted) = lock.withLock { () -> (UDPPeerStream?, UDPPeerStream?) in
      if let known = peers[peer] { return (known, nil) }
      guard !closed else { return (nil, nil) }
      let plausible = datagram.withUnsafeBytes { raw in
        switch DatagramFraming.kind(of: raw) {
        case .message: DatagramFraming.giopProblem(raw) == nil
        case .fragment: raw.count > DatagramFraming.fragmentHeaderSize
        case .unknown: false
        }
      }
      guard plausible else { return (nil, nil) }
      var evicted: UDPPeerStream?
      if peers.count >= configuration.maxPeers {
        // The least recently active peer with nothing waiting to be read makes room.
        guard let victim = peers.values.filter({ !$0.inbound.inbox.hasQueuedMessages }).min(by: { $0.lastActive < $1.lastActive }) else {
          return (nil, nil)
        }
        peers[victim.peer] = nil
        evicted = victim
      }
      let stream = UDPPeerStream(peer: peer, core: self)
      peers[peer] = stream
      return (stream, evicted)
    }
    if let evicted {
      faults.count(\.peersEvicted)
      evicted.end()
    }
    return found
  }

  /// A peer's first whole message arrived: its stream goes to ``accept()``.
  func announce(_ stream: UDPPeerStream) {
    lock.withLock {
      guard !closed, peers[stream.peer] === stream else { return }
      acceptQueue.append(stream)
      faults.count(\.peersAccepted)  // before anyone can accept it
      lock.broadcast()
    }
  }

  /// Ends the streams of peers silent past the idle timeout with nothing waiting to be read.
  private func sweep(_ now: ContinuousClock.Instant) {
    let limit = configuration.peerIdleTimeout
    let idle = lock.withLock { () -> [UDPPeerStream] in
      let idle = peers.values.filter { now - $0.lastActive >= limit && !$0.inbound.inbox.hasQueuedMessages }
      for stream in idle { peers[stream.peer] = nil }
      return idle
    }
    for stream in idle {
      if stream.wasAnnounced { faults.count(\.peersExpired) }
      stream.end()
    }
  }

  /// Forgets a stream whose user shut it down (a later datagram from the peer starts a new one).
  func forget(_ stream: UDPPeerStream) {
    lock.withLock {
      if peers[stream.peer] === stream { peers[stream.peer] = nil }
    }
  }

  func accept() throws(TransportError) -> any ByteStream {
    try lock.withLock { () throws(TransportError) -> any ByteStream in
      while true {
        if closed { throw TransportError(.closed, "udp listener \(name) closed") }
        if !acceptQueue.isEmpty { return acceptQueue.removeFirst() }
        lock.wait(until: nil)
      }
    }
  }

  func close() {
    let streams = lock.withLock { () -> [UDPPeerStream] in
      if closed { return [] }
      closed = true
      lock.broadcast()
      defer { peers.removeAll(); acceptQueue.removeAll() }
      return Array(peers.values)
    }
    // SHUT_RD wakes the receive thread and keeps the socket able to send.
    _ = Glibc.shutdown(socket.fd, Int32(SHUT_RD))
    for stream in streams { stream.end() }
  }

  /// Sends one datagram to `peer`.
  func send(_ datagram: [UInt8], to peer: PeerAddress) {
    UDPSocket.send(datagram, faults: faults) { bytes in
      peer.withSockaddr { address, length in sendto(socket.fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length) }
    }
  }
}

/// A listener's stream for one peer.
final class UDPPeerStream: ByteStream, Sendable {
  let peer: PeerAddress
  let core: UDPListenerCore
  let inbound: InboundPath
  let outbound: OutboundPath
  let peerDescription: String
  private let activity = ActivityStamp()
  private let announced = Atomic<Bool>(false)
  private let isShutDown = Atomic<Bool>(false)

  init(peer: PeerAddress, core: UDPListenerCore) {
    self.peer = peer
    self.core = core
    peerDescription = "udp \(peer) via \(core.name)"
    let inbox = MessageInbox(limit: core.configuration.queueLimit)
    inbound = InboundPath(inbox: inbox, limits: core.configuration.reassemblyLimits, faults: core.faults)
    outbound = OutboundPath(configuration: core.configuration, faults: core.faults) { [core, peer] datagram in
      core.send(datagram, to: peer)
    }
    inbound.onMessage = { [weak self] in
      guard let self, !self.announced.exchange(true, ordering: .acquiringAndReleasing) else { return }
      core.announce(self)
    }
  }

  var lastActive: ContinuousClock.Instant { activity.last }
  var wasAnnounced: Bool { announced.load(ordering: .acquiring) }
  func touch(_ now: ContinuousClock.Instant = .now) { activity.touch(now) }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    if isShutDown.load(ordering: .acquiring) { throw TransportError(.closed, "\(peerDescription): stream shut down") }
    touch()
    try outbound.write(bytes, peer: peerDescription)
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    try inbound.inbox.read(into: buffer, deadline: deadline, peer: peerDescription)
  }

  /// The end of the stream for the reader (idle, evicted, or the listener closed): what is
  /// queued is still read first; writes still go out.
  func end() {
    inbound.inbox.end()
    inbound.held.clear()
  }

  public func shutdown() {
    guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
    inbound.inbox.shutdown()
    inbound.held.clear()
    outbound.held.clear()
    core.forget(self)
  }

  public var hasPendingInput: Bool { inbound.inbox.hasPendingInput }
  public func peekPending(_ buffer: UnsafeMutableRawBufferPointer) -> Int? { inbound.inbox.peek(into: buffer) }
}

// MARK: - shared pieces

/// What happens to a received datagram: faults, then reassembly, then the inbox.
final class InboundPath: @unchecked Sendable {
  // @unchecked: `onMessage` is set once before the first datagram arrives.
  let inbox: MessageInbox
  let faults: DatagramFaultInjector
  let held = ReorderSlot()
  private let reassembler: Mutex<DatagramReassembler>
  /// Called after each whole message is queued.
  var onMessage: (@Sendable () -> Void)?

  init(inbox: MessageInbox, limits: DatagramReassembler.Limits, faults: DatagramFaultInjector) {
    self.inbox = inbox
    self.faults = faults
    reassembler = Mutex(DatagramReassembler(limits: limits))
  }

  /// Takes one datagram from the socket.
  func receive(_ datagram: [UInt8]) {
    let type = datagram.withUnsafeBytes { DatagramFraming.giopMessageType(of: $0) }
    faults.pass(datagram, type: type, .inbound, slot: held) { [self] in deliver($0) }
  }

  private func deliver(_ datagram: [UInt8]) {
    let outcome = reassembler.withLock { $0.accept(datagram) }
    switch outcome {
    case .message(let message):
      // Counted before a reader can see the message, so the counters never lag behind it.
      if inbox.deliver(message, whenQueued: { faults.count(\.messagesReceived) }) {
        onMessage?()
      } else {
        faults.count(\.queueOverflows)
      }
    case .rejected:
      faults.count(\.malformed)
    case .incomplete, .duplicate:
      break
    }
  }
}

/// What happens to a written message: framing into datagrams, faults, the socket.
final class OutboundPath: Sendable {
  let held = ReorderSlot()
  let faults: DatagramFaultInjector
  private let fragmenter: Mutex<DatagramFragmenter>
  /// Bytes of a message written in parts (never in Courier's own use).
  private let partial: Mutex<GIOPFrameSplitter>
  private let emit: @Sendable ([UInt8]) -> Void

  init(configuration: UDPConfiguration, faults: DatagramFaultInjector, emit: @escaping @Sendable ([UInt8]) -> Void) {
    self.faults = faults
    self.emit = emit
    fragmenter = Mutex(DatagramFragmenter(maxPayload: configuration.maxDatagramPayload))
    partial = Mutex(GIOPFrameSplitter(maxMessageSize: configuration.maxMessageSize))
  }

  func write(_ bytes: UnsafeRawBufferPointer, peer: String) throws(TransportError) {
    // The usual case: exactly one whole message.
    if partial.withLock({ $0.bufferedByteCount == 0 }), DatagramFraming.giopProblem(bytes) == nil {
      send(message: bytes)
      return
    }
    let frames = partial.withLock { splitter in
      splitter.append(bytes)
      return splitter.drain()
    }
    for frame in frames {
      switch frame {
      case .message(_, let message):
        message.withUnsafeBytes { send(message: $0) }
      case .unframed:
        throw TransportError(.failed, "\(peer): only GIOP messages go over UDP")
      }
    }
  }

  private func send(message: UnsafeRawBufferPointer) {
    let type = message[7]
    let datagrams = fragmenter.withLock { $0.datagrams(for: message) }
    faults.count(\.messagesSent)
    for datagram in datagrams {
      faults.pass(datagram, type: type, .outbound, slot: held, emit: emit)
    }
  }
}

/// Whole received messages waiting for the stream's reader.
final class MessageInbox: @unchecked Sendable {
  // @unchecked: everything is guarded by `lock`.
  private let lock = ConditionLock()
  private var messages: [[UInt8]] = []
  /// Bytes of the first message already read.
  private var offset = 0
  /// No more messages come; what is queued is still read.
  private var ended = false
  /// Shut down: reads return the end of the stream at once.
  private var isShutDown = false
  let limit: Int

  init(limit: Int) { self.limit = max(1, limit) }

  /// Queues a message, running `whenQueued` before any reader can take it; false if the
  /// queue is full or the stream is over.
  func deliver(_ message: [UInt8], whenQueued: () -> Void = {}) -> Bool {
    lock.withLock {
      guard !ended, !isShutDown, messages.count < limit else { return false }
      messages.append(message)
      whenQueued()
      lock.broadcast()
      return true
    }
  }

  func end() { lock.withLock { ended = true; lock.broadcast() } }

  func shutdown() {
    lock.withLock {
      isShutDown = true
      messages.removeAll()
      lock.broadcast()
    }
  }

  var hasQueuedMessages: Bool { lock.withLock { !messages.isEmpty } }
  var hasPendingInput: Bool { lock.withLock { !messages.isEmpty || ended || isShutDown } }

  func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?, peer: String) throws(TransportError) -> Int {
    try lock.withLock { () throws(TransportError) -> Int in
      while true {
        if isShutDown { return 0 }
        if !messages.isEmpty { return copyOut(into: buffer, consume: true) }
        if ended { return 0 }
        if let deadline, ContinuousClock.now >= deadline {
          throw TransportError(.timedOut, "no data from \(peer) before the deadline")
        }
        lock.wait(until: deadline)
      }
    }
  }

  /// Copies queued bytes without consuming them: nil if none, 0 at the end of the stream.
  func peek(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    lock.withLock {
      if isShutDown { return 0 }
      if !messages.isEmpty { return copyOut(into: buffer, consume: false) }
      return ended ? 0 : nil
    }
  }

  /// Lock held, a message queued.
  private func copyOut(into buffer: UnsafeMutableRawBufferPointer, consume: Bool) -> Int {
    let head = messages[0]
    let n = min(buffer.count, head.count - offset)
    head.withUnsafeBytes { src in
      buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
    }
    if consume {
      offset += n
      if offset == head.count {
        messages.removeFirst()
        offset = 0
      }
    }
    return n
  }
}

/// When a stream last sent or received something.
final class ActivityStamp: Sendable {
  private let value = Mutex(ContinuousClock.now)
  var last: ContinuousClock.Instant { value.withLock { $0 } }
  func touch(_ now: ContinuousClock.Instant = .now) { value.withLock { $0 = now } }
}

/// A UDP socket descriptor, closed when the last user lets go.
final class UDPSocket: Sendable {
  let fd: Int32
  private let shutDown = Atomic<Bool>(false)

  init(_ fd: Int32) { self.fd = fd }
  deinit { Glibc.close(fd) }

  var isShutDown: Bool { shutDown.load(ordering: .acquiring) }
  /// Marks the socket shut down; true the first time.
  func markShutDown() -> Bool { !shutDown.exchange(true, ordering: .acquiringAndReleasing) }

  static func setBufferSizes(_ fd: Int32, _ size: Int) {
    var value = Int32(clamping: size)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &value, socklen_t(MemoryLayout<Int32>.size))
  }

  static func setReceiveTimeout(_ fd: Int32, _ timeout: Duration) {
    let (s, atto) = timeout.components
    var tv = timeval(tv_sec: Int(s), tv_usec: Int(atto / 1_000_000_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
  }

  /// Sends one datagram with `call`, counting it; a datagram the kernel refuses is lost, as
  /// the network may lose it.
  static func send(_ datagram: [UInt8], faults: DatagramFaultInjector, _ call: (UnsafeRawBufferPointer) -> Int) {
    let sent = datagram.withUnsafeBytes { bytes -> Bool in
      while true {
        if call(bytes) >= 0 { return true }
        if errno != EINTR { return false }
      }
    }
    faults.count(sent ? \.sent : \.sendFailures)
  }
}

/// A peer's socket address, usable as a dictionary key (no allocation).
struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
  let family: UInt16
  let port: UInt16
  /// The IPv4 address in the low 32 bits of `low`, or the IPv6 address.
  let high: UInt64
  let low: UInt64
  let scope: UInt32

  init(storage: sockaddr_storage, length: socklen_t) {
    var storage = storage
    family = UInt16(storage.ss_family)
    if storage.ss_family == sa_family_t(AF_INET6) {
      let a = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
      port = UInt16(bigEndian: a.sin6_port)
      let words = withUnsafeBytes(of: a.sin6_addr) { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
      high = words.0
      low = words.1
      scope = a.sin6_scope_id
    } else {
      let a = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) }
      port = UInt16(bigEndian: a.sin_port)
      high = 0
      low = UInt64(a.sin_addr.s_addr)
      scope = 0
    }
  }

  /// Calls `body` with the address as a `sockaddr`.
  func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    if family == UInt16(AF_INET6) {
      var a = sockaddr_in6()
      a.sin6_family = sa_family_t(AF_INET6)
      a.sin6_port = port.bigEndian
      withUnsafeMutableBytes(of: &a.sin6_addr) { raw in
        raw.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
        raw.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
      }
      a.sin6_scope_id = scope
      return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    a.sin_addr.s_addr = UInt32(truncatingIfNeeded: low)
    return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
  }

  var description: String {
    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    if family == UInt16(AF_INET6) {
      var raw = (high, low)
      _ = withUnsafePointer(to: &raw) { inet_ntop(AF_INET6, $0, &text, socklen_t(text.count)) }
      return "[\(Self.string(text))]:\(port)"
    }
    var raw = UInt32(truncatingIfNeeded: low)
    _ = withUnsafePointer(to: &raw) { inet_ntop(AF_INET, $0, &text, socklen_t(text.count)) }
    return "\(Self.string(text)):\(port)"
  }

  private static func string(_ text: [CChar]) -> String {
    String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
