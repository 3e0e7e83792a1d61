import CourierCore
import CourierGIOP
import CourierWire
import Dispatch
public import Distributed
import Logging
import Synchronization

/// A distributed actor that wants to know when no other process references it any more
/// (Java RMI's `Unreferenced`): the last lease on it expired or was cleaned, no reference to
/// it is in transit, and it is not checked in to a registry.
///
/// The system stops keeping the actor alive at that moment; if nothing local holds it either,
/// it is deinitialized after the hook returns.
public protocol Unreferenced: DistributedActor {
  /// Runs once each time the actor becomes unreferenced.
  func unreferenced() async
}

/// Calls the hook on a local actor.
func runUnreferenced<A: Unreferenced>(_ actor: A) async {
  _ = await actor.whenLocal { await $0.unreferenced() }
}

// MARK: - Owner side

/// What the object adapter finds under an actor's key: a weak reference to the actor (its
/// owner keeps it alive, or the export table does while it is referenced remotely).
protocol ActorServing: Servant {
  var anyActor: (any DistributedActor)? { get }
}

final class ActorServant<Act: DistributedActor>: ActorServing, @unchecked Sendable where Act.ID == CourierActorID {
  // @unchecked: `actor` is written once, in init; weak loads are atomic.
  private weak var actor: Act?
  private unowned let system: CourierActorSystem
  let repositoryIDs: [String]

  init(actor: Act, system: CourierActorSystem) {
    self.actor = actor
    self.system = system
    repositoryIDs = [actor.id.ior.typeID]
  }

  var anyActor: (any DistributedActor)? { actor }

  func dispatch(_ request: inout ServerRequest) throws {
    guard let actor else {
      throw RPCError(.objectNotExist, minor: CourierMinor.noSuchObject, completion: .no, "the actor was released")
    }
    try system.serve(&request, on: actor)
  }
}

/// The actors of one system and who references them remotely.
final class ExportTable: Sendable {
  struct Record {
    let servant: any ActorServing
    /// Set while something remote references the actor.
    var strong: (any DistributedActor)?
    /// Lease holders (incarnations) and their lease expiries.
    var holders: [[UInt8]: ContinuousClock.Instant] = [:]
    /// Transit holds on the actor.
    var holds: Set<UInt64> = []
    /// Registry check-ins.
    var pins = 0

    var isReferenced: Bool { !holders.isEmpty || !holds.isEmpty || pins > 0 }
  }

  struct State {
    var records: [[UInt8]: Record] = [:]
    /// Every hold: its actor's key and its expiry.
    var holds: [UInt64: (key: [UInt8], expiry: ContinuousClock.Instant)] = [:]
  }

  private let state = Mutex(State())

  func add(key: [UInt8], servant: any ActorServing) {
    state.withLock { $0.records[key] = Record(servant: servant) }
  }

  func remove(key: [UInt8]) {
    state.withLock { s in
      if let record = s.records.removeValue(forKey: key) {
        for h in record.holds { s.holds[h] = nil }
      }
    }
  }

  func actor(key: [UInt8]) -> (any DistributedActor)? {
    state.withLock { $0.records[key]?.servant.anyActor }
  }

  var count: Int { state.withLock { $0.records.count } }
  var referencedCount: Int { state.withLock { s in s.records.values.count { $0.strong != nil } } }

  func holders(key: [UInt8]) -> [String] {
    state.withLock { s in (s.records[key]?.holders.keys).map { $0.map(\.hex).sorted() } ?? [] }
  }

  /// Makes the record referenced: keeps the actor alive. False if the actor is gone.
  private static func reference(_ record: inout Record) -> Bool {
    if record.strong == nil {
      guard let actor = record.servant.anyActor else { return false }
      record.strong = actor
    }
    return true
  }

  /// A dirty call: leases for `holder` on `keys` until `expiry`. Returns the indexes of keys
  /// that name no actor.
  func dirty(holder: [UInt8], keys: [[UInt8]], expiry: ContinuousClock.Instant) -> [UInt32] {
    state.withLock { s in
      var unknown: [UInt32] = []
      for (i, key) in keys.enumerated() {
        guard var record = s.records[key], Self.reference(&record) else {
          unknown.append(UInt32(i))
          continue
        }
        record.holders[holder] = expiry
        s.records[key] = record
      }
      return unknown
    }
  }

