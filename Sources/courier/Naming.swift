import ArgumentParser
import CourierCore
import CourierGIOP
import CourierNIO
import CourierNaming
import Foundation
import Synchronization

/// `courier naming …`: run the CosNaming service, and use any CosNaming service (Courier's or
/// omniNames) from the command line, like omniORB's nameclt.
struct NamingCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "naming", abstract: "Run or use a CORBA naming service (CosNaming).",
    subcommands: [Serve.self, List.self, Bind.self, Resolve.self, Unbind.self, BindContext.self, Bench.self,
                  Register.self, Deregister.self, Lookup.self, Registrations.self, SetPolicy.self])

  /// Where the naming service is: --ref, else -ORBInitRef-style environment, else 127.0.0.1:2809.
  struct Target: ParsableArguments {
    @Option(help: "The naming service: corbaloc::host:port/NameService, IOR:…, or corbaname:….")
    var ref: String?

    func root(_ orb: ORB) throws -> CosNaming_NamingContextExt.Blocking {
      let reference: ObjectReference
      if let ref {
        reference = try orb.object(ref)
      } else if orb.configuration.initialReferences["NameService"] != nil || orb.configuration.defaultInitialReference != nil {
        reference = try orb.resolveInitialReferences("NameService")
      } else {
        reference = try orb.object("corbaloc::127.0.0.1:2809/NameService")
      }
      return CosNaming_NamingContextExt.Blocking(reference)
    }

    func orb() -> ORB {
      var config = ORB.Configuration()
      _ = config.apply(arguments: [], environment: ProcessInfo.processInfo.environment)
      return ORB(configuration: config, connector: TCPConnector())
    }
  }

  struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Serve a naming service (object key NameService), persistent in an SQLite file.")
    @Option(help: "TCP port on 127.0.0.1.") var port: UInt16 = 2809
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "The SQLite file that keeps the bindings.") var db = "courier-naming.sqlite"
    @Flag(help: "Keep the bindings in memory only.") var inMemory = false
    @Option(help: "Seconds between the binder's health polls of registered servers.") var pollPeriod = 5.0
    @Option(help: "Failed polls after which the binder stops returning a server.") var failures = 3
    @Option(help: "The binder's default policy: round-robin, random or lru.") var policy = "round-robin"

    func run() throws {
      Signals.block()
      guard let defaultPolicy = parsePolicy(policy) else { throw ValidationError("--policy: round-robin, random or lru") }
      guard pollPeriod > 0, failures > 0 else { throw ValidationError("--poll-period and --failures must be positive") }
      let orb = ORB(connector: TCPConnector())
      let server = GIOPServer(adapter: ObjectAdapter(), listener: try TCPListener(host: host, port: port), orb: orb,
                              logger: logger("courier.naming", verbose: false))
      try (inMemory ? NamingService() : NamingService(databasePath: db)).install(on: server)
      let config = BinderService.Configuration(pollPeriod: .milliseconds(Int64(pollPeriod * 1000)), failureThreshold: failures,
                                               defaultPolicy: defaultPolicy)
      let binder = try inMemory ? BinderService(configuration: config) : BinderService(configuration: config, databasePath: db)
      try binder.install(on: server)
      server.start()
      flushedPrint("READY naming service at corbaloc::\(host):\(server.port)/NameService, binder at corbaloc::\(host):\(server.port)/Binder (pid \(getpid()))\(inMemory ? "" : ", state in \(db)")")
      _ = Signals.wait()
      binder.stop()
      server.shutdown(timeout: .seconds(5))
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a context's bindings.")
    @OptionGroup var target: Target
    @Argument(help: "A context's stringified name (empty: the root).") var path: String = ""
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      let root = try target.root(orb)
      let context = path.isEmpty ? CosNaming_NamingContext.Blocking(root.reference)
        : CosNaming_NamingContext.Blocking(try root.resolve_str(sn: path) ?? root.reference)
      let (first, iterator) = try context.list(how_many: 1000)
      var all = first
      if let it = iterator?.blocking {
        while case (true, let more) = try it.next_n(how_many: 1000) { all += more }
        try it.destroy()
      }
      for b in all { print(NamingService.stringify(b.binding_name) + (b.binding_type == .ncontext ? "/" : "")) }
    }
  }

  struct Bind: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bind a name to an object (rebind with --force).")
    @OptionGroup var target: Target
    @Argument var name: String
    @Argument(help: "IOR:… or corbaloc:…") var object: String
    @Flag var force = false
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      let root = try target.root(orb)
      let n = try NamingService.parse(name)
      if force { try root.rebind(n: n, obj: try orb.object(object)) } else { try root.bind(n: n, obj: try orb.object(object)) }
    }
  }

  struct BindContext: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Bind a name to a new context.")
    @OptionGroup var target: Target
    @Argument var name: String
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      _ = try target.root(orb).bind_new_context(n: try NamingService.parse(name))
    }
  }

  struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the IOR a name is bound to.")
    @OptionGroup var target: Target
    @Argument var name: String
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      guard let ref = try target.root(orb).resolve_str(sn: name) else { print("nil"); return }
      print(try ref.ior.stringified())
    }
  }

  struct Unbind: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove a binding.")
    @OptionGroup var target: Target
    @Argument var name: String
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      try target.root(orb).unbind(n: try NamingService.parse(name))
    }
  }

  struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Measure resolve: p50 latency on one connection, then calls/s with N callers (one connection each).")
    @OptionGroup var target: Target
    @Argument(help: "A bound name to resolve.") var name: String
    @Option var callers = 16
    @Option var seconds = 2.0

    func run() throws {
      let n = try NamingService.parse(name)
      // Latency: one caller.
      let orb = target.orb()
      let root = try target.root(orb)
      for _ in 0..<500 { _ = try root.resolve(n: n) }
      var samples: [UInt64] = []
      for _ in 0..<5000 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try root.resolve(n: n)
        samples.append(DispatchTime.now().uptimeNanoseconds - t0)
      }
      samples.sort()
      orb.shutdown()
      // Throughput: one ORB (so one connection) per caller.
      let counts = Mutex([Int](repeating: 0, count: callers))
      let end = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
      let group = DispatchGroup()
      for i in 0..<callers {
        group.enter()
        let ref = self.target
        Thread.detachNewThread {
          defer { group.leave() }
          let o = ref.orb()
          defer { o.shutdown() }
          guard let r = try? ref.root(o) else { return }
          var done = 0
          while DispatchTime.now().uptimeNanoseconds < end {
            if (try? r.resolve(n: n)) != nil { done += 1 }
          }
          counts.withLock { $0[i] = done }
        }
      }
      group.wait()
      let total = counts.withLock { $0.reduce(0, +) }
      print("resolve: p50 \(Double(samples[samples.count / 2]) / 1000) µs, p99 \(Double(samples[samples.count * 99 / 100]) / 1000) µs (1 connection); \(Int(Double(total) / seconds)) resolves/s with \(callers) connections")
    }
  }

  // MARK: the binder

  /// Where the binder is and who asks: --binder, else -ORBInitRef Binder / COURIER_INITREF_Binder,
  /// else 127.0.0.1:2809; --credential goes in Courier's credential service context.
  struct BinderTarget: ParsableArguments {
    @Option(help: "The binder: corbaloc::host:port/Binder or IOR:….") var binder: String?
    @Option(help: "The credential to present (for registrations with access lists).") var credential: String?

    func orb() -> ORB {
      var config = ORB.Configuration()
      _ = config.apply(arguments: [], environment: ProcessInfo.processInfo.environment)
      if let credential { config.defaultCallOptions.serviceContexts = [Credential.serviceContext(credential)] }
      return ORB(configuration: config, connector: TCPConnector())
    }

    func binder(_ orb: ORB) throws -> CourierBinding_Binder.Blocking {
      let reference: ObjectReference
      if let binder {
        reference = try orb.object(binder)
      } else if orb.configuration.initialReferences["Binder"] != nil || orb.configuration.defaultInitialReference != nil {
        reference = try orb.resolveInitialReferences("Binder")
      } else {
        reference = try orb.object("corbaloc::127.0.0.1:2809/Binder")
      }
      return CourierBinding_Binder.Blocking(reference)
    }
  }

  struct Register: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export a server to the binder; prints the registration id.")
    @OptionGroup var target: BinderTarget
    @Argument(help: "The interface name clients look up.") var name: String
    @Argument(help: "The interface version, MAJOR.MINOR.") var version: String
    @Argument(help: "The server: IOR:… or corbaloc:….") var object: String
    @Option(name: .customLong("allow"), help: "A credential allowed to look it up (repeat; none: everybody).") var allowed: [String] = []
    func run() throws {
      guard let v = CourierBinding_Version(version) else { throw ValidationError("version: MAJOR.MINOR") }
      let orb = target.orb()
      defer { orb.shutdown() }
      print(try target.binder(orb).register(name: name, version: v, server: try orb.object(object), allowed: allowed))
    }
  }

  struct Deregister: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Withdraw a registration from the binder.")
    @OptionGroup var target: BinderTarget
    @Argument var id: UInt64
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      try target.binder(orb).deregister(id: id)
    }
  }

  struct Lookup: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Ask the binder for a server of NAME; prints its IOR (with --count N: how N lookups spread).")
    @OptionGroup var target: BinderTarget
    @Argument var name: String
    @Option(help: "Versions accepted: 1.2 (exactly), 1.2+ (1.2 up to 1.max), 1.0-2.5, or * (any).") var versions = "*"
    @Option(help: "Look up N times and print how many times each registration was returned.") var count: Int?
    func run() throws {
      guard let range = CourierBinding_VersionRange(versions) else { throw ValidationError("--versions: 1.2, 1.2+, 1.0-2.5 or *") }
      let orb = target.orb()
      defer { orb.shutdown() }
      let binder = try target.binder(orb)
      guard let count else {
        let b = try binder.lookup(name: name, versions: range)
        print(try b.server?.ior.stringified() ?? "nil")
        return
      }
      var seen: [UInt64: Int] = [:]
      for _ in 0..<max(1, count) { seen[try binder.lookup(name: name, versions: range).id, default: 0] += 1 }
      for (id, n) in seen.sorted(by: { $0.key < $1.key }) { print("registration \(id): \(n)") }
    }
  }

  struct Registrations: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the binder's registrations (of NAME, or all).")
    @OptionGroup var target: BinderTarget
    @Argument var name: String = ""
    func run() throws {
      let orb = target.orb()
      defer { orb.shutdown() }
      for r in try target.binder(orb).registrations(name: name) {
        let endpoint = r.server?.ior.iiopProfiles.first.map { "\($0.host):\($0.port)" } ?? "?"
        let access = r.allowed.isEmpty ? "everybody" : r.allowed.joined(separator: ",")
        print("\(r.id)\t\(r.name)\t\(r.version.description)\t\(endpoint)\t\(r.alive ? "alive" : "failing (\(r.failures) polls)")\t\(access)")
      }
    }
  }

  struct SetPolicy: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy", abstract: "Set how lookups of NAME choose a server.")
    @OptionGroup var target: BinderTarget
    @Argument var name: String
    @Argument(help: "round-robin, random or lru") var policy: String
    func run() throws {
      guard let p = parsePolicy(policy) else { throw ValidationError("policy: round-robin, random or lru") }
      let orb = target.orb()
      defer { orb.shutdown() }
      try target.binder(orb).set_policy(name: name, policy: p)
    }
  }
}

/// `round-robin`, `random`, `lru` (or the IDL's names).
func parsePolicy(_ text: String) -> CourierBinding_Policy? {
  switch text.lowercased() {
  case "round-robin", "round_robin", "rr": .ROUND_ROBIN
  case "random": .RANDOM
  case "lru", "least-recently-used", "least_recently_used": .LEAST_RECENTLY_USED
  default: nil
  }
}
