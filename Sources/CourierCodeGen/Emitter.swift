import CourierIDL

/// Walks the model and prints Swift.
struct Emitter {
  let model: InterfaceModel
  let options: SwiftGenerator.Options
  var out = CodePrinter()
  var diagnostics: [IDLDiagnostic] = []
  /// How many type bodies enclose what is being printed (0 at module level).
  var nestingDepth = 0
  /// Value types already warned about (one warning per declaration).
  private var warned: Set<ScopedName> = []

  init(model: InterfaceModel, options: SwiftGenerator.Options) {
    self.model = model
    self.options = options
  }

  var access: String { options.accessLevel }

  // MARK: - names

  /// The Swift name of a declared type: modules flatten into a prefix, other scopes nest.
  func swiftName(_ name: ScopedName) -> String {
    var prefix: [String] = []
    var index = 0
    // Leading modules form the flattened prefix.
    while index < name.components.count - 1 {
      let scope = ScopedName(Array(name.components[...index]))
      if case .module? = model.declaration(named: scope) {
        prefix.append(name.components[index])
        index += 1
      } else {
        break
      }
    }
    let rest = name.components[index...]
    let head = options.namePrefix + (prefix + [rest.first ?? ""]).joined(separator: "_")
    let tail = rest.dropFirst().map(SwiftNames.identifier)
    return ([prefix.isEmpty && options.namePrefix.isEmpty ? SwiftNames.identifier(head) : head] + tail).joined(separator: ".")
  }

  /// The declaration behind a type name, following nothing.
  func declaration(_ name: ScopedName) -> Definition? { model.declaration(named: name) }

  enum Resolved {
    case basic(IDLType)
    case structLike  // struct, union, enum, exception: has its own encode/init(from:)
    case interface(ScopedName)
    case unsupported(String)
  }

  /// What a named type is, after typedefs.
  func resolveNamed(_ name: ScopedName) -> Resolved {
    switch declaration(name) {
    case .structure?, .union?, .enumeration?, .exception?: return .structLike
    case .typedef(let t)?:
      if case .named(let inner) = t.type { return resolveNamed(inner) }
      return .basic(t.type)
    case .interface(let i)?:
      switch i.kind {
      case .plain: return .interface(name)
      case .local: return .unsupported("local interface \(name)")
      case .abstract: return .unsupported("abstract interface \(name)")
      }
    case .forward(let f)?:
      switch f.kind {
      // Declared but not defined anywhere this file can see: an untyped reference.
      case .interface: return .basic(.object)
      case .structType, .unionType: return .structLike
      default: return .unsupported("\(f.kind.rawValue) \(name)")
      }
    case .valueType?: return .unsupported("value type \(name)")
    case .native?: return .unsupported("native \(name)")
    case .constant?, .module?, nil: return .unsupported("unknown type \(name)")
    }
  }

  // MARK: - types

  func swiftType(_ type: IDLType) -> String {
    if let equivalent = type.omgEquivalent { return swiftType(equivalent) }
    switch type {
    case .void, .opaque, .fixedOpaque, .optional: return "Void"
    case .boolean: return "Bool"
    case .char, .wchar: return "Unicode.Scalar"
    case .octet: return "UInt8"
    case .short: return "Int16"
    case .unsignedShort: return "UInt16"
    case .long: return "Int32"
    case .unsignedLong: return "UInt32"
    case .longLong: return "Int64"
    case .unsignedLongLong: return "UInt64"
    case .float: return "Float"
    case .double: return "Double"
    case .longDouble: return "CDRLongDouble"
    case .string, .wstring: return "String"
    case .fixed: return "CDRFixed"
    case .any: return "CORBAAny"
    case .object: return "ObjectReference?"
    case .typeCode: return "TypeCode"
    case .valueBase: return "UnsupportedIDLValue"
    case .sequence(let element, _): return "[\(swiftType(element))]"
    case .array(let element, let dimensions):
      return String(repeating: "[", count: dimensions.count) + swiftType(element) + String(repeating: "]", count: dimensions.count)
    case .named(let name):
      switch declaration(name) {
      case .interface(let i)? where i.kind == .plain: return swiftName(name) + ".Client?"
      case .forward(let f)? where f.kind == .interface: return "ObjectReference?"
      case .interface?, .forward?, .valueType?, .native?:
        if case .forward(let f)? = declaration(name), f.kind == .structType || f.kind == .unionType { return swiftName(name) }
        return "UnsupportedIDLValue"
      default: return swiftName(name)
      }
    }
  }

