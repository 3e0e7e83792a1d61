import Testing

@testable import CourierWire

// The writer keeps written bytes in the front of a backing array and reuses the rest as
// slack; these tests pin down that reuse never shows stale bytes and never changes an array
// that was already handed out.

@Suite("CDR writer storage: slack, reuse, copy-on-write")
struct CDRWriterStorageTests {

  @Test("reset then shorter writes: bytes are only the new ones, padding is zero")
  func resetReusesWithoutStaleBytes() {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt64.max)
    w.write(UInt64.max)
    w.reset()
    w.write(UInt8(1))
    w.write(UInt32(2))  // three padding octets where 0xFF used to be
    #expect(w.bytes == [1, 0, 0, 0, 0, 0, 0, 2])
    #expect(w.count == 8)
  }

  @Test("an array handed out by finishedBytes() is not changed by later writes")
  func finishedBytesAreStable() {
    var w = CDRWriter(byteOrder: .littleEndian)
    w.write(UInt32(0x0403_0201))
    let first = w.finishedBytes()
    w.reset()
    w.write(UInt32(0xDDCC_BBAA))
    w.write(UInt32(7))
    #expect(first == [1, 2, 3, 4])
    #expect(w.bytes == [0xAA, 0xBB, 0xCC, 0xDD, 7, 0, 0, 0])
  }

  @Test("a copied writer is independent of the original")
  func copiesAreIndependent() {
    var a = CDRWriter(byteOrder: .bigEndian)
    a.write(UInt16(1))
    var b = a
    b.write(UInt16(2))
    a.write(UInt16(3))
    #expect(a.bytes == [0, 1, 0, 3])
    #expect(b.bytes == [0, 1, 0, 2])
  }

  @Test("editing bytes through the property edits the written bytes only")
  func bytesModify() {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt32(0x0102_0304))
    w.reset()
    w.write(UInt16(0x0A0B))  // slack after this still holds 03 04
    w.bytes.append(0xFF)
    #expect(w.bytes == [0x0A, 0x0B, 0xFF])
    w.bytes.removeSubrange(0..<1)
    #expect(w.bytes == [0x0B, 0xFF])
    #expect(w.count == 2)
  }

  @Test("truncate forgets the tail; the next write overwrites it")
  func truncateThenWrite() {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt32(0x1111_1111))
    w.write(UInt32(0x2222_2222))
    w.truncate(to: 4)
    w.write(UInt8(9))
    #expect(w.bytes == [0x11, 0x11, 0x11, 0x11, 9])
  }

  @Test("growth past the reserved capacity keeps every byte", arguments: [0, 1, 7, 64, 300])
  func growth(capacity: Int) {
    var w = CDRWriter(capacity: capacity, byteOrder: .bigEndian)
    var expected: [UInt8] = []
    for i in 0..<1000 {
      w.write(UInt8(truncatingIfNeeded: i))
      expected.append(UInt8(truncatingIfNeeded: i))
    }
    w.writeRaw([UInt8](repeating: 0x5A, count: 5000))
    expected += [UInt8](repeating: 0x5A, count: 5000)
    #expect(w.bytes == expected)
  }

  @Test("a writer made from taken storage starts empty and writes correctly")
  func takeStorageAndReuse() {
    var w = CDRWriter(byteOrder: .native)
    w.write(UInt64(0x0102_0304_0506_0708))
    let storage = w.takeStorage()
    #expect(w.count == 0)
    #expect(storage.capacity >= 8)
    var again = CDRWriter(reusing: storage)
    #expect(again.count == 0)
    again.write(UInt8(3))
    #expect(again.bytes == [3])
  }

  @Test("withUnsafeBytes sees exactly the written bytes")
  func withUnsafeBytesIsExact() {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt64.max)
    w.reset()
    w.write(UInt16(0x0102))
    #expect(w.withUnsafeBytes { Array($0) } == [1, 2])
  }

  @Test("setUInt32 patches in place without touching a handed-out copy")
  func setUInt32CopyOnWrite() {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.write(UInt32(0))
    w.write(UInt32(5))
    let before = w.bytes
    w.setUInt32(0xA0B0_C0D0, at: 0)
    #expect(before == [0, 0, 0, 0, 0, 0, 0, 5])
    #expect(w.bytes == [0xA0, 0xB0, 0xC0, 0xD0, 0, 0, 0, 5])
  }
}

@Suite("CDR reader: octet sequences reusing a previous array")
struct CDRReaderReuseTests {
  func sequence(_ octets: [UInt8]) -> [UInt8] {
    var w = CDRWriter(byteOrder: .bigEndian)
    w.writeOctetSequence(octets)
    return w.bytes
  }

  @Test("equal octets give back the cached array; different ones replace it")
  func reuse() throws {
    var cache: [UInt8] = Array("Echo".utf8)
    var r = CDRReader(sequence(Array("Echo".utf8)) + sequence(Array("Other".utf8)), byteOrder: .bigEndian)
    let first = try r.readOctetSequence(reusing: &cache)
    #expect(first == Array("Echo".utf8))
    #expect(cache == Array("Echo".utf8))
    let second = try r.readOctetSequence(reusing: &cache)
    #expect(second == Array("Other".utf8))
    #expect(cache == Array("Other".utf8))
    #expect(r.isAtEnd)
  }

  @Test("a same-length different key is not mistaken for the cached one")
  func sameLengthDifferentBytes() throws {
    var cache: [UInt8] = Array("Echo".utf8)
    var r = CDRReader(sequence(Array("Echp".utf8)), byteOrder: .bigEndian)
    #expect(try r.readOctetSequence(reusing: &cache) == Array("Echp".utf8))
  }

  @Test("a length beyond the data is refused and the cache is unchanged")
  func truncated() {
    var cache: [UInt8] = [1, 2, 3]
    var bytes = sequence([9, 9, 9, 9])
    bytes.removeLast()
    var r = CDRReader(bytes, byteOrder: .bigEndian)
    #expect(throws: CDRError.self) { _ = try r.readOctetSequence(reusing: &cache) }
    #expect(cache == [1, 2, 3])
  }
}
