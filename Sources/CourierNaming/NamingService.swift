import CourierCore
public import CourierGIOP
import CourierWire
import Synchronization

/// A CosNaming naming service (`NamingContextExt`): in memory, or persistent in an SQLite file.
///
/// The root context is the object key `NameService`, so `corbaloc::host:port/NameService` finds
/// it; every other context has the persistent key `NC/<n>`. Contexts are served through a
/// servant locator, so their references stay valid as long as the store has them.
///
/// ```swift
/// let naming = NamingService()
/// naming.install(on: server)          // server: a GIOPServer with an ORB
/// ```
///
/// With a database path every change is written to SQLite before it is answered, and a
/// restarted service on the same port answers the same references. The binder
/// (``BinderService``) is served beside it.
public final class NamingService: Sendable {
  /// One binding in a context: an object or a context (ours by id, or a foreign reference).
  struct Entry: Sendable {
    var type: CosNaming_BindingType
    var reference: ObjectReference?
    /// For a context of this service: its id.
    var localContext: UInt64?
  }

  struct Store: Sendable {
    var contexts: [UInt64: [CosNaming_NameComponent: Entry]] = [0: [:]]
    var nextID: UInt64 = 1
  }

  let store = ReadWriteLocked(Store())
  let server = Mutex<GIOPServer?>(nil)
  let persistence: NamingPersistence?
  let databasePath: String?

  /// An in-memory service.
  public init() {
    persistence = nil
    databasePath = nil
  }

  /// A service persistent in the SQLite file at `path` (created if missing).
  public init(databasePath path: String) throws {
    persistence = try NamingPersistence(path: path)
    databasePath = path
  }

  /// The root context's object key.
  public static let rootKey = "NameService"

  /// Serves the root context under `NameService` and the others through a locator on `server`
  /// (which needs an ORB, for the references the service hands out).
  public func install(on server: GIOPServer) throws {
    self.server.withLock { $0 = server }
    if let persistence {
      let loaded = try persistence.load(orb: server.orb)
      store.withLock { $0 = loaded }
    }
    server.adapter.activate(CosNaming_NamingContextExt.Servant(Context(service: self, id: 0)), key: Self.rootKey)
    server.adapter.setServantLocator(Locator(service: self))
  }

  struct Locator: ServantLocator {
    let service: NamingService
    func locate(objectKey: [UInt8]) throws -> LocatedServant? {
      let key = String(decoding: objectKey, as: UTF8.self)
      guard key.hasPrefix("NC/"), let id = UInt64(key.dropFirst(3)),
            service.store.read({ $0.contexts[id] != nil }) else { return nil }
      return LocatedServant(CosNaming_NamingContextExt.Servant(Context(service: service, id: id)), activate: false)
    }
  }

  /// A reference to context `id`.
  func reference(to id: UInt64) throws -> CosNaming_NamingContext.Client {
    guard let server = server.withLock({ $0 }), let orb = server.orb else {
      throw RPCError(.internal, minor: 0, completion: .no, "the naming service is not installed on a server with an ORB")
    }
    let ior = try server.reference(key: id == 0 ? Self.rootKey : "NC/\(id)", typeID: CosNaming_NamingContextExt.repositoryID)
    return CosNaming_NamingContext.Client(orb.object(ior))
  }

  /// The servant of one context.
  final class Context: CosNaming_NamingContextExt.Service {
    typealias NC = CosNaming_NamingContext
    let service: NamingService
    let id: UInt64
    init(service: NamingService, id: UInt64) {
      self.service = service
      self.id = id
    }

    /// Where `n` minus its last component leads: a local context id, or a foreign context to
    /// pass the rest to. Throws NotFound with the rest of the name at the first break.
    enum Parent { case local(UInt64), foreign(NC.Client, CosNaming_Name) }

    func parent(of n: CosNaming_Name) throws -> Parent {
      guard !n.isEmpty else { throw NC.InvalidName() }
      var current = id
      for (i, component) in n.dropLast().enumerated() {
        let entry = try service.store.read { s -> Entry? in
          guard let ctx = s.contexts[current] else { throw RPCError(.objectNotExist, minor: 0, completion: .no, "context destroyed") }
          return ctx[component]
        }
        guard let entry else { throw NC.NotFound(why: .missing_node, rest_of_name: Array(n[i...])) }
        guard entry.type == .ncontext else { throw NC.NotFound(why: .not_context, rest_of_name: Array(n[i...])) }
        if let local = entry.localContext {
          current = local
        } else if let ref = entry.reference {
          return .foreign(NC.Client(ref), Array(n[(i + 1)...]))
        } else {
          throw NC.NotFound(why: .not_context, rest_of_name: Array(n[i...]))
        }
      }
      return .local(current)
    }

