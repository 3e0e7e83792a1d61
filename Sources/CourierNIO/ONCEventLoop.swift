import CourierONC
import CourierWire
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One non-blocking connection of the loop: bytes received and not yet parsed, replies not yet
/// sent. A class, so that serving a record (which queues output) and the record buffer it came
/// from are separate accesses.
final class LoopConnection {
  let fd: Int32
  let client: ONCPeerAddress?
  var records: RecordBuffer
  var output: [UInt8] = []
  var outputOffset = 0
  var lookupCache = ONCProgramRegistry.LookupCache()

  init(fd: Int32, client: ONCPeerAddress?, maximumRecord: Int) {
    self.fd = fd
    self.client = client
    records = RecordBuffer(maximumRecord: maximumRecord)
  }

  var queued: Int { output.count - outputOffset }
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
      for c in connections {
        var events = Int16(0)
        if c.queued < Self.outputLimit { events |= Int16(POLLIN) }
        if c.queued > 0 { events |= Int16(POLLOUT) }
        fds.append(pollfd(fd: c.fd, events: events, revents: 0))
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
        if revents & Int16(POLLOUT) != 0 { alive = flush(connections[i]) }
        if alive && revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { alive = receive(connections[i]) }
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
      connections.append(LoopConnection(fd: fd, client: peerAddress(of: fd), maximumRecord: maximumRecord))
    }
  }

  /// Reads what is there and serves every whole record; false when the connection must close.
  private func receive(_ c: LoopConnection) -> Bool {
    while true {
      var space = 0
      let n = c.records.receive { buffer in
        space = buffer.count
        return recv(c.fd, buffer.baseAddress, buffer.count, 0)
      }
      if n == 0 { return false }
      if n < 0 {
        if errno == EINTR { continue }
        return errno == EAGAIN || errno == EWOULDBLOCK
      }
      do {
        while try c.records.nextRecord({ record, from, to in serve(c, record, from, to) }) != nil {}
      } catch {
        return false  // a fragment above the bound: the stream cannot be resynchronised
      }
      if c.queued >= Self.outputLimit { return true }  // read more once the replies have gone
      if n < space { return true }  // drained the socket
    }
  }

  private func serve(_ c: LoopConnection, _ record: [UInt8], _ from: Int, _ to: Int) {
    writer.reset()
    writer.write(UInt32(0))
    guard registry.handle(record, start: from, end: to, transport: .tcp, client: c.client, cache: cache,
                          lookupCache: &c.lookupCache, reply: &writer) else { return }
    writer.overwrite(0x8000_0000 | UInt32(writer.count - 4), at: 0)
    if c.queued == 0 {
      // Nothing queued: send now, queue what does not go.
      let fd = c.fd
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
      c.output.removeAll(keepingCapacity: true)
      c.outputOffset = 0
      writer.withUnsafeBytes { c.output.append(contentsOf: $0[sent...]) }
    } else {
      writer.withUnsafeBytes { c.output.append(contentsOf: $0) }
    }
  }

  /// Sends queued replies; false when the connection failed.
  private func flush(_ c: LoopConnection) -> Bool {
    while c.queued > 0 {
      let offset = c.outputOffset
      let n = c.output.withUnsafeBytes { p in send(c.fd, p.baseAddress! + offset, p.count - offset, Int32(MSG_NOSIGNAL)) }
      if n < 0 {
        if errno == EINTR { continue }
        return errno == EAGAIN || errno == EWOULDBLOCK
      }
      c.outputOffset += n
    }
    c.output.removeAll(keepingCapacity: true)
    c.outputOffset = 0
    return true
  }
}
