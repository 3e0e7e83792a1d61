import CourierCore
import CourierExamples
import CourierGIOP
import CourierInProcess
import CourierNIO
import CourierWire
import Foundation
import Synchronization
import Testing

/// Expects `body` to throw an RPCError with `code` (and `completion`, if given); returns it.
@discardableResult
func expectRPCError(_ code: RPCError.Code, completion: CompletionStatus? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> Void) -> RPCError? {
  do {
    try body()
    Issue.record("expected \(code), the call succeeded", sourceLocation: sourceLocation)
  } catch let e as RPCError {
    #expect(e.code == code, "got \(e)", sourceLocation: sourceLocation)
    if let completion { #expect(e.completion == completion, "got \(e)", sourceLocation: sourceLocation) }
    return e
  } catch {
    Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
  }
  return nil
}

@Suite("end to end over in-process and TCP transports")
struct InProcessTests {
  static let kinds = TransportKind.allCases

  @Test(arguments: kinds)
  func echoAddAndBytes(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let stub = Bench_Echo.Blocking(try h.reference())
    #expect(try stub.add(a: 2, b: 40) == 42)
    #expect(try stub.add(a: -7, b: 3) == -4)
    #expect(try stub.add(a: .max, b: 1) == .min)
    for size in [0, 1, 1024, 200_000] {
      let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
      let back = try stub.echoBytes(data: data)
      #expect(back.count == size)
      #expect(back == data, "echoBytes(\(size))")
    }
    // Every call went over one connection.
    #expect(h.connector.opened.count == 1)
  }

  @Test(arguments: kinds)
  func onewayPing(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let stub = Bench_Echo.Blocking(try h.reference())
    for _ in 0..<5 { try stub.ping() }
    #expect(h.echo.waitForPings(atLeast: 5, timeout: .seconds(2)) == 5, "pings counted: \(h.echo.pingCount)")
    // The oneway requests said so on the wire (GIOP 1.2 response_flags 0).
    let first = try #require(h.connector.opened.first).firstMessage()
    var r = first.bodyReader()
    let header = try RequestHeader.decode(from: &r, version: first.header.version)
    #expect(header.operation == "ping")
    #expect(header.responseFlags == 0)
    #expect(!header.responseExpected)
  }

  @Test(arguments: kinds)
  func personList(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let people = try Demo_PersonList.Blocking.narrow(try h.reference("People", typeID: ""))
    #expect(try people.listname == "Friends")
    #expect(try people.number() == 0)
    let ada = Demo_Person(name: "Ada", place: "London", year: 1815)
    let zoe = Demo_Person(name: "Zoë", place: "Zürich", year: 1999)
    try people.addPerson(p: ada)
    try people.addPerson(p: zoe)
    #expect(try people.number() == 2)
    #expect(try people.getPerson(name: "Ada") == ada)
    #expect(try people.getPerson(name: "Zoë") == zoe)
    #expect(throws: Demo_NotFound(name: "Nobody")) { try people.getPerson(name: "Nobody") }
    // An undeclared user exception is UNKNOWN at the client.
    let ref = try h.reference("People", typeID: Demo_PersonList.repositoryID)
    expectRPCError(.unknown) { _ = try ref.invoke("getPerson") { w in try w.writeString("Nobody") } }
    expectRPCError(.badOperation, completion: .no) { _ = try ref.invoke("removePerson") }
  }

  @Test(arguments: kinds)
  func isAAndNonExistent(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let echo = try h.reference("Echo", typeID: "")
    #expect(try echo.isA(Bench_Echo.repositoryID))
    #expect(try echo.isA("IDL:omg.org/CORBA/Object:1.0"))
    #expect(try !echo.isA("IDL:Other:1.0"))
    #expect(try !echo.isA(Demo_PersonList.repositoryID))
    #expect(try echo.nonExistent() == false)
    #expect(try h.reference("NoSuchKey", typeID: "").nonExistent() == true)
    // narrow asks with _is_a when the IOR has no type id, and refuses the wrong type.
    _ = try Bench_Echo.Blocking.narrow(echo)
    expectRPCError(.badParam) { _ = try Demo_PersonList.Blocking.narrow(echo) }
    // A corbaloc reference to the same object.
    let loc = try h.orb.object("corbaloc::1.2@\(h.server.listener.host):\(h.server.port)/Echo")
    #expect(try Bench_Echo.Blocking.narrow(loc).add(a: 1, b: 1) == 2)
  }

  @Test(arguments: kinds)
  func systemExceptions(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let missing = Bench_Echo.Blocking(try h.reference("NoSuchKey"))
    let e = expectRPCError(.objectNotExist, completion: .no) { _ = try missing.add(a: 1, b: 2) }
    #expect(e?.minor == CourierMinor.noSuchObject)
    let echo = try h.reference()
    let bad = expectRPCError(.badOperation, completion: .no) { _ = try echo.invoke("noSuchOperation") }
    #expect(bad?.minor == CourierMinor.noSuchOperation)
    // Arguments the servant cannot read: MARSHAL.
    expectRPCError(.marshal) { _ = try echo.invoke("add") { w in w.write(Int32(1)) } }
    // The connection survived all of it.
    #expect(try Bench_Echo.Blocking(echo).add(a: 20, b: 22) == 42)
    #expect(h.connector.opened.count == 1)
  }

  @Test(arguments: kinds, [GIOPVersion.v1_0, .v1_1, .v1_2])
  func everyGIOPVersion(_ kind: TransportKind, _ version: GIOPVersion) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let ref = try h.reference("Echo", version: version)
    let stub = Bench_Echo.Blocking(ref)
    #expect(try stub.add(a: 2, b: 40) == 42)
    let data = pattern(10_000)
    #expect(try stub.echoBytes(data: data) == data)
    #expect(try ref.isA(Bench_Echo.repositoryID))
    #expect(try ref.nonExistent() == false)
    try stub.ping()
    #expect(h.echo.waitForPings(atLeast: 1, timeout: .seconds(2)) == 1)
    let people = Demo_PersonList.Blocking(try h.reference("People", version: version))
    let zoe = Demo_Person(name: "Zoë", place: "Zürich", year: 1999)
    try people.addPerson(p: zoe)
    #expect(try people.getPerson(name: "Zoë") == zoe)
    #expect(throws: Demo_NotFound(name: "X")) { try people.getPerson(name: "X") }
    expectRPCError(.objectNotExist, completion: .no) { _ = try Bench_Echo.Blocking(try h.reference("Gone", version: version)).add(a: 1, b: 1) }

    // On the wire: the profile's version, and the CodeSets context only from GIOP 1.1 on.
    let stream = try #require(h.connector.opened.first)
    let first = try stream.firstMessage()
    #expect(first.header.version == version)
    #expect(first.header.messageType == .request)
    var r = first.bodyReader()
    let header = try RequestHeader.decode(from: &r, version: version)
    let codeSets = header.serviceContexts.first { $0.id == ServiceContext.codeSetsID }
    if version >= .v1_1 {
      #expect(try codeSets?.decodeCodeSets() == TransmissionCodeSets(char: .utf8, wchar: .utf16))
    } else {
      #expect(codeSets == nil)
    }
  }

  @Test(arguments: kinds)
  func profileWithoutCodeSetsUsesLatin1(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let people = Demo_PersonList.Blocking(try h.reference("People", version: .v1_2, components: false))
    let p = Demo_Person(name: "Åsa", place: "Malmö", year: 1970)
    try people.addPerson(p: p)
    #expect(try people.getPerson(name: "Åsa") == p)
    let stream = try #require(h.connector.opened.first)
    let first = try stream.firstMessage()
    var r = first.bodyReader()
    let header = try RequestHeader.decode(from: &r, version: .v1_2)
    #expect(header.serviceContexts.isEmpty)
    // "Åsa" went as ISO-8859-1: 3 octets and a NUL.
    #expect(first.bytes.contains(0xC5))
  }

  @Test(arguments: kinds)
  func concurrentCallersShareOneConnection(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let stub = Bench_Echo.Blocking(try h.reference())
    let errors = runThreads(8) { t in
      for i in 0..<200 {
        let sum = try stub.add(a: Int64(t), b: Int64(i * 1000))
        guard sum == Int64(t + i * 1000) else { throw GoldenError("thread \(t) call \(i): got \(sum)") }
        if i % 50 == 0 {
          let data = pattern(100 + t * 10 + i)
          guard try stub.echoBytes(data: data) == data else { throw GoldenError("thread \(t): echo mismatch") }
        }
      }
    }
    #expect(errors.isEmpty, "\(errors)")
    #expect(h.connector.used.count == 1, "one shared connection, got \(h.connector.used.count)")
  }

  @Test(arguments: kinds)
  func concurrentAsyncCallers(_ kind: TransportKind) async throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let stub = Bench_Echo.Client(try h.reference())
    let total = try await withThrowingTaskGroup(of: Int64.self) { group in
      for t in 0..<8 {
        group.addTask {
          var sum: Int64 = 0
          for i in 0..<50 {
            let r = try await stub.add(a: Int64(t), b: Int64(i))
            guard r == Int64(t + i) else { throw GoldenError("task \(t) call \(i): got \(r)") }
            sum += r
          }
          return sum
        }
      }
      var all: Int64 = 0
      for try await s in group { all += s }
      return all
    }
    // Σt Σi (t + i) = 50·Σt + 8·Σi = 50·28 + 8·1225
    #expect(total == 50 * 28 + 8 * 1225)
    #expect(h.connector.used.count == 1)
  }

  @Test(arguments: kinds)
  func deferredCalls(_ kind: TransportKind) async throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let echo = try h.reference()
    var pending: [PendingCall] = []
    for i in 0..<6 {
      pending.append(try echo.invokeDeferred("add") { w in
        w.write(Int64(i))
        w.write(Int64(100))
      })
    }
    // Collected in reverse order: each gets its own reply.
    for (i, call) in pending.enumerated().reversed() {
      var reply = try call.wait()
      #expect(try reply.read(Int64.self) == Int64(i + 100))
    }
    // Async collection of a deferred call, and an exception through one.
    let later = try echo.invokeDeferred("echoBytes") { w in w.writeOctetSequence([1, 2, 3]) }
    let failing = try echo.invokeDeferred("nope")
    let box = try await later.reply()
    #expect(try box.read([UInt8].self) == [1, 2, 3])
    expectRPCError(.badOperation) { _ = try failing.wait() }
  }

  @Test(arguments: kinds)
  func perCallTimeout(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let slow = GateServant(blockLimit: .milliseconds(300))
    h.adapter.activate(slow, key: "Slow")
    let ref = try h.reference("Slow", typeID: "")
    let started = ContinuousClock.now
    let e = expectRPCError(.timeout) { _ = try ref.invoke("block", options: CallOptions(timeout: .milliseconds(50))) }
    let elapsed = ContinuousClock.now - started
    #expect(e?.completion == .maybe)
    // It gave up before the servant answered (the servant waits 300 ms for a gate nobody opens).
    #expect(slow.gate.finished == 0, "the call waited for the reply (\(elapsed))")
    #expect(elapsed < .seconds(1), "timed out after \(elapsed)")
    // The same connection still works (the late reply is dropped).
    var reply = try ref.invoke("add", options: CallOptions(timeout: .seconds(5))) { w in
      w.write(Int64(40))
      w.write(Int64(2))
    }
    #expect(try reply.read(Int64.self) == 42)
    #expect(h.connector.opened.count == 1)
    // A per-reference default timeout works the same way.
    let impatient = ref.with(options: CallOptions(timeout: .milliseconds(50)))
    expectRPCError(.timeout) { _ = try impatient.invoke("block") }
    var ok = try ref.invoke("sleep", options: CallOptions(timeout: .seconds(5))) { w in w.write(Int32(1)) }
    #expect(try ok.read(Int32.self) == 1)
  }

  @Test(arguments: kinds)
  func transientKeyDiesWithItsAdapter(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let key = h.adapter.activateTransient(Bench_Echo.Servant(EchoImplementation()))
    #expect(key.starts(with: ObjectAdapter.transientKeyMagic + h.adapter.instanceID))
    let ref = h.orb.object(try h.server.reference(key: key, typeID: Bench_Echo.repositoryID))
    #expect(try Bench_Echo.Blocking(ref).add(a: 1, b: 2) == 3)
    // A second transient key differs.
    let key2 = h.adapter.activateTransient(Bench_Echo.Servant(EchoImplementation()))
    #expect(key2 != key)

    // "Restart": a new adapter on a new server; the old key is gone.
    let restarted = try ServerHarness(kind, adapter: ObjectAdapter())
    defer { restarted.stop() }
    #expect(restarted.adapter.instanceID != h.adapter.instanceID)
    let stale = restarted.orb.object(try restarted.server.reference(key: key, typeID: Bench_Echo.repositoryID))
    expectRPCError(.objectNotExist, completion: .no) { _ = try Bench_Echo.Blocking(stale).add(a: 1, b: 2) }
    #expect(try stale.nonExistent() == true)
    // Persistent keys work on the new server.
    #expect(try Bench_Echo.Blocking(try restarted.reference()).add(a: 1, b: 2) == 3)
    // Deactivation kills the key on the original server too.
    #expect(h.adapter.deactivate(key: key))
    expectRPCError(.objectNotExist) { _ = try Bench_Echo.Blocking(ref).add(a: 1, b: 2) }
  }

  final class CountingLocator: ServantLocator {
    let calls = Mutex<[String]>([])
    let activate: Bool
    init(activate: Bool) { self.activate = activate }
    func locate(objectKey: [UInt8]) throws -> LocatedServant? {
      let key = String(decoding: objectKey, as: UTF8.self)
      calls.withLock { $0.append(key) }
      guard key.hasPrefix("lazy-") else { return nil }
      return LocatedServant(Bench_Echo.Servant(EchoImplementation()), activate: activate)
    }
  }

  @Test(arguments: kinds)
  func servantLocatorActivatesLazily(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let locator = CountingLocator(activate: true)
    h.adapter.setServantLocator(locator)
    let lazy = Bench_Echo.Blocking(try h.reference("lazy-1"))
    #expect(locator.calls.withLock { $0 }.isEmpty)
    #expect(try lazy.add(a: 1, b: 2) == 3)
    #expect(try lazy.add(a: 3, b: 4) == 7)
    #expect(try lazy.reference.isA(Bench_Echo.repositoryID))
    #expect(locator.calls.withLock { $0 } == ["lazy-1"], "the locator is asked once, then the servant is active")
    // Active keys never reach the locator; unknown ones do, and get OBJECT_NOT_EXIST.
    #expect(try Bench_Echo.Blocking(try h.reference()).add(a: 0, b: 0) == 0)
    expectRPCError(.objectNotExist) { _ = try Bench_Echo.Blocking(try h.reference("other")).add(a: 1, b: 1) }
    #expect(locator.calls.withLock { $0 } == ["lazy-1", "other"])

    // Without activation the locator is asked every time.
    let each = CountingLocator(activate: false)
    h.adapter.setServantLocator(each)
    let lazy2 = Bench_Echo.Blocking(try h.reference("lazy-2"))
    #expect(try lazy2.add(a: 1, b: 1) == 2)
    #expect(try lazy2.add(a: 1, b: 1) == 2)
    #expect(each.calls.withLock { $0 } == ["lazy-2", "lazy-2"])
    #expect(try lazy.add(a: 5, b: 5) == 10, "lazy-1 stayed active")
  }

  @Test(arguments: kinds)
  func serializedServantNeverOverlaps(_ kind: TransportKind) throws {
    var config = GIOPServer.Configuration()
    config.dispatchMode = .concurrent
    let h = try ServerHarness(kind, configuration: config)
    defer { h.stop() }
    let serial = OverlapServant(serial: true)
    let free = OverlapServant(serial: false, waitForPeer: true)
    h.adapter.activate(serial, key: "Serial")
    h.adapter.activate(free, key: "Free")
    // Four clients (four connections), concurrent dispatch: only the servant's own gate serializes.
    let orbs = (0..<4).map { _ in h.newORB() }
    defer { for o in orbs { o.shutdown() } }
    let serialIOR = try h.server.reference(key: "Serial", typeID: "")
    let freeIOR = try h.server.reference(key: "Free", typeID: "")
    var errors = runThreads(4) { t in
      let ref = orbs[t].object(serialIOR)
      let pending = try (0..<5).map { _ in try ref.invokeDeferred("enter") }
      for p in pending { _ = try p.wait() }
    }
    #expect(errors.isEmpty, "\(errors)")
    #expect(serial.calls.load(ordering: .sequentiallyConsistent) == 20)
    #expect(serial.maxInside.load(ordering: .sequentiallyConsistent) == 1, "a serialized servant ran two calls at once")
    // The control: without the flag the same load does overlap.
    errors = runThreads(2) { t in
      let ref = orbs[t].object(freeIOR)
      _ = try ref.invoke("enter", options: CallOptions(timeout: .seconds(5)))
    }
    #expect(errors.isEmpty, "\(errors)")
    #expect(free.maxInside.load(ordering: .sequentiallyConsistent) >= 2)
  }

  @Test(arguments: kinds)
  func concurrentDispatchOverlapsCallsOnOneConnection(_ kind: TransportKind) throws {
    var config = GIOPServer.Configuration()
    config.dispatchMode = .concurrent
    let h = try ServerHarness(kind, configuration: config)
    defer { h.stop() }
    let servant = GateServant(blockLimit: .seconds(3))
    h.adapter.activate(servant, key: "Gate")
    let ref = try h.reference("Gate", typeID: "")
    let slow = try ref.invokeDeferred("block")
    #expect(servant.gate.waitForEntered(1, timeout: .seconds(2)))
    // The fast call is answered while the slow one is still blocked.
    var fast = try ref.invoke("add", options: CallOptions(timeout: .seconds(2))) { w in
      w.write(Int64(1))
      w.write(Int64(2))
    }
    #expect(try fast.read(Int64.self) == 3)
    #expect(servant.gate.finished == 0, "the slow call finished first")
    servant.gate.open()
    var r = try slow.wait()
    #expect(try r.read(Bool.self) == true, "the slow call ended because the gate opened")
    #expect(servant.order.withLock { $0 } == ["add", "block"])
    #expect(h.connector.opened.count == 1)
  }

  @Test(arguments: kinds)
  func concurrentDispatchIsNotStarvedBySlowCalls(_ kind: TransportKind) throws {
    // More slow calls in flight than the machine has cores: every one of them still gets a
    // thread at once, and a fast call is not held up behind them.
    var config = GIOPServer.Configuration()
    config.dispatchMode = .concurrent
    let h = try ServerHarness(kind, configuration: config)
    defer { h.stop() }
    let servant = GateServant(blockLimit: .seconds(3))
    h.adapter.activate(servant, key: "Gate")
    let ref = try h.reference("Gate", typeID: "")
    let slowCount = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
    let started = ContinuousClock.now
    let slow = try (0..<slowCount).map { _ in try ref.invokeDeferred("block") }
    let allIn = servant.gate.waitForEntered(slowCount, timeout: .seconds(1))
    #expect(allIn, "only \(servant.gate.entered) of \(slowCount) slow calls started within a second")
    var fast = try ref.invoke("add", options: CallOptions(timeout: .milliseconds(500))) { w in
      w.write(Int64(1))
      w.write(Int64(2))
    }
    #expect(try fast.read(Int64.self) == 3)
    #expect(ContinuousClock.now - started < .seconds(1))
    servant.gate.open()
    for call in slow {
      var r = try call.wait()
      #expect(try r.read(Bool.self) == true)
    }
  }

  @Test(arguments: kinds)
  func perConnectionDispatchRunsCallsInOrder(_ kind: TransportKind) throws {
    // The contrast to the test above: one thread per connection, so the fast call waits.
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let servant = GateServant(blockLimit: .seconds(3))
    h.adapter.activate(servant, key: "Gate")
    let ref = try h.reference("Gate", typeID: "")
    let slow = try ref.invokeDeferred("block")
    #expect(servant.gate.waitForEntered(1, timeout: .seconds(2)))
    expectRPCError(.timeout) {
      _ = try ref.invoke("add", options: CallOptions(timeout: .milliseconds(150))) { w in
        w.write(Int64(1))
        w.write(Int64(2))
      }
    }
    servant.gate.open()
    var r = try slow.wait()
    #expect(try r.read(Bool.self) == true)
    #expect(try Bench_Echo.Blocking(try h.reference()).add(a: 1, b: 1) == 2)
  }

  @Test(arguments: kinds)
  func gracefulShutdownFinishesCallsInFlight(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let servant = GateServant(blockLimit: .milliseconds(300))
    h.adapter.activate(servant, key: "Gate")
    let ref = try h.reference("Gate", typeID: "")
    let slow = try ref.invokeDeferred("block")
    #expect(servant.gate.waitForEntered(1, timeout: .seconds(2)))
    // Shutdown waits for the call in flight (the servant returns after 300 ms).
    h.server.shutdown(timeout: .seconds(5))
    #expect(servant.gate.finished == 1, "shutdown returned before the call in flight finished")
    var r = try slow.wait()
    #expect(try r.read(Bool.self) == false, "the call ran to its end")
    // Afterwards calls fail: TRANSIENT (CloseConnection, or cannot connect) or COMM_FAILURE.
    do {
      _ = try Bench_Echo.Blocking(try h.reference()).add(a: 1, b: 1, options: CallOptions(timeout: .seconds(5)))
      Issue.record("a call after shutdown succeeded")
    } catch let e as RPCError {
      #expect(e.code == .transient || e.code == .commFailure, "got \(e)")
    }
    // A new client cannot get in either.
    let fresh = h.newORB()
    defer { fresh.shutdown() }
    do {
      _ = try Bench_Echo.Blocking(fresh.object(try h.server.reference(key: "Echo", typeID: ""))).add(a: 1, b: 1, options: CallOptions(timeout: .seconds(2)))
      Issue.record("a new connection after shutdown was served")
    } catch let e as RPCError {
      #expect(e.code == .transient || e.code == .commFailure, "got \(e)")
    }
  }

  @Test(arguments: kinds)
  func shutdownClosesIdleConnectionsWithCloseConnection(_ kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let raw = try h.rawConnection()
    defer { raw.shutdown() }
    // Make sure the server has accepted the connection: one call on it.
    var b = GIOPMessageBuilder(.request, version: .v1_1)
    try RequestHeader(requestID: 1, responseExpected: true, target: .key(echoKey), operation: "add").encode(to: &b.writer, version: .v1_1)
    b.beginBody()
    b.writer.write(Int64(1))
    b.writer.write(Int64(1))
    try raw.write(b.finish())
    var reader = GIOPMessageReader(stream: raw, maxMessageSize: 1 << 20)
    let reply = try reader.next(deadline: .now + .seconds(5))
    #expect(reply.header.messageType == .reply)
    h.server.shutdown(timeout: .seconds(5))
    let close = try reader.next(deadline: .now + .seconds(2))
    #expect(close.header.messageType == .closeConnection)
    #expect(close.header.messageSize == 0)
    do {
      _ = try reader.next(deadline: .now + .seconds(2))
      Issue.record("the connection stayed open after CloseConnection")
    } catch {
      guard case .closed = error else { Issue.record("expected end of stream, got \(error)"); return }
    }
  }
}

