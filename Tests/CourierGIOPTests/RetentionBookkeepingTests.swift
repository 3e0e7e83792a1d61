@testable import CourierGIOP
import Testing

/// The client's ascending set of calls under way (its lowest id is the acknowledgement).
@Suite("Outstanding retention ids")
struct OutstandingIDsTests {
  @Test("matches a Set under random inserts and removes", arguments: [1, 2, 3, 4, 5])
  func matchesASet(seed: Int) {
    var g = SplitMix(seed: UInt64(seed))
    var ids = OutstandingIDs()
    var model = Set<Int32>()
    var next: Int32 = 1
    for _ in 0..<2_000 {
      switch g.next() % 4 {
      case 0, 1:
        ids.insert(next); model.insert(next); next += 1
      case 2:
        // An id from the log, out of order (exactly-once adopts these), sometimes a repeat.
        let id = Int32(g.next() % UInt64(next + 1)) + 1
        ids.insert(id); model.insert(id)
      default:
        if let victim = model.randomElement(using: &g) { ids.remove(victim); model.remove(victim) }
      }
      #expect(ids.count == model.count)
      #expect(ids.lowest == model.min())
    }
    for id in model { #expect(ids.contains(id)) }
  }

  struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }
}

/// The server's per-client table of retained replies (ordered by retention id, no hashing).
@Suite("Retention table")
struct RetentionTableTests {
  static func done(_ tag: UInt8) -> ReplyHistory.Entry {
    ReplyHistory.Entry(slot: .done(message: [tag]), expiration: 0, sequence: UInt64(tag))
  }

  @Test("matches a dictionary under random sets, removes and acknowledgements, across the Int32 wrap",
        arguments: [Int32(1), Int32.max - 500])
  func matchesADictionary(firstID: Int32) {
    var g = OutstandingIDsTests.SplitMix(seed: UInt64(bitPattern: Int64(firstID)))
    var table = RetentionTable()
    var model: [Int32: ReplyHistory.Entry] = [:]
    var next = firstID
    var acknowledged = firstID
    for step in 0..<3_000 {
      switch g.next() % 6 {
      case 0, 1, 2:
        // A new call; sometimes running, sometimes already done.
        let entry = g.next() % 2 == 0 ? Self.done(UInt8(truncatingIfNeeded: step))
          : ReplyHistory.Entry(slot: .running, expiration: 0, sequence: 0)
        table[next] = entry; model[next] = entry
        next = next == .max ? 1 : next + 1
      case 3:
        // A call finishes (or an old id is looked up and replaced).
        // Sorted: a dictionary's order changes from process to process, and the run must not.
        if let id = model.keys.sorted().randomElement(using: &g) {
          let entry = Self.done(UInt8(truncatingIfNeeded: step))
          table[id] = entry; model[id] = entry
        }
      case 4:
        if let id = model.keys.sorted().randomElement(using: &g) { table[id] = nil; model[id] = nil }
      default:
        // The client acknowledges everything below an id a little behind the newest.
        // Ids run 1...Int32.max and wrap to 1, as the client hands them out.
        var b = Int64(next) - Int64(g.next() % 8)
        if b <= 0 { b += Int64(Int32.max) }
        let below = Int32(b)
        guard RetentionTable.precedes(acknowledged, below) || acknowledged == below else { break }
        var removed = 0
        table.removeCompleted(below: below) { _ in removed += 1 }
        let gone = model.filter { id, entry in
          guard case .done = entry.slot else { return false }
          return RetentionTable.precedes(id, below)
        }
        for id in gone.keys { model[id] = nil }
        #expect(removed == gone.count)
        acknowledged = below
      }
      #expect(table.count == model.count)
    }
    for (id, entry) in model { #expect(table[id]?.sequence == entry.sequence) }
    #expect(table[next] == nil)
  }
}
