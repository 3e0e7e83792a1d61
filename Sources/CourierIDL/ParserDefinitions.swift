// Definitions: modules, interfaces, value types, structs, unions, enums, exceptions, typedefs,
// constants, natives, typeid/typeprefix (CORBA 3.0 §3.4 grammar, rules 1–137).

extension Parser {
  /// The whole token stream.
  func parseSpecification() -> [Definition] {
    processMarkers()
    var definitions: [Definition] = []
    while !atEnd {
      if check("}") {
        error("unexpected '}'", at: current.location)
        advance()
        continue
      }
      recovering { try parseDefinition(into: &definitions) }
    }
    return definitions
  }

  /// Definitions until the `}` of the enclosing body.
  func parseBody(into definitions: inout [Definition]) {
    while !check("}") && !atEnd {
      recovering { try parseDefinition(into: &definitions) }
    }
  }

  /// One definition and its `;`.
  func parseDefinition(into definitions: inout [Definition]) throws {
    let token = current
    guard token.kind == .identifier, !token.isEscaped else {
      throw syntaxError("expected a definition, found \(token.quoted)")
    }
    switch token.text {
    case "module":
      definitions.append(try parseModule())
    case "interface", "local":
      definitions.append(try parseInterface())
    case "abstract":
      if peek().isKeyword("valuetype") || peek().isKeyword("eventtype") {
        definitions.append(try parseValueType())
      } else {
        definitions.append(try parseInterface())
      }
    case "valuetype", "eventtype", "custom":
      definitions.append(try parseValueType())
    case "import":
      advance()
      if current.kind == .stringLiteral { advance() } else { _ = try parseScopedName() }
    default:
      guard try parseCommonDefinition(into: &definitions) else {
        throw syntaxError("expected a definition, found \(token.quoted)")
      }
    }
    expectSemicolon()
  }

  /// The definitions allowed in modules, interfaces and value types alike (without the `;`);
  /// false when the current token starts none of them.
  func parseCommonDefinition(into definitions: inout [Definition]) throws -> Bool {
    guard current.kind == .identifier, !current.isEscaped else { return false }
    switch current.text {
    case "typedef":
      try parseTypedef(into: &definitions)
    case "struct", "union", "enum":
      definitions.append(try parseConstructedType(allowForward: true))
    case "native":
      advance()
      let name = try parseIdentifier("a native type name")
      definitions.append(.native(NativeDeclaration(info: declare(name, .native))))
    case "const":
      definitions.append(try parseConstant())
    case "exception":
      definitions.append(try parseException())
    case "typeid":
      advance()
      let reference = try parseScopedName()
      guard current.kind == .stringLiteral else { throw syntaxError("expected a repository id string, found \(current.quoted)") }
      let id = current.stringValue
      advance()
      if let symbol = lookup(reference) {
        recordTypeID(symbol, id)
      } else {
        error("unknown name '\(reference.written)'", at: reference.location)
      }
    case "typeprefix":
      advance()
      let reference = try parseScopedName()
      guard current.kind == .stringLiteral else { throw syntaxError("expected a prefix string, found \(current.quoted)") }
      let prefix = current.stringValue
      advance()
      if let symbol = lookup(reference) {
        recordTypePrefix(symbol.scopedName, prefix)
      } else {
        error("unknown name '\(reference.written)'", at: reference.location)
      }
    default:
      return false
    }
    return true
  }

  // MARK: Modules

  private func parseModule() throws -> Definition {
    advance()
    let name = try parseIdentifier("a module name")
    let info = declare(name, .module)
    var definitions: [Definition] = []
    try withScope(scope.child(name.text)) {
      try expect("{")
      parseBody(into: &definitions)
    }
    try expect("}")
    return .module(ModuleDeclaration(info: info, definitions: definitions))
  }

  // MARK: Interfaces

