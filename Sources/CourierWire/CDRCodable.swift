/// A type that can write itself in CDR.
///
/// Generated stubs and skeletons use this; hand-written types may use the `Codable` bridge
/// (``CDREncoder``) instead.
public protocol CDREncodable {
  /// Writes `self` at the writer's current position.
  func encode(to writer: inout CDRWriter) throws
}

/// A type that can read itself from CDR.
public protocol CDRDecodable {
  /// Reads a value at the reader's current position.
  init(from reader: inout CDRReader) throws
}

/// A type that can be written and read in CDR.
public typealias CDRCodable = CDREncodable & CDRDecodable

// IDL basic types. Swift Int and UInt are 64-bit: `long long` and `unsigned long long`.
extension Bool: CDRCodable {
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Bool.self) }
}

extension UInt8: CDRCodable {  // octet
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(UInt8.self) }
}

extension Int8: CDRCodable {  // IDL 4 int8
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Int8.self) }
}

extension Int16: CDRCodable {  // short
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Int16.self) }
}

extension UInt16: CDRCodable {  // unsigned short
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(UInt16.self) }
}

extension Int32: CDRCodable {  // long
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Int32.self) }
}

extension UInt32: CDRCodable {  // unsigned long
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(UInt32.self) }
}

extension Int64: CDRCodable {  // long long
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Int64.self) }
}

extension UInt64: CDRCodable {  // unsigned long long
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(UInt64.self) }
}

extension Int: CDRCodable {  // long long
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(Int64(self)) }
  @inlinable public init(from reader: inout CDRReader) throws { self = Int(try reader.read(Int64.self)) }
}

extension UInt: CDRCodable {  // unsigned long long
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(UInt64(self)) }
  @inlinable public init(from reader: inout CDRReader) throws { self = UInt(try reader.read(UInt64.self)) }
}

extension Float: CDRCodable {
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Float.self) }
}

extension Double: CDRCodable {
  @inlinable public func encode(to writer: inout CDRWriter) { writer.write(self) }
  @inlinable public init(from reader: inout CDRReader) throws { self = try reader.read(Double.self) }
}

extension String: CDRCodable {  // string (use WString for wstring)
  public func encode(to writer: inout CDRWriter) throws { try writer.writeString(self) }
  public init(from reader: inout CDRReader) throws { self = try reader.readString() }
}

/// An unbounded `sequence<T>`: a `ulong` count, then the elements. `[UInt8]` is `sequence<octet>`
/// and takes a fast path.
extension Array: CDREncodable where Element: CDREncodable {
  public func encode(to writer: inout CDRWriter) throws {
    if Element.self == UInt8.self {
      // Not `self as? [UInt8]`: a generic array cast checks every element. The bit cast is
      // exact (the same type) and reaches the non-generic octet path, which unspecialized
      // generic code would otherwise not (it resolves array metadata at run time, per call).
      writer.writeOctetSequence(unsafeBitCast(self, to: [UInt8].self))
      return
    }
    writer.write(UInt32(truncatingIfNeeded: count))
    for element in self { try element.encode(to: &writer) }
  }
}

extension Array: CDRDecodable where Element: CDRDecodable {
  public init(from reader: inout CDRReader) throws {
    if Element.self == UInt8.self {
      // Not `as! [Element]`: a generic array cast converts element by element. The bit cast
      // is exact (Element is UInt8) and keeps the allocation in non-generic code.
      self = unsafeBitCast(try reader.readOctetSequence(), to: [Element].self)
      return
    }
    let count = try reader.readCount()
    self = []
    self.reserveCapacity(count)
    for _ in 0..<count { append(try Element(from: &reader)) }
  }
}

extension CDRWriter {
  /// Writes a fixed-size IDL array (no count on the wire).
  public mutating func writeArray<T: CDREncodable>(_ elements: [T]) throws {
    for element in elements { try element.encode(to: &self) }
  }

  /// Writes a bounded `sequence<T, bound>`, refusing more than `bound` elements.
  public mutating func writeSequence<T: CDREncodable>(_ elements: [T], bound: Int) throws {
    guard elements.count <= bound else {
      throw CDRError(.boundExceeded, "sequence of \(elements.count) elements exceeds its bound \(bound)")
    }
    try elements.encode(to: &self)
  }
}

extension CDRReader {
  /// Reads a fixed-size IDL array of `count` elements.
  public mutating func readArray<T: CDRDecodable>(_: T.Type = T.self, count: Int) throws -> [T] {
    guard count <= remaining else {
      throw CDRError(.lengthExceedsData, "array of \(count) elements, only \(remaining) bytes left")
    }
    var result: [T] = []
    result.reserveCapacity(count)
    for _ in 0..<count { result.append(try T(from: &self)) }
    return result
  }

  /// Reads a bounded `sequence<T, bound>`.
  public mutating func readSequence<T: CDRDecodable>(_: T.Type = T.self, bound: Int? = nil) throws -> [T] {
    let count = try readCount(bound: bound)
    var result: [T] = []
    result.reserveCapacity(count)
    for _ in 0..<count { result.append(try T(from: &self)) }
    return result
  }
}

/// An IDL `wstring`, kept apart from `String` (which maps `string`) because the two have
/// different wire forms.
public struct WString: CDRCodable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
  public var value: String
  public init(_ value: String) { self.value = value }
  public init(stringLiteral value: String) { self.value = value }
  public var description: String { value }
  public func encode(to writer: inout CDRWriter) throws { try writer.writeWString(value) }
  public init(from reader: inout CDRReader) throws { value = try reader.readWString() }
}

/// An IDL `char`: one octet in the transmission char code set.
public struct CDRChar: CDRCodable, Hashable, Sendable {
  public var value: Unicode.Scalar
  public init(_ value: Unicode.Scalar) { self.value = value }
  public func encode(to writer: inout CDRWriter) throws { try writer.writeChar(value) }
  public init(from reader: inout CDRReader) throws { value = try reader.readChar() }
}

/// An IDL `wchar`.
public struct CDRWChar: CDRCodable, Hashable, Sendable {
  public var value: Unicode.Scalar
  public init(_ value: Unicode.Scalar) { self.value = value }
  public func encode(to writer: inout CDRWriter) throws { try writer.writeWChar(value) }
  public init(from reader: inout CDRReader) throws { value = try reader.readWChar() }
}
