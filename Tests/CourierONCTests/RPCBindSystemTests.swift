import CourierTestSupport
import Foundation
import Testing

/// A private network namespace (own loopback only, private /run) in which a shell script runs,
/// with the system's rpcbind already answering or without any. rpcbind binds port 111 on every
/// address, so it never runs in the machine's own namespace.
///
/// With rpcbind, the script runs under `Interop/oncrpc/netns.sh run` (which starts and stops
/// rpcbind). Without — for `courier rpcbind` on port 111, which netns.sh's rpcbind would hold
/// — it runs under `unshare --net --mount --pid --fork --kill-child`: the script is PID 1 of
/// its own PID namespace, so everything it started dies with it, even on a timeout.
///
/// Nothing is installed here (scripts/test.sh installs rpcbind); a missing tool, or a machine
/// where namespaces cannot be made, fails the test with the reason.
enum PrivateNetwork {
  /// The shell functions every script gets: `fail`, `section NAME` (a marker the test splits
  /// the output on), `wait_ready FILE` (a READY line within 30 s), `$COURIER`; background jobs
  /// the script leaves are stopped (by PID) when it exits.
  static let prelude = #"""
    set -u
    COURIER=$1
    fail() { echo "NETNS-FAIL: $*"; exit 97; }
    section() { echo "=== $1"; }
    stop_jobs() { for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null; done; wait; }
    trap stop_jobs EXIT
    wait_ready() {
      for _ in $(seq 1 300); do
        grep -q '^READY' "$1" 2>/dev/null && return 0
        sleep 0.1
      done
      echo "NETNS-FAIL: no READY line in $1 after 30 s:"; cat "$1"; exit 97
    }
    command -v rpcinfo >/dev/null || fail "rpcinfo is not installed (scripts/test.sh installs rpcbind)"
    if [ "$2" = bare ]; then
      mount -t tmpfs tmpfs /run || fail "cannot mount a private /run"
      ip link set lo up || fail "cannot bring up lo in the namespace"
      [ -e /run/rpcbind.sock ] && fail "an rpcbind socket in a fresh /run"
    else
      rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || fail "the system rpcbind (netns.sh's) does not answer"
    fi
    mkdir -p /run/courier-test

