import Foundation
import Testing

@testable import CourierWire

// WString, CDRChar, CDRWChar and CDRLongDouble are Codable so they can be fields of bridged
// structs; other coders must still be able to handle them.

@Suite("CDR value types under a non-CDR coder (JSON)")
struct CDRForeignCoderTests {

  struct Record: Codable, Equatable {
    var w: WString
    var c: CDRChar
    var wc: CDRWChar
    var q: CDRLongDouble
  }

  @Test("a JSON round trip keeps every field")
  func json() throws {
    let r = Record(w: "é😀", c: CDRChar("A"), wc: CDRWChar("€"), q: CDRLongDouble(high: .max, low: 1))
    let data = try JSONEncoder().encode(r)
    #expect(try JSONDecoder().decode(Record.self, from: data) == r)
    let text = String(decoding: data, as: UTF8.self)
    #expect(text.contains("\"w\":\"é😀\""), "\(text)")
  }

  @Test("a char decoded from JSON must be exactly one character")
  func jsonCharCount() throws {
    let data = Data(#"{"w":"","c":"AB","wc":"x","q":[0,0]}"#.utf8)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(Record.self, from: data) }
  }
}
