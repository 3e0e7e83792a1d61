/// Writes values in OMG Common Data Representation (CDR) into a growable byte buffer.
///
/// Alignment is relative to ``alignmentOrigin``: for a GIOP message that is the first byte of
/// the 12-byte message header (so the header's alignment counts), for an encapsulation it is
/// the encapsulation's byte-order octet. Values are written in ``byteOrder``, which is the
/// machine's own order unless a test asks for the other one.
///
/// ```swift
/// var w = CDRWriter()
/// w.write(Int64(42))
/// try w.writeString("hello")
/// let bytes = w.bytes
/// ```
public struct CDRWriter: Sendable {
  /// The backing array. Its first ``count`` octets are the ones written; any octets after
  /// them are slack, overwritten by later writes. (Writing through a pointer into slack that
  /// is already there costs a few instructions; `Array.append` costs tens.)
  @usableFromInline var storage: [UInt8]
  @usableFromInline var _count: Int
  /// The number of bytes written.
  @inlinable public var count: Int { _count }
  /// The byte order of every multi-byte value written.
  public let byteOrder: ByteOrder
  /// The index in ``bytes`` that alignment is counted from.
  public var alignmentOrigin: Int
  /// The GIOP minor version whose rules apply to `wchar` and `wstring` (0, 1 or 2).
  public var giopMinor: UInt8
  /// The negotiated transmission code sets.
  public var codeSets: TransmissionCodeSets

  /// Creates an empty writer.
  /// - Parameters:
  ///   - capacity: bytes to reserve up front.
  ///   - byteOrder: the order to write in; the machine's own by default.
  ///   - giopMinor: the GIOP minor version for wide-character rules.
  ///   - codeSets: the transmission code sets for strings.
  public init(
    capacity: Int = 256,
    byteOrder: ByteOrder = .native,
    giopMinor: UInt8 = 2,
    codeSets: TransmissionCodeSets = .default
  ) {
    self.storage = []
    if capacity > 0 { self.storage.reserveCapacity(capacity) }
    self._count = 0
    self.byteOrder = byteOrder
    self.alignmentOrigin = 0
    self.giopMinor = giopMinor
    self.codeSets = codeSets
  }

  /// Creates an empty writer that writes into `storage`'s memory (its contents are discarded,
  /// its capacity reused).
  public init(reusing storage: consuming [UInt8], giopMinor: UInt8 = 2, codeSets: TransmissionCodeSets = .default) {
    self.storage = storage
    self._count = 0
    self.byteOrder = .native
    self.alignmentOrigin = 0
    self.giopMinor = giopMinor
    self.codeSets = codeSets
  }

  /// The bytes written so far. Reading it after ``finishedBytes()`` (or when the writer has
  /// no slack) shares the storage; otherwise it copies. Mutating it edits the written bytes.
  public var bytes: [UInt8] {
    get { storage.count == count ? storage : Array(storage[..<count]) }
    _modify {
      trimSlack()
      yield &storage
      _count = storage.count
    }
    set {
      storage = newValue
      _count = newValue.count
    }
  }

  /// The writer's storage, for a later ``init(reusing:giopMinor:codeSets:)`` (its contents
  /// are not meaningful: use ``finishedBytes()`` for the written bytes).
  /// The writer is left empty, with no storage.
  public mutating func takeStorage() -> [UInt8] {
    let taken = storage
    storage = []
    _count = 0
    alignmentOrigin = 0
    return taken
  }

  /// Drops the slack after the written bytes and returns them, sharing the storage (no copy).
  public mutating func finishedBytes() -> [UInt8] {
    trimSlack()
    return storage
  }

