import Testing

@testable import CourierWire

// string/wstring/char/wchar layouts from CORBA 3.0 §15.3.2.7 and §15.3.1.6:
//  - string: ulong length counting the terminating NUL, the octets, NUL.
//  - GIOP 1.2 wchar: one octet holding the number of octets, then the octets (UTF-16 here,
//    big endian with no byte-order mark); wstring: ulong octet count, the octets, no NUL.
//  - GIOP 1.0/1.1 wchar: one 2-octet unit aligned on 2 in the stream's byte order; wstring:
//    ulong count of units including a terminating NUL unit, then the units.

@Suite("CDR string and char")
struct CDRStringGoldenTests {

  @Test("\"Hi\" big endian is 00000003 'H' 'i' 00")
  func hiBigEndian() throws {
    let bytes = try written(.bigEndian) { try $0.writeString("Hi") }
    #expect(bytes == [0, 0, 0, 3, 0x48, 0x69, 0x00])
  }

  @Test("\"Hi\" little endian has the length LSB first, the text unchanged")
  func hiLittleEndian() throws {
    let bytes = try written(.littleEndian) { try $0.writeString("Hi") }
    #expect(bytes == [3, 0, 0, 0, 0x48, 0x69, 0x00])
  }

  @Test("the empty string is length 1 and a NUL", arguments: bothOrders)
  func emptyString(order: ByteOrder) throws {
    let bytes = try written(order) { try $0.writeString("") }
    #expect(bytes == orderedBytes(1, size: 4, order) + [0])
    var r = reader(bytes, order)
    #expect(try r.readString() == "")
    #expect(r.isAtEnd)
  }

  @Test("a string after an octet: the length is aligned on 4")
  func stringAfterOctet() throws {
    let bytes = try written(.bigEndian) { w in
      w.write(UInt8(1))
      try w.writeString("A")
    }
    #expect(bytes == [1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0])
  }

  @Test("UTF-8 text: the length counts octets, not characters")
  func utf8Length() throws {
    let bytes = try written(.bigEndian) { try $0.writeString("é€😀") }
    let expected: [UInt8] = [
      0, 0, 0, 10,  // 2 + 3 + 4 octets + NUL
      0xC3, 0xA9,  // é U+00E9
      0xE2, 0x82, 0xAC,  // € U+20AC
      0xF0, 0x9F, 0x98, 0x80,  // 😀 U+1F600
      0x00,
    ]
    #expect(bytes == expected, "\(hex(bytes))")
    var r = reader(bytes, .bigEndian)
    #expect(try r.readString() == "é€😀")
  }

  @Test("ISO-8859-1 code set: one octet per character")
  func latin1() throws {
    let sets = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)
    let bytes = try written(.bigEndian, codeSets: sets) { try $0.writeString("aéÿ") }
    #expect(bytes == [0, 0, 0, 4, 0x61, 0xE9, 0xFF, 0x00])
    var r = reader(bytes, .bigEndian, codeSets: sets)
    #expect(try r.readString() == "aéÿ")
    // The same octets are not UTF-8.
    var utf8 = reader(bytes, .bigEndian)
    expectCDRError(.dataConversion) { try utf8.readString() }
  }

  @Test("ISO-646 code set: ASCII strings are written like UTF-8")
  func iso646() throws {
    let sets = TransmissionCodeSets(char: .iso646, wchar: .utf16)
    let bytes = try written(.bigEndian, codeSets: sets) { try $0.writeString("ok") }
    #expect(bytes == [0, 0, 0, 3, 0x6F, 0x6B, 0])
  }

  @Test("String's CDRCodable conformance is writeString/readString")
  func stringConformance() throws {
    let viaEncode = try written(.littleEndian) { try $0.encode("xyz") }
    let viaWrite = try written(.littleEndian) { try $0.writeString("xyz") }
    #expect(viaEncode == viaWrite)
    #expect(viaEncode == [4, 0, 0, 0, 0x78, 0x79, 0x7A, 0])
  }

  @Test("bounded string within its bound reads back")
  func boundedString() throws {
    var r = reader([0, 0, 0, 4, 0x61, 0x62, 0x63, 0], .bigEndian)
    #expect(try r.readString(bound: 3) == "abc")
  }

  @Test("char is one octet; UTF-8 allows ASCII only, ISO-8859-1 allows Latin-1")
  func chars() throws {
    #expect(try written(.bigEndian) { try $0.encode(CDRChar("A")) } == [0x41])
    let latin = TransmissionCodeSets(char: .iso8859_1, wchar: .utf16)
    #expect(try written(.bigEndian, codeSets: latin) { try $0.writeChar("é") } == [0xE9])
    var r = reader([0x41, 0xE9], .bigEndian, codeSets: latin)
    #expect(try r.decode(CDRChar.self) == CDRChar("A"))
    #expect(try r.readChar() == "é")
    // Under UTF-8 a char octet above 0x7F is not a whole character: refused, as the writer refuses it.
    var utf8 = reader([0xE9], .bigEndian)
    #expect(throws: CDRError.self) { try utf8.readChar() }
  }
}

