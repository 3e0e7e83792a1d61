/// The kind of a ``TypeCode`` (CORBA 3.0 §4.11, the `TCKind` enum), with its wire value.
public enum TCKind: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case null = 0, void, short, long, ushort, ulong, float, double, boolean, char, octet, `any`
  case typeCode, principal, objref, `struct`, union, `enum`, string, sequence, array, alias, except
  case longlong, ulonglong, longdouble, wchar, wstring, fixed
  case value, valueBox, native, abstractInterface, localInterface, component, home, event

  /// The IDL name, `tk_` and all (as omniORB and JacORB print it).
  public var description: String { "tk_" + Self.names[Int(rawValue)] }

  private static let names = [
    "null", "void", "short", "long", "ushort", "ulong", "float", "double", "boolean", "char", "octet", "any",
    "TypeCode", "Principal", "objref", "struct", "union", "enum", "string", "sequence", "array", "alias", "except",
    "longlong", "ulonglong", "longdouble", "wchar", "wstring", "fixed", "value", "value_box", "native",
    "abstract_interface", "local_interface", "component", "home", "event",
  ]
}

/// A description of an IDL type (CORBA 3.0 §4.11 "TypeCodes"), as carried in an `any` and in
/// CDR streams (§15.3.5 "Encoding of TypeCodes").
///
/// A value type: two TypeCodes are `==` when they are ``equal(_:)`` in the CORBA sense (the same
/// parameters, names included). ``equivalent(_:)`` is the looser comparison of
/// `TypeCode::equivalent` (aliases stripped, names ignored, repository ids compared when both
/// are present).
///
/// Recursive types use ``recursive(id:kind:)``: a reference to the enclosing `struct`, `union`,
/// `valuetype` or `eventtype` whose repository id is `id`. It is what an indirection to an
/// enclosing TypeCode decodes to, and it is written back as an indirection.
///
/// ```swift
/// // struct Node { long value; sequence<Node> children; };
/// let node = TypeCode.struct(id: "IDL:Node:1.0", name: "Node", members: [
///   .init(name: "value", type: .long),
///   .init(name: "children", type: .sequence(element: .recursive(id: "IDL:Node:1.0"), bound: 0)),
/// ])
/// ```
public indirect enum TypeCode: Hashable, Sendable {
  case null, void, short, long, ushort, ulong, float, double, boolean, char, octet, `any`, typeCode, principal
  /// An interface: `tk_objref`.
  case objref(id: String, name: String)
  /// A `struct`.
  case `struct`(id: String, name: String, members: [Member])
  /// A `union` switching on `discriminator` (an integer, `char`, `wchar`, `boolean` or `enum`
  /// type). At most one member has the `default` label (a `nil` ``UnionMember/label``).
  case union(id: String, name: String, discriminator: TypeCode, members: [UnionMember])
  /// An `enum` and its enumerators, in order.
  case `enum`(id: String, name: String, members: [String])
  /// A `string`; a bound of 0 means unbounded.
  case string(bound: UInt32)
  /// A `sequence`; a bound of 0 means unbounded.
  case sequence(element: TypeCode, bound: UInt32)
  /// An array dimension of `length` elements (a multi-dimensional array nests arrays).
  case array(element: TypeCode, length: UInt32)
  /// A `typedef`.
  case alias(id: String, name: String, content: TypeCode)
  /// An `exception`.
  case except(id: String, name: String, members: [Member])
  case longlong, ulonglong, longdouble, wchar
  /// A `wstring`; a bound of 0 means unbounded.
  case wstring(bound: UInt32)
  /// A `fixed<digits,scale>`.
  case fixed(digits: UInt16, scale: Int16)
  /// A `valuetype`: `modifier` is a `ValueModifier` (0 none, 1 custom, 2 abstract, 3
  /// truncatable); `base` is the concrete base type, or ``null`` when there is none.
  case value(id: String, name: String, modifier: Int16, base: TypeCode, members: [ValueMember])
  /// A boxed value type.
  case valueBox(id: String, name: String, content: TypeCode)
  /// A `native` type.
  case native(id: String, name: String)
  /// An `abstract interface`.
  case abstractInterface(id: String, name: String)
  /// A `local interface`.
  case localInterface(id: String, name: String)
  /// A CORBA component (CCM).
  case component(id: String, name: String)
  /// A CORBA component home (CCM).
  case home(id: String, name: String)
  /// An `eventtype` (CCM): laid out like ``value(id:name:modifier:base:members:)``.
  case event(id: String, name: String, modifier: Int16, base: TypeCode, members: [ValueMember])
  /// A reference to the enclosing `struct`/`union`/`valuetype`/`eventtype` (of kind `kind`)
  /// whose repository id is `id`: on the wire, an indirection (0xffffffff and an offset).
  case recursive(id: String, kind: TCKind = .struct)

  /// A member of a `struct` or an `exception`.
  public struct Member: Hashable, Sendable {
    /// The member's name (may be empty: names are optional in TypeCodes).
    public var name: String
    /// The member's type.
    public var type: TypeCode
    /// A member called `name` of type `type`.
    public init(name: String, type: TypeCode) {
      self.name = name
      self.type = type
    }
  }

  /// A member (one label of a case) of a `union`.
  public struct UnionMember: Hashable, Sendable {
    /// The case label: a value of the discriminator type, or `nil` for `default:`.
    public var label: AnyValue?
    /// The member's name.
    public var name: String
    /// The member's type.
    public var type: TypeCode
    /// A member selected by `label` (`nil`: the `default:` member).
    public init(label: AnyValue?, name: String, type: TypeCode) {
      self.label = label
      self.name = name
      self.type = type
    }
  }

  /// A state member of a `valuetype`.
  public struct ValueMember: Hashable, Sendable {
    /// The member's name.
    public var name: String
    /// The member's type.
    public var type: TypeCode
    /// `PRIVATE_MEMBER` (0) or `PUBLIC_MEMBER` (1).
    public var visibility: Int16
    /// A state member; public unless `visibility` says otherwise.
    public init(name: String, type: TypeCode, visibility: Int16 = 1) {
      self.name = name
      self.type = type
      self.visibility = visibility
    }
  }

  /// The unbounded `string`.
  public static let unboundedString = TypeCode.string(bound: 0)
  /// The unbounded `wstring`.
  public static let unboundedWString = TypeCode.wstring(bound: 0)

  /// The kind (`TypeCode::kind`). A ``recursive(id:kind:)`` reference reports the kind it
  /// was given.
  public var kind: TCKind {
    switch self {
    case .null: .null
    case .void: .void
    case .short: .short
    case .long: .long
    case .ushort: .ushort
    case .ulong: .ulong
    case .float: .float
    case .double: .double
    case .boolean: .boolean
    case .char: .char
    case .octet: .octet
    case .any: .any
    case .typeCode: .typeCode
    case .principal: .principal
    case .objref: .objref
    case .struct: .struct
    case .union: .union
    case .enum: .enum
    case .string: .string
    case .sequence: .sequence
    case .array: .array
    case .alias: .alias
    case .except: .except
    case .longlong: .longlong
    case .ulonglong: .ulonglong
    case .longdouble: .longdouble
    case .wchar: .wchar
    case .wstring: .wstring
    case .fixed: .fixed
    case .value: .value
    case .valueBox: .valueBox
    case .native: .native
    case .abstractInterface: .abstractInterface
    case .localInterface: .localInterface
    case .component: .component
    case .home: .home
    case .event: .event
    case .recursive(_, let kind): kind
    }
  }

  /// The repository id (`TypeCode::id`), for the kinds that have one; `nil` for the others.
  public var id: String? {
    switch self {
    case .objref(let id, _), .struct(let id, _, _), .union(let id, _, _, _), .enum(let id, _, _),
      .alias(let id, _, _), .except(let id, _, _), .value(let id, _, _, _, _), .valueBox(let id, _, _),
      .native(let id, _), .abstractInterface(let id, _), .localInterface(let id, _), .component(let id, _),
      .home(let id, _), .event(let id, _, _, _, _), .recursive(let id, _):
      id
    default: nil
    }
  }

  /// The simple name (`TypeCode::name`), for the kinds that have one; `nil` for the others.
  public var name: String? {
    switch self {
    case .objref(_, let name), .struct(_, let name, _), .union(_, let name, _, _), .enum(_, let name, _),
      .alias(_, let name, _), .except(_, let name, _), .value(_, let name, _, _, _), .valueBox(_, let name, _),
      .native(_, let name), .abstractInterface(_, let name), .localInterface(_, let name), .component(_, let name),
      .home(_, let name), .event(_, let name, _, _, _):
      name
    default: nil
    }
  }

  /// The type with every top-level alias removed (`DynAny`'s and the spec's "unaliased" type).
  public var unaliased: TypeCode {
    var t = self
    while case .alias(_, _, let content) = t { t = content }
    return t
  }

  /// Whether this TypeCode is equal to `other` (`TypeCode::equal`): the same kind and the same
  /// parameters, repository ids and names included. The same as `==`.
  public func equal(_ other: TypeCode) -> Bool { self == other }

  /// Whether this TypeCode is equivalent to `other` (`TypeCode::equivalent`, CORBA 3.0
  /// §4.11.1.2): aliases are stripped at every level; when both TypeCodes carry a non-empty
  /// repository id only the ids are compared; otherwise names and member names are ignored
  /// and the remaining parameters are compared.
  public func equivalent(_ other: TypeCode) -> Bool {
    Self.equivalent(self, other, depth: 0)
  }

  private static func equivalent(_ lhs: TypeCode, _ rhs: TypeCode, depth: Int) -> Bool {
    let a = lhs.unaliased, b = rhs.unaliased
    // A recursive reference and the type it refers to, or two references: by id.
    if case .recursive(let idA, _) = a { return idA == b.id }
    if case .recursive(let idB, _) = b { return idB == a.id }
    guard a.kind == b.kind else { return false }
    if let idA = a.id, let idB = b.id, !idA.isEmpty, !idB.isEmpty { return idA == idB }
    // Pathological nesting of anonymous types: give up rather than overflow the stack.
    guard depth < 200 else { return false }
    let d = depth + 1
    switch (a, b) {
    case (.struct(_, _, let x), .struct(_, _, let y)), (.except(_, _, let x), .except(_, _, let y)):
      return x.count == y.count && zip(x, y).allSatisfy { equivalent($0.type, $1.type, depth: d) }
    case (.union(_, _, let dx, let x), .union(_, _, let dy, let y)):
      return equivalent(dx, dy, depth: d) && x.count == y.count
        && zip(x, y).allSatisfy { $0.label == $1.label && equivalent($0.type, $1.type, depth: d) }
    case (.enum(_, _, let x), .enum(_, _, let y)):
      return x.count == y.count
    case (.string(let x), .string(let y)), (.wstring(let x), .wstring(let y)):
      return x == y
    case (.sequence(let ex, let bx), .sequence(let ey, let by)), (.array(let ex, let bx), .array(let ey, let by)):
      return bx == by && equivalent(ex, ey, depth: d)
    case (.fixed(let dx, let sx), .fixed(let dy, let sy)):
      return dx == dy && sx == sy
    case (.value(_, _, let mx, let bx, let x), .value(_, _, let my, let by, let y)),
      (.event(_, _, let mx, let bx, let x), .event(_, _, let my, let by, let y)):
      return mx == my && equivalent(bx, by, depth: d) && x.count == y.count
        && zip(x, y).allSatisfy { $0.visibility == $1.visibility && equivalent($0.type, $1.type, depth: d) }
    case (.valueBox(_, _, let x), .valueBox(_, _, let y)):
      return equivalent(x, y, depth: d)
    default:
      // Kinds without parameters, or with only an id and a name (already compared).
      return true
    }
  }

  /// The index of the `default:` member of a union TypeCode, or -1 (the `default used`
  /// parameter of the encoding).
  var defaultIndex: Int {
    guard case .union(_, _, _, let members) = self.unaliased else { return -1 }
    return members.firstIndex { $0.label == nil } ?? -1
  }
}

