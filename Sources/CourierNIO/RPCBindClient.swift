import CourierCore
public import CourierONC
import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// A failure of an rpcbind operation that is not a failed call: the program is not registered,
/// or rpcbind refused a registration. (Failed calls are `RPCError`s, as from any ONC client.)
public struct RPCBindError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong; an extensible set.
  public struct Code: Sendable, Hashable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }
    /// rpcbind has no address for the program, version and transport.
    public static let notRegistered = Code("notRegistered")
    /// rpcbind answered SET or UNSET with FALSE (already registered, or owned by another user).
    public static let refused = Code("refused")
    /// rpcbind answered with an address that is not a universal address.
    public static let badAddress = Code("badAddress")
  }
  public var code: Code
  public var message: String
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }
  public var description: String { "rpcbind: \(message)" }
}

/// A client of rpcbind / the port mapper (program 100000, RFC 1833): PMAP version 2 and
/// RPCBIND versions 3 and 4, over any ``ONCCaller`` — usually an ``ONCClient`` to port 111, or
/// to rpcbind's local socket (``local(path:options:)``), the only place Linux's rpcbind learns
/// who the caller is.
///
/// ```swift
/// let port = try RPCBindClient.lookup(host: "127.0.0.1", program: 100003, version: 3, transport: .tcp)
/// ```
public final class RPCBindClient: Sendable {
  /// What carries the calls.
  public let caller: any ONCCaller
  private let client: ONCClient?

  /// A client over `caller` (which the client does not close).
  public init(caller: any ONCCaller) {
    self.caller = caller
    self.client = nil
  }

  /// A client of the rpcbind at `host`:`port` over `transport`.
  public init(host: String = "127.0.0.1", port: UInt16 = RPCBind.port, transport: ONCTransportProtocol = .tcp,
              options: ONCClientOptions = RPCBindClient.defaultOptions) {
    let client = ONCClient(host: host, port: port, transport: transport, options: options)
    self.caller = client
    self.client = client
  }

  /// A client of rpcbind's local (AF_LOCAL stream) socket.
  public static func local(path: String = RPCBind.localSocketPath, options: ONCClientOptions = RPCBindClient.defaultOptions) -> RPCBindClient {
    RPCBindClient(client: ONCClient(unixSocketPath: path, options: options))
  }

  private init(client: ONCClient) {
    self.caller = client
    self.client = client
  }

  /// Five seconds per call (rpcbind answers at once or not at all), AUTH_NONE.
  public static var defaultOptions: ONCClientOptions {
    var o = ONCClientOptions()
    o.timeout = .seconds(5)
    o.retransmitInitial = .milliseconds(250)
    o.retransmitMaximum = .seconds(1)
    return o
  }

  /// Closes the connection, if this client opened it.
  public func close() { client?.close() }

  // MARK: PMAP version 2

  /// PMAPPROC_NULL, or RPCBPROC_NULL of `version`.
  public func ping(version: UInt32 = RPCBind.portmapperVersion) throws {
    _ = try caller.call(program: RPCBind.program, version: version, procedure: 0, arguments: XDRVoid(), returning: XDRVoid.self)
  }

  /// PMAPPROC_SET: true if rpcbind took the mapping.
  public func set(_ mapping: PortMapping) throws -> Bool {
    try pmap(.set, mapping, Bool.self)
  }

  /// PMAPPROC_UNSET of (program, version), every protocol.
  public func unset(_ mapping: PortMapping) throws -> Bool {
    try pmap(.unset, mapping, Bool.self)
  }

  /// PMAPPROC_GETPORT: the port of (program, version) over `transport`; nil when not registered.
  public func getPort(program: UInt32, version: UInt32, transport: ONCTransportProtocol) throws -> UInt16? {
    let port = try pmap(.getPort, PortMapping(program: program, version: version, transport: transport, port: 0), UInt32.self)
    guard port != 0 else { return nil }
    guard port <= UInt32(UInt16.max) else { throw RPCBindError(.badAddress, "GETPORT answered port \(port)") }
    return UInt16(port)
  }

  /// PMAPPROC_DUMP: every IPv4 TCP and UDP mapping.
  public func dumpMappings() throws -> [PortMapping] {
    try pmap(.dump, XDRVoid(), PortMappingList.self).mappings
  }

  private func pmap<A: XDREncodable, R: XDRDecodable>(_ procedure: RPCBind.PortmapperProcedure, _ arguments: A, _: R.Type) throws -> R {
    try caller.call(program: RPCBind.program, version: RPCBind.portmapperVersion, procedure: procedure.rawValue, arguments: arguments,
                    returning: R.self)
  }

  // MARK: RPCBIND versions 3 and 4

  /// RPCBPROC_SET: true if rpcbind took the registration (it records its own idea of the owner).
  public func set(_ binding: RPCBinding, rpcbindVersion: UInt32 = RPCBind.version4) throws -> Bool {
    try rpcb(.set, rpcbindVersion, binding, Bool.self)
  }

