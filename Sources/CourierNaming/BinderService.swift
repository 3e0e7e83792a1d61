import CourierCore
public import CourierGIOP
import Synchronization

/// The binder of the seeds' dynamic binding (`CourierBinding::Binder`, object key `Binder`):
/// servers register (name, version, reference, access list); clients look up a name and a
/// range of versions and get one live server, chosen by the name's policy.
///
/// - Health: a poller calls `_non_existent` on every registered server each ``Configuration/pollPeriod``.
///   After ``Configuration/failureThreshold`` consecutive failures a server is taken out of
///   lookups (deregistered automatically); it stays on a watch list and is put back as soon as a
///   poll succeeds again, for ``Configuration/retention``, after which it is dropped for good.
/// - Versions: a lookup names the versions its client understands; a name whose servers are all
///   outside that range answers `VersionMismatch` with the versions it has. A name is for one
///   interface: registering a reference of another repository id under it is refused.
/// - Access lists: a registration with a non-empty list is returned only to clients presenting
///   one of its credentials (``Credential``); a client that may see none gets `AccessDenied`.
/// - Persistence: with a database path, registrations and policies are written to SQLite
///   before the call is answered, and come back (alive until polled otherwise) after a restart.
///
/// ```swift
/// let binder = try BinderService(configuration: .init(pollPeriod: .seconds(2)))
/// try binder.install(on: server)       // server: a GIOPServer with an ORB
/// ```
public final class BinderService: Sendable {
  public typealias Version = CourierBinding_Version
  public typealias VersionRange = CourierBinding_VersionRange
  public typealias Policy = CourierBinding_Policy

  /// How the binder polls and chooses.
  public struct Configuration: Sendable {
    /// How often every registered server is polled.
    public var pollPeriod: Duration
    /// Consecutive failed polls after which a server is no longer returned.
    public var failureThreshold: Int
    /// How long one poll may take (default: the poll period, at most 2 s).
    public var pollTimeout: Duration?
    /// How long a failing server stays on the watch list before its registration is dropped.
    public var retention: Duration
    /// The policy of names nobody set one for.
    public var defaultPolicy: Policy

    public init(pollPeriod: Duration = .seconds(5), failureThreshold: Int = 3, pollTimeout: Duration? = nil,
                retention: Duration = .seconds(3600), defaultPolicy: Policy = .ROUND_ROBIN) {
      self.pollPeriod = pollPeriod
      self.failureThreshold = max(1, failureThreshold)
      self.pollTimeout = pollTimeout
      self.retention = retention
      self.defaultPolicy = defaultPolicy
    }

    var effectivePollTimeout: Duration { pollTimeout ?? min(pollPeriod, .seconds(2)) }
  }

  /// One registration.
  struct Record: Sendable {
    var id: UInt64
    var name: String
    var version: Version
    var server: ObjectReference
    var allowed: [String]
    var alive = true
    var failures: UInt32 = 0
    /// When it last failed a poll after being alive (for ``Configuration/retention``).
    var failingSince: ContinuousClock.Instant?
    /// The lookup counter's value when it was last returned (least recently used goes first).
    var lastReturned: UInt64 = 0
  }

  struct State: Sendable {
    var records: [UInt64: Record] = [:]
    var nextID: UInt64 = 1
    var policies: [String: Policy] = [:]
    var roundRobin: [String: Int] = [:]
    var lookups: UInt64 = 0
    var stopped = false
  }

  /// The binder's object key.
  public static let objectKey = "Binder"

  public let configuration: Configuration
  let state = Mutex(State())
  let persistence: BinderPersistence?
  let server = Mutex<GIOPServer?>(nil)
  let wakeup = ConditionLock()
  /// Broadcast after each poll result is applied (see ``waitUntil(timeout:_:)``).
  let pollResults = ConditionLock()

  /// An in-memory binder.
  public init(configuration: Configuration = Configuration()) {
    self.configuration = configuration
    self.persistence = nil
  }

  /// A binder persistent in the SQLite file at `path` (may be the naming service's file).
  public init(configuration: Configuration = Configuration(), databasePath path: String) throws {
    self.configuration = configuration
    self.persistence = try BinderPersistence(path: path)
  }

