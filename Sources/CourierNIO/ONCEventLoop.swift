import CourierONC
import CourierWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A buffered record stream of one non-blocking connection: bytes received and not yet
/// parsed, replies not yet sent. Pure bookkeeping; the loop does the system calls.
struct LoopConnection {
  let fd: Int32
  let client: ONCPeerAddress?
  var input: [UInt8]
  var start = 0
  var end = 0
  var assembled: [UInt8] = []
  var output: [UInt8] = []
  var outputOffset = 0
  var lookupCache = ONCProgramRegistry.LookupCache()

  init(fd: Int32, client: ONCPeerAddress?) {
    self.fd = fd
    self.client = client
    input = [UInt8](repeating: 0, count: 16 * 1024)
  }

  var hasOutput: Bool { outputOffset < output.count }
}

/// The TCP side of an ``ONCServer`` as one thread that serves every connection, as libtirpc's
/// `svc_run` does: `poll` on the listener and the connections, read what is there, serve each
/// whole record, write the replies. No thread switch per call, so many connections on one core
/// go faster than with a thread per connection (measured: `docs/oncrpc.md`), but a servant
/// that blocks holds up every connection: choose ``ONCServerConfiguration/TCPModel`` by the
/// servants.
final class ONCEventLoop: @unchecked Sendable {
  // @unchecked: everything mutable is touched only by the loop's thread.
  let listener: TCPListener
  let registry: ONCProgramRegistry
  let maximumRecord: Int
  let cache: DuplicateRequestCache?
  let stopped: Atomic<Bool>
  /// The most reply bytes queued on a connection before the loop stops reading from it.
  static let outputLimit = 4 << 20

  private var connections: [LoopConnection] = []
  private var writer = XDRWriter(capacity: 16 * 1024)

