import CourierCore
import CourierExamples
import CourierGIOP
import CourierInProcess
import CourierWire
import Foundation
import Testing

@Suite("IOR and corbaloc")
struct IORTests {
  static func omniIORText() throws -> String {
    try Golden.text("ior_echo.txt").trimmingCharacters(in: .whitespacesAndNewlines)
  }

  @Test func decodeOmniORBIOR() throws {
    let text = try Self.omniIORText()
    let ior = try IOR(stringified: text)
    #expect(ior.typeID == "IDL:Bench/Echo:1.0")
    #expect(!ior.isNil)
    #expect(ior.profiles.count == 1)
    #expect(ior.profiles[0].tag == TaggedProfile.internetIOP)
    #expect(ior.profiles[0].data.count == 84)
    let profile = try #require(ior.iiopProfiles.first)
    #expect(profile.version == .v1_2)
    #expect(profile.host == "127.0.0.1")
    #expect(profile.port == 47522)  // the capture's PORT_BASE+2 (ior_echo.breakdown.txt)
    #expect(profile.objectKey == echoKey)
    #expect(profile.components.count == 2)
    #expect(profile.components.map(\.tag) == [TaggedComponent.orbType, TaggedComponent.codeSets])
    #expect(profile.orbType == ORBType.omniORB)
    #expect(profile.orbType == 0x4154_5400)
    let cs = try #require(profile.codeSets)
    #expect(cs.charNative == .iso8859_1)
    #expect(cs.charConversion == [.utf8])
    #expect(cs.wcharNative == .utf16)
    #expect(cs.wcharConversion == [.utf16])
    // What a Courier client chooses talking to omniORB (CORBA 3.0 §13.10.2.6).
    // (Courier converts to ISO-8859-1, the server's native set, so it uses that.)
    #expect(cs.negotiated() == TransmissionCodeSets(char: .iso8859_1, wchar: .utf16))
    #expect(ior.description.contains("127.0.0.1:47522/Echo"))
  }

  @Test func omniORBIORRestringifiesIdentically() throws {
    let text = try Self.omniIORText()
    let ior = try IOR(stringified: text)
    let again = try ior.stringified(byteOrder: .littleEndian)
    #expect(again.lowercased() == text.lowercased())
    // Upper-case hex, a lower-case prefix and surrounding white space are accepted too.
    let shouted = "  ior:" + text.dropFirst(4).uppercased() + "\n"
    #expect(try IOR(stringified: shouted) == ior)
    // Re-encoding the profile body from its parsed form gives the same encapsulation.
    let profile = try #require(ior.iiopProfiles.first)
    #expect(try profile.taggedProfile(byteOrder: .littleEndian) == ior.profiles[0])
    let cs = try #require(profile.codeSets)
    #expect(cs.componentData(byteOrder: .littleEndian) == profile.components[1].data)
  }

  @Test func bigEndianStringificationRoundTrips() throws {
    let ior = try IOR(stringified: try Self.omniIORText())
    let be = try ior.stringified(byteOrder: .bigEndian)
    #expect(be.hasPrefix("IOR:00"))
    let back = try IOR(stringified: be)
    #expect(back.typeID == ior.typeID)
    // The profile data is an encapsulation of its own (still little-endian inside).
    #expect(back.profiles == ior.profiles)
    #expect(back.iiopProfiles == ior.iiopProfiles)
  }

  @Test(arguments: [GIOPVersion.v1_0, .v1_1, .v1_2])
  func courierIORRoundTrips(_ version: GIOPVersion) throws {
    var config = GIOPServer.Configuration()
    config.iiopVersion = version
    config.advertisedHost = "example.org"
    let t = InProcessTransport(host: "inprocess", port: 4242)
    let server = GIOPServer(adapter: ObjectAdapter(), listener: t.listener, configuration: config)
    let ior = try server.reference(key: "Echo", typeID: Bench_Echo.repositoryID)
    let text = try ior.stringified()
    #expect(text.hasPrefix("IOR:"))
    let back = try IOR(stringified: text)
    #expect(back == ior)
    let p = try #require(back.iiopProfiles.first)
    #expect(p.version == version)
    #expect(p.host == "example.org")
    #expect(p.port == 4242)
    #expect(p.objectKey == echoKey)
    if version >= .v1_1 {
      #expect(p.orbType == ORBType.courier)
      #expect(p.codeSets == CodeSetComponentInfo.courier)
    } else {
      #expect(p.components.isEmpty, "IIOP 1.0 profiles have no components")
      #expect(p.codeSets == nil)
    }
  }

