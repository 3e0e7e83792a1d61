import CourierTestSupport
import Testing

/// `courier demo` (the README's first command) runs to the end, ONC RPC section included.
@Suite("courier demo")
struct DemoTests {
  @Test("the demo runs every seed example, and its ONC RPC part finds the server through the port mapper")
  func demo() throws {
    let result = runProgram(try PrivateNetwork.courierExecutable(), ["demo"], timeout: 180)
    #expect(result.status == 0, "\(result.output)")
    let lines = result.output.split(separator: "\n").map(String.init)
    let onc = try #require(lines.firstIndex { $0.hasPrefix("== ONC RPC") }, "\(result.output)")
    let part = Array(lines[onc...])
    #expect(part.contains { $0.contains("registered with rpcbind") })
    #expect(part.filter { $0.hasPrefix("      9999    2") }.count == 2, "rpcinfo lists tcp and udp: \(part)")
    #expect(part.contains("read 1 0 14 -> 14 \"hello, \\0\\0world\""))
    #expect(part.contains("OK 8 steps"))
    #expect(part.contains("OK 2 steps"))
    // After the server's SIGTERM, the table has no 9999 (the last rpcinfo).
    let last = try #require(part.lastIndex { $0.contains("after the server's SIGTERM") })
    #expect(!part[last...].contains { $0.hasPrefix("      9999") })
  }
}