// MARK: - LOCATION_FORWARD through a fake server

/// A TCP server that answers every Request with LOCATION_FORWARD to `target` (bounded: at most
/// `limit` requests, then it stops).
final class ForwardingServer: Sendable {
  let listener: TCPListener
  let target: IOR
  let forwarded = Mutex<[String]>([])
  let done = Atomic<Bool>(false)

  init(target: IOR, permanent: Bool = false, limit: Int = 16) throws {
    listener = try TCPListener(host: "127.0.0.1", port: 0)
    self.target = target
    let listener = self.listener
    spawnThread(name: "fake-forwarder") { [self] in
      var served = 0
      while served < limit, let stream = try? listener.accept() {
        var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 20)
        while served < limit {
          guard let message = try? reader.next(deadline: .now + .seconds(10)) else { break }
          var session = ServerSession()
          guard case .request(let decoded) = session.handle(message) else { continue }
          served += 1
          forwarded.withLock { $0.append(decoded.header.operation) }
          let version = message.header.version
          var b = GIOPMessageBuilder(.reply, version: version)
          ReplyHeader(requestID: decoded.header.requestID, status: permanent ? .locationForwardPerm : .locationForward)
            .encode(to: &b.writer, version: version)
          b.beginBody()
          try? target.encode(to: &b.writer)
          try? stream.write(b.finish())
        }
        stream.shutdown()
      }
      done.store(true, ordering: .sequentiallyConsistent)
    }
  }

  var port: UInt16 { listener.port }
  func stop() { listener.close() }
}

