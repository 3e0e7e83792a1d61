// Type specifications and declarators.

extension Parser {
  /// A type spec where struct/union/enum definitions may appear (members, typedefs); the
  /// definitions are appended to `nested`.
  func parseTypeSpec(nested: inout [Definition]) throws -> IDLType {
    if checkKeyword("struct") || checkKeyword("union") || checkKeyword("enum") {
      let definition = try parseConstructedType(allowForward: false)
      nested.append(definition)
      return .named(definition.info.scopedName)
    }
    return try parseSimpleTypeSpec()
  }

  /// Parameter, attribute and return types (base types, strings, names; sequences are
  /// accepted too, as most compilers do).
  func parseParameterType() throws -> IDLType { try parseSimpleTypeSpec() }

  /// Base types, template types (`sequence`, `string`, `wstring`, `fixed`) and type names.
  func parseSimpleTypeSpec() throws -> IDLType {
    if let base = try parseBaseType() { return base }
    let start = current
    if consumeKeyword("sequence") {
      try expect("<")
      angleDepth += 1
      defer { angleDepth -= 1 }
      let element = try parseSimpleTypeSpec()
      var bound: Int? = nil
      if consume(",") { bound = try parsePositiveBound() }
      try expectClosingAngle()
      return .sequence(element, bound: bound)
    }
    if checkKeyword("string") || checkKeyword("wstring") {
      let wide = current.text == "wstring"
      advance()
      var bound: Int? = nil
      if consume("<") {
        angleDepth += 1
        defer { angleDepth -= 1 }
        bound = try parsePositiveBound()
        try expectClosingAngle()
      }
      return wide ? .wstring(bound: bound) : .string(bound: bound)
    }
    if consumeKeyword("fixed") {
      guard consume("<") else { throw syntaxError("expected '<' after 'fixed' (fixed<digits, scale>)", at: current.location) }
      angleDepth += 1
      defer { angleDepth -= 1 }
      let digits = try parsePositiveBound()
      try expect(",")
      let scaleStart = current.location
      let scaleExpression = try parseConstantExpression()
      let scale = evaluate(scaleExpression, as: .integer(.unsignedShort)).flatMap { value -> Int? in
        if case .integer(let v) = value { return Int(v) }
        return nil
      } ?? 0
      try expectClosingAngle()
      if digits > 31 { error("fixed<\(digits), \(scale)> has more than 31 digits", at: start.location) }
      if scale > digits { error("the scale of fixed<\(digits), \(scale)> is larger than its digits", at: scaleStart) }
      return .fixed(digits: digits, scale: scale)
    }
    guard startsScopedName else { throw syntaxError("expected a type, found \(current.quoted)") }
    let reference = try parseScopedName()
    return resolveType(reference)
  }

  /// `short`, `unsigned long long`, `long double`, `char`, `any`, `Object`…; nil when the
  /// current token starts no base type.
  func parseBaseType() throws -> IDLType? {
    guard current.kind == .identifier, !current.isEscaped else { return nil }
    switch current.text {
    case "short": advance(); return .short
    case "long":
      advance()
      if consumeKeyword("long") { return .longLong }
      if consumeKeyword("double") { return .longDouble }
      return .long
    case "unsigned":
      advance()
      if consumeKeyword("short") { return .unsignedShort }
      if consumeKeyword("long") { return consumeKeyword("long") ? .unsignedLongLong : .unsignedLong }
      throw syntaxError("expected 'short' or 'long' after 'unsigned', found \(current.quoted)")
    case "float": advance(); return .float
    case "double": advance(); return .double
    case "char": advance(); return .char
    case "wchar": advance(); return .wchar
    case "boolean": advance(); return .boolean
    case "octet": advance(); return .octet
    case "any": advance(); return .any
    case "Object": advance(); return .object
    case "ValueBase": advance(); return .valueBase
    default: return nil
    }
  }

  /// A declared type's name: resolved to its scoped name (`TypeCode`, `CORBA::TypeCode`,
  /// `CORBA::Object` and `CORBA::ValueBase` are the built-in pseudo types when not declared).
  func resolveType(_ reference: NameReference) -> IDLType {
    if let symbol = lookup(reference) {
      if !symbol.kind.isType {
        error("'\(reference.written)' is a \(symbol.kind.describe), not a type", at: reference.location)
      }
      return .named(symbol.scopedName)
    }
    let parts = reference.parts.map(\.text)
    switch parts {
    case ["TypeCode"], ["CORBA", "TypeCode"]: return .typeCode
    case ["CORBA", "Object"]: return .object
    case ["CORBA", "ValueBase"]: return .valueBase
    default:
      error("unknown type '\(reference.written)'", at: reference.location)
      return .named(ScopedName(parts))
    }
  }

  /// A declarator: a name and its array sizes (`m[3][4]`).
  func parseDeclarator() throws -> (Token, [Int]) {
    let name = try parseIdentifier("a declarator name")
    var dimensions: [Int] = []
    while consume("[") {
      dimensions.append(try parsePositiveBound())
      try expect("]")
    }
    return (name, dimensions)
  }

  /// A bound or array size: a constant expression with a positive integer value.
  func parsePositiveBound() throws -> Int {
    let start = current.location
    let expression = try parseConstantExpression()
    guard case .integer(let value)? = evaluate(expression, as: .integer(.unsignedLong)) else { return 1 }
    guard value > 0 else {
      error("a bound or array size must be positive, not \(value)", at: start)
      return 1
    }
    return Int(value)
  }

  /// The type of a `const` declaration (base types, strings, fixed, or a name).
  func parseConstantType() throws -> IDLType {
    if consumeKeyword("fixed") { return .fixed(digits: 0, scale: 0) }
    return try parseSimpleTypeSpec()
  }

  /// Follows typedefs through the symbol table.
  func resolvingTypedefs(_ type: IDLType) -> IDLType {
    var t = type
    var steps = 0
    while case .named(let name) = t, steps < 100, let symbol = symbol(named: name), case .typedef(let underlying) = symbol.kind {
      t = underlying
      steps += 1
    }
    return t
  }
}