  @Test func handMadeIORRoundTrips() throws {
    let key: [UInt8] = [0, 1, 2, 0xFF, 0x25, 0x2F]
    let profile = IIOPProfile(version: .v1_1, host: "::1", port: 65535, objectKey: key,
                              components: [TaggedComponent(tag: 0x4242, data: [1, 2, 3])])
    let ior = try IOR(typeID: "IDL:Some/Thing:1.0", profile: profile)
    for order in [ByteOrder.bigEndian, .littleEndian] {
      let back = try IOR(stringified: try ior.stringified(byteOrder: order))
      #expect(back.typeID == "IDL:Some/Thing:1.0")
      #expect(back.iiopProfiles == [profile])
    }
    // Profiles Courier does not know are kept but skipped.
    let mixed = IOR(typeID: "", profiles: [TaggedProfile(tag: 99, data: [1, 0]), try profile.taggedProfile()])
    let back = try IOR(stringified: try mixed.stringified())
    #expect(back.profiles.count == 2)
    #expect(back.iiopProfiles == [profile])
    #expect(IOR.null.isNil)
    #expect(try IOR(stringified: try IOR.null.stringified()).isNil)
  }

  @Test(arguments: ["", "IOR", "IOR:", "IOR:0", "IOR:zz", "ior:01000000", "XOR:0100", "IOR:01000000ff",
                    "IOR:0100000013000000", "corbaloc::h/k"])
  func badStringifiedIORsThrow(_ text: String) {
    #expect(throws: (any Error).self) { try IOR(stringified: text) }
  }

  @Test func truncatedOmniORBIORThrowsAtEveryLength() throws {
    let text = try Self.omniIORText()
    // Every even-length prefix of the hex is either a complete IOR with stray bytes or a
    // truncated one: all must throw, none may crash.
    var length = 6
    while length < text.count {
      let prefix = String(text.prefix(length))
      #expect(throws: (any Error).self, "prefix of \(length)") { try IOR(stringified: prefix) }
      length += 2
    }
    #expect(throws: (any Error).self) { try IOR(stringified: text + "00") }
  }

  @Test func stringifiedIORThroughTheORB() throws {
    let orb = ORB(connector: InProcessTransport().connector)
    let ref = try orb.object(try Self.omniIORText())
    #expect(ref.ior.typeID == "IDL:Bench/Echo:1.0")
    do {
      _ = try orb.object("IOR:nonsense")
      Issue.record("bad IOR accepted")
    } catch let e as RPCError {
      #expect(e.code == .badParam)
    }
  }

  // MARK: corbaloc

  func describe(_ a: Corbaloc.Address) -> String { "\(a.version)@\(a.host):\(a.port)" }

  @Test func corbalocWithoutVersion() throws {
    let loc = try Corbaloc("corbaloc::host:1234/Echo")
    #expect(loc.addresses.map(describe) == ["1.0@host:1234"])
    #expect(loc.objectKey == echoKey)
    let ior = try loc.ior()
    #expect(ior.typeID == "")
    #expect(ior.iiopProfiles == [IIOPProfile(version: .v1_0, host: "host", port: 1234, objectKey: echoKey)])
  }

  @Test func corbalocWithIIOPAndVersion() throws {
    let loc = try Corbaloc("corbaloc:iiop:1.2@host:2809/Echo")
    #expect(loc.addresses.count == 1)
    #expect(loc.addresses[0].version == .v1_2)
    #expect(loc.addresses[0].host == "host")
    #expect(loc.addresses[0].port == 2809)
    let v11 = try Corbaloc("corbaloc::1.1@10.0.0.1:99/Echo")
    #expect(v11.addresses[0].version == .v1_1)
    #expect(v11.addresses[0].host == "10.0.0.1")
    #expect(v11.addresses[0].port == 99)
    #expect(try Corbaloc("CORBALOC::h:1/k").addresses[0].host == "h")
  }

