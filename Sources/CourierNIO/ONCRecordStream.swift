import CourierCore
import CourierONC
import CourierWire
#if canImport(Glibc)
import Glibc
#endif

/// Reads ONC RPC records (RFC 5531 §11 record marking) from a blocking byte stream, through a
/// ``RecordBuffer`` (one reusable buffer; single-fragment records handed over in place; every
/// fragment header checked against the bound before anything of it is read).
struct RecordStreamReader {
  private var buffer: RecordBuffer

  init(maximumRecord: Int) {
    buffer = RecordBuffer(maximumRecord: maximumRecord)
  }

  enum Failure: Error {
    /// The stream ended between records.
    case endOfStream
    /// The stream ended inside a record.
    case truncated
    case tooLarge(String)
    case transport(TransportError)
  }

  /// Reads the next record and calls `body` with the bytes it is in and its range.
  mutating func withNextRecord<R>(
    from stream: any ByteStream, deadline: ContinuousClock.Instant?,
    _ body: ([UInt8], Int, Int) throws -> R
  ) throws -> R {
    while true {
      do {
        if let result = try buffer.nextRecord(body) { return result }
      } catch let error as RecordMarkingError {
        throw Failure.tooLarge(error.message)
      }
      let n: Int
      do {
        n = try buffer.receive { (space) throws(TransportError) in try stream.read(into: space, deadline: deadline) }
      } catch {
        throw Failure.transport(error)
      }
      if n == 0 { throw buffer.isAtRecordBoundary ? Failure.endOfStream : Failure.truncated }
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
