public import CourierCore
public import CourierWire
public import Logging
import Synchronization
import Dispatch

/// Per-call options.
public struct CallOptions: Sendable, Hashable {
  /// How long to wait for the reply; nil waits forever. When it passes, the client sends
  /// CancelRequest and the call fails with `TIMEOUT`.
  public var timeout: Duration?
  /// Service contexts sent with every request (e.g. a credential for the binder's access lists);
  /// a servant reads them through ``IncomingCall/current``.
  public var serviceContexts: [ServiceContext]
  /// How often the server may run the call (``InvocationSemantics``). nil: as the operation
  /// declares it in IDL (`#pragma courier semantics`, ``ObjectReference/invoke(_:userExceptions:options:declared:arguments:)``),
  /// else the ORB's default, else `.maybe`. Precedence: call, reference, IDL, ORB.
  public var semantics: InvocationSemantics?
  /// With retrying semantics: send again when no reply came within this long (over TCP a
  /// reply is lost only with its connection, so by default only a broken connection resends).
  public var retransmitAfter: Duration?
  /// Set by the retrying loop for at-most-once calls: written in place into the request.
  var ftRequest: FTRequestContext?
  var acknowledgement: ReplyAcknowledgement?
  /// The arguments were marshalled ahead at an 8-aligned origin (an exactly-once call's logged
  /// bytes, a distributed actor call's encoded arguments): GIOP 1.0 and 1.1 requests then pad
  /// their header so that the body starts 8-aligned too, as GIOP 1.2's always does (see
  /// ``RequestHeader/encode(requestID:responseExpected:objectKey:operation:serviceContexts:requestEndTime:ftRequest:acknowledgement:alignBody:to:version:)``).
  public var argumentsPremarshalled = false
  /// Set by the retrying loop: the whole call's end time (TimeBase::TimeT), which the request
  /// carries; ``timeout`` is then only how long this attempt waits before sending again.
  var callEndTime: UInt64?

  public init(timeout: Duration? = nil, serviceContexts: [ServiceContext] = [], semantics: InvocationSemantics? = nil,
              retransmitAfter: Duration? = nil) {
    self.timeout = timeout
    self.serviceContexts = serviceContexts
    self.semantics = semantics
    self.retransmitAfter = retransmitAfter
  }
}

/// The client half of the ORB: connections per endpoint, shared by every reference and
/// every caller, and the invocation loop (request, reply, exceptions, LOCATION_FORWARD).
///
/// ```swift
/// let orb = ORB(connector: TCPConnector())
/// let echo = try orb.object("corbaloc::127.0.0.1:2809/Echo")
/// var reply = try echo.invoke("add") { w in w.write(Int64(2)); w.write(Int64(40)) }
/// let sum: Int64 = try reply.read()
/// ```
public final class ORB: Sendable {
  /// ORB-wide settings.
  public struct Configuration: Sendable {
    /// The highest GIOP version this ORB speaks as a client (requests use the lower of this
    /// and the target profile's version).
    public var maxGIOPVersion: GIOPVersion = .v1_2
    /// The largest message accepted from a server.
    public var maxMessageSize: Int = 64 * 1024 * 1024
    /// Options for calls that give none.
    public var defaultCallOptions = CallOptions()
    /// How long connecting may take.
    public var connectTimeout: Duration = .seconds(10)
    /// At most this many LOCATION_FORWARD hops per call.
    public var maxForwards = 8
    /// Initial references by name (`NameService` → `corbaloc::host:2809/NameService`), as
    /// omniORB's `-ORBInitRef NameService=…`.
    public var initialReferences: [String: String] = [:]
    /// Where names without an initial reference are looked up: `<this>/<name>`, as omniORB's
    /// `-ORBDefaultInitRef corbaloc::host:2809`.
    public var defaultInitialReference: String?
    /// A connection idle longer than this is checked (one non-blocking peek) for a close by
    /// the server before a call reuses it; back-to-back calls skip the check.
    public var idleProbeAfter: Duration = .milliseconds(1)
    /// This client's identity in at-most-once requests (FT_REQUEST's client_id); random per
    /// ORB by default. Give a stable one to keep it across restarts.
    public var clientID: String?
    /// The client's safe storage for exactly-once calls (`CourierDurable.SQLiteCallLog`): its
    /// identity and the calls not yet answered, so that they are retried after a restart
    /// (``ORB/resumeUnfinishedCalls()``). Exactly-once calls fail with BAD_INV_ORDER without it.
    public var callLog: (any DurableCallLog)?
    /// How this client's orphans are handled if it crashes during a call (``OrphanPolicy``):
    /// nil (the default) sends no orphan context.
    public var orphans: OrphanPolicy?