  @Test func corbalocDefaultPort() throws {
    #expect(try Corbaloc("corbaloc::host/Echo").addresses[0].port == 2809)
    #expect(try Corbaloc("corbaloc:iiop:1.2@host/Echo").addresses[0].port == 2809)
    #expect(try Corbaloc("corbaloc::host:/Echo").addresses[0].port == 2809)
    #expect(Corbaloc.defaultPort == 2809)
  }

  @Test func corbalocMultipleAddresses() throws {
    let loc = try Corbaloc("corbaloc::a:1,iiop:1.1@b:2,:1.2@[::1]:3,:c/Name")
    #expect(loc.addresses.map(describe) == ["1.0@a:1", "1.1@b:2", "1.2@::1:3", "1.0@c:2809"])
    #expect(loc.objectKey == Array("Name".utf8))
    let ior = try loc.ior()
    #expect(ior.iiopProfiles.map(\.host) == ["a", "b", "::1", "c"])
    #expect(ior.iiopProfiles.allSatisfy { $0.objectKey == Array("Name".utf8) })
  }

  @Test func corbalocIPv6() throws {
    let loc = try Corbaloc("corbaloc::[::1]:2809/Echo")
    #expect(loc.addresses[0].host == "::1")
    #expect(loc.addresses[0].port == 2809)
    let noPort = try Corbaloc("corbaloc:iiop:1.2@[fe80::1:2]/Echo")
    #expect(noPort.addresses[0].host == "fe80::1:2")
    #expect(noPort.addresses[0].port == 2809)
  }

  @Test func corbalocEscapedKey() throws {
    #expect(try Corbaloc("corbaloc::h/My%20Object").objectKey == Array("My Object".utf8))
    #expect(try Corbaloc("corbaloc::h/%00%ff%2F%2f").objectKey == [0x00, 0xFF, 0x2F, 0x2F])
    #expect(try Corbaloc("corbaloc::h/a/b").objectKey == Array("a/b".utf8))
    #expect(try Corbaloc("corbaloc::h/").objectKey == [])
    #expect(try Corbaloc("corbaloc::h/%41").objectKey == [0x41])
  }

  @Test(arguments: [
    "corbaloc:foo:x/k",  // unknown protocol
    "corbaloc::host:1234",  // no slash
    "corbaloc:",  // nothing
    "corbaloc:/k",  // no address
    "corbaloc::host:99999/k",  // port too big
    "corbaloc::host:-1/k",  // negative port
    "corbaloc::host:12ab/k",  // port not a number
    "corbaloc::1.9@host:1/k",  // version 1.9
    "corbaloc::2.0@host:1/k",  // version 2.0
    "corbaloc::x@host:1/k",  // version junk
    "corbaloc::1@host:1/k",  // version without minor
    "corbaloc::/k",  // empty host
    "corbaloc::[::1/k",  // unclosed bracket
    "corbaloc::[::1]x/k",  // junk after bracket
    "corbaloc::h/%4",  // short escape
    "corbaloc::h/%",  // bare percent
    "corbaloc::h/%zz",  // not hex
    "corbaloc::h/%+1",  // a sign is not a hex digit
    "corbaloc::h/%-0",  // nor is this
    "corbaloc:rir:/NameService",  // rir is not supported
    "corbaloc::a:1,,:b:2/k",  // empty address in the list
    "iiop://host/k",  // not corbaloc
  ])
  func badCorbalocThrows(_ url: String) {
    #expect(throws: (any Error).self, "\(url)") { try Corbaloc(url) }
  }

  @Test func badCorbalocThroughTheORBIsBadParam() {
    let orb = ORB(connector: InProcessTransport().connector)
    do {
      _ = try orb.object("corbaloc:foo:x/k")
      Issue.record("accepted")
    } catch let e as RPCError {
      #expect(e.code == .badParam)
      #expect(e.completion == .no)
    } catch {
      Issue.record("wrong error \(error)")
    }
  }
}
