import CourierCore
import CourierNIO
import CourierONC
import CourierWire
import Testing

/// RPCBindClient and ONCServer.registerWithRPCBind against the embedded port mapper served by
/// an ONCServer on 127.0.0.1 at a free port (not 111: no namespace needed).
@Suite("rpcbind client and registration (embedded port mapper)")
struct RPCBindClientTests {
  struct EmptyProgram: ONCProgramDispatcher {
    let program: UInt32
    let version: UInt32
    var procedures: [UInt32] { [] }
    func dispatch(arguments: inout XDRReader, results: inout XDRWriter, context: ONCCallContext) throws {
      throw ONCReplyError.procedureUnavailable
    }
  }

  /// A running embedded port mapper and its port.
  static func portmapper() throws -> (ONCServer, Portmapper, UInt16) {
    let server = ONCServer()
    let portmapper = Portmapper()
    for d in portmapper.dispatchers { server.register(d) }
    try server.start()
    try portmapper.table.registerSelf(host: "127.0.0.1", tcpPort: server.tcpPort, udpPort: server.udpPort)
    return (server, portmapper, try #require(server.tcpPort))
  }

  static func options(port: UInt16) -> RPCBindRegistrationOptions {
    var o = RPCBindRegistrationOptions()
    o.localSocketPath = nil  // the machine's own rpcbind, if any, is not ours to touch
    o.port = port
    return o
  }

  @Test func registrationLookupAndUnregistrationOnShutdown() throws {
    let (pmServer, pm, pmPort) = try Self.portmapper()
    defer { pmServer.shutdown() }
    let server = ONCServer()
    server.register(EmptyProgram(program: 0x2000_0005, version: 1))
    server.register(EmptyProgram(program: 0x2000_0005, version: 2))
    try server.start()
    let registration = try server.registerWithRPCBind(Self.options(port: pmPort))
    #expect(registration.method == .portmapperV2)
    #expect(registration.bindings.count == 4)
    let port = try #require(server.tcpPort)

    for transport in [ONCTransportProtocol.tcp, .udp] {
      #expect(try RPCBindClient.lookup(host: "127.0.0.1", program: 0x2000_0005, version: 2, transport: transport, rpcbindPort: pmPort) == port)
    }
    let rpcbind = RPCBindClient(host: "127.0.0.1", port: pmPort)
    defer { rpcbind.close() }
    #expect(try rpcbind.getPort(program: 0x2000_0005, version: 1, transport: .udp) == port)
    #expect(try rpcbind.dumpMappings().filter { $0.program == 0x2000_0005 }.count == 4)
    #expect(try rpcbind.dump().filter { $0.program == 0x2000_0005 }.allSatisfy { $0.owner == "unknown" })
    server.shutdown()
    #expect(pm.table.bindings.filter { $0.program == 0x2000_0005 }.isEmpty)
    #expect(throws: RPCBindError.self) {
      try RPCBindClient.lookup(host: "127.0.0.1", program: 0x2000_0005, version: 2, transport: .tcp, rpcbindPort: pmPort)
    }
  }

  @Test func clientSpeaksEveryVersion() throws {
    let (pmServer, _, pmPort) = try Self.portmapper()
    defer { pmServer.shutdown() }
    for transport in [ONCTransportProtocol.tcp, .udp] {
      let rpcbind = RPCBindClient(host: "127.0.0.1", port: pmPort, transport: transport)
      defer { rpcbind.close() }
      try rpcbind.ping()
      try rpcbind.ping(version: 4)
      let b = RPCBinding(program: 77, version: 1, netid: transport.netid, address: "127.0.0.1.0.99")
      #expect(try rpcbind.set(b))
      #expect(try !rpcbind.set(b, rpcbindVersion: 3))
      #expect(try rpcbind.getAddress(program: 77, version: 1, netid: transport.netid) == "127.0.0.1.0.99")
      #expect(try rpcbind.getVersionAddress(program: 77, version: 2, netid: transport.netid) == nil)
      #expect(try rpcbind.getAddressList(program: 77, version: 1).map(\.address) == ["127.0.0.1.0.99"])
      #expect(try rpcbind.dump(rpcbindVersion: 3).count == 7)
      #expect(try rpcbind.getTime() > 1_700_000_000)
      #expect(try rpcbind.unset(program: 77, version: 1))
      #expect(try rpcbind.getPort(program: 77, version: 1, transport: transport) == nil)
      #expect(try rpcbind.set(PortMapping(program: 78, version: 1, transport: transport, port: 1000)))
      #expect(try rpcbind.getPort(program: 78, version: 1, transport: transport) == 1000)
      #expect(try rpcbind.unset(PortMapping(program: 78, version: 1, ipProtocol: 0, port: 0)))
      #expect(try rpcbind.dumpMappings().count == 6)
    }
  }

  @Test func registrationRefusedWhenAnotherOwnerHoldsTheVersion() throws {
    let (pmServer, pm, pmPort) = try Self.portmapper()
    defer { pmServer.shutdown() }
    pm.table.set(RPCBinding(program: 0x2000_0006, version: 1, netid: "tcp", address: "0.0.0.0.0.9", owner: "superuser"))
    let server = ONCServer()
    server.register(EmptyProgram(program: 0x2000_0006, version: 1))
    try server.start()
    defer { server.shutdown() }
    #expect { try server.registerWithRPCBind(Self.options(port: pmPort)) } throws: { ($0 as? RPCBindError)?.code == .refused }
    #expect(pm.table.bindings.filter { $0.program == 0x2000_0006 }.map(\.owner) == ["superuser"])
  }

  @Test func lookupFallsBackToPMAPv2() throws {
    // A port mapper that speaks only version 2 (as the old portmap did): GETADDR v4 gets
    // PROG_MISMATCH, GETPORT answers.
    let server = ONCServer()
    let portmapper = Portmapper()
    server.register(PortmapperV2Dispatcher(portmapper: portmapper))
    try server.start()
    defer { server.shutdown() }
    portmapper.table.set(RPCBinding(program: 0x2000_0007, version: 1, netid: "udp", address: "0.0.0.0.4.210", owner: "x"))
    #expect(try RPCBindClient.lookup(host: "127.0.0.1", program: 0x2000_0007, version: 1, transport: .udp, rpcbindPort: server.udpPort!) == 1234)
    #expect { try RPCBindClient.lookup(host: "127.0.0.1", program: 0x2000_0007, version: 1, transport: .tcp, rpcbindPort: server.tcpPort!) }
      throws: { ($0 as? RPCBindError)?.code == .notRegistered }
  }

  @Test func lookupFailsClearlyWithoutAPortMapper() throws {
    // A port nothing listens on (the port mapper's, after it stopped).
    let (pmServer, _, pmPort) = try Self.portmapper()
    pmServer.shutdown()
    var options = RPCBindClient.defaultOptions
    options.timeout = .seconds(1)
    #expect(throws: RPCError.self) {
      try RPCBindClient.lookup(host: "127.0.0.1", program: 1, version: 1, transport: .tcp, rpcbindPort: pmPort, options: options)
    }
  }
}
