import ArgumentParser
import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierNaming
import CourierWire
import Foundation
import Synchronization

/// `courier demo`: the seeds' example across two real processes.
struct DemoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Start a server process and a client process on 127.0.0.1 and show remote invocations end to end.")

  @Flag(help: "Log every request on the server.") var verbose = false

  func run() throws {
    let me = "/proc/self/exe"
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("courier-demo-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let iorFile = dir.appendingPathComponent("server.ior").path

    flushedPrint("== courier demo: the seeds' PersonList and ShapeList and the benchmark's Echo, stubs generated from IDL, over CORBA GIOP 1.2 on TCP")
    let server = try Child(me, ["demo-server", "--port", "0", "--ior-file", iorFile] + (verbose ? ["--verbose"] : []), label: "server")
    flushedPrint("[demo] server process started (pid \(server.process.processIdentifier))")

    let client = Process()
    client.executableURL = URL(fileURLWithPath: me)
    client.arguments = ["demo-client", "@" + iorFile]
    try client.run()
    flushedPrint("[demo] client process started (pid \(client.processIdentifier))")
    client.waitUntilExit()

    server.stop(SIGTERM)  // graceful shutdown
    flushedPrint("[demo] client exited with \(client.terminationStatus), server with \(server.process.terminationStatus)")
    if client.terminationStatus != 0 { throw ExitCode(client.terminationStatus) }
    try Self.dynamicBinding(executable: me)
    try Self.distributedShapes(executable: me, verbose: verbose)
    try Self.moneyTransfer(executable: me, dir: dir)
    try Self.fileReadWrite(executable: me)
  }

  /// A `courier` child process, started and waited for until its READY line.
  final class Child {
    let process = Process()
    let output = Pipe()
    let label: String
    let ready: String
    init(_ executable: String, _ arguments: [String], label: String, quiet: Bool = false) throws {
      self.label = label
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
      process.standardOutput = output
      try process.run()
      var seen = Data()
      while !String(decoding: seen, as: UTF8.self).contains("\n") {
        let chunk = output.fileHandleForReading.availableData
        if chunk.isEmpty { throw ValidationError("\(label) exited before it was ready") }
        seen.append(chunk)
      }
      ready = String(decoding: seen, as: UTF8.self).trimmingCharacters()
      if !quiet { flushedPrint("[\(label)] \(ready)") }
    }
    /// Sends `signal`, waits for the exit, and prints what the process printed meanwhile.
    func stop(_ signal: Int32, quiet: Bool = false) {
      kill(process.processIdentifier, signal)
      process.waitUntilExit()
      let rest = output.fileHandleForReading.readDataToEndOfFile()
      if quiet { return }
      for line in String(decoding: rest, as: UTF8.self).split(separator: "\n") { flushedPrint("[\(label)] \(line)") }
    }
  }

  /// The seeds' dynamic binding: a binder, two servers that export Demo::Greeter 1.0 to it, two
  /// clients that import it by name and version, and a server that dies under a client.
  static func dynamicBinding(executable me: String) throws {
    flushedPrint("")
    flushedPrint("== dynamic binding (seeds: the binder): servers register, clients look up by name and version, a server dies")
    let binderProcess = try Child(me, ["naming", "serve", "--in-memory", "--port", "0", "--poll-period", "0.5", "--failures", "2"],
                                  label: "binder")
    defer { binderProcess.stop(SIGTERM) }
    guard let at = binderProcess.ready.range(of: "binder at "),
          let url = binderProcess.ready[at.upperBound...].split(separator: " ").first.map(String.init) else {
      throw ValidationError("cannot read the binder's address from: \(binderProcess.ready)")
    }
    let a = try Child(me, ["example", "greeter-server", "--server-name", "server-A", "--binder", url, "--version", "1.0"], label: "server A")
    let b = try Child(me, ["example", "greeter-server", "--server-name", "server-B", "--binder", url, "--version", "1.1"], label: "server B")
    var aAlive = true
    defer {
      if aAlive { a.stop(SIGTERM) }
      b.stop(SIGTERM)
    }

    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let binder = CourierBinding_Binder.Blocking(try orb.object(url))
    // Two clients that need Greeter 1.0 or a compatible 1.x; the binder spreads them round-robin.
    let clients = (1...2).map { _ in
      BoundReference(binder: binder, name: "Greeter", versions: .compatible(with: .init(major: 1, minor: 0)), make: Demo_Greeter.Blocking.init)
    }
    for (i, client) in clients.enumerated() {
      let answer = try client.call { try $0.greet(who: "client \(i + 1)") }
      flushedPrint("[client \(i + 1)] bound on its first call to registration \(client.binding!.id) (version \(client.binding!.version.description)): \"\(answer)\"")
    }
    let onA = clients.firstIndex { $0.binding.map { b in (try? Demo_Greeter.Blocking(b.server!).serverName) == "server-A" } ?? false } ?? 0
    flushedPrint("[demo] kill -9 server A (pid \(a.process.processIdentifier)), the server of client \(onA + 1)")
    a.stop(SIGKILL)
    aAlive = false
    let answer = try clients[onA].call { try $0.greet(who: "client \(onA + 1) again") }
    flushedPrint("[client \(onA + 1)] its server is gone: it told the binder, bound again and carried on: \"\(answer)\"")
    for r in try binder.registrations(name: "Greeter") {
      flushedPrint("[binder] registration \(r.id): Greeter \(r.version.description) at port \(r.server?.ior.iiopProfiles.first?.port ?? 0), \(r.alive ? "alive" : "taken out of lookups")")
    }
    do {
      _ = try binder.lookup(name: "Greeter", versions: .compatible(with: .init(major: 2, minor: 0)))
    } catch let e as CourierBinding_VersionMismatch {
      flushedPrint("[client] lookup of Greeter 2.0+ -> VersionMismatch (available: \(e.available.map(\.description).joined(separator: ", ")))")
    }
  }
}

