public import CourierWire
import CourierCore

/// A tagged profile of an IOR: a tag and its encapsulated data.
public struct TaggedProfile: Sendable, Hashable, CDRCodable {
  /// `TAG_INTERNET_IOP`.
  public static let internetIOP: UInt32 = 0
  /// `TAG_MULTIPLE_COMPONENTS`.
  public static let multipleComponents: UInt32 = 1

  public var tag: UInt32
  /// The profile body, an encapsulation (first octet: byte order).
  public var data: [UInt8]

  public init(tag: UInt32, data: [UInt8]) {
    self.tag = tag
    self.data = data
  }

  public func encode(to w: inout CDRWriter) {
    w.write(tag)
    w.writeOctetSequence(data)
  }

  public init(from r: inout CDRReader) throws {
    tag = try r.read()
    data = try r.readOctetSequence()
  }
}

/// A tagged component of an IIOP 1.1+ profile.
public struct TaggedComponent: Sendable, Hashable, CDRCodable {
  /// `TAG_ORB_TYPE`: the vendor of the ORB that made the reference.
  public static let orbType: UInt32 = 0
  /// `TAG_CODE_SETS`: the server's native and conversion code sets.
  public static let codeSets: UInt32 = 1

  public var tag: UInt32
  public var data: [UInt8]

  public init(tag: UInt32, data: [UInt8]) {
    self.tag = tag
    self.data = data
  }

  public func encode(to w: inout CDRWriter) {
    w.write(tag)
    w.writeOctetSequence(data)
  }

  public init(from r: inout CDRReader) throws {
    tag = try r.read()
    data = try r.readOctetSequence()
  }
}

/// ORB type ids (`TAG_ORB_TYPE`).
public enum ORBType {
  /// omniORB (`"OMNI"` is not used: omniORB says 0x41545400, from AT&T Laboratories).
  public static let omniORB: UInt32 = 0x4154_5400
  /// Courier: `"CRR\0"`; not registered with the OMG.
  public static let courier: UInt32 = 0x4352_5200
}

/// The code sets a server supports (`CONV_FRAME::CodeSetComponentInfo`).
public struct CodeSetComponentInfo: Sendable, Hashable {
  public var charNative: CodeSetID
  public var charConversion: [CodeSetID]
  public var wcharNative: CodeSetID
  public var wcharConversion: [CodeSetID]

  public init(charNative: CodeSetID, charConversion: [CodeSetID], wcharNative: CodeSetID, wcharConversion: [CodeSetID]) {
    self.charNative = charNative
    self.charConversion = charConversion
    self.wcharNative = wcharNative
    self.wcharConversion = wcharConversion
  }

  /// Courier's: UTF-8 native (ISO-8859-1 as conversion), UTF-16 native for wide characters.
  public static let courier = CodeSetComponentInfo(
    charNative: .utf8, charConversion: [.iso8859_1], wcharNative: .utf16, wcharConversion: [])

  /// The component's encapsulated data.
  public func componentData(byteOrder: ByteOrder = .native) -> [UInt8] {
    var w = CDRWriter(capacity: 32, byteOrder: byteOrder)
    w.bytes.append(byteOrder.flag)
    w.write(charNative.rawValue)
    w.write(UInt32(charConversion.count))
    for c in charConversion { w.write(c.rawValue) }
    w.write(wcharNative.rawValue)
    w.write(UInt32(wcharConversion.count))
    for c in wcharConversion { w.write(c.rawValue) }
    return w.bytes
  }

  /// Parses a CODE_SETS component's data.
  public init(componentData data: [UInt8]) throws {
    guard let flag = data.first else { throw CDRError(.invalidEncapsulation, "empty CODE_SETS component") }
    var r = CDRReader(data, byteOrder: ByteOrder(flag: flag), position: 1)
    charNative = CodeSetID(rawValue: try r.read())
    charConversion = try r.readSequence(UInt32.self).map(CodeSetID.init(rawValue:))
    wcharNative = CodeSetID(rawValue: try r.read())
    wcharConversion = try r.readSequence(UInt32.self).map(CodeSetID.init(rawValue:))
  }

