/// Encodes `Encodable` Swift values as CDR, positionally: the fields of a struct are written
/// one after another in declaration order, as CDR writes an IDL struct (keys are ignored).
///
/// The mapping: `Bool` → boolean, `UInt8` → octet, `Int16`/`UInt16` → short, `Int32`/`UInt32` →
/// long, `Int`/`Int64`/`UInt`/`UInt64` → long long, `Float`/`Double` → float/double,
/// `String` → string, arrays → `sequence<T>` (`[UInt8]` → `sequence<octet>`), nested structs →
/// nested structs, enums with integer raw values → their raw value. `Optional` has no IDL 2
/// form; it is written as a union with a boolean discriminator (false: absent). Types that
/// conform to ``CDREncodable`` (``WString``, ``CDRLongDouble``, …) write themselves.
/// Enums with associated values are not supported (decoding them fails with an error).
///
/// ```swift
/// struct Person: Codable { var name: String; var place: String; var year: Int32 }
/// let bytes = try CDREncoder().encode(Person(name: "Ada", place: "London", year: 1815))
/// ```
public struct CDREncoder: Sendable {
  /// The byte order to write in.
  public var byteOrder: ByteOrder
  /// The GIOP minor version for wide-character rules.
  public var giopMinor: UInt8
  /// The transmission code sets.
  public var codeSets: TransmissionCodeSets
  /// What the encoder's `userInfo` offers the values it encodes (and ``CDRUserInfoEncodable``
  /// values get with their writer): the actor system puts itself here, for the references it writes.
  public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

  public init(byteOrder: ByteOrder = .native, giopMinor: UInt8 = 2, codeSets: TransmissionCodeSets = .default) {
    self.byteOrder = byteOrder
    self.giopMinor = giopMinor
    self.codeSets = codeSets
  }

  /// Encodes `value` on its own (alignment relative to its first byte).
  public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
    var writer = CDRWriter(byteOrder: byteOrder, giopMinor: giopMinor, codeSets: codeSets)
    try encode(value, into: &writer)
    return writer.bytes
  }

  /// Encodes `value` at the writer's current position (for a request or reply body).
  public func encode<T: Encodable>(_ value: T, into writer: inout CDRWriter) throws {
    let box = CDREncodingBox(writer: writer, userInfo: userInfo)
    writer = CDRWriter(capacity: 0)  // the box owns the only copy while encoding: no CoW copy
    defer { writer = box.writer }
    // The root goes through Encodable even if it is also CDREncodable: a type may implement
    // CDREncodable by calling this bridge. An Optional root still needs its boolean discriminator,
    // which Optional's own Encodable does not write.
    if value is any CDROptionalEncodable || value is any CDRUserInfoEncodable { try box.encodeValue(value) } else { try value.encode(to: box) }
  }
}

/// Optional's CDR form needs to see through the generic `T`.
protocol CDROptionalEncodable {
  var cdrWrapped: (any Encodable)? { get }
}

extension Optional: CDROptionalEncodable where Wrapped: Encodable {
  var cdrWrapped: (any Encodable)? { self }
}

/// A value whose CDR form needs what the coder's user info carries (an actor reference records
/// itself with the actor system that writes it). The CDR bridge calls these instead of
/// `Encodable`/`Decodable`, wherever the value appears.
public protocol CDRUserInfoEncodable: Encodable {
  func encode(to writer: inout CDRWriter, userInfo: [CodingUserInfoKey: any Sendable]) throws
}

/// The decoding side of ``CDRUserInfoEncodable``.
public protocol CDRUserInfoDecodable: Decodable {
  init(from reader: inout CDRReader, userInfo: [CodingUserInfoKey: any Sendable]) throws
}

final class CDREncodingBox: Encoder {
  var writer: CDRWriter
  let sendableUserInfo: [CodingUserInfoKey: any Sendable]
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

  init(writer: CDRWriter, userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
    self.writer = writer
    self.sendableUserInfo = userInfo
  }

  func encodeValue<T: Encodable>(_ value: T) throws {
    if let optional = value as? any CDROptionalEncodable {
      if let wrapped = optional.cdrWrapped {
        writer.write(true)
        try encodeValue(wrapped)
      } else {
        writer.write(false)
      }
    } else if let contextual = value as? any CDRUserInfoEncodable {
      try contextual.encode(to: &writer, userInfo: sendableUserInfo)
    } else if let direct = value as? any CDREncodable {
      try direct.encode(to: &writer)
    } else {
      try value.encode(to: self)
    }
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    KeyedEncodingContainer(KeyedContainer<Key>(box: self))
  }

  func unkeyedEncodingContainer() -> any UnkeyedEncodingContainer { UnkeyedContainer(box: self) }
  func unkeyedContainer() -> any UnkeyedEncodingContainer { UnkeyedContainer(box: self) }
  func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(box: self) }

  struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: CDREncodingBox
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil(forKey key: Key) throws { box.writer.write(false) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try box.encodeValue(value) }
    // The standard library's defaults for these skip a nil and write a present value bare, without
    // the union discriminator; they would win over the generic one above, so spell them out.
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try box.encodeValue(value) }
    mutating func nestedContainer<NestedKey: CodingKey>(
      keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> { box.container(keyedBy: keyType) }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { UnkeyedContainer(box: box) }
    mutating func superEncoder() -> any Encoder { box }
    mutating func superEncoder(forKey key: Key) -> any Encoder { box }
  }

  /// A sequence: the count is written first as 0 and patched after every element, because
  /// `Encodable` does not tell the count up front.
  struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: CDREncodingBox
    let countOffset: Int
    var count: Int = 0
    var codingPath: [any CodingKey] { [] }

    init(box: CDREncodingBox) {
      self.box = box
      box.writer.align(4)
      countOffset = box.writer.count
      box.writer.write(UInt32(0))
    }

    private mutating func bump() {
      count += 1
      box.writer.setUInt32(UInt32(truncatingIfNeeded: count), at: countOffset)
    }

    mutating func encodeNil() throws {
      box.writer.write(false)
      bump()
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
      try box.encodeValue(value)
      bump()
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
      bump()
      return box.container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
      bump()
      return UnkeyedContainer(box: box)
    }
    mutating func superEncoder() -> any Encoder { box }
  }

  struct SingleContainer: SingleValueEncodingContainer {
    let box: CDREncodingBox
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil() throws { box.writer.write(false) }
    mutating func encode<T: Encodable>(_ value: T) throws { try box.encodeValue(value) }
  }
}

/// For a ``CDRUserInfoEncodable``/``CDRUserInfoDecodable`` type's own `Codable` methods, which
/// the CDR bridge may call with itself as the coder (a distributed actor encodes its identity
/// with `id.encode(to: encoder)`): the CDR form when the coder is the bridge.
public enum CDRBridge {
  /// Writes `value`'s CDR form if `encoder` is the CDR bridge; false otherwise.
  public static func encode(_ value: some CDRUserInfoEncodable, to encoder: any Encoder) throws -> Bool {
    guard let box = encoder as? CDREncodingBox else { return false }
    try value.encode(to: &box.writer, userInfo: box.sendableUserInfo)
    return true
  }

  /// Reads a `T` in its CDR form if `decoder` is the CDR bridge; nil otherwise.
  public static func decode<T: CDRUserInfoDecodable>(_ type: T.Type, from decoder: any Decoder) throws -> T? {
    guard let box = decoder as? CDRDecodingBox else { return nil }
    return try T(from: &box.reader, userInfo: box.sendableUserInfo)
  }
}
