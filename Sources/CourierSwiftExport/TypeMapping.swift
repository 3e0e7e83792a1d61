import SwiftSyntax

/// An IDL type as the exporter sees it: what the Codable→CDR bridge writes for a Swift type.
indirect enum IDLType: Hashable {
  /// A basic type, spelled as IDL spells it (`long`, `unsigned short`, `string`, `Object`).
  case basic(String)
  /// A struct, enum typedef or interface declared in the files (its Swift path).
  case declared([String])
  /// `[T]`: `sequence<T>`, declared as a typedef (`LongSeq`).
  case sequence(IDLType)
  /// `T?`: `union TOpt switch (boolean) { case TRUE: T value; }`.
  case optional(IDLType)
}

/// The built-in Swift types and the IDL type the bridge writes for each (CourierWire's
/// `CDRCodable.swift`: `Int8` writes one octet, IDL 4's `int8`, which omniidl does not know;
/// `octet` has the same bytes).
enum BuiltinTypes {
  static let idl: [String: String] = [
    "Bool": "boolean", "UInt8": "octet", "Int8": "octet", "Int16": "short", "UInt16": "unsigned short",
    "Int32": "long", "UInt32": "unsigned long", "Int": "long long", "Int64": "long long",
    "UInt": "unsigned long long", "UInt64": "unsigned long long", "Float": "float", "Float32": "float",
    "Double": "double", "Float64": "double", "String": "string", "WString": "wstring", "CDRChar": "char",
    "CDRWChar": "wchar", "CDRLongDouble": "long double", "CourierActorID": "Object",
  ]
  /// Modules whose types may be written qualified (`Swift.Int32`, `CourierWire.WString`).
  static let modules: Set<String> = ["Swift", "CourierWire", "CourierActors"]
  /// Raw types an enum may have (the bridge writes the raw value).
  static let rawTypes: Set<String> = [
    "UInt8", "Int8", "Int16", "UInt16", "Int32", "UInt32", "Int", "Int64", "UInt", "UInt64", "String",
  ]
  /// How a basic type reads in a generated typedef name (`sequence<long>` → `LongSeq`).
  static let typedefNames: [String: String] = [
    "boolean": "Boolean", "octet": "Octet", "short": "Short", "unsigned short": "UShort", "long": "Long",
    "unsigned long": "ULong", "long long": "LongLong", "unsigned long long": "ULongLong", "float": "Float",
    "double": "Double", "long double": "LongDouble", "string": "String", "wstring": "WString", "char": "Char",
    "wchar": "WChar", "Object": "Object",
  ]
}

/// Maps Swift type syntax to ``IDLType`` (resolving names the way Swift looks them up: from the
/// innermost enclosing type outward), reporting what the bridge cannot write.
struct TypeMapper {
  let module: ScannedModule
  let swiftModule: String

  func location(_ node: some SyntaxProtocol, in file: String) -> SwiftSourceLocation {
    guard let converter = module.converters[file] else { return SwiftSourceLocation(file: file, line: 0, column: 0) }
    let l = converter.location(for: node.positionAfterSkippingLeadingTrivia)
    return SwiftSourceLocation(file: file, line: l.line, column: l.column)
  }

  /// The declared type a name refers to from `context` (a type's path), if any.
  func resolve(_ path: [String], from context: [String]) -> ScannedModule.DeclaredType? {
    for k in stride(from: context.count, through: 0, by: -1) {
      if let t = module.types[Array(context[0..<k]) + path] { return t }
    }
    if path.count > 1 && path.first == swiftModule { return module.types[Array(path.dropFirst())] }
    return nil
  }

