/// A failure to read (or, for an out-of-bounds value, to write) XDR data (RFC 4506).
///
/// Every error says what went wrong (``code``), where (``offset``, the index in the buffer of
/// the item that is wrong, or the writer's ``XDRWriter/count`` when writing), and the numbers
/// involved (``message``). A decoder never trusts a length field: each length and count is
/// checked against its declared maximum and against the bytes actually left before anything is
/// allocated, and a failure is reported as one of these errors, never as a trap.
///
/// Match on the code:
///
/// ```swift
/// do {
///   let name = try reader.readString(maximum: 255)
/// } catch let error as XDRError where error.code == .lengthTooLarge {
///   // reply GARBAGE_ARGS
/// }
/// ```
public struct XDRError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong. An extensible set of values, not an enum: new codes may be added.
  public struct Code: Sendable, Hashable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The data ended before the value did (also: a length claims more bytes than are left).
    public static let truncated = Code("truncated")
    /// A variable-length item's length or count exceeds its declared maximum (`<max>`) or the
    /// 2³²−1 that its length field can carry.
    public static let lengthTooLarge = Code("lengthTooLarge")
    /// A `bool` is neither 0 nor 1.
    public static let invalidBool = Code("invalidBool")
    /// An `enum` value is not one of the declared values.
    public static let invalidEnum = Code("invalidEnum")
    /// A fill byte after opaque data or a string is not zero (RFC 4506 §4.9–4.11: the sender
    /// pads with zeros). Only raised while ``XDRReader/requiresZeroPadding`` is true.
    public static let nonZeroPadding = Code("nonZeroPadding")
    /// A `string` is not valid UTF-8 (read it with ``XDRReader/readStringBytes(maximum:)`` to
    /// take the bytes as they are).
    public static let invalidUTF8 = Code("invalidUTF8")
    /// A union's discriminant selects no arm and the union has no `default` arm.
    public static let unionArm = Code("unionArm")
    /// A fixed-length item (`opaque[n]`, `T[n]`) was given the wrong number of elements to write.
    public static let sizeMismatch = Code("sizeMismatch")
    /// Optional data, arrays and unions are nested deeper than ``XDRReader/maximumDepth``.
    public static let nestingTooDeep = Code("nestingTooDeep")
  }

  /// What went wrong.
  public var code: Code
  /// Where: the index in the reader's buffer of the item (or fill byte) that is wrong, or the
  /// writer's byte count when writing.
  public var offset: Int
  /// A human-readable explanation with the numbers involved.
  public var message: String

  /// Creates an error.
  public init(_ code: Code, at offset: Int, _ message: String) {
    self.code = code
    self.offset = offset
    self.message = message
  }

  public var description: String { "XDR \(code) at byte \(offset): \(message)" }

  // MARK: constructors, one per code

  /// `needed` bytes were wanted at `offset`, only `available` are there.
  public static func truncated(needed: Int, available: Int, at offset: Int) -> XDRError {
    XDRError(.truncated, at: offset, "needs \(needed) bytes, \(available) left")
  }

  /// A length or count of `length` exceeds `maximum`.
  public static func lengthTooLarge(length: Int, maximum: Int, at offset: Int) -> XDRError {
    XDRError(.lengthTooLarge, at: offset, "length \(length) exceeds the maximum \(maximum)")
  }

  /// A `bool` word holds `value`.
  public static func invalidBool(_ value: UInt32, at offset: Int) -> XDRError {
    XDRError(.invalidBool, at: offset, "bool is \(value), not 0 or 1")
  }

  /// An `enum` word holds `value`, which `type` does not declare.
  public static func invalidEnum(_ value: Int32, type: String, at offset: Int) -> XDRError {
    XDRError(.invalidEnum, at: offset, "\(value) is not a value of enum \(type)")
  }

  /// The fill byte at `offset` is `byte`, not zero.
  public static func nonZeroPadding(_ byte: UInt8, at offset: Int) -> XDRError {
    XDRError(.nonZeroPadding, at: offset, "fill byte is 0x\(String(byte, radix: 16)), not zero")
  }

  /// The `length` string bytes at `offset` are not UTF-8.
  public static func invalidUTF8(length: Int, at offset: Int) -> XDRError {
    XDRError(.invalidUTF8, at: offset, "string of \(length) bytes is not valid UTF-8")
  }

  /// The union discriminant at `offset` is `discriminant`, which selects no arm.
  public static func unionArm(discriminant: Int64, at offset: Int) -> XDRError {
    XDRError(.unionArm, at: offset, "discriminant \(discriminant) selects no arm and there is no default")
  }

  /// A fixed-length item of `expected` elements was given `actual`.
  public static func sizeMismatch(expected: Int, actual: Int, at offset: Int) -> XDRError {
    XDRError(.sizeMismatch, at: offset, "fixed-length item of \(expected) elements given \(actual)")
  }

  /// Nesting passed `limit` levels at `offset`.
  public static func nestingTooDeep(limit: Int, at offset: Int) -> XDRError {
    XDRError(.nestingTooDeep, at: offset, "optional data, arrays or unions nested deeper than \(limit) levels")
  }
}
