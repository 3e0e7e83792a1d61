import CourierONC
import CourierWire
import Testing

/// The embedded port mapper's table rules and its dispatchers, called directly. The rules are
/// the ones observed of rpcbind 1.2.6 (docs/rpcbind.md); the system tests check the two agree.
@Suite("Embedded portmapper")
struct PortmapperTests {
  static let program: UInt32 = 0x2000_0001

  /// A caller's address from `host:port`, `[v6]:port`, or `local` (a Unix-domain socket: nil).
  static func peer(_ text: String) -> ONCPeerAddress? {
    guard text != "local" else { return nil }
    let colon = text.lastIndex(of: ":")!
    let port = UInt16(text[text.index(after: colon)...])!
    var host = String(text[..<colon])
    if host.hasPrefix("[") {
      host = String(host.dropFirst().dropLast())
      let halves = host.split(separator: "::", omittingEmptySubsequences: false)
      let head = halves[0].split(separator: ":").map { UInt64($0, radix: 16)! }
      let tail = halves.count > 1 ? halves[1].split(separator: ":").map { UInt64($0, radix: 16)! } : []
      let all = head + [UInt64](repeating: 0, count: 8 - head.count - tail.count) + tail
      let high = all[0..<4].reduce(0) { $0 << 16 | $1 }, low = all[4..<8].reduce(0) { $0 << 16 | $1 }
      return ONCPeerAddress(family: 10, high: high, low: low, port: port)
    }
    let a = host.split(separator: ".").map { UInt32($0)! }.reduce(0) { $0 << 8 | $1 }
    return .ipv4(a, port: port)
  }

  /// A call context from `client` (`host:port`).
  static func context(version: UInt32, procedure: UInt32, client: String = "127.0.0.1:40000",
                      transport: ONCTransportProtocol = .tcp) -> ONCCallContext {
    ONCCallContext(xid: 1, program: RPCBind.program, version: version, procedure: procedure, transport: transport, client: peer(client))
  }

  /// Calls a procedure of `portmapper`'s version-`version` dispatcher.
  static func call<R: XDRDecodable>(_ portmapper: Portmapper, version: UInt32, procedure: UInt32, arguments: some XDREncodable = XDRVoid(),
                                    client: String = "127.0.0.1:40000", transport: ONCTransportProtocol = .tcp,
                                    returning: R.Type = R.self) throws -> R {
    var w = XDRWriter()
    try arguments.encode(to: &w)
    return try call(portmapper, version: version, procedure: procedure, raw: w.finishedBytes(), client: client, transport: transport)
  }

  static func call<R: XDRDecodable>(_ portmapper: Portmapper, version: UInt32, procedure: UInt32, raw: [UInt8],
                                    client: String = "127.0.0.1:40000", transport: ONCTransportProtocol = .tcp,
                                    returning: R.Type = R.self) throws -> R {
    let dispatcher = portmapper.dispatchers.first { $0.version == version }!
    var args = XDRReader(raw)
    var results = XDRWriter()
    try dispatcher.dispatch(arguments: &args, results: &results, context: context(version: version, procedure: procedure, client: client, transport: transport))
    var r = XDRReader(results.finishedBytes())
    let value = try R(from: &r)
    #expect(r.isAtEnd)
    return value
  }

  static func portmapper() throws -> Portmapper {
    let p = Portmapper(serverHost: "127.0.0.1", now: { 1_795_319_347 })
    try p.table.registerSelf(host: "127.0.0.1", tcpPort: 111, udpPort: 111)
    return p
  }

  // MARK: the table

  @Test func setRefusesAnExistingProgramVersionNetid() {
    let t = PortmapperTable()
    #expect(t.set(RPCBinding(program: 7, version: 1, netid: "tcp", address: "0.0.0.0.39.16", owner: "unknown")))
    #expect(!t.set(RPCBinding(program: 7, version: 1, netid: "tcp", address: "0.0.0.0.39.17", owner: "unknown")))
    #expect(t.set(RPCBinding(program: 7, version: 1, netid: "udp", address: "0.0.0.0.39.17", owner: "unknown")))
    #expect(t.set(RPCBinding(program: 7, version: 2, netid: "tcp", address: "0.0.0.0.39.17", owner: "unknown")))
    #expect(t.bindings.count == 3)
    #expect(t.bindings[0].address == "0.0.0.0.39.16")
  }

