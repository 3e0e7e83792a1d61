import CourierWire
import Synchronization

/// Maps object keys to servants and dispatches requests to them (the seeds' dispatcher and
/// remote reference module on the server side).
///
/// Two kinds of key:
/// - *persistent* keys are the bytes the application chose (`"Echo"`): an IOR made with one
///   works again after the server restarts on the same endpoint and activates the same key;
/// - *transient* keys (``activateTransient(_:)``) start with this adapter instance's random
///   id, so they die with the process: after a restart the old key is `OBJECT_NOT_EXIST`.
public final class ObjectAdapter: Sendable {
  struct Entry: Sendable {
    let servant: any Servant
    let serial: SerialGate?
  }

  struct State {
    var servants: [[UInt8]: Entry] = [:]
    var nextTransient: UInt64 = 1
  }

  /// A lock held around the calls of one servant that asked to be serialized.
  final class SerialGate: Sendable {
    let mutex = Mutex<Void>(())
  }

  private let state = Mutex(State())
  /// Bumped (inside `state`'s lock) by every change to the servant map, so that a
  /// ``LookupCache`` can tell without locking whether what it remembers is still true.
  private let generation = Atomic<UInt64>(1)
  private let locator: Mutex<(any ServantLocator)?> = Mutex(nil)

  /// The random prefix of this adapter instance's transient keys.
  public let instanceID: [UInt8]

  /// The prefix every transient key of every adapter starts with.
  public static let transientKeyMagic: [UInt8] = Array("CRT/".utf8)

  public init() {
    var generator = SystemRandomNumberGenerator()
    instanceID = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
  }

  /// Activates `servant` under a persistent key.
  public func activate(_ servant: any Servant, key: [UInt8]) {
    let entry = Entry(servant: servant, serial: servant.dispatchesSerially ? SerialGate() : nil)
    state.withLock {
      $0.servants[key] = entry
      generation.add(1, ordering: .releasing)
    }
  }

  /// Activates `servant` under a persistent key given as text (`"Echo"`).
  public func activate(_ servant: any Servant, key: String) {
    activate(servant, key: Array(key.utf8))
  }

  /// Activates `servant` under a new transient key and returns the key.
  public func activateTransient(_ servant: any Servant) -> [UInt8] {
    let entry = Entry(servant: servant, serial: servant.dispatchesSerially ? SerialGate() : nil)
    return state.withLock { state in
      let n = state.nextTransient
      state.nextTransient += 1
      var key = Self.transientKeyMagic + instanceID
      withUnsafeBytes(of: n.bigEndian) { key.append(contentsOf: $0) }
      state.servants[key] = entry
      generation.add(1, ordering: .releasing)
      return key
    }
  }

  /// Removes the servant under `key`; later calls get `OBJECT_NOT_EXIST`.
  @discardableResult
  public func deactivate(key: [UInt8]) -> Bool {
    state.withLock {
      defer { generation.add(1, ordering: .releasing) }
      return $0.servants.removeValue(forKey: key) != nil
    }
  }

  /// Sets the locator asked for keys that have no servant.
  public func setServantLocator(_ newLocator: (any ServantLocator)?) {
    locator.withLock { $0 = newLocator }
  }

  /// What one connection last found, so that a run of calls on the same object costs no lock:
  /// valid while the adapter's servant map is unchanged (checked with one atomic load).
  ///
  /// Keep one per connection (per thread) and pass it to ``dispatch(_:cache:)``.
  public struct LookupCache: Sendable {
    var key: [UInt8] = []
    var entry: Entry?
    var generation: UInt64 = 0
    public init() {}
    init(key: [UInt8], entry: Entry, generation: UInt64) {
      self.key = key
      self.entry = entry
      self.generation = generation
    }
  }

  /// The servant for `key` through `cache`: no lock when the cache holds it and nothing changed.
  func entry(for key: [UInt8], cache: inout LookupCache) throws -> Entry? {
    if cache.generation == generation.load(ordering: .acquiring), let entry = cache.entry, cache.key == key {
      return entry
    }
    let (found, current) = state.withLock { ($0.servants[key], generation.load(ordering: .relaxed)) }
    if let found {
      cache = LookupCache(key: key, entry: found, generation: current)
      return found
    }
    return try entry(for: key)
  }

  /// The servant for `key`, asking the locator if none is active.
  func entry(for key: [UInt8]) throws -> Entry? {
    if let entry = state.withLock({ $0.servants[key] }) { return entry }
    guard let locator = locator.withLock({ $0 }) else { return nil }
    guard let found = try locator.locate(objectKey: key) else { return nil }
    let entry = Entry(servant: found.servant, serial: found.servant.dispatchesSerially ? SerialGate() : nil)
    if found.activate {
      return state.withLock { state in
        if let raced = state.servants[key] { return raced }
        state.servants[key] = entry
        generation.add(1, ordering: .releasing)
        return entry
      }
    }
    return entry
  }

  /// True if a servant is active (or can be located) for `key`: the LocateRequest answer.
  public func hasObject(_ key: [UInt8]) -> Bool {
    (try? entry(for: key)) != nil
  }

  /// Dispatches one request: the built-in operations (`_is_a`, `_non_existent`,
  /// `_not_existent`, `_repository_id`, `_interface`) here, everything else to the servant.
  ///
  /// - Throws: ``RPCError`` `OBJECT_NOT_EXIST` for an unknown key, whatever the servant throws.
  public func dispatch(_ request: inout ServerRequest) throws {
    var cache = LookupCache()
    try dispatch(&request, cache: &cache)
  }

  /// Dispatches one request like ``dispatch(_:)``, finding the servant through a connection's
  /// `cache` (no lock on a run of calls to the same object).
  public func dispatch(_ request: inout ServerRequest, cache: inout LookupCache) throws {
    let found = try entry(for: request.objectKey, cache: &cache)
    // Built-in operations start with "_"; of the application's, only attribute accessors
    // (`_get_x`, `_set_x`) do, so one octet sends the common path past every string compare.
    let builtIn = request.operation.utf8.first == UInt8(ascii: "_")
    if builtIn, request.operation == "_non_existent" || request.operation == "_not_existent" {
      request.reply.write(found == nil)
      return
    }
    guard let found else {
      throw RPCError(.objectNotExist, minor: CourierMinor.noSuchObject, completion: .no,
                     "no object with key \(Self.describe(key: request.objectKey))")
    }
    guard builtIn else {
      if let gate = found.serial {
        try gate.mutex.withLock { _ in try found.servant.dispatch(&request) }
      } else {
        try found.servant.dispatch(&request)
      }
      return
    }
    switch request.operation {
    case "_is_a":
      let id: String = try request.read()
      request.reply.write(id == "IDL:omg.org/CORBA/Object:1.0" || found.servant.repositoryIDs.contains(id))
    case "_repository_id":
      try request.write(found.servant.repositoryIDs.first ?? "IDL:omg.org/CORBA/Object:1.0")
    case "_interface", "_get_component":
      throw RPCError(.noImplement, minor: 0, completion: .no, "\(request.operation) is not supported")
    default:
      if let gate = found.serial {
        try gate.mutex.withLock { _ in try found.servant.dispatch(&request) }
      } else {
        try found.servant.dispatch(&request)
      }
    }
  }

  /// An object key as text when it is printable (in quotes if `quoted`), else as hex.
  public static func describe(key: [UInt8], quoted: Bool = true) -> String {
    if key.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
      let text = String(decoding: key, as: UTF8.self)
      return quoted ? "\"" + text + "\"" : text
    }
    return key.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
  }
}
