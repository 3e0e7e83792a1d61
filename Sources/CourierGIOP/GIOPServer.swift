public import CourierCore
public import CourierWire
public import Logging
import Synchronization
import Dispatch

/// The server half of the ORB: accepts connections, reads GIOP messages, dispatches requests
/// through an ``ObjectAdapter`` and writes the replies (the seeds' getRequest / sendReply).
///
/// Each connection has its own thread (omniORB's default model). Requests on a connection
/// are served on that thread in order (``DispatchMode/perConnection``), or each on a worker
/// of its own so that a slow call does not hold up the next (``DispatchMode/concurrent``).
/// Servants that ask for it (``Servant/dispatchesSerially``) never run two calls at once.
///
/// ```swift
/// let adapter = ObjectAdapter()
/// adapter.activate(EchoServant(), key: "Echo")
/// let server = try GIOPServer(adapter: adapter, listener: TCPListener(port: 2809))
/// server.start()
/// print(try server.reference(key: "Echo", typeID: "IDL:Bench/Echo:1.0").stringified())
/// ```
public final class GIOPServer: Sendable {
  /// How requests on one connection are run.
  public enum DispatchMode: Sendable {
    /// On the connection's own thread, one after another (lowest latency; omniORB's default).
    case perConnection
    /// Each request on a worker thread, so requests on one connection overlap.
    case concurrent
  }

  public struct Configuration: Sendable {
    /// The largest message accepted; a header announcing more gets MessageError and the
    /// connection is closed, before anything is allocated for the message.
    public var maxMessageSize: Int = 64 * 1024 * 1024
    public var dispatchMode: DispatchMode = .perConnection
    /// The IIOP version written into this server's IORs.
    public var iiopVersion: GIOPVersion = .v1_2
    /// The host written into IORs; the listener's host by default.
    public var advertisedHost: String?
    /// Replies kept for at-most-once requests (those with an FT_REQUEST context), so that a
    /// retransmission is answered without running again; nil turns duplicate filtering off.
    /// Costs nothing for requests without the context.
    public var replyHistory: (any ReplyRetention)? = ReplyHistory()
    /// The registry of running calls that carry an orphan context, and the built-in object
    /// (key ``OrphanMonitor/objectKey``, activated in the adapter) through which clients
    /// cancel their orphans; nil turns orphan handling off. Costs nothing for requests
    /// without the context.
    public var orphans: OrphanMonitor? = OrphanMonitor()
    public init() {}
  }

  struct ConnectionEntry {
    let stream: any ByteStream
    let state: ConnectionState
  }

  /// What a connection is doing, for graceful shutdown.
  final class ConnectionState: Sendable {
    struct Inner {
      var busy = 0
      var closing = false
      var closed = false
    }
    let inner = Mutex(Inner())
    let writeLock = Mutex<Void>(())
  }

  struct State {
    var connections: [ObjectIdentifier: ConnectionEntry] = [:]
    var stopping = false
    var threads = 0
  }

  public let adapter: ObjectAdapter
  public let listener: any StreamListener
  public let configuration: Configuration
  let logger: Logger
  private let state = Mutex(State())
  private let stopped = ConditionLock()

  /// The ORB through which servants call object references they receive (callbacks), and
  /// that references made by ``activate(_:typeID:)`` use.
  public let orb: ORB?

  /// - Parameter orb: the client ORB servants use for object references in arguments (needed
  ///   by generated skeletons for interfaces that take object references).
  public init(adapter: ObjectAdapter, listener: any StreamListener, configuration: Configuration = Configuration(),
              orb: ORB? = nil, logger: Logger = Logger(label: "courier.server")) {
    self.adapter = adapter
    self.listener = listener
    self.configuration = configuration
    self.orb = orb
    self.logger = logger
    if let orphans = configuration.orphans { adapter.activate(OrphanControlServant(orphans), key: OrphanMonitor.objectKey) }
  }

