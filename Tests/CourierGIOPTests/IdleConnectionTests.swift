import CourierCore
import CourierExamples
import CourierGIOP
import CourierNIO
import Foundation
import Testing

/// A server that goes away while the client's connection to it is idle: the next call sees
/// it before sending (TRANSIENT, COMPLETED_NO, not COMM_FAILURE/MAYBE), and a server back on
/// the same port gets the call on a new connection without the caller noticing.
@Suite("Idle connections closed by the server", .serialized)
struct IdleConnectionTests {
  /// An ORB that checks every idle connection (no minimum idle time), so the tests need not
  /// wait for one to pass.
  static func probingORB() -> ORB {
    var config = ORB.Configuration()
    config.idleProbeAfter = .zero
    return ORB(configuration: config, connector: TCPConnector())
  }

  static func echoServer(port: UInt16 = 0) throws -> GIOPServer {
    let adapter = ObjectAdapter()
    adapter.activate(Bench_Echo.Servant(EchoImplementation()), key: "Echo")
    let server = GIOPServer(adapter: adapter, listener: try TCPListener(host: "127.0.0.1", port: port))
    server.start()
    return server
  }

  @Test func aDeadServerIsSeenBeforeTheRequestIsSent() throws {
    let server = try Self.echoServer()
    let orb = Self.probingORB()
    defer { orb.shutdown() }
    let echo = Bench_Echo.Blocking(try orb.object("corbaloc::127.0.0.1:\(server.port)/Echo"))
    #expect(try echo.add(a: 1, b: 2) == 3)
    server.shutdown(timeout: .seconds(5))
    do {
      _ = try echo.add(a: 1, b: 2)
      Issue.record("a call to a stopped server succeeded")
    } catch let e as RPCError {
      #expect(e.code == .transient)
      #expect(e.completion == .no, "the request was never sent: \(e)")
    }
  }

  @Test func aRestartedServerGetsTheCallOnANewConnection() throws {
    var server = try Self.echoServer()
    let port = server.port
    let orb = Self.probingORB()
    defer { orb.shutdown() }
    let echo = Bench_Echo.Blocking(try orb.object("corbaloc::127.0.0.1:\(port)/Echo"))
    #expect(try echo.add(a: 1, b: 2) == 3)
    server.shutdown(timeout: .seconds(5))
    server = try Self.echoServer(port: port)
    defer { server.shutdown(timeout: .seconds(5)) }
    #expect(try echo.add(a: 20, b: 22) == 42)
  }
}
