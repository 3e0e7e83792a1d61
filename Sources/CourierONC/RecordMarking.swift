// Record marking over TCP (RFC 5531 §11): a record is one or more fragments, each preceded by
// a 4-byte big-endian header whose top bit marks the last fragment and whose low 31 bits are
// the fragment's length.

/// A malformed or oversized record stream. The connection cannot be resynchronised after one:
/// close it.
public struct RecordMarkingError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Code: Sendable, Hashable {
    /// The fragments of one record add up to more than the bound.
    case recordTooLarge
    /// The stream ended inside a fragment header or a fragment.
    case truncated
  }
  public var code: Code
  public var message: String
  public var description: String { "record marking: \(message)" }
}

public enum RecordMarking {
  /// The largest fragment a header can describe.
  public static let maximumFragment = Int(Int32.max)

  /// `record` as fragments of at most `fragmentSize` bytes (one, by default), each with its header.
  public static func frame(_ record: [UInt8], fragmentSize: Int = maximumFragment) -> [UInt8] {
    precondition(fragmentSize >= 1 && fragmentSize <= maximumFragment)
    var out: [UInt8] = []
    out.reserveCapacity(record.count + 4 * (record.count / fragmentSize + 1))
    var start = 0
    repeat {
      let n = min(fragmentSize, record.count - start)
      let last = start + n == record.count
      let header = UInt32(n) | (last ? 0x8000_0000 : 0)
      withUnsafeBytes(of: header.bigEndian) { out.append(contentsOf: $0) }
      out.append(contentsOf: record[start..<(start + n)])
      start += n
    } while start < record.count
    return out
  }
}

/// Reassembles records from a byte stream fed in pieces of any size. A fragment header is
/// checked against the bound before anything is buffered: a header claiming 2 GiB fails at
/// once, it never makes the reader wait for (or allocate) 2 GiB.
public struct RecordReassembler: Sendable {
  /// The largest record accepted (the sum of its fragments).
  public let maximumRecord: Int
  private var pending: [UInt8] = []    // bytes not yet parsed
  private var record: [UInt8] = []     // the record being assembled

  public init(maximumRecord: Int = 1 << 20) {
    precondition(maximumRecord >= 0)
    self.maximumRecord = maximumRecord
  }

  /// Whether the stream stopped between records (nothing buffered).
  public var isAtRecordBoundary: Bool { pending.isEmpty && record.isEmpty }

  /// Adds `bytes` and returns the records they complete, in order.
  public mutating func feed(_ bytes: some Collection<UInt8>) throws(RecordMarkingError) -> [[UInt8]] {
    pending.append(contentsOf: bytes)
    var complete: [[UInt8]] = []
    var at = 0
    while pending.count - at >= 4 {
      let header = UInt32(pending[at]) << 24 | UInt32(pending[at + 1]) << 16 | UInt32(pending[at + 2]) << 8 | UInt32(pending[at + 3])
      let length = Int(header & 0x7FFF_FFFF)
      let last = header & 0x8000_0000 != 0
      guard record.count + length <= maximumRecord else {
        throw RecordMarkingError(code: .recordTooLarge,
                                 message: "a fragment of \(length) bytes makes a record of \(record.count + length), above the bound \(maximumRecord)")
      }
      guard pending.count - at - 4 >= length else { break }
      record.append(contentsOf: pending[(at + 4)..<(at + 4 + length)])
      at += 4 + length
      if last {
        complete.append(record)
        record.removeAll(keepingCapacity: true)
      }
    }
    pending.removeFirst(at)
    return complete
  }

  /// Says the stream has ended: an error if it ended inside a record.
  public func finish() throws(RecordMarkingError) {
    guard isAtRecordBoundary else {
      throw RecordMarkingError(code: .truncated, message: "the stream ended inside a record (\(pending.count) unparsed bytes, \(record.count) assembled)")
    }
  }
}