  /// Activates `servant` under a new transient key and returns a reference to it through
  /// ``orb`` (for factories that hand out new objects).
  public func activate(_ servant: any Servant, typeID: String) throws -> ObjectReference {
    guard let orb else {
      throw RPCError(.internal, minor: 0, completion: .no, "GIOPServer has no ORB to make object references with")
    }
    let key = adapter.activateTransient(servant)
    return orb.object(try reference(key: key, typeID: typeID))
  }

  /// The port clients reach this server on.
  public var port: UInt16 { listener.port }

  /// An IOR for the object under `key`, with this server's endpoint, ORB type and code sets.
  public func reference(key: [UInt8], typeID: String) throws -> IOR {
    var components: [TaggedComponent] = []
    if configuration.iiopVersion.minor >= 1 {
      var w = CDRWriter(capacity: 8)
      w.bytes.append(w.byteOrder.flag)
      w.write(ORBType.courier)
      components.append(TaggedComponent(tag: TaggedComponent.orbType, data: w.bytes))
      components.append(TaggedComponent(tag: TaggedComponent.codeSets, data: CodeSetComponentInfo.courier.componentData()))
    }
    let profile = IIOPProfile(version: configuration.iiopVersion, host: configuration.advertisedHost ?? listener.host,
                              port: listener.port, objectKey: key, components: components)
    return try IOR(typeID: typeID, profile: profile)
  }

  /// An IOR for the object under the text key `key`.
  public func reference(key: String, typeID: String) throws -> IOR {
    try reference(key: Array(key.utf8), typeID: typeID)
  }

  /// Starts accepting connections on a thread of its own.
  public func start() {
    state.withLock { $0.threads += 1 }
    spawnThread(name: "courier-accept") { [self] in
      acceptLoop()
      threadExited()
    }
  }

  private func threadExited() {
    stopped.withLock {
      state.withLock { $0.threads -= 1 }
      stopped.broadcast()
    }
  }

  private func acceptLoop() {
    while true {
      let stream: any ByteStream
      do { stream = try listener.accept() } catch {
        if !state.withLock({ $0.stopping }) { logger.error("accept failed", metadata: ["error": "\(error)"]) }
        return
      }
      let connState = ConnectionState()
      let accepted = state.withLock { s -> Bool in
        if s.stopping { return false }
        s.connections[ObjectIdentifier(stream)] = ConnectionEntry(stream: stream, state: connState)
        s.threads += 1
        return true
      }
      guard accepted else {
        stream.shutdown()
        return
      }
      spawnThread(name: "courier-conn") { [self] in
        serve(stream, connState)
        state.withLock { _ = $0.connections.removeValue(forKey: ObjectIdentifier(stream)) }
        threadExited()
      }
    }
  }

  /// Stops the server. Gracefully: stops accepting, lets every call in progress finish, sends
  /// CloseConnection on every connection (so clients know unanswered requests were not run
  /// and may retry them), and waits for the connection threads. Returns when all are gone or
  /// after `timeout`.
  public func shutdown(timeout: Duration = .seconds(10)) {
    let entries = state.withLock { s -> [ConnectionEntry] in
      s.stopping = true
      return Array(s.connections.values)
    }
    listener.close()
    for entry in entries { beginClose(entry.stream, entry.state) }
    let deadline = ContinuousClock.now + timeout
    stopped.withLock {
      while state.withLock({ $0.threads }) > 0 {
        if !stopped.wait(until: deadline) { break }
      }
    }
  }

  /// Marks the connection closing; if no call is running, closes it now (else the call's end does).
  private func beginClose(_ stream: any ByteStream, _ conn: ConnectionState) {
    let closeNow = conn.inner.withLock { s -> Bool in
      s.closing = true
      return s.busy == 0 && !s.closed
    }
    if closeNow { sendCloseConnection(stream, conn) }
  }

  private func sendCloseConnection(_ stream: any ByteStream, _ conn: ConnectionState) {
    let first = conn.inner.withLock { s -> Bool in
      defer { s.closed = true }
      return !s.closed
    }
    guard first else { return }
    let bytes = GIOPMessageBuilder.headerOnly(.closeConnection, version: configuration.iiopVersion)
    try? conn.writeLock.withLock { _ throws(TransportError) in try stream.write(bytes) }
    stream.shutdown()
  }

