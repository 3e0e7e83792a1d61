public import CourierIDL

/// Generates Swift from an ``InterfaceModel`` compiled from the ONC RPC language
/// (``RPCLFrontEnd``): XDR types, and for each program version a client stub, a service
/// protocol (what a server implements) and a dispatcher. The code imports only CourierWire and
/// CourierONC.
///
/// ```swift
/// let model = try RPCLFrontEnd.compile(file: "FileReadWrite.x")
/// let output = XDRGenerator().generate(model)   // SwiftGenerator routes RPCL models here too
/// ```
///
/// The mapping (docs/rpcl-mapping.md has the whole table):
/// - `const` → a global `let` of type `Int`; `enum` → a Swift `enum: Int32, XDREnum` (an
///   enumerator whose value another one already has becomes a `static let` alias);
///   `struct` → `struct` (`Hashable`, `Sendable`, `XDRCodable`); `union` → `enum` with one case
///   per arm, the `default` arm's case keeping the discriminant;
/// - `typedef` → `typealias`: the bounds a typedef declares (`typedef string name<255>;`) are
///   checked wherever the typedef is used, because the generated code writes and reads the
///   typedef's XDR form in place (a wrapper type per typedef would make every use unwrap it);
/// - `int` → `Int32`, `unsigned` → `UInt32`, `hyper` → `Int64`, `unsigned hyper` → `UInt64`,
///   `bool` → `Bool`, `float`/`double` → `Float`/`Double`, `quadruple` → `XDRQuadruple`,
///   `char`/`unsigned char`/`short`/`unsigned short` → `Int8`/`UInt8`/`Int16`/`UInt16`, each a
///   4-byte XDR integer on the wire as rpcgen encodes them (`xdr_char` and its kin; a value
///   read is truncated to the type as they do); `string<n>` → `String`, `opaque` → `[UInt8]`,
///   arrays → `[T]`, `T *` → `T?`;
/// - the linked-list idiom `struct node { …; node *next; }` → `struct node` without `next`, and
///   every `node *` → `[node]`, written and read in a loop (`writeList`/`readList`);
/// - `program P { version V { … } = v; } = p;` → `enum P` (with `program`) holding `enum V`
///   (with `version`), which holds `Client`, protocol `Service` and `Dispatcher`.
public struct XDRGenerator: Sendable {
  public var options: SwiftGenerator.Options

  public init(options: SwiftGenerator.Options = .init()) { self.options = options }

  /// Generates the Swift for the main file's declarations (included files' declarations are
  /// referred to by name: generate them from their own files into the same module).
  public func generate(_ model: InterfaceModel) -> SwiftGenerator.Output {
    var emitter = XDREmitter(model: model, options: options)
    for definition in model.definitions where definition.info.isFromMainFile {
      emitter.definition(definition)
    }
    emitter.helpers()
    let body = emitter.out.text
    return SwiftGenerator.Output(source: emitter.header(body: body) + body, diagnostics: emitter.diagnostics)
  }
}

/// Walks an RPCL model and prints Swift with XDR marshalling.
struct XDREmitter {
  let model: InterfaceModel
  let options: SwiftGenerator.Options
  var out = CodePrinter()
  var diagnostics: [IDLDiagnostic] = []
  /// Structs in the linked-list idiom (their last member is `node *`), by name.
  let listNodes: Set<String>
  /// Top-level Swift names the model declares (so that library names that clash are qualified).
  let declaredNames: Set<String>
  private var usesFixedArrayHelper = false
  private var usesNodeHelpers = false

  init(model: InterfaceModel, options: SwiftGenerator.Options) {
    self.model = model
    self.options = options
    var nodes: Set<String> = []
    var names: Set<String> = []
    for d in model.definitions {
      names.insert(options.namePrefix + d.info.name)
      if case .structure(let s) = d, let last = s.members.last,
         case .optional(let wrapped) = model.resolvingTypedefs(last.type),
         model.resolvingTypedefs(wrapped) == .named(s.info.scopedName) {
        nodes.insert(s.info.name)
      }
    }
    listNodes = nodes
    declaredNames = names
  }

  var access: String { options.accessLevel }

  // MARK: - names

  /// Swift type names that cannot be declared as they are.
  static let reservedTypeNames: Set<String> = ["Type", "Self", "Any", "Protocol", "_"]

  /// The Swift name of a declared type, constant or program.
  func typeName(_ name: String) -> String {
    let full = options.namePrefix + name
    if Self.reservedTypeNames.contains(full) || SwiftNames.keywords.contains(full) { return full + "_" }
    return full
  }

  /// A standard library or runtime name, qualified when the model declares the same name.
  func lib(_ name: String) -> String {
    guard declaredNames.contains(name) else { return name }
    if name.hasPrefix("XDR") { return "CourierWire." + name }
    if name.hasPrefix("ONC") { return "CourierONC." + name }
    return "Swift." + name
  }

  // MARK: - types

