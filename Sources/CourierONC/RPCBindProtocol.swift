public import CourierWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The binding protocols of ONC RPC (RFC 1833): the port mapper (program 100000 version 2) and
// RPCBIND (program 100000 versions 3 and 4), as libtirpc's `pmap_prot.h` and `rpcb_prot.x`
// declare them. Only the types travel here; the service is `Portmapper.swift`, the client is
// `RPCBindClient` in the transport module.
//
// Bounds. RFC 1833 declares every string `string<>` and every list unbounded. A reader here
// never trusts a length, so each gets a bound, chosen well above what any rpcbind sends:
// - netid, owner: at most 255 bytes (rpcbind's netids are `tcp`, `udp6`, `local`; owners are
//   `superuser`, `unknown` or a uid);
// - universal address: at most 255 bytes (an IPv6 one is at most 53, a local socket path 108);
// - a DUMP or GETADDRLIST list: at most 10,000 entries (a busy NFS server registers about 40).
// Anything longer is `XDRError.lengthTooLarge`, which a server answers with GARBAGE_ARGS.

/// Program 100000: the port mapper (version 2) and RPCBIND (versions 3 and 4).
public enum RPCBind {
  /// The program number of the port mapper and RPCBIND.
  public static let program: UInt32 = 100000
  /// The port mapper / rpcbind port on TCP and UDP (`PMAPPORT`, `RPCB_PORT`).
  public static let port: UInt16 = 111
  /// The port mapper version (PMAP).
  public static let portmapperVersion: UInt32 = 2
  /// RPCBIND version 3 (`RPCBVERS`).
  public static let version3: UInt32 = 3
  /// RPCBIND version 4 (`RPCBVERS4`).
  public static let version4: UInt32 = 4
  /// Where Linux's rpcbind listens for local registrations (netid `local`, AF_LOCAL stream,
  /// record marking). rpcbind learns the caller's uid there and records it as the owner.
  public static let localSocketPath = "/run/rpcbind.sock"

  /// The most bytes accepted in a netid (`r_netid`, `r_nc_netid`).
  public static let maximumNetidLength = 255
  /// The most bytes accepted in a universal address (`r_addr`, `r_maddr`).
  public static let maximumAddressLength = 255
  /// The most bytes accepted in an owner (`r_owner`) and in the other `rpcb_entry` strings.
  public static let maximumOwnerLength = 255
  /// The most entries accepted in a `pmaplist`, `rpcblist` or `rpcb_entry_list`.
  public static let maximumListEntries = 10_000

  /// The port mapper's procedures (RFC 1833 §3.1).
  public enum PortmapperProcedure: UInt32, Sendable, CaseIterable {
    /// `void PMAPPROC_NULL(void)`.
    case null = 0
    /// `bool PMAPPROC_SET(mapping)`.
    case set = 1
    /// `bool PMAPPROC_UNSET(mapping)`: protocol and port are ignored.
    case unset = 2
    /// `unsigned int PMAPPROC_GETPORT(mapping)`: 0 when not registered; port is ignored.
    case getPort = 3
    /// `pmaplist PMAPPROC_DUMP(void)`.
    case dump = 4
    /// `call_result PMAPPROC_CALLIT(call_args)`.
    case callIt = 5
  }

