import ArgumentParser
import CourierCore
import CourierNIO
import CourierONC
import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// `courier rpcbind`: the embedded port mapper (program 100000 versions 2, 3, 4) on TCP and UDP.
struct RPCBindCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rpcbind", abstract: "Run a port mapper / rpcbind (ONC RPC program 100000 v2, v3, v4) on TCP and UDP.",
    discussion: """
      Registrations are kept in memory. SET and UNSET are accepted from loopback callers only \
      (unless --allow-remote-registration), which are recorded with owner "unknown", as rpcbind \
      does for TCP and UDP callers. There is no local socket: servers register over TCP \
      (PMAP v2 or RPCBIND v3/v4).
      """)

  @Option(help: "Address to listen on.") var host = "127.0.0.1"
  @Option(help: "Port for TCP and UDP (0: any free port).") var port: UInt16 = RPCBind.port
  @Flag(help: "Accept SET and UNSET from any address.") var allowRemoteRegistration = false

  func run() throws {
    Signals.block()
    var configuration = ONCServerConfiguration()
    configuration.host = host
    configuration.port = port
    let server = ONCServer(configuration: configuration)
    let portmapper = Portmapper(serverHost: host, allowRemoteRegistration: allowRemoteRegistration)
    for d in portmapper.dispatchers { server.register(d) }
    try server.start()
    try portmapper.table.registerSelf(host: host, tcpPort: server.tcpPort, udpPort: server.udpPort)
    flushedPrint("READY courier rpcbind tcp=\(server.tcpPort.map(String.init) ?? "-") udp=\(server.udpPort.map(String.init) ?? "-") pid=\(getpid())")
    _ = Signals.wait()
    server.shutdown()
  }
}

/// `courier rpcinfo`: rpcbind's tables, like the system's rpcinfo.
struct RPCInfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rpcinfo", abstract: "Report RPC information (like rpcinfo): -p for the port mapper's table, else RPCBIND's.",
    discussion: "Service names come from /etc/rpc.")

  @Flag(name: .customShort("p"), help: "List the port mapper's table (PMAP v2 DUMP over TCP).") var portmapper = false
  @Flag(name: .customShort("t"), help: "Call procedure 0 of PROG (version VERS, or each registered one) over TCP.") var pingTCP = false
  @Flag(name: .customShort("u"), help: "Call procedure 0 of PROG over UDP.") var pingUDP = false
  @Option(help: "rpcbind's port.") var port: UInt16 = RPCBind.port
  @Argument(help: "The host (127.0.0.1 by default).") var host: String = "127.0.0.1"
  @Argument(help: "With -t or -u: the program number.") var program: UInt32?
  @Argument(help: "With -t or -u: the version number.") var version: UInt32?

  func validate() throws {
    guard [portmapper, pingTCP, pingUDP].filter({ $0 }).count <= 1 else { throw ValidationError("use one of -p, -t, -u") }
    if pingTCP || pingUDP { guard program != nil else { throw ValidationError("-t and -u need a program number") } }
  }

  func run() throws {
    let names = RPCServiceNames.load()
    if pingTCP || pingUDP {
      try ping(program: program!, transport: pingTCP ? .tcp : .udp)
      return
    }
    let rpcbind = RPCBindClient(host: host, port: port, transport: .tcp)
    defer { rpcbind.close() }
    if portmapper {
      print(RPCInfoFormat.portmapperTable(try rpcbind.dumpMappings(), names: names), terminator: "")
    } else {
      let bindings: [RPCBinding]
      do {
        bindings = try rpcbind.dump(rpcbindVersion: RPCBind.version4)
      } catch let error as RPCError where error.oncReplyError != nil {
        bindings = try rpcbind.dump(rpcbindVersion: RPCBind.version3)
      }
      print(RPCInfoFormat.rpcbindTable(bindings, names: names), terminator: "")
    }
  }

  /// rpcinfo -t/-u: the NULL procedure of each version asked for.
  func ping(program: UInt32, transport: ONCTransportProtocol) throws {
    let port = try RPCBindClient.lookup(host: host, program: program, version: version ?? 1, transport: transport, rpcbindPort: self.port)
    let client = ONCClient(host: host, port: port, transport: transport, options: RPCBindClient.defaultOptions)
    defer { client.close() }
    var versions: [UInt32] = version.map { [$0] } ?? []
    if versions.isEmpty {
      // Like rpcinfo: ask for version 0 to learn the range from PROG_MISMATCH.
      do {
        _ = try client.call(program: program, version: 0, procedure: 0, arguments: XDRVoid(), returning: XDRVoid.self)
        versions = [0]
      } catch let error as RPCError {
        guard case .programMismatch(let low, let high) = error.oncReplyError else { throw error }
        versions = Array(low...high)
      }
    }
    var failed = false
    for v in versions {
      do {
        _ = try client.call(program: program, version: v, procedure: 0, arguments: XDRVoid(), returning: XDRVoid.self)
        print("program \(program) version \(v) ready and waiting")
      } catch {
        print("program \(program) version \(v) is not available")
        failed = true
      }
    }
    if failed { throw ExitCode(1) }
  }
}

