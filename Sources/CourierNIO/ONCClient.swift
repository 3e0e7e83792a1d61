import CourierCore
public import CourierONC
public import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// How an ``ONCClient`` calls.
public struct ONCClientOptions: Sendable {
  /// How long a call may take in all, retransmissions included (libtirpc's default: 25 s).
  public var timeout: Duration = .seconds(25)
  /// UDP: how long to wait for a reply before sending the call again; the wait doubles after
  /// each retransmission up to ``retransmitMaximum``. Every retransmission carries the same xid,
  /// so a server's duplicate request cache recognises it.
  public var retransmitInitial: Duration = .milliseconds(500)
  /// UDP: the longest wait between retransmissions.
  public var retransmitMaximum: Duration = .seconds(8)
  /// The credential sent with every call (AUTH_NONE by default; see ``AuthSysParameters``).
  public var credential: OpaqueAuth = .none
  /// The largest reply record accepted over a stream; a longer one fails the call and closes
  /// the connection.
  public var maximumRecordSize: Int = 4 << 20

  public init() {}

  /// Options with AUTH_SYS credentials for this process (uid, gid, groups, host name), as
  /// libtirpc's `authunix_create_default` makes them.
  public static func authSysDefault() -> ONCClientOptions {
    var options = ONCClientOptions()
    var name = [CChar](repeating: 0, count: 256)
    gethostname(&name, 255)
    let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var groups = [gid_t](repeating: 0, count: 64)
    let n = getgroups(64, &groups)
    let parameters = AuthSysParameters(stamp: UInt32(truncatingIfNeeded: time(nil)), machineName: String(host.prefix(255)),
                                       uid: getuid(), gid: getgid(), gids: Array(groups.prefix(max(0, min(Int(n), 16)))))
    if let credential = try? parameters.credential() { options.credential = credential }
    return options
  }
}

/// An ONC RPC client (RFC 5531) for one server address, over TCP (one connection, opened on the
/// first call and again after a failure), UDP (retransmission with backoff, replies matched by
/// xid) or a Unix-domain stream socket (rpcbind's `/run/rpcbind.sock`).
///
/// Calls on one client are made one at a time; use one client per thread for parallel calls.
/// A failed call throws ``RPCError``: a reply status other than SUCCESS has the status as its
/// cause (`error.oncReplyError`), see ``ONCReplyError/rpcError``; a call that timed out is
/// `TIMEOUT` (`COMPLETED_MAYBE`); a server that cannot be reached is `TRANSIENT`
/// (`COMPLETED_NO`); a connection lost during the call is `COMM_FAILURE` (`COMPLETED_MAYBE`).
public final class ONCClient: ONCCaller, @unchecked Sendable {
  // @unchecked: the mutable state below is touched only with `lock` held.
  public let host: String
  public let port: UInt16
  public let transport: ONCTransportProtocol
  public let options: ONCClientOptions
  private let unixPath: String?

  private let lock = ConditionLock()
  private var xid: UInt32
  private var writer = XDRWriter(capacity: 16 * 1024)
  private var stream: (any ByteStream)?
  private var reader: RecordStreamReader
  private var udpSocket: Int32 = -1
  private var udpBuffer: [UInt8] = []
  private var udpTimeoutNS: Int64 = 0
  private var closed = false

  /// A client of `host`:`port` over `transport`. Nothing is opened until the first call.
  public init(host: String, port: UInt16, transport: ONCTransportProtocol, options: ONCClientOptions = ONCClientOptions()) {
    self.host = host
    self.port = port
    self.transport = transport
    self.options = options
    self.unixPath = nil
    self.xid = UInt32.random(in: 0...UInt32.max)
    self.reader = RecordStreamReader(maximumRecord: options.maximumRecordSize)
  }

  /// A client over the stream socket at `unixSocketPath` (record marking, as TCP).
  public init(unixSocketPath: String, options: ONCClientOptions = ONCClientOptions()) {
    self.host = unixSocketPath
    self.port = 0
    self.transport = .tcp
    self.options = options
    self.unixPath = unixSocketPath
    self.xid = UInt32.random(in: 0...UInt32.max)
    self.reader = RecordStreamReader(maximumRecord: options.maximumRecordSize)
  }

  deinit {
    stream?.shutdown()
    if udpSocket >= 0 { Glibc.close(udpSocket) }
  }

  /// Closes the connection or socket; a later call opens a new one.
  public func close() {
    lock.withLock {
      stream?.shutdown()
      stream = nil
      reader = RecordStreamReader(maximumRecord: options.maximumRecordSize)
      if udpSocket >= 0 { Glibc.close(udpSocket) }
      udpSocket = -1
    }
  }

  private var target: String { unixPath ?? "\(host):\(port)/\(transport)" }

