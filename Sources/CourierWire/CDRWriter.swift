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
  /// The bytes written so far.
  public var bytes: [UInt8]
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
    self.bytes = []
    self.bytes.reserveCapacity(capacity)
    self.byteOrder = byteOrder
    self.alignmentOrigin = 0
    self.giopMinor = giopMinor
    self.codeSets = codeSets
  }

  /// The number of bytes written.
  @inlinable public var count: Int { bytes.count }

  /// Removes everything written, keeping the capacity (for reuse on a hot path).
  public mutating func reset() {
    bytes.removeAll(keepingCapacity: true)
    alignmentOrigin = 0
  }

  /// Pads with zero octets until the next value starts on a multiple of `boundary`.
  @inlinable
  public mutating func align(_ boundary: Int) {
    let offset = bytes.count - alignmentOrigin
    let pad = (boundary - offset % boundary) % boundary
    if pad > 0 { bytes.append(contentsOf: repeatElement(0, count: pad)) }
  }

  // MARK: primitives

  /// Writes an integer of any CDR size, aligned on its own size.
  @inlinable
  public mutating func write<T: FixedWidthInteger>(_ value: T) {
    let size = MemoryLayout<T>.size
    if size > 1 { align(size) }
    let ordered = byteOrder == .littleEndian ? value.littleEndian : value.bigEndian
    withUnsafeBytes(of: ordered) { bytes.append(contentsOf: $0) }
  }

  /// Writes a `boolean` (one octet, 0 or 1).
  @inlinable
  public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

  /// Writes a `float` (IEEE single precision).
  @inlinable
  public mutating func write(_ value: Float) { write(value.bitPattern) }

  /// Writes a `double` (IEEE double precision).
  @inlinable
  public mutating func write(_ value: Double) { write(value.bitPattern) }

  /// Writes raw octets with no length and no alignment (the body of an `octet` array).
  @inlinable
  public mutating func writeRaw(_ octets: some Collection<UInt8>) { bytes.append(contentsOf: octets) }

  /// Writes raw octets from a buffer with no length and no alignment.
  @inlinable
  public mutating func writeRaw(_ octets: UnsafeRawBufferPointer) { bytes.append(contentsOf: octets) }

  /// Writes a `sequence<octet>` from an array (one copy, no per-element work).
  @inlinable
  public mutating func writeOctetSequence(_ octets: [UInt8]) {
    write(UInt32(truncatingIfNeeded: octets.count))
    octets.withUnsafeBytes { bytes.append(contentsOf: $0) }
  }

  /// Writes a `sequence<octet>`: a `ulong` count, then the octets.
  @inlinable
  public mutating func writeOctetSequence(_ octets: some Collection<UInt8>) {
    write(UInt32(truncatingIfNeeded: octets.count))
    bytes.append(contentsOf: octets)
  }

  /// Writes a `char` in the transmission char code set (one octet).
  public mutating func writeChar(_ c: Unicode.Scalar) throws {
    guard c.value <= (codeSets.char == .utf8 ? 0x7F : 0xFF) else {
      throw CDRError(.dataConversion, "char U+\(String(c.value, radix: 16)) is not one octet in \(codeSets.char)")
    }
    bytes.append(UInt8(c.value))
  }

  /// Writes a `string`: a `ulong` length counting the terminating NUL, the characters in the
  /// transmission char code set, and the NUL.
  public mutating func writeString(_ s: String) throws {
    if codeSets.char == .utf8 || codeSets.char == .iso646 {
      let utf8 = s.utf8
      if utf8.contains(0) { throw CDRError(.invalidString, "a CDR string cannot contain NUL") }
      if codeSets.char == .iso646, utf8.contains(where: { $0 > 0x7F }) {
        throw CDRError(.dataConversion, "string is not ASCII")
      }
      write(UInt32(truncatingIfNeeded: utf8.count + 1))
      bytes.append(contentsOf: utf8)
      bytes.append(0)
    } else if codeSets.char == .iso8859_1 {
      write(UInt32(truncatingIfNeeded: s.unicodeScalars.count + 1))
      for scalar in s.unicodeScalars {
        guard scalar.value != 0, scalar.value <= 0xFF else {
          throw CDRError(.dataConversion, "U+\(String(scalar.value, radix: 16)) is not in ISO-8859-1")
        }
        bytes.append(UInt8(scalar.value))
      }
      bytes.append(0)
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
      bytes.append(UInt8(units.count * 2))
      for u in units { bytes.append(UInt8(u >> 8)); bytes.append(UInt8(u & 0xFF)) }
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
      for u in units { bytes.append(UInt8(u >> 8)); bytes.append(UInt8(u & 0xFF)) }
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
    inner.bytes.append(byteOrder.flag)
    try body(&inner)
    writeOctetSequence(inner.bytes)
  }

  /// Overwrites a `ulong` already written at `offset` (for lengths known only at the end).
  public mutating func setUInt32(_ value: UInt32, at offset: Int) {
    let ordered = byteOrder == .littleEndian ? value.littleEndian : value.bigEndian
    withUnsafeBytes(of: ordered) { raw in
      for i in 0..<4 { bytes[offset + i] = raw[i] }
    }
  }

  /// Writes any value that knows its CDR form.
  @inlinable
  public mutating func encode<T: CDREncodable>(_ value: T) throws {
    try value.encode(to: &self)
  }
}