  /// RPCBIND's procedures (RFC 1833 §2.1); 9 to 12 are version 4 only.
  public enum Procedure: UInt32, Sendable, CaseIterable {
    case null = 0
    /// `bool RPCBPROC_SET(rpcb)`.
    case set = 1
    /// `bool RPCBPROC_UNSET(rpcb)`: an empty `r_netid` removes every netid of the version.
    case unset = 2
    /// `string RPCBPROC_GETADDR(rpcb)`: "" when not registered.
    case getAddress = 3
    /// `rpcblist_ptr RPCBPROC_DUMP(void)`.
    case dump = 4
    /// `rpcb_rmtcallres RPCBPROC_CALLIT(rpcb_rmtcallargs)` (`RPCBPROC_BCAST` in version 4).
    case callIt = 5
    /// `unsigned int RPCBPROC_GETTIME(void)`: seconds since 1970.
    case getTime = 6
    /// `struct netbuf RPCBPROC_UADDR2TADDR(string)`.
    case universalToTransportAddress = 7
    /// `string RPCBPROC_TADDR2UADDR(struct netbuf)`.
    case transportToUniversalAddress = 8
    /// `string RPCBPROC_GETVERSADDR(rpcb)` (v4): like GETADDR, for that version only.
    case getVersionAddress = 9
    /// `rpcb_rmtcallres RPCBPROC_INDIRECT(rpcb_rmtcallargs)` (v4).
    case indirect = 10
    /// `rpcb_entry_list_ptr RPCBPROC_GETADDRLIST(rpcb)` (v4).
    case getAddressList = 11
    /// `rpcb_stat_byvers RPCBPROC_GETSTAT(void)` (v4).
    case getStatistics = 12
  }
}

// MARK: - Port mapper version 2

/// `struct mapping { unsigned int prog; unsigned int vers; unsigned int prot; unsigned int port; }`
/// (RFC 1833 §3.1): the argument of SET, UNSET and GETPORT and the element of DUMP's list.
public struct PortMapping: XDRCodable, Sendable, Hashable, CustomStringConvertible {
  /// `IPPROTO_TCP`.
  public static let tcp: UInt32 = 6
  /// `IPPROTO_UDP`.
  public static let udp: UInt32 = 17

  public var program: UInt32
  public var version: UInt32
  /// The IP protocol number (`IPPROTO_TCP` 6, `IPPROTO_UDP` 17); other values travel unchanged.
  public var ipProtocol: UInt32
  /// The port; an `unsigned int` on the wire, so values above 65535 can arrive (and are
  /// refused by the port mapper).
  public var port: UInt32

  public init(program: UInt32, version: UInt32, ipProtocol: UInt32, port: UInt32) {
    self.program = program
    self.version = version
    self.ipProtocol = ipProtocol
    self.port = port
  }

  public init(program: UInt32, version: UInt32, transport: ONCTransportProtocol, port: UInt16) {
    self.init(program: program, version: version, ipProtocol: transport.ipProtocol, port: UInt32(port))
  }

  /// The transport the protocol number names, if it is TCP or UDP.
  public var transport: ONCTransportProtocol? {
    switch ipProtocol {
    case Self.tcp: .tcp
    case Self.udp: .udp
    default: nil
    }
  }

  public func encode(to writer: inout XDRWriter) {
    writer.write(program)
    writer.write(version)
    writer.write(ipProtocol)
    writer.write(port)
  }

  public init(from reader: inout XDRReader) throws {
    program = try reader.read(UInt32.self)
    version = try reader.read(UInt32.self)
    ipProtocol = try reader.read(UInt32.self)
    port = try reader.read(UInt32.self)
  }

  public var description: String { "\(program) v\(version) \(transport?.rawValue ?? "prot \(ipProtocol)") port \(port)" }
}

/// `pmaplist` (PMAPPROC_DUMP's result): `struct pmaplist { mapping map; pmaplist *next; }`,
/// read as a loop, at most ``RPCBind/maximumListEntries`` entries.
public struct PortMappingList: XDRCodable, Sendable, Hashable {
  public var mappings: [PortMapping]
  public init(_ mappings: [PortMapping] = []) { self.mappings = mappings }

  public func encode(to writer: inout XDRWriter) throws {
    try writer.writeList(mappings, maximum: RPCBind.maximumListEntries)
  }

  public init(from reader: inout XDRReader) throws {
    mappings = try reader.readList(PortMapping.self, maximum: RPCBind.maximumListEntries)
  }
}

/// PMAPPROC_CALLIT's argument: `struct call_args { unsigned int prog; unsigned int vers;
/// unsigned int proc; opaque args<>; }` (the same layout as RPCBIND's `rpcb_rmtcallargs`).
public struct PortmapperCallArguments: XDRCodable, Sendable, Hashable {
  /// The most argument bytes accepted (rpcbind's UDP limit is below this).
  public static let maximumArguments = 65_536
  public var program: UInt32
  public var version: UInt32
  public var procedure: UInt32
  public var arguments: [UInt8]

