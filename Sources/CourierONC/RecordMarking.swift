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

/// The receiving side of record marking, without I/O: bytes received and not yet parsed, in
/// one reusable buffer, and the fragments of a record being gathered. A transport receives into
/// ``receive(_:)``'s free space and takes whole records with ``nextRecord(_:)``.
///
/// A record that came as one fragment — the usual case — is handed over in place, without a
/// copy; the fragments of a longer record are gathered in a second buffer. Each fragment
/// header is checked against the bound before any of the fragment is waited for or buffered,
/// so a header claiming 2 GiB fails at once.
public struct RecordBuffer: Sendable {
  /// The largest record accepted (the sum of its fragments).
  public let maximumRecord: Int
  private var input: [UInt8]
  private var start = 0
  private var end = 0
  private var assembled: [UInt8] = []
  /// How many bytes from `start` the next fragment needs (its header and body).
  private var needed = 4

  public init(maximumRecord: Int, initialCapacity: Int = 16 * 1024) {
    precondition(maximumRecord >= 0)
    self.maximumRecord = maximumRecord
    input = [UInt8](repeating: 0, count: max(16, initialCapacity))
  }

  /// Whether the stream stopped between records (nothing buffered).
  public var isAtRecordBoundary: Bool { start == end && assembled.isEmpty }

  /// Calls `receive` with the free space after the buffered bytes — room at least for the
  /// rest of the fragment being waited for — and keeps the count of bytes it says it wrote.
  @discardableResult
  public mutating func receive<E: Error>(_ receive: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) -> Int {
    if start + needed > input.count || end == input.count {
      // Move what is buffered to the front, and grow if the fragment still does not fit.
      let pending = end - start
      if pending > 0 && start > 0 {
        let from = start
        input.withUnsafeMutableBytes { p in p.baseAddress!.copyMemory(from: p.baseAddress! + from, byteCount: pending) }
      }
      start = 0
      end = pending
      if needed > input.count || end == input.count {
        let grown = max(needed, min(input.count * 2, maximumRecord + 8))
        if grown > input.count { input.append(contentsOf: repeatElement(0, count: grown - input.count)) }
      }
    }
    let at = end
    let result: Result<Int, E> = input.withUnsafeMutableBytes { p in
      do throws(E) { return .success(try receive(UnsafeMutableRawBufferPointer(rebasing: p[at...]))) } catch { return .failure(error) }
    }
    let n = try result.get()
    end += max(0, n)
    return n
  }

  /// The next whole record, if it is all buffered: calls `body` with the bytes it is in and its
  /// range, and returns what `body` returns; nil when more bytes are needed.
  public mutating func nextRecord<R>(_ body: ([UInt8], Int, Int) throws -> R) throws -> R? {
    while end - start >= 4 {
      let header = input.withUnsafeBytes { [start] in UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
      let length = Int(header & 0x7FFF_FFFF)
      let last = header & 0x8000_0000 != 0
      guard assembled.count + length <= maximumRecord else {
        throw RecordMarkingError(code: .recordTooLarge,
                                 message: "a fragment of \(length) bytes makes a record of \(assembled.count + length), above the bound \(maximumRecord)")
      }
      guard end - start - 4 >= length else {
        needed = 4 + length
        return nil
      }
      let from = start + 4, to = start + 4 + length
      start = to
      needed = 4
      if start == end {
        start = 0
        end = 0
      }
      if last && assembled.isEmpty { return try body(input, from, to) }
      assembled.append(contentsOf: input[from..<to])
      if last {
        defer { assembled.removeAll(keepingCapacity: true) }
        return try body(assembled, 0, assembled.count)
      }
    }
    needed = 4
    return nil
  }
}

/// Reassembles records from a byte stream fed in pieces of any size (a ``RecordBuffer`` fed
/// by copying). A fragment header is checked against the bound before anything is buffered: a
/// header claiming 2 GiB fails at once, it never makes the reader wait for (or allocate) 2 GiB.
public struct RecordReassembler: Sendable {
  private var buffer: RecordBuffer

  /// The largest record accepted (the sum of its fragments).
  public var maximumRecord: Int { buffer.maximumRecord }

  public init(maximumRecord: Int = 1 << 20) {
    buffer = RecordBuffer(maximumRecord: maximumRecord, initialCapacity: 256)
  }

  /// Whether the stream stopped between records (nothing buffered).
  public var isAtRecordBoundary: Bool { buffer.isAtRecordBoundary }

  /// Adds `bytes` and returns the records they complete, in order.
  public mutating func feed(_ bytes: some Collection<UInt8>) throws(RecordMarkingError) -> [[UInt8]] {
    var rest = Array(bytes)[...]
    var complete: [[UInt8]] = []
    do {
      while true {
        while let record = try buffer.nextRecord({ Array($0[$1..<$2]) }) { complete.append(record) }
        if rest.isEmpty { break }
        buffer.receive { space in
          let n = min(space.count, rest.count)
          rest.prefix(n).withUnsafeBytes { space.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
          rest = rest.dropFirst(n)
          return n
        }
      }
    } catch let error as RecordMarkingError {
      throw error
    } catch {
      preconditionFailure("RecordBuffer.nextRecord threw \(error)")
    }
    return complete
  }

  /// Says the stream has ended: an error if it ended inside a record.
  public func finish() throws(RecordMarkingError) {
    guard isAtRecordBoundary else {
      throw RecordMarkingError(code: .truncated, message: "the stream ended inside a record")
    }
  }
}