  /// Serves the binder under ``objectKey`` on `server` (which needs an ORB: polls and the
  /// references it stores go through it) and starts the poller.
  public func install(on server: GIOPServer) throws {
    guard let orb = server.orb else {
      throw RPCError(.internal, minor: 0, completion: .no, "the binder needs a GIOPServer with an ORB")
    }
    if let persistence {
      let loaded = try persistence.load(orb: orb)
      state.withLock { s in
        for r in loaded.records { s.records[r.id] = r }
        s.nextID = max(loaded.nextID, (loaded.records.map(\.id).max() ?? 0) + 1)
        s.policies = loaded.policies
      }
    }
    self.server.withLock { $0 = server }
    server.adapter.activate(CourierBinding_Binder.Servant(Servant(binder: self)), key: Self.objectKey)
    spawnThread(name: "courier-binder-poll") { [self] in pollLoop() }
  }

  /// Stops the poller (the servant stays until its server shuts down).
  public func stop() {
    wakeup.withLock {
      state.withLock { $0.stopped = true }
      wakeup.broadcast()
    }
  }

  /// A reference to the binder, for the process that serves it.
  public func reference() throws -> CourierBinding_Binder.Blocking {
    guard let server = server.withLock({ $0 }), let orb = server.orb else {
      throw RPCError(.internal, minor: 0, completion: .no, "the binder is not installed")
    }
    return CourierBinding_Binder.Blocking(orb.object(try server.reference(key: Self.objectKey, typeID: CourierBinding_Binder.repositoryID)))
  }

  // MARK: polling

  func pollLoop() {
    while true {
      let deadline = ContinuousClock.now + configuration.pollPeriod
      let stopped = wakeup.withLock { () -> Bool in
        while !state.withLock({ $0.stopped }) {
          if !wakeup.wait(until: deadline) { break }
        }
        return state.withLock { $0.stopped }
      }
      if stopped { return }
      pollAll()
    }
  }

  /// Polls every registration once (concurrently, each bounded by the poll timeout) and
  /// applies the results.
  func pollAll() {
    let targets = state.withLock { s in s.records.values.map { ($0.id, $0.server) } }
    guard !targets.isEmpty else { return }
    let results = Mutex([UInt64: Bool]())
    DispatchPolls.run(targets.count) { i in
      let ok = self.poll(targets[i].1)
      results.withLock { $0[targets[i].0] = ok }
    }
    let outcome = results.withLock { $0 }
    for (id, ok) in outcome { record(id, healthy: ok) }
  }

  /// One health poll: `_non_existent` answered false within the poll timeout.
  func poll(_ server: ObjectReference) -> Bool {
    do {
      var reply = try server.invoke("_non_existent", options: CallOptions(timeout: configuration.effectivePollTimeout))
      return try reply.read(Bool.self) == false
    } catch {
      return false
    }
  }

  /// Applies a poll result: counts failures, takes a server out of lookups at the threshold,
  /// puts it back on success, drops it after the retention period.
  func record(_ id: UInt64, healthy: Bool, immediately: Bool = false) {
    var dropped = false
    state.withLock { s in
      guard var r = s.records[id] else { return }
      if healthy {
        r.failures = 0
        r.alive = true
        r.failingSince = nil
      } else {
        r.failures &+= 1
        if r.failingSince == nil { r.failingSince = .now }
        if immediately || r.failures >= configuration.failureThreshold { r.alive = false }
        if let since = r.failingSince, ContinuousClock.now - since > configuration.retention {
          s.records[id] = nil
          dropped = true
          return
        }
      }
      s.records[id] = r
    }
    if dropped { try? persistence?.remove(id) }
    pollResults.withLock { pollResults.broadcast() }
  }

  /// Waits until `condition` holds for the registrations, re-checking after every poll
  /// result, or until `timeout` passes; returns whether it held (for tests and tools).
  func waitUntil(timeout: Duration, _ condition: ([UInt64: Record]) -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    return pollResults.withLock {
      while !condition(state.withLock { $0.records }) {
        if !pollResults.wait(until: deadline) { return condition(state.withLock { $0.records }) }
      }
      return true
    }
  }

