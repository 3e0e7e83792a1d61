/// An IDL `any`: a ``TypeCode`` and a value of that type (CORBA 3.0 §15.3.3.9: on the wire,
/// the TypeCode followed by the value as the TypeCode describes it).
///
/// The value is a dynamic ``AnyValue`` tree, so an `any` read from one stream can be written
/// into another (with other alignment, byte order or code sets) without knowing its type
/// statically. Typed values go in and out through ``CDRTypeCodeProvider``:
///
/// ```swift
/// let a = try CORBAAny(Int32(42))             // tk_long, .long(42)
/// let n = try a.extract(Int32.self)           // 42
/// let s = CORBAAny(type: .string(bound: 0), value: .string("hi"))
/// ```
public struct CORBAAny: Hashable, Sendable, CDREncodable, CDRDecodable {
  /// The type of ``value``.
  public var type: TypeCode
  /// The value, shaped as ``type`` says (checked when the `any` is written).
  public var value: AnyValue

  /// An `any` holding `value` of type `type`. Whether the two match is checked when the `any`
  /// is written (``encode(to:)``) or extracted.
  public init(type: TypeCode, value: AnyValue) {
    self.type = type
    self.value = value
  }

  /// The empty `any` (type `tk_null`).
  public init() {
    self.init(type: .null, value: .null)
  }

  /// An `any` holding a typed value: the value is written in CDR with its own encoder and read
  /// back as an ``AnyValue`` of type `T.typeCode`.
  /// - Throws: ``CDRError`` when the value's encoding does not match its TypeCode.
  public init<T: CDREncodable & CDRTypeCodeProvider>(_ value: T) throws {
    var w = CDRWriter(capacity: 64)
    try value.encode(to: &w)
    var r = CDRReader(w.bytes)
    var reader = AnyValueReader(budgetFor: r)
    let v = try reader.read(T.typeCode, from: &r)
    guard r.isAtEnd else {
      throw CDRError(.invalidValue, "\(T.self) wrote \(r.remaining) bytes more than its TypeCode \(T.typeCode) reads")
    }
    self.init(type: T.typeCode, value: v)
  }

  /// The value as a `T`, if ``type`` is equivalent to `T.typeCode` (§4.11.1.2).
  /// - Throws: ``CDRError`` (`.invalidValue`) when the types differ or the value does not
  ///   match ``type``; whatever `T`'s decoder throws.
  public func extract<T: CDRDecodable & CDRTypeCodeProvider>(_: T.Type = T.self) throws -> T {
    guard T.typeCode.equivalent(type) else {
      throw CDRError(.invalidValue, "the any holds \(type), not \(T.typeCode)")
    }
    var w = CDRWriter(capacity: 64)
    var writer = AnyValueWriter()
    try writer.write(value, as: type, to: &w)
    var r = CDRReader(w.bytes)
    let result = try T(from: &r)
    guard r.isAtEnd else {
      throw CDRError(.invalidValue, "\(T.self) read \(w.count - r.remaining) of the \(w.count) bytes of a \(type)")
    }
    return result
  }

  /// Writes the TypeCode, then the value.
  /// - Throws: ``CDRError`` (`.invalidValue`, `.boundExceeded`, …) when ``value`` does not
  ///   match ``type``.
  public func encode(to writer: inout CDRWriter) throws {
    try type.encode(to: &writer)
    var w = AnyValueWriter()
    try w.write(value, as: type, to: &writer)
  }

  /// Reads a TypeCode, then a value of that type.
  /// - Throws: ``CDRError`` for malformed data; for values of `valuetype`, value box,
  ///   `eventtype`, abstract or local interface and `native` types, which are not supported
  ///   (`.invalidValue`).
  public init(from reader: inout CDRReader) throws {
    var values = AnyValueReader(budgetFor: reader)
    self = try values.readAny(from: &reader)
  }
}

