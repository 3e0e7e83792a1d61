import ArgumentParser
import CourierActorExamples
import CourierActors
import CourierGIOP
import CourierNIO
import Foundation

/// One process of the distributed GC demonstrations and tests: a `CourierActorSystem` hosting a
/// `ShapeHolder` (driven remotely: obtain a shape, pass it on, call it, drop it) and, with
/// `--factory`, a `ShapeList` whose unkept shapes live only while some process references them.
///
/// Prints `READY holder=IOR [list=IOR]`, then `UNREFERENCED <object number>` each time a shape of
/// its list runs its `unreferenced()` hook. Ends on SIGTERM or SIGINT.
struct ActorNodeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "actor-node",
    abstract: "Host a ShapeHolder (and with --factory a ShapeList) for the distributed GC demonstrations.")

  @Flag(help: "Also host a ShapeList (the factory of shapes).")
  var factory = false

  @Option(help: "The lease period in milliseconds.")
  var leaseMs: Int = 60_000

  @Flag(help: "Do not hold references written into messages until the receiver registered (brings back the seeds' race).")
  var noTransitHolds = false

  @Option(help: "Delay this process's first outgoing GIOP request by this many milliseconds (fault injection).")
  var delayFirstRequestMs: Int = 0

  @Option(help: "TCP port to listen on (0: any).")
  var port: UInt16 = 0

  @Flag(help: "Log distributed GC traffic.")
  var verbose = false

  func run() throws {
    Signals.block()
    var configuration = CourierActorSystem.Configuration()
    configuration.port = port
    configuration.leasePeriod = .milliseconds(leaseMs)
    configuration.transitHolds = !noTransitHolds
    if delayFirstRequestMs > 0 {
      let plan = FaultPlan(rules: [.init(.delay(.milliseconds(delayFirstRequestMs)), on: .outgoing, types: [.request], nth: 1)])
      configuration.connector = FaultInjectingConnector(TCPConnector(), injector: FaultInjector(plan))
    }
    let system = try CourierActorSystem(configuration: configuration, logger: logger("courier.actors", verbose: verbose))
    let holder = ShapeHolder(actorSystem: system)
    var line = "READY holder=\(try holder.id.stringified())"
    var list: ShapeList?
    if factory {
      let made = ShapeList(actorSystem: system) { id in
        flushedPrint("UNREFERENCED \(id.courierParts?.number ?? 0)")
      }
      list = made
      line += " list=\(try made.id.stringified())"
    }
    flushedPrint(line)
    _ = Signals.wait()
    withExtendedLifetime((holder, list)) {}
    system.shutdown()
  }
}
