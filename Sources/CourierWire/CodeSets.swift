/// An OSF code set registry identifier, as carried in the CODE_SETS tagged component and
/// the CodeSets service context.
public struct CodeSetID: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// ISO 8859-1 (Latin-1): omniORB's and CORBA's default native char code set.
  public static let iso8859_1 = CodeSetID(rawValue: 0x0001_0001)
  /// UTF-8: Courier's native char code set.
  public static let utf8 = CodeSetID(rawValue: 0x0501_0001)
  /// UTF-16: Courier's native wchar code set.
  public static let utf16 = CodeSetID(rawValue: 0x0001_0109)
  /// UCS-2 level 1 (a subset of UTF-16 without surrogates).
  public static let ucs2 = CodeSetID(rawValue: 0x0001_0100)
  /// ISO 646 (ASCII).
  public static let iso646 = CodeSetID(rawValue: 0x0001_0020)

  public var description: String {
    switch self {
    case .iso8859_1: "ISO-8859-1"
    case .utf8: "UTF-8"
    case .utf16: "UTF-16"
    case .ucs2: "UCS-2"
    case .iso646: "ISO-646"
    default: "0x" + String(rawValue, radix: 16)
    }
  }
}

/// The transmission code sets a connection uses for `char`/`string` and `wchar`/`wstring`.
///
/// Chosen by code set negotiation (CORBA 3.0 §13.10): the client compares its own code sets
/// with the server's CODE_SETS component and tells the server its choice in a CodeSets
/// service context on the first request of a connection.
public struct TransmissionCodeSets: Sendable, Hashable {
  /// The code set for `char` and `string`.
  public var char: CodeSetID
  /// The code set for `wchar` and `wstring`.
  public var wchar: CodeSetID

  public init(char: CodeSetID, wchar: CodeSetID) {
    self.char = char
    self.wchar = wchar
  }

  /// UTF-8 for narrow strings, UTF-16 for wide ones.
  public static let `default` = TransmissionCodeSets(char: .utf8, wchar: .utf16)
}
