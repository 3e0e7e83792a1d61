/// Reads CDR values from a byte buffer, honouring the sender's byte order.
///
/// Every length and count read from the data is checked against the bytes left before it is
/// used, so a bogus length (say 4 GiB) yields ``CDRError`` with code `.lengthExceedsData`,
/// never a large allocation or a crash.
public struct CDRReader: Sendable {
  /// The whole buffer (a message, or the message an encapsulation sits in).
  public let storage: [UInt8]
  /// The index of the next byte to read.
  public var position: Int
  /// The index one past the last readable byte.
  public let end: Int
  /// The index alignment is counted from.
  public let alignmentOrigin: Int
  /// The sender's byte order.
  public var byteOrder: ByteOrder
  /// The GIOP minor version whose rules apply to `wchar` and `wstring`.
  public var giopMinor: UInt8
  /// The negotiated transmission code sets.
  public var codeSets: TransmissionCodeSets
  /// What the layer above needs to build values the stream cannot carry by itself (the GIOP
  /// layer puts the ORB here, for object references).
  public var context: (any AnyObject & Sendable)?

  /// Creates a reader over `bytes`.
  /// - Parameters:
  ///   - bytes: the buffer.
  ///   - byteOrder: the sender's byte order.
  ///   - position: where to start reading.
  ///   - alignmentOrigin: the index alignment is relative to.
  ///   - end: one past the last readable byte; the end of `bytes` by default.
  public init(
    _ bytes: [UInt8],
    byteOrder: ByteOrder = .native,
    position: Int = 0,
    alignmentOrigin: Int = 0,
    end: Int? = nil,
    giopMinor: UInt8 = 2,
    codeSets: TransmissionCodeSets = .default
  ) {
    self.storage = bytes
    self.position = position
    self.end = end ?? bytes.count
    self.alignmentOrigin = alignmentOrigin
    self.byteOrder = byteOrder
    self.giopMinor = giopMinor
    self.codeSets = codeSets
    self.context = nil
  }

  /// Bytes left to read.
  @inlinable public var remaining: Int { end - position }

  /// True when every byte has been read.
  @inlinable public var isAtEnd: Bool { position >= end }

