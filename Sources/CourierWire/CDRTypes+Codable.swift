// `Codable` for the CDR-only value types, so that they can be fields of a `Codable` struct that
// goes through the bridge. Under ``CDREncoder``/``CDRDecoder`` they write and read their CDR form
// (wstring, char, wchar, long double) — in a field through the `CDREncodable` check, at the root
// through the checks below. Other encoders (JSON, …) get a plain string, or the two 64-bit halves.

extension WString: Codable {
  public init(from decoder: any Decoder) throws {
    if let box = decoder as? CDRDecodingBox {
      self = try Self(from: &box.reader)
      return
    }
    self = WString(try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    if let box = encoder as? CDREncodingBox {
      try encode(to: &box.writer)
      return
    }
    var container = encoder.singleValueContainer()
    try container.encode(value)
  }
}

extension CDRChar: Codable {
  public init(from decoder: any Decoder) throws {
    if let box = decoder as? CDRDecodingBox {
      self = try Self(from: &box.reader)
      return
    }
    self = CDRChar(try Self.singleScalar(from: decoder))
  }

  public func encode(to encoder: any Encoder) throws {
    if let box = encoder as? CDREncodingBox {
      try encode(to: &box.writer)
      return
    }
    var container = encoder.singleValueContainer()
    try container.encode(String(value))
  }

  static func singleScalar(from decoder: any Decoder) throws -> Unicode.Scalar {
    let container = try decoder.singleValueContainer()
    let s = try container.decode(String.self)
    guard s.unicodeScalars.count == 1, let scalar = s.unicodeScalars.first else {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected one character, got \"\(s)\"")
    }
    return scalar
  }
}

extension CDRWChar: Codable {
  public init(from decoder: any Decoder) throws {
    if let box = decoder as? CDRDecodingBox {
      self = try Self(from: &box.reader)
      return
    }
    self = CDRWChar(try CDRChar.singleScalar(from: decoder))
  }

  public func encode(to encoder: any Encoder) throws {
    if let box = encoder as? CDREncodingBox {
      try encode(to: &box.writer)
      return
    }
    var container = encoder.singleValueContainer()
    try container.encode(String(value))
  }
}

extension CDRLongDouble: Codable {
  public init(from decoder: any Decoder) throws {
    if let box = decoder as? CDRDecodingBox {
      self = try Self(from: &box.reader)
      return
    }
    var container = try decoder.unkeyedContainer()
    let high = try container.decode(UInt64.self)
    self = CDRLongDouble(high: high, low: try container.decode(UInt64.self))
  }

  public func encode(to encoder: any Encoder) throws {
    if let box = encoder as? CDREncodingBox {
      encode(to: &box.writer)
      return
    }
    var container = encoder.unkeyedContainer()
    try container.encode(high)
    try container.encode(low)
  }
}
