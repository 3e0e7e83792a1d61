public import CourierCore
public import CourierGIOP
import CourierNIO
import CourierWire
public import Distributed
public import Logging
import Dispatch
import Synchronization

/// A `DistributedActorSystem` on Courier's ORB: every distributed actor is a CORBA object.
///
/// - An actor's identity is an IOR (``CourierActorID``); a remote call is a GIOP request whose
///   operation name is derived from the method's name and labels (``OperationNaming``); the
///   arguments and the result are CDR, through `Codable` (or a type's own ``CDRCodable`` form).
/// - A distributed actor in an argument or result travels as its reference and arrives as a
///   proxy to the original, wherever it lives; `Codable` values arrive as copies.
/// - Distributed garbage collection by leases, as in Java RMI: a process holding a proxy holds a
///   lease on the actor (a *dirty* call when its first proxy appears, renewals at a third of
///   the lease period, a *clean* call when its last proxy goes). An actor no process holds is
///   released, and ``Unreferenced/unreferenced()`` runs. A process that writes a reference
///   into a message keeps a hold on the actor until the receiver has registered its lease.
///
/// ```swift
/// let system = try CourierActorSystem()
/// let list = ShapeList(actorSystem: system)
/// try system.checkIn(list, as: "shapes")          // through the naming service
/// // elsewhere:
/// let remote = try await system.lookup("shapes", as: ShapeList.self)
/// let shape = try await remote.newShape(g)        // a proxy to an actor in the first process
/// ```
public final class CourierActorSystem: DistributedActorSystem, Sendable {
  public typealias ActorID = CourierActorID
  public typealias InvocationEncoder = CourierInvocationEncoder
  public typealias InvocationDecoder = CourierInvocationDecoder
  public typealias ResultHandler = CourierResultHandler
  public typealias SerializationRequirement = any Codable

  /// How a system listens, leases and calls.
  public struct Configuration: Sendable {
    /// The address to listen on and to write into references.
    public var host = "127.0.0.1"
    /// The port to listen on; 0 picks a free one.
    public var port: UInt16 = 0
    /// The host written into references, if not ``host``.
    public var advertisedHost: String?
    /// How long a lease lasts without renewal. Holders renew at a third of it.
    public var leasePeriod: Duration = .seconds(60)
    /// How long a hold on a reference written into a message lasts when the receiver never
    /// acknowledges it (it died, or is a foreign ORB without distributed GC).
    public var transitHoldTimeout: Duration?
    /// Keep a hold on references written into messages until the receiver registered its
    /// lease. Turning this off brings back the seeds' race (for demonstrations only).
    public var transitHolds = true
    /// How long one distributed GC call (dirty, clean, acknowledgement) may take.
    public var dgcCallTimeout: Duration = .seconds(5)
    /// The ORB's configuration (initial references such as `NameService`, call options).
    public var orb = ORB.Configuration()
    /// The GIOP server's configuration. Requests on one connection are dispatched concurrently
    /// by default: actors order their own calls, and a long call must not hold up the lease
    /// renewals (or other calls) a client sends on the same connection.
    public var server: GIOPServer.Configuration = {
      var server = GIOPServer.Configuration()
      server.dispatchMode = .concurrent
      return server
    }()
    /// How outgoing connections are made (a fault-injecting connector in tests).
    public var connector: (any StreamConnector)?

    public init() {}

    /// The hold timeout in force: ``transitHoldTimeout`` or twice the lease period.
    var effectiveTransitHoldTimeout: Duration { transitHoldTimeout ?? leasePeriod * 2 }
  }

  public let configuration: Configuration
  /// The ORB that remote calls go through.
  public let orb: ORB
  /// The GIOP server actors of this system are reached at.
  public let server: GIOPServer
  /// This process's incarnation: 8 random bytes, part of every actor key and the holder id
  /// in leases.
  public let incarnation: [UInt8]
  let logger: Logger
  let errors = ErrorRegistry()
  let exports: ExportTable
  let leases: LeaseTable
  /// Keys pinned by ``checkIn(_:as:)``, by name.
  let checkedIn = Mutex<[String: [[UInt8]]]>([:])
  private let nextNumber = Atomic<UInt64>(1)
  private let maintenance: Maintenance

