import CourierCore
import CourierONC
import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// Reads ONC RPC records (RFC 5531 §11 record marking) from a byte stream into one reusable
/// buffer. A record that comes as a single fragment — the usual case — is handed over in
/// place, without a copy; fragments of a longer record are gathered in a second buffer. The
/// record bound is checked on each fragment header before any of it is read, so a header
/// claiming 2 GiB fails at once.
struct RecordStreamReader {
  let maximumRecord: Int
  private var buffer: [UInt8]
  private var start = 0
  private var end = 0
  private var assembled: [UInt8] = []

  init(maximumRecord: Int, initialCapacity: Int = 16 * 1024) {
    self.maximumRecord = maximumRecord
    buffer = [UInt8](repeating: 0, count: initialCapacity)
  }

  enum Failure: Error {
    /// The stream ended between records.
    case endOfStream
    /// The stream ended inside a record.
    case truncated
    case tooLarge(Int)
    case transport(TransportError)
  }

  /// Whether bytes of a next record are already buffered.
  var hasBufferedBytes: Bool { end > start }

  /// Makes at least `need` bytes available from `start`; false if the stream ends first.
  private mutating func fill(_ need: Int, from stream: any ByteStream, deadline: ContinuousClock.Instant?) throws(Failure) -> Bool {
    if end - start >= need { return true }
    if start + need > buffer.count {
      // Move what is buffered to the front, and grow if it still does not fit.
      let pending = end - start
      if pending > 0 && start > 0 {
        buffer.withUnsafeMutableBytes { p in
          p.baseAddress!.copyMemory(from: p.baseAddress! + start, byteCount: pending)
        }
      }
      start = 0
      end = pending
      if need > buffer.count {
        buffer.append(contentsOf: repeatElement(0, count: max(need, min(buffer.count * 2, maximumRecord + 8)) - buffer.count))
      }
    }
    while end - start < need {
      let at = end
      let result: Result<Int, TransportError> = buffer.withUnsafeMutableBytes { p in
        do throws(TransportError) {
          return .success(try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: p[at...]), deadline: deadline))
        } catch {
          return .failure(error)
        }
      }
      let n: Int
      switch result {
      case .success(let count): n = count
      case .failure(let error): throw .transport(error)
      }
      if n == 0 { return false }
      end += n
    }
    return true
  }

  /// Reads the next record and calls `body` with the bytes it is in and its range.
  mutating func withNextRecord<R>(
    from stream: any ByteStream, deadline: ContinuousClock.Instant?,
    _ body: ([UInt8], Int, Int) throws -> R
  ) throws -> R {
    while true {
      guard try fill(4, from: stream, deadline: deadline) else {
        throw assembled.isEmpty && end == start ? Failure.endOfStream : Failure.truncated
      }
      let header = buffer.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
      let length = Int(header & 0x7FFF_FFFF)
      let last = header & 0x8000_0000 != 0
      guard assembled.count + length <= maximumRecord else { throw Failure.tooLarge(assembled.count + length) }
      guard try fill(4 + length, from: stream, deadline: deadline) else { throw Failure.truncated }
      let from = start + 4, to = start + 4 + length
      start = to
      if start == end {
        start = 0
        end = 0
      }
      if last && assembled.isEmpty {
        return try body(buffer, from, to)
      }
      assembled.append(contentsOf: buffer[from..<to])
      if last {
        defer { assembled.removeAll(keepingCapacity: true) }
        return try body(assembled, 0, assembled.count)
      }
    }
  }
}

/// Writes `w`'s bytes, after filling in the record mark reserved in its first 4 bytes (one
/// fragment: the whole record).
func sendRecord(_ w: inout XDRWriter, on stream: any ByteStream) throws(TransportError) {
  w.overwrite(0x8000_0000 | UInt32(w.count - 4), at: 0)
  let result: Result<Void, TransportError> = w.withUnsafeBytes { raw in
    do throws(TransportError) { try stream.write(raw); return .success(()) } catch { return .failure(error) }
  }
  try result.get()
}

/// The peer address of a connected socket (nil for a Unix-domain socket).
func peerAddress(of fd: Int32) -> ONCPeerAddress? {
  var storage = sockaddr_storage()
  var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
  let rc = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) } }
  guard rc == 0 else { return nil }
  return ONCPeerAddress(storage)
}

extension ONCPeerAddress {
  /// The address in `storage` (IPv4 or IPv6), nil for other families.
  init?(_ storage: sockaddr_storage) {
    var s = storage
    switch Int32(storage.ss_family) {
    case AF_INET:
      self = withUnsafePointer(to: &s) {
        $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
          ONCPeerAddress.ipv4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr), port: UInt16(bigEndian: $0.pointee.sin_port))
        }
      }
    case AF_INET6:
      self = withUnsafePointer(to: &s) {
        $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
          var a = p.pointee.sin6_addr
          let (high, low) = withUnsafeBytes(of: &a) {
            (UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
          }
          return ONCPeerAddress(family: 10, high: high, low: low, port: UInt16(bigEndian: p.pointee.sin6_port))
        }
      }
    default:
      return nil
    }
  }
}