  /// The list node `type` names, through typedefs (`entry`, or `typedef entry *list` … `list`).
  func listNode(_ type: IDLType) -> String? {
    guard case .named(let n) = model.resolvingTypedefs(type), listNodes.contains(n.name) else { return nil }
    return n.name
  }

  func swiftType(_ type: IDLType) -> String {
    switch type {
    case .void: return lib("Void")
    case .boolean: return lib("Bool")
    case .char: return lib("Int8")
    case .octet: return lib("UInt8")
    case .short: return lib("Int16")
    case .unsignedShort: return lib("UInt16")
    case .long: return lib("Int32")
    case .unsignedLong: return lib("UInt32")
    case .longLong: return lib("Int64")
    case .unsignedLongLong: return lib("UInt64")
    case .float: return lib("Float")
    case .double: return lib("Double")
    case .longDouble: return lib("XDRQuadruple")
    case .string: return lib("String")
    case .opaque, .fixedOpaque: return "[\(lib("UInt8"))]"
    case .array(let element, _), .sequence(let element, _): return "[\(swiftType(element))]"
    case .optional(let wrapped):
      if let node = listNode(wrapped) { return "[\(typeName(node))]" }
      return swiftType(wrapped) + "?"
    case .named(let n):
      if listNodes.contains(n.name) { return "[\(typeName(n.name))]" }  // by value: a non-empty list
      return typeName(n.name)
    case .wchar, .wstring, .fixed, .any, .object, .typeCode, .valueBase:
      return "Never"  // not in RPCL
    }
  }

  /// True when the Swift type's own `XDRCodable` conformance writes exactly the XDR of `type`.
  func isDirect(_ type: IDLType) -> Bool {
    switch type {
    case .boolean, .long, .unsignedLong, .longLong, .unsignedLongLong, .float, .double, .longDouble, .string(bound: nil):
      return true
    case .named(let n):
      switch model.declaration(named: n) {
      case .typedef(let t)?: return isDirect(t.type)
      case .structure?, .union?: return !listNodes.contains(n.name)
      case .enumeration?: return true
      default: return false
      }
    default: return false
    }
  }

  func isEnum(_ type: IDLType) -> Bool {
    if case .named(let n) = model.resolvingTypedefs(type), case .enumeration? = model.declaration(named: n) { return true }
    return false
  }

  /// The fewest bytes one value takes on the wire, when more than the readers' default of 4.
  func minimumSizeArgument(_ type: IDLType) -> String {
    switch model.resolvingTypedefs(type) {
    case .longLong, .unsignedLongLong, .double: return ", minimumElementSize: 8"
    case .longDouble: return ", minimumElementSize: 16"
    default: return ""
    }
  }

  /// A statement that writes `value` of `type` at the end of the writer `w`.
  mutating func write(_ type: IDLType, _ value: String, _ w: String, depth: Int = 0) -> String {
    let e = "_e\(depth + 1)"
    let ww = "_w\(depth + 1)"
    func maximum(_ bound: Int?) -> String { bound.map { ", maximum: \($0)" } ?? "" }
    switch type {
    case .void: return ""
    case .boolean, .long, .unsignedLong, .longLong, .unsignedLongLong, .float, .double, .longDouble:
      return "\(w).write(\(value))"
    case .char, .short: return "\(w).write(\(lib("Int32"))(\(value)))"
    case .octet, .unsignedShort: return "\(w).write(\(lib("UInt32"))(\(value)))"
    case .string(let bound): return "try \(w).writeString(\(value)\(maximum(bound)))"
    case .opaque(let bound): return "try \(w).writeOpaque(\(value)\(maximum(bound)))"
    case .fixedOpaque(let count): return "try \(w).writeFixedOpaque(\(value), count: \(count))"
    case .array(let element, let dimensions):
      let inner: IDLType = dimensions.count > 1 ? .array(element, dimensions: Array(dimensions.dropFirst())) : element
      if isDirect(inner) { return "try \(w).writeFixedArray(\(value), count: \(dimensions[0]))" }
      usesFixedArrayHelper = true
      return "try _xdrWriteFixedArray(\(value), count: \(dimensions[0]), to: &\(w)) { \(e), \(ww) in \(write(inner, e, ww, depth: depth + 1)) }"
    case .sequence(let element, let bound):
      if isDirect(element) { return "try \(w).writeArray(\(value)\(maximum(bound)))" }
      return "try \(w).writeArray(\(value)\(maximum(bound))) { \(e), \(ww) in \(write(element, e, ww, depth: depth + 1)) }"
    case .optional(let wrapped):
      if listNode(wrapped) != nil { return "try \(w).writeList(\(value))" }
      if isDirect(wrapped) { return "try \(w).writeOptional(\(value))" }
      return "try \(w).writeOptional(\(value)) { \(e), \(ww) in \(write(wrapped, e, ww, depth: depth + 1)) }"
    case .named(let n):
      switch model.declaration(named: n) {
      case .typedef(let t)?: return write(t.type, value, w, depth: depth)
      case .enumeration?: return "\(w).writeEnum(\(value))"
      default:
        if listNodes.contains(n.name) {
          usesNodeHelpers = true
          return "try _xdrWriteNodes(\(value), to: &\(w))"
        }
        return "try \(value).encode(to: &\(w))"
      }
    case .wchar, .wstring, .fixed, .any, .object, .typeCode, .valueBase: return ""
    }
  }