  public init(program: UInt32, version: UInt32, procedure: UInt32, arguments: [UInt8]) {
    self.program = program
    self.version = version
    self.procedure = procedure
    self.arguments = arguments
  }

  public func encode(to writer: inout XDRWriter) throws {
    writer.write(program)
    writer.write(version)
    writer.write(procedure)
    try writer.writeOpaque(arguments, maximum: Self.maximumArguments)
  }

  public init(from reader: inout XDRReader) throws {
    program = try reader.read(UInt32.self)
    version = try reader.read(UInt32.self)
    procedure = try reader.read(UInt32.self)
    arguments = try reader.readOpaque(maximum: Self.maximumArguments)
  }
}

// MARK: - RPCBIND versions 3 and 4

/// `struct rpcb { rpcprog_t r_prog; rpcvers_t r_vers; string r_netid<>; string r_addr<>;
/// string r_owner<>; }` (RFC 1833 §2.1): the argument of SET, UNSET, GETADDR, GETVERSADDR and
/// GETADDRLIST, and the element of DUMP's list. Strings are bounded on both sides (see the
/// top of this file).
public struct RPCBinding: XDRCodable, Sendable, Hashable, CustomStringConvertible {
  public var program: UInt32
  public var version: UInt32
  /// The network id: `tcp`, `udp`, `tcp6`, `udp6`, `local`… Empty in an UNSET means every netid.
  public var netid: String
  /// The universal address (``UniversalAddress``), or a path for netid `local`. Empty in
  /// UNSET and the lookups.
  public var address: String
  /// Who registered it. Set by the caller, but rpcbind replaces it with what it knows of the
  /// caller (`superuser`, a uid, or `unknown`).
  public var owner: String

  public init(program: UInt32, version: UInt32, netid: String, address: String = "", owner: String = "") {
    self.program = program
    self.version = version
    self.netid = netid
    self.address = address
    self.owner = owner
  }

  public func encode(to writer: inout XDRWriter) throws {
    writer.write(program)
    writer.write(version)
    try writer.writeString(netid, maximum: RPCBind.maximumNetidLength)
    try writer.writeString(address, maximum: RPCBind.maximumAddressLength)
    try writer.writeString(owner, maximum: RPCBind.maximumOwnerLength)
  }

  public init(from reader: inout XDRReader) throws {
    program = try reader.read(UInt32.self)
    version = try reader.read(UInt32.self)
    netid = try reader.readString(maximum: RPCBind.maximumNetidLength)
    address = try reader.readString(maximum: RPCBind.maximumAddressLength)
    owner = try reader.readString(maximum: RPCBind.maximumOwnerLength)
  }

  public var description: String { "\(program) v\(version) \(netid) \(address) owner \(owner)" }
}

/// `rpcblist_ptr` (RPCBPROC_DUMP's result): `struct rp__list { rpcb rpcb_map; struct rp__list
/// *rpcb_next; }`, read as a loop, at most ``RPCBind/maximumListEntries`` entries.
public struct RPCBindingList: XDRCodable, Sendable, Hashable {
  public var bindings: [RPCBinding]
  public init(_ bindings: [RPCBinding] = []) { self.bindings = bindings }

  public func encode(to writer: inout XDRWriter) throws {
    try writer.writeList(bindings, maximum: RPCBind.maximumListEntries)
  }

  public init(from reader: inout XDRReader) throws {
    bindings = try reader.readList(RPCBinding.self, maximum: RPCBind.maximumListEntries)
  }
}