@Suite("LOCATION_FORWARD")
struct LocationForwardTests {
  @Test(arguments: [false, true])
  func clientFollowsForwardToTheRealObject(_ permanent: Bool) throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let real = try h.server.reference(key: "Echo", typeID: Bench_Echo.repositoryID)
    let fake = try ForwardingServer(target: real, permanent: permanent)
    defer { fake.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let start = try IOR(typeID: Bench_Echo.repositoryID,
                        profile: IIOPProfile(version: .v1_2, host: "127.0.0.1", port: fake.port, objectKey: Array("Elsewhere".utf8)))
    let ref = orb.object(start)
    let stub = Bench_Echo.Blocking(ref)
    #expect(try stub.add(a: 2, b: 40) == 42)
    #expect(fake.forwarded.withLock { $0 } == ["add"])
    #expect(ref.effectiveIOR == real)
    #expect(ref.ior == start)
    // Later calls go straight to the real object.
    #expect(try stub.add(a: 1, b: 1) == 2)
    #expect(try stub.echoBytes(data: [9, 8, 7]) == [9, 8, 7])
    #expect(fake.forwarded.withLock { $0 } == ["add"])
  }

  @Test func deferredCallFollowsForward() throws {
    let h = try ServerHarness(.tcp)
    defer { h.stop() }
    let real = try h.server.reference(key: "Echo", typeID: Bench_Echo.repositoryID)
    let fake = try ForwardingServer(target: real)
    defer { fake.stop() }
    let orb = ORB(connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = orb.object(try IOR(typeID: "", profile: IIOPProfile(version: .v1_1, host: "127.0.0.1", port: fake.port, objectKey: echoKey)))
    let call = try ref.invokeDeferred("add") { w in
      w.write(Int64(20))
      w.write(Int64(22))
    }
    var reply = try call.wait()
    #expect(try reply.read(Int64.self) == 42)
    #expect(fake.forwarded.withLock { $0 } == ["add"])
  }

  @Test func forwardLoopBetweenTwoForwardersGivesUp() throws {
    // a forwards to b, b forwards to a: the hop limit stops it.
    let bListenerPortHolder = try ForwardingServerPair()
    defer { bListenerPortHolder.stop() }
    var config = ORB.Configuration()
    config.maxForwards = 5
    let orb = ORB(configuration: config, connector: TCPConnector())
    defer { orb.shutdown() }
    let ref = orb.object(bListenerPortHolder.entry)
    let e = expectRPCError(.transient) { _ = try ref.invoke("add", options: CallOptions(timeout: .seconds(5))) }
    #expect(e?.minor == CourierMinor.forwardLoop)
    let hops = bListenerPortHolder.hops
    #expect(hops >= 5 && hops <= 8, "forwarded \(hops) times")
  }
}

/// Two endpoints on one fake server thread pair that forward to each other.
final class ForwardingServerPair: Sendable {
  let first: TCPListener
  let second: TCPListener
  let count = Atomic<Int>(0)