  /// A clean call. Returns the actors that became unreferenced.
  func clean(holder: [UInt8], keys: [[UInt8]]) -> [any DistributedActor] {
    state.withLock { s in
      var released: [any DistributedActor] = []
      for key in keys {
        guard var record = s.records[key], record.holders.removeValue(forKey: holder) != nil else { continue }
        if let actor = Self.releaseIfUnreferenced(&record) { released.append(actor) }
        s.records[key] = record
      }
      return released
    }
  }

  private static func releaseIfUnreferenced(_ record: inout Record) -> (any DistributedActor)? {
    guard !record.isReferenced, let actor = record.strong else { return nil }
    record.strong = nil
    return actor
  }

  /// A transit hold on the actor under `key`, numbered `number`; false if there is no such actor.
  func hold(key: [UInt8], number: UInt64, expiry: ContinuousClock.Instant) -> Bool {
    state.withLock { s in
      guard var record = s.records[key], Self.reference(&record) else { return false }
      record.holds.insert(number)
      s.records[key] = record
      s.holds[number] = (key, expiry)
      return true
    }
  }

  func releaseHold(_ number: UInt64, system: CourierActorSystem) {
    let released = state.withLock { s -> (any DistributedActor)? in
      guard let (key, _) = s.holds.removeValue(forKey: number), var record = s.records[key] else { return nil }
      record.holds.remove(number)
      defer { s.records[key] = record }
      return Self.releaseIfUnreferenced(&record)
    }
    if let released { system.notifyUnreferenced(released) }
  }

  func pin(key: [UInt8]) -> Bool {
    state.withLock { s in
      guard var record = s.records[key], Self.reference(&record) else { return false }
      record.pins += 1
      s.records[key] = record
      return true
    }
  }

  func unpin(key: [UInt8]) -> (any DistributedActor)? {
    state.withLock { s in
      guard var record = s.records[key], record.pins > 0 else { return nil }
      record.pins -= 1
      defer { s.records[key] = record }
      return Self.releaseIfUnreferenced(&record)
    }
  }

  /// Drops expired leases and holds; returns the actors that became unreferenced.
  func sweep(now: ContinuousClock.Instant) -> [any DistributedActor] {
    state.withLock { s in
      var touched: Set<[UInt8]> = []
      for (number, hold) in s.holds where hold.expiry <= now {
        s.holds[number] = nil
        s.records[hold.key]?.holds.remove(number)
        touched.insert(hold.key)
      }
      var released: [any DistributedActor] = []
      for (key, record) in s.records where !record.holders.isEmpty || touched.contains(key) {
        var record = record
        let before = record.holders.count
        record.holders = record.holders.filter { $0.value > now }
        guard record.holders.count != before || touched.contains(key) else { continue }
        if let actor = Self.releaseIfUnreferenced(&record) { released.append(actor) }
        s.records[key] = record
      }
      return released
    }
  }
}

extension CourierActorSystem {
  /// Runs the `unreferenced` hook of an actor the system stopped keeping alive.
  func notifyUnreferenced(_ actor: any DistributedActor) {
    logger.debug("actor unreferenced", metadata: ["actor": "\(actor.id)"])
    guard let hooked = actor as? any Unreferenced else { return }
    Task { await runUnreferenced(hooked) }
  }

  /// A hold on `id` for a message being written (nil when this system cannot keep it alive:
  /// not its actor and no lease, or holds are off).
  func holdForTransit(_ id: CourierActorID) -> TransitMark? {
    guard configuration.transitHolds else { return nil }
    let number = leases.nextHoldNumber()
    let expiry = ContinuousClock.now + configuration.effectiveTransitHoldTimeout
    let held = isLocal(id) ? exports.hold(key: id.key, number: number, expiry: expiry) : leases.hold(id, number: number, expiry: expiry)
    guard held else { return nil }
    let (host, port) = endpoint
    return TransitMark(host: host, port: port, incarnation: incarnation, hold: number)
  }