/// `struct rpcb_entry { string r_maddr<>; string r_nc_netid<>; unsigned int r_nc_semantics;
/// string r_nc_protofmly<>; string r_nc_proto<>; }`: one element of GETADDRLIST's result.
public struct RPCBindEntry: XDRCodable, Sendable, Hashable {
  /// `NC_TPI_CLTS`: datagrams (udp).
  public static let connectionless: UInt32 = 1
  /// `NC_TPI_COTS`: a stream.
  public static let connectionOriented: UInt32 = 2
  /// `NC_TPI_COTS_ORD`: a stream with orderly release (tcp, local).
  public static let connectionOrientedOrderly: UInt32 = 3

  /// The merged universal address of the service.
  public var address: String
  public var netid: String
  /// The transport's semantics (`NC_TPI_*`).
  public var semantics: UInt32
  /// The protocol family (`inet`, `inet6`, `loopback`).
  public var protocolFamily: String
  /// The protocol (`tcp`, `udp`, `-`).
  public var protocolName: String

  public init(address: String, netid: String, semantics: UInt32, protocolFamily: String, protocolName: String) {
    self.address = address
    self.netid = netid
    self.semantics = semantics
    self.protocolFamily = protocolFamily
    self.protocolName = protocolName
  }

  public func encode(to writer: inout XDRWriter) throws {
    try writer.writeString(address, maximum: RPCBind.maximumAddressLength)
    try writer.writeString(netid, maximum: RPCBind.maximumNetidLength)
    writer.write(semantics)
    try writer.writeString(protocolFamily, maximum: RPCBind.maximumOwnerLength)
    try writer.writeString(protocolName, maximum: RPCBind.maximumOwnerLength)
  }

  public init(from reader: inout XDRReader) throws {
    address = try reader.readString(maximum: RPCBind.maximumAddressLength)
    netid = try reader.readString(maximum: RPCBind.maximumNetidLength)
    semantics = try reader.read(UInt32.self)
    protocolFamily = try reader.readString(maximum: RPCBind.maximumOwnerLength)
    protocolName = try reader.readString(maximum: RPCBind.maximumOwnerLength)
  }
}

/// `rpcb_entry_list_ptr` (RPCBPROC_GETADDRLIST's result), read as a loop.
public struct RPCBindEntryList: XDRCodable, Sendable, Hashable {
  public var entries: [RPCBindEntry]
  public init(_ entries: [RPCBindEntry] = []) { self.entries = entries }

  public func encode(to writer: inout XDRWriter) throws {
    try writer.writeList(entries, maximum: RPCBind.maximumListEntries)
  }

  public init(from reader: inout XDRReader) throws {
    entries = try reader.readList(RPCBindEntry.self, maximum: RPCBind.maximumListEntries)
  }
}

/// A string result (GETADDR, GETVERSADDR), bounded like an address.
public struct RPCBindAddressResult: XDRCodable, Sendable, Hashable {
  public var address: String
  public init(_ address: String) { self.address = address }
  public func encode(to writer: inout XDRWriter) throws { try writer.writeString(address, maximum: RPCBind.maximumAddressLength) }
  public init(from reader: inout XDRReader) throws { address = try reader.readString(maximum: RPCBind.maximumAddressLength) }
}

// MARK: - Universal addresses

/// A universal address for an IP transport (RFC 1833 §2.1, RFC 5665 §5.2.3): the host's text
/// form, a dot, and the port's two bytes in decimal, high first — `127.0.0.1.0.111` is
/// 127.0.0.1 port 111, `::1.3.232` is ::1 port 1000.
public struct UniversalAddress: Sendable, Hashable, CustomStringConvertible {
  /// The host as text: dotted IPv4, or IPv6 in any form `inet_pton` takes (kept as given).
  public var host: String
  public var port: UInt16

  /// An address from its host and port; the host must be an IPv4 or IPv6 address.
  public init(host: String, port: UInt16) throws(UniversalAddressError) {
    guard Self.family(of: host) != nil else {
      throw UniversalAddressError(address: host, reason: "\"\(host)\" is not an IPv4 or IPv6 address")
    }
    self.host = host
    self.port = port
  }

