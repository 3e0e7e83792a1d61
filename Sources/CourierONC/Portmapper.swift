public import CourierWire
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// An embedded port mapper / rpcbind: a registration table with rpcbind's rules, and the
// dispatchers for program 100000 versions 2, 3 and 4 that serve it on any ONC RPC server.
//
// The rules are those of Linux rpcbind 1.2.6 (libtirpc), checked against the daemon in a
// private network namespace (docs/rpcbind.md):
// - SET fails (FALSE) when (program, version, netid) is already registered, whatever address;
// - UNSET removes (program, version, netid), or every netid when the netid is empty (PMAP v2
//   UNSET always removes every netid: its protocol and port are ignored); it returns TRUE even
//   when nothing was registered, and FALSE only when an entry belongs to another owner and the
//   caller is not `superuser`;
// - GETPORT / GETADDR find the exact version, else any version of the program on that netid
//   (the caller then gets PROG_MISMATCH from the server, with its range); GETVERSADDR only the
//   exact version; nothing found is port 0 / "". GETADDR and GETVERSADDR ignore the netid they
//   are given and use the one of the transport the call came on (RFC 1833 §2.2.1; rpcbind);
// - a wildcard address (`0.0.0.0.p1.p2`) comes back from GETADDR merged with an address the
//   caller can reach;
// - the owner is what rpcbind knows of the caller, never what it claims: over TCP and UDP
//   that is `unknown` (rpcbind learns uids only on its local socket); the service's own
//   entries are `superuser`, so no network caller can remove them;
// - SET and UNSET are refused (AUTH_ERROR / AUTH_TOOWEAK) from callers that are not on a
//   loopback address, unless `allowRemoteRegistration`; RFC 1833 §2.2.2: "RPCBIND only
//   accepts RPCBPROC_SET and RPCBPROC_UNSET requests by clients running on the same machine".
//
// Not served (PROC_UNAVAIL): CALLIT/BCAST and INDIRECT (indirect calls; rpcbind itself never
// answered them in our tests, and a forwarding service is an amplifier), UADDR2TADDR and
// TADDR2UADDR (their `netbuf` is a C struct's bytes), GETSTAT.

/// The registrations of an embedded port mapper. Thread-safe; shared by the dispatchers of
/// every version.
public final class PortmapperTable: Sendable {
  /// The owner rpcbind records for its own entries and for root on its local socket.
  public static let superuser = "superuser"
  /// The owner rpcbind records for callers it cannot identify (every TCP or UDP caller).
  public static let unknownOwner = "unknown"

  private let state = Mutex<[RPCBinding]>([])

  public init() {}

  /// Every registration, in the order they were made.
  public var bindings: [RPCBinding] { state.withLock { $0 } }

  /// Registers `binding` (its owner as given: the dispatchers put the caller's there). False if
  /// (program, version, netid) is already registered.
  @discardableResult
  public func set(_ binding: RPCBinding) -> Bool {
    state.withLock { table in
      if table.contains(where: { $0.program == binding.program && $0.version == binding.version && $0.netid == binding.netid }) {
        return false
      }
      table.append(binding)
      return true
    }
  }

  /// Removes (program, version, netid), or every netid of (program, version) when `netid` is
  /// empty, on behalf of `owner`. False, removing nothing, if a matching entry has another
  /// owner and `owner` is not ``superuser``; true otherwise, even if nothing matched.
  @discardableResult
  public func unset(program: UInt32, version: UInt32, netid: String = "", owner: String) -> Bool {
    state.withLock { table in
      let matches = { (b: RPCBinding) in b.program == program && b.version == version && (netid.isEmpty || b.netid == netid) }
      if owner != Self.superuser, table.contains(where: { matches($0) && $0.owner != owner }) { return false }
      table.removeAll(where: matches)
      return true
    }
  }

  /// The registration for (program, version, netid); when `exactVersion` is false and that
  /// version is not there, the last registered version of the program on that netid.
  public func find(program: UInt32, version: UInt32, netid: String, exactVersion: Bool) -> RPCBinding? {
    state.withLock { table in
      var hit: RPCBinding?
      for b in table where b.program == program && b.netid == netid {
        if b.version == version { return b }
        if !exactVersion { hit = b }
      }
      return hit
    }
  }

  /// Registers the port mapper itself, as rpcbind does: 100000 versions 4, 3 and 2 on each
  /// transport with its port, owner `superuser`, at `host`'s universal address.
  public func registerSelf(host: String, tcpPort: UInt16?, udpPort: UInt16?) throws(UniversalAddressError) {
    for (transport, port) in [(ONCTransportProtocol.tcp, tcpPort), (.udp, udpPort)] {
      guard let port else { continue }
      let address = try UniversalAddress(host: host, port: port)
      for version in [RPCBind.version4, RPCBind.version3, RPCBind.portmapperVersion] {
        set(RPCBinding(program: RPCBind.program, version: version, netid: address.netid(for: transport),
                       address: address.description, owner: Self.superuser))
      }
    }
  }
}

