import CourierCore
import CourierGIOP
import CourierWire
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Shared helpers for the CourierGIOP tests: the omniORB golden captures
// (Interop/omniorb/golden/*.hex), an in-memory ByteStream, and small utilities.

/// Errors of the test helpers themselves (a malformed golden file, a missing message).
struct GoldenError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// One golden capture: the bytes, cut into GIOP messages, and the comment breakdown.
struct GoldenFile: Sendable {
  /// One line of the field-by-field breakdown: an offset into the message and the rest of the line.
  struct Field: Sendable {
    var offset: Int
    var text: String
  }

  let name: String
  /// Every byte of the file (several messages for a fragmented capture).
  let bytes: [UInt8]
  /// Where each message starts in ``bytes`` and how long it is (clamped for partial captures).
  let messageRanges: [Range<Int>]
  /// The breakdown lines, per message.
  let fields: [[Field]]
  /// All comment lines.
  let comments: [String]

  /// The bytes of message `index`.
  func message(_ index: Int = 0) -> [UInt8] { Array(bytes[messageRanges[index]]) }

  /// Whether the byte at `offset` (into message `index`) is alignment padding or reserved,
  /// according to the breakdown: such bytes may hold stale data in omniORB client messages.
  /// A padding line covers everything up to the next breakdown line's offset.
  func paddingMask(_ index: Int = 0) -> [Bool] {
    let count = messageRanges[index].count
    var mask = [Bool](repeating: false, count: count)
    let lines = fields[index]
    for (i, field) in lines.enumerated() where Self.isPadding(field.text) {
      let end = lines[(i + 1)...].first { $0.offset > field.offset }?.offset ?? count
      for o in field.offset..<min(end, count) { mask[o] = true }
    }
    return mask
  }

  static func isPadding(_ text: String) -> Bool {
    text.contains("padding") || text.contains("reserved[")
  }

  /// The text after `key = ` on the first breakdown line of message `index` that has it, up to
  /// the next space (or the closing quote for a quoted value).
  func value(_ key: String, message index: Int = 0) -> String? {
    for field in fields[index] {
      // The key must start a word: "flags" must not match "response_flags".
      var found: Range<String.Index>?
      var searchFrom = field.text.startIndex
      while let r = field.text.range(of: key + " = ", range: searchFrom..<field.text.endIndex) {
        if r.lowerBound == field.text.startIndex { found = r; break }
        let before = field.text[field.text.index(before: r.lowerBound)]
        if !(before.isLetter || before.isNumber || before == "_") { found = r; break }
        searchFrom = r.upperBound
      }
      guard let r = found else { continue }
      let rest = field.text[r.upperBound...]
      if rest.hasPrefix("\"") {
        let body = rest.dropFirst()
        guard let close = body.firstIndex(of: "\"") else { return nil }
        return String(body[..<close])
      }
      return String(rest.prefix { !$0.isWhitespace })
    }
    return nil
  }

  /// ``value(_:message:)`` as an integer (decimal, or hex with `0x`).
  func intValue(_ key: String, message index: Int = 0) -> UInt64? {
    guard let v = value(key, message: index) else { return nil }
    if v.hasPrefix("0x") { return UInt64(v.dropFirst(2), radix: 16) }
    return UInt64(v)
  }
}

enum Golden {
  /// `Interop/omniorb/golden`, found from this file's path.
  static let directory: URL = {
    var url = URL(fileURLWithPath: #filePath)
    url.deleteLastPathComponent()  // CourierGIOPTests
    url.deleteLastPathComponent()  // Tests
    url.deleteLastPathComponent()  // package root
    return url.appendingPathComponent("Interop/omniorb/golden", isDirectory: true)
  }()

  private static let cache = Mutex<[String: GoldenFile]>([:])

  /// Loads `name` (with or without `.hex`).
  static func load(_ name: String) throws -> GoldenFile {
    let base = name.hasSuffix(".hex") ? String(name.dropLast(4)) : name
    if let cached = cache.withLock({ $0[base] }) { return cached }
    let url = directory.appendingPathComponent(base + ".hex")
    let text = try String(contentsOf: url, encoding: .utf8)
    let file = try parse(name: base, text: text)
    cache.withLock { $0[base] = file }
    return file
  }

  /// The names (without `.hex`) of every golden capture.
  static func allNames() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { $0.hasSuffix(".hex") }
      .map { String($0.dropLast(4)) }
      .sorted()
  }

  /// The text of another file in the folder.
  static func text(_ fileName: String) throws -> String {
    try String(contentsOf: directory.appendingPathComponent(fileName), encoding: .utf8)
  }

