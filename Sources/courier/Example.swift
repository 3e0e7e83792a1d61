import ArgumentParser
import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierNaming
import Foundation

/// `courier example …`: the seeds' examples as programs of their own.
struct ExampleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "example", abstract: "Run one of the seeds' examples on its own.",
    subcommands: [GreeterServer.self, GreeterClient.self, OrphanServer.self, OrphanClientCommand.self, FileReadWriteServer.self, FileReadWriteClient.self])
}

/// A Demo::Greeter server that exports itself through the binder (the seeds' dynamic binding).
struct GreeterServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "greeter-server",
    abstract: "Serve Demo::Greeter (key Greeter); with --binder, register it there and deregister on SIGTERM.")

  @Option(help: "TCP port on 127.0.0.1 (0: any free port).") var port: UInt16 = 0
  @Option(help: "The name this server gives in its greetings.") var serverName: String?
  @Option(help: "The binder to register with: corbaloc::host:port/Binder.") var binder: String?
  @Option(help: "The interface name to register.") var export = "Greeter"
  @Option(help: "The interface version to register, MAJOR.MINOR.") var version = "1.0"
  @Option(name: .customLong("allow"), help: "A credential allowed to look it up (repeat).") var allowed: [String] = []

  func run() throws {
    Signals.block()
    guard let v = CourierBinding_Version(version) else { throw ValidationError("--version: MAJOR.MINOR") }
    let name = serverName ?? "greeter-\(getpid())"
    let orb = ORB(connector: TCPConnector())
    let adapter = ObjectAdapter()
    adapter.activate(Demo_Greeter.Servant(GreeterImplementation(serverName: name)), key: "Greeter")
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port), orb: orb,
                            logger: logger("courier.greeter", verbose: false))
    server.start()
    let me = orb.object(try server.reference(key: "Greeter", typeID: Demo_Greeter.repositoryID))
    var registration: (CourierBinding_Binder.Blocking, UInt64)?
    if let binder {
      let b = CourierBinding_Binder.Blocking(try orb.object(binder))
      registration = (b, try b.register(name: export, version: v, server: me, allowed: allowed))
    }
    flushedPrint("READY \(name) at 127.0.0.1:\(server.port)" + (registration.map { " registered as \(export) \(v.description), id \($0.1)" } ?? "")
                 + " (pid \(getpid()))")
    _ = Signals.wait()
    if let (b, id) = registration { try? b.deregister(id: id) }
    server.shutdown(timeout: .seconds(5))
    orb.shutdown()
  }
}

/// A client that imports Demo::Greeter through the binder and calls it.
struct GreeterClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "greeter-client", abstract: "Look up a Greeter through the binder and call it, rebinding when its server dies.")

  @Option(help: "The binder: corbaloc::host:port/Binder.") var binder = "corbaloc::127.0.0.1:2809/Binder"
  @Option(help: "The interface name to look up.") var name = "Greeter"
  @Option(help: "Versions accepted: 1.2, 1.2+, 1.0-2.5 or *.") var versions = "1.0+"
  @Option(help: "The credential to present.") var credential: String?
  @Option(help: "How many calls.") var calls = 3

  func run() throws {
    guard let range = CourierBinding_VersionRange(versions) else { throw ValidationError("--versions: 1.2, 1.2+, 1.0-2.5 or *") }
    var config = ORB.Configuration()
    if let credential { config.defaultCallOptions.serviceContexts = [Credential.serviceContext(credential)] }
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let greeter = BoundReference(binder: CourierBinding_Binder.Blocking(try orb.object(binder)), name: name, versions: range,
                                 make: Demo_Greeter.Blocking.init)
    for i in 1...max(1, calls) {
      print(try greeter.call { try $0.greet(who: "call \(i)") })
    }
  }
}
