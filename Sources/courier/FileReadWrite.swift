import ArgumentParser
import CourierCore
import CourierExamples
import CourierNIO
import CourierONC
import CourierWire
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `courier example frw-server`: the seeds' FILEREADWRITE program (ONC RPC) on TCP and UDP.
struct FileReadWriteServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "frw-server",
    abstract: "Serve the seeds' FILEREADWRITE program (9999 v2, ONC RPC) on TCP and UDP, registered with rpcbind when one runs.")

  @Option(help: "The address to listen on.") var host = "127.0.0.1"
  @Option(help: "TCP and UDP port (0: any free port, the same for both).") var port: UInt16 = 0
  @Option(help: "The port mapper's port (111; another for a `courier rpcbind --port N`).") var rpcbindPort: UInt16 = 111
  @Flag(help: "Do not register with rpcbind.") var noRPCBind = false

  func run() throws {
    Signals.block()
    var configuration = ONCServerConfiguration()
    configuration.host = host
    configuration.port = port
    let server = ONCServer(configuration: configuration)
    server.register(FILEREADWRITE.VERSION.Dispatcher(FileReadWriteService()))
    try server.start()
    var registration = "not registered with rpcbind (--no-rpcbind)"
    if !noRPCBind {
      var options = RPCBindRegistrationOptions()
      options.port = rpcbindPort
      options.timeout = .seconds(2)
      if rpcbindPort != 111 { options.localSocketPath = nil }  // the system rpcbind's socket is for port 111
      do {
        registration = try server.registerWithRPCBind(options).description
      } catch {
        registration = "not registered: no rpcbind answered on 127.0.0.1:\(rpcbindPort) (\(error))"
      }
    }
    flushedPrint("READY courier frw-server tcp=\(server.tcpPort ?? 0) udp=\(server.udpPort ?? 0) pid=\(getpid()); \(registration)")
    _ = Signals.wait()
    server.shutdown()
    flushedPrint("courier frw-server: stopped (registrations removed)")
  }
}

/// `courier example frw-client`: scripted FILEREADWRITE calls (the script language of
/// `Interop/oncrpc/frw_client`, see ``FileReadWriteScript``).
struct FileReadWriteClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "frw-client",
    abstract: "Call the seeds' FILEREADWRITE program (9999 v2); the port from rpcbind unless --port is given.",
    discussion: """
      SCRIPT words: null | write:F:POS:TEXT | writelen:F:POS:LEN | read:F:POS:LEN[=TEXT], each optionally ending in
      !STATUS (a libtirpc clnt_stat name such as RPC_SYSTEMERROR: the step must fail so). Without words, a short demo.
      """)

  @Option(help: "The server's host.") var host = "127.0.0.1"
  @Option(help: "tcp or udp.") var transport = "tcp"
  @Option(help: "The server's port (default: ask rpcbind).") var port: UInt16?
  @Option(help: "The port mapper's port.") var rpcbindPort: UInt16 = 111
  @Flag(help: "Send AUTH_SYS credentials (this process's uid, gid and groups).") var authSys = false
  @Option(help: "Total seconds per call.") var timeout: Double = 25
  @Argument(help: "The steps.") var script: [String] = []

  func run() throws {
    guard let transport = ONCTransportProtocol(rawValue: transport) else { throw ValidationError("--transport: tcp or udp") }
    var options = authSys ? ONCClientOptions.authSysDefault() : ONCClientOptions()
    options.timeout = .milliseconds(Int64(timeout * 1000))
    let serverPort: UInt16
    if let port {
      serverPort = port
    } else {
      do {
        serverPort = try RPCBindClient.lookup(host: host, program: FILEREADWRITE.program, version: FILEREADWRITE.VERSION.version,
                                              transport: transport, rpcbindPort: rpcbindPort)
      } catch {
        flushedPrint("create -> error RPC_PROGNOTREGISTERED")
        flushedPrint("FAIL create")
        throw ExitCode(2)
      }
      flushedPrint("rpcbind at \(host):\(rpcbindPort): FILEREADWRITE v2 over \(transport) is at port \(serverPort)")
    }
    let caller = ONCClient(host: host, port: serverPort, transport: transport, options: options)
    defer { caller.close() }
    let client = FILEREADWRITE.VERSION.Client(caller)
    let steps = script.isEmpty
      ? ["null", "write:1:0:hello, ", "write:1:9:world", "read:1:0:14=hello, \\0\\0world", "read:1:100:10=",
         "read:2:0:10=", "read:1:-1:10!RPC_SYSTEMERROR", "writelen:1:0:1001!RPC_SYSTEMERROR"]
      : script
    let ok: Bool
    do {
      ok = try FileReadWriteScript.run(steps, client: client, null: {
        _ = try caller.call(program: FILEREADWRITE.program, version: FILEREADWRITE.VERSION.version, procedure: 0,
                            arguments: XDRVoid(), returning: XDRVoid.self)
      }, output: { flushedPrint($0) })
    } catch let error as FileReadWriteScript.UsageError {
      throw ValidationError(error.description)
    }
    if !ok { throw ExitCode(1) }
  }
}

extension DemoCommand {
  /// The seeds' ONC RPC example: the FILEREADWRITE program registered with a port mapper, and
  /// clients that find it there, over TCP and UDP — all on the embedded defaults (Courier's own
  /// port mapper on a free port, so nothing needs the system's rpcbind or port 111).
  static func fileReadWrite(executable me: String) throws {
    flushedPrint("")
    flushedPrint("== ONC RPC (seeds: the RPC example, FILEREADWRITE from an .x file; the portmapper): XDR over TCP and UDP")
    let portmapper = try Child(me, ["rpcbind", "--port", "0"], label: "rpcbind")
    defer { portmapper.stop(SIGTERM) }
    guard let field = portmapper.ready.split(separator: " ").first(where: { $0.hasPrefix("tcp=") }),
          let rpcbindPort = UInt16(field.dropFirst(4)) else {
      throw ValidationError("cannot read the port mapper's port from: \(portmapper.ready)")
    }
    let server = try Child(me, ["example", "frw-server", "--port", "0", "--rpcbind-port", String(rpcbindPort)], label: "frw-server")
    var serverRunning = true
    defer { if serverRunning { server.stop(SIGTERM) } }
    func run(_ label: String, _ arguments: [String]) throws {
      flushedPrint("[demo] \(label): courier \(arguments.joined(separator: " "))")
      let p = Process()
      p.executableURL = URL(fileURLWithPath: me)
      p.arguments = arguments
      try p.run()
      p.waitUntilExit()
      if p.terminationStatus != 0 { throw ExitCode(p.terminationStatus) }
    }
    try run("the port mapper's table", ["rpcinfo", "-p", "127.0.0.1", "--port", String(rpcbindPort)])
    try run("client over TCP", ["example", "frw-client", "--transport", "tcp", "--rpcbind-port", String(rpcbindPort)])
    try run("client over UDP, AUTH_SYS", ["example", "frw-client", "--transport", "udp", "--auth-sys", "--rpcbind-port", String(rpcbindPort),
                                          "read:1:0:14=hello, \\0\\0world", "read:1:-5:1!RPC_SYSTEMERROR"])
    server.stop(SIGTERM)
    serverRunning = false
    try run("after the server's SIGTERM", ["rpcinfo", "-p", "127.0.0.1", "--port", String(rpcbindPort)])
  }
}