extension TypeCode: CustomStringConvertible {
  /// A short IDL-like rendering, for messages and debugging.
  public var description: String {
    switch self {
    case .string(let b): b == 0 ? "string" : "string<\(b)>"
    case .wstring(let b): b == 0 ? "wstring" : "wstring<\(b)>"
    case .sequence(let e, let b): b == 0 ? "sequence<\(e)>" : "sequence<\(e), \(b)>"
    case .array(let e, let n): "\(e)[\(n)]"
    case .fixed(let d, let s): "fixed<\(d),\(s)>"
    case .recursive(let id, _): "recursive(\(id))"
    default:
      if let id, let name { "\(kind) \(name.isEmpty ? id : name)" } else { kind.description }
    }
  }
}

// MARK: - encoding

extension TypeCode: CDREncodable, CDRDecodable {
  /// Writes this TypeCode (§15.3.5): the kind as a `ulong`, then the parameters, inline for
  /// `string`, `wstring` and `fixed`, in an encapsulation for the complex kinds.
  /// A ``recursive(id:kind:)`` reference becomes an indirection to the enclosing TypeCode;
  /// one with no enclosing TypeCode of that id is a ``CDRError`` (`.invalidValue`).
  public func encode(to writer: inout CDRWriter) throws {
    var context = TypeCodeWriteContext()
    try context.write(self, to: &writer, base: 0)
  }