  /// An expression (to be preceded by `try`) that reads a value of `type` from the reader `r`.
  mutating func read(_ type: IDLType, _ r: String, depth: Int = 0) -> String {
    let rr = "_r\(depth + 1)"
    func maximum(_ bound: Int?) -> String { bound.map { "maximum: \($0)" } ?? "" }
    switch type {
    case .void: return "()"
    case .boolean, .long, .unsignedLong, .longLong, .unsignedLongLong, .float, .double, .longDouble:
      return "\(r).read(\(swiftType(type)).self)"
    case .char, .short: return "\(swiftType(type))(truncatingIfNeeded: \(r).read(\(lib("Int32")).self))"
    case .octet, .unsignedShort: return "\(swiftType(type))(truncatingIfNeeded: \(r).read(\(lib("UInt32")).self))"
    case .string(let bound): return "\(r).readString(\(maximum(bound)))"
    case .opaque(let bound): return "\(r).readOpaque(\(maximum(bound)))"
    case .fixedOpaque(let count): return "\(r).readFixedOpaque(count: \(count))"
    case .array(let element, let dimensions):
      let inner: IDLType = dimensions.count > 1 ? .array(element, dimensions: Array(dimensions.dropFirst())) : element
      if isDirect(inner) {
        return "\(r).readFixedArray(count: \(dimensions[0])\(minimumSizeArgument(inner))) as [\(swiftType(inner))]"
      }
      return "\(r).readFixedArray(count: \(dimensions[0])\(minimumSizeArgument(inner))) { \(rr) in try \(read(inner, rr, depth: depth + 1)) }"
    case .sequence(let element, let bound):
      let m = bound.map { ", maximum: \($0)" } ?? ""
      let arguments = (m + minimumSizeArgument(element)).dropFirst(2)
      if isDirect(element) { return "\(r).readArray(\(arguments)) as [\(swiftType(element))]" }
      return "\(r).readArray(\(arguments)) { \(rr) in try \(read(element, rr, depth: depth + 1)) }"
    case .optional(let wrapped):
      if let node = listNode(wrapped) { return "\(r).readList() as [\(typeName(node))]" }
      if isDirect(wrapped) { return "\(r).readOptional() as \(swiftType(wrapped))?" }
      return "\(r).readOptional { \(rr) in try \(read(wrapped, rr, depth: depth + 1)) }"
    case .named(let n):
      if case .typedef(let t)? = model.declaration(named: n) { return read(t.type, r, depth: depth) }
      if listNodes.contains(n.name) {
        usesNodeHelpers = true
        return "_xdrReadNodes(from: &\(r)) as [\(typeName(n.name))]"
      }
      // `decode() as T` names the type where only a type can be meant: a member of the same
      // name as its type (`struct mon { mon_id mon_id; }`) does not hide it.
      return "\(r).decode() as \(typeName(n.name))"
    case .wchar, .wstring, .fixed, .any, .object, .typeCode, .valueBase: return "()"
    }
  }

  /// How RPCL spells a declaration of `type` named `name` (after constants are evaluated).
  func rpcl(_ type: IDLType, _ name: String) -> String {
    let n = name.isEmpty ? "" : " " + name
    switch type {
    case .void: return "void"
    case .boolean: return "bool" + n
    case .char: return "char" + n
    case .octet: return "unsigned char" + n
    case .short: return "short" + n
    case .unsignedShort: return "unsigned short" + n
    case .long: return "int" + n
    case .unsignedLong: return "unsigned int" + n
    case .longLong: return "hyper" + n
    case .unsignedLongLong: return "unsigned hyper" + n
    case .float: return "float" + n
    case .double: return "double" + n
    case .longDouble: return "quadruple" + n
    case .string(let b): return name.isEmpty && b == nil ? "string" : "string\(n)<\(b.map(String.init) ?? "")>"
    case .opaque(let b): return "opaque\(n)<\(b.map(String.init) ?? "")>"
    case .fixedOpaque(let c): return "opaque\(n)[\(c)]"
    case .array(let e, let d): return rpcl(e, name) + d.map { "[\($0)]" }.joined()
    case .sequence(let e, let b): return rpcl(e, name) + "<\(b.map(String.init) ?? "")>"
    case .optional(let e): return rpcl(e, "") + " *" + name
    case .named(let s): return s.name + n
    default: return "\(type)" + n
    }
  }

  // MARK: - file

