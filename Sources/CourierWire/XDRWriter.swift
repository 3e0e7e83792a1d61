/// Writes values in XDR, the External Data Representation of RFC 4506, into a growable buffer.
///
/// XDR is big endian and counts in 4-byte units: every item takes a multiple of four bytes, and
/// opaque data and strings are followed by one to three zero bytes of fill. There is no
/// alignment to track (each item starts where the previous one ended, always on a multiple of
/// four) and no byte-order flag. `bool` and `enum` are 4-byte integers; `hyper`, `double` and
/// `unsigned hyper` are 8 bytes; `quadruple` is 16.
///
/// ```swift
/// var w = XDRWriter()
/// w.write(Int32(1))                                  // 00 00 00 01
/// try w.writeString("abc", maximum: 255)             // 00 00 00 03 61 62 63 00
/// try w.writeOpaque([1, 2, 3, 4, 5], maximum: 16)    // 00 00 00 05 01 02 03 04 05 00 00 00
/// let bytes = w.bytes
/// ```
///
/// Writing a variable-length item longer than its maximum throws ``XDRError`` with code
/// ``XDRError/Code/lengthTooLarge``; so does writing a fixed-length item of the wrong size
/// (``XDRError/Code/sizeMismatch``). Those checks come before any byte of the item is written;
/// but when a struct's encoding throws at its third field, its first two are already written:
/// discard the writer, or go back with ``truncate(to:)``.
///
/// The writer reserves its capacity up front and writes through a pointer into storage it
/// has already grown: a 4-byte value costs a bounds check, a byte swap and a store.
public struct XDRWriter: Sendable {
  /// The backing array. Its first ``count`` bytes are the ones written; the bytes after them
  /// are slack that later writes overwrite (storing into slack costs a few instructions,
  /// `Array.append` tens).
  @usableFromInline var storage: [UInt8]
  @usableFromInline var _count: Int

  /// The number of bytes written (always a multiple of four).
  @inlinable public var count: Int { _count }

  /// Creates an empty writer.
  /// - Parameter capacity: bytes to reserve up front.
  public init(capacity: Int = 256) {
    storage = []
    if capacity > 0 { storage.reserveCapacity(capacity) }
    _count = 0
  }

  /// Creates an empty writer that writes into `storage`'s memory (its contents are discarded,
  /// its capacity is reused).
  public init(reusing storage: consuming [UInt8]) {
    self.storage = storage
    _count = 0
  }

  /// The bytes written so far. Copies unless the writer has no slack; see ``finishedBytes()``.
  public var bytes: [UInt8] {
    storage.count == _count ? storage : Array(storage[..<_count])
  }

  /// Drops the slack after the written bytes and returns them, sharing the storage (no copy).
  public mutating func finishedBytes() -> [UInt8] {
    if storage.count > _count { storage.removeSubrange(_count...) }
    return storage
  }

