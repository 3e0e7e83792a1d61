/// An IDL `fixed<digits,scale>` value: a signed decimal number of at most 31 significant digits.
///
/// The value is kept exactly, normalised (no leading zeros in the integer part, no trailing
/// zeros in the fraction, zero is never negative), so `==` and hashing compare numbers:
/// `CDRFixed("1.50") == CDRFixed("1.5")`. The type's `digits` and `scale` are not part of the
/// value; they are given when it is written or read (§15.3.2.8: packed decimal, two digits per
/// octet, most significant first, the last half-octet the sign, 0xC for + and 0xD for -).
///
/// ```swift
/// let price = CDRFixed("-12.34")!
/// try price.encode(to: &writer, digits: 5, scale: 2)   // 01 23 4D
/// ```
public struct CDRFixed: Hashable, Sendable, CustomStringConvertible {
  /// The most digits a `fixed` type may have.
  public static let maximumDigits = 31

  /// The decimal digits (0...9), most significant first, without leading or trailing zeros
  /// beyond the decimal point (empty for zero).
  public private(set) var digits: [UInt8]
  /// How many of ``digits`` are after the decimal point.
  public private(set) var scale: Int
  /// Whether the value is below zero.
  public private(set) var isNegative: Bool

  /// Zero.
  public init() {
    digits = []
    scale = 0
    isNegative = false
  }

  /// The value `±digits × 10^-scale`.
  /// - Parameters:
  ///   - digits: decimal digits, most significant first; each must be 0...9.
  ///   - scale: how many of them are after the decimal point (0...digits.count).
  ///   - negative: the sign.
  /// - Throws: ``CDRError`` (`.invalidValue`) for a digit above 9 or a scale out of range,
  ///   (`.boundExceeded`) for more than 31 significant digits.
  public init(digits: [UInt8], scale: Int, negative: Bool = false) throws {
    guard digits.allSatisfy({ $0 <= 9 }) else { throw CDRError(.invalidValue, "fixed digit above 9") }
    guard scale >= 0, scale <= digits.count else {
      throw CDRError(.invalidValue, "fixed scale \(scale) for \(digits.count) digits")
    }
    self.digits = digits
    self.scale = scale
    self.isNegative = negative
    normalize()
    guard self.digits.count <= Self.maximumDigits else {
      throw CDRError(.boundExceeded, "fixed value of \(self.digits.count) digits (at most \(Self.maximumDigits))")
    }
  }

  /// The integer `value`.
  public init(_ value: Int64) {
    var magnitude = value.magnitude
    var reversed: [UInt8] = []
    while magnitude > 0 {
      reversed.append(UInt8(magnitude % 10))
      magnitude /= 10
    }
    digits = reversed.reversed()
    scale = 0
    isNegative = value < 0
    normalize()
  }

  /// Parses a decimal literal: an optional sign, digits, an optional point and more digits,
  /// and an optional IDL `d`/`D` suffix (`"-12.345"`, `"0.5"`, `"17d"`). `nil` for anything else
  /// or for more than 31 significant digits.
  public init?(_ text: String) {
    var scalars = Substring(text).unicodeScalars[...]
    var negative = false
    if let first = scalars.first, first == "-" || first == "+" {
      negative = first == "-"
      scalars = scalars.dropFirst()
    }
    if let last = scalars.last, last == "d" || last == "D" { scalars = scalars.dropLast() }
    var digits: [UInt8] = []
    var scale = 0
    var sawPoint = false
    var sawDigit = false
    for s in scalars {
      if s == "." {
        guard !sawPoint else { return nil }
        sawPoint = true
      } else if (0x30...0x39).contains(s.value) {
        digits.append(UInt8(s.value - 0x30))
        sawDigit = true
        if sawPoint { scale += 1 }
      } else {
        return nil
      }
    }
    guard sawDigit else { return nil }
    guard let value = try? CDRFixed(digits: digits, scale: scale, negative: negative) else { return nil }
    self = value
  }

  /// Whether the value is zero.
  public var isZero: Bool { digits.isEmpty }

  /// The number of digits of the integer part (0 for |value| < 1).
  public var integerDigitCount: Int { digits.count - scale }

  /// The decimal form: `"-12.345"`, `"0.5"`, `"0"` (no trailing zeros, no exponent).
  public var description: String {
    var s = isNegative ? "-" : ""
    let intCount = integerDigitCount
    if intCount <= 0 { s += "0" } else { for d in digits[..<intCount] { s += String(d) } }
    if scale > 0 {
      s += "."
      for d in digits[intCount...] { s += String(d) }
    }
    return s
  }

