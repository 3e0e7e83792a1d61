import CourierActorExamples
import CourierActors
import CourierTestSupport
import Foundation
import Testing

/// omniORB's C++ client calls a Swift distributed actor through the IDL `courier-idl export`
/// writes from the actor's Swift source (Interop/actors: the export, omniidl -bcxx, g++).
@Suite("Distributed actors: omniORB client through exported IDL")
struct ActorOmniORBInteropTests {
  static let root = ActorNode.packageRoot

  @Test func anOmniORBClientCallsASwiftDistributedActor() async throws {
    let build = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("courier-actors-interop-\(getpid())")
    defer { try? FileManager.default.removeItem(at: build) }
    let courierIDL = Self.root.appendingPathComponent(".build/debug/courier-idl").path
    let made = try await offPool {
      runProgram("/usr/bin/make", ["-s", "-C", Self.root.appendingPathComponent("Interop/actors").path,
                                   "BUILD=\(build.path)", "COURIER_IDL=\(courierIDL)"], timeout: 600)
    }
    try #require(made.status == 0, "make failed: \(made.output)")
    let idl = try String(contentsOf: build.appendingPathComponent("Greeter.idl"), encoding: .utf8)
    #expect(idl.contains("interface GreeterActor"))

    let system = try makeSystem()
    defer { system.shutdown() }
    system.registerError(EmptyName.self)
    let greeter = GreeterActor(actorSystem: system)
    let ior = try greeter.id.stringified()
    let result = try await offPool { runProgram(build.appendingPathComponent("greeter_client").path, [ior], timeout: 60) }
    #expect(result.status == 0, "\(result.output)")
    #expect(result.output.contains("greet_name_times Hello, Ada! Hello, Ada!"))
    #expect(result.output.contains("add 42"))
    #expect(result.output.contains("describeValue n=7"))
    #expect(result.output.contains("SwiftError CourierActorExamples.EmptyName: EmptyName(reason: \"no name given\")"))
    #expect(result.output.contains("OK"))
    withExtendedLifetime(greeter) {}
  }
}
