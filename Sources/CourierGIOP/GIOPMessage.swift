public import CourierWire
public import CourierCore

/// A GIOP protocol version (Courier reads and writes 1.0, 1.1 and 1.2).
public struct GIOPVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
  public var major: UInt8
  public var minor: UInt8
  public init(major: UInt8 = 1, minor: UInt8) {
    self.major = major
    self.minor = minor
  }
  public static let v1_0 = GIOPVersion(minor: 0)
  public static let v1_1 = GIOPVersion(minor: 1)
  public static let v1_2 = GIOPVersion(minor: 2)
  public static func < (a: GIOPVersion, b: GIOPVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
  public var description: String { "\(major).\(minor)" }
}

/// The eight GIOP message types.
public enum GIOPMessageType: UInt8, Sendable, CustomStringConvertible {
  case request = 0
  case reply = 1
  case cancelRequest = 2
  case locateRequest = 3
  case locateReply = 4
  case closeConnection = 5
  case messageError = 6
  case fragment = 7

  public var description: String {
    switch self {
    case .request: "Request"
    case .reply: "Reply"
    case .cancelRequest: "CancelRequest"
    case .locateRequest: "LocateRequest"
    case .locateReply: "LocateReply"
    case .closeConnection: "CloseConnection"
    case .messageError: "MessageError"
    case .fragment: "Fragment"
    }
  }
}

/// The 12-byte GIOP message header.
///
/// ```
/// 0      4       5       6      7      8
/// | GIOP | major | minor | flags | type | message_size (ulong, in the flagged order) |
/// ```
/// `flags` bit 0 is the byte order (1 = little endian), bit 1 (GIOP 1.1+) says more
/// fragments follow. GIOP 1.0 calls the octet `byte_order` and uses only bit 0.
public struct GIOPHeader: Sendable, Hashable {
  public static let size = 12
  public static let magic: [UInt8] = [0x47, 0x49, 0x4F, 0x50]  // "GIOP"

  public var version: GIOPVersion
  public var byteOrder: ByteOrder
  public var moreFragments: Bool
  public var messageType: GIOPMessageType
  /// The number of bytes after the header.
  public var messageSize: UInt32

  public init(version: GIOPVersion, byteOrder: ByteOrder = .native, moreFragments: Bool = false,
              messageType: GIOPMessageType, messageSize: UInt32) {
    self.version = version
    self.byteOrder = byteOrder
    self.moreFragments = moreFragments
    self.messageType = messageType
    self.messageSize = messageSize
  }

  /// Why a header was refused.
  public enum Problem: Error, Sendable, Equatable {
    case badMagic
    case unsupportedVersion(UInt8, UInt8)
    case unknownMessageType(UInt8)
    case tooLarge(UInt32, limit: Int)
  }

  /// Parses a header from the first 12 bytes of `bytes`, refusing sizes over `maxMessageSize`.
  public static func parse(_ bytes: UnsafeRawBufferPointer, maxMessageSize: Int) -> Result<GIOPHeader, Problem> {
    precondition(bytes.count >= size)
    guard bytes[0] == 0x47, bytes[1] == 0x49, bytes[2] == 0x4F, bytes[3] == 0x50 else { return .failure(.badMagic) }
    let major = bytes[4], minor = bytes[5]
    guard major == 1, minor <= 2 else { return .failure(.unsupportedVersion(major, minor)) }
    let flags = bytes[6]
    guard let type = GIOPMessageType(rawValue: bytes[7]), !(minor == 0 && type == .fragment) else {
      return .failure(.unknownMessageType(bytes[7]))
    }
    let order = ByteOrder(flag: flags)
    let raw = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let messageSize = order == .littleEndian ? UInt32(littleEndian: raw) : UInt32(bigEndian: raw)
    if Int(messageSize) > maxMessageSize { return .failure(.tooLarge(messageSize, limit: maxMessageSize)) }
    return .success(GIOPHeader(
      version: GIOPVersion(major: major, minor: minor), byteOrder: order,
      moreFragments: minor >= 1 && flags & 2 != 0, messageType: type, messageSize: messageSize))
  }