  private func write(_ bytes: [UInt8], to stream: any ByteStream, _ conn: ConnectionState) {
    bytes.withUnsafeBytes { write($0, to: stream, conn) }
  }

  private func write(_ message: borrowing CDRWriter, to stream: any ByteStream, _ conn: ConnectionState) {
    message.withUnsafeBytes { write($0, to: stream, conn) }
  }

  private func write(_ bytes: UnsafeRawBufferPointer, to stream: any ByteStream, _ conn: ConnectionState) {
    do {
      try conn.writeLock.withLock { _ throws(TransportError) in try stream.write(bytes) }
    } catch {
      logger.debug("write failed", metadata: ["peer": "\(stream.peerDescription)", "error": "\(error)"])
      stream.shutdown()
    }
  }

  // MARK: - one connection

  private func serve(_ stream: any ByteStream, _ conn: ConnectionState) {
    var reader = GIOPMessageReader(stream: stream, maxMessageSize: configuration.maxMessageSize)
    var session = ServerSession()
    var replyBuffer = CDRWriter(capacity: 512)
    var lookupCache = ObjectAdapter.LookupCache()
    if configuration.orphans != nil { CurrentCall.mine.connection = stream }  // where an orphan's owner is looked for
    while true {
      let message: GIOPIncoming
      do {
        message = try reader.next()
      } catch {
        switch error {
        case .badHeader(let problem):
          // A peer's protocol violation: MessageError, then close (GIOP 15.5.1).
          logger.notice("bad GIOP header", metadata: ["peer": "\(stream.peerDescription)", "problem": "\(problem)"])
          write(GIOPMessageBuilder.headerOnly(.messageError, version: .v1_0), to: stream, conn)
        case .badFragment(let why):
          logger.notice("bad fragment", metadata: ["peer": "\(stream.peerDescription)", "problem": "\(why)"])
          write(GIOPMessageBuilder.headerOnly(.messageError, version: configuration.iiopVersion), to: stream, conn)
        case .closed, .truncated, .transport:
          break
        }
        stream.shutdown()
        return
      }
      let action = session.handle(message)
      switch action {
      case .request(let header):
        let admitted = conn.inner.withLock { s -> Bool in
          if s.closing { return false }
          s.busy += 1
          return true
        }
        // After CloseConnection was decided, requests are dropped unrun: the client retries.
        guard admitted else { continue }
        let codeSets = session.codeSets
        if configuration.dispatchMode == .concurrent {
          let box = UnsafeSendableBox((message, header))
          // A thread of its own, not a GCD worker: servants block, and on Linux the global
          // queue adds a worker only about once a second when all of them are blocked.
          spawnThread(name: "courier-call") { [self] in
            if configuration.orphans != nil, !box.value.1.header.serviceContexts.isEmpty { CurrentCall.mine.connection = stream }
            var local = CDRWriter(capacity: 512)
            var cache = ObjectAdapter.LookupCache()
            if respond(to: box.value.1, message: box.value.0, codeSets: codeSets, buffer: &local, cache: &cache) {
              write(local, to: stream, conn)
            }
            finishCall(stream, conn)
          }
        } else {
          if respond(to: header, message: message, codeSets: codeSets, buffer: &replyBuffer, cache: &lookupCache) {
            write(replyBuffer, to: stream, conn)
          }
          reader.recycle(consume message)
          finishCall(stream, conn)
        }
      case .locate(let requestID, let key):
        let found = adapter.hasObject(key)
        var b = GIOPMessageBuilder(.locateReply, version: message.header.version)
        b.writer.write(requestID)
        b.writer.write((found ? LocateStatus.objectHere : LocateStatus.unknownObject).rawValue)
        write(b.finish(), to: stream, conn)
      case .ignore:
        continue
      case .reject(let why):
        logger.notice("protocol violation", metadata: ["peer": "\(stream.peerDescription)", "problem": "\(why)"])
        write(GIOPMessageBuilder.headerOnly(.messageError, version: message.header.version), to: stream, conn)
        stream.shutdown()
        return
      case .close:
        stream.shutdown()
        return
      }
    }
  }

