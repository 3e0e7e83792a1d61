import CourierCore
import CourierWire
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The client half of orphan handling (an ORB with an ``OrphanPolicy``): the identity and
/// epoch in the state directory, the orphan context on every two-way request, the restart
/// step, the call log (extermination) and lease renewals (expiration).
///
/// Announcements, exterminations and renewals go through a control ORB of its own, so over
/// connections of their own: with per-connection dispatch a server does not read a
/// connection while a call on it runs, so a renewal sent behind the long call it renews would
/// wait for that call to end.
final class OrphanClient: Sendable {
  let policy: OrphanPolicy
  let clientID: String
  /// Why the state directory cannot be used; every call fails with it.
  let setupError: RPCError?
  let control: ORB
  let logger: Logger

  struct Outstanding {
    let host: String
    let port: UInt16
    let epoch: UInt32
  }

  struct State {
    var epoch: UInt32 = 0
    var nextCall: UInt64 = 1
    /// Every server called, as `host port` (persisted in `servers`).
    var servers: Set<String> = []
    /// Expiration: the calls whose leases are renewed.
    var outstanding: [UInt64: Outstanding] = [:]
    var renewing = false
    var stopped = false
  }

  let state = Mutex(State())
  private let started = Atomic<Bool>(false)
  /// Held while the restart step runs (the first call waits for it).
  private let startLock = Mutex<Void>(())
  /// Serialises rewrites of the `servers` file.
  private let serversFileLock = Mutex<Void>(())
  private let renewWake = ConditionLock()

  var directory: String { policy.stateDirectory }
  var callsDirectory: String { directory + "/calls" }

  init(policy: OrphanPolicy, connector: any StreamConnector, logger: Logger) {
    self.policy = policy
    self.logger = logger
    var config = ORB.Configuration()
    config.connectTimeout = .seconds(2)
    config.defaultCallOptions = CallOptions(timeout: .seconds(5))
    control = ORB(configuration: config, connector: connector, logger: logger)
    var id: String?
    var error: RPCError?
    var servers: Set<String> = []
    do throws(RPCError) {
      try DurableFiles.makeDirectories(policy.stateDirectory)
      if case .extermination = policy.mode { try DurableFiles.makeDirectories(policy.stateDirectory + "/calls") }
      if let stored = DurableFiles.read(policy.stateDirectory + "/client-id")?.trimmedLine, !stored.isEmpty {
        id = stored
      } else {
        let fresh = Self.randomClientID()
        try DurableFiles.writeAtomically(policy.stateDirectory + "/client-id", fresh + "\n")
        id = fresh
      }
      let text = DurableFiles.read(policy.stateDirectory + "/servers") ?? ""
      servers = Set(text.split(separator: "\n").map(String.init).filter { !$0.isEmpty })
    } catch let e {
      error = e
    }
    clientID = id ?? Self.randomClientID()
    setupError = error
    state.withLock { $0.servers = servers }
  }

  static func randomClientID() -> String {
    var g = SystemRandomNumberGenerator()
    let hex = String(g.next() as UInt64, radix: 16)
    return "o" + String(repeating: "0", count: 16 - hex.count) + hex
  }

  var epoch: UInt32 { state.withLock { $0.epoch } }

  // MARK: - restart

  /// Runs the restart step once, before the first call.
  func startIfNeeded() throws(RPCError) {
    if !started.load(ordering: .acquiring) { _ = try restart() }
  }

