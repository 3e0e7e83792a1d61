/// A failure of the byte transport under a protocol.
public struct TransportError: Error, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    let name: String
    public var description: String { name }
    /// The deadline passed before the operation finished.
    public static let timedOut = Code(name: "timedOut")
    /// The connection is closed (locally or by the peer).
    public static let closed = Code(name: "closed")
    /// The connection could not be opened.
    public static let connectFailed = Code(name: "connectFailed")
    /// Any other system failure.
    public static let failed = Code(name: "failed")
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}

/// A connected, reliable, ordered byte stream (a TCP connection, a Unix socket, an in-process
/// pipe), or a datagram transport that delivers whole messages in that shape (UDP; see
/// ``retransmitHint``). Blocking: Courier's protocol engines run on their own threads.
public protocol ByteStream: AnyObject, Sendable {
  /// Writes all of `bytes`. Safe to call from one thread at a time.
  func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError)

  /// Reads what is available, at most `buffer.count` bytes, waiting until `deadline`.
  /// Returns 0 at end of stream; throws `.timedOut` when the deadline passes.
  func read(into buffer: UnsafeMutableRawBufferPointer, deadline: ContinuousClock.Instant?) throws(TransportError) -> Int

  /// Stops both directions at once: a thread blocked in ``read(into:deadline:)`` returns.
  func shutdown()

  /// A description of the peer, for logs.
  var peerDescription: String { get }

  /// True if bytes or the end of the stream wait to be read, checked without blocking. A
  /// client asks before reusing an idle connection: a server has nothing to say on it unless
  /// it closed it (a dead process, a CloseConnection).
  var hasPendingInput: Bool { get }

  /// Copies up to `buffer.count` bytes waiting to be read into `buffer` without consuming
  /// them or blocking: nil if nothing waits, 0 at the end of the stream, else the count.
  /// The default says "the end of the stream" whenever ``hasPendingInput`` is true.
  func peekPending(_ buffer: UnsafeMutableRawBufferPointer) -> Int?

  /// How long a caller with retrying semantics should wait for a reply before it sends the
  /// request again, when the call itself does not say (`CallOptions.retransmitAfter` in CourierGIOP). nil
  /// (the default) for reliable streams, where a reply is lost only with the connection; a
  /// datagram transport, which loses messages without breaking, gives its interval.
  var retransmitHint: Duration? { get }
}

extension ByteStream {
  public var hasPendingInput: Bool { false }
  public func peekPending(_ buffer: UnsafeMutableRawBufferPointer) -> Int? { hasPendingInput ? 0 : nil }
  public var retransmitHint: Duration? { nil }
}

extension ByteStream {
  /// Writes all of `bytes`.
  public func write(_ bytes: [UInt8]) throws(TransportError) {
    let result: Result<Void, TransportError> = bytes.withUnsafeBytes { raw in
      do throws(TransportError) { try write(raw); return .success(()) } catch { return .failure(error) }
    }
    try result.get()
  }
}

/// Opens byte streams to an address (the client side of a transport).
public protocol StreamConnector: Sendable {
  /// Connects to `host`:`port`, giving up at `deadline`.
  func connect(host: String, port: UInt16, deadline: ContinuousClock.Instant?) throws(TransportError) -> any ByteStream
}

/// Accepts byte streams (the server side of a transport).
public protocol StreamListener: AnyObject, Sendable {
  /// Waits for the next connection; throws `.closed` once ``close()`` was called.
  func accept() throws(TransportError) -> any ByteStream
  /// The host clients should use to reach this listener (written into IORs).
  var host: String { get }
  /// The port clients should use.
  var port: UInt16 { get }
  /// Stops accepting; a thread blocked in ``accept()`` returns with an error.
  func close()
}