  /// One maintenance pass: expire leases and holds on local actors; release expired holds on
  /// remote ones; renew the leases this process holds when they are due.
  func maintain(now: ContinuousClock.Instant, renew: Bool) {
    for actor in exports.sweep(now: now) { notifyUnreferenced(actor) }
    for id in leases.expireHolds(now: now) { clean(id) }
    for id in leases.dropReleasedProxies() { clean(id) }
    for notice in leases.checkLost(now: now, leasePeriod: configuration.leasePeriod) { notice() }
    guard renew else { return }
    for batch in leases.renewalBatches() {
      guard let first = batch.first else { continue }
      dgcQueue(for: first).async {
        switch self.dirtyNow(batch) {
        case .granted(let unknown):
          let gone = Set(unknown)
          self.leases.confirmed(batch.filter { !gone.contains($0) })
          for id in gone { self.leases.markGone(id, reason: "its process released it") }
        case .failed(let error):
          self.logger.debug("lease renewal failed", metadata: ["owner": "\(first.host):\(first.port)", "error": "\(error)"])
        }
      }
    }
  }
}

// MARK: - Holder side

/// The leases this process holds on remote actors.
final class LeaseTable: Sendable {
  enum Status: Sendable {
    /// The dirty call is under way.
    case registering
    case registered
    /// Renewals (or the registration) failed for longer than the lease period.
    case lost
    case gone(String)
  }

  /// A proxy, weakly: its disappearance is how a dropped reference is noticed.
  final class WeakProxy: @unchecked Sendable {
    // @unchecked: written once in init; weak loads are atomic.
    weak var proxy: (any DistributedActor)?
    init(_ proxy: any DistributedActor) { self.proxy = proxy }
  }

  struct Lease {
    var proxies: [WeakProxy] = []
    var holds: Set<UInt64> = []
    var status = Status.registering
    var lastConfirmed: ContinuousClock.Instant
    /// Marks to acknowledge once the registration is done.
    var pendingAcks: [TransitMark] = []
  }

  struct Watch {
    let id: CourierActorID
    let body: @Sendable (CourierActorID, String) -> Void
  }

  struct State {
    var leases: [CourierActorID: Lease] = [:]
    var holds: [UInt64: (id: CourierActorID, expiry: ContinuousClock.Instant)] = [:]
    var watches: [UInt64: Watch] = [:]
    var queues: [String: DispatchQueue] = [:]
  }

  private let state = Mutex(State())
  private let numbers = Atomic<UInt64>(1)

  func nextHoldNumber() -> UInt64 { numbers.add(1, ordering: .relaxed).oldValue }

  var count: Int { state.withLock { $0.leases.count } }

  /// Tracks a new proxy; true when the lease must be registered (the first proxy).
  func retain(_ id: CourierActorID, proxy: any DistributedActor) -> Bool {
    state.withLock { s in
      if s.leases[id] != nil {
        s.leases[id]!.proxies.append(WeakProxy(proxy))
        return false
      }
      var lease = Lease(lastConfirmed: .now)
      lease.proxies = [WeakProxy(proxy)]
      s.leases[id] = lease
      return true
    }
  }

  /// Forgets proxies that were deinitialized; returns the ids whose lease must be cleaned
  /// (no proxy and no hold left).
  func dropReleasedProxies() -> [CourierActorID] {
    state.withLock { s in
      var clean: [CourierActorID] = []
      for (id, lease) in s.leases where lease.proxies.contains(where: { $0.proxy == nil }) || (lease.proxies.isEmpty && lease.holds.isEmpty) {
        var lease = lease
        lease.proxies.removeAll { $0.proxy == nil }
        // A lease being registered stays until the dirty call is answered (its acknowledgements
        // are sent then); the next pass cleans it.
        if case .registering = lease.status {
          s.leases[id] = lease
          continue
        }
        if lease.proxies.isEmpty && lease.holds.isEmpty {
          s.leases[id] = nil
          if case .gone = lease.status { continue }
          clean.append(id)
        } else {
          s.leases[id] = lease
        }
      }
      return clean
    }
  }

  func hold(_ id: CourierActorID, number: UInt64, expiry: ContinuousClock.Instant) -> Bool {
    state.withLock { s in
      guard var lease = s.leases[id] else { return false }
      if case .gone = lease.status { return false }
      lease.holds.insert(number)
      s.leases[id] = lease
      s.holds[number] = (id, expiry)
      return true
    }
  }

  func releaseHold(_ number: UInt64, system: CourierActorSystem) {
    if let id = dropHold(number) { system.clean(id) }
  }