    public init() {}

    /// Takes `-ORBInitRef NAME=URL` and `-ORBDefaultInitRef URL` out of `arguments` (returning
    /// the others), then adds `COURIER_INITREF_<NAME>` and `COURIER_DEFAULT_INITREF` from
    /// `environment` for names the arguments did not set.
    public mutating func apply(arguments: [String], environment: [String: String] = [:]) -> [String] {
      var rest: [String] = []
      var i = 0
      while i < arguments.count {
        let a = arguments[i]
        if a == "-ORBInitRef", i + 1 < arguments.count, let eq = arguments[i + 1].firstIndex(of: "=") {
          let pair = arguments[i + 1]
          initialReferences[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
          i += 2
        } else if a == "-ORBDefaultInitRef", i + 1 < arguments.count {
          defaultInitialReference = arguments[i + 1]
          i += 2
        } else {
          rest.append(a)
          i += 1
        }
      }
      for (key, value) in environment where key.hasPrefix("COURIER_INITREF_") {
        let name = String(key.dropFirst("COURIER_INITREF_".count))
        if initialReferences[name] == nil { initialReferences[name] = value }
      }
      if defaultInitialReference == nil { defaultInitialReference = environment["COURIER_DEFAULT_INITREF"] }
      return rest
    }
  }

  public let configuration: Configuration
  let connector: any StreamConnector
  let logger: Logger
  private let connections = Mutex<[String: GIOPClientConnection]>([:])
  /// Identity and numbering of at-most-once calls.
  let atMostOnce: AtMostOnceClient
  /// Numbering of exactly-once calls: the call log's identity and ids (nil without a log).
  let exactlyOnce: AtMostOnceClient?
  /// Orphan handling, with ``Configuration/orphans``.
  let orphans: OrphanClient?

  public init(configuration: Configuration = Configuration(), connector: any StreamConnector,
              logger: Logger = Logger(label: "courier.orb")) {
    self.configuration = configuration
    self.connector = connector
    self.logger = logger
    self.atMostOnce = AtMostOnceClient(clientID: configuration.clientID)
    self.exactlyOnce = configuration.callLog.map { log in
      let client = AtMostOnceClient(clientID: log.clientID)
      // Calls left from before a restart stay outstanding: no acknowledgement may cover them.
      for call in (try? log.unfinished()) ?? [] { client.adopt(call.retentionID) }
      return client
    }
    self.orphans = configuration.orphans.map { OrphanClient(policy: $0, connector: connector, logger: logger) }
  }

  /// A reference from a stringified IOR (`IOR:…`) or a `corbaloc:` URL.
  /// A reference from `IOR:…`, `corbaloc:…`, or `corbaname:…#a/b/c` (resolved now through the
  /// naming context the URL names, with `resolve_str`).
  public func object(_ text: String) throws -> ObjectReference {
    let trimmed = text.trimmingWhitespace()
    if trimmed.lowercased().hasPrefix("corbaname:") {
      return try resolveCorbaname(trimmed)
    }
    do {
      if trimmed.lowercased().hasPrefix("corbaloc:") { return ObjectReference(ior: try Corbaloc(trimmed).ior(), orb: self) }
      return ObjectReference(ior: try IOR(stringified: trimmed), orb: self)
    } catch let e as CDRError {
      throw RPCError(.badParam, minor: 0, completion: .no, "not an object reference: \(e.message)", cause: e)
    }
  }

  /// A reference for an IOR.
  public func object(_ ior: IOR) -> ObjectReference { ObjectReference(ior: ior, orb: self) }