  /// Calls `body` with the written bytes in place (no copy).
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let n = _count
    return try storage.withUnsafeBytes { raw in try body(UnsafeRawBufferPointer(rebasing: raw[..<n])) }
  }

  /// Forgets everything written, keeping the storage for reuse.
  public mutating func reset() { _count = 0 }

  /// Replaces the 4 bytes written at `offset` with `value` (big endian): to fill in a length or
  /// a record mark once what follows it is written.
  @inlinable
  public mutating func overwrite(_ value: UInt32, at offset: Int) {
    precondition(offset >= 0 && offset &+ 4 <= _count, "overwrite(_:at:) outside the written bytes")
    let ordered = value.bigEndian
    storage.withUnsafeMutableBytes { $0.storeBytes(of: ordered, toByteOffset: offset, as: UInt32.self) }
  }

  /// Appends bytes that are already XDR (a whole number of 4-byte units), as they are.
  public mutating func writeRaw(_ raw: UnsafeRawBufferPointer) {
    precondition(raw.count & 3 == 0, "writeRaw(_:) of \(raw.count) bytes: XDR comes in 4-byte units")
    storePadded(raw)
  }

  /// Appends bytes that are already XDR (a whole number of 4-byte units), as they are.
  public mutating func writeRaw(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { writeRaw($0) }
  }

  /// Forgets the bytes from `offset` on (to drop a partly written item after an error).
  public mutating func truncate(to offset: Int) {
    precondition(offset >= 0 && offset <= _count && offset & 3 == 0, "truncate(to:) outside the written words")
    _count = offset
  }

  // MARK: storage

  /// Makes room for `n` more bytes after the written ones and returns where they start.
  @inlinable @inline(__always)
  mutating func reserve(_ n: Int) -> Int {
    let at = _count
    let end = at &+ n
    if end > storage.count { grow(to: end) }
    return at
  }

  /// Grows the storage (zero-filled, geometrically) to hold at least `needed` bytes.
  @usableFromInline @inline(never)
  mutating func grow(to needed: Int) {
    let doubled = Swift.min(storage.count &* 2, storage.count &+ (1 << 20))
    let target = Swift.max(needed, storage.capacity, doubled, 64)
    storage.append(contentsOf: repeatElement(0, count: target &- storage.count))
  }

  /// Stores `value` big endian at the end (4 or 8 bytes: XDR's only integer sizes).
  @inlinable @inline(__always)
  mutating func store<T: FixedWidthInteger>(bigEndian value: T) {
    let size = MemoryLayout<T>.size
    let at = reserve(size)
    let ordered = value.bigEndian
    storage.withUnsafeMutableBytes { $0.storeBytes(of: ordered, toByteOffset: at, as: T.self) }
    _count = at &+ size
  }

  /// Appends `raw` and the zero fill up to the next multiple of four.
  @inlinable
  mutating func storePadded(_ raw: UnsafeRawBufferPointer) {
    let n = raw.count
    let pad = (0 &- n) & 3
    let at = reserve(n &+ pad)
    storage.withUnsafeMutableBytes { p in
      let base = p.baseAddress! + at
      if n > 0 { base.copyMemory(from: raw.baseAddress!, byteCount: n) }
      if pad > 0 { (base + n).initializeMemory(as: UInt8.self, repeating: 0, count: pad) }
    }
    _count = at &+ n &+ pad
  }

  /// Appends `bytes` and their fill, by the fastest path the collection allows.
  @inlinable
  mutating func storePadded(_ bytes: some Collection<UInt8>) {
    let done: Void? = bytes.withContiguousStorageIfAvailable { storePadded(UnsafeRawBufferPointer($0)) }
    if done == nil {
      let copy = Array(bytes)
      copy.withUnsafeBytes { storePadded($0) }
    }
  }

  /// Checks a variable-length item's length against its maximum and the 2³²−1 its length
  /// field can carry.
  @inlinable
  func checkLength(_ length: Int, maximum: Int) throws {
    if length > maximum || length > Int(UInt32.max) {
      throw XDRError.lengthTooLarge(length: length, maximum: Swift.min(maximum, Int(UInt32.max)), at: _count)
    }
  }

  // MARK: numbers

  /// Writes an `int`: 4 bytes, two's complement, big endian.
  @inlinable public mutating func write(_ value: Int32) { store(bigEndian: value) }

  /// Writes an `unsigned int`: 4 bytes, big endian.
  @inlinable public mutating func write(_ value: UInt32) { store(bigEndian: value) }

  /// Writes a `hyper`: 8 bytes, two's complement, big endian.
  @inlinable public mutating func write(_ value: Int64) { store(bigEndian: value) }

  /// Writes an `unsigned hyper`: 8 bytes, big endian.
  @inlinable public mutating func write(_ value: UInt64) { store(bigEndian: value) }

  /// Writes a `bool`: an `int` that is 1 for true and 0 for false.
  @inlinable public mutating func write(_ value: Bool) { store(bigEndian: UInt32(value ? 1 : 0)) }

  /// Writes a `float`: the IEEE 754 single-precision bits, big endian (NaN payloads kept).
  @inlinable public mutating func write(_ value: Float) { store(bigEndian: value.bitPattern) }

  /// Writes a `double`: the IEEE 754 double-precision bits, big endian (NaN payloads kept).
  @inlinable public mutating func write(_ value: Double) { store(bigEndian: value.bitPattern) }

  /// Writes a `quadruple`: its 16 bytes, most significant first.
  @inlinable
  public mutating func write(_ value: XDRQuadruple) {
    store(bigEndian: value.high)
    store(bigEndian: value.low)
  }

  /// Writes an `enum` value: its raw value as an `int`.
  ///
  /// Swift enums with `Int32` raw values can only hold declared values, so nothing is checked
  /// here; the reader checks (``XDRReader/readEnum(_:)``).
  @inlinable
  public mutating func writeEnum<E: RawRepresentable>(_ value: E) where E.RawValue == Int32 {
    store(bigEndian: value.rawValue)
  }

  /// Writes `void`: nothing.
  @inlinable public mutating func writeVoid() {}

  // MARK: opaque data and strings

  /// Writes fixed-length opaque data, `opaque name[count]`: the bytes, then zero fill up to a
  /// multiple of four. There is no length on the wire, so the size must be the declared one.
  /// - Throws: ``XDRError/Code/sizeMismatch`` when `bytes` does not hold exactly `count` bytes.
  @inlinable
  public mutating func writeFixedOpaque(_ bytes: some Collection<UInt8>, count: Int) throws {
    let actual = bytes.count
    guard actual == count else { throw XDRError.sizeMismatch(expected: count, actual: actual, at: _count) }
    storePadded(bytes)
  }

  /// Writes variable-length opaque data, `opaque name<maximum>`: an `unsigned int` length,
  /// the bytes, then zero fill up to a multiple of four.
  /// - Parameter maximum: the declared maximum; unbounded (`<>`, 2³²−1) by default.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` when there are more than `maximum` bytes.
  @inlinable
  public mutating func writeOpaque(_ bytes: some Collection<UInt8>, maximum: Int = Int(UInt32.max)) throws {
    let length = bytes.count
    try checkLength(length, maximum: maximum)
    store(bigEndian: UInt32(truncatingIfNeeded: length))
    storePadded(bytes)
  }

  /// Writes a `string<maximum>`: an `unsigned int` byte count, the UTF-8 bytes (no NUL), then
  /// zero fill up to a multiple of four. The maximum counts bytes, not characters.
  /// - Parameter maximum: the declared maximum; unbounded (`<>`, 2³²−1) by default.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` when the UTF-8 form is longer than `maximum`.
  @inlinable
  public mutating func writeString(_ string: String, maximum: Int = Int(UInt32.max)) throws {
    var text = string
    try text.withUTF8 { utf8 in
      try checkLength(utf8.count, maximum: maximum)
      store(bigEndian: UInt32(truncatingIfNeeded: utf8.count))
      storePadded(UnsafeRawBufferPointer(utf8))
    }
  }

  /// Writes a `string<maximum>` given as bytes (for text that is not UTF-8).
  /// - Throws: ``XDRError/Code/lengthTooLarge`` when there are more than `maximum` bytes.
  @inlinable
  public mutating func writeStringBytes(_ bytes: some Collection<UInt8>, maximum: Int = Int(UInt32.max)) throws {
    try writeOpaque(bytes, maximum: maximum)
  }

  // MARK: composite types

  /// Writes any value that knows its XDR form (a struct, a union, a typedef…).
  @inlinable
  public mutating func encode<T: XDREncodable>(_ value: T) throws {
    try value.encode(to: &self)
  }

  /// Writes a fixed-length array, `T name[count]`: the elements one after another, no count.
  /// - Throws: ``XDRError/Code/sizeMismatch`` when `elements` does not hold exactly `count`.
  @inlinable
  public mutating func writeFixedArray<T: XDREncodable>(_ elements: [T], count: Int) throws {
    guard elements.count == count else {
      throw XDRError.sizeMismatch(expected: count, actual: elements.count, at: _count)
    }
    for element in elements { try element.encode(to: &self) }
  }

  /// Writes a variable-length array, `T name<maximum>`: an `unsigned int` count, then the
  /// elements.
  /// - Parameter maximum: the declared maximum count; unbounded (`<>`) by default.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` when there are more than `maximum` elements.
  @inlinable
  public mutating func writeArray<T: XDREncodable>(_ elements: [T], maximum: Int = Int(UInt32.max)) throws {
    try writeArray(elements, maximum: maximum) { element, w in try element.encode(to: &w) }
  }

  /// Writes a variable-length array whose elements `writeElement` writes (for elements that
  /// need arguments, such as bounded strings: `writeArray(names, maximum: 8) { try $1.writeString($0, maximum: 32) }`).
  @inlinable
  public mutating func writeArray<T>(
    _ elements: [T], maximum: Int = Int(UInt32.max), _ writeElement: (T, inout XDRWriter) throws -> Void
  ) throws {
    try checkLength(elements.count, maximum: maximum)
    store(bigEndian: UInt32(truncatingIfNeeded: elements.count))
    for element in elements { try writeElement(element, &self) }
  }

  /// Writes optional data, `T *name`: a `bool` (is there a value?) and then the value if there
  /// is one. RFC 4506 §4.19 defines it as `union switch (bool opted) { case TRUE: T element;
  /// case FALSE: void; }`.
  @inlinable
  public mutating func writeOptional<T: XDREncodable>(_ value: T?) throws {
    try writeOptional(value) { v, w in try v.encode(to: &w) }
  }

  /// Writes optional data whose value `writeValue` writes.
  @inlinable
  public mutating func writeOptional<T>(_ value: T?, _ writeValue: (T, inout XDRWriter) throws -> Void) throws {
    guard let value else {
      write(false)
      return
    }
    write(true)
    try writeValue(value, &self)
  }

  /// Writes a linked list in the rpcgen idiom `struct node { T item; node *next; }; node *list;`
  /// without recursion: for each element `TRUE` and the element's other fields, then `FALSE`.
  ///
  /// An empty list is just `FALSE` (a null `list` pointer). Read it back with
  /// ``XDRReader/readList(maximum:_:)``.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` when there are more than `maximum` elements.
  @inlinable
  public mutating func writeList<T>(
    _ elements: [T], maximum: Int = Int(UInt32.max), _ writeElement: (T, inout XDRWriter) throws -> Void
  ) throws {
    try checkLength(elements.count, maximum: maximum)
    for element in elements {
      write(true)
      try writeElement(element, &self)
    }
    write(false)
  }

  /// Writes a linked list (see ``writeList(_:maximum:_:)``) of values that know their XDR form.
  @inlinable
  public mutating func writeList<T: XDREncodable>(_ elements: [T], maximum: Int = Int(UInt32.max)) throws {
    try writeList(elements, maximum: maximum) { element, w in try element.encode(to: &w) }
  }
}
