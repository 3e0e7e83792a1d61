public import CourierWire

/// Builds one GIOP message in a ``CDRWriter``: the 12-byte header, a message header, the body,
/// then the size patched in.
///
/// GIOP 1.2 aligns a Request, Reply or LocateReply body on 8 octets, but only when there is a
/// body: ``finish(_:)`` drops the padding again if nothing was written after it.
public struct GIOPMessageBuilder: Sendable {
  /// The message being written.
  public var writer: CDRWriter
  let version: GIOPVersion
  var headerEnd = 0
  var bodyStart = 0

  /// Starts a message of `type`.
  public init(_ type: GIOPMessageType, version: GIOPVersion, codeSets: TransmissionCodeSets = .default, capacity: Int = 256) {
    self.version = version
    writer = CDRWriter(capacity: capacity, giopMinor: version.minor, codeSets: codeSets)
    GIOPHeader.begin(type, version: version, writer: &writer)
  }

  /// Starts a message of `type` in `storage`'s memory (reusing its capacity).
  public init(_ type: GIOPMessageType, version: GIOPVersion, codeSets: TransmissionCodeSets, reusing storage: consuming [UInt8]) {
    self.version = version
    writer = CDRWriter(reusing: storage, giopMinor: version.minor, codeSets: codeSets)
    GIOPHeader.begin(type, version: version, writer: &writer)
  }

  init(writer: CDRWriter, version: GIOPVersion) {
    self.writer = writer
    self.version = version
  }

  /// Marks the end of the message header; pads to the aligned body in GIOP 1.2.
  public mutating func beginBody() {
    headerEnd = writer.count
    if version.minor >= 2 { writer.align(8) }
    bodyStart = writer.count
  }

  /// Patches the size and returns the message bytes.
  public mutating func finish() -> [UInt8] {
    complete()
    return writer.finishedBytes()
  }

  /// Patches the size, leaving the message in ``writer`` (send it with `writer.withUnsafeBytes`).
  public mutating func complete() {
    if bodyStart > 0, writer.count == bodyStart, bodyStart > headerEnd {
      writer.truncate(to: headerEnd)
    }
    GIOPHeader.patchSize(&writer)
  }

  /// The bytes of a header-only message (CloseConnection, MessageError).
  public static func headerOnly(_ type: GIOPMessageType, version: GIOPVersion) -> [UInt8] {
    var b = GIOPMessageBuilder(type, version: version, capacity: 12)
    return b.finish()
  }

  /// A CancelRequest for `requestID`.
  public static func cancelRequest(_ requestID: UInt32, version: GIOPVersion) -> [UInt8] {
    var b = GIOPMessageBuilder(.cancelRequest, version: version, capacity: 16)
    b.writer.write(requestID)
    return b.finish()
  }
}