  /// The initial reference `name` (`NameService`): from ``Configuration/initialReferences``,
  /// else ``Configuration/defaultInitialReference`` + `/name`; `INV_OBJREF` if neither says.
  public func resolveInitialReferences(_ name: String) throws -> ObjectReference {
    if let url = configuration.initialReferences[name] { return try object(url) }
    if let base = configuration.defaultInitialReference { return try object(base + "/" + name) }
    throw RPCError(.invObjref, minor: 0, completion: .no,
                   "no initial reference \(name): give -ORBInitRef \(name)=corbaloc::host:port/\(name) or COURIER_INITREF_\(name)")
  }

  /// `corbaname:<corbaloc address list>[/key]#<stringified name>` (Interoperable Naming Service).
  func resolveCorbaname(_ url: String) throws -> ObjectReference {
    let body = url.dropFirst("corbaname:".count)
    let (location, name) = body.firstIndex(of: "#").map { (body[..<$0], String(body[body.index(after: $0)...])) } ?? (body, "")
    var loc = String(location)
    // The key defaults to NameService.
    if let slash = loc.firstIndex(of: "/") {
      if loc[loc.index(after: slash)...].isEmpty { loc += "NameService" }
    } else {
      loc += "/NameService"
    }
    let context = try object("corbaloc:" + loc)
    let decoded = name.removingPercentEscapes()
    guard !decoded.isEmpty else { return context }
    var reply = try context.invoke("resolve_str") { w in try w.writeString(decoded) }
    guard let resolved = try reply.decode(orb: self, { r in try r.readObjectReference() }) else {
      throw RPCError(.invObjref, minor: 0, completion: .yes, "\(url) names a nil reference")
    }
    return resolved
  }

  /// The shared connection to a profile's endpoint, opened on first use and reopened after
  /// it broke.
  func connection(to profile: IIOPProfile) throws(RPCError) -> GIOPClientConnection {
    let version = min(profile.version, configuration.maxGIOPVersion)
    let key = "\(profile.host):\(profile.port)/\(version.minor)"
    if let existing = connections.withLock({ $0[key] }), !existing.isBroken { return existing }
    let stream: any ByteStream
    do {
      stream = try connector.connect(host: profile.host, port: profile.port,
                                     deadline: .now + configuration.connectTimeout)
    } catch {
      throw RPCError(.transient, minor: CourierMinor.connectFailed, completion: .no,
                     "cannot connect to \(profile.host):\(profile.port): \(error.message)", cause: error)
    }
    let negotiated: TransmissionCodeSets
    let announce: Bool
    if version.minor >= 1, let info = profile.codeSets {
      negotiated = info.negotiated()
      announce = true
    } else {
      // No code set component: CORBA's fallback is ISO 8859-1 for char.
      negotiated = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)
      announce = false
    }
    let fresh = GIOPClientConnection(stream: stream, version: version, codeSets: negotiated, announceCodeSets: announce,
                                     maxMessageSize: configuration.maxMessageSize, idleProbeAfter: configuration.idleProbeAfter)
    let (chosen, loser) = connections.withLock { table -> (GIOPClientConnection, GIOPClientConnection?) in
      if let other = table[key], !other.isBroken { return (other, fresh) }
      table[key] = fresh
      return (fresh, nil)
    }
    loser?.close()
    logger.debug("connected", metadata: ["peer": "\(profile.host):\(profile.port)", "giop": "\(version)"])
    return chosen
  }

  /// Closes every client connection.
  public func shutdown() {
    let all = connections.withLock { table in
      defer { table.removeAll() }
      return Array(table.values)
    }
    for c in all { c.close() }
    orphans?.shutdown()
  }
}

/// A reply body, positioned at the result.
public struct Reply: ~Copyable {
  /// The marshalled result, then `out` and `inout` values.
  public var body: CDRReader
  /// The connection the reply came on: it gets the bytes back for its next reply.
  let connection: GIOPClientConnection?

  /// A reply over `body` (for tests and hand-made replies).
  public init(body: CDRReader) {
    self.body = body
    self.connection = nil
  }

  init(body: CDRReader, connection: GIOPClientConnection) {
    self.body = body
    self.connection = connection
  }

  deinit {
    connection?.returnReplyBuffer(body.storage)
  }

  /// Reads the next value of the reply.
  @inlinable
  public mutating func read<T: CDRDecodable>(_: T.Type = T.self) throws(RPCError) -> T {
    do { return try T(from: &body) } catch let e as CDRError {
      throw RPCError(marshal: e, completion: .yes)
    } catch {
      throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .yes, "\(error)")
    }
  }
}

