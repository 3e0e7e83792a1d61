/// The byte order of a CDR stream.
///
/// CDR is "receiver makes it right": a sender writes in its own order and flags it,
/// the receiver swaps when the flag differs from its own order.
public enum ByteOrder: Sendable, Hashable {
  case bigEndian
  case littleEndian

  /// The order of this machine, which Courier writes by default.
  public static let native: ByteOrder = {
    let one: UInt16 = 1
    return one.littleEndian == one ? .littleEndian : .bigEndian
  }()

  /// The GIOP/CDR flag value: `1` for little endian, `0` for big endian.
  @inlinable
  public var flag: UInt8 { self == .littleEndian ? 1 : 0 }

  /// The byte order a GIOP/CDR flag octet stands for (only bit 0 is looked at).
  @inlinable
  public init(flag: UInt8) { self = (flag & 1) == 1 ? .littleEndian : .bigEndian }
}