  /// The file header with the imports the body needs.
  func header(body: String) -> String {
    let source = model.mainFile.split(separator: "/").last.map(String.init) ?? model.mainFile
    let importAccess = access == "public" ? "public " : (access == "package" ? "package " : "")
    var text = """
      // DO NOT EDIT.
      // swift-format-ignore-file
      //
      // Generated by courier-idl from \(source) (ONC RPC language: XDR types, ONC RPC stubs).
      // Source: \(source)


      """
    if body.contains("ONCCaller") { text += "\(importAccess)import CourierONC\n" }
    text += "\(importAccess)import CourierWire\n"
    return text
  }

  mutating func definition(_ d: Definition) {
    out.line()
    switch d {
    case .constant(let c): constant(c)
    case .enumeration(let e): enumeration(e)
    case .structure(let s): structure(s)
    case .union(let u): union(u)
    case .typedef(let t): typedef(t)
    case .module(let m): program(m)
    default: break
    }
  }

  mutating func constant(_ c: ConstantDeclaration) {
    if case .string(let text) = c.value {
      out.line("/// RPCL `const \(c.info.name) = \(SwiftNames.stringLiteral(text))`.")
      out.line("\(access) let \(SwiftNames.identifier(typeName(c.info.name))): \(lib("String")) = \(SwiftNames.stringLiteral(text))")
      return
    }
    guard case .integer(let v) = c.value else { return }
    let type = v > Int128(Int64.max) ? lib("UInt64") : lib("Int")
    out.line("/// RPCL `const \(c.info.name) = \(v)`.")
    out.line("\(access) let \(SwiftNames.identifier(typeName(c.info.name))): \(type) = \(v)")
  }

  mutating func typedef(_ t: TypedefDeclaration) {
    out.line("/// RPCL `typedef \(rpcl(t.type, t.info.name))`.")
    if listNode(t.type) != nil || model.resolvingTypedefs(t.type) != t.type || isBounded(t.type) {
      out.line("/// Its XDR form (bounds included) is written and read wherever it is used.")
    }
    out.line("\(access) typealias \(typeName(t.info.name)) = \(swiftType(t.type))")
  }

  func isBounded(_ type: IDLType) -> Bool {
    switch type {
    case .string(let b?), .opaque(let b?), .sequence(_, let b?): return b >= 0
    case .fixedOpaque, .array: return true
    default: return false
    }
  }

  mutating func enumeration(_ e: EnumDeclaration) {
    let name = typeName(e.info.name)
    out.line("/// RPCL `enum \(e.info.name)`.")
    out.line("\(access) enum \(name): \(lib("Int32")), \(lib("XDREnum")), \(lib("Hashable")), \(lib("Sendable")), CaseIterable {")
    var seen: [Int64: String] = [:]
    var aliases: [(String, String, Int64)] = []
    for (enumerator, value) in zip(e.enumerators, e.values) {
      if let canonical = seen[value] {
        aliases.append((enumerator, canonical, value))
      } else {
        seen[value] = enumerator
        out.line("  case \(SwiftNames.identifier(enumerator)) = \(value)")
      }
    }
    for (alias, canonical, value) in aliases {
      out.line()
      out.line("  /// `\(alias) = \(value)`: another name for ``\(canonical)``.")
      out.line("  \(access) static let \(SwiftNames.identifier(alias)): \(name) = .\(SwiftNames.identifier(canonical))")
    }
    out.line("}")
  }

  mutating func structure(_ s: StructDeclaration) {
    let name = typeName(s.info.name)
    let isNode = listNodes.contains(s.info.name)
    let members = isNode ? Array(s.members.dropLast()) : s.members
    let selfReference = members.contains { m in
      if case .optional(let wrapped) = model.resolvingTypedefs(m.type) { return model.resolvingTypedefs(wrapped) == .named(s.info.scopedName) }
      return false
    }
    if selfReference {
      diagnostics.append(IDLDiagnostic(.warning, at: s.info.location, "struct '\(s.info.name)' holds itself through optional data other than the linked-list idiom (a last member '\(s.info.name) *next'); a Swift struct cannot: the generated code does not compile"))
    }
    out.line("/// RPCL `struct \(s.info.name)`.")
    if isNode, let link = s.members.last {
      out.line("///")
      out.line("/// A node of a linked list (`\(rpcl(link.type, link.name))`): the link is not a field. A list of")
      out.line("/// nodes is `[\(name)]`, written as rpcgen writes it (TRUE and a node, …, then FALSE) without")
      out.line("/// recursion; this type's own XDR form is one node's fields.")
    }
    out.line("\(access) struct \(name): \(lib("Hashable")), \(lib("Sendable")), \(lib("XDRCodable")) {")
    for m in members {
      out.line("  /// `\(rpcl(m.type, m.name))`")
      out.line("  \(access) var \(SwiftNames.identifier(m.name)): \(swiftType(m.type))")
    }
    out.line()
    let parameters = members.map { SwiftNames.parameter($0.name, swiftType($0.type)) }.joined(separator: ", ")
    out.line("  \(access) init(\(parameters)) {")
    for m in members { out.line("    self.\(SwiftNames.identifier(m.name)) = \(SwiftNames.parameterReference(m.name))") }
    out.line("  }")
    out.line()
    out.line("  \(access) func encode(to _w: inout \(lib("XDRWriter"))) throws {")
    for m in members { out.line("    " + write(m.type, "self.\(SwiftNames.identifier(m.name))", "_w")) }
    out.line("  }")
    out.line()
    out.line("  \(access) init(from _r: inout \(lib("XDRReader"))) throws {")
    for m in members { out.line("    self.\(SwiftNames.identifier(m.name)) = try \(read(m.type, "_r"))") }
    out.line("  }")
    out.line("}")
  }