  private func parseInterface() throws -> Definition {
    var kind = InterfaceDeclaration.Kind.plain
    if consumeKeyword("abstract") {
      kind = .abstract
    } else if consumeKeyword("local") {
      kind = .local
    }
    try expectKeyword("interface")
    let name = try parseIdentifier("an interface name")
    if check(";") {
      let info = declare(name, .interface(complete: false, kind: kind))
      let forwardKind: ForwardDeclaration.Kind = kind == .plain ? .interface : kind == .local ? .localInterface : .abstractInterface
      return .forward(ForwardDeclaration(info: info, kind: forwardKind))
    }
    var bases: [ScopedName] = []
    var baseScopes: [Scope] = []
    if consume(":") {
      repeat {
        let reference = try parseScopedName()
        guard let base = resolveBase(reference, expecting: "interface") else { continue }
        if bases.contains(base) {
          error("'\(reference.written)' is inherited twice", at: reference.location)
          continue
        }
        bases.append(base)
        if let s = scope(named: base) { baseScopes.append(s) }
      } while consume(",")
    }
    let info = declare(name, .interface(complete: true, kind: kind))
    let interfaceScope = scope.child(name.text)
    interfaceScope.inherited = baseScopes
    var definitions: [Definition] = []
    var attributes: [Attribute] = []
    var operations: [Operation] = []
    try withScope(interfaceScope) {
      try expect("{")
      while !check("}") && !atEnd {
        recovering { try parseExport(definitions: &definitions, attributes: &attributes, operations: &operations) }
      }
    }
    try expect("}")
    return .interface(InterfaceDeclaration(info: info, kind: kind, bases: bases, definitions: definitions,
                                           attributes: attributes, operations: operations))
  }

  /// An interface or value type to inherit from: declared, of the right kind and complete.
  private func resolveBase(_ reference: NameReference, expecting: String) -> ScopedName? {
    guard let symbol = lookup(reference) else {
      if expecting == "interface", reference.parts.map(\.text) == ["CORBA", "Object"] { return nil }
      error("unknown \(expecting) '\(reference.written)'", at: reference.location)
      return nil
    }
    switch symbol.kind {
    case .interface(let complete, _) where expecting == "interface":
      if !complete {
        error("interface '\(reference.written)' is only forward-declared; it must be defined before it is inherited from",
              at: reference.location)
        return nil
      }
    case .valueType(let complete, _) where expecting == "value type":
      if !complete {
        error("value type '\(reference.written)' is only forward-declared; it must be defined before it is inherited from",
              at: reference.location)
        return nil
      }
    default:
      error("'\(reference.written)' is a \(symbol.kind.describe), not \(expecting == "interface" ? "an" : "a") \(expecting)",
            at: reference.location)
      return nil
    }
    return symbol.scopedName
  }

  /// One export of an interface or value type body, with its `;`.
  private func parseExport(definitions: inout [Definition], attributes: inout [Attribute], operations: inout [Operation]) throws {
    if try parseCommonDefinition(into: &definitions) {
      // done
    } else if checkKeyword("readonly") || checkKeyword("attribute") {
      attributes += try parseAttributes()
    } else {
      operations.append(try parseOperation())
    }
    expectSemicolon()
  }

  private func parseAttributes() throws -> [Attribute] {
    let isReadonly = consumeKeyword("readonly")
    try expectKeyword("attribute")
    let type = try parseParameterType()
    var names: [Token] = []
    repeat {
      let name = try parseIdentifier("an attribute name")
      declare(name, .other("attribute"))
      names.append(name)
    } while consume(",")
    var getRaises: [ScopedName] = []
    var setRaises: [ScopedName] = []
    if names.count == 1 {
      if isReadonly {
        if checkKeyword("raises") { getRaises = try parseRaises() }
      } else {
        if checkKeyword("getraises") { getRaises = try parseRaises() }
        if checkKeyword("setraises") { setRaises = try parseRaises() }
      }
    }
    return names.map {
      Attribute(name: $0.text, type: type, isReadonly: isReadonly, getRaises: getRaises, setRaises: setRaises, location: $0.location)
    }
  }

  /// `raises (A, B)` (also `getraises`/`setraises`): the exceptions' scoped names.
  private func parseRaises() throws -> [ScopedName] {
    advance()
    try expect("(")
    var names: [ScopedName] = []
    repeat {
      let reference = try parseScopedName()
      if let symbol = lookup(reference) {
        if case .exception = symbol.kind {
          names.append(symbol.scopedName)
        } else {
          error("'\(reference.written)' is a \(symbol.kind.describe), not an exception", at: reference.location)
        }
      } else {
        error("unknown exception '\(reference.written)'", at: reference.location)
      }
    } while consume(",")
    try expect(")")
    return names
  }

