/// An IDL `long double`: IEEE 754 binary128 (quadruple precision), 16 octets aligned on 8.
///
/// Swift on Linux has no 128-bit float, so the value keeps its exact 128 bits and converts to
/// and from `Double` (exactly for every finite `Double`; rounding toward zero the other way).
public struct CDRLongDouble: CDRCodable, Hashable, Sendable {
  /// The high 64 bits: sign, 15-bit exponent, the top 48 bits of the fraction.
  public var high: UInt64
  /// The low 64 bits of the fraction.
  public var low: UInt64

  public init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }

  /// The binary128 value equal to `value`.
  public init(_ value: Double) {
    let bits = value.bitPattern
    let sign = bits >> 63
    let exponent = (bits >> 52) & 0x7FF
    var fraction = bits & 0x000F_FFFF_FFFF_FFFF
    var qExponent: UInt64
    if exponent == 0x7FF {
      qExponent = 0x7FFF  // inf or nan
    } else if exponent == 0 {
      if fraction == 0 {
        qExponent = 0
      } else {  // subnormal double: normalise
        var e: Int = 1 - 1023
        while fraction & (1 << 52) == 0 { fraction <<= 1; e -= 1 }
        fraction &= 0x000F_FFFF_FFFF_FFFF
        qExponent = UInt64(e + 16383)
      }
    } else {
      qExponent = exponent + (16383 - 1023)  // add first: `exponent - 1023` underflows UInt64 for |value| < 1
    }
    // 52 fraction bits become the top 52 of 112: 48 in `high`, 4 at the top of `low`.
    high = sign << 63 | qExponent << 48 | fraction >> 4
    low = (fraction & 0xF) << 60
  }

  /// The nearest `Double` (toward zero).
  public var doubleValue: Double {
    let sign = high >> 63
    let qExponent = Int((high >> 48) & 0x7FFF)
    let fraction = (high & 0x0000_FFFF_FFFF_FFFF) << 4 | low >> 60
    if qExponent == 0x7FFF {
      return Double(bitPattern: sign << 63 | 0x7FF << 52 | (fraction != 0 || low != 0 ? 1 << 51 : 0))
    }
    if qExponent == 0 && fraction == 0 { return sign == 1 ? -0.0 : 0.0 }
    let e = qExponent - 16383
    let magnitude = Double(sign: .plus, exponent: e, significand: 1.0 + Double(fraction) / Double(1 << 52))
    return sign == 1 ? -magnitude : magnitude
  }

  public func encode(to writer: inout CDRWriter) {
    writer.align(8)
    if writer.byteOrder == .littleEndian {
      writer.write(low)
      writer.write(high)
    } else {
      writer.write(high)
      writer.write(low)
    }
  }

  public init(from reader: inout CDRReader) throws {
    reader.align(8)
    let first: UInt64 = try reader.read()
    let second: UInt64 = try reader.read()
    if reader.byteOrder == .littleEndian { low = first; high = second } else { high = first; low = second }
  }
}
