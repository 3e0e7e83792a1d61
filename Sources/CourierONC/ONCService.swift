public import CourierWire
import Synchronization

/// The programs a server exports, and the protocol logic that turns one call record into one
/// reply record: header checks, credentials, program and version lookup, the null procedure,
/// the duplicate request cache, dispatch, and the mapping of errors to reply statuses. No I/O:
/// the transports (CourierNIO's `ONCServer`) read records and send what this writes.
///
/// Decisions, in the order RFC 5531 and libtirpc take them:
/// 1. A record that is not a call (a reply, a truncated header) is dropped: no reply.
/// 2. RPC version other than 2 → MSG_DENIED / RPC_MISMATCH (2, 2).
/// 3. Credentials: AUTH_NONE is accepted; AUTH_SYS is accepted when its body decodes
///    (AUTH_ERROR / AUTH_BADCRED otherwise); any other flavor → AUTH_ERROR / AUTH_REJECTEDCRED.
/// 4. Unknown program → PROG_UNAVAIL; known program, unknown version → PROG_MISMATCH with the
///    lowest and highest versions exported.
/// 5. Procedure 0 → SUCCESS with no results; others go to the dispatcher, whose errors map as
///    ``ONCProgramDispatcher`` says.
public final class ONCProgramRegistry: Sendable {
  private let table = Mutex<[UInt32: [UInt32: any ONCProgramDispatcher]]>([:])
  /// Bumped by every change of `table`: a ``LookupCache`` made before a change is not used after.
  private let generation = Atomic<UInt64>(1)

  public init() {}

  /// The last dispatcher one serving thread looked up. Each connection (or UDP thread) keeps
  /// one, so that the shared table's lock is not taken per call: measured, Swift's `Mutex`
  /// contended by 16 connection threads on one core spent 40% of the server's time spinning.
  public struct LookupCache: Sendable {
    var generation: UInt64 = 0
    var program: UInt32 = 0
    var version: UInt32 = 0
    var dispatcher: (any ONCProgramDispatcher)? = nil
    public init() {}
    init(generation: UInt64, program: UInt32, version: UInt32, dispatcher: any ONCProgramDispatcher) {
      self.generation = generation
      self.program = program
      self.version = version
      self.dispatcher = dispatcher
    }
  }

  /// Exports `dispatcher`'s program version (replacing one registered before).
  public func register(_ dispatcher: any ONCProgramDispatcher) {
    table.withLock { $0[dispatcher.program, default: [:]][dispatcher.version] = dispatcher }
    generation.add(1, ordering: .releasing)
  }

  /// Stops exporting a program version.
  public func unregister(program: UInt32, version: UInt32) {
    table.withLock {
      $0[program]?[version] = nil
      if $0[program]?.isEmpty == true { $0[program] = nil }
    }
    generation.add(1, ordering: .releasing)
  }

  /// Every exported (program, version), sorted.
  public var registeredVersions: [(program: UInt32, version: UInt32)] {
    table.withLock { t in
      t.flatMap { p, versions in versions.keys.map { (program: p, version: $0) } }
        .sorted { ($0.program, $0.version) < ($1.program, $1.version) }
    }
  }

  private enum Lookup {
    case found(any ONCProgramDispatcher)
    case noProgram
    case noVersion(low: UInt32, high: UInt32)
  }

  private func lookup(program: UInt32, version: UInt32) -> Lookup {
    table.withLock { t in
      guard let versions = t[program] else { return .noProgram }
      if let d = versions[version] { return .found(d) }
      return .noVersion(low: versions.keys.min() ?? 0, high: versions.keys.max() ?? 0)
    }
  }

  /// Serves the call in `record[start..<end]` and writes the reply record (no record mark) at
  /// the end of `reply`. Returns false when there is nothing to send: the record was not a
  /// well-formed call, or it duplicates one still running.
  ///
  /// - Parameters:
  ///   - cache: the duplicate request cache, for transports that need one (UDP).
  public func handle(
    _ record: [UInt8], start: Int, end: Int, transport: ONCTransportProtocol, client: ONCPeerAddress?,
    cache: DuplicateRequestCache? = nil, reply w: inout XDRWriter
  ) -> Bool {
    var lookupCache = LookupCache()
    return handle(record, start: start, end: end, transport: transport, client: client, cache: cache,
                  lookupCache: &lookupCache, reply: &w)
  }

