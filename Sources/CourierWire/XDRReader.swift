/// Reads XDR values (RFC 4506) from a byte buffer.
///
/// Every read is bounds-checked and throws ``XDRError`` (what, where, the numbers) instead of
/// trapping. Length fields are never trusted: the length of variable-length opaque data or a
/// string, and the count of a variable-length array, is checked against the declared maximum
/// and then against the bytes left before anything is allocated, so a length of 0xFFFFFFFF in a
/// 12-byte message costs one comparison.
///
/// ```swift
/// var r = XDRReader(bytes)
/// let id = try r.read(UInt32.self)
/// let name = try r.readString(maximum: 255)
/// let data = try r.readOpaque(maximum: 65535)
/// ```
///
/// ## Fill bytes
/// RFC 4506 says the sender pads opaque data and strings with zero bytes. By default
/// (``requiresZeroPadding`` true) a non-zero fill byte is an error,
/// ``XDRError/Code/nonZeroPadding``: it usually means the reader and the writer disagree about
/// the layout. Set it to false to accept any fill, as libtirpc's `xdr_opaque` does. Either way
/// the fill bytes must be present.
///
/// ## Unions
/// A discriminated union is a discriminant (`int`, `unsigned int` or `enum`) then the arm it
/// selects. Read the discriminant and switch on it, in ``readUnion(_:)``, which also reports a
/// discriminant with no arm (``XDRError/Code/unionArm``) and counts the nesting:
///
/// ```swift
/// // union filetype switch (filekind kind) {
/// //   case TEXT: void;  case DATA: string creator<255>;  case EXEC: string interpretor<255>; };
/// enum FileType: XDRCodable {
///   case text, data(creator: String), exec(interpretor: String)
///
///   init(from reader: inout XDRReader) throws {
///     self = try reader.readUnion { discriminant, r in
///       switch discriminant {
///       case 0: .text
///       case 1: .data(creator: try r.readString(maximum: 255))
///       case 2: .exec(interpretor: try r.readString(maximum: 255))
///       default: nil  // no arm: readUnion throws .unionArm; a union with a default arm reads it here
///       }
///     }
///   }
///
///   func encode(to writer: inout XDRWriter) throws {
///     switch self {
///     case .text: writer.write(Int32(0))
///     case .data(let creator): writer.write(Int32(1)); try writer.writeString(creator, maximum: 255)
///     case .exec(let interpretor): writer.write(Int32(2)); try writer.writeString(interpretor, maximum: 255)
///     }
///   }
/// }
/// ```
///
/// ## Nesting
/// Optional data (`T *`), arrays and unions can nest without bound (a linked list is optional
/// data inside optional data), so a hostile message could make a recursive decoder overflow the
/// stack. ``readOptional(_:)``, the array reads, ``readUnion(_:)`` and ``nested(_:)`` count
/// levels and throw ``XDRError/Code/nestingTooDeep`` past ``maximumDepth``. For long lists use
/// ``readList(maximum:_:)``, which reads the rpcgen `node *next` idiom in a loop.
public struct XDRReader: Sendable {
  /// The whole buffer.
  public let storage: [UInt8]
  @usableFromInline var _position: Int
  /// The index of the next byte to read.
  @inlinable public var position: Int { _position }
  /// The index one past the last readable byte.
  public let end: Int
  /// Whether a non-zero fill byte is an error (``XDRError/Code/nonZeroPadding``); true by default.
  public var requiresZeroPadding: Bool
  /// How many levels of optional data, arrays and unions may nest (see "Nesting" above).
  public var maximumDepth: Int
  @usableFromInline var _depth: Int
  /// The current nesting level.
  @inlinable public var depth: Int { _depth }

  /// The default ``maximumDepth``.
  public static let defaultMaximumDepth = 256

  /// Creates a reader over `bytes`.
  /// - Parameters:
  ///   - bytes: the buffer.
  ///   - position: where to start reading.
  ///   - end: one past the last readable byte; the end of `bytes` by default.
  ///   - requiresZeroPadding: whether a non-zero fill byte is an error (true, the RFC's rule)
  ///     or ignored.
  ///   - maximumDepth: how deep optional data, arrays and unions may nest.
  public init(
    _ bytes: [UInt8],
    position: Int = 0,
    end: Int? = nil,
    requiresZeroPadding: Bool = true,
    maximumDepth: Int = XDRReader.defaultMaximumDepth
  ) {
    let end = end ?? bytes.count
    precondition(0 <= position && position <= end && end <= bytes.count, "XDRReader range outside the buffer")
    self.storage = bytes
    self._position = position
    self.end = end
    self.requiresZeroPadding = requiresZeroPadding
    self.maximumDepth = maximumDepth
    self._depth = 0
  }