  static func parse(name: String, text: String) throws -> GoldenFile {
    var hexDigits: [UInt8] = []
    var comments: [String] = []
    var fields: [[GoldenFile.Field]] = [[]]
    var sawSection = false
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("#") {
        comments.append(line)
        let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
        if body.hasPrefix("--- message "), body.contains(" of ") {
          // "# --- message N of M: Type, S bytes" opens the breakdown of message N.
          if sawSection { fields.append([]) }
          sawSection = true
          continue
        }
        let rest = line.dropFirst()
        guard rest.first == " " else { continue }
        let trimmed = rest.drop { $0 == " " }
        let digits = trimmed.prefix { $0.isNumber }
        guard !digits.isEmpty, let offset = Int(digits) else { continue }
        let after = trimmed.dropFirst(digits.count)
        guard after.first == " " else { continue }
        fields[fields.count - 1].append(GoldenFile.Field(offset: offset, text: String(after)))
        continue
      }
      for c in line.utf8 where !(c == 0x20 || c == 0x09 || c == 0x0D) { hexDigits.append(c) }
    }
    guard hexDigits.count % 2 == 0 else { throw GoldenError("\(name): odd number of hex digits") }
    func nibble(_ c: UInt8) throws -> UInt8 {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x61...0x66: return c - 0x61 + 10
      case 0x41...0x46: return c - 0x41 + 10
      default: throw GoldenError("\(name): bad hex digit \(c)")
      }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hexDigits.count / 2)
    var i = 0
    while i < hexDigits.count {
      bytes.append(try nibble(hexDigits[i]) << 4 | nibble(hexDigits[i + 1]))
      i += 2
    }
    // Cut into messages by their size fields (a partial capture ends with a short message).
    var ranges: [Range<Int>] = []
    var start = 0
    while start + 12 <= bytes.count {
      let little = bytes[start + 6] & 1 == 1
      let s = (0..<4).map { UInt32(bytes[start + 8 + $0]) }
      let size = little ? s[0] | s[1] << 8 | s[2] << 16 | s[3] << 24 : s[3] | s[2] << 8 | s[1] << 16 | s[0] << 24
      let end = min(bytes.count, start + 12 + Int(size))
      ranges.append(start..<end)
      start = end
    }
    guard start == bytes.count, !ranges.isEmpty else { throw GoldenError("\(name): stray bytes after the last message") }
    while fields.count < ranges.count { fields.append([]) }
    return GoldenFile(name: name, bytes: bytes, messageRanges: ranges, fields: fields, comments: comments)
  }
}

// MARK: - message helpers

/// Parses the 12-byte header at the start of `bytes`.
func parseHeader(_ bytes: [UInt8], maxMessageSize: Int = Int(UInt32.max)) -> Result<GIOPHeader, GIOPHeader.Problem> {
  bytes.withUnsafeBytes { GIOPHeader.parse(UnsafeRawBufferPointer(rebasing: $0[0..<GIOPHeader.size]), maxMessageSize: maxMessageSize) }
}

/// A complete message as the reader would hand it over.
func incoming(_ bytes: [UInt8]) throws -> GIOPIncoming {
  GIOPIncoming(header: try parseHeader(bytes).get(), bytes: bytes)
}

/// Reads every message in `bytes` through a ``GIOPMessageReader`` (fragments reassembled),
/// optionally dripping the input a few bytes per read.
func readAll(_ bytes: [UInt8], drip: Bool = false, seed: UInt64 = 1, maxMessageSize: Int = 64 << 20) throws -> [GIOPIncoming] {
  let stream = MemoryStream(bytes, drip: drip ? 1...7 : nil, seed: seed)
  var reader = GIOPMessageReader(stream: stream, maxMessageSize: maxMessageSize, bufferSize: drip ? 64 : 64 * 1024)
  var out: [GIOPIncoming] = []
  for _ in 0..<1000 {
    do {
      out.append(try reader.next())
    } catch {
      if case .closed = error { return out }
      throw GoldenError("reader failed after \(out.count) message(s): \(error)")
    }
  }
  throw GoldenError("more than 1000 messages")
}

/// The first difference between `actual` and `expected`, ignoring positions where `mask` is true.
func maskedDifference(_ actual: [UInt8], _ expected: [UInt8], mask: [Bool]? = nil) -> String? {
  if actual.count != expected.count {
    return "length \(actual.count) != expected \(expected.count)\n actual:   \(hex(actual.prefix(96)))\n expected: \(hex(expected.prefix(96)))"
  }
  for i in 0..<actual.count where actual[i] != expected[i] && !(mask?[i] ?? false) {
    let lo = max(0, i - 8), hi = min(actual.count, i + 16)
    return "first difference at offset \(i): \(hex(actual[lo..<hi])) != expected \(hex(expected[lo..<hi])) (from offset \(lo))"
  }
  return nil
}

/// A compact hex dump for failure messages.
func hex(_ bytes: some Collection<UInt8>) -> String {
  bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: " ")
}

/// `echoBytes` data as the captures use it: byte i = i mod 256.
func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0) } }

let echoKey: [UInt8] = Array("Echo".utf8)
let isoUTF16 = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)

// MARK: - an in-memory ByteStream

/// A ``ByteStream`` that serves a fixed byte array (optionally a few bytes per read, to
/// split messages at every possible place) and records what is written to it.
final class MemoryStream: ByteStream, @unchecked Sendable {
  // @unchecked: every mutable field is guarded by `lock`.
  private let lock = NSLock()
  private let data: [UInt8]
  private var position = 0
  private let drip: ClosedRange<Int>?
  private var rng: UInt64
  private var _written: [UInt8] = []
  private(set) var reads = 0

  init(_ data: [UInt8], drip: ClosedRange<Int>? = nil, seed: UInt64 = 1) {
    self.data = data
    self.drip = drip
    self.rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  }

  var written: [UInt8] { lock.withLock { _written } }

  func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) {
    lock.withLock { _written.append(contentsOf: bytes) }
  }

  func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int {
    lock.withLock {
      reads += 1
      var n = min(buffer.count, data.count - position)
      if let drip {
        // xorshift: reproducible chunk sizes for a given seed.
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        let span = UInt64(drip.count)
        n = min(n, drip.lowerBound + Int(rng % span))
      }
      if n <= 0 { return 0 }
      data.withUnsafeBytes { src in
        buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
      }
      position += n
      return n
    }
  }

  func shutdown() {}
  var peerDescription: String { "memory stream" }
}

// MARK: - waiting

/// Sleeps `milliseconds` (bounded; for servants that must be slow).
func sleepMilliseconds(_ milliseconds: Int) {
  usleep(UInt32(milliseconds) * 1000)
}