/// The value in a ``CORBAAny``: one case per kind of IDL value. Which case goes with which
/// ``TypeCode`` kind:
///
/// | TypeCode | AnyValue |
/// |---|---|
/// | `null`, `void` | ``null`` |
/// | integers, `float`, `double`, `boolean`, `octet` | the case of the same name |
/// | `long double` | ``longdouble(_:)`` |
/// | `char`, `wchar` | ``char(_:)``, ``wchar(_:)`` |
/// | `string`, `wstring` | ``string(_:)``, ``wstring(_:)`` |
/// | `fixed` | ``fixed(_:)`` |
/// | `enum` | ``enumerator(_:)`` (the ordinal) |
/// | `sequence`, array | ``sequence(_:)``, ``array(_:)`` |
/// | `struct` | ``structure(_:)`` (members in order) |
/// | `union` | ``union(discriminator:member:)`` (`member` is `nil` for the implicit default) |
/// | `exception` | ``exception(_:)`` |
/// | `any`, `TypeCode`, `Principal` | ``any(_:)``, ``typeCode(_:)``, ``principal(_:)`` |
/// | interface, component, home | ``objectReference(_:)`` |
/// | `alias` | the value of the aliased type |
///
/// Values of `valuetype`, value box, `eventtype`, abstract and local interface and `native`
/// types are not supported.
public enum AnyValue: Hashable, Sendable {
  case null
  case short(Int16)
  case long(Int32)
  case ushort(UInt16)
  case ulong(UInt32)
  case longlong(Int64)
  case ulonglong(UInt64)
  case float(Float)
  case double(Double)
  case longdouble(CDRLongDouble)
  case boolean(Bool)
  case char(Unicode.Scalar)
  case wchar(Unicode.Scalar)
  case octet(UInt8)
  case string(String)
  case wstring(String)
  case fixed(CDRFixed)
  /// An `enum` value: the enumerator's ordinal.
  case enumerator(UInt32)
  case sequence([AnyValue])
  case array([AnyValue])
  /// A `struct` value: its members, in order.
  case structure([AnyValue])
  /// A `union` value: the discriminator and the selected member's value, `nil` when no
  /// member is selected (a discriminator matching no label in a union without `default:`,
  /// the "implicit default" of the IDL and C++ mapping specs: the union is just the
  /// discriminator on the wire).
  indirect case union(discriminator: AnyValue, member: AnyValue?)
  /// An exception's members, in order. In an `any` the TypeCode says which exception it is,
  /// and the repository id that starts an exception in a reply body is not written (omniORB
  /// neither writes nor expects it).
  case exception([AnyValue])
  indirect case any(CORBAAny)
  case typeCode(TypeCode)
  /// An object reference, null or not, as raw IOR data.
  case objectReference(RawObjectReference)
  /// A `Principal` (a `sequence<octet>` on the wire).
  case principal([UInt8])

  /// Reads a value of type `type` (for instance the body of an `any` whose TypeCode was read
  /// separately, or a DII argument), with the same checks as ``CORBAAny/init(from:)``.
  public static func read(_ type: TypeCode, from reader: inout CDRReader) throws -> AnyValue {
    var values = AnyValueReader(budgetFor: reader)
    return try values.read(type, from: &reader)
  }

  /// Writes this value as a value of type `type`.
  /// - Throws: ``CDRError`` (`.invalidValue`, `.boundExceeded`, …) when it does not match.
  public func write(as type: TypeCode, to writer: inout CDRWriter) throws {
    var w = AnyValueWriter()
    try w.write(self, as: type, to: &writer)
  }
}

/// An object reference carried in an `any`, kept as the raw IOR (CORBA 3.0 §13.6.2): the type
/// id and the tagged profiles. The GIOP layer turns it into its own IOR type. A null
/// reference has an empty type id and no profiles.
public struct RawObjectReference: Hashable, Sendable, CDRCodable {
  /// One tagged profile: the tag (`TAG_INTERNET_IOP` is 0) and its octets.
  public struct Profile: Hashable, Sendable {
    /// The profile id (`IOP::ProfileId`).
    public var tag: UInt32
    /// The profile body, as it was on the wire (usually an encapsulation).
    public var data: [UInt8]
    /// A profile with tag `tag` and body `data`.
    public init(tag: UInt32, data: [UInt8]) {
      self.tag = tag
      self.data = data
    }
  }

  /// The most-derived interface's repository id (may be empty).
  public var typeID: String
  /// The profiles.
  public var profiles: [Profile]