/// The tables as the system's rpcinfo prints them (rpcinfo.c, column for column).
enum RPCInfoFormat {
  static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? s + fill : fill + s
  }

  /// `rpcinfo -p`: `%10ld%5ld%6s%7ld  name`.
  static func portmapperTable(_ mappings: [PortMapping], names: [UInt32: String]) -> String {
    guard !mappings.isEmpty else { return "No remote programs registered.\n" }
    var out = "   program vers proto   port  service\n"
    for m in mappings {
      let proto = m.ipProtocol == PortMapping.udp ? "udp" : m.ipProtocol == PortMapping.tcp ? "tcp" : String(m.ipProtocol)
      out += pad(String(m.program), 10) + pad(String(m.version), 5) + pad(proto, 6) + pad(String(m.port), 7)
      out += names[m.program].map { "  \($0)" } ?? ""
      out += "\n"
    }
    return out
  }

  /// `rpcinfo HOST`: `%10u%5u    %-9s %-22s %-10s %s`.
  static func rpcbindTable(_ bindings: [RPCBinding], names: [UInt32: String]) -> String {
    guard !bindings.isEmpty else { return "No remote programs registered.\n" }
    var out = "   program version netid     address                service    owner\n"
    for b in bindings {
      out += pad(String(b.program), 10) + pad(String(b.version), 5) + "    " + pad(b.netid, 9, left: true) + " " + pad(b.address, 22, left: true)
      out += " " + pad(names[b.program] ?? "-", 10, left: true) + " " + b.owner + "\n"
    }
    return out
  }
}

/// Program names from /etc/rpc (`name number aliases…`), as getrpcbynumber finds them.
enum RPCServiceNames {
  static func load(path: String = "/etc/rpc") -> [UInt32: String] {
    guard let text = try? readFile(path) else { return [:] }
    var names: [UInt32: String] = [:]
    for line in text.split(separator: "\n") {
      let fields = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard fields.count >= 2, let number = UInt32(fields[1]), names[number] == nil else { continue }
      names[number] = String(fields[0])
    }
    return names
  }
}

// MARK: - hidden helpers for the system tests