  @Test func unsetRemovesOneNetidOrAllAndSucceedsWhenNothingIsThere() {
    let t = PortmapperTable()
    for netid in ["tcp", "udp", "tcp6"] { t.set(RPCBinding(program: 7, version: 1, netid: netid, address: "x", owner: "unknown")) }
    t.set(RPCBinding(program: 7, version: 2, netid: "tcp", address: "x", owner: "unknown"))
    #expect(t.unset(program: 7, version: 1, netid: "udp", owner: "unknown"))
    #expect(t.bindings.map(\.netid) == ["tcp", "tcp6", "tcp"])
    #expect(t.unset(program: 7, version: 1, owner: "unknown"))
    #expect(t.bindings.map(\.version) == [2])
    #expect(t.unset(program: 7, version: 1, owner: "unknown"))  // rpcbind: TRUE for nothing to remove
    #expect(t.unset(program: 99, version: 1, netid: "tcp", owner: "unknown"))
  }

  @Test func unsetByAnotherOwnerFailsUnlessSuperuser() {
    let t = PortmapperTable()
    t.set(RPCBinding(program: 7, version: 1, netid: "tcp", address: "x", owner: "superuser"))
    t.set(RPCBinding(program: 7, version: 1, netid: "udp", address: "x", owner: "1000"))
    #expect(!t.unset(program: 7, version: 1, owner: "unknown"))
    #expect(!t.unset(program: 7, version: 1, owner: "1000"))  // the tcp entry is superuser's
    #expect(t.bindings.count == 2)  // nothing removed by a refused UNSET
    #expect(t.unset(program: 7, version: 1, netid: "udp", owner: "1000"))
    #expect(t.unset(program: 7, version: 1, owner: "superuser"))
    #expect(t.bindings.isEmpty)
  }

  @Test func findPrefersTheExactVersionElseTheLastOfTheProgram() {
    let t = PortmapperTable()
    t.set(RPCBinding(program: 7, version: 1, netid: "tcp", address: "a", owner: "o"))
    t.set(RPCBinding(program: 7, version: 3, netid: "tcp", address: "c", owner: "o"))
    t.set(RPCBinding(program: 7, version: 2, netid: "tcp", address: "b", owner: "o"))
    t.set(RPCBinding(program: 7, version: 9, netid: "udp", address: "u", owner: "o"))
    #expect(t.find(program: 7, version: 3, netid: "tcp", exactVersion: false)?.address == "c")
    #expect(t.find(program: 7, version: 5, netid: "tcp", exactVersion: false)?.address == "b")
    #expect(t.find(program: 7, version: 5, netid: "tcp", exactVersion: true) == nil)
    #expect(t.find(program: 8, version: 1, netid: "tcp", exactVersion: false) == nil)
  }

  @Test func registersItselfLikeRpcbind() throws {
    let p = try Self.portmapper()
    let dump = try Self.call(p, version: 2, procedure: 4, returning: PortMappingList.self)
    #expect(dump.mappings.map { "\($0.version) \($0.ipProtocol) \($0.port)" } == ["4 6 111", "3 6 111", "2 6 111", "4 17 111", "3 17 111", "2 17 111"])
    #expect(p.table.bindings.allSatisfy { $0.owner == "superuser" && $0.address == "127.0.0.1.0.111" })
  }

  // MARK: version 2