  // MARK: the operations

  func register(name: String, version: Version, server: ObjectReference?, allowed: [String]) throws -> UInt64 {
    guard !name.isEmpty else { throw CourierBinding_InvalidRegistration(reason: "empty name") }
    guard let server, !server.ior.isNil else { throw CourierBinding_InvalidRegistration(reason: "nil server reference") }
    if let bad = allowed.first(where: { $0.isEmpty || $0.contains("\n") }) {
      throw CourierBinding_InvalidRegistration(reason: "credential \(bad.debugDescription) is empty or has a newline")
    }
    return try state.withLock { s in
      let same = s.records.values.filter { $0.name == name }
      let typeID = server.ior.typeID
      if !typeID.isEmpty, let other = same.first(where: { !$0.server.ior.typeID.isEmpty && $0.server.ior.typeID != typeID }) {
        throw CourierBinding_InvalidRegistration(
          reason: "\(name) is registered for \(other.server.ior.typeID); this server is \(typeID)")
      }
      if var existing = same.first(where: { $0.version == version && $0.server.ior == server.ior }) {
        existing.alive = true
        existing.failures = 0
        existing.failingSince = nil
        if existing.allowed != allowed {
          existing.allowed = allowed
          try persistence?.put(existing, nextID: s.nextID)
        }
        s.records[existing.id] = existing
        return existing.id
      }
      let record = Record(id: s.nextID, name: name, version: version, server: server, allowed: allowed)
      try persistence?.put(record, nextID: s.nextID + 1)
      s.nextID += 1
      s.records[record.id] = record
      return record.id
    }
  }

  func deregister(id: UInt64) throws {
    try state.withLock { s in
      guard s.records[id] != nil else { throw CourierBinding_UnknownRegistration(id: id) }
      try persistence?.remove(id)
      s.records[id] = nil
    }
  }

  func lookup(name: String, versions: VersionRange, credential: String?) throws -> CourierBinding_Binding {
    try state.withLock { s in
      let named = s.records.values.filter { $0.name == name }
      guard !named.isEmpty else { throw CourierBinding_NoServer(name: name, reason: "nothing is registered under this name") }
      let inRange = named.filter { versions.contains($0.version) }
      guard !inRange.isEmpty else {
        let available = Set(named.map(\.version)).sorted()
        throw CourierBinding_VersionMismatch(name: name, available: available)
      }
      let visible = inRange.filter { $0.allowed.isEmpty || credential.map($0.allowed.contains) == true }
      guard !visible.isEmpty else { throw CourierBinding_AccessDenied(name: name, credential: credential ?? "") }
      let live = visible.filter(\.alive).sorted { $0.id < $1.id }
      guard !live.isEmpty else {
        throw CourierBinding_NoServer(name: name, reason: "\(visible.count) server(s) registered, none answering health polls")
      }
      let chosen: Record
      switch s.policies[name] ?? configuration.defaultPolicy {
      case .RANDOM:
        chosen = live.randomElement()!
      case .ROUND_ROBIN:
        let turn = s.roundRobin[name, default: 0]
        s.roundRobin[name] = turn &+ 1
        chosen = live[turn % live.count]
      case .LEAST_RECENTLY_USED:
        chosen = live.min { ($0.lastReturned, $0.id) < ($1.lastReturned, $1.id) }!
      }
      s.lookups += 1
      s.records[chosen.id]?.lastReturned = s.lookups
      return CourierBinding_Binding(id: chosen.id, version: chosen.version, server: chosen.server)
    }
  }

  func registrations(name: String) -> [CourierBinding_Registration] {
    state.withLock { s in
      s.records.values.filter { name.isEmpty || $0.name == name }.sorted { $0.id < $1.id }.map {
        CourierBinding_Registration(id: $0.id, name: $0.name, version: $0.version, server: $0.server,
                                    allowed: $0.allowed, alive: $0.alive, failures: $0.failures)
      }
    }
  }