  /// Writes the header with `messageSize` 0; ``GIOPHeader/patchSize(_:)`` sets it at the end.
  public static func begin(_ type: GIOPMessageType, version: GIOPVersion, writer: inout CDRWriter, moreFragments: Bool = false) {
    writer.writeRaw(magic)
    writer.write(version.major)
    writer.write(version.minor)
    writer.write(writer.byteOrder.flag | (moreFragments && version.minor >= 1 ? 2 : 0))
    writer.write(type.rawValue)
    writer.write(UInt32(0))
  }

  /// Sets the size field of the message that starts at the beginning of `writer`.
  public static func patchSize(_ writer: inout CDRWriter) {
    writer.setUInt32(UInt32(truncatingIfNeeded: writer.count - size), at: 8)
  }
}

/// A service context: an id and an encapsulation carried with a request or reply.
public struct ServiceContext: Sendable, Hashable {
  public var id: UInt32
  public var data: [UInt8]
  public init(id: UInt32, data: [UInt8]) {
    self.id = id
    self.data = data
  }

  /// `CodeSets` (id 1): the client's chosen transmission code sets.
  public static let codeSetsID: UInt32 = 1
  /// `SendingContextRunTime` (id 6).
  public static let sendingContextRunTimeID: UInt32 = 6

  /// A CodeSets context for `codeSets`.
  public static func codeSets(_ codeSets: TransmissionCodeSets, byteOrder: ByteOrder = .native) -> ServiceContext {
    var w = CDRWriter(capacity: 16, byteOrder: byteOrder)
    w.bytes.append(byteOrder.flag)
    w.write(codeSets.char.rawValue)
    w.write(codeSets.wchar.rawValue)
    return ServiceContext(id: codeSetsID, data: w.bytes)
  }

  /// The code sets in a CodeSets context.
  public func decodeCodeSets() throws -> TransmissionCodeSets {
    var r = CDRReader(data, byteOrder: .bigEndian)
    guard !data.isEmpty else { throw CDRError(.invalidEncapsulation, "empty CodeSets context") }
    r.byteOrder = ByteOrder(flag: data[0])
    r.position = 1
    return TransmissionCodeSets(char: CodeSetID(rawValue: try r.read()), wchar: CodeSetID(rawValue: try r.read()))
  }
}

extension CDRWriter {
  /// Writes a `ServiceContextList`.
  public mutating func writeServiceContexts(_ contexts: [ServiceContext]) {
    write(UInt32(truncatingIfNeeded: contexts.count))
    for context in contexts {
      write(context.id)
      writeOctetSequence(context.data)
    }
  }

  /// Writes a `ServiceContextList` with, after `contexts`, an INVOCATION_POLICIES context for
  /// `requestEndTime` and the at-most-once contexts (FT_REQUEST, acknowledgement), each built in
  /// place: no allocation.
  public mutating func writeServiceContexts(_ contexts: [ServiceContext], requestEndTime: UInt64?,
                                            ftRequest: FTRequestContext? = nil, acknowledgement: ReplyAcknowledgement? = nil) {
    if requestEndTime == nil && ftRequest == nil { return writeServiceContexts(contexts) }
    let extra = (requestEndTime == nil ? 0 : 1) + (ftRequest == nil ? 0 : 1) + (acknowledgement == nil ? 0 : 1)
    write(UInt32(truncatingIfNeeded: contexts.count + extra))
    for context in contexts {
      write(context.id)
      writeOctetSequence(context.data)
    }
    if let requestEndTime {
      write(RequestDeadline.serviceContextID)
      write(UInt32(RequestDeadline.contextDataSize))
      withUnsafeTemporaryAllocation(byteCount: RequestDeadline.contextDataSize, alignment: 8) { buffer in
        RequestDeadline.writeContextData(requestEndTime, into: buffer)
        writeRaw(UnsafeRawBufferPointer(buffer))
      }
    }
    if let ftRequest { writeEncapsulatedContext(FTRequestContext.serviceContextID, ftRequest) }
    if let acknowledgement { writeEncapsulatedContext(ReplyAcknowledgement.serviceContextID, acknowledgement) }
  }