  /// Reads a TypeCode, following indirections (to an enclosing TypeCode, which becomes a
  /// ``recursive(id:kind:)`` reference, or to one read earlier in the same top-level
  /// TypeCode, which is reused). Indirections anywhere else, nesting deeper than
  /// ``TypeCode/maximumNestingDepth`` and more than ``TypeCode/maximumNodeCount`` TypeCodes in
  /// one are ``CDRError``s.
  public init(from reader: inout CDRReader) throws {
    var context = TypeCodeReadContext()
    let result = try context.read(&reader)
    try Self.checkRecursion(result, enclosing: [], depth: 0)
    self = result
  }

  /// The deepest nesting of TypeCodes (and of values in an `any`) that a reader accepts.
  public static let maximumNestingDepth = 64
  /// The largest number of TypeCodes (counting each reuse of an indirection target again)
  /// that one top-level TypeCode read from a stream may have.
  public static let maximumNodeCount = 100_000

  /// Checks that every recursive reference in `tc` refers to an enclosing TypeCode.
  static func checkRecursion(_ tc: TypeCode, enclosing: [String], depth: Int) throws {
    guard depth <= maximumNestingDepth * 2 else {
      throw CDRError(.boundExceeded, "TypeCode nested more than \(maximumNestingDepth * 2) deep")
    }
    let d = depth + 1
    switch tc {
    case .recursive(let id, _):
      guard enclosing.contains(id) else {
        throw CDRError(.invalidValue, "recursive TypeCode reference to \(id) outside that type")
      }
    case .struct(let id, _, let members), .except(let id, _, let members):
      for m in members { try checkRecursion(m.type, enclosing: enclosing + [id], depth: d) }
    case .union(let id, _, let disc, let members):
      try checkRecursion(disc, enclosing: enclosing, depth: d)
      for m in members { try checkRecursion(m.type, enclosing: enclosing + [id], depth: d) }
    case .value(let id, _, _, let base, let members), .event(let id, _, _, let base, let members):
      try checkRecursion(base, enclosing: enclosing, depth: d)
      for m in members { try checkRecursion(m.type, enclosing: enclosing + [id], depth: d) }
    case .sequence(let e, _), .array(let e, _), .alias(_, _, let e), .valueBox(_, _, let e):
      try checkRecursion(e, enclosing: enclosing, depth: d)
    default:
      break
    }
  }
}