  /// Starts a system: a GIOP server on ``Configuration/host``:``Configuration/port`` and the
  /// lease maintenance thread.
  public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "courier.actors")) throws {
    self.configuration = configuration
    self.logger = logger
    var generator = SystemRandomNumberGenerator()
    incarnation = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
    orb = ORB(configuration: configuration.orb, connector: configuration.connector ?? TCPConnector(), logger: logger)
    let listener = try TCPListener(host: configuration.host, port: configuration.port)
    var serverConfiguration = configuration.server
    if serverConfiguration.advertisedHost == nil { serverConfiguration.advertisedHost = configuration.advertisedHost }
    server = GIOPServer(adapter: ObjectAdapter(), listener: listener, configuration: serverConfiguration, orb: orb, logger: logger)
    exports = ExportTable()
    leases = LeaseTable()
    maintenance = Maintenance()
    server.adapter.activate(DGCServant(system: self), key: DGCServant.objectKey)
    server.start()
    maintenance.start(system: self)
  }

  /// Stops the lease maintenance, the server and the ORB's connections. Leases this process
  /// holds are not cleaned: their owners let them expire.
  public func shutdown() {
    maintenance.stop()
    server.shutdown(timeout: .seconds(2))
    orb.shutdown()
  }

  /// The endpoint references of this system carry.
  public var endpoint: (host: String, port: UInt16) {
    (configuration.advertisedHost ?? configuration.host, server.port)
  }

  /// Lets errors of `type` thrown by distributed methods reach callers as themselves (register
  /// it on both sides); other errors arrive as ``RemoteActorError``.
  public func registerError<E: Error & Codable>(_ type: E.Type) {
    errors.register(type)
  }

  // MARK: - Identities

  public func assignID<Act: DistributedActor>(_ actorType: Act.Type) -> CourierActorID where Act.ID == CourierActorID {
    let number = nextNumber.add(1, ordering: .relaxed).oldValue
    let key = ActorKey.make(incarnation: incarnation, number: number)
    let typeID = (actorType as? any CourierRepositoryIdentified.Type)?.courierRepositoryID ?? Self.defaultRepositoryID(actorType)
    do {
      return try CourierActorID(ior: server.reference(key: key, typeID: typeID))
    } catch {
      fatalError("cannot make a reference for a new actor: \(error)")
    }
  }

  /// `IDL:Module/Type:1.0` for a Swift type `Module.Type`.
  static func defaultRepositoryID(_ type: Any.Type) -> String {
    "IDL:" + String(reflecting: type).split(separator: ".").joined(separator: "/") + ":1.0"
  }

  public func actorReady<Act: DistributedActor>(_ actor: Act) where Act.ID == CourierActorID {
    let servant = ActorServant(actor: actor, system: self)
    exports.add(key: actor.id.key, servant: servant)
    server.adapter.activate(servant, key: actor.id.key)
  }

  /// A local actor was deinitialized. (The runtime does not call this for proxies; the lease
  /// table notices a dropped proxy through its weak reference.)
  public func resignID(_ id: CourierActorID) {
    if isLocal(id) {
      exports.remove(key: id.key)
      server.adapter.deactivate(key: id.key)
    }
  }

  /// Set while ``resolve(id:as:)`` has the runtime make a proxy (so that the inner call
  /// returns nil, and the outer one gets the proxy to track).
  @TaskLocal static var makingProxy = false

  public func resolve<Act: DistributedActor>(id: CourierActorID, as actorType: Act.Type) throws -> Act?
  where Act.ID == CourierActorID {
    if isLocal(id) {
      guard let actor = exports.actor(key: id.key) else {
        throw CourierActorError(.actorGone, id: id, "\(id) no longer exists in this process")
      }
      guard let typed = actor as? Act else {
        throw CourierActorError(.unsupported, id: id, "\(id) is a \(type(of: actor)), not a \(Act.self)")
      }
      return typed
    }
    if Self.makingProxy { return nil }
    guard let system = self as? Act.ActorSystem else { return nil }
    let proxy = try Self.$makingProxy.withValue(true) { try Act.resolve(id: id, using: system) }
    if leases.retain(id, proxy: proxy) { register(id) }
    return proxy
  }

  /// True for identities of actors this system made.
  func isLocal(_ id: CourierActorID) -> Bool {
    guard let parts = id.courierParts else { return false }
    return parts.incarnation == incarnation && id.port == server.port
  }

  // MARK: - Remote calls

  public func makeInvocationEncoder() -> CourierInvocationEncoder {
    CourierInvocationEncoder(system: self)
  }

  public func remoteCall<Act: DistributedActor, Err: Error, Res: Codable>(
    on actor: Act, target: RemoteCallTarget, invocation: inout CourierInvocationEncoder,
    throwing: Err.Type, returning: Res.Type
  ) async throws -> Res where Act.ID == CourierActorID {
    let reply = try await call(on: actor, target: target, invocation: &invocation)
    let session = invocation.session
    let value: Res
    do {
      var decoder = CDRDecoder()
      decoder.userInfo = session.userInfo
      value = try decoder.decode(Res.self, from: &reply.body)
    } catch let e as CDRError {
      session.finishReceiving()
      throw RPCError(marshal: e, completion: .yes)
    }
    session.finishReceiving()
    return value
  }

  public func remoteCallVoid<Act: DistributedActor, Err: Error>(
    on actor: Act, target: RemoteCallTarget, invocation: inout CourierInvocationEncoder, throwing: Err.Type
  ) async throws where Act.ID == CourierActorID {
    _ = try await call(on: actor, target: target, invocation: &invocation)
  }

  /// Sends one call and waits for its reply body.
  private func call<Act: DistributedActor>(
    on actor: Act, target: RemoteCallTarget, invocation: inout CourierInvocationEncoder
  ) async throws -> ReplyBox where Act.ID == CourierActorID {
    if let failure = invocation.failure { throw failure }
    try ensureLease(actor.id)
    let operation = OperationDirectory.shared.wireName(for: target, on: Act.self)
    let reference = orb.object(actor.id.ior)
    var options = configuration.orb.defaultCallOptions
    options.argumentsPremarshalled = true
    let arguments = invocation.arguments
    do {
      return try await reference.invoke(operation, userExceptions: [SwiftErrorException.self], options: options) { w in
        w.writeRaw(arguments)
      }
    } catch let exception as SwiftErrorException {
      throw errors.error(for: exception)
    } catch let error as RPCError where error.code == .objectNotExist {
      leases.markGone(actor.id)
      throw CourierActorError(.actorGone, id: actor.id, "\(actor.id) no longer exists: \(error.message)")
    }
  }

  // MARK: - Serving calls

  /// Runs one incoming call on a local actor (called on the connection's thread, which waits).
  func serve<Act: DistributedActor>(_ request: inout ServerRequest, on actor: Act) throws where Act.ID == CourierActorID {
    let table = OperationDirectory.shared.table(for: Act.self)
    guard let operation = table.operations[request.operation] else {
      if let selectors = table.ambiguous[request.operation] {
        throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no,
                       "\(request.operation) names several methods of \(Act.self) (\(selectors.joined(separator: ", "))); pin names with CourierOperationNaming")
      }
      throw request.unknownOperation(interface: String(reflecting: Act.self))
    }
    let session = MarshalSession(system: self)
    let decoder = CourierInvocationDecoder(arguments: request.arguments, session: session)
    let reply = request.reply
    request.reply = CDRWriter(capacity: 0)  // the handler's copy is the only one: no copy on write
    let handler = CourierResultHandler(reply: reply, session: session)
    // The connection's thread waits while a task runs the call (the actor's executor orders it).
    let done = DispatchSemaphore(value: 0)
    let box = UncheckedBox(decoder)
    Task {
      var decoder = box.value
      do {
        try await self.executeDistributedTarget(
          on: actor, target: RemoteCallTarget(operation.mangledName), invocationDecoder: &decoder, handler: handler)
      } catch {
        handler.fail(error)
      }
      done.signal()
    }
    done.wait()
    session.finishReceiving()
    request.reply = handler.takeReply()
    if let failure = handler.failure { throw failure }
  }

  // MARK: - Leases, holder side

  /// Before a call: a proxy whose actor is gone, or whose lease was lost, fails at once.
  func ensureLease(_ id: CourierActorID) throws {
    switch leases.state(of: id) {
    case .gone(let reason):
      throw CourierActorError(.actorGone, id: id, "\(id) no longer exists: \(reason)")
    case .lost:
      // Renewals failed for longer than the lease: the owner may have released the actor, and
      // this proxy does not guess. Look the actor up again (an ActorBinding does so itself).
      throw CourierActorError(.leaseExpired, id: id,
                              "the lease on \(id) expired: this process could not renew it for longer than the lease period")
    case .registered, .registering, .none:
      return
    }
  }

  /// The serial queue distributed GC calls to `id`'s owner go through (ordered: a clean never
  /// overtakes the dirty before it).
  func dgcQueue(for id: CourierActorID) -> DispatchQueue {
    leases.queue(host: id.host, port: id.port)
  }

  func register(_ id: CourierActorID) {
    dgcQueue(for: id).async {
      switch self.dirtyNow([id]) {
      case .granted(let unknown):
        if unknown.contains(id) {
          self.leases.markGone(id, reason: "its process does not know it")
        } else {
          self.leases.confirmed([id])
        }
      case .failed(let error):
        self.logger.debug("dirty call failed", metadata: ["actor": "\(id)", "error": "\(error)"])
        self.leases.registrationFailed(id)
      }
      for mark in self.leases.takeAcks(id) { self.acknowledge(mark) }
    }
  }

  func clean(_ id: CourierActorID) {
    dgcQueue(for: id).async {
      let reference = self.dgcReference(host: id.host, port: id.port, like: id)
      do {
        _ = try reference.invoke("clean", options: self.dgcOptions) { w in
          w.writeOctetSequence(self.incarnation)
          w.write(UInt32(1))
          w.writeOctetSequence(id.key)
        }
      } catch {
        self.logger.debug("clean call failed (the lease will expire)", metadata: ["actor": "\(id)", "error": "\(error)"])
      }
    }
  }

  enum DirtyOutcome {
    case granted(unknown: [CourierActorID])
    case failed(any Error)
  }

  /// A dirty call (register or renew) for `ids`, which share an owner endpoint; blocking.
  func dirtyNow(_ ids: [CourierActorID]) -> DirtyOutcome {
    guard let first = ids.first else { return .granted(unknown: []) }
    let reference = dgcReference(host: first.host, port: first.port, like: first)
    let leaseMillis = UInt32(clamping: configuration.leasePeriod.milliseconds)
    do {
      var reply = try reference.invoke("dirty", options: dgcOptions) { w in
        w.writeOctetSequence(self.incarnation)
        w.write(UInt32(ids.count))
        for id in ids { w.writeOctetSequence(id.key) }
        w.write(leaseMillis)
      }
      let unknown = try reply.decode(orb: orb) { r -> [UInt32] in
        _ = try r.read(UInt32.self)  // the lease granted
        return try r.readSequence(minimumElementSize: 4) { try $0.read(UInt32.self) }
      }
      return .granted(unknown: unknown.compactMap { Int($0) < ids.count ? ids[Int($0)] : nil })
    } catch {
      return .failed(error)
    }
  }

  /// Releases the writer's hold named by `mark` (a oneway-like call to its DGC object).
  func acknowledge(_ mark: TransitMark) {
    if mark.incarnation == incarnation && mark.port == server.port {
      exports.releaseHold(mark.hold, system: self)
      leases.releaseHold(mark.hold, system: self)
      return
    }
    let queue = leases.queue(host: mark.host, port: mark.port)
    queue.async {
      let reference = self.dgcReference(host: mark.host, port: mark.port, like: nil)
      do {
        _ = try reference.invoke("ack", options: self.dgcOptions) { w in
          w.write(UInt32(1))
          w.write(mark.hold)
        }
      } catch {
        self.logger.debug("acknowledgement failed (the hold will time out)", metadata: ["error": "\(error)"])
      }
    }
  }

  var dgcOptions: CallOptions {
    var options = CallOptions()
    options.timeout = configuration.dgcCallTimeout
    return options
  }

  /// The DGC object of the process at `host`:`port`.
  func dgcReference(host: String, port: UInt16, like id: CourierActorID?) -> ObjectReference {
    let version = id?.ior.iiopProfiles.first?.version ?? .v1_2
    let profile = IIOPProfile(version: version, host: host, port: port, objectKey: DGCServant.objectKey)
    return orb.object((try? IOR(typeID: DGCServant.repositoryID, profile: profile)) ?? .null)
  }

  // MARK: - Death watch

  /// Runs `body` once when the actor behind `actor` (a proxy this process holds) is known to be
  /// gone: its process says so (a renewal or a call), or its lease could not be renewed for
  /// longer than the lease period. Returns a token for ``unwatch(_:)``.
  @discardableResult
  public func watchTermination<Act: DistributedActor>(
    of actor: Act, _ body: @escaping @Sendable (CourierActorID, String) -> Void
  ) -> UInt64 where Act.ID == CourierActorID {
    leases.watch(actor.id, body)
  }

  /// Stops a watch.
  public func unwatch(_ token: UInt64) {
    leases.unwatch(token)
  }

  // MARK: - Observation

  /// Actors of this system that some other process (or a hold, or a pin) keeps alive.
  public var exportedCount: Int { exports.referencedCount }

  /// Actors of this system that are alive (in the object adapter).
  public var liveActorCount: Int { exports.count }

  /// Remote actors this process holds leases on.
  public var heldLeaseCount: Int { leases.count }

  /// The processes (incarnations, hex) holding a lease on a local actor.
  public func leaseHolders<Act: DistributedActor>(of actor: Act) -> [String] where Act.ID == CourierActorID {
    exports.holders(key: actor.id.key)
  }
}

/// Moves a value across an isolation boundary whose other side is its only user meanwhile.
struct UncheckedBox<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

extension Duration {
  var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}