  /// The restart step (once per process): a new epoch, durably; then, by mode, announce it
  /// to every server called before (reincarnation, gentle) or exterminate the logged calls.
  /// Returns how many calls the servers said they cancelled (0 after the first time).
  func restart() throws(RPCError) -> Int {
    if let setupError { throw setupError }
    let result: Result<Int, RPCError> = startLock.withLock { _ in
      if started.load(ordering: .acquiring) { return .success(0) }
      do throws(RPCError) {
        let stored = DurableFiles.read(directory + "/epoch").flatMap { UInt32($0.trimmedLine) } ?? 0
        let epoch = stored &+ 1
        try DurableFiles.writeAtomically(directory + "/epoch", "\(epoch)\n")
        let servers = state.withLock { s in
          s.epoch = epoch
          return s.servers.sorted()
        }
        var cancelled = 0
        switch policy.mode {
        case .reincarnation, .gentleReincarnation:
          for server in servers {
            guard let (host, port) = Self.endpoint(server) else { continue }
            do {
              var reply = try controlObject(host, port).invoke("announce_epoch") { w in
                try w.writeString(clientID)
                w.write(epoch)
              }
              cancelled += Int(try reply.read(UInt32.self))
            } catch {
              logger.notice("cannot announce the new epoch", metadata: ["server": "\(server)", "error": "\(error)"])
            }
          }
        case .extermination:
          cancelled = exterminateLoggedCalls()
        case .none, .expiration:
          break
        }
        started.store(true, ordering: .releasing)
        return .success(cancelled)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// Reads the call log, asks each server to kill its calls, and clears the log (a call
  /// whose server cannot be reached stays logged for the next restart, unless nothing
  /// listens there any more: then the call died with its server).
  private func exterminateLoggedCalls() -> Int {
    struct Group: Hashable {
      let server: String
      let client: String
      let epoch: UInt32
    }
    var groups: [Group: (ids: [UInt64], files: [String])] = [:]
    for name in DurableFiles.list(callsDirectory) where !name.hasPrefix(".") {
      let path = callsDirectory + "/" + name
      let lines = (DurableFiles.read(path) ?? "").split(separator: "\n").map(String.init)
      guard lines.count >= 4, let epoch = UInt32(lines[2]), let id = UInt64(lines[3]) else {
        unlink(path)  // a torn write: the call was never sent
        continue
      }
      groups[Group(server: lines[0], client: lines[1], epoch: epoch), default: ([], [])].ids.append(id)
      groups[Group(server: lines[0], client: lines[1], epoch: epoch)]?.files.append(path)
    }
    var cancelled = 0
    for (group, entry) in groups {
      guard let (host, port) = Self.endpoint(group.server) else { continue }
      do {
        var reply = try controlObject(host, port).invoke("exterminate") { w in
          try w.writeString(group.client)
          w.write(group.epoch)
          w.write(UInt32(entry.ids.count))
          for id in entry.ids { w.write(id) }
        }
        cancelled += Int(try reply.read(UInt32.self))
      } catch let e as RPCError where e.minor == CourierMinor.connectFailed {
        // Nothing listens: the server (and the calls) are gone.
      } catch {
        logger.notice("cannot exterminate", metadata: ["server": "\(group.server)", "error": "\(error)"])
        continue
      }
      for file in entry.files { unlink(file) }
    }
    return cancelled
  }

  // MARK: - calls

  /// A two-way call about to be sent to `host`:`port`: its context, logged (extermination)
  /// or renewed (expiration) until ``Call/end()``.
  func begin(host: String, port: UInt16) throws(RPCError) -> Call {
    try startIfNeeded()
    let server = "\(host) \(port)"
    let (epoch, id, servers, startRenewer) = state.withLock { s -> (UInt32, UInt64, [String]?, Bool) in
      let id = s.nextCall
      s.nextCall += 1
      let added = s.servers.insert(server).inserted
      var startRenewer = false
      if case .expiration = policy.mode {
        s.outstanding[id] = Outstanding(host: host, port: port, epoch: s.epoch)
        if !s.renewing && !s.stopped {
          s.renewing = true
          startRenewer = true
        }
      }
      return (s.epoch, id, added ? s.servers.sorted() : nil, startRenewer)
    }
    let call = Call(client: self, context: OrphanContext(clientID: clientID, epoch: epoch, callID: id, mode: policy.mode))
    do throws(RPCError) {
      if let servers {
        try serversFileLock.withLock { _ throws(RPCError) in
          try DurableFiles.writeAtomically(directory + "/servers", servers.joined(separator: "\n") + "\n")
        }
      }
      if case .extermination = policy.mode {
        try DurableFiles.create(callsDirectory + "/\(epoch)-\(id)", "\(server)\n\(clientID)\n\(epoch)\n\(id)\n")
      }
    } catch {
      call.end()
      throw error
    }
    if startRenewer { spawnThread(name: "courier-orphan-renew") { [self] in renewLoop() } }
    return call
  }

  /// The call's reply arrived (or the client gave up on it).
  func finish(_ call: Call) {
    let context = call.context
    switch policy.mode {
    case .extermination:
      unlink(callsDirectory + "/\(context.epoch)-\(context.callID)")
    case .expiration:
      state.withLock { _ = $0.outstanding.removeValue(forKey: context.callID) }
    default:
      break
    }
  }

  /// Expiration: renews the outstanding calls' leases every quantum / 2 while there are any.
  private func renewLoop() {
    guard case .expiration(let quantum) = policy.mode else { return }
    let period = quantum / 2
    let ms = policy.mode.quantumMilliseconds
    while true {
      renewWake.withLock {
        if !state.withLock({ $0.stopped }) { renewWake.wait(until: .now + period) }
      }
      let groups = state.withLock { s -> [String: (Outstanding, [UInt64])]? in
        if s.outstanding.isEmpty || s.stopped {
          s.renewing = false
          return nil
        }
        var groups: [String: (Outstanding, [UInt64])] = [:]
        for (id, o) in s.outstanding {
          groups["\(o.host) \(o.port) \(o.epoch)", default: (o, [])].1.append(id)
        }
        return groups
      }
      guard let groups else { return }
      for (o, ids) in groups.values {
        do {
          let options = CallOptions(timeout: max(period, .milliseconds(100)))
          _ = try controlObject(o.host, o.port).invoke("renew", options: options) { w in
            try w.writeString(clientID)
            w.write(o.epoch)
            w.write(UInt32(ids.count))
            for id in ids { w.write(id) }
            w.write(ms)
          }
        } catch {
          logger.debug("renewal failed", metadata: ["server": "\(o.host):\(o.port)", "error": "\(error)"])
        }
      }
    }
  }

  func shutdown() {
    state.withLock { $0.stopped = true }
    renewWake.withLock { renewWake.broadcast() }
    control.shutdown()
  }

  // MARK: - helpers

  /// The built-in orphan object of the server at `host`:`port`, through the control ORB.
  func controlObject(_ host: String, _ port: UInt16) throws -> ObjectReference {
    let profile = IIOPProfile(version: .v1_2, host: host, port: port, objectKey: Array(OrphanMonitor.objectKey.utf8))
    return control.object(try IOR(typeID: OrphanMonitor.repositoryID, profile: profile))
  }

  static func endpoint(_ line: String) -> (String, UInt16)? {
    guard let space = line.lastIndex(of: " "), let port = UInt16(line[line.index(after: space)...]) else { return nil }
    return (String(line[..<space]), port)
  }

  /// One call in progress with the orphan context.
  final class Call: Sendable {
    let client: OrphanClient
    let context: OrphanContext
    let serviceContext: ServiceContext
    private let ended = Atomic<Bool>(false)

    init(client: OrphanClient, context: OrphanContext) {
      self.client = client
      self.context = context
      self.serviceContext = context.serviceContext
    }

    /// The reply came (or the call failed): stop logging or renewing it. Idempotent.
    func end() {
      if !ended.exchange(true, ordering: .acquiringAndReleasing) { client.finish(self) }
    }
  }
}

extension ORB {
  /// With an ``OrphanPolicy``: the restart step now instead of before the first call — a new
  /// epoch (kept in the state directory), then, by mode, the epoch announced to every server
  /// called before (reincarnation, gentle reincarnation) or the logged calls exterminated
  /// (extermination). Runs once per ORB. Returns how many calls the servers cancelled.
  @discardableResult
  public func announceRestart() throws -> Int {
    guard let orphans else { return 0 }
    return try orphans.restart()
  }

  /// This client's orphan identity: its id and current epoch (0 before the restart step);
  /// nil without an ``OrphanPolicy``.
  public var orphanIdentity: (clientID: String, epoch: UInt32)? {
    orphans.map { ($0.clientID, $0.epoch) }
  }
}

/// Plain files made durable: written, fsynced, renamed, the directory fsynced.
enum DurableFiles {
  static func failure(_ what: String, _ path: String) -> RPCError {
    RPCError(.initialize, minor: 0, completion: .no, "orphan state: cannot \(what) \(path): \(String(cString: strerror(errno)))")
  }

  static func makeDirectories(_ path: String) throws(RPCError) {
    var prefix = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
      prefix += "/" + part
      if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw failure("create", prefix) }
    }
  }

  static func read(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { break }
      out.append(contentsOf: buffer[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Writes a new file (failing if it exists), fsyncs it and its directory.
  static func create(_ path: String, _ text: String) throws(RPCError) {
    try write(path, text, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
    syncDirectory(of: path)
  }

  /// Replaces `path` all at once: a temporary file written and fsynced, renamed over it, the
  /// directory fsynced.
  static func writeAtomically(_ path: String, _ text: String) throws(RPCError) {
    let tmp = path + ".tmp"
    try write(tmp, text, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
    guard rename(tmp, path) == 0 else { throw failure("rename", tmp) }
    syncDirectory(of: path)
  }

  private static func write(_ path: String, _ text: String, flags: Int32) throws(RPCError) {
    let fd = open(path, flags, 0o644)
    guard fd >= 0 else { throw failure("open", path) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        throw failure("write", path)
      }
      offset += n
    }
    guard fsync(fd) == 0 else { throw failure("fsync", path) }
  }

  static func syncDirectory(of path: String) {
    let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let fd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fsync(fd)
    close(fd)
  }

  static func list(_ dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let entry = readdir(d) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }
}

extension String {
  /// The text without surrounding whitespace and newlines.
  var trimmedLine: String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