/// Whether `tc` (aliases removed) may be a union discriminator type.
func isDiscriminatorType(_ tc: TypeCode) -> Bool {
  switch tc.unaliased {
  case .short, .long, .ushort, .ulong, .longlong, .ulonglong, .char, .wchar, .boolean, .enum: true
  default: false
  }
}

/// The zero value of a discriminator type (the label written for a `default:` member).
func zeroDiscriminator(_ tc: TypeCode) -> AnyValue {
  switch tc.unaliased {
  case .short: .short(0)
  case .ushort: .ushort(0)
  case .ulong: .ulong(0)
  case .longlong: .longlong(0)
  case .ulonglong: .ulonglong(0)
  case .char: .char("\0")
  case .wchar: .wchar("\0")
  case .boolean: .boolean(false)
  case .enum: .enumerator(0)
  default: .long(0)
  }
}

/// Reads a value of a discriminator type (a union label or discriminator).
func readDiscriminator(_ tc: TypeCode, from r: inout CDRReader, checkingRange: Bool = true) throws -> AnyValue {
  switch tc.unaliased {
  case .short: return .short(try r.read())
  case .long: return .long(try r.read())
  case .ushort: return .ushort(try r.read())
  case .ulong: return .ulong(try r.read())
  case .longlong: return .longlong(try r.read())
  case .ulonglong: return .ulonglong(try r.read())
  case .char: return .char(try r.readChar())
  case .wchar: return .wchar(try r.readWChar())
  case .boolean: return .boolean(try r.read(Bool.self))
  case .enum(_, _, let members):
    let v: UInt32 = try r.read()
    guard v < members.count || !checkingRange else {
      throw CDRError(.invalidEnum, "enumerator \(v) of an enum with \(members.count) members")
    }
    return .enumerator(v)
  default:
    throw CDRError(.invalidValue, "\(tc) is not a union discriminator type")
  }
}