  @inlinable
  mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
    if n > end - position {
      throw CDRError(.truncated, "\(what()) needs \(n) bytes, \(end - position) left")
    }
  }

  /// Skips padding so the next value starts on a multiple of `boundary`.
  /// Padding past the end of the data is not an error until something is read there.
  @inlinable
  public mutating func align(_ boundary: Int) {
    let offset = position &- alignmentOrigin
    // CDR boundaries are powers of two (1, 2, 4, 8): a mask instead of a division.
    let pad = boundary & (boundary &- 1) == 0 ? (0 &- offset) & (boundary &- 1) : (boundary - offset % boundary) % boundary
    position = Swift.min(position + pad, Swift.max(end, position))
  }

  /// Skips `n` bytes.
  public mutating func skip(_ n: Int) throws {
    try need(n, "skip")
    position += n
  }

  // MARK: primitives

  /// Reads an integer of any CDR size, aligned on its own size.
  @inlinable
  public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
    let size = MemoryLayout<T>.size
    if size > 1 { align(size) }
    try need(size, "\(T.self)")
    let raw = storage.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: T.self) }
    position += size
    return byteOrder == .littleEndian ? T(littleEndian: raw) : T(bigEndian: raw)
  }

  /// Reads a `boolean`; anything but 0 or 1 is an error.
  @inlinable
  public mutating func read(_: Bool.Type = Bool.self) throws -> Bool {
    let octet: UInt8 = try read()
    switch octet {
    case 0: return false
    case 1: return true
    default: throw CDRError(.invalidBoolean, "boolean octet \(octet)")
    }
  }

  /// Reads a `float`.
  @inlinable
  public mutating func read(_: Float.Type = Float.self) throws -> Float { Float(bitPattern: try read()) }

  /// Reads a `double`.
  @inlinable
  public mutating func read(_: Double.Type = Double.self) throws -> Double { Double(bitPattern: try read()) }

  /// Reads a `ulong` count for a sequence and checks that `count` elements of at least
  /// `minimumElementSize` bytes each can be in the data left (and within `bound`, if given).
  public mutating func readCount(minimumElementSize: Int = 1, bound: Int? = nil) throws -> Int {
    let count = Int(try read(UInt32.self))
    if let bound, count > bound {
      throw CDRError(.boundExceeded, "sequence of \(count) elements exceeds its bound \(bound)")
    }
    if count > 0, count > (end - position) / Swift.max(1, minimumElementSize) {
      throw CDRError(.lengthExceedsData, "sequence of \(count) elements, only \(end - position) bytes left")
    }
    return count
  }

  /// Reads `count` raw octets (the body of an `octet` array).
  public mutating func readRaw(count: Int) throws -> [UInt8] {
    try need(count, "\(count) octets")
    defer { position += count }
    return storage.withUnsafeBytes { raw in
      [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[position..<position + count])) }
        initialized = count
      }
    }
  }

  /// Calls `body` with `count` raw octets in place, without copying them.
  public mutating func withRawBytes<R>(count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    try need(count, "\(count) octets")
    defer { position += count }
    return try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[position..<position + count])) }
  }

  /// Reads a `sequence<octet>`, returning `previous` itself (no allocation) when the octets
  /// are the same, else a new array that also replaces `previous`. For values that repeat
  /// message after message, such as object keys on one connection.
  public mutating func readOctetSequence(reusing previous: inout [UInt8]) throws -> [UInt8] {
    let count = try readCount()
    let same = try withRawBytes(count: count) { raw in
      count == previous.count && previous.withUnsafeBytes { old in old.elementsEqual(raw) }
    }
    if same { return previous }
    position -= count
    previous = try readRaw(count: count)
    return previous
  }

  /// Reads a `sequence<octet>`.
  public mutating func readOctetSequence(bound: Int? = nil) throws -> [UInt8] {
    let count = try readCount(bound: bound)
    return try readRaw(count: count)
  }

  /// Reads a `char` from the transmission char code set.
  public mutating func readChar() throws -> Unicode.Scalar {
    let octet: UInt8 = try read()
    if octet > 0x7F && (codeSets.char == .utf8 || codeSets.char == .iso646) {
      throw CDRError(.dataConversion, "char octet 0x\(String(octet, radix: 16)) is not one character in \(codeSets.char)")
    }
    return Unicode.Scalar(octet)
  }

  /// Reads a `string`: checks the length against the data left and the terminating NUL.
  public mutating func readString(bound: Int? = nil) throws -> String {
    let length = Int(try read(UInt32.self))
    guard length > 0 else { throw CDRError(.invalidString, "string length 0 (no room for its NUL)") }
    if let bound, length - 1 > bound {
      throw CDRError(.boundExceeded, "string of \(length - 1) characters exceeds its bound \(bound)")
    }
    guard length <= end - position else {
      throw CDRError(.lengthExceedsData, "string of \(length) bytes, only \(end - position) left")
    }
    let start = position
    let last = start + length - 1
    guard storage[last] == 0 else { throw CDRError(.invalidString, "string is not terminated by NUL") }
    position += length
    let body = storage[start..<last]
    // One pass: NUL is an error; all ASCII (the common case) is the same text in every code set.
    let (hasNUL, isASCII) = body.withUnsafeBufferPointer { chars -> (Bool, Bool) in
      var nul = false, high = false
      for b in chars {
        nul = nul || b == 0
        high = high || b > 0x7F
      }
      return (nul, !high)
    }
    if hasNUL { throw CDRError(.invalidString, "string contains NUL before its end") }
    if isASCII, codeSets.char == .utf8 || codeSets.char == .iso8859_1 || codeSets.char == .iso646 {
      return String(decoding: body, as: UTF8.self)
    }
    if codeSets.char == .iso8859_1 {
      var s = String.UnicodeScalarView()
      for b in body { s.append(Unicode.Scalar(b)) }
      return String(s)
    }
    guard let s = String(validating: body, as: UTF8.self) else {
      throw CDRError(.dataConversion, "string is not valid UTF-8")
    }
    return s
  }

  /// Reads UTF-16 code units of `octets` bytes with an optional byte-order mark.
  private mutating func readUTF16(octets: Int, defaultOrder: ByteOrder) throws -> String {
    guard octets % 2 == 0 else { throw CDRError(.invalidString, "odd UTF-16 octet count \(octets)") }
    try need(octets, "UTF-16 text")
    var order = defaultOrder
    var i = position
    let stop = position + octets
    if octets >= 2 {
      let b0 = storage[i], b1 = storage[i + 1]
      if b0 == 0xFE && b1 == 0xFF { order = .bigEndian; i += 2 }
      else if b0 == 0xFF && b1 == 0xFE { order = .littleEndian; i += 2 }
    }
    var units: [UInt16] = []
    units.reserveCapacity((stop - i) / 2)
    while i < stop {
      let hi = storage[i], lo = storage[i + 1]
      units.append(order == .bigEndian ? UInt16(hi) << 8 | UInt16(lo) : UInt16(lo) << 8 | UInt16(hi))
      i += 2
    }
    position = stop
    guard let s = String(validating: units, as: UTF16.self) else {
      throw CDRError(.dataConversion, "wide string is not valid UTF-16")
    }
    return s
  }

  /// Reads a `wchar` (GIOP 1.2: octet count and UTF-16, big endian unless a mark says otherwise;
  /// GIOP 1.0/1.1: one 2-octet unit in the stream's order).
  public mutating func readWChar() throws -> Unicode.Scalar {
    let s: String
    if giopMinor >= 2 {
      let n = Int(try read(UInt8.self))
      s = try readUTF16(octets: n, defaultOrder: .bigEndian)
    } else {
      let unit: UInt16 = try read()
      guard let scalar = Unicode.Scalar(unit) else { throw CDRError(.dataConversion, "lone surrogate in wchar") }
      return scalar
    }
    guard s.unicodeScalars.count == 1, let scalar = s.unicodeScalars.first else {
      throw CDRError(.invalidValue, "wchar holds \(s.unicodeScalars.count) characters")
    }
    return scalar
  }

  /// Reads a `wstring` (see ``CDRWriter/writeWString(_:)`` for the two layouts).
  public mutating func readWString(bound: Int? = nil) throws -> String {
    let length = Int(try read(UInt32.self))
    if giopMinor >= 2 {
      guard length <= end - position else {
        throw CDRError(.lengthExceedsData, "wstring of \(length) octets, only \(end - position) left")
      }
      let s = try readUTF16(octets: length, defaultOrder: .bigEndian)
      if let bound, s.utf16.count > bound { throw CDRError(.boundExceeded, "wstring exceeds its bound \(bound)") }
      return s
    }
    guard length > 0 else { throw CDRError(.invalidString, "wstring length 0 (no room for its NUL)") }
    guard length <= (end - position) / 2 else {
      throw CDRError(.lengthExceedsData, "wstring of \(length) units, only \(end - position) bytes left")
    }
    if let bound, length - 1 > bound { throw CDRError(.boundExceeded, "wstring exceeds its bound \(bound)") }
    var units: [UInt16] = []
    units.reserveCapacity(length)
    for _ in 0..<length { units.append(try read(UInt16.self)) }
    guard units.removeLast() == 0 else { throw CDRError(.invalidString, "wstring is not terminated by NUL") }
    guard let s = String(validating: units, as: UTF16.self) else {
      throw CDRError(.dataConversion, "wide string is not valid UTF-16")
    }
    return s
  }

  /// Reads an encapsulation and returns a reader for its contents (positioned after the
  /// byte-order octet, aligned relative to it, in the encapsulation's own byte order).
  /// No bytes are copied.
  public mutating func readEncapsulation() throws -> CDRReader {
    let length = Int(try read(UInt32.self))
    guard length <= end - position else {
      throw CDRError(.lengthExceedsData, "encapsulation of \(length) bytes, only \(end - position) left")
    }
    guard length >= 1 else { throw CDRError(.invalidEncapsulation, "empty encapsulation (no byte-order octet)") }
    let start = position
    position += length
    return CDRReader(
      storage, byteOrder: ByteOrder(flag: storage[start]), position: start + 1, alignmentOrigin: start,
      end: start + length, giopMinor: giopMinor, codeSets: codeSets)
  }

  /// Reads any value that knows its CDR form.
  @inlinable
  public mutating func decode<T: CDRDecodable>(_: T.Type = T.self) throws -> T {
    try T(from: &self)
  }
}