  /// A lower bound on the wire size of one value (for checking counts against the data left).
  func minimumSize(_ type: IDLType) -> Int {
    switch type {
    case .boolean, .char, .octet: return 1
    case .short, .unsignedShort: return 2
    case .long, .unsignedLong, .float, .wchar: return type == .wchar ? 1 : 4
    case .longLong, .unsignedLongLong, .double: return 8
    case .longDouble: return 16
    case .string, .wstring, .sequence: return 4
    case .named(let n):
      if case .basic(let t) = resolveNamed(n) { return minimumSize(t) }
      return 1
    default: return 1
    }
  }

  /// Statements that marshal `value` (a Swift expression) of `type` into writer `w`.
  func write(_ type: IDLType, _ value: String, _ w: String, depth: Int = 0) -> String {
    let e = "_e\(depth)"
    let ww = "_w\(depth)"
    if let equivalent = type.omgEquivalent { return write(equivalent, value, w, depth: depth) }
    switch type {
    case .void, .opaque, .fixedOpaque, .optional: return ""
    case .boolean, .octet, .short, .unsignedShort, .long, .unsignedLong, .longLong, .unsignedLongLong, .float, .double:
      return "\(w).write(\(value))"
    case .longDouble, .any, .typeCode, .valueBase: return "try \(value).encode(to: &\(w))"
    case .char: return "try \(w).writeChar(\(value))"
    case .wchar: return "try \(w).writeWChar(\(value))"
    case .string(let bound):
      let check = bound.map { "try checkBound(\(value).unicodeScalars.count, \($0), \"string\"); " } ?? ""
      return check + "try \(w).writeString(\(value))"
    case .wstring(let bound):
      let check = bound.map { "try checkBound(\(value).unicodeScalars.count, \($0), \"wstring\"); " } ?? ""
      return check + "try \(w).writeWString(\(value))"
    case .fixed(let digits, let scale): return "try \(value).encode(to: &\(w), digits: \(digits), scale: \(scale))"
    case .object: return "try \(w).writeObjectReference(\(value))"
    case .sequence(.octet, let bound):
      let check = bound.map { "try checkBound(\(value).count, \($0), \"sequence<octet>\"); " } ?? ""
      return check + "\(w).writeOctetSequence(\(value))"
    case .sequence(let element, let bound):
      let b = bound.map { ", bound: \($0)" } ?? ""
      return "try \(w).writeSequence(\(value)\(b)) { \(ww), \(e) in \(write(element, e, ww, depth: depth + 1)) }"
    case .array(let element, let dimensions):
      let inner: IDLType = dimensions.count > 1 ? .array(element, dimensions: Array(dimensions.dropFirst())) : element
      return "try \(w).writeArray(\(value), count: \(dimensions[0])) { \(ww), \(e) in \(write(inner, e, ww, depth: depth + 1)) }"
    case .named(let name):
      switch resolveNamed(name) {
      case .basic(let t): return write(t, value, w, depth: depth)
      case .structLike, .unsupported: return "try \(value).encode(to: &\(w))"
      case .interface: return "try \(w).writeObjectReference(\(value)?.reference)"
      }
    }
  }

  /// An expression that unmarshals a value of `type` from reader `r`.
  func read(_ type: IDLType, _ r: String, depth: Int = 0) -> String {
    let rr = "_r\(depth)"
    if let equivalent = type.omgEquivalent { return read(equivalent, r, depth: depth) }
    switch type {
    case .void, .opaque, .fixedOpaque, .optional: return "()"
    case .boolean, .octet, .short, .unsignedShort, .long, .unsignedLong, .longLong, .unsignedLongLong, .float, .double:
      return "try \(r).read(\(swiftType(type)).self)"
    case .longDouble, .any, .typeCode, .valueBase: return "try \(swiftType(type))(from: &\(r))"
    case .char: return "try \(r).readChar()"
    case .wchar: return "try \(r).readWChar()"
    case .string(let bound): return "try \(r).readString(\(bound.map { "bound: \($0)" } ?? ""))"
    case .wstring(let bound): return "try \(r).readWString(\(bound.map { "bound: \($0)" } ?? ""))"
    case .fixed(let digits, let scale): return "try CDRFixed(from: &\(r), digits: \(digits), scale: \(scale))"
    case .object: return "try \(r).readObjectReference()"
    case .sequence(.octet, let bound): return "try \(r).readOctetSequence(\(bound.map { "bound: \($0)" } ?? ""))"
    case .sequence(let element, let bound):
      let b = bound.map { "bound: \($0), " } ?? ""
      return "try \(r).readSequence(\(b)minimumElementSize: \(minimumSize(element))) { \(rr) in \(read(element, rr, depth: depth + 1)) }"
    case .array(let element, let dimensions):
      let inner: IDLType = dimensions.count > 1 ? .array(element, dimensions: Array(dimensions.dropFirst())) : element
      return "try \(r).readArray(count: \(dimensions[0]), minimumElementSize: \(minimumSize(inner))) { \(rr) in \(read(inner, rr, depth: depth + 1)) }"
    case .named(let name):
      switch resolveNamed(name) {
      case .basic(let t): return read(t, r, depth: depth)
      case .structLike: return "try \(swiftName(name))(from: &\(r))"
      case .unsupported: return "try UnsupportedIDLValue(from: &\(r))"
      case .interface(let target): return "try \(r).readObjectReference().map(\(swiftName(target)).Client.init)"
      }
    }
  }

