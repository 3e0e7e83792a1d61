import CourierCore
import CourierExamples
import CourierGIOP
import CourierInProcess
import CourierNIO
import CourierWire
import Foundation
import Synchronization
import Testing

/// The transports the end-to-end tests run over.
enum TransportKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
  case inProcess
  case tcp
  var testDescription: String { rawValue }
}

/// A running GIOPServer with the Echo ("Echo") and PersonList ("People") servants, and a client ORB.
final class ServerHarness: Sendable {
  let kind: TransportKind
  let adapter: ObjectAdapter
  let server: GIOPServer
  let connector: RecordingConnector
  let orb: ORB
  let echo = EchoImplementation()

  init(_ kind: TransportKind, configuration: GIOPServer.Configuration = GIOPServer.Configuration(),
       adapter: ObjectAdapter = ObjectAdapter(), orbConfiguration: ORB.Configuration = ORB.Configuration()) throws {
    self.kind = kind
    self.adapter = adapter
    adapter.activate(Bench_Echo.Servant(echo), key: "Echo")
    adapter.activate(Demo_PersonList.Servant(PersonListImplementation(listname: "Friends")), key: "People")
    let listener: any StreamListener
    let base: any StreamConnector
    switch kind {
    case .inProcess:
      let t = InProcessTransport()
      listener = t.listener
      base = t.connector
    case .tcp:
      listener = try TCPListener(host: "127.0.0.1", port: 0)
      base = TCPConnector()
    }
    connector = RecordingConnector(base)
    server = GIOPServer(adapter: adapter, listener: listener, configuration: configuration)
    server.start()
    orb = ORB(configuration: orbConfiguration, connector: connector)
  }

  /// A reference made by the server (IIOP 1.2 with ORB type and code sets components).
  func reference(_ key: String = "Echo", typeID: String = Bench_Echo.repositoryID) throws -> ObjectReference {
    orb.object(try server.reference(key: key, typeID: typeID))
  }

  /// A hand-made reference with a profile of `version` (and the server's components from 1.1 on).
  func reference(_ key: String = "Echo", version: GIOPVersion, components: Bool = true, on orb: ORB? = nil) throws -> ObjectReference {
    let made = try IIOPProfile(try server.reference(key: key, typeID: "").profiles[0])
    let profile = IIOPProfile(version: version, host: server.listener.host, port: server.port, objectKey: Array(key.utf8),
                              components: version >= .v1_1 && components ? made.components : [])
    return (orb ?? self.orb).object(try IOR(typeID: "", profile: profile))
  }

  /// A fresh client ORB (so a fresh connection) over the same transport.
  func newORB(_ configuration: ORB.Configuration = ORB.Configuration()) -> ORB {
    ORB(configuration: configuration, connector: connector)
  }

  /// A new raw connection to the server.
  func rawConnection() throws -> any ByteStream {
    try connector.connect(host: server.listener.host, port: server.port, deadline: .now + .seconds(5))
  }

  func stop() {
    orb.shutdown()
    server.shutdown(timeout: .seconds(5))
  }

  /// The server still answers a normal call on a fresh connection.
  func expectAlive(sourceLocation: SourceLocation = #_sourceLocation) {
    let fresh = newORB()
    defer { fresh.shutdown() }
    do {
      let stub = Bench_Echo.Blocking(fresh.object(try server.reference(key: "Echo", typeID: Bench_Echo.repositoryID)))
      let sum = try stub.add(a: 2, b: 40, options: CallOptions(timeout: .seconds(5)))
      #expect(sum == 42, sourceLocation: sourceLocation)
    } catch {
      Issue.record("server no longer answers: \(error)", sourceLocation: sourceLocation)
    }
  }
}

/// A connector that remembers every stream it opened and what was written to it.
final class RecordingConnector: StreamConnector {
  let base: any StreamConnector
  private let streams = Mutex<[RecordingStream]>([])

  init(_ base: any StreamConnector) { self.base = base }

  func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream {
    let s = RecordingStream(try base.connect(host: host, port: port, deadline: deadline))
    streams.withLock { $0.append(s) }
    return s
  }

  var opened: [RecordingStream] { streams.withLock { $0 } }

  /// The streams something was written to (two callers racing to connect may open a spare
  /// connection that the ORB closes unused).
  var used: [RecordingStream] { opened.filter { !$0.written.isEmpty } }
}

/// Forwards to another stream and keeps the first 64 KiB written.
final class RecordingStream: ByteStream, @unchecked Sendable {
  // @unchecked: `_written` is guarded by `lock`.
  let base: any ByteStream
  private let lock = NSLock()
  private var _written: [UInt8] = []

  init(_ base: any ByteStream) { self.base = base }

  var written: [UInt8] { lock.withLock { _written } }

  /// The first complete message written.
  func firstMessage() throws -> GIOPIncoming {
    let w = written
    guard w.count >= GIOPHeader.size else { throw GoldenError("nothing written") }
    let header = try parseHeader(w).get()
    let end = GIOPHeader.size + Int(header.messageSize)
    guard w.count >= end else { throw GoldenError("first message incomplete") }
    return GIOPIncoming(header: header, bytes: Array(w[..<end]))
  }