  /// A reference with these parts.
  public init(typeID: String, profiles: [Profile]) {
    self.typeID = typeID
    self.profiles = profiles
  }

  /// The null reference.
  public static let null = RawObjectReference(typeID: "", profiles: [])

  /// Whether this is the null reference.
  public var isNull: Bool { typeID.isEmpty && profiles.isEmpty }

  /// Writes the IOR: the type id, then the profiles.
  public func encode(to writer: inout CDRWriter) throws {
    try writer.writeString(typeID)
    writer.write(UInt32(profiles.count))
    for p in profiles {
      writer.write(p.tag)
      writer.writeOctetSequence(p.data)
    }
  }

  /// Reads an IOR (the profile count is checked against the data left).
  public init(from reader: inout CDRReader) throws {
    typeID = try reader.readString()
    // Each profile: a tag and an octet count.
    let n = try reader.readCount(minimumElementSize: 8)
    profiles = []
    profiles.reserveCapacity(n)
    for _ in 0..<n {
      let tag: UInt32 = try reader.read()
      profiles.append(Profile(tag: tag, data: try reader.readOctetSequence()))
    }
  }
}

// MARK: - the TypeCode-driven reader and writer

/// Reads ``AnyValue``s as TypeCodes describe them, with limits: nesting depth (values and
/// nested `any`s together), and a budget of values that take no octets (`void`, empty
/// structs, arrays of them), so that no TypeCode makes a short stream expand into a huge tree.
struct AnyValueReader {
  var enclosing: [TypeCode] = []
  var depth = 0
  /// How many more values that took no octets may be read.
  var zeroWidthBudget: Int

  init(budgetFor reader: CDRReader) {
    zeroWidthBudget = 4096 + Swift.max(0, reader.remaining)
  }

  mutating func readAny(from r: inout CDRReader) throws -> CORBAAny {
    let type = try TypeCode(from: &r)
    // Recursive references in this TypeCode are bound inside it (checked when it was read).
    let saved = enclosing
    enclosing = []
    defer { enclosing = saved }
    return CORBAAny(type: type, value: try read(type, from: &r))
  }

  mutating func read(_ type: TypeCode, from r: inout CDRReader) throws -> AnyValue {
    guard depth < TypeCode.maximumNestingDepth else {
      throw CDRError(.boundExceeded, "value nested more than \(TypeCode.maximumNestingDepth) deep")
    }
    depth += 1
    defer { depth -= 1 }
    let start = r.position
    let value = try readBody(type, from: &r)
    if r.position == start {
      zeroWidthBudget -= 1
      guard zeroWidthBudget >= 0 else {
        throw CDRError(.lengthExceedsData, "too many values that take no octets for the data left")
      }
    }
    return value
  }

  private mutating func readElements(_ element: TypeCode, count: Int, from r: inout CDRReader) throws -> [AnyValue] {
    var values: [AnyValue] = []
    values.reserveCapacity(count)
    for _ in 0..<count { values.append(try read(element, from: &r)) }
    return values
  }