  /// Calls `body` with the written bytes in place (no copy).
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let n = count
    return try storage.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[..<n])) }
  }

  @usableFromInline
  mutating func trimSlack() {
    if storage.count > count { storage.removeSubrange(count...) }
  }

  /// Removes everything written, keeping the storage (for reuse on a hot path).
  public mutating func reset() {
    _count = 0
    alignmentOrigin = 0
  }

  /// Forgets the bytes from `offset` on (they become slack).
  public mutating func truncate(to offset: Int) {
    precondition(offset >= 0 && offset <= count, "truncate(to:) past the written bytes")
    _count = offset
  }

  /// Makes room for `n` more bytes after the written ones: the storage grows (zero-filled,
  /// geometrically) only when the slack is too short.
  @inlinable
  mutating func ensureRoom(_ n: Int) {
    let needed = count &+ n
    if needed > storage.count { grow(to: needed) }
  }

  @usableFromInline
  mutating func grow(to needed: Int) {
    let target = Swift.max(needed, storage.capacity, Swift.min(storage.count &* 2, storage.count &+ (1 << 20)), 64)
    storage.append(contentsOf: repeatElement(0, count: target - storage.count))
  }

  /// Pads with zero octets until the next value starts on a multiple of `boundary`.
  @inlinable
  public mutating func align(_ boundary: Int) {
    let offset = count &- alignmentOrigin
    // CDR boundaries are powers of two (1, 2, 4, 8): a mask instead of a division.
    let pad = boundary & (boundary &- 1) == 0 ? (0 &- offset) & (boundary &- 1) : (boundary &- offset % boundary) % boundary
    if pad > 0 { appendZeros(pad) }
  }

  /// Appends `n` zero octets.
  @inlinable
  public mutating func appendZeros(_ n: Int) {
    ensureRoom(n)
    let at = count
    storage.withUnsafeMutableBytes { p in
      _ = (p.baseAddress! + at).initializeMemory(as: UInt8.self, repeating: 0, count: n)
    }
    _count = at &+ n
  }

  /// Appends one octet.
  @inlinable
  public mutating func append(_ octet: UInt8) {
    ensureRoom(1)
    let at = count
    storage.withUnsafeMutableBufferPointer { p in p[at] = octet; return () }
    _count = at &+ 1
  }

  // MARK: primitives

  /// Writes an integer of any CDR size, aligned on its own size.
  @inlinable
  public mutating func write<T: FixedWidthInteger>(_ value: T) {
    let size = MemoryLayout<T>.size
    // Sizes are powers of two: the padding is the negated offset modulo the size.
    let pad = size > 1 ? (0 &- (count &- alignmentOrigin)) & (size &- 1) : 0
    let at = count &+ pad
    let end = at &+ size
    if end > storage.count { grow(to: end) }
    let ordered = byteOrder == .littleEndian ? value.littleEndian : value.bigEndian
    let start = count
    storage.withUnsafeMutableBytes { p in
      if pad > 0 { _ = (p.baseAddress! + start).initializeMemory(as: UInt8.self, repeating: 0, count: pad) }
      p.storeBytes(of: ordered, toByteOffset: at, as: T.self)
    }
    _count = end
  }

  /// Writes a `boolean` (one octet, 0 or 1).
  @inlinable
  public mutating func write(_ value: Bool) { append(value ? 1 : 0) }

  /// Writes a `float` (IEEE single precision).
  @inlinable
  public mutating func write(_ value: Float) { write(value.bitPattern) }

  /// Writes a `double` (IEEE double precision).
  @inlinable
  public mutating func write(_ value: Double) { write(value.bitPattern) }

  /// Writes raw octets with no length and no alignment (the body of an `octet` array).
  @inlinable
  public mutating func writeRaw(_ octets: some Collection<UInt8>) {
    let done: Void? = octets.withContiguousStorageIfAvailable { writeRaw(UnsafeRawBufferPointer($0)) }
    if done == nil {
      ensureRoom(octets.count)
      for b in octets { append(b) }
    }
  }

  /// Writes raw octets from a buffer with no length and no alignment.
  @inlinable
  public mutating func writeRaw(_ octets: UnsafeRawBufferPointer) {
    let n = octets.count
    guard n > 0 else { return }
    ensureRoom(n)
    let at = count
    storage.withUnsafeMutableBytes { p in
      (p.baseAddress! + at).copyMemory(from: octets.baseAddress!, byteCount: n)
    }
    _count = at &+ n
  }

  /// Appends `count` octets that `body` writes in place (it must write all of them): no
  /// intermediate buffer, no alignment.
  @inlinable
  public mutating func writeRaw(count n: Int, _ body: (UnsafeMutableRawBufferPointer) -> Void) {
    guard n > 0 else { return }
    ensureRoom(n)
    let at = count
    storage.withUnsafeMutableBytes { p in body(UnsafeMutableRawBufferPointer(rebasing: p[at..<(at &+ n)])) }
    _count = at &+ n
  }

  /// Writes a `sequence<octet>` from an array (one copy, no per-element work).
  @inlinable
  public mutating func writeOctetSequence(_ octets: [UInt8]) {
    write(UInt32(truncatingIfNeeded: octets.count))
    octets.withUnsafeBytes { writeRaw($0) }
  }

  /// Writes a `sequence<octet>`: a `ulong` count, then the octets.
  @inlinable
  public mutating func writeOctetSequence(_ octets: some Collection<UInt8>) {
    write(UInt32(truncatingIfNeeded: octets.count))
    writeRaw(octets)
  }

  /// Writes a `char` in the transmission char code set (one octet).
  public mutating func writeChar(_ c: Unicode.Scalar) throws {
    guard c.value <= (codeSets.char == .utf8 ? 0x7F : 0xFF) else {
      throw CDRError(.dataConversion, "char U+\(String(c.value, radix: 16)) is not one octet in \(codeSets.char)")
    }
    append(UInt8(c.value))
  }

  /// Writes a `string`: a `ulong` length counting the terminating NUL, the characters in the
  /// transmission char code set, and the NUL.
  public mutating func writeString(_ s: String) throws {
    // Fast path: ASCII text is the same bytes in every supported char code set.
    var text = s
    let asciiCompatible = codeSets.char == .utf8 || codeSets.char == .iso8859_1 || codeSets.char == .iso646
    let wroteASCII = asciiCompatible && text.withUTF8 { utf8 -> Bool in
      var ascii = true
      for b in utf8 where b == 0 || b > 0x7F { ascii = false; break }
      guard ascii else { return false }
      write(UInt32(truncatingIfNeeded: utf8.count + 1))
      writeRaw(UnsafeRawBufferPointer(utf8))
      append(0)
      return true
    }
    if wroteASCII { return }
    if codeSets.char == .utf8 || codeSets.char == .iso646 {
      let utf8 = s.utf8
      if utf8.contains(0) { throw CDRError(.invalidString, "a CDR string cannot contain NUL") }
      if codeSets.char == .iso646, utf8.contains(where: { $0 > 0x7F }) {
        throw CDRError(.dataConversion, "string is not ASCII")
      }
      write(UInt32(truncatingIfNeeded: utf8.count + 1))
      writeRaw(utf8)
      append(0)
    } else if codeSets.char == .iso8859_1 {
      write(UInt32(truncatingIfNeeded: s.unicodeScalars.count + 1))
      for scalar in s.unicodeScalars {
        guard scalar.value != 0, scalar.value <= 0xFF else {
          throw CDRError(.dataConversion, "U+\(String(scalar.value, radix: 16)) is not in ISO-8859-1")
        }
        append(UInt8(scalar.value))
      }
      append(0)
    } else {
      throw CDRError(.dataConversion, "unsupported char code set \(codeSets.char)")
    }
  }

  /// Writes a `wchar`.
  ///
  /// GIOP 1.2: an octet count, then the UTF-16 code units big endian with no byte-order mark
  /// (what omniORB and JacORB read when there is no mark). GIOP 1.0/1.1: one 2-octet code unit in
  /// the stream's byte order.
  public mutating func writeWChar(_ c: Unicode.Scalar) throws {
    let units = Array(String(c).utf16)
    if giopMinor >= 2 {
      append(UInt8(units.count * 2))
      for u in units { append(UInt8(u >> 8)); append(UInt8(u & 0xFF)) }
    } else {
      guard units.count == 1 else {
        throw CDRError(.dataConversion, "wchar U+\(String(c.value, radix: 16)) needs a surrogate pair (GIOP 1.\(giopMinor))")
      }
      write(units[0])
    }
  }

  /// Writes a `wstring`.
  ///
  /// GIOP 1.2: a `ulong` octet count and the UTF-16 code units big endian, no NUL, no mark.
  /// GIOP 1.0/1.1: a `ulong` count of code units including a terminating NUL unit, then the
  /// units in the stream's byte order.
  public mutating func writeWString(_ s: String) throws {
    let units = s.utf16
    if units.contains(0) { throw CDRError(.invalidString, "a CDR wstring cannot contain NUL") }
    if giopMinor >= 2 {
      write(UInt32(truncatingIfNeeded: units.count * 2))
      for u in units { append(UInt8(u >> 8)); append(UInt8(u & 0xFF)) }
    } else {
      write(UInt32(truncatingIfNeeded: units.count + 1))
      for u in units { write(u) }
      write(UInt16(0))
    }
  }

  /// Writes an encapsulation: a `sequence<octet>` whose first octet is the byte-order flag and
  /// whose contents are aligned relative to that flag.
  public mutating func writeEncapsulation(_ body: (inout CDRWriter) throws -> Void) rethrows {
    var inner = CDRWriter(capacity: 64, byteOrder: byteOrder, giopMinor: giopMinor, codeSets: codeSets)
    inner.append(byteOrder.flag)
    try body(&inner)
    write(UInt32(truncatingIfNeeded: inner.count))
    inner.storage.withUnsafeBytes { writeRaw(UnsafeRawBufferPointer(rebasing: $0[..<inner.count])) }
  }

  /// Overwrites a `ulong` already written at `offset` (for lengths known only at the end).
  public mutating func setUInt32(_ value: UInt32, at offset: Int) {
    precondition(offset >= 0 && offset + 4 <= count, "setUInt32(at:) outside the written bytes")
    let ordered = byteOrder == .littleEndian ? value.littleEndian : value.bigEndian
    storage.withUnsafeMutableBytes { $0.storeBytes(of: ordered, toByteOffset: offset, as: UInt32.self) }
  }

  /// Writes any value that knows its CDR form.
  @inlinable
  public mutating func encode<T: CDREncodable>(_ value: T) throws {
    try value.encode(to: &self)
  }
}
