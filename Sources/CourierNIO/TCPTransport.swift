public import CourierCore
#if canImport(Glibc)
import Glibc
#endif

/// TCP on blocking POSIX sockets, one thread per connection.
///
/// Why not SwiftNIO here: on this project's machine the peers' measurements
/// (`shared/peers/README.md`, rows `posix-pingpong` and `nio-pingpong`) show a Swift server on
/// blocking Glibc sockets costing nothing over C per small round trip (×0.95–1.03 on one core)
/// while a SwiftNIO server adds about 1.6 µs (×1.4) and SwiftNIO at both ends about 4.3 µs
/// (×2.1), and one NIO event-loop core makes ~230 k calls/s where omniORB makes 210–250 k.
/// Courier's target is within 1.25× of omniORB's latency, so the transport the benchmark
/// uses is this one, the same model as omniORB's (thread per connection). The module keeps
/// the planned name so that a SwiftNIO transport (for many idle connections, TLS, UDP) can
/// join it behind the same ``ByteStream``/``StreamConnector``/``StreamListener`` protocols.
public final class TCPStream: ByteStream, @unchecked Sendable {
  // @unchecked: the descriptor is immutable; reads and writes are each confined to one
  // thread at a time by the protocol engines above, and the kernel serialises the rest.
  let fd: Int32
  public let peerDescription: String

  init(fd: Int32, peer: String) {
    self.fd = fd
    self.peerDescription = peer
    var one: Int32 = 1
    // Fails harmlessly on a Unix-domain socket.
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
  }

  /// Wraps a connected stream socket (TCP or Unix-domain); the stream closes it when released.
  public convenience init(descriptor: Int32, peer: String) {
    self.init(fd: descriptor, peer: peer)
  }

  deinit { Glibc.close(fd) }

  public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    var offset = 0
    while offset < bytes.count {
      let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      if n < 0 {
        if errno == EINTR { continue }
        throw TransportError(.closed, "send to \(peerDescription): \(String(cString: strerror(errno)))")
      }
      offset += n
    }
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    while true {
      if let deadline {
        let left = ContinuousClock.now.duration(to: deadline)
        if left <= .zero { throw TransportError(.timedOut, "no data from \(peerDescription) before the deadline") }
        setReceiveTimeout(left)
      } else if receiveTimeoutNS != 0 {
        setReceiveTimeout(nil)
      }
      let n = Glibc.recv(fd, buffer.baseAddress!, buffer.count, 0)
      if n >= 0 { return n }
      if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }  // the loop re-checks the deadline
      if errno == ECONNRESET || errno == EBADF || errno == ENOTCONN { return 0 }
      throw TransportError(.failed, "recv from \(peerDescription): \(String(cString: strerror(errno)))")
    }
  }

  /// The receive timeout in force (SO_RCVTIMEO), in nanoseconds; 0 is none. Only the thread
  /// that reads touches it.
  private var receiveTimeoutNS: Int64 = 0

  /// Sets SO_RCVTIMEO, but only when it changes by more than 1 ms or 1 %, so that calls with
  /// the same timeout cost no extra system call (a poll per read would).
  private func setReceiveTimeout(_ timeout: Duration?) {
    var ns: Int64 = 0
    if let timeout {
      let (s, a) = timeout.components
      ns = max(1_000_000, s * 1_000_000_000 + a / 1_000_000_000)
      let diff = abs(ns - receiveTimeoutNS)
      // Within 1 ms or 1 %: keep it (a read may overshoot its deadline by that much).
      if receiveTimeoutNS != 0, diff <= max(1_000_000, receiveTimeoutNS / 100) { return }
    }
    var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000) / 1000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    receiveTimeoutNS = ns
  }

  public func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

  public func peekPending(_ buffer: UnsafeMutableRawBufferPointer) -> Int? {
    let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK | MSG_DONTWAIT))
    if n > 0 { return n }
    if n == 0 { return 0 }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? nil : 0  // an error: as good as closed
  }

  public var hasPendingInput: Bool {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&p, 1, 0) > 0
  }
}

/// Opens TCP connections (IPv4 and IPv6, names resolved with `getaddrinfo`).
public struct TCPConnector: StreamConnector {
  public init() {}

  public func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream {
    TCPStream(fd: try connectedSocket(host: host, port: port, type: SOCK_STREAM, describe: "\(host):\(port)"), peer: "\(host):\(port)")
  }
}

/// A socket of `type` connected to the first of `host`'s addresses (resolved with
/// `getaddrinfo`, IPv4 and IPv6) that accepts; `describe` names the peer in errors.
func connectedSocket(host: String, port: UInt16, type: __socket_type, describe: String) throws(TransportError) -> Int32 {
  var hints = addrinfo()
  hints.ai_socktype = Int32(type.rawValue)
  hints.ai_family = AF_UNSPEC
  var list: UnsafeMutablePointer<addrinfo>?
  let rc = getaddrinfo(host, String(port), &hints, &list)
  guard rc == 0, let first = list else {
    throw TransportError(.connectFailed, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
  }
  defer { freeaddrinfo(list) }
  var lastError = "no address"
  var cursor: UnsafeMutablePointer<addrinfo>? = first
  while let ai = cursor {
    cursor = ai.pointee.ai_next
    let fd = socket(ai.pointee.ai_family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    if fd < 0 { lastError = String(cString: strerror(errno)); continue }
    if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return fd }
    lastError = String(cString: strerror(errno))
    Glibc.close(fd)
  }
  throw TransportError(.connectFailed, "connect to \(describe): \(lastError)")
}

/// A listening TCP socket.
public final class TCPListener: StreamListener, @unchecked Sendable {
  // @unchecked: fd and addresses are immutable; close() only calls shutdown/close.
  let fd: Int32
  public let host: String
  public let port: UInt16

  /// Listens on `host` (an IPv4 or IPv6 literal; `127.0.0.1` by default) and `port` (0: any free port).
  public init(host: String = "127.0.0.1", port: UInt16 = 0, backlog: Int32 = 128) throws(TransportError) {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0, let ai = list else {
      throw TransportError(.failed, "bad listen address \(host): \(String(cString: gai_strerror(rc)))")
    }
    defer { freeaddrinfo(list) }
    let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TransportError(.failed, "socket: \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    guard bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
      let why = String(cString: strerror(errno))
      Glibc.close(fd)
      throw TransportError(.failed, "listen on \(host):\(port): \(why)")
    }
    var storage = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    let family = storage.ss_family
    let boundPort = withUnsafePointer(to: &storage) { p -> UInt16 in
      if family == sa_family_t(AF_INET6) {
        return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
      }
      return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
    }
    self.fd = fd
    self.host = host
    self.port = boundPort
  }

  deinit { Glibc.close(fd) }

  public func accept() throws(TransportError) -> any ByteStream {
    while true {
      let client = Glibc.accept(fd, nil, nil)
      if client >= 0 {
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        return TCPStream(fd: client, peer: "client of \(host):\(port)")
      }
      if errno == EINTR || errno == ECONNABORTED { continue }
      throw TransportError(.closed, "accept: \(String(cString: strerror(errno)))")
    }
  }

  public func close() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
}