  @Test func v2SetGetPortDumpUnset() throws {
    let p = try Self.portmapper()
    let tcp = PortMapping(program: Self.program, version: 1, transport: .tcp, port: 10000)
    let udp = PortMapping(program: Self.program, version: 1, transport: .udp, port: 10001)
    #expect(try Self.call(p, version: 2, procedure: 1, arguments: tcp, returning: Bool.self))
    #expect(try !Self.call(p, version: 2, procedure: 1, arguments: tcp, returning: Bool.self))  // already there
    #expect(try Self.call(p, version: 2, procedure: 1, arguments: udp, returning: Bool.self))
    #expect(p.table.bindings.last == RPCBinding(program: Self.program, version: 1, netid: "udp", address: "0.0.0.0.39.17", owner: "unknown"))
    #expect(try Self.call(p, version: 2, procedure: 3, arguments: PortMapping(program: Self.program, version: 1, transport: .tcp, port: 0),
                          returning: UInt32.self) == 10000)
    // Another version: the port of the program's last version on that transport.
    #expect(try Self.call(p, version: 2, procedure: 3, arguments: PortMapping(program: Self.program, version: 7, transport: .udp, port: 0),
                          returning: UInt32.self) == 10001)
    #expect(try Self.call(p, version: 2, procedure: 3, arguments: PortMapping(program: 5, version: 1, transport: .udp, port: 0),
                          returning: UInt32.self) == 0)
    #expect(try Self.call(p, version: 2, procedure: 4, returning: PortMappingList.self).mappings.suffix(2) == [tcp, udp])
    // UNSET ignores protocol and port: both transports go.
    #expect(try Self.call(p, version: 2, procedure: 2, arguments: PortMapping(program: Self.program, version: 1, ipProtocol: 0, port: 0),
                          returning: Bool.self))
    #expect(p.table.bindings.count == 6)
  }

  @Test func v2SetOfAnUnknownProtocolOrABigPortFails() throws {
    let p = try Self.portmapper()
    #expect(try !Self.call(p, version: 2, procedure: 1, arguments: PortMapping(program: 5, version: 1, ipProtocol: 1, port: 10), returning: Bool.self))
    #expect(try !Self.call(p, version: 2, procedure: 1, arguments: PortMapping(program: 5, version: 1, ipProtocol: 6, port: 70000),
                           returning: Bool.self))
    #expect(p.table.bindings.count == 6)
  }

  @Test func nobodyOnTheNetworkRemovesThePortmappersOwnEntries() throws {
    let p = try Self.portmapper()
    #expect(try !Self.call(p, version: 2, procedure: 2, arguments: PortMapping(program: 100000, version: 2, ipProtocol: 6, port: 111),
                           returning: Bool.self))
    #expect(try !Self.call(p, version: 4, procedure: 2, arguments: RPCBinding(program: 100000, version: 4, netid: ""), returning: Bool.self))
    #expect(p.table.bindings.count == 6)
  }

  // MARK: versions 3 and 4

  @Test func v4SetGetAddressMergesTheWildcard() throws {
    let p = try Self.portmapper()
    let b = RPCBinding(program: Self.program, version: 2, netid: "tcp", address: "0.0.0.0.39.16", owner: "claimed")
    #expect(try Self.call(p, version: 4, procedure: 1, arguments: b, returning: Bool.self))
    #expect(try !Self.call(p, version: 3, procedure: 1, arguments: b, returning: Bool.self))
    #expect(p.table.bindings.last?.owner == "unknown")  // what the caller claims is not kept
    let query = RPCBinding(program: Self.program, version: 2, netid: "tcp")
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: query, returning: RPCBindAddressResult.self).address == "127.0.0.1.39.16")
    #expect(try Self.call(p, version: 3, procedure: 3, arguments: query, returning: RPCBindAddressResult.self).address == "127.0.0.1.39.16")
    // GETADDR takes any version; GETVERSADDR only that one.
    var other = query
    other.version = 5
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: other, returning: RPCBindAddressResult.self).address == "127.0.0.1.39.16")
    #expect(try Self.call(p, version: 4, procedure: 9, arguments: other, returning: RPCBindAddressResult.self).address == "")
    #expect(try Self.call(p, version: 4, procedure: 9, arguments: query, returning: RPCBindAddressResult.self).address == "127.0.0.1.39.16")
    // The netid asked for is ignored: the call's transport decides (RFC 1833 §2.2.1).
    other.netid = "udp"
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: other, returning: RPCBindAddressResult.self).address == "127.0.0.1.39.16")
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: query, transport: .udp, returning: RPCBindAddressResult.self).address == "")
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: query, client: "[::1]:5", returning: RPCBindAddressResult.self).address == "")
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: query, client: "local", returning: RPCBindAddressResult.self).address == "")
    // A specific address is returned as registered.
    #expect(try Self.call(p, version: 4, procedure: 1, arguments: RPCBinding(program: 9, version: 1, netid: "udp", address: "10.0.0.2.0.7"),
                          returning: Bool.self))
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: RPCBinding(program: 9, version: 1, netid: "udp"), transport: .udp,
                          returning: RPCBindAddressResult.self).address == "10.0.0.2.0.7")
  }

  @Test func wildcardServerMergesToLoopbackForLoopbackCallers() throws {
    let p = Portmapper(serverHost: "0.0.0.0")
    p.table.set(RPCBinding(program: 9, version: 1, netid: "tcp", address: "0.0.0.0.0.7", owner: "x"))
    let q = RPCBinding(program: 9, version: 1, netid: "tcp")
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: q, returning: RPCBindAddressResult.self).address == "127.0.0.1.0.7")
    #expect(try Self.call(p, version: 4, procedure: 3, arguments: q, client: "10.1.1.1:5", returning: RPCBindAddressResult.self).address
            == "0.0.0.0.0.7")
  }

  @Test func v4UnsetWithAnEmptyNetidRemovesEveryNetid() throws {
    let p = try Self.portmapper()
    for netid in ["tcp", "udp"] {
      #expect(try Self.call(p, version: 4, procedure: 1, arguments: RPCBinding(program: 9, version: 1, netid: netid, address: "0.0.0.0.0.7"),
                            returning: Bool.self))
    }
    #expect(try Self.call(p, version: 4, procedure: 2, arguments: RPCBinding(program: 9, version: 1, netid: "udp"), returning: Bool.self))
    #expect(p.table.bindings.filter { $0.program == 9 }.map(\.netid) == ["tcp"])
    #expect(try Self.call(p, version: 3, procedure: 1, arguments: RPCBinding(program: 9, version: 1, netid: "udp", address: "0.0.0.0.0.7"),
                          returning: Bool.self))
    #expect(try Self.call(p, version: 3, procedure: 2, arguments: RPCBinding(program: 9, version: 1, netid: ""), returning: Bool.self))
    #expect(p.table.bindings.filter { $0.program == 9 }.isEmpty)
  }

  @Test func v4DumpGetTimeAndAddressList() throws {
    let p = try Self.portmapper()
    let dump = try Self.call(p, version: 4, procedure: 4, returning: RPCBindingList.self)
    #expect(dump.bindings == p.table.bindings)
    #expect(try Self.call(p, version: 3, procedure: 6, returning: UInt32.self) == 1_795_319_347)
    let list = try Self.call(p, version: 4, procedure: 11, arguments: RPCBinding(program: 100000, version: 4, netid: ""),
                             returning: RPCBindEntryList.self)
    #expect(list.entries == [
      RPCBindEntry(address: "127.0.0.1.0.111", netid: "tcp", semantics: 3, protocolFamily: "inet", protocolName: "tcp"),
      RPCBindEntry(address: "127.0.0.1.0.111", netid: "udp", semantics: 1, protocolFamily: "inet", protocolName: "udp"),
    ])
  }

  // MARK: refusals

  @Test func registrationsFromAnotherMachineAreRefused() throws {
    let p = try Self.portmapper()
    let b = RPCBinding(program: 9, version: 1, netid: "tcp", address: "0.0.0.0.0.7")
    for client in ["10.0.0.1:1000", "[fe80::1]:1000", "192.168.1.1:111", "[::2]:1", "[::ffff:a00:1]:9"] {
      #expect(throws: ONCReplyError.authError(.tooWeak)) { try Self.call(p, version: 4, procedure: 1, arguments: b, client: client, returning: Bool.self) }
      #expect(throws: ONCReplyError.authError(.tooWeak)) {
        try Self.call(p, version: 2, procedure: 2, arguments: PortMapping(program: 9, version: 1, ipProtocol: 6, port: 0), client: client,
                      returning: Bool.self)
      }
    }
    for client in ["127.0.0.1:1000", "127.8.9.10:5", "[::1]:1000", "[0:0:0:0:0:0:0:1]:9", "[::ffff:7f00:1]:9", "local"] {
      #expect(try Self.call(p, version: 4, procedure: 2, arguments: b, client: client, returning: Bool.self))
    }
    // Lookups are for everyone.
    #expect(try Self.call(p, version: 2, procedure: 3, arguments: PortMapping(program: 100000, version: 2, transport: .udp, port: 0),
                          client: "10.0.0.1:1000", returning: UInt32.self) == 111)
    let open = Portmapper(allowRemoteRegistration: true)
    #expect(try Self.call(open, version: 4, procedure: 1, arguments: b, client: "10.0.0.1:1000", returning: Bool.self))
  }

  @Test("unserved procedures answer PROC_UNAVAIL", arguments: [
    (UInt32(2), UInt32(5)), (2, 6), (3, 5), (3, 7), (3, 8), (3, 9), (3, 11), (4, 5), (4, 7), (4, 8), (4, 10), (4, 12), (4, 13), (4, 999),
  ])
  func unservedProcedures(version: UInt32, procedure: UInt32) throws {
    let p = try Self.portmapper()
    #expect(throws: ONCReplyError.procedureUnavailable) {
      try Self.call(p, version: version, procedure: procedure, arguments: PortmapperCallArguments(program: 1, version: 1, procedure: 0, arguments: []),
                    returning: XDRVoid.self)
    }
  }

  @Test func garbageArgumentsAreGarbageArgs() throws {
    let p = try Self.portmapper()
    #expect(throws: ONCReplyError.garbageArguments) { try Self.call(p, version: 2, procedure: 1, raw: [0, 0, 0, 1], returning: Bool.self) }
    #expect(throws: ONCReplyError.garbageArguments) {
      try Self.call(p, version: 4, procedure: 1, raw: rpcbindHex("00000001 00000001 ffffffff"), returning: Bool.self)
    }
    #expect(throws: ONCReplyError.garbageArguments) {
      try Self.call(p, version: 4, procedure: 3, raw: rpcbindHex("00000001 00000001 00000100") + [UInt8](repeating: 0x61, count: 256),
                    returning: RPCBindAddressResult.self)
    }
    #expect(p.table.bindings.count == 6)
  }

  @Test func dispatchersDescribeThemselves() throws {
    let p = try Self.portmapper()
    #expect(p.dispatchers.map(\.version) == [2, 3, 4])
    #expect(p.dispatchers.allSatisfy { $0.program == 100000 })
    #expect(p.dispatchers[2].procedures.contains(9))
    #expect(!p.dispatchers[1].procedures.contains(9))
  }
}