  // MARK: - unions

  /// A Swift expression of the discriminant's type for a label.
  func labelLiteral(_ value: ConstantValue, discriminant: IDLType) -> String {
    switch value {
    case .integer(let v): return "\(v)"
    case .boolean(let b): return b ? "true" : "false"
    case .enumerator(let e, let n):
      return ".\(SwiftNames.identifier(canonicalEnumerator(e, n)))"
    default: return "\(value)"
    }
  }

  /// The enumerator that is a Swift case for `name`'s value (the first one declared with it).
  func canonicalEnumerator(_ e: ScopedName, _ name: String) -> String {
    guard case .enumeration(let d)? = model.declaration(named: e), let i = d.enumerators.firstIndex(of: name),
          let first = d.values.firstIndex(of: d.values[i]) else { return name }
    return d.enumerators[first]
  }

  /// The Swift case names of a union's arms: the arm's name, or for `void` arms the label's.
  func caseNames(_ u: UnionDeclaration) -> [String] {
    var names: [String] = []
    for c in u.cases {
      var name = c.member.name
      if name.isEmpty {
        if c.isDefault {
          name = "default"
        } else {
          switch c.labels.first {
          case .enumerator(_, let n)?: name = n
          case .integer(let v)?: name = v < 0 ? "caseMinus\(-v)" : "case\(v)"
          case .boolean(let b)?: name = b ? "TRUE" : "FALSE"
          default: name = "arm"
          }
        }
      }
      while names.contains(name) || name == "discriminant" { name += "_" }
      names.append(name)
    }
    return names
  }

  /// True when the labels name every value of an enum or bool discriminant.
  func labelsCoverDiscriminant(_ u: UnionDeclaration) -> Bool {
    let labels = u.cases.flatMap(\.labels)
    switch model.resolvingTypedefs(u.discriminator) {
    case .boolean: return labels.contains(.boolean(true)) && labels.contains(.boolean(false))
    case .named(let n):
      guard case .enumeration(let e)? = model.declaration(named: n) else { return false }
      let covered = Set(labels.map { labelLiteral($0, discriminant: u.discriminator) })
      return Set(e.enumerators.map { ".\(SwiftNames.identifier(canonicalEnumerator(n, $0)))" }).isSubset(of: covered)
    default: return false
    }
  }