/// The demo's server process.
struct DemoServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo-server", abstract: "Serve Demo::PersonList (key PersonList), Demo::ShapeList (key ShapeList) and Bench::Echo (key Echo).")

  @Option(help: "TCP port on 127.0.0.1 (0: any free port).") var port: UInt16 = 0
  @Option(help: "Write the PersonList IOR to this file.") var iorFile: String?
  @Flag(help: "Log every request.") var verbose = false

  func run() throws {
    Signals.block()
    let adapter = ObjectAdapter()
    adapter.activate(Demo_PersonList.Servant(PersonListImplementation(listname: "seeds")), key: "PersonList")
    let echo = EchoImplementation()
    adapter.activate(Bench_Echo.Servant(echo), key: "Echo")
    let shapes = ShapeListImplementation()
    adapter.activate(Demo_ShapeList.Servant(shapes), key: "ShapeList")
    // The server's ORB makes the references ShapeList.newShape returns.
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port),
                            orb: ORB(connector: TCPConnector()), logger: logger("courier.demo-server", verbose: verbose))
    shapes.serve(on: server)
    server.start()
    let ior = try server.reference(key: "PersonList", typeID: Demo_PersonList.repositoryID).stringified()
    if let iorFile { try writeFileAtomically(iorFile, ior + "\n") }
    flushedPrint("READY PersonList at corbaloc:iiop:1.2@127.0.0.1:\(server.port)/PersonList (pid \(getpid()))")
    _ = Signals.wait()
    server.shutdown(timeout: .seconds(5))
    flushedPrint("shut down gracefully after \(echo.pingCount) ping(s)")
  }
}