/// Writes a value of a discriminator type.
func writeDiscriminator(_ value: AnyValue, _ tc: TypeCode, to w: inout CDRWriter) throws {
  switch (tc.unaliased, value) {
  case (.short, .short(let v)): w.write(v)
  case (.long, .long(let v)): w.write(v)
  case (.ushort, .ushort(let v)): w.write(v)
  case (.ulong, .ulong(let v)): w.write(v)
  case (.longlong, .longlong(let v)): w.write(v)
  case (.ulonglong, .ulonglong(let v)): w.write(v)
  case (.char, .char(let v)): try w.writeChar(v)
  case (.wchar, .wchar(let v)): try w.writeWChar(v)
  case (.boolean, .boolean(let v)): w.write(v)
  case (.enum(_, _, let members), .enumerator(let v)):
    guard v < members.count else {
      throw CDRError(.invalidEnum, "enumerator \(v) of an enum with \(members.count) members")
    }
    w.write(v)
  default:
    throw CDRError(.invalidValue, "\(value) is not a discriminator value of type \(tc)")
  }
}

/// The state of reading one top-level TypeCode: the TypeCodes being read (targets of
/// recursive indirections), those read (targets of repeat indirections), and the limits.
struct TypeCodeReadContext {
  struct Open {
    var position: Int
    var id: String
    var kind: TCKind
  }
  var open: [Open] = []
  var done: [Int: (type: TypeCode, nodes: Int)] = [:]
  var nodes = 0
  var depth = 0

  mutating func read(_ r: inout CDRReader) throws -> TypeCode {
    guard depth < TypeCode.maximumNestingDepth else {
      throw CDRError(.boundExceeded, "TypeCode nested more than \(TypeCode.maximumNestingDepth) deep")
    }
    depth += 1
    defer { depth -= 1 }
    r.align(4)
    let start = r.position
    let raw: UInt32 = try r.read()
    if raw == 0xFFFF_FFFF {
      // The offset counts from the offset's own position (§15.3.5.1).
      let at = r.position
      let offset: Int32 = try r.read()
      let target = at + Int(offset)
      if let o = open.last(where: { $0.position == target }) {
        guard !o.id.isEmpty else {
          throw CDRError(.invalidValue, "recursive indirection to a \(o.kind) without a repository id")
        }
        return .recursive(id: o.id, kind: o.kind)
      }
      guard let (type, n) = done[target] else {
        throw CDRError(.invalidValue, "TypeCode indirection (offset \(offset)) to a place that holds no TypeCode")
      }
      try count(n)
      return type
    }
    guard let kind = TCKind(rawValue: raw) else {
      throw CDRError(.invalidEnum, "unknown TCKind \(raw)")
    }
    let before = nodes
    try count(1)
    let type: TypeCode
    switch kind {
    case .null: type = .null
    case .void: type = .void
    case .short: type = .short
    case .long: type = .long
    case .ushort: type = .ushort
    case .ulong: type = .ulong
    case .float: type = .float
    case .double: type = .double
    case .boolean: type = .boolean
    case .char: type = .char
    case .octet: type = .octet
    case .any: type = .any
    case .typeCode: type = .typeCode
    case .principal: type = .principal
    case .longlong: type = .longlong
    case .ulonglong: type = .ulonglong
    case .longdouble: type = .longdouble
    case .wchar: type = .wchar
    case .string: type = .string(bound: try r.read())
    case .wstring: type = .wstring(bound: try r.read())
    case .fixed:
      let digits: UInt16 = try r.read()
      type = .fixed(digits: digits, scale: try r.read())
    default:
      var e = try r.readEncapsulation()
      type = try readComplex(kind, at: start, &e)
    }
    done[start] = (type, nodes - before)
    return type
  }

