import Synchronization

/// The seeds' FILEREADWRITE file store (`FileReadWrite.x`), in memory: files are byte arrays
/// keyed by their identifier, shared by every transport that serves it.
///
/// - WRITE stores `data.length` bytes at `position` of file `f`, creating the file and
///   zero-filling any gap.
/// - READ returns `min(length, MAX, size − position)` bytes: none past the end or for an
///   unknown file.
/// - A negative position or length, a length above MAX, or a file that would grow past
///   ``maximumFileSize`` is refused (the servant answers SYSTEM_ERR).
public final class FileStore: Sendable {
  /// `MAX` in the IDL: the most bytes one call carries.
  public static let maximumTransfer = 1000
  /// The largest a file may grow.
  public static let maximumFileSize = 1 << 20

  /// Why a request was refused.
  public enum Refusal: Error, Sendable, Equatable {
    case negativePosition(Int32)
    case negativeLength(Int32)
    case lengthAboveMaximum(Int32)
    case fileTooLarge(Int)
  }

  private let files = Mutex<[Int32: [UInt8]]>([:])

  public init() {}

  /// Writes `bytes` at `position` of file `file`.
  public func write(file: Int32, position: Int32, bytes: some Collection<UInt8>) throws(Refusal) {
    guard position >= 0 else { throw .negativePosition(position) }
    guard bytes.count <= Self.maximumTransfer else { throw .lengthAboveMaximum(Int32(clamping: bytes.count)) }
    let end = Int(position) + bytes.count
    guard end <= Self.maximumFileSize else { throw .fileTooLarge(end) }
    files.withLock { files in
      var contents = files[file, default: []]
      files[file] = nil  // keep the array uniquely referenced while it changes
      if contents.count < end { contents.append(contentsOf: repeatElement(0, count: end - contents.count)) }
      contents.replaceSubrange(Int(position)..<end, with: bytes)
      files[file] = contents
    }
  }

  /// Reads up to `length` bytes at `position` of file `file`.
  public func read(file: Int32, position: Int32, length: Int32) throws(Refusal) -> [UInt8] {
    guard position >= 0 else { throw .negativePosition(position) }
    guard length >= 0 else { throw .negativeLength(length) }
    guard length <= Self.maximumTransfer else { throw .lengthAboveMaximum(length) }
    return files.withLock { files in
      guard let contents = files[file], Int(position) < contents.count else { return [] }
      let end = min(contents.count, Int(position) + Int(length))
      return Array(contents[Int(position)..<end])
    }
  }

  /// The size of file `file` (0 when it does not exist).
  public func size(of file: Int32) -> Int { files.withLock { $0[file]?.count ?? 0 } }
}
