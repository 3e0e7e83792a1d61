public import CourierWire

// ONC RPC version 2 messages (RFC 5531 §9): the header of every call and reply. The
// procedure's arguments or results follow the header in the same record, in XDR.

/// An authentication flavor (`auth_flavor`). An open set: servers answer unknown flavors
/// with AUTH_ERROR / AUTH_BADCRED or AUTH_REJECTEDCRED rather than failing to decode.
public struct AuthFlavor: RawRepresentable, Sendable, Hashable {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }
  public static let none = AuthFlavor(rawValue: 0)
  public static let sys = AuthFlavor(rawValue: 1)
  public static let short = AuthFlavor(rawValue: 2)
  public static let dh = AuthFlavor(rawValue: 3)
  public static let rpcsecGSS = AuthFlavor(rawValue: 6)
}

/// `opaque_auth`: a flavor and at most 400 bytes of body.
public struct OpaqueAuth: Sendable, Hashable {
  /// RFC 5531: "opaque body<400>".
  public static let maximumBody = 400
  public var flavor: AuthFlavor
  public var body: [UInt8]
  public init(flavor: AuthFlavor, body: [UInt8] = []) {
    self.flavor = flavor
    self.body = body
  }
  /// AUTH_NONE with an empty body.
  public static let none = OpaqueAuth(flavor: .none)

  func write(to w: inout XDRWriter) throws {
    w.write(flavor.rawValue)
    try w.writeOpaque(body, maximum: Self.maximumBody)
  }
  static func read(from r: inout XDRReader) throws -> OpaqueAuth {
    OpaqueAuth(flavor: AuthFlavor(rawValue: try r.read(UInt32.self)), body: try r.readOpaque(maximum: maximumBody))
  }
}

/// AUTH_SYS credentials (RFC 5531 appendix A, `authsys_parms`).
public struct AuthSysParameters: Sendable, Hashable {
  public var stamp: UInt32
  /// At most 255 bytes.
  public var machineName: String
  public var uid: UInt32
  public var gid: UInt32
  /// At most 16 groups.
  public var gids: [UInt32]

  public init(stamp: UInt32 = 0, machineName: String, uid: UInt32, gid: UInt32, gids: [UInt32] = []) {
    self.stamp = stamp
    self.machineName = machineName
    self.uid = uid
    self.gid = gid
    self.gids = gids
  }

  /// The credential carrying these parameters.
  public func credential() throws -> OpaqueAuth {
    var w = XDRWriter(capacity: 64)
    w.write(stamp)
    try w.writeString(machineName, maximum: 255)
    w.write(uid)
    w.write(gid)
    guard gids.count <= 16 else { throw XDRError(.lengthTooLarge, at: w.count, "AUTH_SYS gids: \(gids.count) groups, at most 16") }
    w.write(UInt32(gids.count))
    for g in gids { w.write(g) }
    return OpaqueAuth(flavor: .sys, body: w.finishedBytes())
  }

  /// Decodes the body of an AUTH_SYS credential (the whole body must be used).
  public init(_ credential: OpaqueAuth) throws {
    guard credential.flavor == .sys else { throw XDRError(.invalidEnum, at: 0, "not an AUTH_SYS credential (flavor \(credential.flavor.rawValue))") }
    var r = XDRReader(credential.body)
    stamp = try r.read(UInt32.self)
    machineName = try r.readString(maximum: 255)
    uid = try r.read(UInt32.self)
    gid = try r.read(UInt32.self)
    let count = try r.read(UInt32.self)
    guard count <= 16 else { throw XDRError(.lengthTooLarge, at: r.position - 4, "AUTH_SYS gids: \(count) groups, at most 16") }
    gids = try (0..<Int(count)).map { _ in try r.read(UInt32.self) }
    guard r.isAtEnd else { throw XDRError(.sizeMismatch, at: r.position, "AUTH_SYS credential: \(r.remaining) bytes after the groups") }
  }
}

/// Why a server did not run a call it accepted (`accept_stat`, with PROG_MISMATCH's range).
public enum AcceptStatus: Sendable, Hashable {
  /// The results follow.
  case success
  case programUnavailable
  case programMismatch(low: UInt32, high: UInt32)
  case procedureUnavailable
  case garbageArguments
  case systemError
}

/// Why an authentication check failed (`auth_stat`); an open set.
public struct AuthStatus: RawRepresentable, Sendable, Hashable {
  public var rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }
  public static let ok = AuthStatus(rawValue: 0)
  public static let badCredential = AuthStatus(rawValue: 1)
  public static let rejectedCredential = AuthStatus(rawValue: 2)
  public static let badVerifier = AuthStatus(rawValue: 3)
  public static let rejectedVerifier = AuthStatus(rawValue: 4)
  public static let tooWeak = AuthStatus(rawValue: 5)
  public static let invalidResponse = AuthStatus(rawValue: 6)
  public static let failed = AuthStatus(rawValue: 7)
}

/// The body of a reply (`reply_body`).
public enum ReplyBody: Sendable, Hashable {
  /// MSG_ACCEPTED: the server's verifier and what became of the call.
  case accepted(verifier: OpaqueAuth, status: AcceptStatus)
  /// MSG_DENIED, RPC_MISMATCH: the RPC versions the server speaks.
  case rpcMismatch(low: UInt32, high: UInt32)
  /// MSG_DENIED, AUTH_ERROR.
  case authError(AuthStatus)
}