  private mutating func writeEncapsulatedContext(_ id: UInt32, _ value: some InPlaceContext) {
    let size = value.contextDataSize
    write(id)
    write(UInt32(size))
    writeRaw(count: size) { value.writeContextData(into: $0) }
  }
}

extension CDRReader {
  /// A request's service contexts, with the ones the ORB reads itself taken out.
  struct RequestContexts {
    var contexts: [ServiceContext] = []
    var endTime: UInt64?
    var ftRequest: FTRequestContext?
    var acknowledgement: ReplyAcknowledgement?
  }

  /// Reads a request's `ServiceContextList`, taking a RequestEndTimePolicy out of its
  /// INVOCATION_POLICIES context (the context itself is kept only if it held more) and the
  /// FT_REQUEST and acknowledgement contexts out of the list, decoded in place (no allocation).
  /// A malformed FT_REQUEST or acknowledgement stays in the list (the server answers MARSHAL).
  mutating func readRequestServiceContexts() throws -> RequestContexts {
    let count = try readCount(minimumElementSize: 8)
    var result = RequestContexts()
    for _ in 0..<count {
      let id: UInt32 = try read()
      switch id {
      case RequestDeadline.serviceContextID:
        let length = try readCount(minimumElementSize: 1)
        let start = position
        let (time, only) = try RequestDeadline.endTime(in: storage, start: start, end: start + length)
        result.endTime = time
        if !only { result.contexts.append(ServiceContext(id: id, data: Array(storage[start..<(start + length)]))) }
        position = start + length
      case FTRequestContext.serviceContextID where result.ftRequest == nil:
        let length = try readCount(minimumElementSize: 1)
        let start = position
        if let ft = try? FTRequestContext.decode(storage, start: start, end: start + length) {
          result.ftRequest = ft
        } else {
          result.contexts.append(ServiceContext(id: id, data: Array(storage[start..<(start + length)])))
        }
        position = start + length
      case ReplyAcknowledgement.serviceContextID where result.acknowledgement == nil:
        let length = try readCount(minimumElementSize: 1)
        let start = position
        if let ack = try? ReplyAcknowledgement.decode(storage, start: start, end: start + length) {
          result.acknowledgement = ack
        } else {
          result.contexts.append(ServiceContext(id: id, data: Array(storage[start..<(start + length)])))
        }
        position = start + length
      default:
        result.contexts.append(ServiceContext(id: id, data: try readOctetSequence()))
      }
    }
    return result
  }

  /// Reads a `ServiceContextList`.
  public mutating func readServiceContexts() throws -> [ServiceContext] {
    let count = try readCount(minimumElementSize: 8)
    var contexts: [ServiceContext] = []
    contexts.reserveCapacity(count)
    for _ in 0..<count {
      let id: UInt32 = try read()
      contexts.append(ServiceContext(id: id, data: try readOctetSequence()))
    }
    return contexts
  }
}

/// How a GIOP 1.2 request names its target.
public enum TargetAddress: Sendable, Hashable {
  /// `KeyAddr` (0): the object key.
  case key([UInt8])
  /// `ProfileAddr` (1): a whole tagged profile.
  case profile(TaggedProfile)
  /// `ReferenceAddr` (2): an IOR and the index of the profile chosen.
  case reference(selectedProfile: UInt32, IOR)