  /// Parses `h1.h2.h3.h4.p1.p2` or `IPv6.p1.p2`.
  public init(parsing text: String) throws(UniversalAddressError) {
    func fail(_ reason: String) -> UniversalAddressError { UniversalAddressError(address: text, reason: reason) }
    guard text.utf8.count <= RPCBind.maximumAddressLength else {
      throw fail("\(text.utf8.count) bytes, at most \(RPCBind.maximumAddressLength)")
    }
    guard let lastDot = text.lastIndex(of: ".") else { throw fail("no port part (h.h.h.h.p1.p2 or ipv6.p1.p2)") }
    let low = text[text.index(after: lastDot)...]
    let rest = text[..<lastDot]
    guard let middleDot = rest.lastIndex(of: ".") else { throw fail("the port needs two parts, p1.p2") }
    let high = rest[rest.index(after: middleDot)...]
    let hostText = String(rest[..<middleDot])
    guard let p1 = Self.octet(high) else { throw fail("port part \"\(high)\" is not a number from 0 to 255") }
    guard let p2 = Self.octet(low) else { throw fail("port part \"\(low)\" is not a number from 0 to 255") }
    guard !hostText.isEmpty else { throw fail("no host part") }
    if hostText.contains(":") {
      guard Self.family(of: hostText) == .inet6 else { throw fail("\"\(hostText)\" is not an IPv6 address") }
    } else {
      let parts = hostText.split(separator: ".", omittingEmptySubsequences: false)
      guard parts.count == 4 else {
        throw fail("an IPv4 universal address has 6 parts (h1.h2.h3.h4.p1.p2), this one has \(parts.count + 2)")
      }
      for part in parts where Self.octet(part) == nil {
        throw fail("host part \"\(part)\" is not a number from 0 to 255")
      }
    }
    host = hostText
    port = UInt16(p1) << 8 | UInt16(p2)
  }

  /// The address family of the host.
  public enum Family: Sendable, Hashable {
    case inet
    case inet6
  }

  /// IPv4 or IPv6.
  public var family: Family { host.contains(":") ? .inet6 : .inet }

  /// Whether the host is the wildcard address (`0.0.0.0`, `::`), which a server binds to listen
  /// on every interface and which GETADDR replaces with an address the caller can reach.
  public var isWildcard: Bool {
    switch Self.bytes(of: host) {
    case .some(let b): b.allSatisfy { $0 == 0 }
    case .none: false
    }
  }

  /// Whether the host is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104).
  public var isLoopback: Bool { Self.isLoopback(host: host) }

  /// The netid for `transport` over this address's family (`tcp`, `udp`, `tcp6`, `udp6`).
  public func netid(for transport: ONCTransportProtocol) -> String {
    family == .inet ? transport.netid : transport.netid + "6"
  }

  /// `host.p1.p2`.
  public var description: String { "\(host).\(port >> 8).\(port & 0xFF)" }

  static func octet(_ s: Substring) -> UInt8? {
    guard !s.isEmpty, s.count <= 3, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return UInt8(s)
  }

  static func family(of host: String) -> Family? {
    guard let b = bytes(of: host) else { return nil }
    return b.count == 4 ? .inet : .inet6
  }

  /// The address's bytes (4 or 16), nil if it is neither form.
  static func bytes(of host: String) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 16)
    if host.contains(":") {
      return inet_pton(AF_INET6, host, &buffer) == 1 ? buffer : nil
    }
    // inet_pton's IPv4 form is exactly four decimal parts, as a universal address wants.
    return inet_pton(AF_INET, host, &buffer) == 1 ? Array(buffer.prefix(4)) : nil
  }

  /// Whether `host` (an address, not a name) is a loopback address.
  public static func isLoopback(host: String) -> Bool {
    guard let b = bytes(of: host) else { return false }
    if b.count == 4 { return b[0] == 127 }
    if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }
    return b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF && b[12] == 127
  }
}

/// A universal address that cannot be parsed, and why.
public struct UniversalAddressError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The text that was given.
  public var address: String
  /// What is wrong with it.
  public var reason: String
  public init(address: String, reason: String) {
    self.address = address
    self.reason = reason
  }
  public var description: String { "bad universal address \"\(address)\": \(reason)" }
}