  private func finishCall(_ stream: any ByteStream, _ conn: ConnectionState) {
    let closeNow = conn.inner.withLock { s -> Bool in
      s.busy -= 1
      return s.closing && s.busy == 0
    }
    if closeNow { sendCloseConnection(stream, conn) }
  }

  /// Runs one request through the adapter and leaves the reply message in `buffer`; false
  /// when there is nothing to send (oneway). An at-most-once request (FT_REQUEST context)
  /// that ran before gets its retained reply instead.
  func respond(to header: DecodedRequest, message: GIOPIncoming, codeSets: TransmissionCodeSets, buffer: inout CDRWriter,
               cache: inout ObjectAdapter.LookupCache) -> Bool {
    guard let ft = header.header.ftRequest, let history = configuration.replyHistory else {
      if configuration.replyHistory != nil,
         header.header.serviceContexts.contains(where: { $0.id == FTRequestContext.serviceContextID || $0.id == ReplyAcknowledgement.serviceContextID }) {
        // Decoding it in the header failed: answer MARSHAL rather than run it without the filter.
        var builder = GIOPMessageBuilder(reusing: &buffer, .reply, version: message.header.version, codeSets: codeSets)
        let statusOffset = ReplyHeader(requestID: header.header.requestID, status: .noException).encode(to: &builder.writer, version: message.header.version)
        builder.beginBody()
        return exceptionReply(RPCError(.marshal, minor: CourierMinor.badBody, completion: .no, "malformed FT_REQUEST or acknowledgement context"),
                              builder: &builder, statusOffset: statusOffset, bodyStart: builder.writer.count,
                              responseExpected: header.header.responseExpected, buffer: &buffer)
      }
      return respondOnce(to: header, message: message, codeSets: codeSets, buffer: &buffer, cache: &cache)
    }
    if let ack = header.header.acknowledgement { history.acknowledge(ack) }
    let contexts = header.header.serviceContexts
    let firstSent = contexts.isEmpty ? nil
      : contexts.first(where: { $0.id == Retransmission.serviceContextID }).flatMap { try? Retransmission($0).firstSent }
    let send: Bool, replayed: Bool
    do {
      (send, replayed) = try history.respond(to: ft, retransmissionOf: firstSent, buffer: &buffer) { buffer in
        respondOnce(to: header, message: message, codeSets: codeSets, buffer: &buffer, cache: &cache)
      }
    } catch {
      var builder = GIOPMessageBuilder(reusing: &buffer, .reply, version: message.header.version, codeSets: codeSets)
      let statusOffset = ReplyHeader(requestID: header.header.requestID, status: .noException).encode(to: &builder.writer, version: message.header.version)
      builder.beginBody()
      return exceptionReply(error, builder: &builder, statusOffset: statusOffset, bodyStart: builder.writer.count,
                            responseExpected: header.header.responseExpected, buffer: &buffer)
    }
    if send && replayed { Self.patchRequestID(header.header.requestID, version: message.header.version, in: &buffer) }
    return send
  }

  /// Writes `id` into a retained reply message (GIOP 1.2 replies start with the request id;
  /// 1.0/1.1 ones with the reply's service context list, which Courier's server leaves empty).
  static func patchRequestID(_ id: UInt32, version: GIOPVersion, in buffer: inout CDRWriter) {
    let offset = version.minor >= 2 ? 12 : 16
    guard buffer.count >= offset + 4 else { return }
    let littleEndian = buffer.withUnsafeBytes { $0[6] & 1 == 1 }
    buffer.setUInt32(littleEndian == (buffer.byteOrder == .littleEndian) ? id : id.byteSwapped, at: offset)
  }

