import CourierCore
public import CourierONC
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How ``ONCServer/registerWithRPCBind(_:)`` reaches rpcbind.
public struct RPCBindRegistrationOptions: Sendable {
  /// rpcbind's local socket, tried first (RPCBIND v4 SET; v3 if v4 is not spoken). Linux's
  /// rpcbind records the caller's uid there as the owner (`superuser` for root).
  public var localSocketPath: String? = RPCBind.localSocketPath
  /// The port mapper tried next, with PMAP v2 SET over TCP (IPv4 servers only): any port
  /// mapper speaks it, Courier's embedded one included. Linux's rpcbind records such
  /// registrations with owner `unknown`.
  public var host: String = "127.0.0.1"
  public var port: UInt16 = RPCBind.port
  /// Remove an earlier registration of the same program, version and transport first (what
  /// rpcgen's servers do with `pmap_unset`): a server that crashed leaves its registration
  /// behind, and SET refuses to replace one.
  public var replaceExisting = true
  /// Each call to rpcbind.
  public var timeout: Duration = .seconds(5)
  public init() {}
}

/// What ``ONCServer/registerWithRPCBind(_:)`` registered, and how.
public struct RPCBindRegistration: Sendable, Hashable, CustomStringConvertible {
  public enum Method: String, Sendable, Hashable {
    /// RPCBIND v4 (or v3) SET on rpcbind's local socket.
    case localSocket = "local socket"
    /// PMAP v2 SET over TCP.
    case portmapperV2 = "PMAP v2 over TCP"
  }
  public var method: Method
  /// The registrations made (netid and universal address; owner as sent).
  public var bindings: [RPCBinding]
  public var description: String {
    "registered with rpcbind (\(method.rawValue)): " + bindings.map { "\($0.program) v\($0.version) \($0.netid) \($0.address)" }.joined(separator: ", ")
  }
}

extension ONCServer {
  /// Registers every program version this server serves, for each transport it listens on,
  /// with the machine's rpcbind, and arranges for ``shutdown()`` to remove the registrations.
  /// Call it after ``start()``.
  ///
  /// Linux's rpcbind (1.2.6, observed; docs/rpcbind.md) takes registrations on its local
  /// socket `/run/rpcbind.sock` — where libtirpc's `rpcb_set` and `pmap_set` register, with
  /// RPCBIND v3 — and also over TCP/UDP from loopback. This tries the local socket with
  /// RPCBIND v4, then PMAP v2 SET on `options.host`:`options.port` over TCP.
  /// - Throws: ``RPCBindError`` `refused` when rpcbind answers FALSE (the version is registered
  ///   by another owner), or the `RPCError` of a failed call when no rpcbind answers.
  @discardableResult
  public func registerWithRPCBind(_ options: RPCBindRegistrationOptions = RPCBindRegistrationOptions()) throws -> RPCBindRegistration {
    let clientOptions = {
      var o = RPCBindClient.defaultOptions
      o.timeout = options.timeout
      return o
    }()
    let host = configuration.host
    var ports: [(ONCTransportProtocol, UInt16)] = []
    if let p = tcpPort { ports.append((.tcp, p)) }
    if let p = udpPort { ports.append((.udp, p)) }
    let owner = String(getuid())  // what libtirpc sends; rpcbind keeps its own idea
    let bindings: [RPCBinding] = try registeredVersions.filter { $0.program != RPCBind.program }.flatMap { program, version in
      try ports.map { transport, port in
        let address = try UniversalAddress(host: host, port: port)
        return RPCBinding(program: program, version: version, netid: address.netid(for: transport), address: address.description, owner: owner)
      }
    }

    var localFailure: (any Error)?
    if let path = options.localSocketPath, access(path, F_OK) == 0 {
      let rpcbind = RPCBindClient.local(path: path, options: clientOptions)
      defer { rpcbind.close() }
      do {
        let version = try Self.registerLocally(bindings, rpcbind: rpcbind, replace: options.replaceExisting)
        addShutdownHook {
          let rpcbind = RPCBindClient.local(path: path, options: clientOptions)
          defer { rpcbind.close() }
          for b in bindings { _ = try? rpcbind.unset(program: b.program, version: b.version, netid: b.netid, rpcbindVersion: version) }
        }
        return RPCBindRegistration(method: .localSocket, bindings: bindings)
      } catch let error as RPCBindError {
        throw error
      } catch {
        localFailure = error  // cannot connect, or no answer: try the network
      }
    }

    guard bindings.allSatisfy({ $0.netid == "tcp" || $0.netid == "udp" }) else {
      throw localFailure ?? RPCBindError(.refused, "PMAP v2 cannot register IPv6 addresses and \(options.localSocketPath ?? "no local socket") is not there")
    }
    let rpcbind = RPCBindClient(host: options.host, port: options.port, transport: .tcp, options: clientOptions)
    defer { rpcbind.close() }
    let mappings = bindings.map { b in
      PortMapping(program: b.program, version: b.version, transport: b.netid == "tcp" ? .tcp : .udp, port: (try? UniversalAddress(parsing: b.address).port) ?? 0)
    }
    if options.replaceExisting {
      for m in Set(mappings.map { PortMapping(program: $0.program, version: $0.version, ipProtocol: 0, port: 0) }) { _ = try rpcbind.unset(m) }
    }
    var done: [PortMapping] = []
    for m in mappings {
      guard try rpcbind.set(m) else {
        for d in done { _ = try? rpcbind.unset(d) }
        throw RPCBindError(.refused, "\(options.host):\(options.port) refused PMAP SET of \(m): that version is registered by someone else")
      }
      done.append(m)
    }
    let target = (options.host, options.port)
    addShutdownHook {
      let rpcbind = RPCBindClient(host: target.0, port: target.1, transport: .tcp, options: clientOptions)
      defer { rpcbind.close() }
      for m in Set(mappings.map { PortMapping(program: $0.program, version: $0.version, ipProtocol: 0, port: 0) }) { _ = try? rpcbind.unset(m) }
    }
    return RPCBindRegistration(method: .portmapperV2, bindings: bindings)
  }

  /// SETs `bindings` on a local-socket client with RPCBIND v4, or v3 if rpcbind does not
  /// speak 4; returns the version used. Undoes what it did when a SET is refused.
  private static func registerLocally(_ bindings: [RPCBinding], rpcbind: RPCBindClient, replace: Bool) throws -> UInt32 {
    var version = RPCBind.version4
    var done: [RPCBinding] = []
    for b in bindings {
      func attempt() throws -> Bool {
        if replace { _ = try rpcbind.unset(program: b.program, version: b.version, netid: b.netid, rpcbindVersion: version) }
        return try rpcbind.set(b, rpcbindVersion: version)
      }
      let ok: Bool
      do {
        ok = try attempt()
      } catch let error as RPCError where version == RPCBind.version4 && error.oncReplyError != nil {
        version = RPCBind.version3
        ok = try attempt()
      }
      guard ok else {
        for d in done { _ = try? rpcbind.unset(program: d.program, version: d.version, netid: d.netid, rpcbindVersion: version) }
        throw RPCBindError(.refused, "rpcbind refused SET of \(b): that version is registered by another owner")
      }
      done.append(b)
    }
    return version
  }
}