@Suite("CDR wstring and wchar")
struct CDRWideStringGoldenTests {

  @Test("GIOP 1.2 wstring \"Hi\": octet count 4, UTF-16BE units, no NUL, no BOM")
  func wstring12BigEndian() throws {
    let bytes = try written(.bigEndian, giopMinor: 2) { try $0.writeWString("Hi") }
    #expect(bytes == [0, 0, 0, 4, 0x00, 0x48, 0x00, 0x69])
  }

  @Test("GIOP 1.2 wstring in a little-endian stream: the count is LE, the units stay BE (no BOM)")
  func wstring12LittleEndian() throws {
    let bytes = try written(.littleEndian, giopMinor: 2) { try $0.writeWString("Hi") }
    #expect(bytes == [4, 0, 0, 0, 0x00, 0x48, 0x00, 0x69])
    var r = reader(bytes, .littleEndian, giopMinor: 2)
    #expect(try r.readWString() == "Hi")
  }

  @Test("GIOP 1.2 wstring outside the BMP uses a surrogate pair")
  func wstring12Astral() throws {
    let bytes = try written(.bigEndian, giopMinor: 2) { try $0.encode(WString("😀")) }
    #expect(bytes == [0, 0, 0, 4, 0xD8, 0x3D, 0xDE, 0x00])  // U+1F600 = D83D DE00
    var r = reader(bytes, .bigEndian, giopMinor: 2)
    #expect(try r.decode(WString.self) == "😀")
  }

  @Test("GIOP 1.2 empty wstring is a zero count", arguments: bothOrders)
  func wstring12Empty(order: ByteOrder) throws {
    let bytes = try written(order, giopMinor: 2) { try $0.writeWString("") }
    #expect(bytes == [0, 0, 0, 0])
    var r = reader(bytes, order, giopMinor: 2)
    #expect(try r.readWString() == "")
  }

  @Test("GIOP 1.0/1.1 wstring \"Hi\" big endian: unit count incl. NUL, units, NUL unit", arguments: [UInt8(0), 1])
  func wstring11BigEndian(minor: UInt8) throws {
    let bytes = try written(.bigEndian, giopMinor: minor) { try $0.writeWString("Hi") }
    #expect(bytes == [0, 0, 0, 3, 0x00, 0x48, 0x00, 0x69, 0x00, 0x00])
    var r = reader(bytes, .bigEndian, giopMinor: minor)
    #expect(try r.readWString() == "Hi")
    #expect(r.isAtEnd)
  }

  @Test("GIOP 1.0/1.1 wstring little endian: units in the stream's order", arguments: [UInt8(0), 1])
  func wstring11LittleEndian(minor: UInt8) throws {
    let bytes = try written(.littleEndian, giopMinor: minor) { try $0.writeWString("Hi") }
    #expect(bytes == [3, 0, 0, 0, 0x48, 0x00, 0x69, 0x00, 0x00, 0x00])
    var r = reader(bytes, .littleEndian, giopMinor: minor)
    #expect(try r.readWString() == "Hi")
  }