/// Serves an empty program (procedure 0 only) in the given versions, optionally registered
/// with rpcbind; READY line, then SIGTERM/SIGINT ends it (unregistering).
struct ONCTestServerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "onc-test-server", abstract: "Serve a test ONC RPC program.",
                                                  shouldDisplay: false)
  @Option var program: UInt32 = 0x2000_0001
  @Option(help: "Comma-separated versions.") var versions = "1"
  @Option var host = "127.0.0.1"
  @Flag(help: "Register with rpcbind (unregister on exit).") var rpcbind = false

  struct Program: ONCProgramDispatcher {
    let program: UInt32
    let version: UInt32
    var procedures: [UInt32] { [] }
    func dispatch(arguments: inout XDRReader, results: inout XDRWriter, context: ONCCallContext) throws {
      throw ONCReplyError.procedureUnavailable
    }
  }

  func run() throws {
    Signals.block()
    var configuration = ONCServerConfiguration()
    configuration.host = host
    let server = ONCServer(configuration: configuration)
    for v in versions.split(separator: ",") {
      guard let version = UInt32(v) else { throw ValidationError("--versions: numbers, comma-separated") }
      server.register(Program(program: program, version: version))
    }
    try server.start()
    var how = "not registered"
    if rpcbind { how = try server.registerWithRPCBind().description }
    flushedPrint("READY courier onc-test-server program=\(program) tcp=\(server.tcpPort ?? 0) udp=\(server.udpPort ?? 0) pid=\(getpid()) \(how)")
    _ = Signals.wait()
    server.shutdown()
    flushedPrint("STOPPED")
  }
}

/// Prints the port RPCBindClient.lookup finds.
struct RPCBindLookupCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "rpcbind-lookup", abstract: "Look a program up with rpcbind.",
                                                  shouldDisplay: false)
  @Argument var host: String
  @Argument var program: UInt32
  @Argument var version: UInt32
  @Option var transport = "tcp"
  @Option var port: UInt16 = RPCBind.port

  func run() throws {
    guard let t = ONCTransportProtocol(rawValue: transport) else { throw ValidationError("--transport: tcp or udp") }
    print("port \(try RPCBindClient.lookup(host: host, program: program, version: version, transport: t, rpcbindPort: port))")
  }
}