/// The header of a call (`call_body`).
public struct CallHeader: Sendable, Hashable {
  /// The only RPC version there is.
  public static let rpcVersion: UInt32 = 2
  public var rpcVersion: UInt32
  public var program: UInt32
  public var version: UInt32
  public var procedure: UInt32
  public var credential: OpaqueAuth
  public var verifier: OpaqueAuth

  public init(program: UInt32, version: UInt32, procedure: UInt32, credential: OpaqueAuth = .none, verifier: OpaqueAuth = .none,
              rpcVersion: UInt32 = CallHeader.rpcVersion) {
    self.rpcVersion = rpcVersion
    self.program = program
    self.version = version
    self.procedure = procedure
    self.credential = credential
    self.verifier = verifier
  }
}

/// An RPC message header: a transaction id and a call or a reply (`rpc_msg`).
public struct RPCMessageHeader: Sendable, Hashable {
  public enum Body: Sendable, Hashable {
    case call(CallHeader)
    case reply(ReplyBody)
  }
  public var xid: UInt32
  public var body: Body

  public init(xid: UInt32, body: Body) {
    self.xid = xid
    self.body = body
  }

  /// Writes the header; the arguments or results go after it.
  public func write(to w: inout XDRWriter) throws {
    w.write(xid)
    switch body {
    case .call(let call):
      w.write(UInt32(0))  // CALL
      w.write(call.rpcVersion)
      w.write(call.program)
      w.write(call.version)
      w.write(call.procedure)
      try call.credential.write(to: &w)
      try call.verifier.write(to: &w)
    case .reply(let reply):
      w.write(UInt32(1))  // REPLY
      switch reply {
      case .accepted(let verifier, let status):
        w.write(UInt32(0))  // MSG_ACCEPTED
        try verifier.write(to: &w)
        switch status {
        case .success: w.write(UInt32(0))
        case .programUnavailable: w.write(UInt32(1))
        case .programMismatch(let low, let high):
          w.write(UInt32(2))
          w.write(low)
          w.write(high)
        case .procedureUnavailable: w.write(UInt32(3))
        case .garbageArguments: w.write(UInt32(4))
        case .systemError: w.write(UInt32(5))
        }
      case .rpcMismatch(let low, let high):
        w.write(UInt32(1))  // MSG_DENIED
        w.write(UInt32(0))  // RPC_MISMATCH
        w.write(low)
        w.write(high)
      case .authError(let stat):
        w.write(UInt32(1))  // MSG_DENIED
        w.write(UInt32(1))  // AUTH_ERROR
        w.write(stat.rawValue)
      }
    }
  }

  /// The header's bytes.
  public func encoded() throws -> [UInt8] {
    var w = XDRWriter(capacity: 64)
    try write(to: &w)
    return w.finishedBytes()
  }

  /// Reads a header; the reader is left at the arguments or results. Unknown message types,
  /// reply states and statuses are errors (`invalidEnum`), never traps.
  public static func read(from r: inout XDRReader) throws -> RPCMessageHeader {
    let xid = try r.read(UInt32.self)
    let typeAt = r.position
    switch try r.read(UInt32.self) {
    case 0:
      let rpcVersion = try r.read(UInt32.self)
      let program = try r.read(UInt32.self)
      let version = try r.read(UInt32.self)
      let procedure = try r.read(UInt32.self)
      let credential = try OpaqueAuth.read(from: &r)
      let verifier = try OpaqueAuth.read(from: &r)
      return RPCMessageHeader(xid: xid, body: .call(CallHeader(program: program, version: version, procedure: procedure,
                                                                 credential: credential, verifier: verifier, rpcVersion: rpcVersion)))
    case 1:
      let stateAt = r.position
      switch try r.read(UInt32.self) {
      case 0:
        let verifier = try OpaqueAuth.read(from: &r)
        let statAt = r.position
        let status: AcceptStatus
        switch try r.read(UInt32.self) {
        case 0: status = .success
        case 1: status = .programUnavailable
        case 2: status = .programMismatch(low: try r.read(UInt32.self), high: try r.read(UInt32.self))
        case 3: status = .procedureUnavailable
        case 4: status = .garbageArguments
        case 5: status = .systemError
        case let other: throw XDRError(.invalidEnum, at: statAt, "accept_stat \(other)")
        }
        return RPCMessageHeader(xid: xid, body: .reply(.accepted(verifier: verifier, status: status)))
      case 1:
        let rejectAt = r.position
        switch try r.read(UInt32.self) {
        case 0: return RPCMessageHeader(xid: xid, body: .reply(.rpcMismatch(low: try r.read(UInt32.self), high: try r.read(UInt32.self))))
        case 1: return RPCMessageHeader(xid: xid, body: .reply(.authError(AuthStatus(rawValue: try r.read(UInt32.self)))))
        case let other: throw XDRError(.invalidEnum, at: rejectAt, "reject_stat \(other)")
        }
      case let other: throw XDRError(.invalidEnum, at: stateAt, "reply_stat \(other)")
      }
    case let other: throw XDRError(.invalidEnum, at: typeAt, "msg_type \(other)")
    }
  }
}