  private func parseOperation() throws -> Operation {
    let oneway = current.isKeyword("oneway") ? current : nil
    if oneway != nil { advance() }
    let returnType: IDLType
    if consumeKeyword("void") {
      returnType = .void
    } else {
      returnType = try parseParameterType()
    }
    let name = try parseIdentifier("an operation name")
    let info = declare(name, .other("operation"))
    recordOperation(info.scopedName, isOneway: oneway != nil)
    let parameters = try parseParameters(factory: false)
    var raises: [ScopedName] = []
    if checkKeyword("raises") { raises = try parseRaises() }
    var contexts: [String] = []
    if consumeKeyword("context") {
      try expect("(")
      repeat {
        guard current.kind == .stringLiteral else { throw syntaxError("expected a context string, found \(current.quoted)") }
        contexts.append(current.stringValue)
        advance()
      } while consume(",")
      try expect(")")
    }
    if let oneway {
      if returnType != .void { error("oneway operation '\(name.text)' must return void", at: oneway.location) }
      if let p = parameters.first(where: { $0.direction != .in }) {
        error("oneway operation '\(name.text)' may only have 'in' parameters ('\(p.name)' is '\(p.direction.rawValue)')", at: p.location)
      }
      if !raises.isEmpty { error("oneway operation '\(name.text)' may not raise user exceptions", at: oneway.location) }
    }
    return Operation(name: name.text, isOneway: oneway != nil, returnType: returnType, parameters: parameters,
                     raises: raises, contexts: contexts, location: name.location)
  }

  /// `( in T a, out U b )`; factories take `in` parameters only (the `in` may not be omitted).
  private func parseParameters(factory: Bool) throws -> [Parameter] {
    try expect("(")
    var parameters: [Parameter] = []
    var seen: [String: SourceLocation] = [:]
    if !check(")") {
      repeat {
        let directionToken = current
        let direction: ParameterDirection
        if consumeKeyword("in") {
          direction = .in
        } else if consumeKeyword("out") {
          direction = .out
        } else if consumeKeyword("inout") {
          direction = .inout
        } else {
          throw syntaxError("expected 'in', 'out' or 'inout', found \(current.quoted)")
        }
        if factory && direction != .in {
          error("factory parameters must be 'in'", at: directionToken.location)
        }
        let type = try parseParameterType()
        let name = try parseIdentifier("a parameter name")
        if let earlier = seen[name.text.lowercased()] {
          error("parameter '\(name.text)' is already declared at \(earlier)", at: name.location)
        }
        seen[name.text.lowercased()] = name.location
        parameters.append(Parameter(direction: direction, name: name.text, type: type, location: name.location))
      } while consume(",")
    }
    try expect(")")
    return parameters
  }

  // MARK: Value types

  private func parseValueType() throws -> Definition {
    let isAbstract = consumeKeyword("abstract")
    let isCustom = consumeKeyword("custom")
    if !checkKeyword("valuetype") && !checkKeyword("eventtype") {
      throw syntaxError("expected 'valuetype' or 'eventtype', found \(current.quoted)")
    }
    advance()
    let name = try parseIdentifier("a value type name")
    if check(";") {
      let info = declare(name, .valueType(complete: false, isAbstract: isAbstract))
      return .forward(ForwardDeclaration(info: info, kind: .valueType))
    }
    if !isAbstract && !isCustom && !check(":") && !check("{") && !checkKeyword("supports") {
      // A value box.
      var nested: [Definition] = []
      let boxed = try parseTypeSpec(nested: &nested)
      let info = declare(name, .valueType(complete: true, isAbstract: false))
      return .valueType(ValueTypeDeclaration(info: info, boxedType: boxed, definitions: nested))
    }
    var isTruncatable = false
    var bases: [ScopedName] = []
    var supports: [ScopedName] = []
    var inheritedScopes: [Scope] = []
    if consume(":") {
      isTruncatable = consumeKeyword("truncatable")
      repeat {
        let reference = try parseScopedName()
        if let base = resolveBase(reference, expecting: "value type") {
          bases.append(base)
          if let s = scope(named: base) { inheritedScopes.append(s) }
        }
      } while consume(",")
    }
    if consumeKeyword("supports") {
      repeat {
        let reference = try parseScopedName()
        if let base = resolveBase(reference, expecting: "interface") {
          supports.append(base)
          if let s = scope(named: base) { inheritedScopes.append(s) }
        }
      } while consume(",")
    }
    let info = declare(name, .valueType(complete: true, isAbstract: isAbstract))
    let valueScope = scope.child(name.text)
    valueScope.inherited = inheritedScopes
    var value = ValueTypeDeclaration(info: info, isAbstract: isAbstract, isCustom: isCustom, isTruncatable: isTruncatable,
                                     bases: bases, supports: supports)
    try withScope(valueScope) {
      try expect("{")
      while !check("}") && !atEnd {
        recovering { try parseValueElement(into: &value) }
      }
    }
    try expect("}")
    return .valueType(value)
  }