  private mutating func readBody(_ type: TypeCode, from r: inout CDRReader) throws -> AnyValue {
    switch type {
    case .null, .void: return .null
    case .short: return .short(try r.read())
    case .long: return .long(try r.read())
    case .ushort: return .ushort(try r.read())
    case .ulong: return .ulong(try r.read())
    case .longlong: return .longlong(try r.read())
    case .ulonglong: return .ulonglong(try r.read())
    case .float: return .float(try r.read(Float.self))
    case .double: return .double(try r.read(Double.self))
    case .longdouble: return .longdouble(try CDRLongDouble(from: &r))
    case .boolean: return .boolean(try r.read(Bool.self))
    case .char: return .char(try r.readChar())
    case .wchar: return .wchar(try r.readWChar())
    case .octet: return .octet(try r.read())
    case .string(let bound): return .string(try r.readString(bound: bound == 0 ? nil : Int(bound)))
    case .wstring(let bound): return .wstring(try r.readWString(bound: bound == 0 ? nil : Int(bound)))
    case .fixed(let digits, let scale): return .fixed(try CDRFixed(from: &r, digits: Int(digits), scale: Int(scale)))
    case .enum: return try readDiscriminator(type, from: &r)
    case .alias(_, _, let content): return try readBody(content, from: &r)
    case .sequence(let element, let bound):
      // At most one element per octet left; elements that take none count against the budget.
      let n = try r.readCount(minimumElementSize: minimumSize(element), bound: bound == 0 ? nil : Int(bound))
      return .sequence(try readElements(element, count: n, from: &r))
    case .array(let element, let length):
      let n = Int(length)
      let size = minimumSize(element)
      if size == 0 {
        try checkZeroWidth(n)
      } else if n > r.remaining / size {
        throw CDRError(.lengthExceedsData, "array of \(n) \(element), only \(r.remaining) bytes left")
      }
      return .array(try readElements(element, count: n, from: &r))
    case .struct(_, _, let members):
      enclosing.append(type)
      defer { enclosing.removeLast() }
      var values: [AnyValue] = []
      values.reserveCapacity(members.count)
      for m in members { values.append(try read(m.type, from: &r)) }
      return .structure(values)
    case .except(_, _, let members):
      enclosing.append(type)
      defer { enclosing.removeLast() }
      var values: [AnyValue] = []
      values.reserveCapacity(members.count)
      for m in members { values.append(try read(m.type, from: &r)) }
      return .exception(values)
    case .union(_, _, let disc, let members):
      enclosing.append(type)
      defer { enclosing.removeLast() }
      let d = try readDiscriminator(disc, from: &r)
      guard let i = selectedMember(members, d) else { return .union(discriminator: d, member: nil) }
      return .union(discriminator: d, member: try read(members[i].type, from: &r))
    case .any: return .any(try readAny(from: &r))
    case .typeCode: return .typeCode(try TypeCode(from: &r))
    case .principal: return .principal(try r.readOctetSequence())
    case .objref, .component, .home: return .objectReference(try RawObjectReference(from: &r))
    case .recursive(let id, _):
      guard let target = enclosing.last(where: { $0.id == id }) else {
        throw CDRError(.invalidValue, "recursive TypeCode reference to \(id) outside that type")
      }
      return try readBody(target, from: &r)
    case .value, .valueBox, .event, .abstractInterface, .localInterface, .native:
      throw CDRError(.invalidValue, "values of \(type.kind) in an any are not supported")
    }
  }

  private func checkZeroWidth(_ n: Int) throws {
    guard n <= zeroWidthBudget else {
      throw CDRError(.lengthExceedsData, "\(n) elements that may take no octets, for the data left")
    }
  }
}

/// The index of the union member a discriminator selects: the member with that label, else
/// the `default:` member, else none (the implicit default).
func selectedMember(_ members: [TypeCode.UnionMember], _ discriminator: AnyValue) -> Int? {
  members.firstIndex { $0.label == discriminator } ?? members.firstIndex { $0.label == nil }
}

/// A lower bound of the octets a value of `type` takes (alignment not counted), looking at
/// no more than a few dozen TypeCodes (what is not looked at counts as 0).
func minimumSize(_ type: TypeCode) -> Int {
  var visits = 64
  return minimumSize(type, visits: &visits)
}

private func minimumSize(_ type: TypeCode, visits: inout Int) -> Int {
  guard visits > 0 else { return 0 }
  visits -= 1
  let cap = 1 << 24
  switch type {
  case .null, .void, .recursive, .value, .valueBox, .event, .abstractInterface, .localInterface, .native: return 0
  case .boolean, .char, .octet, .wchar: return 1
  case .short, .ushort: return 2
  case .long, .ulong, .float, .enum, .sequence, .wstring, .principal, .any, .typeCode: return 4
  case .longlong, .ulonglong, .double: return 8
  case .longdouble: return 16
  case .string: return 5
  case .objref, .component, .home: return 9
  case .fixed(let digits, _): return CDRFixed.encodedSize(digits: Int(digits))
  case .alias(_, _, let content): return minimumSize(content, visits: &visits)
  case .array(let element, let length):
    let (product, overflow) = minimumSize(element, visits: &visits).multipliedReportingOverflow(by: Int(length))
    return overflow ? cap : Swift.min(cap, product)
  case .union(_, _, let disc, _): return minimumSize(disc, visits: &visits)
  case .struct(_, _, let members):
    var total = 0
    for m in members { total = Swift.min(cap, total + minimumSize(m.type, visits: &visits)) }
    return total
  case .except(_, _, let members):
    var total = 0
    for m in members { total = Swift.min(cap, total + minimumSize(m.type, visits: &visits)) }
    return total
  }
}

