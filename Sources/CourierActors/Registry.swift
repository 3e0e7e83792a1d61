import CourierCore
import CourierGIOP
import CourierWire
public import Distributed
import Synchronization

// The registry (Java RMI's, on CosNaming): actors are checked in under names in the naming
// service the ORB's `NameService` initial reference names, and looked up by name or by
// `corbaname:` URL. Explicit binding is `lookup`; implicit binding is an ``ActorBinding``,
// which looks the name up on its first call.

extension CourierActorSystem {
  /// Binds `name` (a CosNaming stringified name, `a/b.kind`) to `actor` in the naming service
  /// (`rebind`: an existing binding is replaced), and keeps the actor alive while it is
  /// checked in.
  public func checkIn<Act: DistributedActor>(_ actor: Act, as name: String) throws where Act.ID == CourierActorID {
    guard isLocal(actor.id) else {
      throw CourierActorError(.unsupported, id: actor.id, "only an actor of this system can be checked in by it")
    }
    let components = try Self.parseName(name)
    let context = try orb.resolveInitialReferences("NameService")
    _ = try context.invoke("rebind") { w in
      try Self.writeName(components, to: &w)
      try actor.id.ior.encode(to: &w)
    }
    if exports.pin(key: actor.id.key) {
      checkedIn.withLock { $0[name, default: []].append(actor.id.key) }
    }
  }

  /// Unbinds `name` and stops keeping the actor checked in under it alive.
  public func checkOut(_ name: String) throws {
    let components = try Self.parseName(name)
    let context = try orb.resolveInitialReferences("NameService")
    _ = try context.invoke("unbind") { w in try Self.writeName(components, to: &w) }
    let keys = checkedIn.withLock { $0.removeValue(forKey: name) ?? [] }
    for key in keys {
      if let released = exports.unpin(key: key) { notifyUnreferenced(released) }
    }
  }

  /// Looks `name` up in the naming service now (explicit binding) and returns a proxy (or the
  /// local actor, if it is one of this system's).
  public func lookup<Act: DistributedActor>(_ name: String, as type: Act.Type = Act.self) async throws -> Act
  where Act.ID == CourierActorID, Act.ActorSystem == CourierActorSystem {
    let ior = try await Self.blocking { [self] in
      let context = try orb.resolveInitialReferences("NameService")
      do {
        var reply = try context.invoke("resolve_str") { w in try w.writeString(name) }
        return try reply.decode(orb: orb) { r in try IOR(from: &r) }
      } catch let error as RPCError where error.minor == CourierMinor.undeclaredUserException {
        throw CourierActorError(.notBound, "\(name) is not bound in the naming service (\(error.message))")
      }
    }
    return try resolve(ior: ior, as: type, what: name)
  }

  /// Resolves a reference given as `corbaname:…#name`, `corbaloc:…` or `IOR:…`.
  public func lookup<Act: DistributedActor>(url: String, as type: Act.Type = Act.self) async throws -> Act
  where Act.ID == CourierActorID, Act.ActorSystem == CourierActorSystem {
    let ior = try await Self.blocking { [self] in try orb.object(url).ior }
    return try resolve(ior: ior, as: type, what: url)
  }

  func resolve<Act: DistributedActor>(ior: IOR, as type: Act.Type, what: String) throws -> Act
  where Act.ID == CourierActorID, Act.ActorSystem == CourierActorSystem {
    guard !ior.isNil else { throw CourierActorError(.notBound, "\(what) names a nil reference") }
    return try Act.resolve(id: try CourierActorID(ior: ior), using: self)
  }

  /// An implicit binding: `name` is looked up on the first call, and again after the actor it
  /// named is gone.
  public func binding<Act: DistributedActor>(to name: String, as type: Act.Type = Act.self) -> ActorBinding<Act>
  where Act.ID == CourierActorID, Act.ActorSystem == CourierActorSystem {
    ActorBinding(system: self, name: name)
  }

  /// Runs blocking ORB work off the cooperative pool.
  static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result { try body() })
      }
    }
  }

  /// A stringified CosNaming name's components (`a.k/b` → `[("a","k"), ("b","")]`; `\` escapes).
  static func parseName(_ text: String) throws -> [(id: String, kind: String)] {
    var components: [(String, String)] = []
    var id = "", kind = "", inKind = false, escaped = false
    for c in text {
      if escaped {
        if inKind { kind.append(c) } else { id.append(c) }
        escaped = false
      } else if c == "\\" {
        escaped = true
      } else if c == "/" {
        components.append((id, kind))
        (id, kind, inKind) = ("", "", false)
      } else if c == ".", !inKind {
        inKind = true
      } else if inKind {
        kind.append(c)
      } else {
        id.append(c)
      }
    }
    components.append((id, kind))
    guard !text.isEmpty, components.allSatisfy({ !$0.0.isEmpty || !$0.1.isEmpty }) else {
      throw CourierActorError(.notBound, "\"\(text)\" is not a valid name (empty component)")
    }
    return components
  }

  static func writeName(_ components: [(id: String, kind: String)], to w: inout CDRWriter) throws {
    w.write(UInt32(components.count))
    for c in components {
      try w.writeString(c.id)
      try w.writeString(c.kind)
    }
  }
}

import Dispatch

/// A reference bound on first use (the seeds' implicit binding): ``call(_:)`` looks the name
/// up if there is no actor yet, or if the last one is gone, then calls.
public final class ActorBinding<Act: DistributedActor>: Sendable
where Act.ID == CourierActorID, Act.ActorSystem == CourierActorSystem {
  let system: CourierActorSystem
  /// The name in the naming service.
  public let name: String
  private let bound = Mutex<Act?>(nil)

  init(system: CourierActorSystem, name: String) {
    self.system = system
    self.name = name
  }

  /// True once a call has bound the name.
  public var isBound: Bool { bound.withLock { $0 != nil } }

  /// Calls `body` on the actor the name is bound to, binding it first if needed. If the actor
  /// turns out to be gone, the name is looked up once more and `body` runs again.
  public func call<T: Sendable>(_ body: @Sendable (Act) async throws -> T) async throws -> T {
    let actor = try await current()
    do {
      return try await body(actor)
    } catch let error as CourierActorError where error.code == .actorGone || error.code == .leaseExpired {
      bound.withLock { $0 = nil }
      return try await body(try await current())
    }
  }

  private func current() async throws -> Act {
    if let actor = bound.withLock({ $0 }) { return actor }
    let actor = try await system.lookup(name, as: Act.self)
    bound.withLock { $0 = actor }
    return actor
  }
}