/// A remote object reference: the IOR, and the target that LOCATION_FORWARD replies moved it
/// to. Calls through it go over the ORB's shared connections.
public final class ObjectReference: Sendable, CustomStringConvertible {
  /// The reference as it was given.
  public let ior: IOR
  /// The ORB calls through this reference use.
  public let orb: ORB
  private let forwarded = Mutex<IOR?>(nil)
  /// The parsed target profile and its connection, so a call parses nothing and looks
  /// nothing up (cleared by a forward; a broken connection is replaced).
  private let cachedTarget = Mutex<Target?>(nil)
  /// Options for calls through this reference that give none (a per-reference timeout).
  public let defaultOptions: CallOptions?

  init(ior: IOR, orb: ORB, defaultOptions: CallOptions? = nil) {
    self.ior = ior
    self.orb = orb
    self.defaultOptions = defaultOptions
  }

  /// The same object with other default call options (e.g. a per-reference timeout).
  public func with(options: CallOptions) -> ObjectReference {
    ObjectReference(ior: ior, orb: orb, defaultOptions: options)
  }

  public var description: String { ior.description }

  /// The IOR calls currently go to (after any LOCATION_FORWARD).
  public var effectiveIOR: IOR { forwarded.withLock { $0 } ?? ior }

  /// Invokes `operation` and waits for its reply.
  ///
  /// - Parameters:
  ///   - operation: the operation name (`_get_name` for an attribute).
  ///   - userExceptions: the user exceptions the operation raises, to decode replies with
  ///     status USER_EXCEPTION.
  ///   - options: per-call options; the reference's, then the ORB's, by default.
  ///   - arguments: writes the `in` and `inout` arguments.
  ///   - declared: the semantics the IDL declares for the operation (generated stubs pass it);
  ///     call and reference options override it.
  /// - Returns: the reply body.
  /// - Throws: ``RPCError`` for system exceptions and failures; one of `userExceptions`.
  public func invoke(
    _ operation: String, userExceptions: [any UserException.Type] = [], options: CallOptions? = nil,
    declared: InvocationSemantics? = nil,
    arguments: (inout CDRWriter) throws -> Void = { _ in }
  ) throws -> Reply {
    var effective = options ?? defaultOptions ?? orb.configuration.defaultCallOptions
    let semantics = semantics(options: options, declared: declared)
    if semantics != .maybe {
      effective.semantics = semantics
      return try invokeRetrying(operation, userExceptions: userExceptions, options: effective, arguments: arguments)
    }
    return try invokeOnce(operation, userExceptions: userExceptions, options: options, arguments: arguments)
  }

  /// The semantics a call gets: the call's options, the reference's, the IDL's, the ORB's.
  func semantics(options: CallOptions?, declared: InvocationSemantics?) -> InvocationSemantics {
    options?.semantics ?? defaultOptions?.semantics ?? declared ?? orb.configuration.defaultCallOptions.semantics ?? .maybe
  }

  /// One invocation (following LOCATION_FORWARD), with no retry.
  func invokeOnce(
    _ operation: String, userExceptions: [any UserException.Type], options: CallOptions?,
    attemptDeadline: ContinuousClock.Instant? = nil, arguments: (inout CDRWriter) throws -> Void
  ) throws -> Reply {
    for _ in 0...orb.configuration.maxForwards {
      let call = try send(operation, responseExpected: true, options: options, attemptDeadline: attemptDeadline, arguments: arguments)
      switch try call.outcome(userExceptions: userExceptions, recycle: true) {
      case .reply(let body): return Reply(body: body, connection: call.connection)
      case .forward(let ior): forward(to: ior)
      }
    }
    throw RPCError(.transient, minor: CourierMinor.forwardLoop, completion: .no, "too many LOCATION_FORWARD hops")
  }

  /// Sends a oneway call: no reply, no error from the server (only local failures).
  public func invokeOneway(_ operation: String, arguments: (inout CDRWriter) throws -> Void = { _ in }) throws {
    _ = try send(operation, responseExpected: false, options: nil, arguments: arguments)
  }