/// Runs the same SET/UNSET/GETPORT/GETADDR sequence against the rpcbind at HOST over TCP and
/// prints each answer: the system tests compare the system rpcbind's answers with the embedded
/// port mapper's.
struct RPCBindConformanceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "rpcbind-conformance", abstract: "Probe an rpcbind's rules.",
                                                  shouldDisplay: false)
  @Argument var host = "127.0.0.1"
  @Option var port: UInt16 = RPCBind.port
  @Flag(help: "HOST is not a loopback address: only registrations (which must be refused) and a lookup.") var remote = false

  func run() throws {
    let p: UInt32 = 0x2000_0077
    let rpcbind = RPCBindClient(host: host, port: port, transport: .tcp)
    defer { rpcbind.close() }
    func show(_ what: String, _ body: () throws -> String) {
      let answer: String
      do {
        answer = try body()
      } catch let error as RPCError {
        answer = error.oncReplyError.map { "\($0)" } ?? "error \(error)"
      } catch {
        answer = "error \(error)"
      }
      print("\(what) -> \(answer)")
    }
    if remote {
      show("v4 SET") { "\(try rpcbind.set(RPCBinding(program: p, version: 1, netid: "tcp", address: "0.0.0.0.39.16")))" }
      show("v3 UNSET") { "\(try rpcbind.unset(program: 100000, version: 3, rpcbindVersion: 3))" }
      show("v2 SET") { "\(try rpcbind.set(PortMapping(program: p, version: 2, transport: .udp, port: 10001)))" }
      show("v2 UNSET") { "\(try rpcbind.unset(PortMapping(program: 100000, version: 2, ipProtocol: 0, port: 0)))" }
      show("v2 GETPORT 100000 2 tcp") { "\(try rpcbind.getPort(program: 100000, version: 2, transport: .tcp) ?? 0)" }
      show("dump") { "\(try rpcbind.dump().filter { $0.program == p }.count) registrations of p" }
      return
    }
    func ours() throws -> String {
      try rpcbind.dump().filter { $0.program == p }.map { "\($0.version)/\($0.netid)/\($0.address)/\($0.owner)" }.joined(separator: " ")
    }
    show("v4 SET p 1 tcp 0.0.0.0.39.16") { "\(try rpcbind.set(RPCBinding(program: p, version: 1, netid: "tcp", address: "0.0.0.0.39.16", owner: "me")))" }
    show("v4 SET p 1 tcp again, another address") { "\(try rpcbind.set(RPCBinding(program: p, version: 1, netid: "tcp", address: "0.0.0.0.39.17")))" }
    show("v3 SET p 1 udp 127.0.0.1.39.18") { "\(try rpcbind.set(RPCBinding(program: p, version: 1, netid: "udp", address: "127.0.0.1.39.18"), rpcbindVersion: 3))" }
    show("v2 SET p 2 udp 10001") { "\(try rpcbind.set(PortMapping(program: p, version: 2, transport: .udp, port: 10001)))" }
    show("v2 SET p 2 udp 10002 again") { "\(try rpcbind.set(PortMapping(program: p, version: 2, transport: .udp, port: 10002)))" }
    show("v2 SET p 3 prot 1") { "\(try rpcbind.set(PortMapping(program: p, version: 3, ipProtocol: 1, port: 10002)))" }
    show("dump") { try ours() }
    show("v2 GETPORT p 2 udp") { "\(try rpcbind.getPort(program: p, version: 2, transport: .udp) ?? 0)" }
    show("v2 GETPORT p 9 udp") { "\(try rpcbind.getPort(program: p, version: 9, transport: .udp) ?? 0)" }
    show("v2 GETPORT p 9 tcp") { "\(try rpcbind.getPort(program: p, version: 9, transport: .tcp) ?? 0)" }
    show("v2 GETPORT p+1 1 tcp") { "\(try rpcbind.getPort(program: p + 1, version: 1, transport: .tcp) ?? 0)" }
    show("v4 GETADDR p 1 tcp") { try rpcbind.getAddress(program: p, version: 1, netid: "tcp") ?? "none" }
    show("v4 GETADDR p 1 udp") { try rpcbind.getAddress(program: p, version: 1, netid: "udp") ?? "none" }
    show("v3 GETADDR p 7 tcp") { try rpcbind.getAddress(program: p, version: 7, netid: "tcp", rpcbindVersion: 3) ?? "none" }
    show("v4 GETVERSADDR p 7 tcp") { try rpcbind.getVersionAddress(program: p, version: 7, netid: "tcp") ?? "none" }
    show("v4 GETVERSADDR p 2 udp") { try rpcbind.getVersionAddress(program: p, version: 2, netid: "udp") ?? "none" }
    show("v4 GETADDRLIST p 1") { try rpcbind.getAddressList(program: p, version: 1).map { "\($0.netid)/\($0.address)/\($0.semantics)/\($0.protocolFamily)/\($0.protocolName)" }.joined(separator: " ") }
    show("v4 UNSET p 1 udp") { "\(try rpcbind.unset(program: p, version: 1, netid: "udp"))" }
    show("dump") { try ours() }
    show("v4 UNSET p 5 (nothing there)") { "\(try rpcbind.unset(program: p, version: 5))" }
    show("v2 UNSET 100000 2 (superuser's)") { "\(try rpcbind.unset(PortMapping(program: 100000, version: 2, ipProtocol: 0, port: 0)))" }
    show("v4 UNSET 100000 4 tcp (superuser's)") { "\(try rpcbind.unset(program: 100000, version: 4, netid: "tcp"))" }
    show("v4 SET p 1 udp, then v2 UNSET p 1") {
      "\(try rpcbind.set(RPCBinding(program: p, version: 1, netid: "udp", address: "0.0.0.0.0.9"))) \(try rpcbind.unset(PortMapping(program: p, version: 1, ipProtocol: 0, port: 0)))"
    }
    show("v4 UNSET p 2 all netids") { "\(try rpcbind.unset(program: p, version: 2))" }
    show("dump") { try ours() }
    show("v4 GETTIME is recent") { "\(abs(Int64(try rpcbind.getTime()) - Int64(time(nil))) < 60)" }
    show("v2 NULL") { try rpcbind.ping(); return "ok" }
    show("v4 NULL") { try rpcbind.ping(version: 4); return "ok" }
    show("version 5") {
      do { try rpcbind.ping(version: 5); return "ok" } catch let e as RPCError { return "\(e.oncReplyError.map(String.init(describing:)) ?? "\(e)")" }
    }
  }
}