  /// The object key this address names, if Courier can find one.
  public var objectKey: [UInt8]? {
    switch self {
    case .key(let key): return key
    case .profile(let profile): return (try? IIOPProfile(profile))?.objectKey
    case .reference(let index, let ior):
      guard Int(index) < ior.profiles.count else { return nil }
      return (try? IIOPProfile(ior.profiles[Int(index)]))?.objectKey
    }
  }

  func encode(to w: inout CDRWriter) throws {
    switch self {
    case .key(let key):
      w.write(Int16(0))
      w.writeOctetSequence(key)
    case .profile(let profile):
      w.write(Int16(1))
      profile.encode(to: &w)
    case .reference(let index, let ior):
      w.write(Int16(2))
      w.write(index)
      try ior.encode(to: &w)
    }
  }

  static func decode(from r: inout CDRReader, keyCache: inout [UInt8]) throws -> TargetAddress {
    let discriminator: Int16 = try r.read()
    switch discriminator {
    case 0: return .key(try r.readOctetSequence(reusing: &keyCache))
    case 1: return .profile(try TaggedProfile(from: &r))
    case 2:
      let index: UInt32 = try r.read()
      return .reference(selectedProfile: index, try IOR(from: &r))
    default: throw CDRError(.invalidEnum, "TargetAddress discriminator \(discriminator)")
    }
  }
}

/// The header of a Request message (all versions).
public struct RequestHeader: Sendable, Hashable {
  public var requestID: UInt32
  /// GIOP 1.2 `response_flags`: 0 for oneway, 3 for a two-way call (1.0/1.1 have a boolean).
  public var responseFlags: UInt8
  public var target: TargetAddress
  public var operation: String
  public var serviceContexts: [ServiceContext]
  /// GIOP 1.0/1.1 `requesting_principal` (deprecated; empty).
  public var principal: [UInt8]
  /// The request's deadline as a TimeBase::TimeT: its INVOCATION_POLICIES context, kept out of
  /// ``serviceContexts`` when a RequestEndTimePolicy was all that context held (see
  /// ``RequestDeadline``).
  public var requestEndTime: UInt64?
  /// The FT_REQUEST context of an at-most-once request, decoded in place and kept out of
  /// ``serviceContexts``.
  public var ftRequest: FTRequestContext?
  /// Courier's acknowledgement context, decoded in place and kept out of ``serviceContexts``.
  public var acknowledgement: ReplyAcknowledgement?

  public init(requestID: UInt32, responseExpected: Bool, target: TargetAddress, operation: String,
              serviceContexts: [ServiceContext] = [], principal: [UInt8] = [], requestEndTime: UInt64? = nil,
              ftRequest: FTRequestContext? = nil, acknowledgement: ReplyAcknowledgement? = nil) {
    self.ftRequest = ftRequest
    self.acknowledgement = acknowledgement
    self.requestID = requestID
    self.responseFlags = responseExpected ? 3 : 0
    self.target = target
    self.operation = operation
    self.serviceContexts = serviceContexts
    self.principal = principal
    self.requestEndTime = requestEndTime
  }

  /// True unless the call is oneway.
  public var responseExpected: Bool { responseFlags & 1 != 0 }

  /// Writes the header after the GIOP header (without the GIOP 1.2 body padding: see
  /// ``GIOPMessageBuilder``).
  public func encode(to w: inout CDRWriter, version: GIOPVersion) throws {
    if version.minor >= 2 {
      w.write(requestID)
      w.write(responseFlags)
      w.appendZeros(3)
      try target.encode(to: &w)
      try w.writeString(operation)
      w.writeServiceContexts(serviceContexts, requestEndTime: requestEndTime, ftRequest: ftRequest, acknowledgement: acknowledgement)
    } else {
      guard case .key(let key) = target else {
        throw CDRError(.invalidValue, "GIOP \(version) requests can only address an object key")
      }
      w.writeServiceContexts(serviceContexts, requestEndTime: requestEndTime, ftRequest: ftRequest, acknowledgement: acknowledgement)
      w.write(requestID)
      w.write(responseExpected)
      if version.minor == 1 { w.appendZeros(3) }
      w.writeOctetSequence(key)
      try w.writeString(operation)
      w.writeOctetSequence(principal)
    }
  }