  /// Starts a two-way call and returns at once (deferred synchronous invocation): collect
  /// the reply later with ``PendingCall/wait(userExceptions:)`` or ``PendingCall/reply(userExceptions:)``.
  public func invokeDeferred(
    _ operation: String, options: CallOptions? = nil,
    arguments: @escaping @Sendable (inout CDRWriter) throws -> Void = { _ in }
  ) throws -> PendingCall {
    let call = PendingCall(try send(operation, responseExpected: true, options: options, arguments: arguments), reference: self)
    call.resend = { [self] in
      PendingCall(try self.send(operation, responseExpected: true, options: options, arguments: arguments), reference: self)
    }
    return call
  }

  /// Invokes `operation` from async code; the blocking wait runs off the cooperative pool.
  public func invoke(
    _ operation: String, userExceptions: [any UserException.Type] = [], options: CallOptions? = nil,
    declared: InvocationSemantics? = nil,
    arguments: @escaping @Sendable (inout CDRWriter) throws -> Void = { _ in }
  ) async throws -> ReplyBox {
    var effective = options ?? defaultOptions ?? orb.configuration.defaultCallOptions
    let semantics = semantics(options: options, declared: declared)
    if semantics != .maybe {
      effective.semantics = semantics
      let effective = effective
      // Retrying waits and sleeps: off the cooperative pool, on a thread of GCD's.
      let exceptions = UnsafeSendableBox(userExceptions)
      let hold = OutcomeHold.current
      return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ReplyBox, any Error>) in
        DispatchQueue.global().async {
          do {
            let reply = try OutcomeHold.$current.withValue(hold) { () throws -> ReplyBox in
              ReplyBox(body: try self.invokeRetrying(operation, userExceptions: exceptions.value, options: effective, arguments: arguments).body)
            }
            continuation.resume(returning: reply)
          } catch {
            continuation.resume(throwing: error)
          }
        }
      }
    }
    let pending = try invokeDeferred(operation, options: options, arguments: arguments)
    return try await pending.reply(userExceptions: userExceptions)
  }

  /// Marshals and sends one request; for a two-way call the result says where to wait.
  func send(
    _ operation: String, responseExpected: Bool, options: CallOptions?, attemptDeadline: ContinuousClock.Instant? = nil,
    arguments: (inout CDRWriter) throws -> Void
  ) throws -> SentCall {
    let effective = options ?? defaultOptions ?? orb.configuration.defaultCallOptions
    var deadline = attemptDeadline ?? effective.timeout.map { ContinuousClock.now + $0 }
    // The deadline travels as a RequestEndTimePolicy; a call made while serving a request
    // inherits the request's.
    var endTime = effective.callEndTime ?? effective.timeout.map { RequestDeadline.nowTimeT() &+ RequestDeadline.ticks($0) }
    if let inherited = CurrentCall.peek?.endTime, endTime.map({ inherited < $0 }) ?? true {
      endTime = inherited
      deadline = RequestDeadline.instant(inherited)
    }
    if let deadline, ContinuousClock.now >= deadline {
      throw RPCError(.timeout, minor: CourierMinor.deadlineExceeded, completion: .no, "\(operation): the deadline passed before the call was sent")
    }
    if responseExpected, let orphans = orb.orphans { try orphans.startIfNeeded() }
    let (target, ticket) = try begin(expectReply: responseExpected)
    let connection = target.connection
    var builder = GIOPMessageBuilder(.request, version: connection.version, codeSets: connection.codeSets,
                                     reusing: connection.takeBuffer())
    var orphan: OrphanClient.Call?  // the call's orphan context, logged or renewed until its outcome
    do {
      if responseExpected, let orphans = orb.orphans { orphan = try orphans.begin(host: target.profile.host, port: target.profile.port) }
      var contexts: [ServiceContext] = ticket.sendCodeSets ? [.codeSets(connection.codeSets)] + effective.serviceContexts : effective.serviceContexts
      if let orphan { contexts.append(orphan.serviceContext) }
      try RequestHeader.encode(
        requestID: ticket.requestID, responseExpected: responseExpected, objectKey: target.profile.objectKey,
        operation: operation,
        serviceContexts: contexts,
        requestEndTime: endTime, ftRequest: effective.ftRequest, acknowledgement: effective.acknowledgement,
        alignBody: effective.argumentsPremarshalled, to: &builder.writer, version: connection.version)
      builder.beginBody()
      try arguments(&builder.writer)
    } catch {
      connection.abandon(ticket.requestID)
      orphan?.end()
      if let e = error as? CDRError {
        throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .no, "cannot marshal \(operation): \(e.message)", cause: e)
      }
      throw error
    }
    builder.complete()
    do { try connection.transmit(take(&builder.writer)) } catch {
      orphan?.end()
      throw error
    }
    return SentCall(connection: connection, requestID: ticket.requestID, waiter: ticket.waiter, deadline: deadline,
                    operation: operation, orphan: orphan)
  }

  /// The target and a request slot on its connection; when the server had closed the idle
  /// connection (nothing was sent), a new connection.
  func begin(expectReply: Bool) throws -> (Target, GIOPClientConnection.Ticket) {
    let first = try target()
    do {
      return (first, try first.connection.begin(expectReply: expectReply))
    } catch {
      guard error.minor == CourierMinor.idleConnectionClosed else { throw error }
      let second = try target()
      return (second, try second.connection.begin(expectReply: expectReply))
    }
  }

  func forward(to ior: IOR) {
    forwarded.withLock { $0 = ior }
    cachedTarget.withLock { $0 = nil }
  }

  /// Where calls go now: the cached profile and connection, or (after a forward or a broken
  /// connection) the effective IOR's first IIOP profile and a fresh connection.
  func target() throws -> Target {
    if let cached = cachedTarget.withLock({ $0 }), !cached.connection.isBroken { return cached }
    guard let profile = effectiveIOR.iiopProfiles.first else {
      throw RPCError(.invObjref, minor: CourierMinor.noUsableProfile, completion: .no, "reference has no IIOP profile")
    }
    let target = Target(profile: profile, connection: try orb.connection(to: profile))
    cachedTarget.withLock { $0 = target }
    return target
  }

  /// A profile and its connection, in one object so that a call retains one reference.
  final class Target: Sendable {
    let profile: IIOPProfile
    let connection: GIOPClientConnection
    init(profile: IIOPProfile, connection: GIOPClientConnection) {
      self.profile = profile
      self.connection = connection
    }
  }
}