/// The embedded port mapper: a table and what it needs to answer (the host it serves on, the
/// clock). ``dispatchers`` serve it on an ONC RPC server.
public struct Portmapper: Sendable {
  public let table: PortmapperTable
  /// The address the service listens on; replaces a wildcard host in GETADDR answers when it
  /// is not itself a wildcard.
  public var serverHost: String
  /// Whether SET and UNSET are accepted from callers not on a loopback address.
  public var allowRemoteRegistration: Bool
  /// Seconds since 1970 for GETTIME.
  public var now: @Sendable () -> UInt32

  public init(table: PortmapperTable = PortmapperTable(), serverHost: String = "127.0.0.1", allowRemoteRegistration: Bool = false,
              now: @escaping @Sendable () -> UInt32 = Portmapper.systemTime) {
    self.table = table
    self.serverHost = serverHost
    self.allowRemoteRegistration = allowRemoteRegistration
    self.now = now
  }

  /// The system clock, in seconds since 1970 (truncated to 32 bits, as rpcbind does).
  public static let systemTime: @Sendable () -> UInt32 = { UInt32(truncatingIfNeeded: time(nil)) }

  /// One dispatcher per version: 2 (PMAP), 3 and 4 (RPCBIND).
  public var dispatchers: [any ONCProgramDispatcher] {
    [PortmapperV2Dispatcher(portmapper: self), RPCBindDispatcher(portmapper: self, version: RPCBind.version3),
     RPCBindDispatcher(portmapper: self, version: RPCBind.version4)]
  }

  /// The owner recorded for a caller: rpcbind can only learn a uid over its local socket, so
  /// every network caller is `unknown` (a credential's uid is a claim, not a proof).
  func owner(of _: ONCCallContext) -> String { PortmapperTable.unknownOwner }

  /// The netid of the transport a call came on: `tcp`, `udp`, `tcp6`, `udp6`, or `local` for a
  /// Unix-domain socket.
  public static func netid(of context: ONCCallContext) -> String {
    guard let client = context.client else { return "local" }
    return client.family == 2 ? context.transport.netid : context.transport.netid + "6"
  }

  /// Refuses SET/UNSET from a caller not on this machine.
  func checkRegistrationAccess(_ context: ONCCallContext) throws(ONCReplyError) {
    guard allowRemoteRegistration || Self.isLoopbackCaller(context.client) else { throw .authError(.tooWeak) }
  }

  /// Whether a caller is on this machine: a loopback address (127.0.0.0/8, ::1,
  /// ::ffff:127.0.0.0/104), or a Unix-domain socket (no address).
  public static func isLoopbackCaller(_ peer: ONCPeerAddress?) -> Bool {
    guard let peer else { return true }
    if peer.family == 2 { return peer.low >> 24 & 0xFF == 127 }
    guard peer.high == 0 else { return false }
    return peer.low == 1 || (peer.low >> 32 == 0xFFFF && peer.low >> 24 & 0xFF == 127)
  }

  /// The address a GETADDR caller gets for a registration: a wildcard host replaced with the
  /// service's own host (or with loopback, for a loopback caller, when the service listens on
  /// every interface).
  func mergedAddress(_ binding: RPCBinding, context: ONCCallContext) -> String {
    guard let address = try? UniversalAddress(parsing: binding.address), address.isWildcard else { return binding.address }
    var host = serverHost
    if UniversalAddress.bytes(of: host).map({ $0.allSatisfy { $0 == 0 } }) ?? true {
      guard Self.isLoopbackCaller(context.client) else { return binding.address }
      host = address.family == .inet ? "127.0.0.1" : "::1"
    }
    guard UniversalAddress.family(of: host) == address.family, let merged = try? UniversalAddress(host: host, port: address.port) else {
      return binding.address
    }
    return merged.description
  }

  // MARK: the procedures, shared by the versions

  func set(_ binding: RPCBinding, context: ONCCallContext) throws(ONCReplyError) -> Bool {
    try checkRegistrationAccess(context)
    var b = binding
    b.owner = owner(of: context)
    return table.set(b)
  }

  func unset(program: UInt32, version: UInt32, netid: String, context: ONCCallContext) throws(ONCReplyError) -> Bool {
    try checkRegistrationAccess(context)
    return table.unset(program: program, version: version, netid: netid, owner: owner(of: context))
  }

  func getPort(_ mapping: PortMapping) -> UInt32 {
    guard let transport = mapping.transport,
          let hit = table.find(program: mapping.program, version: mapping.version, netid: transport.netid, exactVersion: false),
          let address = try? UniversalAddress(parsing: hit.address) else { return 0 }
    return UInt32(address.port)
  }

  /// PMAP v2's view of the table: the IPv4 TCP and UDP entries, with their ports.
  func portMappings() -> [PortMapping] {
    table.bindings.compactMap { b in
      guard let transport = ONCTransportProtocol(rawValue: b.netid), let address = try? UniversalAddress(parsing: b.address) else {
        return nil
      }
      return PortMapping(program: b.program, version: b.version, transport: transport, port: address.port)
    }
  }

