import ArgumentParser
import CourierCore
import CourierGIOP
import CourierNIO
import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// `courier example orphan-server`: a servant whose `work(seconds)` runs until done or
/// cancelled as an orphan, and `stats` (the server's ``OrphanMonitor/Statistics``).
///
/// Per-connection dispatch (the default): the long call holds its connection's thread, and
/// the client's renewals and announcements come over connections of their own.
struct OrphanServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "orphan-server",
    abstract: "Serve Orphans (key Orphans): work(seconds) checks for cancellation every 5 ms; stats reports orphans.")

  @Option(help: "TCP port on 127.0.0.1 (0: any free port).") var port: UInt16 = 0
  @Flag(help: "Log debug messages to standard error.") var verbose = false

  func run() throws {
    Signals.block()
    let config = GIOPServer.Configuration()
    guard let monitor = config.orphans else { throw ValidationError("orphan handling is off") }
    let adapter = ObjectAdapter()
    adapter.activate(OrphanWorkServant(monitor), key: "Orphans")
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port), configuration: config,
                            logger: logger("courier.orphans", verbose: verbose))
    server.start()
    flushedPrint("READY orphan-server at 127.0.0.1:\(server.port) (pid \(getpid()))")
    _ = Signals.wait()
    server.shutdown(timeout: .seconds(2))
  }
}

/// The example servant (called dynamically; no IDL):
/// `boolean work(in double seconds)` (TRANSIENT when cancelled as an orphan) and
/// `Statistics stats()` (six unsigned longs, as ``OrphanMonitor/Statistics``).
final class OrphanWorkServant: Servant {
  let monitor: OrphanMonitor
  init(_ monitor: OrphanMonitor) { self.monitor = monitor }
  var repositoryIDs: [String] { ["IDL:courier/OrphanExample:1.0"] }

  func dispatch(_ request: inout ServerRequest) throws {
    switch request.operation {
    case "work":
      let seconds: Double = try request.read()
      let end = ContinuousClock.now + .milliseconds(Int64(max(0, min(seconds, 86_400)) * 1000))
      while ContinuousClock.now < end {
        try IncomingCall.checkCancelled()
        var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
        nanosleep(&pause, nil)
      }
      try request.write(true)
    case "stats":
      monitor.statistics.encode(to: &request.reply)
    default:
      throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no, "no operation \(request.operation)")
    }
  }
}

/// `courier example orphan-client`: the restart step of its mode, then one long `work` call.
struct OrphanClientCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "orphan-client",
    abstract: "Do the orphan mode's restart step, then call work(seconds) on an orphan-server.")

  @Option(help: "The orphan-server's object: corbaloc::127.0.0.1:PORT/Orphans.") var server: String
  @Option(help: "off (no orphan context), none, extermination, reincarnation, gentle or expiration.") var mode: String
  @Option(help: "The state directory (client id, epoch, servers, call log).") var state: String
  @Option(help: "How long the work call runs (0: only the restart step).") var seconds: Double = 30
  @Option(help: "Expiration's lease quantum in milliseconds.") var quantumMs: Int = 300

  func run() throws {
    let chosen: OrphanPolicy.Mode?
    switch mode {
    case "off": chosen = nil
    case "none": chosen = OrphanPolicy.Mode.none
    case "extermination": chosen = .extermination
    case "reincarnation": chosen = .reincarnation
    case "gentle", "gentle-reincarnation": chosen = .gentleReincarnation
    case "expiration": chosen = .expiration(quantum: .milliseconds(max(1, quantumMs)))
    default: throw ValidationError("--mode: off, none, extermination, reincarnation, gentle or expiration")
    }
    var config = ORB.Configuration()
    config.orphans = chosen.map { OrphanPolicy(mode: $0, stateDirectory: state) }
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let cancelled = try orb.announceRestart()
    let identity = orb.orphanIdentity.map { "client \($0.clientID) epoch \($0.epoch)" } ?? "no orphan policy"
    flushedPrint("STARTED \(identity), mode \(mode): the servers cancelled \(cancelled) orphan(s) (pid \(getpid()))")
    guard seconds > 0 else { return }
    var reply = try orb.object(server).invoke("work") { w in w.write(seconds) }
    flushedPrint("work done: \(try reply.read(Bool.self))")
  }
}