  /// Writes a request header addressing `objectKey` (the client's hot path: nothing is built
  /// in between; the same bytes as ``encode(to:version:)``).
  public static func encode(
    requestID: UInt32, responseExpected: Bool, objectKey: [UInt8], operation: String,
    serviceContexts: [ServiceContext], requestEndTime: UInt64? = nil,
    ftRequest: FTRequestContext? = nil, acknowledgement: ReplyAcknowledgement? = nil, alignBody: Bool = false,
    to w: inout CDRWriter, version: GIOPVersion
  ) throws {
    if version.minor >= 2 {
      w.write(requestID)
      w.write(UInt8(responseExpected ? 3 : 0))
      w.appendZeros(3)
      w.write(Int16(0))  // KeyAddr
      w.writeOctetSequence(objectKey)
      try w.writeString(operation)
      w.writeServiceContexts(serviceContexts, requestEndTime: requestEndTime, ftRequest: ftRequest, acknowledgement: acknowledgement)
    } else {
      w.writeServiceContexts(serviceContexts, requestEndTime: requestEndTime, ftRequest: ftRequest, acknowledgement: acknowledgement)
      w.write(requestID)
      w.write(responseExpected)
      if version.minor == 1 { w.appendZeros(3) }
      w.writeOctetSequence(objectKey)
      try w.writeString(operation)
      if alignBody {
        // Arguments marshalled ahead (an exactly-once call's logged bytes) assume a body that
        // starts 8-aligned, as GIOP 1.2's does: the (ignored) principal's length makes it so.
        w.align(4)
        let pad = (8 - (w.count - w.alignmentOrigin + 4) % 8) % 8
        w.write(UInt32(pad))
        w.appendZeros(pad)
      } else {
        w.write(UInt32(0))  // empty requesting_principal
      }
    }
  }

  /// Reads the header; leaves the reader at the start of the body (aligned for GIOP 1.2).
  public static func decode(from r: inout CDRReader, version: GIOPVersion) throws -> RequestHeader {
    var keyCache: [UInt8] = []
    return try decode(from: &r, version: version, keyCache: &keyCache)
  }

  /// Reads the header like ``decode(from:version:)``; an object key equal to `keyCache` is
  /// returned as that same array (a connection's calls usually go to one object).
  public static func decode(from r: inout CDRReader, version: GIOPVersion, keyCache: inout [UInt8]) throws -> RequestHeader {
    if version.minor >= 2 {
      let id: UInt32 = try r.read()
      let flags: UInt8 = try r.read()
      try r.skip(3)
      let target = try TargetAddress.decode(from: &r, keyCache: &keyCache)
      let operation = try r.readString()
      let c = try r.readRequestServiceContexts()
      // The body is 8-aligned only if there is one: an empty body may end the message early.
      if !r.isAtEnd { r.align(8) }
      var h = RequestHeader(requestID: id, responseExpected: true, target: target, operation: operation, serviceContexts: c.contexts,
                            requestEndTime: c.endTime, ftRequest: c.ftRequest, acknowledgement: c.acknowledgement)
      h.responseFlags = flags
      return h
    }
    let c = try r.readRequestServiceContexts()
    let id: UInt32 = try r.read()
    let expected: Bool = try r.read()
    if version.minor == 1 { try r.skip(3) }
    let key = try r.readOctetSequence(reusing: &keyCache)
    let operation = try r.readString()
    let principal = try r.readOctetSequence()
    return RequestHeader(requestID: id, responseExpected: expected, target: .key(key), operation: operation,
                         serviceContexts: c.contexts, principal: principal, requestEndTime: c.endTime,
                         ftRequest: c.ftRequest, acknowledgement: c.acknowledgement)
  }
}

