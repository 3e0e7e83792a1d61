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
  /// The object keys of live binding iterators, oldest first.
  let iterators = Mutex<[[UInt8]]>([])
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
          guard let ctx = s.contexts[current] else { throw NamingService.destroyed() }
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
          guard s.contexts[target] != nil else { throw NamingService.destroyed() }
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
      if let nc, let profile = nc.reference.ior.iiopProfiles.first,
         let text = String(validating: profile.objectKey, as: UTF8.self), let server = service.server.withLock({ $0 }),
         let own = try? server.reference(key: NamingService.rootKey, typeID: "").iiopProfiles.first,
         profile.port == own.port, profile.host == own.host {
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
        let found = try service.store.read { s -> Entry? in
          guard let ctx = s.contexts[target] else { throw NamingService.destroyed() }
          return ctx[last]
        }
        guard let entry = found else { throw NC.NotFound(why: .missing_node, rest_of_name: [last]) }
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
          guard s.contexts[target] != nil else { throw NamingService.destroyed() }
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
      switch try parent(of: n) {
      case .foreign(let ctx, let rest):
        return try ctx.blocking.bind_new_context(n: rest)
      case .local(let target):
        // Check, create and bind under one lock (and in one transaction): no orphan context.
        let last = n[n.count - 1]
        let newID = try service.store.withLock { s -> UInt64 in
          guard s.contexts[target] != nil else { throw NamingService.destroyed() }
          guard s.contexts[target]![last] == nil else { throw NC.AlreadyBound() }
          let i = s.nextID
          let entry = Entry(type: .ncontext, reference: nil, localContext: i)
          try service.persistence?.createBoundContext(i, next: i + 1, in: target, last, entry)
          s.nextID += 1
          s.contexts[i] = [:]
          s.contexts[target]![last] = entry
          return i
        }
        return try service.reference(to: newID)
      }
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
      let servant = Iterator(rest, service: service)
      let iterator = try server.activate(CosNaming_BindingIterator.Servant(servant), typeID: CosNaming_BindingIterator.repositoryID)
      let key = iterator.ior.iiopProfiles.first?.objectKey ?? []
      servant.key.withLock { $0 = key }
      service.track(iterator: key, on: server)
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

  /// At most this many binding iterators live at once; a new one beyond it destroys the
  /// oldest (clients that never call `destroy` would otherwise grow the server for ever).
  public static let maxIterators = 1000

  /// Remembers an iterator's key; destroys the oldest beyond ``maxIterators``.
  func track(iterator key: [UInt8], on server: GIOPServer) {
    let evicted = iterators.withLock { keys -> [UInt8]? in
      keys.append(key)
      return keys.count > Self.maxIterators ? keys.removeFirst() : nil
    }
    if let evicted { _ = server.adapter.deactivate(key: evicted) }
  }

  /// Forgets and deactivates an iterator (its `destroy`).
  func destroy(iterator key: [UInt8]) {
    iterators.withLock { keys in keys.removeAll { $0 == key } }
    _ = server.withLock({ $0 })?.adapter.deactivate(key: key)
  }

  static func destroyed() -> RPCError {
    RPCError(.objectNotExist, minor: CourierMinor.noSuchObject, completion: .no, "the naming context was destroyed")
  }

  /// The rest of a `list`, handed out piece by piece.
  final class Iterator: CosNaming_BindingIterator.Service {
    let remaining: Mutex<[CosNaming_Binding]>
    let service: NamingService
    let key = Mutex<[UInt8]>([])
    init(_ bindings: [CosNaming_Binding], service: NamingService) {
      remaining = Mutex(bindings)
      self.service = service
    }
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
    func destroy() {
      remaining.withLock { $0.removeAll() }
      service.destroy(iterator: key.withLock { $0 })
    }
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