/// A reply in a box, for async callers (a noncopyable value cannot cross `await` here).
public final class ReplyBox: @unchecked Sendable {
  // @unchecked: handed from the waiting thread to the awaiting task once, then owned by it.
  public var body: CDRReader
  init(body: CDRReader) { self.body = body }

  /// Reads the next value of the reply.
  public func read<T: CDRDecodable>(_: T.Type = T.self) throws(RPCError) -> T {
    do { return try T(from: &body) } catch let e as CDRError {
      throw RPCError(marshal: e, completion: .yes)
    } catch {
      throw RPCError(.marshal, minor: CourierMinor.badBody, completion: .yes, "\(error)")
    }
  }
}

/// A request on the wire: where its reply will come (for two-way calls).
struct SentCall {
  let connection: GIOPClientConnection
  let requestID: UInt32
  let waiter: GIOPClientConnection.Waiter?
  let deadline: ContinuousClock.Instant?
  let operation: String
  /// With an orphan policy: the call's orphan bookkeeping, ended with the outcome.
  var orphan: OrphanClient.Call? = nil

  /// Waits for this call's own reply and interprets it.
  /// - Parameter recycle: nobody will wait for this call again, so its waiter may serve another.
  func outcome(userExceptions: [any UserException.Type], recycle: Bool = false) throws -> PendingCall.Outcome {
    defer { orphan?.end() }
    guard let waiter else { throw RPCError(.internal, "waiting for the reply of a oneway call") }
    let message = try connection.wait(for: requestID, waiter: waiter, deadline: deadline, recycle: recycle)
    return try PendingCall.interpret(message, codeSets: connection.codeSets, userExceptions: userExceptions, operation: operation)
  }
}

/// A two-way call that was sent and whose reply has not been collected yet.
public final class PendingCall: @unchecked Sendable {
  // @unchecked: immutable except `resend`, set once before the call is handed out.
  let sent: SentCall
  let reference: ObjectReference
  var resend: (() throws -> PendingCall)?

  init(_ sent: SentCall, reference: ObjectReference) {
    self.sent = sent
    self.reference = reference
  }