  /// RPCBPROC_UNSET of (program, version, netid); an empty netid removes every netid.
  public func unset(program: UInt32, version: UInt32, netid: String = "", owner: String = "",
                    rpcbindVersion: UInt32 = RPCBind.version4) throws -> Bool {
    try rpcb(.unset, rpcbindVersion, RPCBinding(program: program, version: version, netid: netid, owner: owner), Bool.self)
  }

  /// RPCBPROC_GETADDR: the universal address of (program, version, netid) — or of another
  /// version of the program on that netid, as rpcbind answers; nil when not registered.
  public func getAddress(program: UInt32, version: UInt32, netid: String, rpcbindVersion: UInt32 = RPCBind.version4) throws -> String? {
    let a = try rpcb(.getAddress, rpcbindVersion, RPCBinding(program: program, version: version, netid: netid), RPCBindAddressResult.self)
    return a.address.isEmpty ? nil : a.address
  }

  /// RPCBPROC_GETVERSADDR (v4): the universal address of exactly that version; nil when not registered.
  public func getVersionAddress(program: UInt32, version: UInt32, netid: String) throws -> String? {
    let a = try rpcb(.getVersionAddress, RPCBind.version4, RPCBinding(program: program, version: version, netid: netid),
                     RPCBindAddressResult.self)
    return a.address.isEmpty ? nil : a.address
  }

  /// RPCBPROC_GETADDRLIST (v4): every address of (program, version).
  public func getAddressList(program: UInt32, version: UInt32, netid: String = "") throws -> [RPCBindEntry] {
    try rpcb(.getAddressList, RPCBind.version4, RPCBinding(program: program, version: version, netid: netid), RPCBindEntryList.self).entries
  }

  /// RPCBPROC_DUMP: every registration, every netid.
  public func dump(rpcbindVersion: UInt32 = RPCBind.version4) throws -> [RPCBinding] {
    try rpcb(.dump, rpcbindVersion, XDRVoid(), RPCBindingList.self).bindings
  }

  /// RPCBPROC_GETTIME: the server's clock, seconds since 1970.
  public func getTime(rpcbindVersion: UInt32 = RPCBind.version4) throws -> UInt32 {
    try rpcb(.getTime, rpcbindVersion, XDRVoid(), UInt32.self)
  }

  private func rpcb<A: XDREncodable, R: XDRDecodable>(_ procedure: RPCBind.Procedure, _ version: UInt32, _ arguments: A, _: R.Type) throws -> R {
    try caller.call(program: RPCBind.program, version: version, procedure: procedure.rawValue, arguments: arguments, returning: R.self)
  }

  // MARK: lookup

  /// The port of `program` `version` over `transport` at `host`, as its rpcbind says: RPCBIND
  /// v4 GETADDR, and when that version is not spoken (PROG_MISMATCH, PROG_UNAVAIL, or
  /// PROC_UNAVAIL from an old port mapper) PMAP v2 GETPORT, over the same transport.
  ///
  /// Like libtirpc, it accepts rpcbind's answer for another version of the program (the call
  /// then fails with PROG_MISMATCH and the versions the server has).
  /// - Throws: ``RPCBindError`` (`notRegistered`, `badAddress`), or the `RPCError` of a
  ///   failed call.
  public static func lookup(host: String, program: UInt32, version: UInt32, transport: ONCTransportProtocol,
                            rpcbindPort: UInt16 = RPCBind.port, options: ONCClientOptions = RPCBindClient.defaultOptions) throws -> UInt16 {
    let rpcbind = RPCBindClient(host: host, port: rpcbindPort, transport: transport, options: options)
    defer { rpcbind.close() }
    let netid = host.contains(":") ? transport.netid + "6" : transport.netid
    let what = "program \(program) version \(version) over \(netid) at \(host)"
    do {
      guard let address = try rpcbind.getAddress(program: program, version: version, netid: netid) else {
        throw RPCBindError(.notRegistered, "\(what) is not registered")
      }
      do {
        return try UniversalAddress(parsing: address).port
      } catch {
        throw RPCBindError(.badAddress, "GETADDR answered for \(what): \(error)")
      }
    } catch let error as RPCError {
      switch error.oncReplyError {
      case .programMismatch, .programUnavailable, .procedureUnavailable:
        break  // a PMAP-only port mapper: ask version 2
      default:
        throw error
      }
    }
    guard netid == transport.netid else { throw RPCBindError(.notRegistered, "\(what): the port mapper (v2) knows no IPv6") }
    guard let port = try rpcbind.getPort(program: program, version: version, transport: transport) else {
      throw RPCBindError(.notRegistered, "\(what) is not registered (PMAP v2)")
    }
    return port
  }
}
