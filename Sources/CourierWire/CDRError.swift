/// A failure to read (or, rarely, write) CDR data.
///
/// A decoder never trusts a length field: every length is checked against the bytes that
/// are actually left before anything is allocated, and a failure is reported as one of
/// these errors. The GIOP layer maps them onto the `MARSHAL` system exception.
public struct CDRError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong.
  public struct Code: Sendable, Hashable, CustomStringConvertible {
    private let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    /// The data ended before the value did.
    public static let truncated = Code("truncated")
    /// A length or count is larger than the data left in the message.
    public static let lengthExceedsData = Code("lengthExceedsData")
    /// A length or count is larger than a configured or IDL bound.
    public static let boundExceeded = Code("boundExceeded")
    /// A string is not terminated by NUL, or has a NUL inside, or a zero length.
    public static let invalidString = Code("invalidString")
    /// A boolean octet is neither 0 nor 1.
    public static let invalidBoolean = Code("invalidBoolean")
    /// An enum or union discriminator value is out of range.
    public static let invalidEnum = Code("invalidEnum")
    /// Characters cannot be represented in the negotiated code set.
    public static let dataConversion = Code("dataConversion")
    /// An encapsulation is malformed.
    public static let invalidEncapsulation = Code("invalidEncapsulation")
    /// A value is not valid for its type.
    public static let invalidValue = Code("invalidValue")
  }

  /// What went wrong.
  public var code: Code
  /// A human-readable explanation.
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "CDR \(code): \(message)" }
}