  private mutating func count(_ n: Int) throws {
    nodes += n
    guard nodes <= TypeCode.maximumNodeCount else {
      throw CDRError(.boundExceeded, "TypeCode of more than \(TypeCode.maximumNodeCount) parts")
    }
  }

  private mutating func readComplex(_ kind: TCKind, at start: Int, _ e: inout CDRReader) throws -> TypeCode {
    if kind == .sequence || kind == .array {
      let element = try read(&e)
      let bound: UInt32 = try e.read()
      return kind == .sequence ? .sequence(element: element, bound: bound) : .array(element: element, length: bound)
    }
    let id = try e.readString()
    let name = try e.readString()
    switch kind {
    case .objref: return .objref(id: id, name: name)
    case .native: return .native(id: id, name: name)
    case .abstractInterface: return .abstractInterface(id: id, name: name)
    case .localInterface: return .localInterface(id: id, name: name)
    case .component: return .component(id: id, name: name)
    case .home: return .home(id: id, name: name)
    case .alias: return .alias(id: id, name: name, content: try read(&e))
    case .valueBox: return .valueBox(id: id, name: name, content: try read(&e))
    case .struct, .except:
      open.append(Open(position: start, id: id, kind: kind))
      defer { open.removeLast() }
      // Each member: a name (at least 5 octets) and a TypeCode (at least 4).
      let n = try e.readCount(minimumElementSize: 9)
      var members: [TypeCode.Member] = []
      members.reserveCapacity(n)
      for _ in 0..<n {
        let memberName = try e.readString()
        members.append(.init(name: memberName, type: try read(&e)))
      }
      return kind == .struct ? .struct(id: id, name: name, members: members) : .except(id: id, name: name, members: members)
    case .enum:
      let n = try e.readCount(minimumElementSize: 5)
      var members: [String] = []
      members.reserveCapacity(n)
      for _ in 0..<n { members.append(try e.readString()) }
      return .enum(id: id, name: name, members: members)
    case .union:
      open.append(Open(position: start, id: id, kind: kind))
      defer { open.removeLast() }
      let disc = try read(&e)
      guard isDiscriminatorType(disc) else {
        throw CDRError(.invalidValue, "union \(id) switches on \(disc), not an integer, char, boolean or enum type")
      }
      let defaultIndex: Int32 = try e.read()
      // Each member: a label (at least 1 octet), a name (5) and a TypeCode (4).
      let n = try e.readCount(minimumElementSize: 10)
      guard defaultIndex >= -1, defaultIndex < n else {
        throw CDRError(.invalidValue, "union \(id): default index \(defaultIndex) of \(n) members")
      }
      var members: [TypeCode.UnionMember] = []
      members.reserveCapacity(n)
      for i in 0..<n {
        let label: AnyValue?
        if i == defaultIndex {
          // The default member's label is a placeholder of the discriminator type (omniORB
          // writes zero); its value means nothing.
          _ = try readDiscriminator(disc, from: &e, checkingRange: false)
          label = nil
        } else {
          label = try readDiscriminator(disc, from: &e)
        }
        let memberName = try e.readString()
        members.append(.init(label: label, name: memberName, type: try read(&e)))
      }
      return .union(id: id, name: name, discriminator: disc, members: members)
    case .value, .event:
      open.append(Open(position: start, id: id, kind: kind))
      defer { open.removeLast() }
      let modifier: Int16 = try e.read()
      let base = try read(&e)
      // Each member: a name (5 octets), a TypeCode (4) and a visibility (2).
      let n = try e.readCount(minimumElementSize: 11)
      var members: [TypeCode.ValueMember] = []
      members.reserveCapacity(n)
      for _ in 0..<n {
        let memberName = try e.readString()
        let type = try read(&e)
        members.append(.init(name: memberName, type: type, visibility: try e.read()))
      }
      return kind == .value
        ? .value(id: id, name: name, modifier: modifier, base: base, members: members)
        : .event(id: id, name: name, modifier: modifier, base: base, members: members)
    default:
      throw CDRError(.invalidValue, "\(kind) is not a complex TypeCode kind")
    }
  }
}