  /// The transmission code sets a client with Courier's code sets chooses for this server
  /// (CORBA 3.0 §13.10.2.6: the server's native set if the client can use it, else the
  /// client's if the server can convert, else a common conversion set).
  public func negotiated(client: CodeSetComponentInfo = .courier) -> TransmissionCodeSets {
    func choose(serverNative: CodeSetID, serverConv: [CodeSetID], clientNative: CodeSetID, clientConv: [CodeSetID], fallback: CodeSetID) -> CodeSetID {
      if serverNative == clientNative || clientConv.contains(serverNative) { return serverNative }
      if serverConv.contains(clientNative) { return clientNative }
      if let common = clientConv.first(where: serverConv.contains) { return common }
      return fallback
    }
    return TransmissionCodeSets(
      char: choose(serverNative: charNative, serverConv: charConversion, clientNative: client.charNative,
                   clientConv: client.charConversion, fallback: .utf8),
      wchar: choose(serverNative: wcharNative, serverConv: wcharConversion, clientNative: client.wcharNative,
                    clientConv: client.wcharConversion, fallback: .utf16))
  }
}

/// An IIOP profile body (`IIOP::ProfileBody_1_0` / `_1_1`).
public struct IIOPProfile: Sendable, Hashable {
  /// The highest GIOP version the server accepts on this endpoint.
  public var version: GIOPVersion
  public var host: String
  public var port: UInt16
  public var objectKey: [UInt8]
  /// Tagged components (IIOP 1.1 and later only).
  public var components: [TaggedComponent]

  public init(version: GIOPVersion, host: String, port: UInt16, objectKey: [UInt8], components: [TaggedComponent] = []) {
    self.version = version
    self.host = host
    self.port = port
    self.objectKey = objectKey
    self.components = components
  }

  /// Parses the profile body of a `TAG_INTERNET_IOP` profile.
  public init(_ profile: TaggedProfile) throws {
    guard profile.tag == TaggedProfile.internetIOP else {
      throw CDRError(.invalidValue, "profile tag \(profile.tag) is not TAG_INTERNET_IOP")
    }
    guard let flag = profile.data.first else { throw CDRError(.invalidEncapsulation, "empty IIOP profile") }
    var r = CDRReader(profile.data, byteOrder: ByteOrder(flag: flag), position: 1)
    let major: UInt8 = try r.read(), minor: UInt8 = try r.read()
    version = GIOPVersion(major: major, minor: minor)
    host = try r.readString()
    port = try r.read()
    objectKey = try r.readOctetSequence()
    components = minor >= 1 && !r.isAtEnd ? try r.readSequence(TaggedComponent.self) : []
  }

  /// The `TAG_INTERNET_IOP` profile holding this body.
  public func taggedProfile(byteOrder: ByteOrder = .native) throws -> TaggedProfile {
    var w = CDRWriter(capacity: 64 + objectKey.count, byteOrder: byteOrder)
    w.bytes.append(byteOrder.flag)
    w.write(version.major)
    w.write(version.minor)
    try w.writeString(host)
    w.write(port)
    w.writeOctetSequence(objectKey)
    if version.minor >= 1 { try w.encode(components) }
    return TaggedProfile(tag: TaggedProfile.internetIOP, data: w.bytes)
  }

  /// The server's code sets, if the profile says.
  public var codeSets: CodeSetComponentInfo? {
    components.first { $0.tag == TaggedComponent.codeSets }.flatMap { try? CodeSetComponentInfo(componentData: $0.data) }
  }

