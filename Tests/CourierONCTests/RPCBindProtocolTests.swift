import CourierONC
import CourierWire
import Testing

/// Hex text (spaces ignored) as bytes.
func rpcbindHex(_ s: String) -> [UInt8] {
  let digits = Array(s.filter { !$0.isWhitespace })
  return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// The results of a captured reply record: the header checked to be an accepted SUCCESS.
func rpcbindResults(ofReply record: [UInt8]) throws -> XDRReader {
  var r = XDRReader(record)
  let header = try RPCMessageHeader.read(from: &r)
  #expect(header.body == .reply(.accepted(verifier: .none, status: .success)))
  return XDRReader(record, position: r.position)
}

/// The arguments of a captured call record.
func rpcbindArguments(ofCall record: [UInt8]) throws -> (CallHeader, XDRReader) {
  var r = XDRReader(record)
  guard case .call(let call) = try RPCMessageHeader.read(from: &r).body else { throw XDRError(.invalidEnum, at: 4, "not a call") }
  return (call, XDRReader(record, position: r.position))
}

/// Checks a golden vector both ways: encoding `value` gives `bytes`, and decoding `bytes`
/// gives `value` and uses every byte.
func expectGolden<T: XDRCodable & Equatable>(_ value: T, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
  var w = XDRWriter()
  try value.encode(to: &w)
  #expect(w.finishedBytes() == bytes, sourceLocation: sourceLocation)
  var r = XDRReader(bytes)
  #expect(try T(from: &r) == value, sourceLocation: sourceLocation)
  #expect(r.isAtEnd, sourceLocation: sourceLocation)
}

/// RFC 1833's types, byte for byte. The records were captured from the real peers (Debian's
/// rpcbind 1.2.6 and libtirpc 1.3.3, in a private network namespace; see docs/rpcbind.md).
@Suite("rpcbind protocol (RFC 1833)")
struct RPCBindProtocolTests {
  @Test func mappingLayout() throws {
    // struct mapping: prog, vers, prot, port — four unsigned ints.
    try expectGolden(PortMapping(program: 100000, version: 2, transport: .tcp, port: 111),
                     rpcbindHex("000186a0 00000002 00000006 0000006f"))
    #expect(PortMapping(program: 1, version: 1, ipProtocol: 17, port: 0).transport == .udp)
    #expect(PortMapping(program: 1, version: 1, ipProtocol: 1, port: 0).transport == nil)
  }

  @Test func libtirpcRegistrationIsAnRPCBINDv3SetOnTheLocalSocket() throws {
    // pmap_set(0x20000002, 1, IPPROTO_TCP, 10000) as libtirpc sent it to /run/rpcbind.sock.
    let record = rpcbindHex("""
      4a369b44 00000000 00000002 000186a0 00000003 00000001 00000000 00000000 00000000 00000000
      20000002 00000001
      00000003 74637000
      0000000d 302e302e 302e302e 33392e31 36000000
      00000001 30000000
      """)
    var (call, args) = try rpcbindArguments(ofCall: record)
    #expect(call.program == RPCBind.program && call.version == RPCBind.version3 && call.procedure == RPCBind.Procedure.set.rawValue)
    let binding = try RPCBinding(from: &args)
    #expect(binding == RPCBinding(program: 0x2000_0002, version: 1, netid: "tcp", address: "0.0.0.0.39.16", owner: "0"))
    #expect(args.isAtEnd)
    try expectGolden(binding, Array(record[40...]))
  }

  @Test func rpcinfoGetAddressArguments() throws {
    // rpcinfo -t 127.0.0.1 536870914 1: RPCBIND v4 GETADDR over TCP, the server's address as
    // a hint and "libtirpc" as the owner.
    let args = rpcbindHex("""
      20000002 00000001 00000003 74637000
      0000000f 3132372e 302e302e 312e302e 31313100
      00000008 6c696274 69727063
      """)
    try expectGolden(RPCBinding(program: 0x2000_0002, version: 1, netid: "tcp", address: "127.0.0.1.0.111", owner: "libtirpc"), args)
  }

  @Test func rpcbindV2DumpReply() throws {
    // rpcbind's PMAPPROC_DUMP reply: its own six entries, then two registrations.
    let record = rpcbindHex("""
      49016bb4 00000001 00000000 00000000 00000000 00000000
      00000001 000186a0 00000004 00000006 0000006f
      00000001 000186a0 00000003 00000006 0000006f
      00000001 000186a0 00000002 00000006 0000006f
      00000001 000186a0 00000004 00000011 0000006f
      00000001 000186a0 00000003 00000011 0000006f
      00000001 000186a0 00000002 00000011 0000006f
      00000001 20000001 00000009 00000006 00002710
      00000001 20000001 00000014 00000006 00002710
      00000000
      """)
    var r = try rpcbindResults(ofReply: record)
    let start = r.position
    let list = try PortMappingList(from: &r)
    #expect(r.isAtEnd)
    var expected: [PortMapping] = []
    for transport in [ONCTransportProtocol.tcp, .udp] {
      for v: UInt32 in [4, 3, 2] { expected.append(PortMapping(program: 100000, version: v, transport: transport, port: 111)) }
    }
    expected += [PortMapping(program: 0x2000_0001, version: 9, transport: .tcp, port: 10000),
                 PortMapping(program: 0x2000_0001, version: 20, transport: .tcp, port: 10000)]
    #expect(list.mappings == expected)
    try expectGolden(list, Array(record[start...]))
    try expectGolden(PortMappingList(), rpcbindHex("00000000"))
  }

  @Test func rpcbindV4DumpReply() throws {
    // rpcbind's RPCBPROC_DUMP (v4) reply: tcp6, udp6, tcp, udp, local, and one registration
    // made as root on the local socket (owner "superuser").
    let record = rpcbindHex("""
      295712f4 00000001 00000000 00000000 00000000 00000000
      00000001 000186a0 00000004 00000004 74637036 00000008 3a3a2e30 2e313131 00000009 73757065 72757365 72000000
      00000001 000186a0 00000003 00000004 74637036 00000008 3a3a2e30 2e313131 00000009 73757065 72757365 72000000
      00000001 000186a0 00000004 00000004 75647036 00000008 3a3a2e30 2e313131 00000009 73757065 72757365 72000000
      00000001 000186a0 00000003 00000004 75647036 00000008 3a3a2e30 2e313131 00000009 73757065 72757365 72000000
      00000001 000186a0 00000004 00000003 74637000 0000000d 302e302e 302e302e 302e3131 31000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000003 00000003 74637000 0000000d 302e302e 302e302e 302e3131 31000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000002 00000003 74637000 0000000d 302e302e 302e302e 302e3131 31000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000004 00000003 75647000 0000000d 302e302e 302e302e 302e3131 31000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000003 00000003 75647000 0000000d 302e302e 302e302e 302e3131 31000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000002 00000003 75647000 0000000d 302e302e 302e302e 302e3131 31000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000004 00000005 6c6f6361 6c000000 00000011 2f72756e 2f727063 62696e64 2e736f63 6b000000 00000009 73757065 72757365 72000000
      00000001 000186a0 00000003 00000005 6c6f6361 6c000000 00000011 2f72756e 2f727063 62696e64 2e736f63 6b000000 00000009 73757065 72757365 72000000
      00000001 20000001 00000001 00000003 74637000 0000000d 302e302e 302e302e 33392e31 36000000 00000009 73757065 72757365 72000000
      00000000
      """)
    var r = try rpcbindResults(ofReply: record)
    let start = r.position
    let list = try RPCBindingList(from: &r)
    #expect(r.isAtEnd)
    #expect(list.bindings.count == 13)
    #expect(list.bindings[0] == RPCBinding(program: 100000, version: 4, netid: "tcp6", address: "::.0.111", owner: "superuser"))
    #expect(list.bindings[10] == RPCBinding(program: 100000, version: 4, netid: "local", address: "/run/rpcbind.sock", owner: "superuser"))
    #expect(list.bindings[12] == RPCBinding(program: 0x2000_0001, version: 1, netid: "tcp", address: "0.0.0.0.39.16", owner: "superuser"))
    try expectGolden(list, Array(record[start...]))
  }

  @Test func rpcbindGetAddressAndAddressListReplies() throws {
    // GETADDR (0x20000001, 1, tcp) over TCP from 127.0.0.1: the wildcard merged to loopback.
    var r = try rpcbindResults(ofReply: rpcbindHex("8d58576f 00000001 00000000 00000000 00000000 00000000 0000000f 3132372e 302e302e 312e3339 2e313600"))
    #expect(try RPCBindAddressResult(from: &r).address == "127.0.0.1.39.16")
    // GETADDRLIST (100000, 4, ""): tcp and udp, merged, with their semantics.
    let record = rpcbindHex("""
      953bb726 00000001 00000000 00000000 00000000 00000000
      00000001 0000000f 3132372e 302e302e 312e302e 31313100 00000003 74637000 00000003 00000004 696e6574 00000003 74637000
      00000001 0000000f 3132372e 302e302e 312e302e 31313100 00000003 75647000 00000001 00000004 696e6574 00000003 75647000
      00000000
      """)
    r = try rpcbindResults(ofReply: record)
    let start = r.position
    let list = try RPCBindEntryList(from: &r)
    #expect(list.entries == [
      RPCBindEntry(address: "127.0.0.1.0.111", netid: "tcp", semantics: RPCBindEntry.connectionOrientedOrderly, protocolFamily: "inet", protocolName: "tcp"),
      RPCBindEntry(address: "127.0.0.1.0.111", netid: "udp", semantics: RPCBindEntry.connectionless, protocolFamily: "inet", protocolName: "udp"),
    ])
    try expectGolden(list, Array(record[start...]))
  }

  @Test func callArgumentsLayout() throws {
    try expectGolden(PortmapperCallArguments(program: 7, version: 1, procedure: 2, arguments: [1, 2, 3]),
                     rpcbindHex("00000007 00000001 00000002 00000003 01020300"))
  }

  // MARK: bad input

  @Test func truncatedInputFails() throws {
    let full = rpcbindHex("20000002 00000001 00000003 74637000 0000000f 3132372e 302e302e 312e302e 31313100 00000008 6c696274 69727063")
    for cut in [0, 3, 8, 12, 20, 35, full.count - 1] {
      var r = XDRReader(Array(full.prefix(cut)))
      #expect(throws: XDRError.self) { try RPCBinding(from: &r) }
    }
    var r = XDRReader(rpcbindHex("00000001 000186a0 00000002"))  // a list entry cut short
    #expect(throws: XDRError.self) { try PortMappingList(from: &r) }
    r = XDRReader(rpcbindHex("00000001 000186a0 00000002 00000006 0000006f"))  // no terminating FALSE
    #expect(throws: XDRError.self) { try PortMappingList(from: &r) }
  }

  @Test func oversizedStringsAndListsAreRefusedBeforeReading() throws {
    // A netid claiming 4 GiB: refused at its length, not after a 4 GiB allocation.
    var r = XDRReader(rpcbindHex("00000001 00000001 ffffffff 74637000"))
    #expect { try RPCBinding(from: &r) } throws: { ($0 as? XDRError)?.code == .lengthTooLarge }
    // 256 bytes of owner: one more than the bound.
    var w = XDRWriter()
    w.write(UInt32(1)); w.write(UInt32(1))
    try w.writeString("tcp"); try w.writeString("0.0.0.0.0.1"); try w.writeString(String(repeating: "o", count: 256))
    r = XDRReader(w.finishedBytes())
    #expect { try RPCBinding(from: &r) } throws: { ($0 as? XDRError)?.code == .lengthTooLarge }
    #expect(throws: XDRError.self) {
      var out = XDRWriter()
      try RPCBinding(program: 1, version: 1, netid: String(repeating: "n", count: 256)).encode(to: &out)
    }
    // 10,001 list entries: refused at the 10,001st.
    w = XDRWriter()
    for _ in 0...RPCBind.maximumListEntries { w.write(true); PortMapping(program: 1, version: 1, transport: .tcp, port: 1).encode(to: &w) }
    w.write(false)
    r = XDRReader(w.finishedBytes())
    #expect { try PortMappingList(from: &r) } throws: { ($0 as? XDRError)?.code == .lengthTooLarge }
    // A bool that is not 0 or 1 as the "next" flag.
    r = XDRReader(rpcbindHex("00000002"))
    #expect { try RPCBindingList(from: &r) } throws: { ($0 as? XDRError)?.code == .invalidBool }
  }

  // MARK: universal addresses

  @Test("universal addresses parse", arguments: [
    ("127.0.0.1.0.111", "127.0.0.1", UInt16(111)),
    ("0.0.0.0.39.16", "0.0.0.0", 10000),
    ("10.1.2.3.255.255", "10.1.2.3", 65535),
    ("::.0.111", "::", 111),
    ("::1.3.232", "::1", 1000),
    ("fe80::1:2.0.0", "fe80::1:2", 0),
    ("::ffff:127.0.0.1.4.0", "::ffff:127.0.0.1", 1024),
  ])
  func universalAddressParses(text: String, host: String, port: UInt16) throws {
    let a = try UniversalAddress(parsing: text)
    #expect(a.host == host)
    #expect(a.port == port)
    #expect(a.description == text)
    #expect(try UniversalAddress(host: host, port: port).description == text)
  }

  @Test("bad universal addresses are refused with a reason", arguments: [
    "", "127.0.0.1", "127.0.0.1.111", "127.0.0.1.0.256", "127.0.0.1.0.-1", "127.0.0.1.0.x", "1.2.3.0.111",
    "1.2.3.4.5.0.111", "256.0.0.1.0.111", "a.b.c.d.0.111", ".0.111", "::g.0.111", "1:2:3:4:5:6:7:8:9.0.1",
    "127.0.0.1..111", "127.0.0.01x.0.111", "/run/rpcbind.sock",
  ])
  func badUniversalAddress(text: String) {
    #expect { try UniversalAddress(parsing: text) } throws: { error in
      guard let e = error as? UniversalAddressError else { return false }
      return e.address == text && !e.reason.isEmpty && e.description.contains("bad universal address")
    }
  }

  @Test func universalAddressProperties() throws {
    #expect(try UniversalAddress(parsing: "0.0.0.0.0.111").isWildcard)
    #expect(try UniversalAddress(parsing: "::.0.111").isWildcard)
    #expect(try !UniversalAddress(parsing: "127.0.0.1.0.111").isWildcard)
    #expect(try UniversalAddress(parsing: "127.1.2.3.0.111").isLoopback)
    #expect(try UniversalAddress(parsing: "::1.0.111").isLoopback)
    #expect(try UniversalAddress(parsing: "::ffff:127.0.0.1.0.111").isLoopback)
    #expect(try !UniversalAddress(parsing: "10.0.0.1.0.111").isLoopback)
    #expect(try UniversalAddress(parsing: "::1.0.111").netid(for: .udp) == "udp6")
    #expect(try UniversalAddress(parsing: "1.2.3.4.0.111").netid(for: .tcp) == "tcp")
    #expect(throws: UniversalAddressError.self) { try UniversalAddress(host: "localhost", port: 1) }
    #expect(throws: UniversalAddressError.self) { try UniversalAddress(parsing: String(repeating: "1", count: 300) + ".0.1") }
  }
}