  /// The IDL type for `type` used in `context`; diagnostics go to `problems`.
  func map(_ type: TypeSyntax, from context: [String], file: String, problems: inout [SwiftExportDiagnostic]) -> IDLType? {
    func fail(_ message: String) -> IDLType? {
      problems.append(.init(.error, at: location(type, in: file), message))
      return nil
    }
    let written = type.trimmedDescription
    if let t = type.as(OptionalTypeSyntax.self) {
      if t.wrappedType.is(OptionalTypeSyntax.self) { return fail("nested optional '\(written)': the bridge writes one discriminator for both levels") }
      return map(t.wrappedType, from: context, file: file, problems: &problems).map { .optional($0) }
    }
    if type.is(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return fail("'\(written)': write the optional as 'T?'") }
    if let t = type.as(ArrayTypeSyntax.self) {
      return map(t.element, from: context, file: file, problems: &problems).map { .sequence($0) }
    }
    if type.is(DictionaryTypeSyntax.self) {
      return fail("dictionary '\(written)' has no positional CDR form in the Codable bridge; use an array of a Codable struct")
    }
    if let t = type.as(TupleTypeSyntax.self) {
      if t.elements.count == 1, let only = t.elements.first, only.firstName == nil { return map(only.type, from: context, file: file, problems: &problems) }
      return fail("tuple '\(written)' cannot be exported; use a Codable struct")
    }
    if type.is(FunctionTypeSyntax.self) { return fail("closure '\(written)' cannot be sent to a distributed actor") }
    if let t = type.as(AttributedTypeSyntax.self) {
      for specifier in t.specifiers {
        if let s = specifier.as(SimpleTypeSpecifierSyntax.self), s.specifier.text == "inout" {
          return fail("inout parameter '\(written)': distributed methods take parameters by value")
        }
      }
      if !t.attributes.isEmpty { return fail("'\(written)': attributed types (closures) cannot be exported") }
      return map(t.baseType, from: context, file: file, problems: &problems)
    }
    if let t = type.as(SomeOrAnyTypeSyntax.self) {
      if t.someOrAnySpecifier.text == "any", let target = resolve(ScannedSwiftPath.path(of: t.constraint), from: context),
         target.kind == .distributedProtocol {
        return .declared(target.path)
      }
      return fail("'\(written)': generic and existential types cannot be exported")
    }
    if type.is(CompositionTypeSyntax.self) { return fail("'\(written)': protocol compositions cannot be exported") }

    // A named type: IdentifierTypeSyntax or MemberTypeSyntax, maybe with generic arguments.
    var path = ScannedSwiftPath.path(of: type)
    let arguments = ScannedSwiftPath.genericArguments(of: type)
    if path.count == 2 && BuiltinTypes.modules.contains(path[0]) { path.removeFirst() }
    if path.count == 1 && (path[0] == "Optional" || path[0] == "Array"), arguments.count == 1 {
      guard let element = map(arguments[0], from: context, file: file, problems: &problems) else { return nil }
      if path[0] == "Array" { return .sequence(element) }
      if case .optional = element { return fail("nested optional '\(written)': the bridge writes one discriminator for both levels") }
      return .optional(element)
    }
    if path.count == 1 && ["Dictionary", "Set"].contains(path[0]) {
      return fail("'\(written)': \(path[0] == "Set" ? "sets" : "dictionaries") have no positional CDR form in the Codable bridge; use an array")
    }
    if path == ["Void"] { return fail("'Void' is only allowed as a result") }
    if let name = path.last, name.hasPrefix("$") {
      path[path.count - 1] = String(name.dropFirst())
      guard let target = resolve(path, from: context), target.kind == .distributedProtocol else {
        return fail("'\(written)' is not the stub of a @Resolvable protocol declared in the exported files")
      }
      return .declared(target.path)
    }
    if let target = resolve(path, from: context) {
      if !arguments.isEmpty || target.isGeneric { return fail("generic type '\(written)' cannot be exported") }
      let name = target.path.joined(separator: ".")
      switch target.kind {
      case .actor, .distributedProtocol: return .declared(target.path)
      case .structure:
        if !target.isCodable { return fail("struct '\(name)' is not Codable (declare it ': Codable')") }
        return .declared(target.path)
      case .enumeration:
        if let reason = TypeMapper.enumProblem(target) { return fail("enum '\(name)' \(reason)") }
        return .declared(target.path)
      case .other:
        return fail("'\(name)' is neither a distributed actor, a Codable struct nor an enum with a raw type")
      }
    }
    if !arguments.isEmpty { return fail("generic type '\(written)' cannot be exported") }
    if path.count == 1, let basic = BuiltinTypes.idl[path[0]] { return .basic(basic) }
    return fail("unknown type '\(written)': it is neither a built-in type nor a Codable struct, enum with a raw type or distributed actor declared in the exported files")
  }

  /// Why an enum cannot be exported (nil if it can: no associated values, a raw type the bridge writes).
  static func enumProblem(_ e: ScannedModule.DeclaredType) -> String? {
    if e.associatedValues != nil { return "has cases with associated values, which the Codable bridge cannot write" }
    guard let raw = e.rawType, let name = ScannedSwiftPath.path(of: raw).last, BuiltinTypes.rawTypes.contains(name) else {
      return "has no integer or String raw type (the bridge writes an enum's raw value)"
    }
    return nil
  }
}

/// Name paths and generic arguments of type syntax.
enum ScannedSwiftPath {
  static func path(of type: TypeSyntax) -> [String] { SwiftScanner.path(of: type) }

  static func genericArguments(of type: TypeSyntax) -> [TypeSyntax] {
    let clause = type.as(IdentifierTypeSyntax.self)?.genericArgumentClause ?? type.as(MemberTypeSyntax.self)?.genericArgumentClause
    guard let clause else { return [] }
    return clause.arguments.compactMap {
      if case .type(let t) = $0.argument { return t }
      return nil
    }
  }
}
