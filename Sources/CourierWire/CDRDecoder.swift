/// Decodes `Decodable` Swift values from CDR, positionally (the mirror of ``CDREncoder``).
///
/// ```swift
/// let person = try CDRDecoder().decode(Person.self, from: bytes)
/// ```
public struct CDRDecoder: Sendable {
  /// The sender's byte order.
  public var byteOrder: ByteOrder
  /// The GIOP minor version for wide-character rules.
  public var giopMinor: UInt8
  /// The transmission code sets.
  public var codeSets: TransmissionCodeSets
  /// What the decoder's `userInfo` offers the values it decodes (a distributed actor finds its
  /// actor system under `.actorSystemKey` here).
  public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

  public init(byteOrder: ByteOrder = .native, giopMinor: UInt8 = 2, codeSets: TransmissionCodeSets = .default) {
    self.byteOrder = byteOrder
    self.giopMinor = giopMinor
    self.codeSets = codeSets
  }

  /// Decodes a `T` that fills `bytes` exactly; trailing bytes are an error.
  public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    var reader = CDRReader(bytes, byteOrder: byteOrder, giopMinor: giopMinor, codeSets: codeSets)
    let value = try decode(type, from: &reader)
    guard reader.isAtEnd else {
      throw CDRError(.invalidValue, "\(reader.remaining) bytes left after \(T.self)")
    }
    return value
  }

  /// Decodes a `T` at the reader's position (for a request or reply body).
  public func decode<T: Decodable>(_ type: T.Type, from reader: inout CDRReader) throws -> T {
    let box = CDRDecodingBox(reader: reader, userInfo: userInfo)
    defer { reader = box.reader }
    // The root goes through Decodable even if it is also CDRDecodable (see CDREncoder); an Optional
    // root reads its boolean discriminator.
    if T.self is any CDROptionalDecodable.Type || T.self is any CDRUserInfoDecodable.Type { return try box.decodeValue(type) }
    return try T(from: box)
  }
}

/// Optional's CDR form needs to see through the generic `T`.
protocol CDROptionalDecodable {
  static func cdrDecodeWrapped(_ box: CDRDecodingBox) throws -> Self
}

extension Optional: CDROptionalDecodable where Wrapped: Decodable {
  static func cdrDecodeWrapped(_ box: CDRDecodingBox) throws -> Self {
    try box.reader.read(Bool.self) ? .some(try box.decodeValue(Wrapped.self)) : .none
  }
}

final class CDRDecodingBox: Decoder {
  var reader: CDRReader
  let sendableUserInfo: [CodingUserInfoKey: any Sendable]
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { sendableUserInfo }

  init(reader: CDRReader, userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
    self.reader = reader
    self.sendableUserInfo = userInfo
  }

  func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
    if let optional = type as? any CDROptionalDecodable.Type {
      return try optional.cdrDecodeWrapped(self) as! T
    }
    if let contextual = type as? any CDRUserInfoDecodable.Type {
      return try contextual.init(from: &reader, userInfo: sendableUserInfo) as! T
    }
    if let direct = type as? any CDRDecodable.Type {
      return try direct.init(from: &reader) as! T
    }
    return try T(from: self)
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    KeyedDecodingContainer(KeyedContainer<Key>(box: self))
  }
  func unkeyedContainer() throws -> any UnkeyedDecodingContainer { try UnkeyedContainer(box: self) }
  func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(box: self) }

  struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let box: CDRDecodingBox
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }
    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try box.decodeValue(type) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
      try box.decodeValue(T?.self)
    }
    // The standard library's defaults for these read a bare value (decodeNil is always false); they
    // would win over the generic one above, so spell them out to read the union discriminator.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try box.decodeValue(Bool?.self) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try box.decodeValue(String?.self) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try box.decodeValue(Double?.self) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try box.decodeValue(Float?.self) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try box.decodeValue(Int?.self) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try box.decodeValue(Int8?.self) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try box.decodeValue(Int16?.self) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try box.decodeValue(Int32?.self) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try box.decodeValue(Int64?.self) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try box.decodeValue(UInt?.self) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try box.decodeValue(UInt8?.self) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try box.decodeValue(UInt16?.self) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try box.decodeValue(UInt32?.self) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try box.decodeValue(UInt64?.self) }
    func nestedContainer<NestedKey: CodingKey>(
      keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> { try box.container(keyedBy: type) }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
      try UnkeyedContainer(box: box)
    }
    func superDecoder() throws -> any Decoder { box }
    func superDecoder(forKey key: Key) throws -> any Decoder { box }
  }

  struct UnkeyedContainer: UnkeyedDecodingContainer {
    let box: CDRDecodingBox
    let total: Int
    var currentIndex: Int = 0
    var codingPath: [any CodingKey] { [] }
    var count: Int? { total }
    var isAtEnd: Bool { currentIndex >= total }

    init(box: CDRDecodingBox) throws {
      self.box = box
      total = try box.reader.readCount()
    }

    private mutating func next() throws {
      guard currentIndex < total else { throw CDRError(.truncated, "read past the end of a sequence") }
      currentIndex += 1
    }
    mutating func decodeNil() throws -> Bool { false }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
      try next()
      return try box.decodeValue(type)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
      try next()
      return try box.container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
      try next()
      return try UnkeyedContainer(box: box)
    }
    mutating func superDecoder() throws -> any Decoder { box }
  }

  struct SingleContainer: SingleValueDecodingContainer {
    let box: CDRDecodingBox
    var codingPath: [any CodingKey] { [] }
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try box.decodeValue(type) }
  }
}
