import ArgumentParser
import CourierActorExamples
import CourierActors
import CourierCore
import CourierGIOP
import Distributed
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension DemoCommand {
  /// The seeds' ShapeList as Swift distributed actors: a naming service, a server process that
  /// checks a ShapeList in, and a client process that looks it up by `corbaname:` and uses the
  /// factory.
  static func distributedShapes(executable me: String, verbose: Bool) throws {
    flushedPrint("")
    flushedPrint("== distributed actors (seeds: ShapeList as Swift distributed actors): each actor a CORBA object, "
      + "checked in to the naming service, called over GIOP 1.2")
    let naming = try Child(me, ["naming", "serve", "--in-memory", "--port", "0"], label: "naming")
    defer { naming.stop(SIGTERM) }
    guard let at = naming.ready.range(of: "naming service at "),
          let url = naming.ready[at.upperBound...].split(separator: " ").first.map(String.init).map({ $0.trimmingSuffix(",") }),
          let port = url.split(separator: ":").last?.split(separator: "/").first else {
      throw ValidationError("cannot read the naming service's address from: \(naming.ready)")
    }
    let server = try Child(me, ["actor-demo-server", "--port", "0", "--naming", url] + (verbose ? ["--verbose"] : []),
                           label: "actor server")
    let client = Process()
    client.executableURL = URL(fileURLWithPath: me)
    client.arguments = ["actor-demo-client", "corbaname::127.0.0.1:\(port)#shapes"]
    try client.run()
    client.waitUntilExit()
    server.stop(SIGTERM)
    flushedPrint("[demo] actor client exited with \(client.terminationStatus), actor server with \(server.process.terminationStatus)")
    if client.terminationStatus != 0 { throw ExitCode(client.terminationStatus) }
  }
}

extension String {
  func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

/// The distributed-actor demo's server process: a ShapeList (capacity 3) on a
/// `CourierActorSystem`, checked in to the naming service as `shapes` (or its IOR printed).
struct ActorDemoServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actor-demo-server", abstract: "Serve the seeds' ShapeList as a distributed actor.",
    shouldDisplay: false)

  @Option(help: "TCP port on 127.0.0.1 (0: any free port).") var port: UInt16 = 0
  @Option(help: "The naming service (corbaloc:…/NameService) to check the ShapeList in to, as \"shapes\".") var naming: String?
  @Option(help: "Write the ShapeList's IOR to this file.") var iorFile: String?
  @Option(help: "How many shapes the list holds.") var capacity = 3
  @Flag(help: "Log every request.") var verbose = false

  func run() throws {
    Signals.block()
    var configuration = CourierActorSystem.Configuration()
    configuration.port = port
    if let naming { configuration.orb.initialReferences["NameService"] = naming }
    let system = try CourierActorSystem(configuration: configuration, logger: logger("courier.actor-demo-server", verbose: verbose))
    system.registerError(ShapeListFull.self)
    let list = ShapeList(capacity: capacity, actorSystem: system)
    if let iorFile { try writeFileAtomically(iorFile, try list.id.stringified() + "\n") }
    if naming != nil {
      try system.checkIn(list, as: "shapes")
      flushedPrint("READY ShapeList (a distributed actor, \(list.id)) checked in as \"shapes\" (pid \(getpid()))")
    } else {
      flushedPrint("READY ShapeList at \(try list.id.stringified()) (pid \(getpid()))")
    }
    _ = Signals.wait()
    flushedPrint("shut down with \(system.liveActorCount) live actor(s), \(system.exportedCount) of them referenced from outside")
    withExtendedLifetime(list) {}
    system.shutdown()
  }
}

/// The distributed-actor demo's client process.
struct ActorDemoClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actor-demo-client", abstract: "Use a ShapeList distributed actor: the factory, its shapes, a typed error.",
    shouldDisplay: false)

  @Argument(help: "The ShapeList: corbaname:…#name, corbaloc:…, IOR:…, or @FILE") var reference: String

  func run() throws {
    var text = reference
    if text.hasPrefix("@") { text = try readFile(String(text.dropFirst())) }
    let ref = text
    try waitFor {
      let system = try CourierActorSystem(logger: logger("courier.actor-demo-client", verbose: false))
      defer { system.shutdown() }
      system.registerError(ShapeListFull.self)
      let list = try await system.lookup(url: ref, as: ShapeList.self)
      flushedPrint("[actor client] lookup(url: \(ref.count > 48 ? ref.prefix(40) + "…" : ref)) -> a proxy for \(list.id)")
      var shapes: [Shape] = []
      for (i, type) in ["circle", "square", "triangle", "hexagon"].enumerated() {
        let g = GraphicalObject(type: type, enclosing: Rectangle(width: 10 * Int32(i + 1), height: 10, x: Int32(i), y: 0),
                                isFilled: i % 2 == 0)
        do {
          let shape = try await list.newShape(g)
          shapes.append(shape)
          flushedPrint("[actor client] newShape(\(type)) -> \(__isRemoteActor(shape) ? "a proxy" : "a local actor") for a Shape made "
            + "in the server process (\(shape.id)), version \(try await shape.getVersion())")
        } catch let full as ShapeListFull {
          flushedPrint("[actor client] newShape(\(type)) threw ShapeListFull(capacity: \(full.capacity)) — a Codable error, registered on both sides")
        }
      }
      let all = try await list.allShapes()
      flushedPrint("[actor client] allShapes() -> \(all.count) references (the same actors: \(all.map(\.id) == shapes.map(\.id))); "
        + "their state, each by its own remote call:")
      for shape in all {
        let state = try await shape.getAllState()
        flushedPrint("[actor client]   \(state.type) \(state.enclosing.width)x\(state.enclosing.height) at "
          + "(\(state.enclosing.x), \(state.enclosing.y)), filled: \(state.isFilled)")
      }
      flushedPrint("[actor client] getVersion() = \(try await list.getVersion())")
    }
  }
}