  init() throws {
    first = try TCPListener(host: "127.0.0.1", port: 0)
    second = try TCPListener(host: "127.0.0.1", port: 0)
    let toSecond = try IOR(typeID: "", profile: IIOPProfile(version: .v1_2, host: "127.0.0.1", port: second.port, objectKey: echoKey))
    let toFirst = try IOR(typeID: "", profile: IIOPProfile(version: .v1_2, host: "127.0.0.1", port: first.port, objectKey: echoKey))
    for (listener, target) in [(first, toSecond), (second, toFirst)] {
      spawnThread(name: "fake-loop") { [self] in
        var served = 0
        while served < 32, let stream = try? listener.accept() {
          var reader = GIOPMessageReader(stream: stream, maxMessageSize: 1 << 20)
          while served < 32, let message = try? reader.next(deadline: .now + .seconds(10)) {
            var session = ServerSession()
            guard case .request(let d) = session.handle(message) else { continue }
            served += 1
            self.count.add(1, ordering: .sequentiallyConsistent)
            var b = GIOPMessageBuilder(.reply, version: message.header.version)
            ReplyHeader(requestID: d.header.requestID, status: .locationForward).encode(to: &b.writer, version: message.header.version)
            b.beginBody()
            try? target.encode(to: &b.writer)
            try? stream.write(b.finish())
          }
          stream.shutdown()
        }
      }
    }
  }

  var entry: IOR { (try? IOR(typeID: "", profile: IIOPProfile(version: .v1_2, host: "127.0.0.1", port: first.port, objectKey: echoKey))) ?? .null }
  var hops: Int { count.load(ordering: .sequentiallyConsistent) }
  func stop() {
    first.close()
    second.close()
  }
}
