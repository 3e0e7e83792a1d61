import ArgumentParser
import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierWire
import Logging
#if canImport(Glibc)
import Glibc
#endif

@main
struct Courier: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "courier",
    abstract: "Courier: distributed objects and remote invocation for Swift (CORBA GIOP/IIOP).",
    subcommands: [DemoCommand.self, DemoServer.self, DemoClient.self, BenchServer.self, BenchClient.self, ONCBenchServer.self, ONCBenchClient.self, RPCBindCommand.self, RPCInfoCommand.self, ONCTestServerCommand.self, RPCBindLookupCommand.self, RPCBindConformanceCommand.self, IORCommand.self, NamingCommand.self, ExampleCommand.self,
                  FaultsCommand.self, FaultsServer.self, FaultsClient.self, BankServer.self, ActorNodeCommand.self, ActorBenchServer.self, ActorBenchClient.self, ActorChurnCommand.self, ActorDemoServer.self, ActorDemoClient.self],
    defaultSubcommand: DemoCommand.self
  )
}

/// Blocks SIGTERM and SIGINT in every thread (call before starting any) and returns when one arrives.
enum Signals {
  static func block() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGTERM)
    sigaddset(&set, SIGINT)
    pthread_sigmask(SIG_BLOCK, &set, nil)
  }

  static func wait() -> Int32 {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGTERM)
    sigaddset(&set, SIGINT)
    var sig: Int32 = 0
    sigwait(&set, &sig)
    return sig
  }
}

func flushedPrint(_ line: String) {
  print(line)
  fflush(nil)
}

func logger(_ label: String, verbose: Bool) -> Logger {
  var l = Logger(label: label)
  l.logLevel = verbose ? .debug : .warning
  return l
}

struct IORCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ior", abstract: "Decode a stringified IOR or a corbaloc URL (like omniORB's catior).")

  @Argument(help: "IOR:… or corbaloc:… (or @FILE to read it from a file)")
  var reference: String

  func run() throws {
    var text = reference
    if text.hasPrefix("@") { text = try readFile(String(text.dropFirst())) }
    let ior: IOR
    if text.lowercased().hasPrefix("corbaloc:") { ior = try Corbaloc(text).ior() } else { ior = try IOR(stringified: text) }
    print("Type ID: \"\(ior.typeID)\"")
    print("Profiles: \(ior.profiles.count)")
    for (i, p) in ior.profiles.enumerated() {
      guard p.tag == TaggedProfile.internetIOP, let iiop = try? IIOPProfile(p) else {
        print("\(i + 1). profile tag \(p.tag), \(p.data.count) bytes")
        continue
      }
      print("\(i + 1). IIOP \(iiop.version) \(iiop.host) \(iiop.port) key \(ObjectAdapter.describe(key: iiop.objectKey))")
      if let orb = iiop.orbType { print("   ORB type: 0x\(String(orb, radix: 16))") }
      if let cs = iiop.codeSets {
        print("   code sets: char native \(cs.charNative), conversion \(cs.charConversion); wchar native \(cs.wcharNative), conversion \(cs.wcharConversion)")
      }
      for c in iiop.components where c.tag > 1 { print("   component tag \(c.tag), \(c.data.count) bytes") }
    }
  }
}

func readFile(_ path: String) throws -> String {
  guard let f = fopen(path, "r") else { throw ValidationError("cannot open \(path)") }
  defer { fclose(f) }
  var out: [UInt8] = []
  var buf = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = fread(&buf, 1, buf.count, f)
    if n <= 0 { break }
    out.append(contentsOf: buf[0..<n])
  }
  return String(decoding: out, as: UTF8.self).trimmingCharacters()
}

func writeFileAtomically(_ path: String, _ text: String) throws {
  let tmp = path + ".tmp"
  guard let f = fopen(tmp, "w") else { throw ValidationError("cannot write \(tmp)") }
  fputs(text, f)
  fclose(f)
  rename(tmp, path)
}

extension String {
  func trimmingCharacters() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
