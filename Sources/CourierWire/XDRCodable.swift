/// A type that can write itself in XDR (RFC 4506).
///
/// An XDR `struct` is its fields one after another, in declaration order, with nothing
/// between them; conform by writing each field:
///
/// ```swift
/// // struct file { string filename<255>; filetype type; string owner<32>; opaque data<65535>; };
/// struct File: XDRCodable {
///   var filename: String, type: FileType, owner: String, data: [UInt8]
///
///   func encode(to writer: inout XDRWriter) throws {
///     try writer.writeString(filename, maximum: 255)
///     try writer.encode(type)
///     try writer.writeString(owner, maximum: 32)
///     try writer.writeOpaque(data, maximum: 65535)
///   }
///
///   init(from reader: inout XDRReader) throws {
///     filename = try reader.readString(maximum: 255)
///     type = try reader.decode()
///     owner = try reader.readString(maximum: 32)
///     data = try reader.readOpaque(maximum: 65535)
///   }
/// }
/// ```
///
/// Unions follow the pattern in ``XDRReader`` ("Unions").
public protocol XDREncodable {
  /// Writes `self` at the end of `writer`.
  func encode(to writer: inout XDRWriter) throws
}

/// A type that can read itself from XDR.
public protocol XDRDecodable {
  /// Reads a value at the reader's position.
  init(from reader: inout XDRReader) throws
}

/// A type that can be written and read in XDR.
public typealias XDRCodable = XDREncodable & XDRDecodable

// MARK: basic types
//
// Int32 is `int`, UInt32 `unsigned int`, Int64 `hyper`, UInt64 `unsigned hyper`. Swift's Int,
// Int8, Int16 and the rest have no XDR type of their own and do not conform.

extension Int32: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(Int32.self) }
}

extension UInt32: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(UInt32.self) }
}

extension Int64: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(Int64.self) }
}

extension UInt64: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(UInt64.self) }
}

extension Bool: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(Bool.self) }
}

extension Float: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(Float.self) }
}

extension Double: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(Double.self) }
}

/// `string<>`: unbounded, UTF-8. Use ``XDRWriter/writeString(_:maximum:)`` and
/// ``XDRReader/readString(maximum:)`` for `string<max>`.
extension String: XDRCodable {
  @inlinable public func encode(to writer: inout XDRWriter) throws { try writer.writeString(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.readString() }
}

/// `T<>`: an unbounded variable-length array. Use ``XDRWriter/writeArray(_:maximum:)`` and
/// ``XDRReader/readArray(_:maximum:minimumElementSize:)`` for `T<max>`, and the fixed-array
/// methods for `T[n]`. (`[UInt8]` does not conform, because `UInt8` does not: bytes are
/// `opaque`, written with ``XDRWriter/writeOpaque(_:maximum:)``.)
extension Array: XDREncodable where Element: XDREncodable {
  @inlinable public func encode(to writer: inout XDRWriter) throws { try writer.writeArray(self) }
}

extension Array: XDRDecodable where Element: XDRDecodable {
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.readArray(Element.self) }
}

/// `T *`: optional data, a `bool` then the value when it is TRUE.
extension Optional: XDREncodable where Wrapped: XDREncodable {
  @inlinable public func encode(to writer: inout XDRWriter) throws { try writer.writeOptional(self) }
}

extension Optional: XDRDecodable where Wrapped: XDRDecodable {
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.readOptional(Wrapped.self) }
}

// MARK: enums

/// An XDR `enum`: a Swift enum with `Int32` raw values gets its XDR form by conforming.
///
/// ```swift
/// enum FileKind: Int32, XDREnum { case text = 0, data = 1, exec = 2 }
/// ```
///
/// Reading a value that is not a case throws ``XDRError/Code/invalidEnum``.
public protocol XDREnum: XDRCodable, RawRepresentable where RawValue == Int32 {}

extension XDREnum {
  @inlinable public func encode(to writer: inout XDRWriter) { writer.writeEnum(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.readEnum(Self.self) }
}

// MARK: quadruple and void

/// An XDR `quadruple`: IEEE 754 binary128 (quadruple precision), 16 bytes big endian
/// (RFC 4506 §4.8): 1 sign bit, 15 exponent bits (bias 16383), 112 fraction bits.
///
/// Swift on Linux has no 128-bit float, so the value is kept as its 16 raw bytes, in two
/// big-endian halves: ``high`` is bytes 0–7 (sign, exponent and the top 48 fraction bits),
/// ``low`` bytes 8–15. Any 128 bits cross the wire unchanged. ``init(_:)`` and
/// ``doubleValue`` convert to and from `Double` (exactly from `Double`; toward zero back).
public struct XDRQuadruple: XDRCodable, Hashable, Sendable {
  /// Bytes 0–7, most significant first.
  public var high: UInt64
  /// Bytes 8–15, most significant first.
  public var low: UInt64

  /// A quadruple from its two halves.
  public init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }

  /// A quadruple from its 16 bytes as they appear on the wire.
  public init(bytes: some Collection<UInt8>) {
    precondition(bytes.count == 16, "a quadruple is 16 bytes")
    var high: UInt64 = 0, low: UInt64 = 0
    for (i, b) in bytes.enumerated() {
      if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
    }
    self.init(high: high, low: low)
  }

  /// The quadruple equal to `value`.
  public init(_ value: Double) {
    let q = CDRLongDouble(value)  // CDR's long double is the same binary128 format
    self.init(high: q.high, low: q.low)
  }

  /// The 16 bytes as they appear on the wire.
  public var bytes: [UInt8] {
    (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> UInt64(8 * (7 - i % 8))) }
  }

  /// The nearest `Double` (toward zero).
  public var doubleValue: Double { CDRLongDouble(high: high, low: low).doubleValue }

  @inlinable public func encode(to writer: inout XDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout XDRReader) throws { self = try reader.read(XDRQuadruple.self) }
}

/// XDR `void`: no bytes. The argument or result of a procedure that takes or returns nothing.
public struct XDRVoid: XDRCodable, Hashable, Sendable {
  public init() {}
  @inlinable public func encode(to writer: inout XDRWriter) {}
  @inlinable public init(from reader: inout XDRReader) {}
}