  func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    lock.withLock {
      if _written.count < 65536 { _written.append(contentsOf: bytes.prefix(65536 - _written.count)) }
    }
    try base.write(bytes)
  }

  func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    try base.read(into: buffer, deadline: deadline)
  }

  func shutdown() { base.shutdown() }
  var peerDescription: String { base.peerDescription }
}

/// A gate a servant waits at (bounded), so tests order events without timing guesses.
final class Gate: Sendable {
  private let state = Mutex((open: false, entered: 0, finished: 0))
  private let cond = ConditionLock()

  func open() {
    cond.withLock {
      state.withLock { $0.open = true }
      cond.broadcast()
    }
  }

  /// Waits until the gate opens or `limit` passes; returns whether it opened.
  @discardableResult
  func pass(limit: Duration) -> Bool {
    let deadline = ContinuousClock.now + limit
    state.withLock { $0.entered += 1 }
    cond.withLock {
      cond.broadcast()
      while !state.withLock({ $0.open }) {
        if !cond.wait(until: deadline) { break }
      }
    }
    let opened = state.withLock { $0.open }
    state.withLock { $0.finished += 1 }
    return opened
  }

  var entered: Int { state.withLock { $0.entered } }
  var finished: Int { state.withLock { $0.finished } }

  /// Waits until `count` calls have entered or `timeout` passes; returns whether they did.
  func waitForEntered(_ count: Int, timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    return cond.withLock {
      while entered < count {
        if !cond.wait(until: deadline) { return entered >= count }
      }
      return true
    }
  }
  var isOpen: Bool { state.withLock { $0.open } }
}

/// A servant for timing tests: `block` waits at the gate (at most `limitMs`, default 300),
/// `add` adds two long longs, `sleep` sleeps the given milliseconds (at most 300).
final class GateServant: Servant {
  let gate = Gate()
  let order = Mutex<[String]>([])
  let serial: Bool
  let blockLimit: Duration

  init(serial: Bool = false, blockLimit: Duration = .milliseconds(300)) {
    self.serial = serial
    self.blockLimit = blockLimit
  }

  var repositoryIDs: [String] { ["IDL:Test/Gate:1.0"] }
  var dispatchesSerially: Bool { serial }

  func dispatch(_ request: inout ServerRequest) throws {
    switch request.operation {
    case "block":
      let opened = gate.pass(limit: blockLimit)
      order.withLock { $0.append("block") }
      request.reply.write(opened)
    case "add":
      let a: Int64 = try request.read()
      let b: Int64 = try request.read()
      order.withLock { $0.append("add") }
      request.reply.write(a &+ b)
    case "sleep":
      let ms: Int32 = try request.read()
      sleepMilliseconds(Int(min(max(ms, 0), 300)))
      request.reply.write(ms)
    default:
      throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no, "no \(request.operation)")
    }
  }
}

/// Counts how many calls are inside `enter` at once.
final class OverlapServant: Servant {
  let serial: Bool
  let inside = Atomic<Int>(0)
  let maxInside = Atomic<Int>(0)
  let calls = Atomic<Int>(0)
  /// Signalled whenever a call enters.
  let peers = ConditionLock()
  /// When set, a call waits (bounded) for a second one to be inside too.
  let waitForPeer: Bool

  init(serial: Bool, waitForPeer: Bool = false) {
    self.serial = serial
    self.waitForPeer = waitForPeer
  }

  var repositoryIDs: [String] { ["IDL:Test/Overlap:1.0"] }
  var dispatchesSerially: Bool { serial }

  func dispatch(_ request: inout ServerRequest) throws {
    guard request.operation == "enter" else {
      throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no, "no \(request.operation)")
    }
    let now = inside.add(1, ordering: .sequentiallyConsistent).newValue
    _ = maxInside.max(now, ordering: .sequentiallyConsistent)
    peers.withLock { peers.broadcast() }
    // Stay inside until a second call is in too (waitForPeer: up to 1 s), or for 3 ms, so
    // that calls which could overlap do.
    let deadline = ContinuousClock.now + (waitForPeer ? .seconds(1) : .milliseconds(3))
    peers.withLock {
      while maxInside.load(ordering: .sequentiallyConsistent) < 2 || !waitForPeer, peers.wait(until: deadline) {}
    }
    inside.subtract(1, ordering: .sequentiallyConsistent)
    calls.add(1, ordering: .sequentiallyConsistent)
  }
}

/// Runs `count` threads of `body(index)` and waits for all (bounded by `limit`); returns the errors.
func runThreads(_ count: Int, limit: Duration = .seconds(30), _ body: @escaping @Sendable (Int) throws -> Void) -> [String] {
  let done = Mutex((finished: 0, errors: [String]()))
  let cond = ConditionLock()
  for i in 0..<count {
    spawnThread(name: "test-\(i)") {
      var failure: String?
      do { try body(i) } catch { failure = "thread \(i): \(error)" }
      cond.withLock {
        done.withLock { d in
          d.finished += 1
          if let failure { d.errors.append(failure) }
        }
        cond.broadcast()
      }
    }
  }
  let deadline = ContinuousClock.now + limit
  cond.withLock {
    while done.withLock({ $0.finished }) < count {
      if !cond.wait(until: deadline) { break }
    }
  }
  let result = done.withLock { $0 }
  if result.finished < count { return result.errors + ["only \(result.finished) of \(count) threads finished in time"] }
  return result.errors
}