    /// Binds in the context `n` leads to; `replace` allows an existing binding of the same type.
    func put(_ n: CosNaming_Name, _ entry: Entry, replace: Bool) throws {
      switch try parent(of: n) {
      case .foreign(let ctx, let rest):
        let b = ctx.blocking
        switch (entry.type, replace) {
        case (.nobject, false): try b.bind(n: rest, obj: entry.reference)
        case (.nobject, true): try b.rebind(n: rest, obj: entry.reference)
        case (.ncontext, false): try b.bind_context(n: rest, nc: entry.reference.map(NC.Client.init))
        case (.ncontext, true): try b.rebind_context(n: rest, nc: entry.reference.map(NC.Client.init))
        }
      case .local(let target):
        let last = n[n.count - 1]
        try service.store.withLock { s in
          guard s.contexts[target] != nil else { throw RPCError(.objectNotExist, minor: 0, completion: .no, "context destroyed") }
          if let existing = s.contexts[target]![last] {
            guard replace else { throw NC.AlreadyBound() }
            guard existing.type == entry.type else {
              throw NC.NotFound(why: entry.type == .nobject ? .not_object : .not_context, rest_of_name: [last])
            }
          }
          try service.persistence?.put(context: target, last, entry)
          s.contexts[target]![last] = entry
        }
      }
    }

    func contextEntry(_ nc: NC.Client?) -> Entry {
      // A context of this service is kept by id, so resolving through it stays local.
      if let nc, let key = nc.reference.ior.iiopProfiles.first?.objectKey,
         let text = String(validating: key, as: UTF8.self), let server = service.server.withLock({ $0 }),
         nc.reference.ior.iiopProfiles.first?.port == server.port {
        if text == NamingService.rootKey { return Entry(type: .ncontext, reference: nc.reference, localContext: 0) }
        if text.hasPrefix("NC/"), let local = UInt64(text.dropFirst(3)) {
          return Entry(type: .ncontext, reference: nc.reference, localContext: local)
        }
      }
      return Entry(type: .ncontext, reference: nc?.reference, localContext: nil)
    }

    func bind(n: CosNaming_Name, obj: ObjectReference?) throws {
      try put(n, Entry(type: .nobject, reference: obj, localContext: nil), replace: false)
    }
    func rebind(n: CosNaming_Name, obj: ObjectReference?) throws {
      try put(n, Entry(type: .nobject, reference: obj, localContext: nil), replace: true)
    }
    func bind_context(n: CosNaming_Name, nc: NC.Client?) throws { try put(n, contextEntry(nc), replace: false) }
    func rebind_context(n: CosNaming_Name, nc: NC.Client?) throws { try put(n, contextEntry(nc), replace: true) }

    func resolve(n: CosNaming_Name) throws -> ObjectReference? {
      switch try parent(of: n) {
      case .foreign(let ctx, let rest): return try ctx.blocking.resolve(n: rest)
      case .local(let target):
        let last = n[n.count - 1]
        guard let entry = service.store.read({ $0.contexts[target]?[last] }) else {
          throw NC.NotFound(why: .missing_node, rest_of_name: [last])
        }
        if let local = entry.localContext { return try service.reference(to: local).reference }
        return entry.reference
      }
    }

    func unbind(n: CosNaming_Name) throws {
      switch try parent(of: n) {
      case .foreign(let ctx, let rest): try ctx.blocking.unbind(n: rest)
      case .local(let target):
        let last = n[n.count - 1]
        let removed = try service.store.withLock { s -> Entry? in
          guard s.contexts[target]?[last] != nil else { return nil }
          try service.persistence?.remove(context: target, last)
          return s.contexts[target]?.removeValue(forKey: last)
        }
        if removed == nil { throw NC.NotFound(why: .missing_node, rest_of_name: [last]) }
      }
    }

    func new_context() throws -> NC.Client? {
      let newID = try service.store.withLock { s -> UInt64 in
        let i = s.nextID
        try service.persistence?.createContext(i, next: i + 1)
        s.nextID += 1
        s.contexts[i] = [:]
        return i
      }
      return try service.reference(to: newID)
    }

    func bind_new_context(n: CosNaming_Name) throws -> NC.Client? {
      // Check first, so that a failing bind leaves no orphan context.
      if case .local(let target) = try parent(of: n), service.store.read({ $0.contexts[target]?[n[n.count - 1]] }) != nil {
        throw NC.AlreadyBound()
      }
      let ctx = try new_context()
      try bind_context(n: n, nc: ctx)
      return ctx
    }

    func destroy() throws {
      try service.store.withLock { s in
        guard let ctx = s.contexts[id] else { return }
        guard ctx.isEmpty else { throw NC.NotEmpty() }
        if id != 0 {
          try service.persistence?.destroyContext(id)
          s.contexts[id] = nil
        }
      }
    }