  /// Removes a hold; returns the id to clean if it was the last thing keeping the lease.
  private func dropHold(_ number: UInt64) -> CourierActorID? {
    state.withLock { s in
      guard let (id, _) = s.holds.removeValue(forKey: number), var lease = s.leases[id] else { return nil }
      lease.holds.remove(number)
      lease.proxies.removeAll { $0.proxy == nil }
      if lease.proxies.isEmpty && lease.holds.isEmpty {
        if case .registering = lease.status {
          s.leases[id] = lease  // cleaned by the next pass, after the registration
          return nil
        }
        s.leases[id] = nil
        if case .gone = lease.status { return nil }
        return id
      }
      s.leases[id] = lease
      return nil
    }
  }

  /// Releases expired holds; returns ids to clean.
  func expireHolds(now: ContinuousClock.Instant) -> [CourierActorID] {
    let expired = state.withLock { s in s.holds.filter { $0.value.expiry <= now }.map(\.key) }
    return expired.compactMap { dropHold($0) }
  }

  /// Queues `mark` for acknowledgement after the registration under way; false when there
  /// is none (acknowledge now).
  func ackAfterRegistration(_ id: CourierActorID, _ mark: TransitMark) -> Bool {
    state.withLock { s in
      guard var lease = s.leases[id], case .registering = lease.status else { return false }
      lease.pendingAcks.append(mark)
      s.leases[id] = lease
      return true
    }
  }

  func takeAcks(_ id: CourierActorID) -> [TransitMark] {
    state.withLock { s in
      guard var lease = s.leases[id] else { return [] }
      defer {
        lease.pendingAcks = []
        s.leases[id] = lease
      }
      return lease.pendingAcks
    }
  }

  func confirmed(_ ids: [CourierActorID]) {
    let now = ContinuousClock.now
    state.withLock { s in
      for id in ids {
        guard var lease = s.leases[id] else { continue }
        if case .gone = lease.status { continue }
        lease.status = .registered
        lease.lastConfirmed = now
        s.leases[id] = lease
      }
    }
  }

  /// The dirty call failed: renewals retry it (a dirty call is idempotent), and if none gets
  /// through within the lease period the lease is lost and the watchers are told, as for a
  /// lease whose renewals stopped.
  func registrationFailed(_ id: CourierActorID) {
    state.withLock { s in
      if case .registering = s.leases[id]?.status { s.leases[id]!.status = .registered }
    }
  }

  func state(of id: CourierActorID) -> Status? {
    state.withLock { $0.leases[id]?.status }
  }

  /// Marks `id` gone and tells its watchers.
  func markGone(_ id: CourierActorID, reason: String = "its process no longer has it") {
    let watchers = state.withLock { s -> [Watch] in
      guard s.leases[id] != nil else { return [] }
      if case .gone = s.leases[id]!.status { return [] }
      s.leases[id]!.status = .gone(reason)
      return s.watches.values.filter { $0.id == id }
    }
    for w in watchers { w.body(id, reason) }
  }

  /// Leases not confirmed for longer than the lease period become lost; returns the watcher
  /// notifications to run.
  func checkLost(now: ContinuousClock.Instant, leasePeriod: Duration) -> [@Sendable () -> Void] {
    state.withLock { s in
      var notices: [@Sendable () -> Void] = []
      for (id, lease) in s.leases {
        guard case .registered = lease.status, now - lease.lastConfirmed > leasePeriod else { continue }
        s.leases[id]!.status = .lost
        for w in s.watches.values where w.id == id {
          notices.append { w.body(id, "its lease could not be renewed for longer than the lease period") }
        }
      }
      return notices
    }
  }

  /// The registered leases grouped by owner endpoint, in batches of at most
  /// ``DGCServant/maxKeysPerCall``.
  func renewalBatches() -> [[CourierActorID]] {
    state.withLock { s in
      var batches: [String: [CourierActorID]] = [:]
      for (id, lease) in s.leases {
        switch lease.status {
        case .registered: batches["\(id.host):\(id.port)", default: []].append(id)
        case .registering, .lost, .gone: continue  // a lost lease stays lost
        }
      }
      // One dirty call carries at most maxKeysPerCall keys (the DGC object's bound).
      return batches.values.flatMap { ids in
        stride(from: 0, to: ids.count, by: DGCServant.maxKeysPerCall).map { Array(ids[$0..<min($0 + DGCServant.maxKeysPerCall, ids.count)]) }
      }
    }
  }

