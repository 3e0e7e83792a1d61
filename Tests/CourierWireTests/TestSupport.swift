import PropertyBased
import Testing

@testable import CourierWire

// Shared helpers for the CourierWire tests. Golden byte layouts in the other files are written
// by hand from the CORBA 3.0 CDR rules (chapter 15), never copied from the encoder's output.

/// Both byte orders, for parameterised tests.
let bothOrders: [ByteOrder] = [.bigEndian, .littleEndian]

/// The bytes `body` writes into a fresh writer.
func written(
  _ order: ByteOrder,
  giopMinor: UInt8 = 2,
  codeSets: TransmissionCodeSets = .default,
  _ body: (inout CDRWriter) throws -> Void
) rethrows -> [UInt8] {
  var w = CDRWriter(byteOrder: order, giopMinor: giopMinor, codeSets: codeSets)
  try body(&w)
  return w.bytes
}

/// A reader over `bytes` in the given order.
func reader(
  _ bytes: [UInt8],
  _ order: ByteOrder,
  giopMinor: UInt8 = 2,
  codeSets: TransmissionCodeSets = .default,
  end: Int? = nil
) -> CDRReader {
  CDRReader(bytes, byteOrder: order, end: end, giopMinor: giopMinor, codeSets: codeSets)
}

/// `value`'s bytes most significant first, `size` bytes wide (an oracle independent of CDRWriter).
func beBytes(_ value: UInt64, size: Int) -> [UInt8] {
  (0..<size).map { i in UInt8(truncatingIfNeeded: value >> (8 * UInt64(size - 1 - i))) }
}

/// `value`'s bytes least significant first, `size` bytes wide.
func leBytes(_ value: UInt64, size: Int) -> [UInt8] {
  Array(beBytes(value, size: size).reversed())
}

/// The bytes of `value` in `order`, `size` bytes wide.
func orderedBytes(_ value: UInt64, size: Int, _ order: ByteOrder) -> [UInt8] {
  order == .bigEndian ? beBytes(value, size: size) : leBytes(value, size: size)
}

/// A compact hex dump for failure messages.
func hex(_ bytes: [UInt8]) -> String {
  bytes.map { b in
    let s = String(b, radix: 16, uppercase: true)
    return s.count == 1 ? "0" + s : s
  }.joined(separator: " ")
}

/// Expects `body` to throw a `CDRError` whose code is `code`.
func expectCDRError<R>(
  _ code: CDRError.Code,
  _ comment: Comment? = nil,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> R
) {
  let error = #expect(throws: CDRError.self, comment, sourceLocation: sourceLocation) { _ = try body() }
  if let error {
    #expect(error.code == code, "expected \(code), got \(error) \(comment.map { "— \($0)" } ?? "")",
      sourceLocation: sourceLocation)
  }
}

/// Expects `body` to throw a `CDRError` whose code is one of `codes`.
func expectCDRError<R>(
  oneOf codes: Set<CDRError.Code>,
  _ comment: Comment? = nil,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> R
) {
  let error = #expect(throws: CDRError.self, comment, sourceLocation: sourceLocation) { _ = try body() }
  if let error {
    #expect(codes.contains(error.code), "expected one of \(codes), got \(error) \(comment.map { "— \($0)" } ?? "")",
      sourceLocation: sourceLocation)
  }
}

/// Writes `value` and reads it back as `T` in `order`, checking every byte was consumed.
func roundTrip<T: CDRCodable>(
  _ value: T, _ order: ByteOrder, giopMinor: UInt8 = 2, codeSets: TransmissionCodeSets = .default
) throws -> T {
  let bytes = try written(order, giopMinor: giopMinor, codeSets: codeSets) { try $0.encode(value) }
  var r = reader(bytes, order, giopMinor: giopMinor, codeSets: codeSets)
  let back = try r.decode(T.self)
  #expect(r.isAtEnd, "\(r.remaining) bytes left after reading \(T.self) from \(hex(bytes))")
  return back
}

// MARK: generators

/// A Unicode scalar: mostly ASCII, some Latin-1, some other BMP, and (if `allowAstral`) some
/// outside the BMP. Never NUL and never a surrogate code point.
func scalarGenerator(allowAstral: Bool, asciiOnly: Bool = false) -> Generator<Unicode.Scalar, Shrink.None<Unicode.Scalar>> {
  Generator<Unicode.Scalar, Shrink.None<Unicode.Scalar>>(run: { rng in
    let bucket = asciiOnly ? 0 : Int.random(in: 0..<(allowAstral ? 4 : 3), using: &rng)
    let value: UInt32
    switch bucket {
    case 0: value = UInt32.random(in: 1...0x7F, using: &rng)
    case 1: value = UInt32.random(in: 0x80...0xFF, using: &rng)
    case 2:
      // BMP without the surrogate block D800-DFFF.
      let v = UInt32.random(in: 0x100...(0xFFFF - 0x800), using: &rng)
      value = v >= 0xD800 ? v + 0x800 : v
    default: value = UInt32.random(in: 0x1_0000...0x10_FFFF, using: &rng)
    }
    return Unicode.Scalar(value)!
  })
}

/// A string of up to `maxLength` scalars from ``scalarGenerator(allowAstral:asciiOnly:)``.
func stringGenerator(maxLength: Int = 24, allowAstral: Bool, asciiOnly: Bool = false)
  -> Generator<String, Shrink.None<String>>
{
  let scalars = scalarGenerator(allowAstral: allowAstral, asciiOnly: asciiOnly)
  return Generator<String, Shrink.None<String>>(run: { rng in
    let n = Int.random(in: 0...maxLength, using: &rng)
    var view = String.UnicodeScalarView()
    for _ in 0..<n { view.append(scalars.run(using: &rng)) }
    return String(view)
  })
}

/// A byte order, chosen at random.
let byteOrderGenerator = Gen.bool.map { $0 ? ByteOrder.bigEndian : ByteOrder.littleEndian }