  mutating func union(_ u: UnionDeclaration) {
    let name = typeName(u.info.name)
    let discriminantType = swiftType(u.discriminator)
    let names = caseNames(u)
    let resolved = model.resolvingTypedefs(u.discriminator)
    let discriminantName = u.discriminatorName ?? "discriminant"
    out.line("/// RPCL `union \(u.info.name) switch (\(rpcl(u.discriminator, discriminantName)))`.")
    out.line("\(access) enum \(name): \(lib("Hashable")), \(lib("Sendable")), \(lib("XDRCodable")) {")
    for (c, caseName) in zip(u.cases, names) {
      let labels = c.isDefault ? "default" : c.labels.map { "case \($0):" }.joined(separator: " ")
      out.line("  /// `\(labels)\(c.isDefault ? ":" : "") \(rpcl(c.member.type, c.member.name))`\(c.isDefault ? " (any other discriminant, kept)" : "")")
      var payload: [String] = []
      if c.member.type != .void { payload.append(swiftType(c.member.type)) }
      if c.isDefault || c.labels.count > 1 { payload.append("discriminant: \(discriminantType)") }
      out.line("  case \(SwiftNames.identifier(caseName))\(payload.isEmpty ? "" : "(" + payload.joined(separator: ", ") + ")")")
    }
    out.line()
    // The discriminant of the current value.
    out.line("  /// The discriminant (`\(discriminantName)`).")
    out.line("  \(access) var discriminant: \(discriminantType) {")
    out.line("    switch self {")
    for (c, caseName) in zip(u.cases, names) {
      let id = SwiftNames.identifier(caseName)
      if c.isDefault || c.labels.count > 1 {
        out.line("    case .\(id)(\(c.member.type == .void ? "" : "_, ")let d): return d")
      } else {
        out.line("    case .\(id): return \(labelLiteral(c.labels[0], discriminant: u.discriminator))")
      }
    }
    out.line("    }")
    out.line("  }")
    out.line()
    let allLabels = u.cases.flatMap(\.labels).map { labelLiteral($0, discriminant: u.discriminator) }
    out.line("  \(access) func encode(to _w: inout \(lib("XDRWriter"))) throws {")
    out.line("    let d = discriminant")
    var checks: [String] = []
    for (c, caseName) in zip(u.cases, names) where c.isDefault || c.labels.count > 1 {
      let id = SwiftNames.identifier(caseName)
      let bind = c.member.type == .void ? "" : "(_, _)"
      if c.isDefault {
        guard !allLabels.isEmpty else { continue }
        checks.append("    if case .\(id)\(bind) = self, [\(allLabels.joined(separator: ", "))].contains(d) {")
        checks.append("      throw \(lib("XDRError"))(.unionArm, at: _w.count, \"discriminant \\(d) selects another arm of \(u.info.name) than default\")")
      } else {
        let mine = c.labels.map { labelLiteral($0, discriminant: u.discriminator) }
        checks.append("    if case .\(id)\(bind) = self, ![\(mine.joined(separator: ", "))].contains(d) {")
        checks.append("      throw \(lib("XDRError"))(.unionArm, at: _w.count, \"discriminant \\(d) does not select the arm \(caseName) of \(u.info.name)\")")
      }
      checks.append("    }")
    }
    checks.forEach { out.line($0) }
    out.line("    " + write(u.discriminator, "d", "_w"))
    let payloads = u.cases.filter { $0.member.type != .void }
    if !payloads.isEmpty {
      out.line("    switch self {")
      for (c, caseName) in zip(u.cases, names) where c.member.type != .void {
        let bind = (c.isDefault || c.labels.count > 1) ? "(let v, _)" : "(let v)"
        out.line("    case .\(SwiftNames.identifier(caseName))\(bind): \(write(c.member.type, "v", "_w"))")
      }
      if payloads.count < u.cases.count { out.line("    default: break") }
      out.line("    }")
    }
    out.line("  }")
    out.line()
    out.line("  \(access) init(from _r: inout \(lib("XDRReader"))) throws {")
    let isEnumDiscriminant = isEnum(u.discriminator)
    if isEnumDiscriminant {
      out.line("    self = try _r.readUnion(\(discriminantType).self) { d, _r1 -> \(name)? in")
      out.line("      switch d {")
    } else {
      out.line("    self = try _r.readUnion { _d, _r1 -> \(name)? in")
      switch resolved {
      case .unsignedLong: out.line("      let d = \(discriminantType)(bitPattern: _d)")
      case .boolean: out.line("      let d = _d")
      default: out.line("      let d = _d")
      }
      out.line("      return switch d {")
    }
    for (c, caseName) in zip(u.cases, names) where !c.isDefault {
      let id = SwiftNames.identifier(caseName)
      let patterns = c.labels.map { label -> String in
        if case .boolean(let b) = label { return b ? "1" : "0" }
        return labelLiteral(label, discriminant: u.discriminator)
      }.joined(separator: ", ")
      let discriminantValue: String
      if case .boolean = resolved { discriminantValue = "d != 0" } else { discriminantValue = "d" }
      var arguments: [String] = []
      if c.member.type != .void { arguments.append(read(c.member.type, "_r1", depth: 1)) }
      if c.labels.count > 1 { arguments.append("discriminant: \(discriminantValue)") }
      let value = arguments.isEmpty ? "Self.\(id)" : "Self.\(id)(\(arguments.joined(separator: ", ")))"
      out.line("      case \(patterns): \(c.member.type == .void ? "" : "try ")\(value)")
    }
    let covered = isEnumDiscriminant && labelsCoverDiscriminant(u)
    if let (c, caseName) = zip(u.cases, names).first(where: { $0.0.isDefault }), !covered {
      let id = SwiftNames.identifier(caseName)
      let discriminantValue: String
      if case .boolean = resolved { discriminantValue = "d != 0" } else { discriminantValue = "d" }
      if c.member.type == .void {
        out.line("      default: Self.\(id)(discriminant: \(discriminantValue))")
      } else {
        out.line("      default: try Self.\(id)(\(read(c.member.type, "_r1", depth: 1)), discriminant: \(discriminantValue))")
      }
    } else if !covered && !u.cases.contains(where: \.isDefault) {
      out.line("      default: nil")
    }
    out.line("      }")
    out.line("    }")
    out.line("  }")
    out.line("}")
  }

  // MARK: - programs

  struct Procedure {
    var name: String
    var number: UInt32
    var result: IDLType
    var arguments: [IDLType]

    /// `Data READ(readargs) = 2`.
    func signature(_ e: XDREmitter) -> String {
      let args = arguments.isEmpty ? "void" : arguments.map { e.rpcl($0, "") }.joined(separator: ", ")
      return "\(e.rpcl(result, "")) \(name)(\(args)) = \(number)"
    }