/// Writes ``AnyValue``s as TypeCodes describe them, checking that each value matches.
struct AnyValueWriter {
  var enclosing: [TypeCode] = []
  var depth = 0

  private func mismatch(_ value: AnyValue, _ type: TypeCode) -> CDRError {
    CDRError(.invalidValue, "value \(value) does not match TypeCode \(type)")
  }

  mutating func write(_ value: AnyValue, as type: TypeCode, to w: inout CDRWriter) throws {
    guard depth < TypeCode.maximumNestingDepth else {
      throw CDRError(.boundExceeded, "value nested more than \(TypeCode.maximumNestingDepth) deep")
    }
    depth += 1
    defer { depth -= 1 }
    switch (type, value) {
    case (.null, .null), (.void, .null): break
    case (.short, .short(let v)): w.write(v)
    case (.long, .long(let v)): w.write(v)
    case (.ushort, .ushort(let v)): w.write(v)
    case (.ulong, .ulong(let v)): w.write(v)
    case (.longlong, .longlong(let v)): w.write(v)
    case (.ulonglong, .ulonglong(let v)): w.write(v)
    case (.float, .float(let v)): w.write(v)
    case (.double, .double(let v)): w.write(v)
    case (.longdouble, .longdouble(let v)): v.encode(to: &w)
    case (.boolean, .boolean(let v)): w.write(v)
    case (.char, .char(let v)): try w.writeChar(v)
    case (.wchar, .wchar(let v)): try w.writeWChar(v)
    case (.octet, .octet(let v)): w.write(v)
    case (.string(let bound), .string(let v)):
      if bound > 0, v.unicodeScalars.count > bound {
        throw CDRError(.boundExceeded, "string of \(v.unicodeScalars.count) characters exceeds its bound \(bound)")
      }
      try w.writeString(v)
    case (.wstring(let bound), .wstring(let v)):
      if bound > 0, v.utf16.count > bound {
        throw CDRError(.boundExceeded, "wstring of \(v.utf16.count) units exceeds its bound \(bound)")
      }
      try w.writeWString(v)
    case (.fixed(let digits, let scale), .fixed(let v)): try v.encode(to: &w, digits: Int(digits), scale: Int(scale))
    case (.enum, .enumerator): try writeDiscriminator(value, type, to: &w)
    case (.alias(_, _, let content), _):
      depth -= 1  // an alias is not a level of its own
      defer { depth += 1 }
      try write(value, as: content, to: &w)
    case (.sequence(let element, let bound), .sequence(let values)):
      if bound > 0, values.count > bound {
        throw CDRError(.boundExceeded, "sequence of \(values.count) elements exceeds its bound \(bound)")
      }
      w.write(UInt32(truncatingIfNeeded: values.count))
      for v in values { try write(v, as: element, to: &w) }
    case (.array(let element, let length), .array(let values)):
      guard values.count == length else {
        throw CDRError(.invalidValue, "array of \(values.count) elements for a \(type)")
      }
      for v in values { try write(v, as: element, to: &w) }
    case (.struct(_, _, let members), .structure(let values)):
      guard values.count == members.count else {
        throw CDRError(.invalidValue, "\(values.count) values for \(type) of \(members.count) members")
      }
      enclosing.append(type)
      defer { enclosing.removeLast() }
      for (m, v) in zip(members, values) { try write(v, as: m.type, to: &w) }
    case (.except(_, _, let members), .exception(let values)):
      guard values.count == members.count else {
        throw CDRError(.invalidValue, "\(values.count) values for \(type) of \(members.count) members")
      }
      enclosing.append(type)
      defer { enclosing.removeLast() }
      for (m, v) in zip(members, values) { try write(v, as: m.type, to: &w) }
    case (.union(let unionID, _, let disc, let members), .union(let d, let member)):
      enclosing.append(type)
      defer { enclosing.removeLast() }
      let selected = selectedMember(members, d)
      switch (selected, member) {
      case (let i?, let m?):
        try writeDiscriminator(d, disc, to: &w)
        try write(m, as: members[i].type, to: &w)
      case (nil, nil):
        try writeDiscriminator(d, disc, to: &w)
      case (let i?, nil):
        throw CDRError(.invalidValue, "union \(unionID): discriminator \(d) selects \(members[i].name) but no value is given")
      case (nil, _?):
        throw CDRError(.invalidValue, "union \(unionID): discriminator \(d) selects no member but a value is given")
      }
    case (.any, .any(let a)):
      try a.type.encode(to: &w)
      let saved = enclosing
      enclosing = []
      defer { enclosing = saved }
      try write(a.value, as: a.type, to: &w)
    case (.typeCode, .typeCode(let t)): try t.encode(to: &w)
    case (.principal, .principal(let octets)): w.writeOctetSequence(octets)
    case (.objref, .objectReference(let ref)), (.component, .objectReference(let ref)), (.home, .objectReference(let ref)):
      try ref.encode(to: &w)
    case (.recursive(let id, _), _):
      guard let target = enclosing.last(where: { $0.id == id }) else {
        throw CDRError(.invalidValue, "recursive TypeCode reference to \(id) outside that type")
      }
      depth -= 1
      defer { depth += 1 }
      try write(value, as: target, to: &w)
    case (.value, _), (.valueBox, _), (.event, _), (.abstractInterface, _), (.localInterface, _), (.native, _):
      throw CDRError(.invalidValue, "values of \(type.kind) in an any are not supported")
    default:
      throw mismatch(value, type)
    }
  }
}