  /// ``handle(_:start:end:transport:client:cache:reply:)`` with the serving thread's
  /// ``LookupCache``.
  public func handle(
    _ record: [UInt8], start: Int, end: Int, transport: ONCTransportProtocol, client: ONCPeerAddress?,
    cache: DuplicateRequestCache? = nil, lookupCache: inout LookupCache, reply w: inout XDRWriter
  ) -> Bool {
    var r = XDRReader(record, position: start, end: end)
    let xid: UInt32, program: UInt32, version: UInt32, procedure: UInt32, rpcVersion: UInt32
    let credential: OpaqueAuth
    do {
      xid = try r.read(UInt32.self)
      guard try r.read(UInt32.self) == 0 else { return false }  // not a CALL
      rpcVersion = try r.read(UInt32.self)
      program = try r.read(UInt32.self)
      version = try r.read(UInt32.self)
      procedure = try r.read(UInt32.self)
      credential = try OpaqueAuth.read(from: &r)
      _ = try OpaqueAuth.read(from: &r)  // the verifier: AUTH_NONE and AUTH_SYS do not check it
    } catch {
      return false
    }
    let replyStart = w.count
    guard rpcVersion == CallHeader.rpcVersion else {
      Self.writeReply(xid: xid, .rpcMismatch(low: 2, high: 2), into: &w)
      return true
    }
    var authSys: AuthSysParameters? = nil
    switch credential.flavor {
    case .none: break
    case .sys:
      guard let parameters = try? AuthSysParameters(credential) else {
        Self.writeReply(xid: xid, .authError(.badCredential), into: &w)
        return true
      }
      authSys = parameters
    default:
      Self.writeReply(xid: xid, .authError(.rejectedCredential), into: &w)
      return true
    }
    let dispatcher: any ONCProgramDispatcher
    let current = generation.load(ordering: .acquiring)
    if let cached = lookupCache.dispatcher, lookupCache.generation == current,
       lookupCache.program == program, lookupCache.version == version {
      dispatcher = cached
    } else {
      switch lookup(program: program, version: version) {
      case .found(let d):
        dispatcher = d
        lookupCache = LookupCache(generation: current, program: program, version: version, dispatcher: d)
      case .noProgram:
        Self.writeReply(xid: xid, .programUnavailable, into: &w)
        return true
      case .noVersion(let low, let high):
        Self.writeReply(xid: xid, .programMismatch(low: low, high: high), into: &w)
        return true
      }
    }

    var key: DuplicateRequestKey? = nil
    if let cache, let client {
      let checksum = record.withUnsafeBytes { DuplicateRequestKey.checksum(UnsafeRawBufferPointer(rebasing: $0[r.position..<end])) }
      let k = DuplicateRequestKey(xid: xid, client: client, program: program, version: version, procedure: procedure, checksum: checksum)
      switch cache.begin(k) {
      case .new: key = k
      case .inProgress: return false
      case .replay(let bytes):
        w.writeRaw(bytes)
        return true
      }
    }

    Self.writeSuccessHeader(xid: xid, into: &w)
    if procedure != 0 {
      let context = ONCCallContext(xid: xid, program: program, version: version, procedure: procedure, credential: credential,
                                   authSys: authSys, transport: transport, client: client)
      do {
        try dispatcher.dispatch(arguments: &r, results: &w, context: context)
      } catch {
        w.truncate(to: replyStart)
        let status: ONCReplyError
        switch error {
        case let e as ONCReplyError: status = e
        default: status = .systemError
        }
        Self.writeReply(xid: xid, status, into: &w)
      }
    }
    if let key, let cache {
      cache.finish(key, reply: w.withUnsafeBytes { Array($0[replyStart...]) })
    }
    return true
  }

  /// xid, REPLY, MSG_ACCEPTED, AUTH_NONE verifier, SUCCESS: 24 bytes; the results follow.
  @inlinable
  public static func writeSuccessHeader(xid: UInt32, into w: inout XDRWriter) {
    w.write(xid)
    w.write(UInt32(1))
    w.write(UInt32(0))
    w.write(UInt32(0))
    w.write(UInt32(0))
    w.write(UInt32(0))
  }

  /// A whole reply record answering `xid` with `status`.
  public static func writeReply(xid: UInt32, _ status: ONCReplyError, into w: inout XDRWriter) {
    // Cannot fail: the verifier is AUTH_NONE (an empty body).
    try! RPCMessageHeader(xid: xid, body: .reply(status.replyBody)).write(to: &w)
  }
}