  /// Bytes left to read.
  @inlinable public var remaining: Int { end &- position }

  /// True when every byte has been read.
  @inlinable public var isAtEnd: Bool { position >= end }

  /// Throws ``XDRError/Code/truncated`` unless `n` more bytes are there.
  @inlinable
  func need(_ n: Int) throws {
    if n > end &- position { throw XDRError.truncated(needed: n, available: end &- position, at: position) }
  }

  /// Skips `n` bytes (`n` is not rounded up to a multiple of four).
  public mutating func skip(_ n: Int) throws {
    precondition(n >= 0, "skip(_:) backwards")
    try need(n)
    _position &+= n
  }

  /// Loads a big-endian integer (4 or 8 bytes) and moves past it.
  @inlinable
  mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
    let size = MemoryLayout<T>.size
    try need(size)
    let at = position
    let raw = storage.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) }
    _position = at &+ size
    return T(bigEndian: raw)
  }

  // MARK: numbers

  /// Reads an `int`.
  @inlinable public mutating func read(_: Int32.Type = Int32.self) throws -> Int32 { try load(Int32.self) }

  /// Reads an `unsigned int`.
  @inlinable public mutating func read(_: UInt32.Type = UInt32.self) throws -> UInt32 { try load(UInt32.self) }

  /// Reads a `hyper`.
  @inlinable public mutating func read(_: Int64.Type = Int64.self) throws -> Int64 { try load(Int64.self) }

  /// Reads an `unsigned hyper`.
  @inlinable public mutating func read(_: UInt64.Type = UInt64.self) throws -> UInt64 { try load(UInt64.self) }

  /// Reads a `bool`; any value but 0 or 1 is ``XDRError/Code/invalidBool``.
  @inlinable
  public mutating func read(_: Bool.Type = Bool.self) throws -> Bool {
    let at = position
    switch try load(UInt32.self) {
    case 0: return false
    case 1: return true
    case let other:
      _position = at
      throw XDRError.invalidBool(other, at: at)
    }
  }

  /// Reads a `float` (every bit pattern, NaN payloads included, comes back unchanged).
  @inlinable
  public mutating func read(_: Float.Type = Float.self) throws -> Float { Float(bitPattern: try load(UInt32.self)) }

  /// Reads a `double` (every bit pattern, NaN payloads included, comes back unchanged).
  @inlinable
  public mutating func read(_: Double.Type = Double.self) throws -> Double { Double(bitPattern: try load(UInt64.self)) }

  /// Reads a `quadruple`.
  @inlinable
  public mutating func read(_: XDRQuadruple.Type = XDRQuadruple.self) throws -> XDRQuadruple {
    try need(16)
    let high = try load(UInt64.self)
    let low = try load(UInt64.self)
    return XDRQuadruple(high: high, low: low)
  }

  /// Reads an `enum` as its `int` value, accepting it only when `isValid` does.
  /// - Parameters:
  ///   - typeName: the enum's name, for the error message.
  ///   - isValid: the validation hook: true for the declared values.
  /// - Throws: ``XDRError/Code/invalidEnum`` when `isValid` returns false.
  @inlinable
  public mutating func readEnum(_ typeName: String = "enum", isValid: (Int32) -> Bool) throws -> Int32 {
    let at = position
    let value = try load(Int32.self)
    guard isValid(value) else {
      _position = at
      throw XDRError.invalidEnum(value, type: typeName, at: at)
    }
    return value
  }

  /// Reads an `enum` into a Swift enum with `Int32` raw values: a value with no case is
  /// ``XDRError/Code/invalidEnum``.
  @inlinable
  public mutating func readEnum<E: RawRepresentable>(_: E.Type = E.self) throws -> E where E.RawValue == Int32 {
    let at = position
    let value = try load(Int32.self)
    guard let e = E(rawValue: value) else {
      _position = at
      throw XDRError.invalidEnum(value, type: "\(E.self)", at: at)
    }
    return e
  }

  /// Reads `void`: nothing.
  @inlinable public mutating func readVoid() {}

  // MARK: opaque data and strings

  /// Checks that `length` bytes and their fill are there at the position, and the fill's
  /// value; returns the padded length. Does not move. A shortage is reported at `itemStart`
  /// (the length field of a variable-length item).
  @inlinable
  func checkPadded(_ length: Int, itemStart: Int) throws -> Int {
    let left = end &- _position
    let pad = (0 &- length) & 3
    guard length <= left && pad <= left &- length else {
      throw XDRError(.truncated, at: itemStart, "needs \(length) bytes and \(pad) of fill, \(left) left")
    }
    let padded = length &+ pad
    if requiresZeroPadding && pad != 0 {
      let fillStart = _position &+ length
      let fillEnd = _position &+ padded
      try storage.withUnsafeBytes { raw in
        for i in fillStart..<fillEnd where raw[i] != 0 {
          throw XDRError.nonZeroPadding(raw[i], at: i)
        }
      }
    }
    return padded
  }

  /// Reads the `unsigned int` length of a variable-length item and checks it against
  /// `maximum` and against the bytes left (`length` bytes plus fill). On failure the position
  /// is back at the length field, which the error points at.
  @inlinable
  mutating func readLength(maximum: Int) throws -> (length: Int, padded: Int) {
    let at = _position
    let length = Int(try load(UInt32.self))
    do {
      if length > maximum { throw XDRError.lengthTooLarge(length: length, maximum: maximum, at: at) }
      return (length, try checkPadded(length, itemStart: at))
    } catch {
      _position = at
      throw error
    }
  }

  /// Calls `body` with the next `length` bytes in place and moves past them and `padded`.
  @inlinable
  mutating func consume<R>(_ length: Int, padded: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let at = position
    let result = try storage.withUnsafeBytes { raw in
      try body(UnsafeRawBufferPointer(rebasing: raw[at..<(at &+ length)]))
    }
    _position = at &+ padded
    return result
  }

  /// Copies raw bytes into a new array.
  @inlinable
  static func copy(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: raw.count) { buffer, initialized in
      if raw.count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw) }
      initialized = raw.count
    }
  }

  /// Reads fixed-length opaque data, `opaque name[count]`, and its fill.
  /// - Throws: ``XDRError/Code/truncated``; ``XDRError/Code/nonZeroPadding`` (see "Fill bytes").
  @inlinable
  public mutating func readFixedOpaque(count: Int) throws -> [UInt8] {
    precondition(count >= 0, "negative opaque size")
    let padded = try checkPadded(count, itemStart: _position)
    return consume(count, padded: padded, Self.copy)
  }

  /// Reads variable-length opaque data, `opaque name<maximum>`.
  /// - Parameter maximum: the declared maximum; unbounded (`<>`) by default.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` over `maximum`, ``XDRError/Code/truncated``
  ///   when the data is shorter than the length says, ``XDRError/Code/nonZeroPadding``.
  @inlinable
  public mutating func readOpaque(maximum: Int = Int(UInt32.max)) throws -> [UInt8] {
    let (length, padded) = try readLength(maximum: maximum)
    return consume(length, padded: padded, Self.copy)
  }

  /// Reads variable-length opaque data and calls `body` with the bytes in place (no copy).
  /// When `body` throws, the position goes back to the length field.
  @inlinable
  public mutating func withOpaque<R>(
    maximum: Int = Int(UInt32.max), _ body: (UnsafeRawBufferPointer) throws -> R
  ) throws -> R {
    let at = _position
    let (length, padded) = try readLength(maximum: maximum)
    do {
      return try consume(length, padded: padded, body)
    } catch {
      _position = at
      throw error
    }
  }

  /// Reads a `string<maximum>` as text.
  ///
  /// RFC 4506 describes strings as ASCII; in practice (NFSv4, for one) they carry UTF-8, which
  /// is what this accepts. NUL bytes are not special.
  /// - Parameter maximum: the declared maximum in bytes; unbounded (`<>`) by default.
  /// - Throws: ``XDRError/Code/lengthTooLarge``, ``XDRError/Code/truncated``,
  ///   ``XDRError/Code/nonZeroPadding``, and ``XDRError/Code/invalidUTF8`` for bytes that are
  ///   not UTF-8 (use ``readStringBytes(maximum:)`` for those).
  @inlinable
  public mutating func readString(maximum: Int = Int(UInt32.max)) throws -> String {
    let at = position
    let (length, padded) = try readLength(maximum: maximum)
    let text = consume(length, padded: padded) { raw in String(validating: raw, as: UTF8.self) }
    guard let text else {
      _position = at
      throw XDRError.invalidUTF8(length: length, at: at &+ 4)
    }
    return text
  }

  /// Reads a `string<maximum>` as its bytes, whatever they are.
  @inlinable
  public mutating func readStringBytes(maximum: Int = Int(UInt32.max)) throws -> [UInt8] {
    try readOpaque(maximum: maximum)
  }

  // MARK: composite types

  /// Reads any value that knows its XDR form.
  @inlinable
  public mutating func decode<T: XDRDecodable>(_: T.Type = T.self) throws -> T {
    try T(from: &self)
  }

  /// Runs `body` one nesting level deeper, throwing ``XDRError/Code/nestingTooDeep`` past
  /// ``maximumDepth``. Hand-written decoders of recursive types call it around the recursion.
  @inlinable
  public mutating func nested<R>(_ body: (inout XDRReader) throws -> R) throws -> R {
    guard depth < maximumDepth else { throw XDRError.nestingTooDeep(limit: maximumDepth, at: position) }
    _depth &+= 1
    defer { _depth &-= 1 }
    return try body(&self)
  }

  /// Checks that `count` elements of at least `minimumElementSize` bytes can be in the data left.
  @inlinable
  func checkCount(_ count: Int, minimumElementSize: Int, at offset: Int) throws {
    precondition(minimumElementSize >= 0, "negative element size")
    let left = end &- position
    if minimumElementSize > 0, count > left / minimumElementSize {
      throw XDRError(.truncated, at: offset, "\(count) elements of at least \(minimumElementSize) bytes each, \(left) bytes left")
    }
  }

  /// Reads a fixed-length array, `T name[count]`.
  /// - Parameters:
  ///   - count: the declared size.
  ///   - minimumElementSize: the fewest bytes one element takes (4 unless you know more; every
  ///     XDR type but `void` takes at least 4), to refuse up front a size the data cannot hold.
  @inlinable
  public mutating func readFixedArray<T: XDRDecodable>(
    _: T.Type = T.self, count: Int, minimumElementSize: Int = 4
  ) throws -> [T] {
    try readFixedArray(count: count, minimumElementSize: minimumElementSize) { r in try T(from: &r) }
  }

  /// Reads a fixed-length array whose elements `readElement` reads.
  @inlinable
  public mutating func readFixedArray<T>(
    count: Int, minimumElementSize: Int = 4, _ readElement: (inout XDRReader) throws -> T
  ) throws -> [T] {
    precondition(count >= 0, "negative array size")
    try checkCount(count, minimumElementSize: minimumElementSize, at: position)
    return try readElements(count, reserve: minimumElementSize > 0, readElement)
  }

  /// Reads a variable-length array, `T name<maximum>`.
  ///
  /// The count is checked against `maximum`, then against the bytes left assuming each element
  /// takes at least `minimumElementSize` bytes (4 by default, the least any XDR type but
  /// `void` takes; pass more when you know it, e.g. 8 for `hyper`, for an earlier refusal).
  /// Only then is storage reserved.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` over `maximum`, ``XDRError/Code/truncated``.
  @inlinable
  public mutating func readArray<T: XDRDecodable>(
    _: T.Type = T.self, maximum: Int = Int(UInt32.max), minimumElementSize: Int = 4
  ) throws -> [T] {
    try readArray(maximum: maximum, minimumElementSize: minimumElementSize) { r in try T(from: &r) }
  }

  /// Reads a variable-length array whose elements `readElement` reads (for elements that need
  /// arguments: `readArray(maximum: 8) { try $0.readString(maximum: 32) }`).
  @inlinable
  public mutating func readArray<T>(
    maximum: Int = Int(UInt32.max), minimumElementSize: Int = 4, _ readElement: (inout XDRReader) throws -> T
  ) throws -> [T] {
    let at = position
    let count = Int(try load(UInt32.self))
    do {
      if count > maximum { throw XDRError.lengthTooLarge(length: count, maximum: maximum, at: at) }
      try checkCount(count, minimumElementSize: minimumElementSize, at: at)
    } catch {
      _position = at
      throw error
    }
    return try readElements(count, reserve: minimumElementSize > 0, readElement)
  }

  /// Reads `count` elements one level deeper. Reserves `count` slots only when the count has
  /// been checked against the data (`reserve`).
  @inlinable
  mutating func readElements<T>(_ count: Int, reserve: Bool, _ readElement: (inout XDRReader) throws -> T) throws -> [T] {
    try nested { r in
      var result: [T] = []
      if reserve { result.reserveCapacity(count) }
      for _ in 0..<count { result.append(try readElement(&r)) }
      return result
    }
  }

  /// Reads optional data, `T *name`: a `bool`, then the value when it is TRUE.
  /// - Throws: ``XDRError/Code/invalidBool`` for a flag that is neither 0 nor 1, and whatever
  ///   reading the value throws.
  @inlinable
  public mutating func readOptional<T: XDRDecodable>(_: T.Type = T.self) throws -> T? {
    try readOptional { r in try T(from: &r) }
  }

  /// Reads optional data whose value `readValue` reads.
  @inlinable
  public mutating func readOptional<T>(_ readValue: (inout XDRReader) throws -> T) throws -> T? {
    guard try read(Bool.self) else { return nil }
    return try nested(readValue)
  }

  /// Reads a discriminated union: reads the discriminant (an `int`, or an `enum`'s value; an
  /// `unsigned int` discriminant arrives as its bit pattern) and calls `arms` with it, one
  /// nesting level deeper. `arms` switches on the discriminant and reads the selected arm; it
  /// returns nil when no arm matches and there is no `default` arm.
  /// - Throws: ``XDRError/Code/unionArm`` (at the discriminant) when `arms` returns nil.
  @inlinable
  public mutating func readUnion<T>(_ arms: (_ discriminant: Int32, inout XDRReader) throws -> T?) throws -> T {
    let at = position
    let discriminant = try load(Int32.self)
    let value = try nested { r in try arms(discriminant, &r) }
    guard let value else { throw XDRError.unionArm(discriminant: Int64(discriminant), at: at) }
    return value
  }

  /// Reads a discriminated union whose discriminant is an `enum`: a value that is not a case of
  /// `E` is ``XDRError/Code/invalidEnum``; otherwise as ``readUnion(_:)``.
  @inlinable
  public mutating func readUnion<E: RawRepresentable, T>(
    _: E.Type, _ arms: (_ discriminant: E, inout XDRReader) throws -> T?
  ) throws -> T where E.RawValue == Int32 {
    let at = _position
    let discriminant = try readEnum(E.self)
    let value = try nested { r in try arms(discriminant, &r) }
    guard let value else { throw XDRError.unionArm(discriminant: Int64(discriminant.rawValue), at: at) }
    return value
  }

  /// Reads a linked list in the rpcgen idiom `struct node { T item; node *next; }; node *list;`
  /// in a loop rather than by recursion: `TRUE` and an element, again and again, then `FALSE`.
  /// `readElement` reads one node's fields other than `next`.
  /// - Parameter maximum: the most elements accepted.
  /// - Throws: ``XDRError/Code/lengthTooLarge`` past `maximum`, ``XDRError/Code/invalidBool``,
  ///   ``XDRError/Code/truncated``.
  @inlinable
  public mutating func readList<T>(
    maximum: Int = Int(UInt32.max), _ readElement: (inout XDRReader) throws -> T
  ) throws -> [T] {
    var result: [T] = []
    while true {
      let at = position
      guard try read(Bool.self) else { return result }
      guard result.count < maximum else {
        _position = at
        throw XDRError.lengthTooLarge(length: result.count + 1, maximum: maximum, at: at)
      }
      result.append(try nested(readElement))
    }
  }

  /// Reads a linked list (see ``readList(maximum:_:)``) of values that know their XDR form.
  @inlinable
  public mutating func readList<T: XDRDecodable>(_: T.Type = T.self, maximum: Int = Int(UInt32.max)) throws -> [T] {
    try readList(maximum: maximum) { r in try T(from: &r) }
  }
}
