import ArgumentParser
import CourierCore
import CourierExamples
import CourierNIO
import CourierONC
import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// The peers' ONC RPC echo program, generated from `Sources/CourierExamples/BenchEcho.x` (the
/// same program as `shared/peers/oncrpc-echo/echo.x`): BENCH_ECHO_PROG 0x20049e11 version 1.
typealias BenchEcho = BENCH_ECHO_PROG.BENCH_ECHO_VERS

/// `courier onc-bench-server PORT`: the echo program on TCP and UDP, 127.0.0.1:PORT.
struct ONCBenchServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "onc-bench-server", abstract: "Serve the peers' ONC RPC echo program (echo.x) on TCP and UDP.")

  @Argument(help: "TCP and UDP port on 127.0.0.1")
  var port: UInt16

  @Option(help: "Threads receiving on the UDP socket.") var udpThreads = ONCServerConfiguration().udpThreads
  @Flag(help: "No duplicate request cache for UDP calls.") var noCache = false

  func run() throws {
    Signals.block()
    var configuration = ONCServerConfiguration()
    configuration.port = port
    configuration.udpThreads = udpThreads
    if noCache { configuration.duplicateRequestCache = nil }
    let server = ONCServer(configuration: configuration)
    server.register(BenchEcho.Dispatcher(BenchEchoService()))
    try server.start()
    // In the peers' netns-rpcbind rows (ONCRPC_RPCBIND=1), register as the libtirpc server does —
    // unless another server (the oncrpc-tcp row's, in the same namespace) has the program: the
    // driver runs every server at once, and taking its registration would break its row.
    var registration = "not registered with rpcbind"
    if getenv("ONCRPC_RPCBIND").map({ String(cString: $0) }) == "1" {
      var options = RPCBindRegistrationOptions()
      options.replaceExisting = false
      do {
        registration = try server.registerWithRPCBind(options).description
      } catch {
        registration = "not registered with rpcbind (\(error))"
      }
    }
    flushedPrint("READY courier-onc-bench 127.0.0.1 tcp=\(server.tcpPort ?? 0) udp=\(server.udpPort ?? 0) pid=\(getpid()); \(registration)")
    _ = Signals.wait()
    server.shutdown()
  }
}

/// `courier onc-bench-client HOST PORT PAYLOAD MODE CONC CALLS SECONDS` (the peers' client
/// protocol); ONCRPC_TRANSPORT=tcp (default) or udp.
struct ONCBenchClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "onc-bench-client", abstract: "Measure ONC RPC echo calls (the peers' client protocol; prints one JSON line).")

  @Argument var host: String
  @Argument var port: UInt16
  @Argument(help: "add, or a byte count for ECHO") var payload: String
  @Argument(help: "lat or tput") var mode: String
  @Argument var conc: Int = 1
  @Argument var calls: Int = 20000
  @Argument var seconds: Double = 5

  func run() throws {
    let isAdd = payload == "add"
    guard isAdd || Int(payload) != nil, mode == "lat" || mode == "tput", (1...256).contains(conc),
          calls >= 1, seconds > 0, (Int(payload) ?? 0) >= 0 else {
      throw ValidationError("usage: onc-bench-client HOST PORT (add|BYTES) (lat|tput) CONC CALLS SECONDS")
    }
    let transportName = getenv("ONCRPC_TRANSPORT").map { String(cString: $0) } ?? "tcp"
    guard let transport = ONCTransportProtocol(rawValue: transportName) else { throw ValidationError("ONCRPC_TRANSPORT=\(transportName): tcp or udp") }
    let size = Int(payload) ?? 0
    let callers = mode == "lat" ? 1 : conc
    var options = ONCClientOptions()
    options.timeout = .seconds(10)
    // ONCRPC_RPCBIND=1 (the peers' netns-rpcbind rows): ask rpcbind for the port, as the
    // libtirpc client does, and check it is PORT.
    // When rpcbind maps the program to another server (the oncrpc row's, which registered
    // first in the shared namespace), the driver's port is used, and the note says so.
    var how = "direct port"
    if getenv("ONCRPC_RPCBIND").map({ String(cString: $0) }) == "1" {
      let mapped = try RPCBindClient.lookup(host: host, program: BENCH_ECHO_PROG.program, version: BenchEcho.version, transport: transport)
      how = mapped == port ? "port from rpcbind" : "direct port (rpcbind maps the program to another server, port \(mapped))"
    }
    let serverPort = port
    var calls: [@Sendable () -> Bool] = []
    for i in 0..<callers {
      let client = BenchEcho.Client(ONCClient(host: host, port: serverPort, transport: transport, options: options))
      let data = BenchClient.fill(size, seed: i)
      let a = Int64(1_000_003 * i)
      // One fully checked call (also opens the connection).
      if isAdd {
        guard try client.ADD(add_args(a: a, b: 42)) == a + 42 else { throw ValidationError("wrong sum") }
      } else {
        guard try client.ECHO(data) == data else { throw ValidationError("echo mismatch") }
      }
      calls.append {
        do {
          if isAdd { return try client.ADD(add_args(a: a, b: 42)) == a + 42 }
          let r = try client.ECHO(data)
          return r.count == data.count && (data.isEmpty || (r[0] == data[0] && r[r.count - 1] == data[data.count - 1]))
        } catch {
          return false
        }
      }
    }
    let note = "Courier ONC RPC over \(transport) (blocking POSIX sockets), " + how
    let measure = BenchMeasure(system: "courier-onc-\(transport)", payload: payload, mode: mode, calls: self.calls, seconds: seconds)
    if mode == "lat" {
      measure.latency(note: note, calls[0])
    } else {
      measure.throughput(note: note, callers: calls)
    }
  }
}
