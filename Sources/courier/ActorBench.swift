import ArgumentParser
import CourierActorExamples
import CourierActors
import CourierCore
import CourierExamples
import CourierGIOP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The distributed-actor benchmark server: a `GreeterActor` on a `CourierActorSystem` on
/// 127.0.0.1 and, on the same GIOP server, Bench::Echo under the key `Echo` (what
/// `bench-server` serves), so that an actor call and a generated-stub call meet the same server.
struct ActorBenchServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actor-bench-server",
    abstract: "Serve a GreeterActor (distributed actor) and Bench::Echo (key \"Echo\") in one process for the peers' benchmark.")

  @Argument(help: "TCP port on 127.0.0.1")
  var port: UInt16

  @Option(help: "Write the GreeterActor's IOR to this file.")
  var iorFile: String?

  @Option(help: "Write Bench::Echo's IOR to this file.")
  var echoIorFile: String?

  func run() throws {
    Signals.block()
    var configuration = CourierActorSystem.Configuration()
    configuration.port = port
    let system = try CourierActorSystem(configuration: configuration, logger: logger("courier.actor-bench", verbose: false))
    let greeter = GreeterActor(actorSystem: system)
    system.server.adapter.activate(Bench_Echo.Servant(EchoImplementation()), key: "Echo")
    if let iorFile { try writeFileAtomically(iorFile, try greeter.id.stringified() + "\n") }
    if let echoIorFile {
      try writeFileAtomically(echoIorFile, try system.server.reference(key: "Echo", typeID: Bench_Echo.repositoryID).stringified() + "\n")
    }
    flushedPrint("READY courier-actor-bench 127.0.0.1:\(system.server.port) pid=\(getpid())")
    _ = Signals.wait()
    withExtendedLifetime(greeter) {}
    system.shutdown()
  }
}

/// The distributed-actor benchmark client: the peers' client protocol (`HOST PORT PAYLOAD MODE
/// CONC CALLS SECONDS`, one JSON line), calling `GreeterActor.add(_:_:)` or `echo(_:)` through a
/// proxy. The actor's IOR comes from the file named by COURIER_ACTOR_IOR_FILE (actor keys are
/// random per process, so there is no corbaloc for it).
struct ActorBenchClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actor-bench-client",
    abstract: "Measure distributed actor calls on a GreeterActor (the peers' client protocol; prints one JSON line).")

  @Argument var host: String
  @Argument var port: UInt16
  @Argument(help: "add, or a byte count for echo(_:)") var payload: String
  @Argument(help: "lat or tput") var mode: String
  @Argument var conc: Int = 1
  @Argument var calls: Int = 20000
  @Argument var seconds: Double = 5

  func run() throws {
    let isAdd = payload == "add"
    guard isAdd || Int(payload) != nil, mode == "lat" || mode == "tput", (1...256).contains(conc),
          calls >= 1, seconds > 0, (Int(payload) ?? 0) >= 0 else {
      throw ValidationError("usage: actor-bench-client HOST PORT (add|BYTES) (lat|tput) CONC CALLS SECONDS")
    }
    guard let iorFile = getenv("COURIER_ACTOR_IOR_FILE").map({ String(cString: $0) }), !iorFile.isEmpty else {
      throw ValidationError("COURIER_ACTOR_IOR_FILE must name the file actor-bench-server --ior-file wrote")
    }
    let id = try CourierActorID(ior: IOR(stringified: readFile(iorFile)))
    guard let at = id.ior.iiopProfiles.first, at.host == host, at.port == port else {
      throw ValidationError("the actor in \(iorFile) (\(id)) is not at \(host):\(port)")
    }
    let size = Int(payload) ?? 0
    let callers = mode == "lat" ? 1 : conc
    let measure = BenchMeasure(system: "courier-actor", payload: payload, mode: mode, calls: calls, seconds: seconds)
    let note = "Courier distributed actors: GreeterActor proxy, async calls, GIOP 1.2 over TCP, "
      + "one CourierActorSystem (one connection) per caller, IOR from file"
    try waitFor {
      // One actor system per caller: each has its own ORB, so each caller its own connection.
      var systems: [CourierActorSystem] = []
      defer { for s in systems { s.shutdown() } }
      var calls: [@Sendable () async -> Bool] = []
      for i in 0..<callers {
        var configuration = CourierActorSystem.Configuration()
        configuration.orb.defaultCallOptions.timeout = .seconds(10)
        let system = try CourierActorSystem(configuration: configuration, logger: logger("courier.actor-bench", verbose: false))
        systems.append(system)
        let greeter = try GreeterActor.resolve(id: id, using: system)
        let data = BenchClient.fill(size, seed: i)
        let a = Int64(1_000_003 * i)
        // One fully checked call (also opens the connection and registers the lease).
        if isAdd {
          guard try await greeter.add(a, 42) == a + 42 else { throw ValidationError("wrong sum") }
        } else {
          guard try await greeter.echo(data) == data else { throw ValidationError("echo mismatch") }
        }
        calls.append { await Self.call(greeter, isAdd: isAdd, data: data, a: a) }
      }
      if mode == "lat" {
        await measure.latency(note: note, calls[0])
      } else {
        await measure.throughput(note: note, callers: calls)
      }
    }
  }

  /// One call; true when the answer is right.
  static func call(_ greeter: GreeterActor, isAdd: Bool, data: [UInt8], a: Int64) async -> Bool {
    do {
      if isAdd { return try await greeter.add(a, 42) == a + 42 }
      let r = try await greeter.echo(data)
      return r.count == data.count && (data.isEmpty || (r[0] == data[0] && r[r.count - 1] == data[data.count - 1]))
    } catch {
      return false
    }
  }
}