/// The demo's client process.
struct DemoClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo-client", abstract: "Call the demo server's PersonList and Echo objects.")

  @Argument(help: "The PersonList reference: IOR:…, corbaloc:…, or @FILE") var reference: String

  func run() throws {
    var text = reference
    if text.hasPrefix("@") { text = try readFile(String(text.dropFirst())) }
    let orb = ORB(connector: TCPConnector())
    let ref = try orb.object(text)
    print("[client] reference: \(ref)")
    let list = try Demo_PersonList.Blocking.narrow(ref)
    print("[client] listname = \"\(try list.listname)\"")
    for p in [Demo_Person(name: "Ada", place: "London", year: 1815), Demo_Person(name: "Alan", place: "London", year: 1912)] {
      try list.addPerson(p: p)
      print("[client] addPerson(\(p.name), \(p.place), \(p.year))")
    }
    let ada = try list.getPerson(name: "Ada")
    print("[client] getPerson(\"Ada\") -> \(ada.name) of \(ada.place), born \(ada.year)")
    print("[client] number() = \(try list.number())")
    do {
      _ = try list.getPerson(name: "Nobody")
      print("[client] getPerson(\"Nobody\") unexpectedly succeeded")
      throw ExitCode(1)
    } catch let e as Demo_NotFound {
      print("[client] getPerson(\"Nobody\") raised Demo::NotFound(name: \"\(e.name)\") — a user exception")
    }
    // The benchmark object on the same server, by corbaloc.
    let port = ref.ior.iiopProfiles.first!.port
    let echo = try Bench_Echo.Blocking.narrow(orb.object("corbaloc:iiop:1.2@127.0.0.1:\(port)/Echo"))
    print("[client] Echo.add(a: 2, b: 40) = \(try echo.add(a: 2, b: 40))")
    print("[client] Echo.echoBytes(data: 5 bytes) = \(try echo.echoBytes(data: [1, 2, 3, 4, 5]))")
    try echo.ping()
    print("[client] Echo.ping() sent (oneway)")
    let deferred = try echo.reference.invokeDeferred("add") { w in w.write(Int64(20)); w.write(Int64(22)) }
    var reply = try deferred.wait()
    print("[client] deferred add(20, 22) collected later = \(try reply.read(Int64.self))")
    do {
      _ = try orb.object("corbaloc:iiop:1.2@127.0.0.1:\(port)/NoSuchObject").invoke("add")
    } catch let e as RPCError {
      print("[client] call to key NoSuchObject -> \(e.code) (\(e.completion))")
    }

    // The Coulouris ShapeList (seed 002) through the async stubs: a factory returning
    // references to new remote objects.
    let shapeList = try Demo_ShapeList.Client.narrow(orb.object("corbaloc:iiop:1.2@127.0.0.1:\(port)/ShapeList"))
    try waitFor { try await Self.shapes(shapeList) }
    orb.shutdown()
  }

  static func shapes(_ shapeList: Demo_ShapeList.Client) async throws {
    for (i, type) in ["circle", "square", "triangle"].enumerated() {
      let g = Demo_GraphicalObject(type: type, enclosing: Demo_Rectangle(width: 10 * Int32(i + 1), height: 10, x: Int32(i), y: 0),
                                   isFilled: i % 2 == 0)
      guard let shape = try await shapeList.newShape(g: g) else { throw ExitCode(1) }
      print("[client] ShapeList.newShape(\(type)) -> a new remote Shape, version \(try await shape.getVersion())")
    }
    let all = try await shapeList.allShapes()
    print("[client] ShapeList.allShapes() -> \(all.count) references; their state, each by its own remote call:")
    for case let shape? in all {
      let state = try await shape.getAllState()
      print("[client]   \(state.type) \(state.enclosing.width)x\(state.enclosing.height) at (\(state.enclosing.x), \(state.enclosing.y)), filled: \(state.isFilled)")
    }
    print("[client] ShapeList.getVersion() = \(try await shapeList.getVersion())")
  }
}

/// Runs async work from synchronous code and waits for it (the CLI's threads block signals,
/// so its commands stay synchronous).
func waitFor(_ body: @escaping @Sendable () async throws -> Void) throws {
  let done = DispatchSemaphore(value: 0)
  let failure = Mutex<(any Error)?>(nil)
  Task.detached {
    do { try await body() } catch { failure.withLock { $0 = error } }
    done.signal()
  }
  done.wait()
  if let error = failure.withLock({ $0 }) { throw error }
}