  public func call<R>(
    program: UInt32, version: UInt32, procedure: UInt32,
    encodeArguments: (inout XDRWriter) throws -> Void,
    decodeResults: (inout XDRReader) throws -> R
  ) throws -> R {
    lock.lock()
    defer { lock.unlock() }
    xid &+= 1
    let callXID = xid
    let isStream = transport == .tcp
    writer.reset()
    if isStream { writer.write(UInt32(0)) }  // the record mark
    writer.write(callXID)
    writer.write(UInt32(0))  // CALL
    writer.write(CallHeader.rpcVersion)
    writer.write(program)
    writer.write(version)
    writer.write(procedure)
    do {
      let credential = options.credential
      writer.write(credential.flavor.rawValue)
      try writer.writeOpaque(credential.body, maximum: OpaqueAuth.maximumBody)
      writer.write(UInt32(0))  // verifier: AUTH_NONE
      writer.write(UInt32(0))
      try encodeArguments(&writer)
    } catch {
      throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .no, "cannot encode the call: \(error)", cause: error)
    }
    let start = ContinuousClock.now
    let deadline = start + options.timeout
    if isStream {
      return try callOverStream(xid: callXID, deadline: deadline, decodeResults)
    }
    return try callOverUDP(xid: callXID, start: start, deadline: deadline, decodeResults)
  }

  // MARK: stream

  private func connectedStream(deadline: ContinuousClock.Instant) throws(RPCError) -> any ByteStream {
    if let stream { return stream }
    do {
      let s: any ByteStream
      if let unixPath {
        s = try connectUnix(path: unixPath)
      } else {
        s = try TCPConnector().connect(host: host, port: port, deadline: deadline)
      }
      stream = s
      reader = RecordStreamReader(maximumRecord: options.maximumRecordSize)
      return s
    } catch {
      throw RPCError(.transient, minor: CourierMinor.connectFailed, completion: .no, "cannot connect to \(target): \(error.message)", cause: error)
    }
  }

  private func dropStream() {
    stream?.shutdown()
    stream = nil
  }

  private func callOverStream<R>(xid: UInt32, deadline: ContinuousClock.Instant, _ decodeResults: (inout XDRReader) throws -> R) throws -> R {
    let stream = try connectedStream(deadline: deadline)
    do {
      try sendRecord(&writer, on: stream)
    } catch {
      dropStream()
      throw RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "sending to \(target): \(error.message)", cause: error)
    }
    while true {
      let outcome: ReplyOutcome<R>
      do {
        outcome = try reader.withNextRecord(from: stream, deadline: deadline) { record, start, end in
          try Self.readReply(record, start: start, end: end, xid: xid, decodeResults)
        }
      } catch let failure as RecordStreamReader.Failure {
        dropStream()
        switch failure {
        case .transport(let e) where e.code == .timedOut:
          throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .maybe,
                         "no reply from \(target) within \(options.timeout)", cause: e)
        case .transport(let e):
          throw RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "reading from \(target): \(e.message)", cause: e)
        case .endOfStream, .truncated:
          throw RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "\(target) closed the connection before replying")
        case .tooLarge(let why):
          throw RPCError(.marshal, minor: CourierMinor.messageTooLarge, completion: .maybe, "a reply record from \(target): \(why)")
        }
      } catch let error as RPCError {
        if error.minor == CourierMinor.oncBadReply { dropStream() }
        throw error
      }
      if case .result(let r) = outcome { return r }
      // A reply to an earlier call that timed out: skip it.
    }
  }

  // MARK: reply

  private enum ReplyOutcome<R> {
    case result(R)
    case otherXID
  }

  /// Reads a reply record: the results of a SUCCESS reply to `xid`, or an error.
  private static func readReply<R>(
    _ record: [UInt8], start: Int, end: Int, xid: UInt32, _ decodeResults: (inout XDRReader) throws -> R
  ) throws -> ReplyOutcome<R> {
    var r = XDRReader(record, position: start, end: end)
    let header: RPCMessageHeader
    do {
      // The usual reply: xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier with no body, SUCCESS.
      if end - start >= 24 {
        // Read in place (no array per reply): xid, REPLY, MSG_ACCEPTED, flavor, length, SUCCESS.
        let (replyXID, isReply, usual) = record.withUnsafeBytes { p -> (UInt32, Bool, Bool) in
          func word(_ i: Int) -> UInt32 { UInt32(bigEndian: p.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)) }
          return (word(0), word(1) == 1, word(2) == 0 && word(3) == 0 && word(4) == 0 && word(5) == 0)
        }
        if replyXID != xid && isReply { return .otherXID }
        if replyXID == xid && isReply && usual {
          try r.skip(24)
          return .result(try decodeSuccess(&r, decodeResults))
        }
      }
      header = try RPCMessageHeader.read(from: &r)
    } catch {
      throw RPCError(.marshal, minor: CourierMinor.oncBadReply, completion: .maybe, "a malformed reply: \(error)", cause: error)
    }
    guard header.xid == xid, case .reply(let body) = header.body else { return .otherXID }
    if let status = ONCReplyError(body) { throw status.rpcError }
    return .result(try decodeSuccess(&r, decodeResults))
  }

  private static func decodeSuccess<R>(_ r: inout XDRReader, _ decodeResults: (inout XDRReader) throws -> R) throws(RPCError) -> R {
    do {
      return try decodeResults(&r)
    } catch {
      throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .yes, "cannot decode the results: \(error)", cause: error)
    }
  }

  // MARK: UDP

  private func openUDP() throws(RPCError) -> Int32 {
    if udpSocket >= 0 { return udpSocket }
    do {
      let fd = try connectedSocket(host: host, port: port, type: SOCK_DGRAM, describe: target)
      var size: Int32 = 1 << 20
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
      udpSocket = fd
      udpTimeoutNS = 0
      if udpBuffer.isEmpty { udpBuffer = [UInt8](repeating: 0, count: ONCServer.maximumDatagram) }
      return fd
    } catch {
      throw RPCError(.transient, minor: CourierMinor.connectFailed, completion: .no, "cannot reach \(target): \(error.message)", cause: error)
    }
  }

  private static func nanoseconds(_ d: Duration) -> Int64 {
    let (s, a) = d.components
    return s * 1_000_000_000 + a / 1_000_000_000
  }

  /// Sets the socket's receive timeout when it changes.
  private func setUDPTimeout(_ ns: Int64) {
    let ns = max(ns, 1_000_000)
    guard ns != udpTimeoutNS else { return }
    var tv = timeval(tv_sec: Int(ns / 1_000_000_000), tv_usec: Int(ns % 1_000_000_000) / 1000)
    setsockopt(udpSocket, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    udpTimeoutNS = ns
  }

  private func callOverUDP<R>(
    xid: UInt32, start: ContinuousClock.Instant, deadline: ContinuousClock.Instant, _ decodeResults: (inout XDRReader) throws -> R
  ) throws -> R {
    let fd = try openUDP()
    guard writer.count <= ONCServer.maximumDatagram else {
      throw RPCError(.marshal, minor: CourierMinor.messageTooLarge, completion: .no,
                     "a call of \(writer.count) bytes does not fit in a UDP datagram (\(ONCServer.maximumDatagram))")
    }
    var wait = Self.nanoseconds(options.retransmitInitial)
    let maximumWait = Self.nanoseconds(options.retransmitMaximum)
    var sent = 0
    func send() throws(RPCError) {
      let n = writer.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if n < 0 && errno != ENOBUFS && errno != EAGAIN {
        let why = String(cString: strerror(errno))
        throw RPCError(.transient, minor: CourierMinor.connectFailed, completion: sent == 0 ? .no : .maybe, "sending to \(target): \(why)")
      }
      sent += 1
    }
    try send()
    var nextSend = Self.nanoseconds(start.duration(to: .now)) + wait
    let total = Self.nanoseconds(options.timeout)
    while true {
      let elapsed = Self.nanoseconds(start.duration(to: .now))
      if elapsed >= total {
        throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .maybe,
                       "no reply from \(target) within \(options.timeout) (\(sent) transmissions)")
      }
      if elapsed >= nextSend {
        try send()
        wait = min(wait * 2, maximumWait)
        nextSend = elapsed + wait
      }
      setUDPTimeout(min(nextSend, total) - elapsed)
      let n = udpBuffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_TRUNC)) }
      if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
        if errno == ECONNREFUSED {
          // An ICMP port unreachable for one of our datagrams: no server on the port.
          throw RPCError(.transient, minor: CourierMinor.connectFailed, completion: sent == 1 ? .no : .maybe,
                         "\(target): connection refused (no server on the port)")
        }
        let why = String(cString: strerror(errno))
        throw RPCError(.commFailure, minor: CourierMinor.connectionLost, completion: .maybe, "receiving from \(target): \(why)")
      }
      guard n <= udpBuffer.count else { continue }  // truncated: not a reply we can read
      do {
        if case .result(let r) = try Self.readReply(udpBuffer, start: 0, end: n, xid: xid, decodeResults) { return r }
      } catch let error as RPCError where error.minor == CourierMinor.oncBadReply {
        continue  // a malformed datagram: not our reply
      }
    }
  }
}

/// A stream socket connected to the Unix-domain socket at `path`.
func connectUnix(path: String) throws(TransportError) -> any ByteStream {
  let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  guard fd >= 0 else { throw TransportError(.connectFailed, "socket: \(String(cString: strerror(errno)))") }
  var address = sockaddr_un()
  address.sun_family = sa_family_t(AF_UNIX)
  let bytes = Array(path.utf8)
  let capacity = MemoryLayout.size(ofValue: address.sun_path)
  guard bytes.count < capacity else {
    Glibc.close(fd)
    throw TransportError(.connectFailed, "socket path too long: \(path)")
  }
  withUnsafeMutableBytes(of: &address.sun_path) { p in
    for (i, b) in bytes.enumerated() { p[i] = b }
    p[bytes.count] = 0
  }
  let rc = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
  }
  guard rc == 0 else {
    let why = String(cString: strerror(errno))
    Glibc.close(fd)
    throw TransportError(.connectFailed, "connect to \(path): \(why)")
  }
  return TCPStream(descriptor: fd, peer: path)
}
