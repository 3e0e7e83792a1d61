// Datagram framing for GIOP over a datagram transport (UDP): pure, socket-free pieces.
//
// A GIOP message is self-delimiting, so one datagram carries one whole message, byte for byte
// as it would travel on TCP (TAO's DIOP does exactly this, and only this). A message larger
// than the datagram payload limit is cut into fragments, a Courier extension of the datagram
// layer (not GIOP's own Fragment messages, which still pass through unchanged):
//
//     offset  size  field
//          0     4  magic "CFRG" (0x43 0x46 0x52 0x47)
//          4     4  message id, big-endian u32 (chosen by the sender, increasing)
//          8     4  offset of this chunk in the message, big-endian u32
//         12     4  total length of the message, big-endian u32
//         16     …  the chunk
//
// The receiver joins the chunks of one message id (duplicates and any order allowed) and
// hands on the whole GIOP message. Peers that never send messages over the limit (DIOP peers)
// never see a fragment.

/// Constants and checks of Courier's datagram framing (see ``DatagramFragmenter`` and
/// ``DatagramReassembler``).
public enum DatagramFraming {
  /// The first four bytes of a fragment datagram: `CFRG`.
  public static let fragmentMagic: [UInt8] = [0x43, 0x46, 0x52, 0x47]
  /// The first four bytes of a whole GIOP message: `GIOP`.
  public static let giopMagic: [UInt8] = [0x47, 0x49, 0x4F, 0x50]
  /// Bytes before a fragment's chunk: magic, message id, offset, total length.
  public static let fragmentHeaderSize = 16
  /// The size of a GIOP message header.
  public static let giopHeaderSize = 12
  /// The default largest datagram payload: messages up to this size go in one datagram.
  public static let defaultMaxPayload = 8_192
  /// The largest UDP payload over IPv4 (65,535 − 8 − 20).
  public static let maxUDPPayload = 65_507

  /// What a datagram is, from its first bytes (nothing else is checked).
  public enum Kind: Sendable, Hashable {
    /// Starts with `GIOP`: one whole message.
    case message
    /// Starts with `CFRG`: a fragment of a larger message.
    case fragment
    /// Anything else.
    case unknown
  }

  /// The kind of `datagram`, from its magic.
  public static func kind(of datagram: UnsafeRawBufferPointer) -> Kind {
    guard datagram.count >= 4 else { return .unknown }
    if hasMagic(datagram, giopMagic) { return .message }
    if hasMagic(datagram, fragmentMagic) { return .fragment }
    return .unknown
  }

  /// The GIOP message type byte a datagram shows: a whole message's, or the one in the
  /// chunk of a message's first fragment (offset 0). nil for other fragments and garbage.
  public static func giopMessageType(of datagram: UnsafeRawBufferPointer) -> UInt8? {
    switch kind(of: datagram) {
    case .message:
      return datagram.count >= giopHeaderSize ? datagram[7] : nil
    case .fragment:
      guard datagram.count >= fragmentHeaderSize + giopHeaderSize, readBigEndian(datagram, at: 8) == 0,
            hasMagic(UnsafeRawBufferPointer(rebasing: datagram[fragmentHeaderSize...]), giopMagic) else { return nil }
      return datagram[fragmentHeaderSize + 7]
    case .unknown:
      return nil
    }
  }

  /// Why `message` is not one whole, plausible GIOP message, or nil if it is: the magic,
  /// version 1.0–1.2, a known message type (no Fragment in 1.0), and a size field (in the
  /// byte order of the flags) that accounts for exactly the bytes after the header.
  public static func giopProblem(_ message: UnsafeRawBufferPointer) -> String? {
    guard message.count >= giopHeaderSize else { return "\(message.count) bytes: shorter than a GIOP header" }
    guard hasMagic(message, giopMagic) else { return "no GIOP magic" }
    let major = message[4], minor = message[5]
    guard major == 1, minor <= 2 else { return "GIOP version \(major).\(minor)" }
    let type = message[7]
    guard type <= 7, !(minor == 0 && type == 7) else { return "message type \(type)" }
    let raw = message.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let size = message[6] & 1 == 1 ? UInt32(littleEndian: raw) : UInt32(bigEndian: raw)
    guard Int(size) == message.count - giopHeaderSize else {
      return "size field \(size) for \(message.count - giopHeaderSize) bytes of body"
    }
    return nil
  }