// MARK: - static TypeCodes of Swift types

/// A type whose values have a static IDL type: what an `any` holding one says it holds.
/// The basic Swift types that map IDL basic types adopt it; generated code for IDL structs,
/// unions, enums and typedefs does too.
public protocol CDRTypeCodeProvider {
  /// The TypeCode of every value of this type.
  static var typeCode: TypeCode { get }
}

extension Int16: CDRTypeCodeProvider { public static var typeCode: TypeCode { .short } }
extension Int32: CDRTypeCodeProvider { public static var typeCode: TypeCode { .long } }
extension Int64: CDRTypeCodeProvider { public static var typeCode: TypeCode { .longlong } }
extension Int: CDRTypeCodeProvider { public static var typeCode: TypeCode { .longlong } }
extension UInt16: CDRTypeCodeProvider { public static var typeCode: TypeCode { .ushort } }
extension UInt32: CDRTypeCodeProvider { public static var typeCode: TypeCode { .ulong } }
extension UInt64: CDRTypeCodeProvider { public static var typeCode: TypeCode { .ulonglong } }
extension UInt: CDRTypeCodeProvider { public static var typeCode: TypeCode { .ulonglong } }
extension Float: CDRTypeCodeProvider { public static var typeCode: TypeCode { .float } }
extension Double: CDRTypeCodeProvider { public static var typeCode: TypeCode { .double } }
extension Bool: CDRTypeCodeProvider { public static var typeCode: TypeCode { .boolean } }
extension UInt8: CDRTypeCodeProvider { public static var typeCode: TypeCode { .octet } }
extension String: CDRTypeCodeProvider { public static var typeCode: TypeCode { .string(bound: 0) } }
extension WString: CDRTypeCodeProvider { public static var typeCode: TypeCode { .wstring(bound: 0) } }
extension CDRChar: CDRTypeCodeProvider { public static var typeCode: TypeCode { .char } }
extension CDRWChar: CDRTypeCodeProvider { public static var typeCode: TypeCode { .wchar } }
extension CDRLongDouble: CDRTypeCodeProvider { public static var typeCode: TypeCode { .longdouble } }
extension CORBAAny: CDRTypeCodeProvider { public static var typeCode: TypeCode { .any } }
/// The `tk_TypeCode` TypeCode (the enum case satisfies the requirement).
extension TypeCode: CDRTypeCodeProvider {}

/// An unbounded `sequence<T>`.
extension Array: CDRTypeCodeProvider where Element: CDRTypeCodeProvider {
  public static var typeCode: TypeCode { .sequence(element: Element.typeCode, bound: 0) }
}
