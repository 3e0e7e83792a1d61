import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import CourierTestSupport
import CourierWire
import Foundation
import Testing

/// Interop with the real peer, omniORB 4.2, in both directions: Courier's client against
/// omniORB's C++ server, omniORB's C++ client against Courier's server. The C++ programs live
/// in `Interop/omniorb/` and are built here with omniidl and g++ (`.ci/run` installs them).
@Suite(.serialized)
struct OmniORBInteropTests {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let interopDir = packageRoot.appendingPathComponent("Interop/omniorb")

  /// Builds the C++ programs once (make is incremental) and returns the build folder.
  static let build: Result<URL, InteropError> = {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("courier-interop-build")
    let out = run("/usr/bin/make", ["-s", "-C", interopDir.path, "BUILD=\(dir.path)"], timeout: 300)
    guard out.status == 0 else { return .failure(InteropError("make failed: \(out.output)")) }
    return .success(dir)
  }()

  struct InteropError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
  }

  /// Runs a program to completion (bounded by `timeout` seconds).
  static func run(_ path: String, _ args: [String], timeout: Double = 60, environment: [String: String]? = nil) -> ProgramResult {
    runProgram(path, args, timeout: timeout, environment: environment)
  }

  /// A C++ server started for one test; stopped with SIGTERM by its PID.
  final class CppServer {
    let process = Process()
    let ior: String
    let port: UInt16
    let lines = Pipe()

    init(_ program: String, environment: [String: String] = [:]) throws {
      let dir = try OmniORBInteropTests.build.get()
      let iorFile = NSTemporaryDirectory() + "courier-\(program)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).ior"
      // Port: ask the kernel for a free one.
      let probe = try TCPListener(host: "127.0.0.1", port: 0)
      port = probe.port
      probe.close()
      process.executableURL = dir.appendingPathComponent(program)
      process.arguments = [String(port), iorFile]
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      process.standardOutput = lines
      process.standardError = FileHandle.nullDevice
      try process.run()
      var seen = ""
      let deadline = Date().addingTimeInterval(20)
      while !seen.contains("\n") {
        let chunk = lines.fileHandleForReading.availableData
        if chunk.isEmpty || Date() > deadline { throw InteropError("\(program) did not start: \(seen)") }
        seen += String(decoding: chunk, as: UTF8.self)
      }
      guard seen.hasPrefix("READY") else { throw InteropError("\(program): \(seen)") }
      ior = try String(contentsOfFile: iorFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
      if process.isRunning { process.terminate() }
      process.waitUntilExit()
    }
  }

  // MARK: Courier client → omniORB server

  @Test(arguments: [GIOPVersion.v1_0, .v1_1, .v1_2])
  func courierClientCallsOmniORBServer(version: GIOPVersion) throws {
    let pingsFile = NSTemporaryDirectory() + "courier-pings-\(getpid())-\(version.minor)"
    let server = try CppServer("interop_server", environment: ["INTEROP_PINGS_FILE": pingsFile])
    defer { server.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    for text in [server.ior, "corbaloc:iiop:\(version)@127.0.0.1:\(server.port)/Echo"] {
      // Take the omniORB IOR's profile down to the version under test.
      var ref = try orb.object(text)
      if text.hasPrefix("IOR:") {
        var profile = try #require(ref.ior.iiopProfiles.first)
        profile.version = version
        if version.minor == 0 { profile.components = [] }
        ref = orb.object(try IOR(typeID: ref.ior.typeID, profile: profile))
      }
      let echo = try Bench_Echo.Blocking.narrow(ref)
      #expect(try echo.add(a: 2, b: 40) == 42)
      #expect(try echo.add(a: -5, b: 3) == -2)
      #expect(try echo.add(a: Int64.max, b: 0) == Int64.max)
      for size in [0, 1, 16, 1024, 65536, 200_000] {
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ size) }
        #expect(try echo.echoBytes(data: data) == data, "echoBytes(\(size)) over GIOP \(version)")
      }
      try echo.ping()
      #expect(try ref.isA(Bench_Echo.repositoryID))
      #expect(try !ref.isA("IDL:Other:1.0"))
      #expect(try !ref.nonExistent())
    }
    // A missing key: omniORB answers OBJECT_NOT_EXIST with its OMG minor 1, COMPLETED_NO.
    let missing = try orb.object("corbaloc:iiop:\(version)@127.0.0.1:\(server.port)/NoSuchKey")
    do {
      _ = try missing.invoke("add") { w in w.write(Int64(1)); w.write(Int64(2)) }
      Issue.record("a call to a missing key succeeded")
    } catch let e as RPCError {
      #expect(e.code == .objectNotExist)
      #expect(e.minor == 0x4F4D_0001)
      #expect(e.completion == .no)
    }
    // An unknown operation: BAD_OPERATION (omniORB's own minor code 0x41540026).
    do {
      _ = try orb.object(server.ior).invoke("noSuchOperation")
      Issue.record("an unknown operation succeeded")
    } catch let e as RPCError {
      #expect(e.code == .badOperation)
    }
    // Oneways arrived: the server writes its count when it exits.
    orb.shutdown()
    server.stop()
    let pings = try String(contentsOfFile: pingsFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(pings == "2", "pings counted by omniORB over GIOP \(version)")
  }

  @Test func courierClientCallsOmniORBPersonList() throws {
    let server = try CppServer("demo_server")
    defer { server.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let list = try Demo_PersonList.Blocking.narrow(orb.object(server.ior))
    #expect(try list.listname == "seeds")
    try list.addPerson(p: Demo_Person(name: "Grace", place: "New York", year: 1906))
    #expect(try list.getPerson(name: "Grace") == Demo_Person(name: "Grace", place: "New York", year: 1906))
    #expect(try list.number() >= 1)
    #expect(throws: Demo_NotFound(name: "Nobody")) { try list.getPerson(name: "Nobody") }
  }

  // MARK: omniORB client → Courier server

  final class CourierServer {
    let server: GIOPServer
    let echo = EchoImplementation()
    init() throws {
      let adapter = ObjectAdapter()
      adapter.activate(Bench_Echo.Servant(echo), key: "Echo")
      adapter.activate(Demo_PersonList.Servant(PersonListImplementation(listname: "seeds")), key: "PersonList")
      server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: 0))
      server.start()
    }
    deinit { server.shutdown(timeout: .seconds(2)) }
  }

  @Test(arguments: ["1.0", "1.1", "1.2"])
  func omniORBClientCallsCourierServer(version: String) throws {
    let dir = try Self.build.get()
    let courier = try CourierServer()
    let port = courier.server.port
    let ior = try courier.server.reference(key: "Echo", typeID: Bench_Echo.repositoryID).stringified()
    let missing = "corbaloc::1.2@127.0.0.1:\(port)/NoSuchKey"
    for ref in [ior, "corbaloc::\(version)@127.0.0.1:\(port)/Echo"] {
      let r = Self.run(dir.appendingPathComponent("interop_client").path, [ref, version, "--missing", missing])
      #expect(r.status == 0, "omniORB interop_client (GIOP \(version), \(ref.prefix(12))…):\n\(r.output)")
      #expect(!r.output.contains("FAIL"))
      #expect(r.output.contains("ok add-2-40"))
      #expect(r.output.contains("ok echoBytes-65536"))
      #expect(r.output.contains("ok missing-object OBJECT_NOT_EXIST"))
    }
    // Three oneway pings per client run; wait for the last to be processed (bounded).
    #expect(courier.echo.waitForPings(atLeast: 6, timeout: .seconds(3)) == 6)
  }

  @Test func omniORBClientCallsCourierPersonList() throws {
    let dir = try Self.build.get()
    let courier = try CourierServer()
    let ior = try courier.server.reference(key: "PersonList", typeID: Demo_PersonList.repositoryID).stringified()
    for ref in [ior, "corbaloc::1.2@127.0.0.1:\(courier.server.port)/PersonList"] {
      let r = Self.run(dir.appendingPathComponent("demo_client").path, [ref, "1.2"])
      #expect(r.status == 0, "omniORB demo_client:\n\(r.output)")
      #expect(r.output.contains("ok getPerson-Nobody"))
    }
  }

  @Test func catiorDecodesCourierIOR() throws {
    let courier = try CourierServer()
    let ior = try courier.server.reference(key: "Echo", typeID: Bench_Echo.repositoryID).stringified()
    let r = Self.run("/usr/bin/catior", [ior])
    #expect(r.status == 0, "\(r.output)")
    #expect(r.output.contains("IDL:Bench/Echo:1.0"))
    #expect(r.output.contains("IIOP 1.2 127.0.0.1 \(courier.server.port) \"Echo\""))
    #expect(r.output.contains("char native code set:       UTF-8"))
    #expect(r.output.contains("wchar native code set:      UTF-16"))
  }
}