  static func hasMagic(_ bytes: UnsafeRawBufferPointer, _ magic: [UInt8]) -> Bool {
    bytes.count >= 4 && bytes[0] == magic[0] && bytes[1] == magic[1] && bytes[2] == magic[2] && bytes[3] == magic[3]
  }

  static func readBigEndian(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
    UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }

  static func appendBigEndian(_ value: UInt32, to bytes: inout [UInt8]) {
    bytes.append(UInt8(truncatingIfNeeded: value >> 24))
    bytes.append(UInt8(truncatingIfNeeded: value >> 16))
    bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    bytes.append(UInt8(truncatingIfNeeded: value))
  }
}

/// Cuts messages into datagrams: a message that fits in ``maxPayload`` bytes is one datagram,
/// unchanged; a larger one becomes `CFRG` fragments (see ``DatagramFraming``) under a new
/// message id.
///
/// ```swift
/// var fragmenter = DatagramFragmenter(maxPayload: 8_192)
/// for datagram in fragmenter.datagrams(for: message) { send(datagram) }
/// ```
public struct DatagramFragmenter: Sendable {
  /// The largest datagram produced.
  public let maxPayload: Int
  /// The message id the next fragmented message gets.
  public private(set) var nextMessageID: UInt32

  /// - Parameters:
  ///   - maxPayload: the largest datagram, 17 ... 65,507 bytes (a fragment carries at least
  ///     one byte after its 16-byte header).
  ///   - firstMessageID: the id of the first fragmented message.
  public init(maxPayload: Int = DatagramFraming.defaultMaxPayload, firstMessageID: UInt32 = 1) {
    precondition((DatagramFraming.fragmentHeaderSize + 1...DatagramFraming.maxUDPPayload).contains(maxPayload),
                 "maxPayload \(maxPayload) is not in 17...65507")
    self.maxPayload = maxPayload
    self.nextMessageID = firstMessageID
  }

  /// The bytes of message a fragment carries.
  public var chunkSize: Int { maxPayload - DatagramFraming.fragmentHeaderSize }

  /// Whether a message of `length` bytes is sent as fragments.
  public func needsFragments(_ length: Int) -> Bool { length > maxPayload }

  /// The datagrams that carry `message`, in order.
  public mutating func datagrams(for message: UnsafeRawBufferPointer) -> [[UInt8]] {
    guard needsFragments(message.count) else { return [Array(message)] }
    precondition(message.count <= Int(UInt32.max), "a message of \(message.count) bytes cannot be framed")
    let id = nextMessageID
    nextMessageID &+= 1
    let total = UInt32(message.count)
    var datagrams: [[UInt8]] = []
    datagrams.reserveCapacity((message.count + chunkSize - 1) / chunkSize)
    var offset = 0
    while offset < message.count {
      let length = min(chunkSize, message.count - offset)
      var datagram: [UInt8] = []
      datagram.reserveCapacity(DatagramFraming.fragmentHeaderSize + length)
      datagram.append(contentsOf: DatagramFraming.fragmentMagic)
      DatagramFraming.appendBigEndian(id, to: &datagram)
      DatagramFraming.appendBigEndian(UInt32(offset), to: &datagram)
      DatagramFraming.appendBigEndian(total, to: &datagram)
      datagram.append(contentsOf: UnsafeRawBufferPointer(rebasing: message[offset..<offset + length]))
      datagrams.append(datagram)
      offset += length
    }
    return datagrams
  }