/// `ReplyStatusType`.
public enum ReplyStatus: UInt32, Sendable {
  case noException = 0
  case userException = 1
  case systemException = 2
  case locationForward = 3
  case locationForwardPerm = 4
  case needsAddressingMode = 5
}

/// The header of a Reply message (all versions).
public struct ReplyHeader: Sendable, Hashable {
  public var requestID: UInt32
  public var status: ReplyStatus
  public var serviceContexts: [ServiceContext]

  public init(requestID: UInt32, status: ReplyStatus, serviceContexts: [ServiceContext] = []) {
    self.requestID = requestID
    self.status = status
    self.serviceContexts = serviceContexts
  }

  /// Writes the header (without the GIOP 1.2 body padding). Returns the offset
  /// of the status field, so that a server can change it if the servant throws.
  @discardableResult
  public func encode(to w: inout CDRWriter, version: GIOPVersion) -> Int {
    let statusOffset: Int
    if version.minor >= 2 {
      w.write(requestID)
      statusOffset = w.count
      w.write(status.rawValue)
      w.writeServiceContexts(serviceContexts)
    } else {
      w.writeServiceContexts(serviceContexts)
      w.write(requestID)
      statusOffset = w.count
      w.write(status.rawValue)
    }
    return statusOffset
  }

  public static func decode(from r: inout CDRReader, version: GIOPVersion) throws -> ReplyHeader {
    if version.minor >= 2 {
      let id: UInt32 = try r.read()
      let rawStatus: UInt32 = try r.read()
      guard let status = ReplyStatus(rawValue: rawStatus) else { throw CDRError(.invalidEnum, "reply status \(rawStatus)") }
      let contexts = try r.readServiceContexts()
      if !r.isAtEnd { r.align(8) }
      return ReplyHeader(requestID: id, status: status, serviceContexts: contexts)
    }
    let contexts = try r.readServiceContexts()
    let id: UInt32 = try r.read()
    let rawStatus: UInt32 = try r.read()
    guard let status = ReplyStatus(rawValue: rawStatus), rawStatus <= 3 else {
      throw CDRError(.invalidEnum, "reply status \(rawStatus) in GIOP \(version)")
    }
    return ReplyHeader(requestID: id, status: status, serviceContexts: contexts)
  }
}

/// `LocateStatusType`.
public enum LocateStatus: UInt32, Sendable {
  case unknownObject = 0
  case objectHere = 1
  case objectForward = 2
  case objectForwardPerm = 3
  case locSystemException = 4
  case locNeedsAddressingMode = 5
}

/// A system exception as it travels in a reply body: repository id, minor, completion.
public struct SystemExceptionBody: Sendable, Hashable {
  public var repositoryID: String
  public var minor: UInt32
  public var completion: CompletionStatus

  public init(repositoryID: String, minor: UInt32, completion: CompletionStatus) {
    self.repositoryID = repositoryID
    self.minor = minor
    self.completion = completion
  }

  public init(_ error: RPCError) {
    self.init(repositoryID: error.code.repositoryID, minor: error.minor, completion: error.completion)
  }

  public func encode(to w: inout CDRWriter) throws {
    try w.writeString(repositoryID)
    w.write(minor)
    w.write(completion.rawValue)
  }

  public static func decode(from r: inout CDRReader) throws -> SystemExceptionBody {
    let id = try r.readString()
    let minor: UInt32 = try r.read()
    let raw: UInt32 = try r.read()
    guard let completion = CompletionStatus(rawValue: raw) else { throw CDRError(.invalidEnum, "completion status \(raw)") }
    return SystemExceptionBody(repositoryID: id, minor: minor, completion: completion)
  }

  /// The error a client raises for this exception (the name is kept even when unknown).
  public var error: RPCError {
    let code = RPCError.Code(repositoryID: repositoryID) ?? RPCError.Code(repositoryID)
    return RPCError(code, minor: minor, completion: completion, "raised by the server")
  }
}