  func addressList(_ query: RPCBinding, context: ONCCallContext) -> [RPCBindEntry] {
    table.bindings.compactMap { b in
      guard b.program == query.program, b.version == query.version, b.netid != "local" else { return nil }
      let stream = !b.netid.hasPrefix("udp")
      let family = b.netid == "local" ? "loopback" : (b.netid.hasSuffix("6") ? "inet6" : "inet")
      let proto = b.netid == "local" ? "-" : (stream ? "tcp" : "udp")
      return RPCBindEntry(address: mergedAddress(b, context: context), netid: b.netid,
                          semantics: stream ? RPCBindEntry.connectionOrientedOrderly : RPCBindEntry.connectionless,
                          protocolFamily: family, protocolName: proto)
    }
  }
}

/// Program 100000 version 2: the port mapper (RFC 1833 §3).
public struct PortmapperV2Dispatcher: ONCProgramDispatcher {
  public let portmapper: Portmapper
  public var program: UInt32 { RPCBind.program }
  public var version: UInt32 { RPCBind.portmapperVersion }
  public var procedures: [UInt32] { [1, 2, 3, 4] }

  public init(portmapper: Portmapper) { self.portmapper = portmapper }

  public func dispatch(arguments: inout XDRReader, results: inout XDRWriter, context: ONCCallContext) throws {
    switch RPCBind.PortmapperProcedure(rawValue: context.procedure) {
    case .null:
      break
    case .set:
      let m = try decodeArguments(PortMapping.self, from: &arguments)
      guard let transport = m.transport, m.port <= UInt32(UInt16.max) else {
        try portmapper.checkRegistrationAccess(context)
        results.write(false)
        return
      }
      // rpcbind records a v2 registration at the wildcard address: the port is all it knows.
      let binding = RPCBinding(program: m.program, version: m.version, netid: transport.netid,
                               address: "0.0.0.0.\(m.port >> 8).\(m.port & 0xFF)")
      results.write(try portmapper.set(binding, context: context))
    case .unset:
      let m = try decodeArguments(PortMapping.self, from: &arguments)
      results.write(try portmapper.unset(program: m.program, version: m.version, netid: "", context: context))
    case .getPort:
      let m = try decodeArguments(PortMapping.self, from: &arguments)
      results.write(portmapper.getPort(m))
    case .dump:
      try PortMappingList(portmapper.portMappings()).encode(to: &results)
    case .callIt, nil:
      throw ONCReplyError.procedureUnavailable
    }
  }
}

/// Program 100000 versions 3 and 4: RPCBIND (RFC 1833 §2).
public struct RPCBindDispatcher: ONCProgramDispatcher {
  public let portmapper: Portmapper
  public let version: UInt32
  public var program: UInt32 { RPCBind.program }
  public var procedures: [UInt32] { version == RPCBind.version4 ? [1, 2, 3, 4, 6, 9, 11] : [1, 2, 3, 4, 6] }

  public init(portmapper: Portmapper, version: UInt32) {
    precondition(version == RPCBind.version3 || version == RPCBind.version4, "RPCBIND is versions 3 and 4")
    self.portmapper = portmapper
    self.version = version
  }

  public func dispatch(arguments: inout XDRReader, results: inout XDRWriter, context: ONCCallContext) throws {
    let v4 = version == RPCBind.version4
    switch RPCBind.Procedure(rawValue: context.procedure) {
    case .null:
      break
    case .set:
      let b = try decodeArguments(RPCBinding.self, from: &arguments)
      results.write(try portmapper.set(b, context: context))
    case .unset:
      let b = try decodeArguments(RPCBinding.self, from: &arguments)
      results.write(try portmapper.unset(program: b.program, version: b.version, netid: b.netid, context: context))
    case .getAddress, .getVersionAddress:
      guard v4 || context.procedure == RPCBind.Procedure.getAddress.rawValue else { throw ONCReplyError.procedureUnavailable }
      let query = try decodeArguments(RPCBinding.self, from: &arguments)
      let exact = context.procedure == RPCBind.Procedure.getVersionAddress.rawValue
      // RFC 1833 §2.2.1: "The r_netid field of the argument is ignored and the r_netid is
      // inferred from the netid of the transport on which the request came in" (rpcbind too).
      let netid = Portmapper.netid(of: context)
      let hit = portmapper.table.find(program: query.program, version: query.version, netid: netid, exactVersion: exact)
      try RPCBindAddressResult(hit.map { portmapper.mergedAddress($0, context: context) } ?? "").encode(to: &results)
    case .dump:
      try RPCBindingList(portmapper.table.bindings).encode(to: &results)
    case .getTime:
      results.write(portmapper.now())
    case .getAddressList where v4:
      let query = try decodeArguments(RPCBinding.self, from: &arguments)
      try RPCBindEntryList(portmapper.addressList(query, context: context)).encode(to: &results)
    default:
      throw ONCReplyError.procedureUnavailable
    }
  }
}