  @Test("GIOP 1.1 empty wstring is one NUL unit")
  func wstring11Empty() throws {
    let bytes = try written(.bigEndian, giopMinor: 1) { try $0.writeWString("") }
    #expect(bytes == [0, 0, 0, 1, 0, 0])
  }

  @Test("GIOP 1.1 wstring after an octet")
  func wstring11AfterOctet() throws {
    let bytes = try written(.bigEndian, giopMinor: 1) { w in
      w.write(UInt8(7))
      try w.writeWString("A")
    }
    #expect(bytes == [7, 0, 0, 0, 0, 0, 0, 2, 0x00, 0x41, 0, 0])
  }

  @Test("GIOP 1.2 wchar 'A' is 02 00 41", arguments: bothOrders)
  func wchar12(order: ByteOrder) throws {
    let bytes = try written(order, giopMinor: 2) { try $0.encode(CDRWChar("A")) }
    #expect(bytes == [0x02, 0x00, 0x41])
    var r = reader(bytes, order, giopMinor: 2)
    #expect(try r.decode(CDRWChar.self) == CDRWChar("A"))
  }

  @Test("GIOP 1.2 wchar outside the BMP: 4 octets, a surrogate pair; no alignment")
  func wchar12Astral() throws {
    let bytes = try written(.bigEndian, giopMinor: 2) { w in
      w.write(UInt8(9))
      try w.writeWChar("😀")
    }
    #expect(bytes == [9, 0x04, 0xD8, 0x3D, 0xDE, 0x00])
    var r = reader(bytes, .bigEndian, giopMinor: 2)
    #expect(try r.read(UInt8.self) == 9)
    #expect(try r.readWChar() == "😀")
  }

  @Test("GIOP 1.0/1.1 wchar: a 2-octet unit aligned on 2 in the stream's order", arguments: [UInt8(0), 1])
  func wchar11(minor: UInt8) throws {
    let be = try written(.bigEndian, giopMinor: minor) { w in
      w.write(UInt8(1))
      try w.writeWChar("€")  // U+20AC
    }
    #expect(be == [1, 0, 0x20, 0xAC])
    let le = try written(.littleEndian, giopMinor: minor) { w in
      w.write(UInt8(1))
      try w.writeWChar("€")
    }
    #expect(le == [1, 0, 0xAC, 0x20])
    var r = reader(le, .littleEndian, giopMinor: minor)
    #expect(try r.read(UInt8.self) == 1)
    #expect(try r.readWChar() == "€")
  }

  @Test("GIOP 1.2 wstring with a little-endian BOM FFFE")
  func bomLittleEndian() throws {
    let bytes: [UInt8] = [0, 0, 0, 6, 0xFF, 0xFE, 0x48, 0x00, 0x69, 0x00]
    var r = reader(bytes, .bigEndian, giopMinor: 2)
    #expect(try r.readWString() == "Hi")
    #expect(r.isAtEnd)
  }

  @Test("GIOP 1.2 wstring with a big-endian BOM FEFF, in a little-endian stream")
  func bomBigEndian() throws {
    let bytes: [UInt8] = [6, 0, 0, 0, 0xFE, 0xFF, 0x00, 0x48, 0x00, 0x69]
    var r = reader(bytes, .littleEndian, giopMinor: 2)
    #expect(try r.readWString() == "Hi")
  }

  @Test("GIOP 1.2 wstring: an LE BOM also applies to surrogate pairs")
  func bomLittleEndianAstral() throws {
    let bytes: [UInt8] = [0, 0, 0, 6, 0xFF, 0xFE, 0x3D, 0xD8, 0x00, 0xDE]
    var r = reader(bytes, .bigEndian, giopMinor: 2)
    #expect(try r.readWString() == "😀")
  }

