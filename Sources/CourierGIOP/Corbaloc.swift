import CourierWire

/// A parsed `corbaloc:` URL (CORBA 3.0 §13.6.10), IIOP addresses only.
///
/// `corbaloc::host:port/key`, `corbaloc:iiop:1.2@host:port/key`, several addresses separated
/// by commas, IPv6 hosts in brackets, the port 2809 when none is given, GIOP 1.0 when no
/// version is given (as the specification says), and `%XX` escapes in the key.
public struct Corbaloc: Sendable, Hashable {
  public struct Address: Sendable, Hashable {
    public var version: GIOPVersion
    public var host: String
    public var port: UInt16
  }

  public var addresses: [Address]
  public var objectKey: [UInt8]

  /// The IANA port of CORBA's naming service, used when a corbaloc gives none.
  public static let defaultPort: UInt16 = 2809

  public init(_ url: String) throws {
    let text = url.trimmingWhitespace()
    guard text.lowercased().hasPrefix("corbaloc:") else { throw CDRError(.invalidValue, "not a corbaloc URL: \(url)") }
    let rest = text.dropFirst("corbaloc:".count)
    guard let slash = rest.firstIndex(of: "/") else { throw CDRError(.invalidValue, "corbaloc URL has no /key: \(url)") }
    let list = rest[..<slash]
    objectKey = try Self.unescape(rest[rest.index(after: slash)...])
    addresses = try list.split(separator: ",", omittingEmptySubsequences: false).map(Self.parseAddress)
    guard !addresses.isEmpty else { throw CDRError(.invalidValue, "corbaloc URL has no address") }
  }

  static func parseAddress(_ text: Substring) throws -> Address {
    var s = text
    if s.hasPrefix("iiop:") { s = s.dropFirst(5) }
    else if s.hasPrefix(":") { s = s.dropFirst() }
    else if s.hasPrefix("rir:") { throw CDRError(.invalidValue, "corbaloc:rir: is not supported here") }
    else { throw CDRError(.invalidValue, "unsupported corbaloc protocol in \"\(text)\"") }
    var version = GIOPVersion.v1_0
    if let at = s.firstIndex(of: "@") {
      let v = s[..<at].split(separator: ".")
      guard v.count == 2, let major = UInt8(v[0]), let minor = UInt8(v[1]), major == 1, minor <= 2 else {
        throw CDRError(.invalidValue, "bad IIOP version in \"\(text)\"")
      }
      version = GIOPVersion(major: major, minor: minor)
      s = s[s.index(after: at)...]
    }
    var host: Substring
    var portText: Substring?
    if s.hasPrefix("[") {
      guard let close = s.firstIndex(of: "]") else { throw CDRError(.invalidValue, "unclosed [ in \"\(text)\"") }
      host = s[s.index(after: s.startIndex)..<close]
      let after = s[s.index(after: close)...]
      if after.hasPrefix(":") { portText = after.dropFirst() }
      else if !after.isEmpty { throw CDRError(.invalidValue, "junk after ] in \"\(text)\"") }
    } else if let colon = s.lastIndex(of: ":") {
      host = s[..<colon]
      portText = s[s.index(after: colon)...]
    } else {
      host = s
    }
    guard !host.isEmpty else { throw CDRError(.invalidValue, "no host in \"\(text)\"") }
    var port = defaultPort
    if let portText, !portText.isEmpty {
      guard let p = UInt16(portText) else { throw CDRError(.invalidValue, "bad port in \"\(text)\"") }
      port = p
    }
    return Address(version: version, host: String(host), port: port)
  }

  static func unescape(_ s: Substring) throws -> [UInt8] {
    var out: [UInt8] = []
    let u = Array(s.utf8)
    var i = 0
    while i < u.count {
      if u[i] == UInt8(ascii: "%") {
        // Two hex digits exactly: UInt8(_:radix:) alone would also take "+1" or "-0".
        guard i + 2 < u.count, u[(i + 1)...(i + 2)].allSatisfy({ $0 < 0x80 && Character(Unicode.Scalar($0)).isHexDigit }),
          let v = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
        else { throw CDRError(.invalidValue, "bad %-escape in corbaloc key") }
        out.append(v)
        i += 3
      } else {
        out.append(u[i])
        i += 1
      }
    }
    return out
  }

  /// An IOR with one IIOP profile per address (no type id: narrow it with `_is_a`).
  public func ior() throws -> IOR {
    IOR(typeID: "", profiles: try addresses.map {
      try IIOPProfile(version: $0.version, host: $0.host, port: $0.port, objectKey: objectKey).taggedProfile()
    })
  }
}