    /// The Swift parameter names: `arguments` for one, `arg1`, `arg2`… for several.
    var parameterNames: [String] {
      arguments.count == 1 ? ["arguments"] : arguments.indices.map { "arg\($0 + 1)" }
    }
  }

  /// A version's Swift name (inside its program's enum: no prefix).
  func nestedTypeName(_ name: String) -> String {
    if Self.reservedTypeNames.contains(name) || SwiftNames.keywords.contains(name) { return name + "_" }
    return name
  }

  /// The Swift names used inside a version's namespace, moved aside when the model declares them.
  func nestedName(_ base: String) -> String {
    var name = base
    while declaredNames.contains(name) { name += "_" }
    return name
  }

  mutating func program(_ m: ModuleDeclaration) {
    let versions = m.definitions.compactMap { d -> InterfaceDeclaration? in
      if case .interface(let i) = d { return i }
      return nil
    }
    guard let number = versions.first?.programNumber else { return }
    let name = typeName(m.info.name)
    out.line("/// RPCL `program \(m.info.name)` (program number \(number)).")
    out.line("\(access) enum \(name) {")
    out.line("  /// The program number.")
    out.line("  \(access) static let program: \(lib("UInt32")) = \(number)")
    for v in versions { version(v, program: m.info.name, programNumber: number) }
    out.line("}")
  }

