import CourierCore
import CourierExamples
import CourierInProcess
import CourierWire
import Synchronization
import Testing

@testable import CourierGIOP

// The server and client keep per-connection caches (servant lookup, object key, message and
// request buffers) so that a run of calls allocates and locks little. These tests check that
// the caches never serve anything stale.

@Suite("hot-path caches stay correct")
struct HotPathTests {

  /// An Echo whose `add` adds a fixed offset, to tell two servants apart.
  final class OffsetEcho: Bench_Echo.Service {
    let offset: Int64
    init(offset: Int64) { self.offset = offset }
    func add(a: Int64, b: Int64) throws -> Int64 { a + b + offset }
    func echoBytes(data: [UInt8]) throws -> [UInt8] { data }
    func ping() {}
  }

  @Test("replacing or removing a servant is seen by the very next call on the same connection", arguments: TransportKind.allCases)
  func lookupCacheFollowsTheAdapter(kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let key: [UInt8] = Array("Swap".utf8)
    h.adapter.activate(Bench_Echo.Servant(OffsetEcho(offset: 100)), key: key)
    let stub = Bench_Echo.Blocking(h.orb.object(try h.server.reference(key: key, typeID: Bench_Echo.repositoryID)))
    #expect(try stub.add(a: 1, b: 2) == 103)
    #expect(try stub.add(a: 1, b: 2) == 103)
    h.adapter.activate(Bench_Echo.Servant(OffsetEcho(offset: 1000)), key: key)
    #expect(try stub.add(a: 1, b: 2) == 1003)
    h.adapter.deactivate(key: key)
    expectRPCError(.objectNotExist, completion: .no) { _ = try stub.add(a: 1, b: 2) }
    h.adapter.activate(Bench_Echo.Servant(OffsetEcho(offset: 7)), key: key)
    #expect(try stub.add(a: 1, b: 2) == 10)
    #expect(h.connector.used.count == 1)
  }

  @Test("calls alternating between objects on one connection reach the right one", arguments: TransportKind.allCases)
  func alternatingKeys(kind: TransportKind) throws {
    let h = try ServerHarness(kind)
    defer { h.stop() }
    let echo = Bench_Echo.Blocking(try h.reference("Echo"))
    let people = Demo_PersonList.Blocking(try h.reference("People", typeID: Demo_PersonList.repositoryID))
    for i in 0..<50 {
      #expect(try echo.add(a: Int64(i), b: 1) == Int64(i) + 1)
      #expect(try people.listname == "Friends")
      let data = [UInt8](repeating: UInt8(i), count: i * 37)
      #expect(try echo.echoBytes(data: data) == data)
    }
    #expect(h.connector.used.count == 1)
  }

  @Test("a reply held by the caller is not overwritten by later messages on the connection")
  func heldRepliesStayIntact() throws {
    let h = try ServerHarness(.inProcess)
    defer { h.stop() }
    let ref = try h.reference()
    var first = try ref.invoke("echoBytes") { w in w.writeOctetSequence([1, 2, 3]) }
    for _ in 0..<20 { _ = try Bench_Echo.Blocking(ref).echoBytes(data: [9, 9, 9, 9, 9]) }
    #expect(try first.read([UInt8].self) == [1, 2, 3])
  }

  @Test("the pending table finds, removes and keeps the others")
  func pendingTable() {
    var table = PendingTable()
    let waiters = (0..<5).map { _ in GIOPClientConnection.Waiter() }
    for (i, w) in waiters.enumerated() { table.insert(w, for: UInt32(10 + i)) }
    #expect(table.removeValue(forKey: 12) === waiters[2])
    #expect(table.removeValue(forKey: 12) == nil)
    #expect(table.removeValue(forKey: 99) == nil)
    #expect(table.removeValue(forKey: 10) === waiters[0])
    #expect(Set(table.values.map(ObjectIdentifier.init)) == Set([1, 3, 4].map { ObjectIdentifier(waiters[$0]) }))
    table.removeAll()
    #expect(table.isEmpty)
  }
}