  @Test("GIOP 1.2 wstring that is only a BOM is empty")
  func bomOnly() throws {
    var r = reader([0, 0, 0, 2, 0xFF, 0xFE], .bigEndian, giopMinor: 2)
    #expect(try r.readWString() == "")
  }

  @Test("GIOP 1.2 wchar with a BOM")
  func wcharBOM() throws {
    var r = reader([4, 0xFF, 0xFE, 0x41, 0x00, 4, 0xFE, 0xFF, 0x00, 0x42], .bigEndian, giopMinor: 2)
    #expect(try r.readWChar() == "A")
    #expect(try r.readWChar() == "B")
    #expect(r.isAtEnd)
  }

  @Test("bounded wstring within its bound reads back", arguments: [UInt8(1), 2])
  func boundedWString(minor: UInt8) throws {
    let bytes = try written(.bigEndian, giopMinor: minor) { try $0.writeWString("abc") }
    var r = reader(bytes, .bigEndian, giopMinor: minor)
    #expect(try r.readWString(bound: 3) == "abc")
  }
}

@Suite("Writer refuses strings it cannot represent")
struct CDRWriterStringErrorTests {

  @Test("a string containing NUL throws .invalidString and writes nothing")
  func nulInString() throws {
    var w = CDRWriter(byteOrder: .bigEndian)
    expectCDRError(.invalidString) { try w.writeString("a\u{0}b") }
    #expect(w.count == 0)
  }

  @Test("a string containing NUL throws in ISO-8859-1 too")
  func nulInLatin1String() throws {
    var w = CDRWriter(byteOrder: .bigEndian, codeSets: TransmissionCodeSets(char: .iso8859_1, wchar: .utf16))
    #expect(throws: CDRError.self) { try w.writeString("a\u{0}b") }
  }

  @Test("ISO-8859-1 with a character above U+00FF throws .dataConversion")
  func latin1OutOfRange() throws {
    var w = CDRWriter(byteOrder: .bigEndian, codeSets: TransmissionCodeSets(char: .iso8859_1, wchar: .utf16))
    expectCDRError(.dataConversion) { try w.writeString("price: 5€") }
    expectCDRError(.dataConversion) { try w.writeString("\u{100}") }
    expectCDRError(.dataConversion) { try w.writeChar("€") }
  }

  @Test("ISO-646 with a non-ASCII character throws .dataConversion")
  func iso646OutOfRange() throws {
    var w = CDRWriter(byteOrder: .bigEndian, codeSets: TransmissionCodeSets(char: .iso646, wchar: .utf16))
    expectCDRError(.dataConversion) { try w.writeString("é") }
  }

  @Test("UTF-8 char outside ASCII cannot be one octet")
  func utf8CharOutOfRange() throws {
    var w = CDRWriter(byteOrder: .bigEndian)
    expectCDRError(.dataConversion) { try w.writeChar("é") }
    expectCDRError(.dataConversion) { try w.encode(CDRChar("😀")) }
    #expect(w.count == 0)
  }

  @Test("an unsupported char code set throws .dataConversion")
  func unsupportedCodeSet() throws {
    var w = CDRWriter(byteOrder: .bigEndian, codeSets: TransmissionCodeSets(char: .utf16, wchar: .utf16))
    expectCDRError(.dataConversion) { try w.writeString("x") }
  }

  @Test("a wstring containing NUL throws .invalidString", arguments: [UInt8(1), 2])
  func nulInWString(minor: UInt8) throws {
    var w = CDRWriter(byteOrder: .bigEndian, giopMinor: minor)
    expectCDRError(.invalidString) { try w.writeWString("a\u{0}") }
    #expect(w.count == 0)
  }

  @Test("a GIOP 1.0/1.1 wchar outside the BMP throws .dataConversion", arguments: [UInt8(0), 1])
  func astralWChar11(minor: UInt8) throws {
    var w = CDRWriter(byteOrder: .bigEndian, giopMinor: minor)
    expectCDRError(.dataConversion) { try w.writeWChar("😀") }
  }
}