  mutating func version(_ v: InterfaceDeclaration, program: String, programNumber: UInt32) {
    let versionNumber = v.programVersion ?? 0
    let procedures = v.operations.map {
      Procedure(name: $0.name, number: $0.number ?? 0, result: $0.returnType, arguments: $0.parameters.map(\.type))
    }
    let served = procedures.filter { $0.number != 0 }
    for p in procedures where p.number == 0 && (p.result != .void || !p.arguments.isEmpty) {
      diagnostics.append(IDLDiagnostic(.warning, at: v.info.location, "procedure 0 ('\(p.name)') of \(program).\(v.info.name) is answered by the server itself with no results; the servant does not see it"))
    }
    let client = nestedName("Client"), service = nestedName("Service"), dispatcher = nestedName("Dispatcher")
    let u32 = lib("UInt32")
    var printer = CodePrinter()
    swap(&printer, &out)
    out.line()
    out.line("/// RPCL `version \(v.info.name)` (version number \(versionNumber)) of `\(program)`.")
    out.line("\(access) enum \(nestedTypeName(v.info.name)) {")
    out.line("  /// The version number.")
    out.line("  \(access) static let version: \(u32) = \(versionNumber)")
    // Client.
    out.line()
    out.line("  /// Calls `\(program)` version \(versionNumber) through an ONC RPC caller (a TCP or UDP client).")
    out.line("  /// Every method is one call; errors are the caller's (an `RPCError` whose cause is an")
    out.line("  /// `ONCReplyError` when the server answered with an error status).")
    out.line("  \(access) struct \(client): \(lib("Sendable")) {")
    out.line("    \(access) let caller: any \(lib("ONCCaller"))")
    out.line()
    out.line("    \(access) init(_ caller: any \(lib("ONCCaller"))) { self.caller = caller }")
    for p in procedures {
      let parameters = zip(p.parameterNames, p.arguments).map { "_ \($0.0): \(swiftType($0.1))" }.joined(separator: ", ")
      let result = p.result == .void ? "" : " -> \(swiftType(p.result))"
      let writes = zip(p.parameterNames, p.arguments).map { write($0.1, $0.0, "_w") }
      let encode = writes.isEmpty ? "{ _ in }" : "{ _w in \(writes.joined(separator: "; ")) }"
      let decode = p.result == .void ? "{ _ in }" : "{ _r in try \(read(p.result, "_r")) }"
      out.line()
      out.line("    /// `\(p.signature(self))`")
      out.line("    \(access) func \(SwiftNames.identifier(p.name))(\(parameters)) throws\(result) {")
      out.line("      try caller.call(")
      out.line("        program: \(programNumber), version: \(versionNumber), procedure: \(p.number),")
      out.line("        encodeArguments: \(encode),")
      out.line("        decodeResults: \(decode))")
      out.line("    }")
    }
    out.line("  }")
    // Service protocol.
    out.line()
    out.line("  /// What a server of `\(program)` version \(versionNumber) does (the servant): implement it and")
    out.line("  /// serve it with ``\(dispatcher)``. Procedure 0 is answered by the server itself. Throw an")
    out.line("  /// `ONCReplyError` to answer with that status; any other error answers SYSTEM_ERR.")
    out.line("  \(access) protocol \(service): \(lib("Sendable")) {")
    for p in served {
      let parameters = (zip(p.parameterNames, p.arguments).map { "_ \($0.0): \(swiftType($0.1))" } + ["context: \(lib("ONCCallContext"))"]).joined(separator: ", ")
      let result = p.result == .void ? "" : " -> \(swiftType(p.result))"
      out.line("    /// `\(p.signature(self))`")
      out.line("    func \(SwiftNames.identifier(p.name))(\(parameters)) throws\(result)")
    }
    out.line("  }")
    // Dispatcher.
    out.line()
    out.line("  /// Serves a ``\(service)`` as `\(program)` version \(versionNumber): reads each call's arguments")
    out.line("  /// (GARBAGE_ARGS when they do not decode), calls the service and writes its results.")
    out.line("  \(access) struct \(dispatcher): \(lib("ONCProgramDispatcher")) {")
    out.line("    \(access) let service: any \(service)")
    out.line()
    out.line("    \(access) init(_ service: any \(service)) { self.service = service }")
    out.line()
    out.line("    \(access) var program: \(u32) { \(programNumber) }")
    out.line("    \(access) var version: \(u32) { \(versionNumber) }")
    out.line("    \(access) var procedures: [\(u32)] { [\(served.map { "\($0.number)" }.joined(separator: ", "))] }")
    out.line()
    out.line("    \(access) func dispatch(arguments: inout \(lib("XDRReader")), results: inout \(lib("XDRWriter")), context: \(lib("ONCCallContext"))) throws {")
    out.line("      switch context.procedure {")
    for p in served {
      out.line("      case \(p.number):  // \(p.name)")
      let names = p.parameterNames.map { "_" + $0 }
      if names.count == 1 {
        out.line("        let \(names[0]) = try decode(&arguments) { _r in try \(read(p.arguments[0], "_r")) }")
      } else if names.count > 1 {
        let reads = zip(names, p.arguments).map { "let \($0.0) = try \(read($0.1, "_r"))" }.joined(separator: "; ")
        out.line("        let (\(names.joined(separator: ", "))) = try decode(&arguments) { _r in \(reads); return (\(names.joined(separator: ", "))) }")
      }
      let call = "try service.\(SwiftNames.identifier(p.name))(\((names + ["context: context"]).joined(separator: ", ")))"
      if p.result == .void {
        out.line("        \(call)")
      } else {
        out.line("        let result = \(call)")
        out.line("        \(write(p.result, "result", "results"))")
      }
    }
    out.line("      default:")
    out.line("        throw \(lib("ONCReplyError")).procedureUnavailable")
    out.line("      }")
    out.line("    }")
    if served.contains(where: { !$0.arguments.isEmpty }) {
      out.line()
      out.line("    /// Reads a call's arguments; any failure is GARBAGE_ARGS.")
      out.line("    private func decode<T>(_ reader: inout \(lib("XDRReader")), _ read: (inout \(lib("XDRReader"))) throws -> T) throws(\(lib("ONCReplyError"))) -> T {")
      out.line("      do { return try read(&reader) } catch { throw .garbageArguments }")
      out.line("    }")
    }
    out.line("  }")
    out.line("}")
    swap(&printer, &out)
    for line in printer.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
      out.line(line.isEmpty ? "" : "  " + line)
    }
  }

  // MARK: - helpers

  /// File-private helpers the generated code uses (each file has its own copy).
  mutating func helpers() {
    if usesFixedArrayHelper {
      out.line()
      out.line("/// Writes a fixed-length array (`T name[count]`) whose elements `writeElement` writes.")
      out.line("fileprivate func _xdrWriteFixedArray<T>(")
      out.line("  _ elements: [T], count: Int, to writer: inout \(lib("XDRWriter")), _ writeElement: (T, inout \(lib("XDRWriter"))) throws -> Void")
      out.line(") throws {")
      out.line("  guard elements.count == count else {")
      out.line("    throw \(lib("XDRError")).sizeMismatch(expected: count, actual: elements.count, at: writer.count)")
      out.line("  }")
      out.line("  for element in elements { try writeElement(element, &writer) }")
      out.line("}")
    }
    if usesNodeHelpers {
      out.line()
      out.line("/// Writes a list node used by value (not through `*`): the first node, then the rest as a list.")
      out.line("fileprivate func _xdrWriteNodes<T: \(lib("XDREncodable"))>(_ nodes: [T], to writer: inout \(lib("XDRWriter"))) throws {")
      out.line("  guard let first = nodes.first else { throw \(lib("XDRError")).sizeMismatch(expected: 1, actual: 0, at: writer.count) }")
      out.line("  try first.encode(to: &writer)")
      out.line("  try writer.writeList(Array(nodes.dropFirst()))")
      out.line("}")
      out.line()
      out.line("/// Reads a list node used by value: one node, then the rest of the list.")
      out.line("fileprivate func _xdrReadNodes<T: \(lib("XDRDecodable"))>(from reader: inout \(lib("XDRReader"))) throws -> [T] {")
      out.line("  let first = try T(from: &reader)")
      out.line("  return [first] + (try reader.readList(T.self))")
      out.line("}")
    }
  }
}
