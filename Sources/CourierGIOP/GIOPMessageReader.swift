public import CourierCore
public import CourierWire

/// One complete GIOP message as read from a connection: its parsed header and all its bytes
/// (header included, so CDR alignment is counted from index 0).
public struct GIOPIncoming: Sendable {
  public var header: GIOPHeader
  public var bytes: [UInt8]

  public init(header: GIOPHeader, bytes: [UInt8]) {
    self.header = header
    self.bytes = bytes
  }

  /// A reader positioned after the 12-byte header, in the sender's byte order.
  public func bodyReader(codeSets: TransmissionCodeSets = .default) -> CDRReader {
    CDRReader(bytes, byteOrder: header.byteOrder, position: GIOPHeader.size, giopMinor: header.version.minor, codeSets: codeSets)
  }
}

/// Why reading a message failed.
public enum GIOPReadError: Error, Sendable {
  /// The peer sent something that is not a valid GIOP header: answer MessageError, close.
  case badHeader(GIOPHeader.Problem)
  /// The peer closed the connection (cleanly, between messages).
  case closed
  /// The connection ended in the middle of a message.
  case truncated
  /// Reassembled fragments exceed the size limit, or a fragment came with nothing to continue.
  case badFragment(String)
  /// The transport failed (or the deadline passed).
  case transport(TransportError)
}

/// Reads GIOP messages from a byte stream, buffering reads so that a small message costs one
/// system call, and reassembling fragments.
///
/// The size field is checked against ``maxMessageSize`` *before* anything is allocated for
/// the message, so a header claiming 4 GiB is refused at once.
public struct GIOPMessageReader: ~Copyable {
  let stream: any ByteStream
  /// The largest message accepted (after reassembly of fragments).
  public let maxMessageSize: Int
  private var buffer: UnsafeMutableRawBufferPointer
  private var start = 0
  private var end = 0
  private var assembler = FragmentAssembler()
  /// A message whose body was being read when the deadline passed: the next call resumes it
  /// (its header and first bytes were already taken from the stream).
  private var unfinished: (header: GIOPHeader, bytes: [UInt8], have: Int)?
  /// The bytes of a message its user is done with (``recycle(_:)``), reused for the next
  /// message that fits in the read buffer, so that a run of small messages allocates nothing.
  private var spare: [UInt8] = []

  public init(stream: any ByteStream, maxMessageSize: Int, bufferSize: Int = 64 * 1024) {
    self.stream = stream
    self.maxMessageSize = maxMessageSize
    buffer = .allocate(byteCount: bufferSize, alignment: 8)
  }

  deinit { buffer.deallocate() }

  /// Gives back a message that is no longer needed; its storage may hold the next one.
  public mutating func recycle(_ message: consuming GIOPIncoming) {
    recycle(bytes: message.bytes)
  }

  /// Gives back the storage of a message that is no longer needed.
  public mutating func recycle(bytes: [UInt8]) {
    if bytes.capacity <= buffer.count { spare = bytes }
  }

  /// Reads the next complete message (fragments reassembled), waiting until `deadline`.
  public mutating func next(deadline: ContinuousClock.Instant? = nil) throws(GIOPReadError) -> GIOPIncoming {
    while true {
      let message = try nextRaw(deadline: deadline)
      switch assembler.accept(message, maxMessageSize: maxMessageSize) {
      case .complete(let whole): return whole
      case .needMore: continue
      case .error(let why): throw .badFragment(why)
      }
    }
  }

