public import CourierGIOP
import CourierWire
import CourierCore

/// A distributed actor's identity: a CORBA object reference.
///
/// An actor made by a ``CourierActorSystem`` gets an IOR whose IIOP profile names the system's
/// endpoint and an object key `CRA/` + the process incarnation (8 random bytes, new at every
/// start) + an object number (8 bytes, big-endian): unique in space and time, so a reference
/// to an actor of a process that has restarted never reaches a new actor by accident. A
/// reference to a foreign CORBA object (from omniORB, say) is an identity too.
///
/// Two identities are equal when they name the same endpoint and object key; the repository
/// id and the other profiles do not count.
public struct CourierActorID: Sendable, Hashable, CustomStringConvertible {
  /// The reference (as received; for an actor of this process, as made).
  public let ior: IOR
  /// The endpoint and key that make the identity.
  let host: String
  let port: UInt16
  let key: [UInt8]

  /// The identity an IOR names; `INV_OBJREF` for a nil reference or one without IIOP profile.
  public init(ior: IOR) throws {
    guard let profile = ior.iiopProfiles.first else {
      throw RPCError(.invObjref, minor: 0, completion: .no, "an actor identity needs an IOR with an IIOP profile")
    }
    // Transit marks are per message: they are not part of the identity.
    self.ior = IOR(typeID: ior.typeID, profiles: ior.profiles.filter { $0.tag != TransitMark.profileTag })
    self.host = profile.host
    self.port = profile.port
    self.key = profile.objectKey
  }

  /// The stringified IOR (`IOR:…`), for printing, files and `corbaloc`-less exchange.
  public func stringified() throws -> String { try ior.stringified() }

  /// The process incarnation and object number, for an actor made by a Courier actor system.
  public var courierParts: (incarnation: [UInt8], number: UInt64)? {
    guard key.count == ActorKey.length, Array(key.prefix(4)) == ActorKey.magic else { return nil }
    let number = key[12...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    return (Array(key[4..<12]), number)
  }

  public static func == (a: Self, b: Self) -> Bool { a.port == b.port && a.key == b.key && a.host == b.host }
  public func hash(into hasher: inout Hasher) {
    hasher.combine(key)
    hasher.combine(port)
  }

  public var description: String {
    if let parts = courierParts {
      return "actor \(parts.number) of \(parts.incarnation.hex) at \(host):\(port)"
    }
    return "object \(ObjectAdapter.describe(key: key)) at \(host):\(port)"
  }
}

/// The object key layout of actors: `CRA/`, incarnation (8), number (8, big-endian).
enum ActorKey {
  static let magic: [UInt8] = Array("CRA/".utf8)
  static let length = 20

  static func make(incarnation: [UInt8], number: UInt64) -> [UInt8] {
    var key = magic + incarnation
    withUnsafeBytes(of: number.bigEndian) { key.append(contentsOf: $0) }
    return key
  }
}

extension [UInt8] {
  var hex: String {
    map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
  }
}

/// What a process that writes an actor reference into a message adds to it: where to
/// acknowledge it, so that the writer's hold on the actor lasts until the receiver holds a
/// lease of its own (the seeds' race: the writer must not let the object go before the
/// receiver's "referenced" message arrives).
///
/// It travels as an extra tagged profile of the IOR (tag ``profileTag``); other ORBs skip
/// profiles they do not know.
struct TransitMark: Sendable, Hashable {
  /// A vendor profile tag ("CRH" + 1).
  static let profileTag: UInt32 = 0x4352_4801

  /// The writer's endpoint (its DGC object is there) and incarnation.
  var host: String
  var port: UInt16
  var incarnation: [UInt8]
  /// The hold to release.
  var hold: UInt64

  func profile() throws -> TaggedProfile {
    var w = CDRWriter(capacity: 64)
    w.bytes.append(w.byteOrder.flag)
    try w.writeString(host)
    w.write(port)
    w.writeOctetSequence(incarnation)
    w.write(hold)
    return TaggedProfile(tag: Self.profileTag, data: w.bytes)
  }

  init(host: String, port: UInt16, incarnation: [UInt8], hold: UInt64) {
    self.host = host
    self.port = port
    self.incarnation = incarnation
    self.hold = hold
  }

  init?(_ profile: TaggedProfile) {
    guard profile.tag == Self.profileTag, let flag = profile.data.first else { return nil }
    var r = CDRReader(profile.data, byteOrder: ByteOrder(flag: flag), position: 1)
    guard let host = try? r.readString(), let port = try? r.read(UInt16.self),
          let incarnation = try? r.readOctetSequence(), let hold = try? r.read(UInt64.self)
    else { return nil }
    self.init(host: host, port: port, incarnation: incarnation, hold: hold)
  }

  /// The marks in an IOR.
  static func marks(in ior: IOR) -> [TransitMark] {
    ior.profiles.compactMap { TransitMark($0) }
  }
}
