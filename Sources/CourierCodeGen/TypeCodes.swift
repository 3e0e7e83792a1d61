import CourierIDL

// Every generated struct, union, enum and exception describes itself as a TypeCode
// (`CDRTypeCodeProvider`), so that its values go into and come out of an `any`. Recursive and
// mutually recursive types are handled at run time: `typeCode(enclosing:)` returns an
// indirection (`.recursive`) for a type already being described.

extension Emitter {
  /// A Swift expression for the TypeCode of `type`, inside a `typeCode(enclosing: e)` body.
  func typeCodeExpression(_ type: IDLType) -> String {
    if let equivalent = type.omgEquivalent { return typeCodeExpression(equivalent) }
    switch type {
    case .void, .opaque, .fixedOpaque, .optional: return ".void"
    case .boolean: return ".boolean"
    case .char: return ".char"
    case .wchar: return ".wchar"
    case .octet: return ".octet"
    case .short: return ".short"
    case .unsignedShort: return ".ushort"
    case .long: return ".long"
    case .unsignedLong: return ".ulong"
    case .longLong: return ".longlong"
    case .unsignedLongLong: return ".ulonglong"
    case .float: return ".float"
    case .double: return ".double"
    case .longDouble: return ".longdouble"
    case .string(let b): return ".string(bound: \(b ?? 0))"
    case .wstring(let b): return ".wstring(bound: \(b ?? 0))"
    case .fixed(let d, let s): return ".fixed(digits: \(d), scale: \(s))"
    case .any: return ".any"
    case .object: return ".objref(id: \"IDL:omg.org/CORBA/Object:1.0\", name: \"Object\")"
    case .typeCode: return ".typeCode"
    case .valueBase: return ".null"
    case .sequence(let element, let b): return ".sequence(element: \(typeCodeExpression(element)), bound: \(b ?? 0))"
    case .array(let element, let dimensions):
      var tc = typeCodeExpression(element)
      for d in dimensions.reversed() { tc = ".array(element: \(tc), length: \(d))" }
      return tc
    case .named(let name):
      switch declaration(name) {
      case .structure?, .union?, .exception?: return "\(swiftName(name)).typeCode(enclosing: e)"
      case .enumeration?: return "\(swiftName(name)).typeCode"
      case .typedef(let t)?:
        return ".alias(id: \(SwiftNames.stringLiteral(t.info.repositoryID)), name: \(SwiftNames.stringLiteral(t.info.name)), content: \(typeCodeExpression(t.type)))"
      case .interface(let i)? where i.kind == .plain:
        return ".objref(id: \(SwiftNames.stringLiteral(i.info.repositoryID)), name: \(SwiftNames.stringLiteral(i.info.name)))"
      case .forward(let f)? where f.kind == .interface:
        return ".objref(id: \(SwiftNames.stringLiteral(f.info.repositoryID)), name: \(SwiftNames.stringLiteral(f.info.name)))"
      case .forward(let f)? where f.kind == .structType || f.kind == .unionType:
        return "\(swiftName(name)).typeCode(enclosing: e)"
      default: return ".null"
      }
    }
  }

  /// An `AnyValue` expression for a union label.
  func labelAnyValue(_ value: ConstantValue, discriminator: IDLType) -> String {
    let resolved = model.resolvingTypedefs(discriminator)
    switch value {
    case .integer(let v):
      switch resolved {
      case .short: return ".short(\(v))"
      case .unsignedShort: return ".ushort(\(v))"
      case .unsignedLong: return ".ulong(\(v))"
      case .longLong: return ".longlong(\(v))"
      case .unsignedLongLong: return ".ulonglong(\(v))"
      case .octet: return ".octet(\(v))"
      default: return ".long(\(v))"
      }
    case .boolean(let b): return ".boolean(\(b))"
    case .char(let c): return ".char(Unicode.Scalar(UInt8(\(c))))"
    case .wchar(let c): return ".wchar(Unicode.Scalar(\(c.value))!)"
    case .enumerator(let e, let n):
      if case .enumeration(let decl)? = declaration(e), let i = decl.enumerators.firstIndex(of: n) { return ".enumerator(\(i))" }
      return ".enumerator(0)"
    default: return ".null"
    }
  }

  /// The members of `CDRTypeCodeProvider` for a struct, union or exception.
  mutating func typeCodeMembers(_ info: DeclarationInfo, kind: String, body: String) {
    member("")
    member("/// This type's TypeCode, for `any` values (`CORBAAny(value)`, `any.extract(\(declaredName(info)).self)`).")
    member("\(access) static var typeCode: TypeCode { typeCode(enclosing: []) }")
    member("")
    member("/// The TypeCode, as an indirection if this type is already being described (recursion).")
    member("\(access) static func typeCode(enclosing: Set<String>) -> TypeCode {")
    member("  let id = \(SwiftNames.stringLiteral(info.repositoryID))")
    member("  if enclosing.contains(id) { return .recursive(id: id, kind: .\(kind)) }")
    member("  let e = enclosing.union([id])")
    member("  _ = e")
    member("  return \(body)")
    member("}")
  }

  func structTypeCodeBody(_ info: DeclarationInfo, members: [Member], isException: Bool) -> String {
    let list = members.map { ".init(name: \(SwiftNames.stringLiteral($0.name)), type: \(typeCodeExpression($0.type)))" }
    return ".\(isException ? "except" : "`struct`")(id: id, name: \(SwiftNames.stringLiteral(info.name)), members: [\(list.joined(separator: ", "))])"
  }

  func unionTypeCodeBody(_ u: UnionDeclaration) -> String {
    var list: [String] = []
    for c in u.cases {
      let type = typeCodeExpression(c.member.type)
      for label in c.labels {
        list.append(".init(label: \(labelAnyValue(label, discriminator: u.discriminator)), name: \(SwiftNames.stringLiteral(c.member.name)), type: \(type))")
      }
      if c.isDefault {
        list.append(".init(label: nil, name: \(SwiftNames.stringLiteral(c.member.name)), type: \(type))")
      }
    }
    return ".union(id: id, name: \(SwiftNames.stringLiteral(u.info.name)), discriminator: \(typeCodeExpression(u.discriminator)), members: [\(list.joined(separator: ", "))])"
  }
}