  private mutating func fill(deadline: ContinuousClock.Instant?) throws(GIOPReadError) -> Bool {
    if start == end { start = 0; end = 0 }
    if end == buffer.count, start > 0 {
      let n = end - start
      buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: n)
      start = 0
      end = n
    }
    let n: Int
    do {
      n = try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]), deadline: deadline)
    } catch { throw .transport(error) }
    if n == 0 { return false }
    end += n
    return true
  }

  private mutating func nextRaw(deadline: ContinuousClock.Instant?) throws(GIOPReadError) -> GIOPIncoming {
    if let resumed = unfinished {
      unfinished = nil
      var bytes = resumed.bytes
      try readBody(into: &bytes, from: resumed.have, header: resumed.header, deadline: deadline)
      return GIOPIncoming(header: resumed.header, bytes: bytes)
    }
    while end - start < GIOPHeader.size {
      if try !fill(deadline: deadline) { throw start == end ? .closed : .truncated }
    }
    let parsed = GIOPHeader.parse(UnsafeRawBufferPointer(rebasing: buffer[start..<start + GIOPHeader.size]), maxMessageSize: maxMessageSize)
    let header: GIOPHeader
    switch parsed {
    case .success(let h): header = h
    case .failure(let problem): throw .badHeader(problem)
    }
    let total = GIOPHeader.size + Int(header.messageSize)
    let buffered = min(end - start, total)
    var bytes: [UInt8]
    if buffered == total, spare.capacity >= total {
      // All of it is buffered and a recycled array can hold it: no allocation.
      bytes = spare
      spare = []
      bytes.removeAll(keepingCapacity: true)
      bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<start + total]))
    } else {
      // `total` was checked against the limit: allocating it is safe. Uninitialized, because
      // every byte is written below before the array is used.
      bytes = [UInt8](unsafeUninitializedCapacity: total) { dst, initialized in
        UnsafeMutableRawBufferPointer(dst).copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<start + buffered]))
        initialized = total
      }
    }
    start += buffered
    try readBody(into: &bytes, from: buffered, header: header, deadline: deadline)
    return GIOPIncoming(header: header, bytes: bytes)
  }

  /// Reads the rest of a message (bytes `have...`) straight from the stream. If the deadline
  /// passes first, keeps what was read so that the next call continues the same message.
  private mutating func readBody(into bytes: inout [UInt8], from have: Int, header: GIOPHeader,
                                 deadline: ContinuousClock.Instant?) throws(GIOPReadError) {
    var have = have
    while have < bytes.count {
      // Large bodies are read straight into the message, not through the buffer.
      let n: Int
      do {
        let from = have
        n = try bytes.withUnsafeMutableBytes { dst in
          try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: dst[from...]), deadline: deadline)
        }
      } catch let e as TransportError {
        if e.code == .timedOut { unfinished = (header, bytes, have) }
        throw .transport(e)
      } catch { throw .transport(TransportError(.failed, "\(error)")) }
      if n == 0 { throw .truncated }
      have += n
    }
  }
}

/// Joins fragmented messages (GIOP 1.1: one at a time; GIOP 1.2: by request id, interleaved).
struct FragmentAssembler {
  enum Outcome {
    case complete(GIOPIncoming)
    case needMore
    case error(String)
  }

  /// Partial messages by request id (GIOP 1.2), or under id `nil` (GIOP 1.1).
  private var partial: [UInt32?: GIOPIncoming] = [:]

  mutating func accept(_ message: GIOPIncoming, maxMessageSize: Int) -> Outcome {
    let minor = message.header.version.minor
    if message.header.messageType != .fragment {
      guard message.header.moreFragments else { return .complete(message) }
      guard let key = fragmentKey(of: message, isFragment: false) else { return .error("fragmented message without a request id") }
      if partial.count >= 64 { return .error("too many fragmented messages in progress") }
      partial[key] = message
      return .needMore
    }
    guard let key = fragmentKey(of: message, isFragment: true), var whole = partial[key] else {
      return .error("Fragment with no message to continue")
    }
    let skip = GIOPHeader.size + (minor >= 2 ? 4 : 0)
    guard message.bytes.count >= skip else { return .error("short Fragment") }
    if whole.bytes.count + message.bytes.count - skip > GIOPHeader.size + maxMessageSize {
      partial[key] = nil
      return .error("reassembled message exceeds \(maxMessageSize) bytes")
    }
    whole.bytes.append(contentsOf: message.bytes[skip...])
    if message.header.moreFragments {
      partial[key] = whole
      return .needMore
    }
    partial[key] = nil
    whole.header.moreFragments = false
    whole.header.messageSize = UInt32(whole.bytes.count - GIOPHeader.size)
    whole.bytes[6] &= ~2
    var sizeField = whole.header.byteOrder == .littleEndian ? whole.header.messageSize.littleEndian : whole.header.messageSize.bigEndian
    withUnsafeBytes(of: &sizeField) { raw in for i in 0..<4 { whole.bytes[8 + i] = raw[i] } }
    return .complete(whole)
  }

  private func fragmentKey(of message: GIOPIncoming, isFragment: Bool) -> UInt32?? {
    guard message.header.version.minor >= 2 else { return .some(nil) }
    // In GIOP 1.2 every fragmentable message and every Fragment starts with the request id.
    var r = message.bodyReader()
    guard let id = try? r.read(UInt32.self) else { return nil }
    return .some(id)
  }
}