  func watch(_ id: CourierActorID, _ body: @escaping @Sendable (CourierActorID, String) -> Void) -> UInt64 {
    let token = nextHoldNumber()
    state.withLock { $0.watches[token] = Watch(id: id, body: body) }
    return token
  }

  func unwatch(_ token: UInt64) {
    _ = state.withLock { $0.watches.removeValue(forKey: token) }
  }

  /// The serial queue for distributed GC calls to one endpoint.
  func queue(host: String, port: UInt16) -> DispatchQueue {
    let key = "\(host):\(port)"
    return state.withLock { s in
      if let q = s.queues[key] { return q }
      let q = DispatchQueue(label: "courier.dgc.\(key)")
      s.queues[key] = q
      return q
    }
  }
}

// MARK: - The DGC object

/// Every actor system's distributed GC object, at key `CourierDGC`:
/// - `dirty(octets holder, sequence<octets> keys, unsigned long leaseMillis)` →
///   `unsigned long grantedMillis, sequence<unsigned long> unknownIndexes`;
/// - `clean(octets holder, sequence<octets> keys)`;
/// - `ack(sequence<unsigned long long> holds)`: the receiver of references this process
///   wrote holds its own leases now.
final class DGCServant: Servant, @unchecked Sendable {
  static let objectKey: [UInt8] = Array("CourierDGC".utf8)
  static let repositoryID = "IDL:Courier/DGC:1.0"
  /// The most keys one dirty or clean call may carry; holders split renewals to fit.
  static let maxKeysPerCall = 10_000
  let repositoryIDs = [DGCServant.repositoryID]
  private unowned let system: CourierActorSystem

  init(system: CourierActorSystem) {
    self.system = system
  }

  func dispatch(_ request: inout ServerRequest) throws {
    switch request.operation {
    case "dirty":
      let (holder, keys, millis) = try request.decodeArguments { r in
        (try r.readOctetSequence(bound: 64), try Self.readKeys(&r), try r.read(UInt32.self))
      }
      let granted = min(Int64(millis), system.configuration.leasePeriod.milliseconds)
      let unknown = system.exports.dirty(holder: holder, keys: keys, expiry: .now + .milliseconds(granted))
      request.reply.write(UInt32(clamping: granted))
      request.reply.write(UInt32(unknown.count))
      for i in unknown { request.reply.write(i) }
    case "clean":
      let (holder, keys) = try request.decodeArguments { r in (try r.readOctetSequence(bound: 64), try Self.readKeys(&r)) }
      for actor in system.exports.clean(holder: holder, keys: keys) { system.notifyUnreferenced(actor) }
    case "ack":
      let holds = try request.decodeArguments { r in try r.readSequence(minimumElementSize: 8) { try $0.read(UInt64.self) } }
      for h in holds {
        system.exports.releaseHold(h, system: system)
        system.leases.releaseHold(h, system: system)
      }
    default:
      throw request.unknownOperation(interface: Self.repositoryID)
    }
  }

  static func readKeys(_ r: inout CDRReader) throws -> [[UInt8]] {
    try r.readSequence(bound: maxKeysPerCall, minimumElementSize: 4) { try $0.readOctetSequence(bound: 1024) }
  }
}

/// The thread that sweeps expired leases and renews held ones.
final class Maintenance: Sendable {
  private let wake = ConditionLock()
  private let stopping = Mutex(false)

  func start(system: CourierActorSystem) {
    let lease = system.configuration.leasePeriod
    // Dropped proxies are noticed at the next tick, so ticks are short.
    let tick = max(min(lease / 6, .milliseconds(100)), .milliseconds(10))
    let renewEvery = lease / 3
    spawnThread(name: "courier-dgc") { [weak system] in
      var nextRenew = ContinuousClock.now + renewEvery
      while true {
        let deadline = ContinuousClock.now + tick
        let stop = self.wake.withLock { () -> Bool in
          while !self.stopping.withLock({ $0 }) {
            if !self.wake.wait(until: deadline) { break }
          }
          return self.stopping.withLock { $0 }
        }
        guard !stop, let system else { return }
        let now = ContinuousClock.now
        let renew = now >= nextRenew
        if renew { nextRenew = now + renewEvery }
        system.maintain(now: now, renew: renew)
      }
    }
  }

  func stop() {
    wake.withLock {
      stopping.withLock { $0 = true }
      wake.broadcast()
    }
  }
}