  func setPolicy(name: String, policy: Policy) throws {
    try state.withLock { s in
      try persistence?.setPolicy(name: name, policy)
      s.policies[name] = policy
      s.roundRobin[name] = 0
    }
  }

  func reportFailure(id: UInt64) {
    guard let server = state.withLock({ $0.records[id]?.server }) else { return }
    let healthy = poll(server)
    record(id, healthy: healthy, immediately: true)
  }

  /// The binder's servant.
  final class Servant: CourierBinding_Binder.Service {
    let binder: BinderService
    init(binder: BinderService) { self.binder = binder }

    func register(name: String, version: CourierBinding_Version, server: ObjectReference?, allowed: CourierBinding_AccessList) throws -> CourierBinding_RegistrationID {
      try binder.register(name: name, version: version, server: server, allowed: allowed)
    }
    func deregister(id: CourierBinding_RegistrationID) throws { try binder.deregister(id: id) }
    func lookup(name: String, versions: CourierBinding_VersionRange) throws -> CourierBinding_Binding {
      try binder.lookup(name: name, versions: versions, credential: try Credential.current())
    }
    func registrations(name: String) throws -> CourierBinding_RegistrationList { binder.registrations(name: name) }
    func set_policy(name: String, policy: CourierBinding_Policy) throws { try binder.setPolicy(name: name, policy: policy) }
    func report_failure(id: CourierBinding_RegistrationID) throws { binder.reportFailure(id: id) }
  }
}

/// Runs `count` blocking polls on their own threads (at most 32 at a time) and waits for all.
enum DispatchPolls {
  static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = ConditionLock()
    let next = Mutex(0)
    let finished = Mutex(0)
    let workers = min(count, 32)
    for _ in 0..<workers {
      spawnThread(name: "courier-binder-poll-worker") {
        while true {
          let i = next.withLock { n -> Int in defer { n += 1 }; return n }
          if i >= count { break }
          body(i)
        }
        done.withLock {
          finished.withLock { $0 += 1 }
          done.broadcast()
        }
      }
    }
    done.withLock {
      while finished.withLock({ $0 }) < workers { done.wait(until: nil) }
    }
  }
}

extension CourierBinding_Version: Comparable {
  public static func < (a: Self, b: Self) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

  /// Parses `MAJOR.MINOR` (or `MAJOR`, minor 0).
  public init?(_ text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let major = UInt16(parts[0]) else { return nil }
    let minor = parts.count == 2 ? UInt16(parts[1]) : 0
    guard let minor else { return nil }
    self.init(major: major, minor: minor)
  }

  public var description: String { "\(major).\(minor)" }
}

extension CourierBinding_VersionRange {
  /// Every version.
  public static let any = Self(lowest: .init(major: 0, minor: 0), highest: .init(major: .max, minor: .max))

  /// Exactly `version`.
  public static func exactly(_ version: CourierBinding_Version) -> Self { Self(lowest: version, highest: version) }

  /// Any minor version of `major` from `minor` on: what a client built against `major.minor`
  /// can use when minor versions only add.
  public static func compatible(with version: CourierBinding_Version) -> Self {
    Self(lowest: version, highest: .init(major: version.major, minor: .max))
  }

  /// Parses `1.2` (exactly), `1.2-1.9` (inclusive), `1.2+` (compatible) or `*` (any).
  public init?(_ text: String) {
    if text == "*" { self = .any; return }
    if text.hasSuffix("+"), let v = CourierBinding_Version(String(text.dropLast())) { self = .compatible(with: v); return }
    if let dash = text.firstIndex(of: "-") {
      guard let lo = CourierBinding_Version(String(text[..<dash])),
            let hi = CourierBinding_Version(String(text[text.index(after: dash)...])), lo <= hi else { return nil }
      self.init(lowest: lo, highest: hi)
      return
    }
    guard let v = CourierBinding_Version(text) else { return nil }
    self = .exactly(v)
  }

  /// Whether `version` is in the range.
  public func contains(_ version: CourierBinding_Version) -> Bool { lowest <= version && version <= highest }
}