  /// The datagrams that carry `message`, in order.
  public mutating func datagrams(for message: [UInt8]) -> [[UInt8]] {
    message.withUnsafeBytes { datagrams(for: $0) }
  }
}

/// Turns the datagrams of one peer back into whole GIOP messages: a `GIOP` datagram is checked
/// and passed on; `CFRG` fragments are joined by message id, in any order, duplicates ignored.
///
/// Nothing a peer sends is trusted: lengths are checked before anything is kept, a message's
/// total above ``Limits/maxMessageSize`` is refused before any memory is set aside for it
/// (chunks are kept as they come, so memory follows the bytes actually received), at most
/// ``Limits/maxPartialMessages`` messages are in progress (the oldest is dropped for a new
/// one), chunks held stay under ``Limits/maxBufferedBytes``, and a message not complete after
/// ``Limits/partialTimeout`` is dropped. A fragment that contradicts the others of its
/// message (another total, a chunk past the end, a chunk overlapping another one unless it
/// is an identical duplicate) is refused and the message keeps what it had.
public struct DatagramReassembler: Sendable {
  /// The bounds on what one peer can make the reassembler hold.
  public struct Limits: Sendable, Hashable {
    /// The largest message accepted, GIOP header included.
    public var maxMessageSize: Int
    /// At most this many messages in progress; a new one drops the oldest.
    public var maxPartialMessages: Int
    /// A message still incomplete this long after its first fragment is dropped.
    public var partialTimeout: Duration
    /// At most this many chunk bytes held over all messages in progress (the oldest are
    /// dropped to make room). Never below ``maxMessageSize``.
    public var maxBufferedBytes: Int

    public init(maxMessageSize: Int = 64 * 1024 * 1024, maxPartialMessages: Int = 64,
                partialTimeout: Duration = .seconds(10), maxBufferedBytes: Int = 64 * 1024 * 1024) {
      precondition(maxMessageSize >= DatagramFraming.giopHeaderSize, "maxMessageSize \(maxMessageSize) is below a GIOP header")
      precondition(maxPartialMessages >= 1, "maxPartialMessages must be at least 1")
      self.maxMessageSize = maxMessageSize
      self.maxPartialMessages = maxPartialMessages
      self.partialTimeout = partialTimeout
      self.maxBufferedBytes = max(maxBufferedBytes, maxMessageSize)
    }
  }

  /// Why a datagram was refused.
  public enum Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// Too short for the header its magic announces (or for any magic).
    case truncated(Int)
    /// Neither `GIOP` nor `CFRG`.
    case badMagic
    /// A `GIOP` datagram (or a joined message) that is not one valid GIOP message.
    case notGIOP(String)
    /// A message larger than ``Limits/maxMessageSize``.
    case tooLarge(Int)
    /// A fragment with no bytes after its header.
    case emptyFragment
    /// A fragment whose chunk ends past the message's total length.
    case outOfBounds(offset: UInt32, length: Int, total: UInt32)
    /// A fragment whose total length differs from the first fragment's of its message.
    case totalMismatch(expected: UInt32, got: UInt32)
    /// A fragment overlapping bytes already received, and not an identical duplicate.
    case overlap(offset: UInt32)