/// The state of writing one top-level TypeCode: where each enclosing TypeCode started, for
/// indirections. Positions are in the top-level writer's coordinates (`base` is where the
/// current writer's index 0 sits in them).
struct TypeCodeWriteContext {
  var open: [(id: String, position: Int)] = []
  /// The first place each TypeCode with a repository id was written: a repeat is written as
  /// an indirection to it, as omniORB does (§15.3.5.1 allows indirection to any TypeCode
  /// written earlier in the same top-level TypeCode).
  var written: [String: (type: TypeCode, position: Int)] = [:]

  mutating func write(_ tc: TypeCode, to w: inout CDRWriter, base: Int) throws {
    guard open.count < TypeCode.maximumNestingDepth * 2 else {
      throw CDRError(.boundExceeded, "TypeCode nested more than \(TypeCode.maximumNestingDepth * 2) deep")
    }
    w.align(4)
    let start = base + w.count
    if case .recursive(let id, _) = tc {
      guard let target = open.last(where: { $0.id == id }) else {
        throw CDRError(.invalidValue, "recursive TypeCode reference to \(id) outside that type")
      }
      w.write(UInt32(0xFFFF_FFFF))
      let at = base + w.count
      w.write(Int32(target.position - at))
      return
    }
    if let id = tc.id, !id.isEmpty, let first = written[id], first.type == tc {
      w.write(UInt32(0xFFFF_FFFF))
      let at = base + w.count
      w.write(Int32(first.position - at))
      return
    }
    w.write(tc.kind.rawValue)
    switch tc {
    case .string(let bound), .wstring(let bound):
      w.write(bound)
      return
    case .fixed(let digits, let scale):
      w.write(digits)
      w.write(scale)
      return
    case .sequence(let element, let bound), .array(let element, let bound):
      let bodyBase = base + w.count + 4
      try w.writeEncapsulation { e in
        try write(element, to: &e, base: bodyBase)
        e.write(bound)
      }
      return
    default:
      break
    }
    guard let id = tc.id, let name = tc.name else { return }  // no parameters
    // The encapsulation's length is the next (aligned) `ulong`; its body follows.
    let bodyBase = base + w.count + 4
    try w.writeEncapsulation { e in
      try e.writeString(id)
      try e.writeString(name)
      try writeParameters(tc, id: id, at: start, to: &e, base: bodyBase)
    }
    if !id.isEmpty, written[id] == nil { written[id] = (tc, start) }
  }

  private mutating func writeParameters(
    _ tc: TypeCode, id: String, at start: Int, to e: inout CDRWriter, base: Int
  ) throws {
    switch tc {
    case .alias(_, _, let content), .valueBox(_, _, let content):
      try write(content, to: &e, base: base)
    case .struct(_, _, let members), .except(_, _, let members):
      open.append((id, start))
      defer { open.removeLast() }
      e.write(UInt32(members.count))
      for m in members {
        try e.writeString(m.name)
        try write(m.type, to: &e, base: base)
      }
    case .enum(_, _, let members):
      e.write(UInt32(members.count))
      for m in members { try e.writeString(m) }
    case .union(_, _, let disc, let members):
      open.append((id, start))
      defer { open.removeLast() }
      guard isDiscriminatorType(disc) else {
        throw CDRError(.invalidValue, "union \(id) switches on \(disc), not an integer, char, boolean or enum type")
      }
      let defaults = members.indices.filter { members[$0].label == nil }
      guard defaults.count <= 1 else { throw CDRError(.invalidValue, "union \(id) has \(defaults.count) default members") }
      try write(disc, to: &e, base: base)
      e.write(Int32(defaults.first ?? -1))
      e.write(UInt32(members.count))
      for m in members {
        // The default member's label: zero of the discriminator type (as omniORB writes it).
        try writeDiscriminator(m.label ?? zeroDiscriminator(disc), disc, to: &e)
        try e.writeString(m.name)
        try write(m.type, to: &e, base: base)
      }
    case .value(_, _, let modifier, let valueBase, let members), .event(_, _, let modifier, let valueBase, let members):
      open.append((id, start))
      defer { open.removeLast() }
      e.write(modifier)
      try write(valueBase, to: &e, base: base)
      e.write(UInt32(members.count))
      for m in members {
        try e.writeString(m.name)
        try write(m.type, to: &e, base: base)
        e.write(m.visibility)
      }
    default:
      break  // id and name only
    }
  }
}
