import CourierTestSupport
import Foundation
import Testing

/// The seeds' FILEREADWRITE program against rpcgen and libtirpc, across real processes, in a
/// private network namespace with the system's rpcbind: Courier's server with the C client
/// (`Interop/oncrpc/frw_client`, rpcgen stubs) and the C server (`frw_server`) with Courier's
/// client, over TCP and UDP, each client finding the port through rpcbind.
@Suite("FILEREADWRITE interop with rpcgen/libtirpc through rpcbind", .serialized)
struct FileReadWriteInteropTests {
  /// Builds the C peer once (gcc, rpcgen, libtirpc: installed by scripts/test.sh).
  static let peer: Result<String, SystemTestError> = {
    let dir = PrivateNetwork.packageRoot.appendingPathComponent("Interop/oncrpc")
    let result = runProgram("/usr/bin/make", ["-s", "-C", dir.path], timeout: 300)
    guard result.status == 0 else { return .failure(SystemTestError("make -C Interop/oncrpc failed:\n\(result.output)")) }
    return .success(dir.appendingPathComponent("build").path)
  }()

  /// The steps both clients run, and the lines both must print (the C client's format).
  static let script = [
    "null", "write:1:0:hello", "read:1:0:5=hello", "write:1:8:world", "read:1:0:13=hello\\0\\0\\0world",
    "read:1:100:10=", "read:42:0:10=", "read:1:-1:10!RPC_SYSTEMERROR", "read:1:0:1001!RPC_SYSTEMERROR",
    "writelen:1:0:1001!RPC_SYSTEMERROR", "writelen:1:1048575:2!RPC_SYSTEMERROR", "write:2:0:\\xff\\x80\\x01", "read:2:0:3=\\xff\\x80\\x01",
  ]
  static let expected = [
    "null -> ok", "write 1 0 5 -> ok", "read 1 0 5 -> 5 \"hello\"", "write 1 8 5 -> ok", "read 1 0 13 -> 13 \"hello\\0\\0\\0world\"",
    "read 1 100 10 -> 0 \"\"", "read 42 0 10 -> 0 \"\"", "read 1 -1 10 -> error RPC_SYSTEMERROR",
    "read 1 0 1001 -> error RPC_SYSTEMERROR", "write 1 0 1001 -> error RPC_SYSTEMERROR", "write 1 1048575 2 -> error RPC_SYSTEMERROR",
    "write 2 0 3 -> ok", "read 2 0 3 -> 3 \"\\xff\\x80\\x01\"", "OK 13 steps",
  ]

  static func quoted(_ words: [String]) -> String {
    words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
  }

  @Test("Courier's server with the rpcgen client (TCP and UDP, AUTH_NONE and AUTH_SYS); rpcinfo lists it; SIGTERM unregisters")
  func courierServerWithCClient() throws {
    let peer = try Self.peer.get()
    let steps = Self.quoted(Self.script)
    let out = try PrivateNetwork.run("""
      $COURIER example frw-server --port 0 > /run/courier-test/server.out 2>&1 &
      SERVER=$!
      wait_ready /run/courier-test/server.out
      section ready; cat /run/courier-test/server.out
      section rpcinfo; rpcinfo -p 127.0.0.1
      section tcp; \(peer)/frw_client 127.0.0.1 tcp \(steps)
      section udp; \(peer)/frw_client 127.0.0.1 udp --auth-sys \(steps)
      kill -TERM $SERVER; wait $SERVER
      section stopped; rpcinfo -p 127.0.0.1
      """, systemRPCBind: true)
    #expect(out["ready"].contains("registered with rpcbind"), "\(out.text)")
    let port = try #require(readyPorts(out["ready"])).tcp
    let rows = out.lines("rpcinfo").map { $0.split(separator: " ").map(String.init) }
    #expect(rows.contains(["9999", "2", "tcp", String(port)]), "\(out["rpcinfo"])")
    #expect(rows.contains(["9999", "2", "udp", String(port)]), "\(out["rpcinfo"])")
    #expect(out.lines("tcp") == Self.expected, "\(out.text)")
    // The same steps again over UDP: the writes store the same bytes, so the reads see the same.
    #expect(out.lines("udp") == Self.expected, "\(out.text)")
    #expect(!out["stopped"].contains("9999"), "still registered after SIGTERM:\n\(out["stopped"])")
  }

  @Test("the rpcgen server with Courier's client (TCP and UDP, port from rpcbind)")
  func cServerWithCourierClient() throws {
    let peer = try Self.peer.get()
    let steps = Self.quoted(Self.script)
    let out = try PrivateNetwork.run("""
      \(peer)/frw_server > /run/courier-test/server.out 2>&1 &
      wait_ready /run/courier-test/server.out
      section tcp; $COURIER example frw-client --transport tcp \(steps)
      section udp; $COURIER example frw-client --transport udp --auth-sys \(steps)
      """, systemRPCBind: true)
    let tcp = out.lines("tcp")
    #expect(tcp.first?.hasPrefix("rpcbind at 127.0.0.1:111: FILEREADWRITE v2 over tcp is at port") == true, "\(out.text)")
    #expect(Array(tcp.dropFirst()) == Self.expected, "\(out.text)")
    #expect(Array(out.lines("udp").dropFirst()) == Self.expected, "\(out.text)")
  }

  @Test("a client of an unregistered program says so (no port from rpcbind)")
  func notRegistered() throws {
    let out = try PrivateNetwork.run("""
      section missing; $COURIER example frw-client --transport udp null; echo "status $?"
      """, systemRPCBind: true)
    #expect(out.lines("missing") == ["create -> error RPC_PROGNOTREGISTERED", "FAIL create", "status 2"], "\(out.text)")
  }
}