  private func parseValueElement(into value: inout ValueTypeDeclaration) throws {
    if checkKeyword("public") || checkKeyword("private") {
      let isPublic = current.text == "public"
      advance()
      let type = try parseTypeSpec(nested: &value.definitions)
      repeat {
        let (name, dimensions) = try parseDeclarator()
        declare(name, .other("state member"))
        let memberType = dimensions.isEmpty ? type : .array(type, dimensions: dimensions)
        value.state.append(StateMember(isPublic: isPublic, member: Member(name: name.text, type: memberType, location: name.location)))
      } while consume(",")
      expectSemicolon()
    } else if checkKeyword("factory") {
      advance()
      let name = try parseIdentifier("a factory name")
      declare(name, .other("factory"))
      let parameters = try parseParameters(factory: true)
      var raises: [ScopedName] = []
      if checkKeyword("raises") { raises = try parseRaises() }
      value.factories.append(Operation(name: name.text, isOneway: false, returnType: .named(value.info.scopedName),
                                       parameters: parameters, raises: raises, location: name.location))
      expectSemicolon()
    } else {
      try parseExport(definitions: &value.definitions, attributes: &value.attributes, operations: &value.operations)
    }
  }

  // MARK: Typedefs, constants, exceptions

  private func parseTypedef(into definitions: inout [Definition]) throws {
    advance()
    let type = try parseTypeSpec(nested: &definitions)
    repeat {
      let (name, dimensions) = try parseDeclarator()
      let declared = dimensions.isEmpty ? type : IDLType.array(type, dimensions: dimensions)
      let info = declare(name, .typedef(declared))
      definitions.append(.typedef(TypedefDeclaration(info: info, type: declared)))
    } while consume(",")
  }

  private func parseConstant() throws -> Definition {
    advance()
    let typeStart = current.location
    let type = try parseConstantType()
    let name = try parseIdentifier("a constant name")
    try expect("=")
    let expression = try parseConstantExpression()
    var value: ConstantValue? = nil
    if let target = constantTarget(for: type, at: typeStart) {
      value = evaluate(expression, as: target)
    }
    let info = declare(name, .constant(type: type, value: value))
    return .constant(ConstantDeclaration(info: info, type: type, value: value ?? .integer(0)))
  }

  private func parseException() throws -> Definition {
    advance()
    let name = try parseIdentifier("an exception name")
    let info = declare(name, .exception)
    var members: [Member] = []
    var nested: [Definition] = []
    try withScope(scope.child(name.text)) {
      try expect("{")
      try parseMembers(into: &members, nested: &nested)
    }
    try expect("}")
    return .exception(ExceptionDeclaration(info: info, members: members, nested: nested))
  }

  /// Struct and exception members until the closing `}`.
  private func parseMembers(into members: inout [Member], nested: inout [Definition]) throws {
    while !check("}") && !atEnd {
      recovering {
        let type = try parseTypeSpec(nested: &nested)
        repeat {
          let (name, dimensions) = try parseDeclarator()
          declare(name, .other("member"))
          members.append(Member(name: name.text, type: dimensions.isEmpty ? type : .array(type, dimensions: dimensions),
                                location: name.location))
        } while consume(",")
        expectSemicolon()
      }
    }
  }