    public var description: String {
      switch self {
      case .truncated(let n): "truncated datagram (\(n) bytes)"
      case .badMagic: "neither GIOP nor CFRG"
      case .notGIOP(let why): "not a GIOP message: \(why)"
      case .tooLarge(let n): "message of \(n) bytes is over the limit"
      case .emptyFragment: "fragment without data"
      case .outOfBounds(let offset, let length, let total): "fragment \(offset)+\(length) past the total \(total)"
      case .totalMismatch(let expected, let got): "fragment says total \(got), its message \(expected)"
      case .overlap(let offset): "fragment at \(offset) overlaps other data"
      }
    }
  }

  /// What one datagram did.
  public enum Outcome: Sendable, Hashable {
    /// A whole GIOP message is ready.
    case message([UInt8])
    /// A fragment was kept; its message is not complete yet.
    case incomplete
    /// A fragment already received (or of a message already completed): nothing to do.
    case duplicate
    /// The datagram was refused (and nothing kept from it).
    case rejected(Rejection)
  }

  /// Counters since the reassembler was made.
  public struct Statistics: Sendable, Hashable {
    /// Messages handed on (whole datagrams and joined fragments).
    public var messages = 0
    /// Messages joined from fragments.
    public var joined = 0
    /// Duplicate fragments ignored.
    public var duplicates = 0
    /// Datagrams refused.
    public var rejected = 0
    /// Messages in progress dropped for a newer one (the count or byte bound).
    public var evicted = 0
    /// Messages in progress dropped at ``Limits/partialTimeout``.
    public var expired = 0
    public init() {}
  }

  struct Piece: Sendable {
    var offset: Int
    var bytes: [UInt8]
  }

  struct Partial: Sendable {
    var total: UInt32
    var started: ContinuousClock.Instant
    var received = 0
    /// Non-overlapping, sorted by offset.
    var pieces: [Piece] = []
  }

  public let limits: Limits
  private var partials: [UInt32: Partial] = [:]
  private var buffered = 0
  /// Ids of messages joined lately, newest last, so a late duplicate fragment does not start
  /// the message over.
  private var recentlyJoined: [UInt32] = []
  public private(set) var statistics = Statistics()

  public init(limits: Limits = Limits()) {
    self.limits = limits
  }

  /// Messages in progress.
  public var partialMessageCount: Int { partials.count }
  /// Chunk bytes held for messages in progress.
  public var bufferedByteCount: Int { buffered }

  /// Takes one datagram received at `now`.
  public mutating func accept(_ datagram: [UInt8], at now: ContinuousClock.Instant = .now) -> Outcome {
    datagram.withUnsafeBytes { accept($0, at: now) }
  }

  /// Takes one datagram received at `now`.
  public mutating func accept(_ datagram: UnsafeRawBufferPointer, at now: ContinuousClock.Instant = .now) -> Outcome {
    let outcome = classify(datagram, at: now)
    switch outcome {
    case .message: statistics.messages += 1
    case .duplicate: statistics.duplicates += 1
    case .rejected: statistics.rejected += 1
    case .incomplete: break
    }
    return outcome
  }

  private mutating func classify(_ datagram: UnsafeRawBufferPointer, at now: ContinuousClock.Instant) -> Outcome {
    switch DatagramFraming.kind(of: datagram) {
    case .unknown:
      return .rejected(datagram.count < 4 ? .truncated(datagram.count) : .badMagic)
    case .message:
      if datagram.count > limits.maxMessageSize { return .rejected(.tooLarge(datagram.count)) }
      if let problem = DatagramFraming.giopProblem(datagram) { return .rejected(.notGIOP(problem)) }
      return .message(Array(datagram))
    case .fragment:
      expire(at: now)
      return fragment(datagram, at: now)
    }
  }

  private mutating func fragment(_ datagram: UnsafeRawBufferPointer, at now: ContinuousClock.Instant) -> Outcome {
    let headerSize = DatagramFraming.fragmentHeaderSize
    guard datagram.count >= headerSize else { return .rejected(.truncated(datagram.count)) }
    let id = DatagramFraming.readBigEndian(datagram, at: 4)
    let offset = DatagramFraming.readBigEndian(datagram, at: 8)
    let total = DatagramFraming.readBigEndian(datagram, at: 12)
    let length = datagram.count - headerSize
    guard length > 0 else { return .rejected(.emptyFragment) }
    guard Int(total) <= limits.maxMessageSize else { return .rejected(.tooLarge(Int(total))) }
    guard Int(offset) + length <= Int(total) else { return .rejected(.outOfBounds(offset: offset, length: length, total: total)) }
    if recentlyJoined.contains(id) { return .duplicate }
    let chunk = UnsafeRawBufferPointer(rebasing: datagram[headerSize...])

    var partial: Partial
    if let existing = partials[id] {
      guard existing.total == total else { return .rejected(.totalMismatch(expected: existing.total, got: total)) }
      partial = existing
    } else {
      if partials.count >= limits.maxPartialMessages { evictOldest(sparing: nil) }
      partial = Partial(total: total, started: now)
    }

    // Where the chunk goes among the pieces (sorted, non-overlapping).
    let start = Int(offset), end = start + length
    var low = 0, high = partial.pieces.count
    while low < high {
      let mid = (low + high) / 2
      if partial.pieces[mid].offset < start { low = mid + 1 } else { high = mid }
    }
    if low < partial.pieces.count, partial.pieces[low].offset == start, partial.pieces[low].bytes.count == length {
      let same = partial.pieces[low].bytes.withUnsafeBytes { $0.elementsEqual(chunk) }
      return same ? .duplicate : .rejected(.overlap(offset: offset))
    }
    if low > 0, partial.pieces[low - 1].offset + partial.pieces[low - 1].bytes.count > start { return .rejected(.overlap(offset: offset)) }
    if low < partial.pieces.count, partial.pieces[low].offset < end { return .rejected(.overlap(offset: offset)) }

    // Room for the chunk: drop the oldest other messages while over the byte bound (a
    // message alone never exceeds it, since maxBufferedBytes >= maxMessageSize >= total).
    partials[id] = nil
    while buffered + length > limits.maxBufferedBytes, !partials.isEmpty { evictOldest(sparing: id) }
    partial.pieces.insert(Piece(offset: start, bytes: Array(chunk)), at: low)
    partial.received += length
    buffered += length

    guard partial.received == Int(total) else {
      partials[id] = partial
      return .incomplete
    }
    buffered -= partial.received
    remember(id)
    // The pieces do not overlap and add up to `total`: they cover it exactly, in order.
    let message = [UInt8](unsafeUninitializedCapacity: Int(total)) { dst, initialized in
      let raw = UnsafeMutableRawBufferPointer(dst)
      for piece in partial.pieces {
        piece.bytes.withUnsafeBytes { src in
          UnsafeMutableRawBufferPointer(rebasing: raw[piece.offset..<piece.offset + src.count]).copyMemory(from: src)
        }
      }
      initialized = Int(total)
    }
    if let problem = message.withUnsafeBytes({ DatagramFraming.giopProblem($0) }) { return .rejected(.notGIOP(problem)) }
    statistics.joined += 1
    return .message(message)
  }

  /// Drops the messages in progress whose first fragment came `partialTimeout` or more
  /// before `now`; returns how many.
  @discardableResult
  public mutating func expire(at now: ContinuousClock.Instant = .now) -> Int {
    guard !partials.isEmpty else { return 0 }
    let stale = partials.filter { now - $0.value.started >= limits.partialTimeout }.map(\.key)
    for id in stale { drop(id) }
    statistics.expired += stale.count
    return stale.count
  }

  private mutating func evictOldest(sparing spared: UInt32?) {
    guard let oldest = partials.filter({ $0.key != spared }).min(by: { $0.value.started < $1.value.started })?.key else { return }
    drop(oldest)
    statistics.evicted += 1
  }

  private mutating func drop(_ id: UInt32) {
    guard let partial = partials.removeValue(forKey: id) else { return }
    buffered -= partial.received
  }

  private mutating func remember(_ id: UInt32) {
    if recentlyJoined.count >= 2 * limits.maxPartialMessages { recentlyJoined.removeFirst() }
    recentlyJoined.append(id)
  }
}