  func respondOnce(to header: DecodedRequest, message: GIOPIncoming, codeSets: TransmissionCodeSets, buffer: inout CDRWriter,
                   cache: inout ObjectAdapter.LookupCache) -> Bool {
    let version = message.header.version
    var args = message.bodyReader(codeSets: codeSets)
    args.position = header.bodyStart
    var builder = GIOPMessageBuilder(reusing: &buffer, .reply, version: version, codeSets: codeSets)
    let statusOffset = ReplyHeader(requestID: header.header.requestID, status: .noException).encode(to: &builder.writer, version: version)
    builder.beginBody()
    let bodyStart = builder.writer.count
    guard let key = header.header.target.objectKey else {
      return exceptionReply(RPCError(.objectNotExist, minor: CourierMinor.noSuchObject, completion: .no, "unsupported target address"),
                            builder: &builder, statusOffset: statusOffset, bodyStart: bodyStart, responseExpected: header.header.responseExpected, buffer: &buffer)
    }
    var logger = self.logger
    if logger.logLevel <= .info {  // metadata costs allocations: only when it can be logged
      logger[metadataKey: "request-id"] = "\(header.header.requestID)"
      logger[metadataKey: "object-key"] = "\(ObjectAdapter.describe(key: key, quoted: false))"
    }
    var request = ServerRequest(operation: header.header.operation, objectKey: key, requestID: header.header.requestID,
                                responseExpected: header.header.responseExpected, arguments: args,
                                reply: take(&builder.writer), logger: logger)
    if let orb { request.environment = orb }
    do {
      let endTime = header.header.requestEndTime
      if header.header.serviceContexts.isEmpty && endTime == nil {
        try adapter.dispatch(&request, cache: &cache)
      } else {
        // A request whose deadline has passed is not started.
        if let endTime, RequestDeadline.nowTimeT() >= endTime {
          throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .no,
                         "\(header.header.operation): the caller's deadline passed before the request was started")
        }
        // Registered only if it carries the orphan context (a malformed one: MARSHAL).
        let running = try configuration.orphans?.begin(header.header.serviceContexts)
        defer { if let running { configuration.orphans?.end(running) } }
        try CurrentCall.with(contexts: header.header.serviceContexts, endTime: endTime, running: running) {
          try adapter.dispatch(&request, cache: &cache)
        }
      }
      builder.writer = take(&request.reply)
    } catch let error as RPCError {
      builder.writer = take(&request.reply)
      if error.code != .objectNotExist && error.code != .badOperation {
        logger.debug("system exception", metadata: ["operation": "\(request.operation)", "error": "\(error)"])
      }
      return exceptionReply(error, builder: &builder, statusOffset: statusOffset, bodyStart: bodyStart, responseExpected: header.header.responseExpected, buffer: &buffer)
    } catch let error as any UserException {
      builder.writer = take(&request.reply)
      guard header.header.responseExpected else {
        buffer = take(&builder.writer)
        return false
      }
      builder.writer.truncate(to: bodyStart)
      builder.writer.setUInt32(ReplyStatus.userException.rawValue, at: statusOffset)
      do {
        try builder.writer.writeString(type(of: error).repositoryID)
        try error.encode(to: &builder.writer)
      } catch {
        builder.writer.truncate(to: bodyStart)
        return exceptionReply(RPCError(.marshal, minor: CourierMinor.badBody, completion: .yes, "cannot marshal user exception"),
                              builder: &builder, statusOffset: statusOffset, bodyStart: bodyStart, responseExpected: true, buffer: &buffer)
      }
      return finish(&builder, buffer: &buffer)
    } catch let error as CDRError {
      builder.writer = take(&request.reply)
      return exceptionReply(RPCError(marshal: error), builder: &builder, statusOffset: statusOffset, bodyStart: bodyStart, responseExpected: header.header.responseExpected, buffer: &buffer)
    } catch {
      builder.writer = take(&request.reply)
      logger.warning("servant error", metadata: ["operation": "\(request.operation)", "error": "\(error)"])
      return exceptionReply(RPCError(.unknown, minor: CourierMinor.servantError, completion: .maybe, "\(error)"),
                            builder: &builder, statusOffset: statusOffset, bodyStart: bodyStart, responseExpected: header.header.responseExpected, buffer: &buffer)
    }
    guard header.header.responseExpected else {
      buffer = take(&builder.writer)
      return false
    }
    return finish(&builder, buffer: &buffer)
  }

  private func finish(_ builder: inout GIOPMessageBuilder, buffer: inout CDRWriter) -> Bool {
    builder.complete()
    buffer = take(&builder.writer)
    return true
  }

  private func exceptionReply(_ error: RPCError, builder: inout GIOPMessageBuilder, statusOffset: Int, bodyStart: Int,
                              responseExpected: Bool, buffer: inout CDRWriter) -> Bool {
    guard responseExpected else {
      buffer = take(&builder.writer)
      return false
    }
    builder.writer.truncate(to: min(bodyStart, builder.writer.count))
    builder.writer.setUInt32(ReplyStatus.systemException.rawValue, at: statusOffset)
    try? SystemExceptionBody(error).encode(to: &builder.writer)
    return finish(&builder, buffer: &buffer)
  }
}