    """#

  /// What a script printed, split at its `section` markers.
  struct Output {
    var status: Int32
    var text: String
    var sections: [String: String] = [:]

    init(status: Int32, text: String) {
      self.status = status
      self.text = text
      var current = "prelude"
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasPrefix("=== ") {
          current = String(line.dropFirst(4))
        } else {
          sections[current, default: ""] += line + "\n"
        }
      }
    }

    subscript(_ name: String) -> String { sections[name] ?? "" }
    func lines(_ name: String) -> [String] { self[name].split(separator: "\n").map(String.init) }
  }

  /// Runs a program with no signal blocked. The test runner's threads block nearly every
  /// signal and its children inherit that mask across exec, so rpcbind and netns.sh's holder
  /// would never see the SIGTERM that stops them (netns.sh then waits 5 s and sends SIGKILL).
  /// perl-base is in every Debian system.
  static let unblockSignals = ["/usr/bin/perl", "-e", "use POSIX; sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die $!; exec @ARGV or die $!"]

  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// Runs `script` (after the prelude) in a new namespace, bounded by `timeout` seconds.
  static func run(_ script: String, systemRPCBind: Bool, timeout: Double = 120) throws -> Output {
    let courier = try courierExecutable()
    let result: ProgramResult
    if systemRPCBind {
      let netns = packageRoot.appendingPathComponent("Interop/oncrpc/netns.sh").path
      guard FileManager.default.fileExists(atPath: netns) else { throw SystemTestError("\(netns) is missing") }
      result = runProgram(unblockSignals[0], unblockSignals.dropFirst() + ["/bin/bash", netns, "run", "--", "/bin/bash", "-c", prelude + script, "netns", courier, "rpcbind"],
                          timeout: timeout, environment: ["NETNS_TIMEOUT": String(Int(timeout) - 20)])
      if result.status == 2, result.output.contains("netns.sh:") {
        throw SystemTestError("Interop/oncrpc/netns.sh could not make a namespace with rpcbind:\n\(result.output)")
      }
    } else {
      let unshare = "/usr/bin/unshare"
      guard FileManager.default.isExecutableFile(atPath: unshare) else {
        throw SystemTestError("\(unshare) is missing (util-linux): cannot make a private network namespace")
      }
      result = runProgram(unblockSignals[0], unblockSignals.dropFirst() + [unshare, "--net", "--mount", "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc",
                                    "/bin/bash", "-c", prelude + script, "netns", courier, "bare"],
                          timeout: timeout)
      if let failure = result.output.split(separator: "\n").first(where: { $0.hasPrefix("unshare:") }) {
        throw SystemTestError("cannot make a private namespace (needs root): \(failure)")
      }
    }
    if let failure = result.output.split(separator: "\n").first(where: { $0.hasPrefix("NETNS-FAIL") }) {
      throw SystemTestError("\(failure)\n\(result.output)")
    }
    if result.status == -1 || result.status == -2 { throw SystemTestError(result.output) }
    return Output(status: result.status, text: result.output)
  }

  /// The `courier` executable of the build the tests run from.
  static func courierExecutable() throws -> String {
    var candidates: [URL] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      // .build/<triple>/debug/courierPackageTests.xctest → .build/<triple>/debug/courier
      candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("courier"))
    }
    candidates.append(packageRoot.appendingPathComponent(".build/debug/courier"))
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
      throw SystemTestError("no courier executable at \(candidates.map(\.path)): swift build --build-tests builds it")
    }
    return found.path
  }
}

struct SystemTestError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// The ports in a READY line (`tcp=P udp=P`).
func readyPorts(_ text: String) -> (tcp: Int, udp: Int)? {
  guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY") }) else { return nil }
  func value(_ key: String) -> Int? {
    line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
  }
  guard let tcp = value("tcp"), let udp = value("udp") else { return nil }
  return (tcp, udp)
}

/// A row of `rpcinfo -p` (`%10ld%5ld%6s%7ld`), without a service name.
func portmapperRow(_ program: Int, _ version: Int, _ proto: String, _ port: Int) -> String {
  func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
  return pad(String(program), 10) + pad(String(version), 5) + pad(proto, 6) + pad(String(port), 7)
}

/// Courier against the system's rpcbind and rpcinfo (Debian rpcbind 1.2.6, libtirpc), and the
/// system's rpcinfo against `courier rpcbind`, each in a private network namespace.
@Suite("rpcbind against the system tools", .serialized)
struct RPCBindSystemTests {
  static let program = 536_870_913  // 0x20000001

  @Test func courierServerRegistersWithTheSystemRPCBind() throws {
    let out = try PrivateNetwork.run("""
      section server
      $COURIER onc-test-server --program \(Self.program) --versions 1,3 --rpcbind >/run/courier-test/server.out 2>&1 &
      S=$!
      wait_ready /run/courier-test/server.out
      cat /run/courier-test/server.out
      section rpcinfo-p
      rpcinfo -p 127.0.0.1
      section rpcinfo
      rpcinfo 127.0.0.1
      section lookup-tcp
      $COURIER rpcbind-lookup 127.0.0.1 \(Self.program) 3 --transport tcp
      section lookup-udp
      $COURIER rpcbind-lookup 127.0.0.1 \(Self.program) 1 --transport udp
      section lookup-missing
      $COURIER rpcbind-lookup 127.0.0.1 \(Self.program + 1) 1 --transport tcp 2>&1; echo "status $?"
      section ping
      rpcinfo -t 127.0.0.1 \(Self.program) 3
      rpcinfo -u 127.0.0.1 \(Self.program) 1
      section stop
      kill -TERM $S; wait $S; echo "status $?"
      tail -n 1 /run/courier-test/server.out
      section rpcinfo-p-after
      rpcinfo -p 127.0.0.1
      """, systemRPCBind: true)
    let ports = try #require(readyPorts(out["server"]), "no READY line:\n\(out.text)")
    #expect(out["server"].contains("(local socket)"), "registered over rpcbind's local socket:\n\(out["server"])")
    let table = out.lines("rpcinfo-p")
    for version in [1, 3] {
      #expect(table.contains(portmapperRow(Self.program, version, "tcp", ports.tcp)), "v\(version) tcp in rpcinfo -p:\n\(out.text)")
      #expect(table.contains(portmapperRow(Self.program, version, "udp", ports.udp)), "v\(version) udp in rpcinfo -p:\n\(out.text)")
    }
    // Over the local socket as root, rpcbind records the owner as "superuser".
    let address = "127.0.0.1.\(ports.tcp >> 8).\(ports.tcp & 255)"
    let mine = out.lines("rpcinfo").filter { $0.hasPrefix(" \(Self.program)") }
    #expect(mine.count == 4, "\(out["rpcinfo"])")
    #expect(mine.allSatisfy { $0.contains(address) && $0.hasSuffix(" superuser") }, "\(out["rpcinfo"])")
    #expect(out["lookup-tcp"] == "port \(ports.tcp)\n", "\(out.text)")
    #expect(out["lookup-udp"] == "port \(ports.udp)\n", "\(out.text)")
    #expect(out["lookup-missing"].contains("is not registered") && out["lookup-missing"].contains("status 1"), "\(out["lookup-missing"])")
    #expect(out.lines("ping") == ["program \(Self.program) version 3 ready and waiting", "program \(Self.program) version 1 ready and waiting"],
            "\(out.text)")
    #expect(out["stop"].contains("STOPPED") && out["stop"].contains("status 0"), "\(out.text)")
    #expect(!out["rpcinfo-p-after"].contains(String(Self.program)), "still registered after shutdown:\n\(out.text)")
    #expect(out.lines("rpcinfo-p-after").count == 7, "rpcbind's own six rows and the header:\n\(out.text)")
  }

  @Test func systemRPCInfoAgainstCourierRPCBind() throws {
    let out = try PrivateNetwork.run("""
      section rpcbind
      $COURIER rpcbind >/run/courier-test/rpcbind.out 2>&1 &
      R=$!
      wait_ready /run/courier-test/rpcbind.out
      cat /run/courier-test/rpcbind.out
      section server
      $COURIER onc-test-server --program \(Self.program) --versions 2 --rpcbind >/run/courier-test/server.out 2>&1 &
      S=$!
      wait_ready /run/courier-test/server.out
      cat /run/courier-test/server.out
      section rpcinfo-p
      rpcinfo -p 127.0.0.1
      section rpcinfo
      rpcinfo 127.0.0.1
      section ping
      rpcinfo -t 127.0.0.1 \(Self.program) 2
      rpcinfo -u 127.0.0.1 \(Self.program) 2
      rpcinfo -t 127.0.0.1 100000 4
      rpcinfo -u 127.0.0.1 100000 2
      section addrlist
      rpcinfo -l 127.0.0.1 \(Self.program) 2
      section stop
      kill -TERM $S; wait $S; echo "status $?"
      section rpcinfo-p-after
      rpcinfo -p 127.0.0.1
      section stop-rpcbind
      kill -TERM $R; wait $R; echo "status $?"
      """, systemRPCBind: false)
    #expect(out["rpcbind"].hasPrefix("READY courier rpcbind tcp=111 udp=111 pid="), "\(out.text)")
    let ports = try #require(readyPorts(out["server"]), "no READY line:\n\(out.text)")
    // No local socket here: registered with PMAP v2 over TCP.
    #expect(out["server"].contains("(PMAP v2 over TCP)"), "\(out["server"])")
    var expected = ["   program vers proto   port  service"]
    for proto in ["tcp", "udp"] {
      for v in [4, 3, 2] { expected.append(portmapperRow(100000, v, proto, 111) + "  portmapper") }
    }
    expected += [portmapperRow(Self.program, 2, "tcp", ports.tcp), portmapperRow(Self.program, 2, "udp", ports.udp)]
    #expect(out.lines("rpcinfo-p") == expected, "\(out.text)")
    let rpcbindTable = out.lines("rpcinfo")
    #expect(rpcbindTable.first == "   program version netid     address                service    owner")
    #expect(rpcbindTable.contains("    100000    4    tcp       127.0.0.1.0.111        portmapper superuser"), "\(out["rpcinfo"])")
    let portText = "\(ports.tcp >> 8).\(ports.tcp & 255)"
    #expect(rpcbindTable.contains(where: { $0.hasPrefix(" \(Self.program)    2    udp       0.0.0.0.\(portText)") && $0.hasSuffix(" unknown") }),
            "\(out["rpcinfo"])")
    #expect(out.lines("ping") == [
      "program \(Self.program) version 2 ready and waiting", "program \(Self.program) version 2 ready and waiting",
      "program 100000 version 4 ready and waiting", "program 100000 version 2 ready and waiting",
    ], "\(out.text)")
    #expect(out["addrlist"].contains("inet/tcp/cots_ord       127.0.0.1.\(portText)"), "\(out["addrlist"])")
    #expect(out["addrlist"].contains("inet/udp/clts           127.0.0.1.\(portText)"), "\(out["addrlist"])")
    #expect(out["stop"].contains("status 0"), "\(out.text)")
    #expect(out.lines("rpcinfo-p-after") == Array(expected.prefix(7)), "\(out.text)")
    #expect(out["stop-rpcbind"].contains("status 0"), "\(out.text)")
  }

  @Test func courierRPCInfoPrintsWhatTheSystemRPCInfoPrints() throws {
    let out = try PrivateNetwork.run("""
      $COURIER onc-test-server --program \(Self.program) --versions 1,2 --rpcbind >/run/courier-test/server.out 2>&1 &
      wait_ready /run/courier-test/server.out
      section system-p
      rpcinfo -p 127.0.0.1
      section courier-p
      $COURIER rpcinfo -p 127.0.0.1
      section system
      rpcinfo 127.0.0.1
      section courier
      $COURIER rpcinfo 127.0.0.1
      section system-t
      rpcinfo -t 127.0.0.1 \(Self.program)
      section courier-t
      $COURIER rpcinfo -t 127.0.0.1 \(Self.program)
      section end
      """, systemRPCBind: true)
    #expect(out.lines("system-p").count == 11, "\(out.text)")
    #expect(out["courier-p"] == out["system-p"], "\(out.text)")
    #expect(out.lines("system").count == 17, "\(out.text)")
    #expect(out["courier"] == out["system"], "\(out.text)")
    #expect(out["courier-t"] == out["system-t"], "\(out.text)")
  }

  /// The embedded port mapper answers a sequence of SET/UNSET/GETPORT/GETADDR/GETVERSADDR/
  /// GETADDRLIST calls exactly as the system rpcbind does (over TCP from loopback).
  @Test func embeddedPortmapperFollowsTheSystemRPCBindsRules() throws {
    let system = try PrivateNetwork.run("section probe\n$COURIER rpcbind-conformance 127.0.0.1\n", systemRPCBind: true)
    let embedded = try PrivateNetwork.run("""
      $COURIER rpcbind >/run/courier-test/rpcbind.out 2>&1 &
      wait_ready /run/courier-test/rpcbind.out
      section probe
      $COURIER rpcbind-conformance 127.0.0.1
      """, systemRPCBind: false)
    #expect(system.lines("probe").count == 29, "\(system.text)")
    #expect(!system["probe"].contains("error"), "\(system.text)")
    #expect(embedded.lines("probe") == system.lines("probe"))
  }

  /// SET and UNSET from an address that is not loopback (10.9.0.1 on the namespace's lo) are
  /// refused with AUTH_ERROR / AUTH_TOOWEAK by both; lookups are answered.
  @Test func registrationsFromOtherAddressesAreRefusedByBoth() throws {
    let probe = "section probe\n$COURIER rpcbind-conformance --remote 10.9.0.1\n"
    let system = try PrivateNetwork.run("ip addr add 10.9.0.1/32 dev lo || fail 'cannot add 10.9.0.1'\n" + probe, systemRPCBind: true)
    let embedded = try PrivateNetwork.run("""
      ip addr add 10.9.0.1/32 dev lo || fail 'cannot add 10.9.0.1'
      $COURIER rpcbind --host 0.0.0.0 >/run/courier-test/rpcbind.out 2>&1 &
      wait_ready /run/courier-test/rpcbind.out
      """ + "\n" + probe, systemRPCBind: false)
    let refused = "AUTH_ERROR: authentication error (AuthStatus(rawValue: 5))"
    #expect(system.lines("probe") == [
      "v4 SET -> \(refused)", "v3 UNSET -> \(refused)", "v2 SET -> \(refused)", "v2 UNSET -> \(refused)",
      "v2 GETPORT 100000 2 tcp -> 111", "dump -> 0 registrations of p",
    ], "\(system.text)")
    #expect(embedded.lines("probe") == system.lines("probe"), "\(embedded.text)")
  }
}