  /// The ORB type, if the profile says.
  public var orbType: UInt32? {
    guard let c = components.first(where: { $0.tag == TaggedComponent.orbType }), let flag = c.data.first else { return nil }
    var r = CDRReader(c.data, byteOrder: ByteOrder(flag: flag), position: 1)
    return try? r.read(UInt32.self)
  }
}

/// An Interoperable Object Reference: a repository id and the profiles that say where the
/// object lives.
public struct IOR: Sendable, Hashable, CDRCodable, CustomStringConvertible {
  /// The most derived repository id known when the reference was made (may be empty).
  public var typeID: String
  public var profiles: [TaggedProfile]

  public init(typeID: String, profiles: [TaggedProfile]) {
    self.typeID = typeID
    self.profiles = profiles
  }

  /// A reference with one IIOP profile.
  public init(typeID: String, profile: IIOPProfile) throws {
    self.init(typeID: typeID, profiles: [try profile.taggedProfile()])
  }

  /// The nil reference: empty type id, no profiles.
  public static let null = IOR(typeID: "", profiles: [])

  public var isNil: Bool { profiles.isEmpty }

  public func encode(to w: inout CDRWriter) throws {
    try w.writeString(typeID)
    w.write(UInt32(profiles.count))
    for p in profiles { p.encode(to: &w) }
  }

  public init(from r: inout CDRReader) throws {
    typeID = try r.readString()
    profiles = try r.readSequence(TaggedProfile.self)
  }

  /// The IIOP profiles this reference has, in order; profiles of other tags are skipped.
  public var iiopProfiles: [IIOPProfile] {
    profiles.compactMap { $0.tag == TaggedProfile.internetIOP ? try? IIOPProfile($0) : nil }
  }

  /// The stringified form: `IOR:` and the hex of a CDR encapsulation of the IOR.
  public func stringified(byteOrder: ByteOrder = .native) throws -> String {
    var w = CDRWriter(capacity: 256, byteOrder: byteOrder)
    w.bytes.append(byteOrder.flag)
    try encode(to: &w)
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    var out: [UInt8] = Array("IOR:".utf8)
    out.reserveCapacity(4 + w.count * 2)
    for b in w.bytes {
      out.append(hex[Int(b >> 4)])
      out.append(hex[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Parses a stringified `IOR:` reference (case-insensitive hex, surrounding white space ignored).
  public init(stringified text: String) throws {
    let s = text.trimmingWhitespace()
    guard s.count > 4, s.prefix(4).uppercased() == "IOR:" else {
      throw CDRError(.invalidValue, "not a stringified IOR (no IOR: prefix)")
    }
    let hex = Array(s.utf8.dropFirst(4))
    guard hex.count % 2 == 0, hex.count >= 2 else { throw CDRError(.invalidValue, "IOR hex has odd length") }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hex.count / 2)
    func nibble(_ c: UInt8) throws -> UInt8 {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
      default: throw CDRError(.invalidValue, "IOR contains a non-hex character")
      }
    }
    var i = 0
    while i < hex.count {
      bytes.append(try nibble(hex[i]) << 4 | nibble(hex[i + 1]))
      i += 2
    }
    var r = CDRReader(bytes, byteOrder: ByteOrder(flag: bytes[0]), position: 1)
    try self.init(from: &r)
    guard r.isAtEnd else { throw CDRError(.invalidValue, "\(r.remaining) stray bytes after the IOR") }
  }

  public var description: String {
    let where_ = iiopProfiles.map { "\($0.host):\($0.port)/\(ObjectAdapter.describe(key: $0.objectKey, quoted: false)) (IIOP \($0.version))" }
    return "IOR(\(typeID.isEmpty ? "<no type>" : typeID) @ \(where_.joined(separator: ", ")))"
  }
}

extension String {
  func trimmingWhitespace() -> String {
    var s = Substring(self)
    while let c = s.first, c.isWhitespace { s.removeFirst() }
    while let c = s.last, c.isWhitespace { s.removeLast() }
    return String(s)
  }
}