  /// The decimal form with exactly `scale` digits after the point (`"1.50"` for 1.5 and 2),
  /// as `fixed<d,scale>` values print; digits beyond `scale` are cut off.
  public func description(scale: Int) -> String {
    var padded = scaledDigits(scale: max(0, scale))
    if padded.count < scale { padded.insert(contentsOf: [UInt8](repeating: 0, count: scale - padded.count), at: 0) }
    var s = isNegative && padded.contains(where: { $0 != 0 }) ? "-" : ""
    let intCount = padded.count - max(0, scale)
    if intCount <= 0 { s += "0" } else { for d in padded[..<intCount] { s += String(d) } }
    if scale > 0 {
      s += "."
      for d in padded[intCount...] { s += String(d) }
    }
    return s
  }

  /// The digits with exactly `scale` after the point (leading zeros dropped).
  private func scaledDigits(scale target: Int) -> [UInt8] {
    if target >= scale { return digits + [UInt8](repeating: 0, count: target - scale) }
    var cut = Array(digits.dropLast(scale - target))
    while cut.first == 0 { cut.removeFirst() }
    return cut
  }

  private mutating func normalize() {
    var lead = 0
    while lead < digits.count - scale, digits[lead] == 0 { lead += 1 }
    if lead > 0 { digits.removeFirst(lead) }
    while scale > 0, digits.last == 0 {
      digits.removeLast()
      scale -= 1
    }
    // Zeros after the point stay (0.05 is digits 0,5 with scale 2); zero has no sign.
    if digits.allSatisfy({ $0 == 0 }) {
      digits = []
      scale = 0
      isNegative = false
    }
  }

  /// Checks `digits` and `scale` of a `fixed` type.
  static func checkType(digits: Int, scale: Int) throws {
    guard digits >= 1, digits <= maximumDigits else {
      throw CDRError(.invalidValue, "fixed<\(digits),\(scale)>: digits must be 1...\(maximumDigits)")
    }
    guard scale >= 0, scale <= digits else {
      throw CDRError(.invalidValue, "fixed<\(digits),\(scale)>: scale must be 0...\(digits)")
    }
  }

  /// The number of octets a `fixed<digits,…>` takes on the wire.
  static func encodedSize(digits: Int) -> Int { (digits + 2) / 2 }

  /// Writes the value as a `fixed<digits,scale>` (packed decimal, no alignment).
  /// - Throws: ``CDRError`` (`.invalidValue`) for a bad type, (`.boundExceeded`) when the
  ///   value has more integer digits than `digits - scale` or non-zero digits beyond `scale`
  ///   (a value is never rounded silently).
  public func encode(to writer: inout CDRWriter, digits: Int, scale: Int) throws {
    try Self.checkType(digits: digits, scale: scale)
    guard self.scale <= scale else {
      throw CDRError(.boundExceeded, "\(self) has \(self.scale) decimal places, fixed<\(digits),\(scale)> \(scale)")
    }
    guard integerDigitCount <= digits - scale else {
      throw CDRError(.boundExceeded, "\(self) does not fit in fixed<\(digits),\(scale)>")
    }
    let body = scaledDigits(scale: scale)
    // digits + 1 half-octets (the sign last), a zero half-octet first when that is odd.
    var nibbles = [UInt8](repeating: 0, count: (digits % 2 == 0 ? 1 : 0) + digits - body.count)
    nibbles += body
    nibbles.append(isNegative ? 0xD : 0xC)
    var i = 0
    while i < nibbles.count {
      writer.append(nibbles[i] << 4 | nibbles[i + 1])
      i += 2
    }
  }

  /// Reads a `fixed<digits,scale>`.
  /// - Throws: ``CDRError``: `.truncated` at the end of the data, `.invalidValue` for a bad
  ///   type, a digit above 9, a non-zero pad half-octet or a sign half-octet other than
  ///   0xA...0xF (0xB and 0xD are negative, the others positive).
  public init(from reader: inout CDRReader, digits: Int, scale: Int) throws {
    try Self.checkType(digits: digits, scale: scale)
    let size = Self.encodedSize(digits: digits)
    let octets = try reader.readRaw(count: size)
    var nibbles: [UInt8] = []
    nibbles.reserveCapacity(size * 2)
    for o in octets {
      nibbles.append(o >> 4)
      nibbles.append(o & 0xF)
    }
    let sign = nibbles.removeLast()
    guard sign >= 0xA else { throw CDRError(.invalidValue, "fixed sign half-octet 0x\(String(sign, radix: 16))") }
    if digits % 2 == 0 {
      guard nibbles.removeFirst() == 0 else { throw CDRError(.invalidValue, "fixed pad half-octet is not zero") }
    }
    guard nibbles.allSatisfy({ $0 <= 9 }) else { throw CDRError(.invalidValue, "fixed digit above 9") }
    try self.init(digits: nibbles, scale: scale, negative: sign == 0xB || sign == 0xD)
  }
}