  /// Warns once that `name` is not mapped.
  mutating func warnUnsupported(_ info: DeclarationInfo, _ what: String) {
    guard warned.insert(info.scopedName).inserted else { return }
    diagnostics.append(IDLDiagnostic(.warning, at: info.location, "\(what) '\(info.scopedName)' is not mapped to Swift yet; values of it cannot be marshalled (UnsupportedIDLValue)"))
  }

  // MARK: - file

  /// The file header; `body` decides which imports are public (a module whose types appear in
  /// the generated declarations) and which are not.
  mutating func header(body: String) {
    let source = model.mainFile.split(separator: "/").last.map(String.init) ?? model.mainFile
    out.line("// DO NOT EDIT.")
    out.line("// swift-format-ignore-file")
    out.line("//")
    out.line("// Generated by courier-idl from \(source).")
    out.line("// Source: \(source)")
    out.line()
    let importAccess = access == "public" ? "public " : (access == "package" ? "package " : "")
    func uses(_ names: [String]) -> Bool { names.contains { body.contains($0) } }
    let publicUse = [
      "CourierCore": uses(["UserException", "ServerRequest", "CourierCore.Servant"]),
      "CourierGIOP": uses([": ObjectReference", "-> ObjectReference", "[ObjectReference", "ObjectStub", "CallOptions", "UnsupportedIDLValue"]),
      "CourierWire": uses(["CDRWriter", "CDRReader", "CDRCodable", "CORBAAny", "TypeCode", "CDRFixed", "CDRLongDouble"]),
    ]
    for module in ["CourierCore", "CourierGIOP", "CourierWire"] {
      out.line("\(publicUse[module] == true ? importAccess : "")import \(module)")
    }
    out.line()
    out.line("/// Fails to compile against a Courier runtime whose generated-code API differs from the one")
    out.line("/// this file was generated for: regenerate the file with that runtime's courier-idl.")
    out.line("fileprivate struct _CourierGeneratedCodeCheck: CourierGIOP.CourierIDLRuntimeVersion1 {}")
  }

  /// A definition at module level (or nested in a type, inside an `extension`/body already open).
  mutating func definition(_ d: Definition) {
    if nestingDepth == 0, !isModule(d) { out.line() }
    switch d {
    case .module(let m):
      for inner in m.definitions where inner.isFromMainFileDeep { definition(inner) }
    case .structure(let s): structure(s.info, members: s.members, nested: s.nested, isException: false)
    case .exception(let e): structure(e.info, members: e.members, nested: e.nested, isException: true)
    case .enumeration(let e): enumeration(e)
    case .union(let u): union(u)
    case .typedef(let t): typedef(t)
    case .constant(let c): constant(c)
    case .interface(let i): interface(i)
    case .forward: break
    case .native(let n): warnUnsupported(n.info, "native")
    case .valueType(let v): warnUnsupported(v.info, "value type")
    }
  }

  func isModule(_ d: Definition) -> Bool {
    if case .module = d { return true }
    if case .forward = d { return true }
    return false
  }

  /// The name to declare a type under: its last component when nested in a type, the full
  /// flattened name at module level.
  func declaredName(_ info: DeclarationInfo) -> String {
    let full = swiftName(info.scopedName)
    if let dot = full.lastIndex(of: ".") { return String(full[full.index(after: dot)...]) }
    return full
  }

  func doc(_ info: DeclarationInfo, _ kind: String) -> String {
    "/// IDL \(kind) `\(info.scopedName)` (\(info.repositoryID))."
  }
}

extension IDLType {
  /// The OMG IDL type with the same CDR meaning, for the RPCL-only types (which an OMG IDL model
  /// never holds): opaque data is a sequence or array of octets, optional data a sequence of at
  /// most one element.
  var omgEquivalent: IDLType? {
    switch self {
    case .opaque(let bound): return .sequence(.octet, bound: bound)
    case .fixedOpaque(let count): return .array(.octet, dimensions: [count])
    case .optional(let wrapped): return .sequence(wrapped, bound: 1)
    default: return nil
    }
  }
}