    func list(how_many: UInt32) throws -> (bl: CosNaming_BindingList, bi: CosNaming_BindingIterator.Client?) {
      let all = service.store.read { s -> [CosNaming_Binding] in
        (s.contexts[id] ?? [:]).map { CosNaming_Binding(binding_name: [$0.key], binding_type: $0.value.type) }
      }.sorted { NamingService.stringify($0.binding_name) < NamingService.stringify($1.binding_name) }
      let first = Array(all.prefix(Int(how_many)))
      let rest = Array(all.dropFirst(Int(how_many)))
      guard !rest.isEmpty else { return (first, nil) }
      guard let server = service.server.withLock({ $0 }) else { return (first, nil) }
      let iterator = try server.activate(CosNaming_BindingIterator.Servant(Iterator(rest)), typeID: CosNaming_BindingIterator.repositoryID)
      return (first, CosNaming_BindingIterator.Client(iterator))
    }

    func to_string(n: CosNaming_Name) throws -> String {
      guard !n.isEmpty else { throw NC.InvalidName() }
      return NamingService.stringify(n)
    }

    func to_name(sn: String) throws -> CosNaming_Name { try NamingService.parse(sn) }

    func to_url(addr: String, sn: String) throws -> String {
      guard !addr.isEmpty else { throw CosNaming_NamingContextExt.InvalidAddress() }
      _ = try NamingService.parse(sn)
      return "corbaname:" + addr + "#" + NamingService.urlEscape(sn)
    }

    func resolve_str(sn: String) throws -> ObjectReference? { try resolve(n: NamingService.parse(sn)) }
  }

  /// The rest of a `list`, handed out piece by piece.
  final class Iterator: CosNaming_BindingIterator.Service {
    let remaining: Mutex<[CosNaming_Binding]>
    init(_ bindings: [CosNaming_Binding]) { remaining = Mutex(bindings) }
    func next_one() -> (result: Bool, b: CosNaming_Binding) {
      remaining.withLock { r in
        guard !r.isEmpty else { return (false, CosNaming_Binding(binding_name: [], binding_type: .nobject)) }
        return (true, r.removeFirst())
      }
    }
    func next_n(how_many: UInt32) throws -> (result: Bool, bl: CosNaming_BindingList) {
      guard how_many > 0 else { throw RPCError(.badParam, minor: 0, completion: .no, "next_n(0)") }
      return remaining.withLock { r in
        let out = Array(r.prefix(Int(how_many)))
        r.removeFirst(out.count)
        return (!out.isEmpty, out)
      }
    }
    func destroy() { remaining.withLock { $0.removeAll() } }
  }

  // MARK: stringified names (Naming Service 1.3 §2.4: "a.b/c.d", `\` escapes `/`, `.` and `\`)

  static func escape(_ s: String) -> String {
    var out = ""
    for ch in s {
      if ch == "/" || ch == "." || ch == "\\" { out.append("\\") }
      out.append(ch)
    }
    return out
  }

  /// The stringified form of a name.
  public static func stringify(_ n: CosNaming_Name) -> String {
    n.map { c in
      if c.kind.isEmpty { return c.id.isEmpty ? "." : escape(c.id) }
      return escape(c.id) + "." + escape(c.kind)
    }.joined(separator: "/")
  }

  /// Parses a stringified name; `InvalidName` for an empty name, an empty component or a
  /// dangling escape.
  public static func parse(_ s: String) throws -> CosNaming_Name {
    guard !s.isEmpty else { throw CosNaming_NamingContext.InvalidName() }
    var components: [CosNaming_NameComponent] = []
    var id = "", kind = "", inKind = false, escaped = false, sawDot = false
    func finish() throws {
      if id.isEmpty && kind.isEmpty && !sawDot { throw CosNaming_NamingContext.InvalidName() }
      components.append(CosNaming_NameComponent(id: id, kind: kind))
      id = ""; kind = ""; inKind = false; sawDot = false
    }
    for ch in s {
      if escaped {
        if inKind { kind.append(ch) } else { id.append(ch) }
        escaped = false
      } else if ch == "\\" {
        escaped = true
      } else if ch == "/" {
        try finish()
      } else if ch == "." && !inKind {
        inKind = true
        sawDot = true
      } else if ch == "." {
        throw CosNaming_NamingContext.InvalidName()
      } else if inKind {
        kind.append(ch)
      } else {
        id.append(ch)
      }
    }
    if escaped { throw CosNaming_NamingContext.InvalidName() }
    try finish()
    return components
  }

  /// `%`-escapes what RFC 2396 does not allow unescaped in a corbaname URL's string name.
  static func urlEscape(_ s: String) -> String {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789;/:?@&=+$,-_.!~*'()".utf8)
    var out = ""
    for b in s.utf8 {
      if allowed.contains(b) { out.unicodeScalars.append(Unicode.Scalar(b)) } else {
        out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
      }
    }
    return out
  }
}