/// Moves a writer's storage out, leaving an empty writer, so that the storage stays uniquely
/// referenced (writing to a shared buffer would copy it).
@inline(__always)
func take(_ writer: inout CDRWriter) -> CDRWriter {
  let taken = writer
  writer = CDRWriter(capacity: 0)
  return taken
}

/// The per-connection protocol state of a server: code sets chosen by the client, and what
/// to do with each incoming message. Pure: no I/O, tested without sockets.
public struct ServerSession: Sendable {
  /// What the connection should do with a message.
  public enum Action: Sendable {
    /// Dispatch a request.
    case request(DecodedRequest)
    /// Answer a LocateRequest.
    case locate(requestID: UInt32, key: [UInt8])
    /// Nothing to do (CancelRequest: requests run to completion; a late cancel is allowed).
    case ignore
    /// A protocol violation by the peer: MessageError, then close.
    case reject(String)
    /// The peer is going away (CloseConnection or MessageError from the client).
    case close
  }

  /// The transmission code sets: ISO 8859-1/UTF-16 until the client's CodeSets context says.
  public private(set) var codeSets = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)
  /// The object key of the last request: the next one to the same object reuses the array.
  private var lastObjectKey: [UInt8] = []

  public init() {}

  public mutating func handle(_ message: GIOPIncoming) -> Action {
    let version = message.header.version
    switch message.header.messageType {
    case .request:
      var r = message.bodyReader(codeSets: codeSets)
      do {
        let header = try RequestHeader.decode(from: &r, version: version, keyCache: &lastObjectKey)
        if let context = header.serviceContexts.first(where: { $0.id == ServiceContext.codeSetsID }),
           let chosen = try? context.decodeCodeSets() {
          codeSets = chosen
        }
        return .request(DecodedRequest(header: header, bodyStart: r.position))
      } catch {
        return .reject("undecodable Request header: \(error)")
      }
    case .locateRequest:
      var r = message.bodyReader()
      do {
        let id: UInt32 = try r.read()
        if version.minor >= 2 {
          let target = try TargetAddress.decode(from: &r, keyCache: &lastObjectKey)
          return .locate(requestID: id, key: target.objectKey ?? [])
        }
        return .locate(requestID: id, key: try r.readOctetSequence())
      } catch {
        return .reject("undecodable LocateRequest: \(error)")
      }
    case .cancelRequest:
      return .ignore
    case .closeConnection, .messageError:
      return .close
    case .reply, .locateReply:
      return .reject("\(message.header.messageType) sent to a server")
    case .fragment:
      return .reject("Fragment with nothing to continue")
    }
  }
}

/// A request header and where its body starts in the message.
public struct DecodedRequest: Sendable {
  public var header: RequestHeader
  public var bodyStart: Int
}

extension GIOPMessageBuilder {
  /// Starts a message in `buffer`'s storage (reusing its capacity).
  init(reusing buffer: inout CDRWriter, _ type: GIOPMessageType, version: GIOPVersion, codeSets: TransmissionCodeSets) {
    var w = buffer
    buffer = CDRWriter(capacity: 0)
    w.reset()
    w.giopMinor = version.minor
    w.codeSets = codeSets
    self.init(writer: consume w, version: version)  // consume: the storage must stay unique
    GIOPHeader.begin(type, version: version, writer: &writer)
  }
}