  // MARK: Structs, unions, enums

  /// `struct`, `union` or `enum` (full, or forward when `allowForward`).
  func parseConstructedType(allowForward: Bool) throws -> Definition {
    switch current.text {
    case "struct": return try parseStruct(allowForward: allowForward)
    case "union": return try parseUnion(allowForward: allowForward)
    default: return try parseEnum()
    }
  }

  private func parseStruct(allowForward: Bool) throws -> Definition {
    advance()
    let name = try parseIdentifier("a struct name")
    if allowForward && check(";") {
      let info = declare(name, .structure(complete: false))
      return .forward(ForwardDeclaration(info: info, kind: .structType))
    }
    // Declared before its members, so that `sequence<Self>` members resolve.
    let info = declare(name, .structure(complete: true))
    var members: [Member] = []
    var nested: [Definition] = []
    try withScope(scope.child(name.text)) {
      try expect("{")
      try parseMembers(into: &members, nested: &nested)
    }
    try expect("}")
    return .structure(StructDeclaration(info: info, members: members, nested: nested))
  }

  private func parseEnum() throws -> Definition {
    advance()
    let name = try parseIdentifier("an enum name")
    let info = declare(name, .enumeration)
    try expect("{")
    var enumerators: [String] = []
    repeat {
      let enumerator = try parseIdentifier("an enumerator")
      // Enumerators belong to the scope enclosing the enum.
      declare(enumerator, .enumerator(enumName: info.scopedName))
      enumerators.append(enumerator.text)
    } while consume(",")
    try expect("}")
    return .enumeration(EnumDeclaration(info: info, enumerators: enumerators))
  }

  private func parseUnion(allowForward: Bool) throws -> Definition {
    advance()
    let name = try parseIdentifier("a union name")
    if allowForward && check(";") {
      let info = declare(name, .union(complete: false))
      return .forward(ForwardDeclaration(info: info, kind: .unionType))
    }
    let info = declare(name, .union(complete: true))
    var nested: [Definition] = []
    var cases: [UnionCase] = []
    var discriminator = IDLType.long
    try withScope(scope.child(name.text)) {
      try expectKeyword("switch")
      try expect("(")
      let discriminatorStart = current.location
      if checkKeyword("enum") {
        let enumeration = try parseEnum()
        nested.append(enumeration)
        discriminator = .named(enumeration.info.scopedName)
      } else {
        discriminator = try parseSimpleTypeSpec()
      }
      try expect(")")
      let target = discriminatorTarget(discriminator, at: discriminatorStart)
      try expect("{")
      var seenLabels: [ConstantValue: SourceLocation] = [:]
      var defaultLocation: SourceLocation? = nil
      while !check("}") && !atEnd {
        recovering {
          var labels: [ConstantValue] = []
          var isDefault = false
          repeat {
            let labelToken = current
            if consumeKeyword("default") {
              if let earlier = defaultLocation {
                error("union '\(name.text)' has more than one 'default' label (the first is at \(earlier))", at: labelToken.location)
              }
              defaultLocation = labelToken.location
              isDefault = true
            } else {
              try expectKeyword("case")
              let labelStart = current.location
              let expression = try parseConstantExpression()
              if let target, let value = evaluate(expression, as: target) {
                if let earlier = seenLabels[value] {
                  error("duplicate case label \(value) in union '\(name.text)' (first used at \(earlier))", at: labelStart)
                } else {
                  seenLabels[value] = labelStart
                }
                labels.append(value)
              }
            }
            try expect(":")
          } while checkKeyword("case") || checkKeyword("default")
          let type = try parseTypeSpec(nested: &nested)
          let (memberName, dimensions) = try parseDeclarator()
          declare(memberName, .other("union member"))
          let member = Member(name: memberName.text, type: dimensions.isEmpty ? type : .array(type, dimensions: dimensions),
                              location: memberName.location)
          cases.append(UnionCase(labels: labels, isDefault: isDefault, member: member))
          expectSemicolon()
        }
      }
    }
    try expect("}")
    return .union(UnionDeclaration(info: info, discriminator: discriminator, cases: cases, nested: nested))
  }
}