  init(listener: TCPListener, registry: ONCProgramRegistry, maximumRecord: Int, cache: DuplicateRequestCache?) {
    self.listener = listener
    self.registry = registry
    self.maximumRecord = maximumRecord
    self.cache = cache
    self.stopped = Atomic(false)
    _ = fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK)
  }

  func stop() { stopped.store(true, ordering: .releasing) }

  func run() {
    var fds: [pollfd] = []
    while !stopped.load(ordering: .acquiring) {
      fds.removeAll(keepingCapacity: true)
      fds.append(pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0))
      for i in connections.indices {  // by index: copying a LoopConnection retains its buffers
        let queued = connections[i].output.count - connections[i].outputOffset
        var events = Int16(0)
        if queued < Self.outputLimit { events |= Int16(POLLIN) }
        if queued > 0 { events |= Int16(POLLOUT) }
        fds.append(pollfd(fd: connections[i].fd, events: events, revents: 0))
      }
      let n = poll(&fds, nfds_t(fds.count), 200)
      if n < 0 {
        if errno == EINTR { continue }
        break
      }
      if n == 0 { continue }
      // Connections first (indices stay valid: closed ones are removed afterwards).
      var closed: [Int] = []
      for i in 0..<connections.count {
        let revents = fds[i + 1].revents
        if revents == 0 { continue }
        var alive = true
        if revents & Int16(POLLOUT) != 0 { alive = flush(i) }
        if alive && revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { alive = receive(i) }
        if !alive { closed.append(i) }
      }
      for i in closed.reversed() {
        Glibc.close(connections[i].fd)
        connections.remove(at: i)
      }
      if fds[0].revents != 0 { acceptAll() }
    }
    for c in connections { Glibc.close(c.fd) }
    connections.removeAll()
  }

  private func acceptAll() {
    while true {
      let fd = Glibc.accept(listener.fd, nil, nil)
      if fd < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return  // EAGAIN: none left (or out of descriptors: try on the next round)
      }
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
      var one: Int32 = 1
      setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
      connections.append(LoopConnection(fd: fd, client: peerAddress(of: fd)))
    }
  }

  /// Reads what is there and serves every whole record; false when the connection must close.
  private func receive(_ i: Int) -> Bool {
    while true {
      // Room to read into: move pending bytes to the front, grow when a record needs it.
      if connections[i].end == connections[i].input.count {
        let pending = connections[i].end - connections[i].start
        let s = connections[i].start
        if s > 0 {
          connections[i].input.withUnsafeMutableBytes { p in
            if pending > 0 { p.baseAddress!.copyMemory(from: p.baseAddress! + s, byteCount: pending) }
          }
          connections[i].start = 0
          connections[i].end = pending
        } else {
          let grown = min(connections[i].input.count * 2, maximumRecord + 8)
          guard grown > connections[i].input.count else { return false }
          connections[i].input.append(contentsOf: repeatElement(0, count: grown - connections[i].input.count))
        }
      }
      let at = connections[i].end
      let fd = connections[i].fd
      let n = connections[i].input.withUnsafeMutableBytes { p in recv(fd, p.baseAddress! + at, p.count - at, 0) }
      if n == 0 { return false }
      if n < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { return true }
        return false
      }
      connections[i].end += n
      guard serveRecords(i) else { return false }
      if connections[i].output.count - connections[i].outputOffset >= Self.outputLimit { return true }
      if n < connections[i].input.count - at { return true }  // drained the socket
    }
  }

  /// Serves the whole records buffered on connection `i`; false on a record-marking error.
  private func serveRecords(_ i: Int) -> Bool {
    while connections[i].end - connections[i].start >= 4 {
      let s = connections[i].start
      let header = connections[i].input.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: s, as: UInt32.self)) }
      let length = Int(header & 0x7FFF_FFFF)
      let last = header & 0x8000_0000 != 0
      guard connections[i].assembled.count + length <= maximumRecord else { return false }
      guard connections[i].end - s - 4 >= length else {
        // Incomplete: make sure the buffer can hold the whole fragment.
        if length + 4 > connections[i].input.count {
          let needed = length + 4
          let pending = connections[i].end - s
          connections[i].input.withUnsafeMutableBytes { p in
            if s > 0 && pending > 0 { p.baseAddress!.copyMemory(from: p.baseAddress! + s, byteCount: pending) }
          }
          connections[i].start = 0
          connections[i].end = pending
          connections[i].input.append(contentsOf: repeatElement(0, count: needed - connections[i].input.count))
        }
        return true
      }
      let from = s + 4, to = s + 4 + length
      connections[i].start = to
      if last && connections[i].assembled.isEmpty {
        serve(i, connections[i].input, from, to)
      } else {
        connections[i].assembled.append(contentsOf: connections[i].input[from..<to])
        if last {
          let record = connections[i].assembled
          connections[i].assembled.removeAll(keepingCapacity: true)
          serve(i, record, 0, record.count)
        }
      }
      if connections[i].start == connections[i].end {
        connections[i].start = 0
        connections[i].end = 0
      }
    }
    return true
  }

  private func serve(_ i: Int, _ record: [UInt8], _ from: Int, _ to: Int) {
    writer.reset()
    writer.write(UInt32(0))
    let client = connections[i].client
    guard registry.handle(record, start: from, end: to, transport: .tcp, client: client, cache: cache,
                          lookupCache: &connections[i].lookupCache, reply: &writer) else { return }
    writer.overwrite(0x8000_0000 | UInt32(writer.count - 4), at: 0)
    if !connections[i].hasOutput {
      // Nothing queued: try to send now, queue what does not go.
      let fd = connections[i].fd
      let sent = writer.withUnsafeBytes { raw -> Int in
        var offset = 0
        while offset < raw.count {
          let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
          if n < 0 {
            if errno == EINTR { continue }
            break  // EAGAIN (queue the rest) or an error (the next read or write sees it)
          }
          offset += n
        }
        return offset
      }
      if sent == writer.count { return }
      connections[i].output.removeAll(keepingCapacity: true)
      connections[i].outputOffset = 0
      writer.withUnsafeBytes { connections[i].output.append(contentsOf: $0[sent...]) }
    } else {
      writer.withUnsafeBytes { connections[i].output.append(contentsOf: $0) }
    }
  }

  /// Sends queued replies; false when the connection failed.
  private func flush(_ i: Int) -> Bool {
    let fd = connections[i].fd
    while connections[i].hasOutput {
      let offset = connections[i].outputOffset
      let n = connections[i].output.withUnsafeBytes { p in send(fd, p.baseAddress! + offset, p.count - offset, Int32(MSG_NOSIGNAL)) }
      if n < 0 {
        if errno == EINTR { continue }
        return errno == EAGAIN || errno == EWOULDBLOCK
      }
      connections[i].outputOffset += n
    }
    connections[i].output.removeAll(keepingCapacity: true)
    connections[i].outputOffset = 0
    return true
  }
}