  /// Blocks until the reply is in; follows LOCATION_FORWARD (sending the call again).
  public func wait(userExceptions: [any UserException.Type] = []) throws -> Reply {
    var call = self
    for _ in 0...reference.orb.configuration.maxForwards {
      switch try call.sent.outcome(userExceptions: userExceptions) {
      case .reply(let body):
        return Reply(body: body, connection: sent.connection)
      case .forward(let ior):
        reference.forward(to: ior)
        guard let resend else {
          throw RPCError(.transient, minor: 0, completion: .no, "LOCATION_FORWARD for a call that cannot be sent again")
        }
        call = try resend()
      }
    }
    throw RPCError(.transient, minor: CourierMinor.forwardLoop, completion: .no, "too many LOCATION_FORWARD hops")
  }

  /// Waits from async code (on a thread outside the cooperative pool).
  public func reply(userExceptions: [any UserException.Type] = []) async throws -> ReplyBox {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ReplyBox, any Error>) in
      let exceptions = UnsafeSendableBox(userExceptions)
      DispatchQueue.global().async {
        do {
          let reply = try self.wait(userExceptions: exceptions.value)
          continuation.resume(returning: ReplyBox(body: reply.body))
        } catch {
          continuation.resume(throwing: error)
        }
      }
    }
  }

  enum Outcome {
    case reply(CDRReader)
    case forward(IOR)
  }

  static func interpret(_ message: GIOPIncoming, codeSets: TransmissionCodeSets, userExceptions: [any UserException.Type], operation: String) throws -> Outcome {
    var r = message.bodyReader(codeSets: codeSets)
    if message.header.messageType == .locateReply {
      throw RPCError(.internal, "LocateReply where a Reply was expected")
    }
    let header: ReplyHeader
    do { header = try ReplyHeader.decode(from: &r, version: message.header.version) } catch let e as CDRError {
      throw RPCError(marshal: e, completion: .maybe)
    }
    do {
      switch header.status {
      case .noException:
        return .reply(r)
      case .systemException:
        throw try SystemExceptionBody.decode(from: &r).error
      case .userException:
        var peek = r
        let id = try peek.readString()
        guard let type = userExceptions.first(where: { $0.repositoryID == id }) else {
          throw RPCError(.unknown, minor: CourierMinor.undeclaredUserException, completion: .yes,
                         "\(operation) raised user exception \(id), which it does not declare")
        }
        _ = try r.readString()
        throw try type.init(from: &r)
      case .locationForward, .locationForwardPerm:
        return .forward(try IOR(from: &r))
      case .needsAddressingMode:
        throw RPCError(.noImplement, minor: 0, completion: .no, "server asked for another addressing mode")
      }
    } catch let e as CDRError {
      throw RPCError(marshal: e, completion: .yes)
    }
  }
}

/// Carries a non-Sendable value to another thread that is its only user.
struct UnsafeSendableBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

extension ObjectReference {
  /// Asks the object whether it supports `repositoryID` (`_is_a`).
  public func isA(_ repositoryID: String, options: CallOptions? = nil) throws -> Bool {
    var reply = try invoke("_is_a", options: options) { w in try w.writeString(repositoryID) }
    return try reply.read(Bool.self)
  }

  /// Asks whether the object is gone (`_non_existent`): true if the server has no such object.
  public func nonExistent(options: CallOptions? = nil) throws -> Bool {
    var reply = try invoke("_non_existent", options: options)
    return try reply.read(Bool.self)
  }

  /// Narrows to `repositoryID`: returns the reference if its type id says so, else asks the
  /// object with `_is_a`; throws `BAD_PARAM` if the object is of another type.
  public func narrow(to repositoryID: String) throws -> ObjectReference {
    if ior.typeID == repositoryID { return self }
    guard try isA(repositoryID) else {
      throw RPCError(.badParam, minor: 0, completion: .no, "object is not a \(repositoryID)")
    }
    return self
  }
}

extension String {
  /// `%xx` escapes decoded (an invalid escape is kept as written).
  func removingPercentEscapes() -> String {
    var out: [UInt8] = []
    var bytes = Array(utf8)[...]
    while let b = bytes.popFirst() {
      if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
        out.append(v)
        bytes = bytes.dropFirst(2)
      } else {
        out.append(b)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
