/// Parses the tokens of a preprocessed RPCL file (RFC 5531 §12, with rpcgen's extensions) into
/// ``RPCLDefinition``s. Names are not looked up here (see ``RPCLResolver``).
///
/// What rpcgen accepts, and so this parser: omitted enum values (C's rule: previous plus one),
/// the integer types rpcgen knows as keywords (`char`, `short`, `long`, `unsigned` alone or before
/// one of them), `struct X`/`union X`/`enum X` as a reference to a declared type, procedures with
/// several arguments (`rpcgen -N`), and `string` alone as a procedure's argument or result.
/// Like rpcgen it refuses a struct, union or enum defined inside a declaration
/// (`struct { int a; } x;`) and a trailing comma in an enum.
struct RPCLParser {
  private struct SyntaxError: Error {}

  private let tokens: [Token]
  private var index = 0
  private(set) var diagnostics: [IDLDiagnostic] = []

  /// The words rpcgen reserves; none of them can name anything.
  static let keywords: Set<String> = [
    "bool", "case", "char", "const", "default", "double", "enum", "float", "hyper", "int", "long", "opaque",
    "program", "quadruple", "short", "string", "struct", "switch", "typedef", "union", "unsigned", "version", "void",
  ]

  init(tokens: [Token]) {
    // File markers and OMG pragmas mean nothing in RPCL.
    self.tokens = tokens.filter { $0.kind != .fileStart && $0.kind != .fileEnd && $0.kind != .pragma }
  }

  // MARK: tokens

  private var current: Token { tokens[min(index, tokens.count - 1)] }
  private var atEnd: Bool { current.kind == .endOfInput }

  private func isKeyword(_ token: Token, _ word: String) -> Bool {
    token.kind == .identifier && token.rawText == word
  }

  private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

  private mutating func fail(_ message: String, at location: SourceLocation? = nil) -> SyntaxError {
    diagnostics.append(IDLDiagnostic(.error, at: location ?? current.location, message))
    return SyntaxError()
  }

  /// Where a missing token after the previous one would have been.
  private var afterPrevious: SourceLocation {
    guard index > 0 else { return current.location }
    let previous = tokens[index - 1]
    return SourceLocation(file: previous.location.file, line: previous.location.line, column: previous.endColumn)
  }

  private mutating func accept(_ punctuation: String) -> Bool {
    guard current.isPunctuation(punctuation) else { return false }
    advance()
    return true
  }

  private mutating func expect(_ punctuation: String, _ context: String) throws(SyntaxError) {
    guard accept(punctuation) else {
      throw fail("expected '\(punctuation)' \(context), found \(current.quoted)")
    }
  }

  /// `;` after a definition or declaration: reported just after the previous token when missing.
  private mutating func expectSemicolon(after what: String) throws(SyntaxError) {
    guard accept(";") else {
      throw fail("expected ';' after \(what)", at: afterPrevious)
    }
  }

  private mutating func acceptKeyword(_ word: String) -> Bool {
    guard isKeyword(current, word) else { return false }
    advance()
    return true
  }

  /// An identifier that is not a keyword.
  private mutating func identifier(_ what: String) throws(SyntaxError) -> (String, SourceLocation) {
    let token = current
    guard token.kind == .identifier else { throw fail("expected \(what), found \(token.quoted)") }
    guard !Self.keywords.contains(token.rawText) else {
      throw fail("expected \(what), found the keyword '\(token.rawText)'")
    }
    advance()
    return (token.rawText, token.location)
  }

  /// A number (decimal, `0x` hexadecimal or `0` octal, optionally negative) or a constant's name.
  private mutating func value(_ what: String, allowString: Bool = false) throws(SyntaxError) -> RPCLValue {
    let start = current.location
    let negated = accept("-")
    let token = current
    switch token.kind {
    case .stringLiteral where allowString && !negated:
      advance()
      return RPCLValue(kind: .string(token.stringValue), location: start)
    case .integerLiteral:
      guard let v = token.integerValue else { throw SyntaxError() }  // the lexer reported it
      advance()
      return RPCLValue(kind: .number(v), negated: negated, location: start)
    case .identifier where !Self.keywords.contains(token.rawText):
      advance()
      return RPCLValue(kind: .name(token.rawText), negated: negated, location: start)
    default:
      throw fail("expected \(what) (a number or a constant's name), found \(token.quoted)")
    }
  }

  // MARK: definitions

  /// Parses the whole file; errors are in ``diagnostics``.
  mutating func parse() -> [RPCLDefinition] {
    var definitions: [RPCLDefinition] = []
    while !atEnd {
      let start = index
      do {
        definitions.append(try definition())
      } catch {
        recover(from: start)
      }
    }
    return definitions
  }

  /// Skips to just after the `;` that ends the definition begun at `start` (braces balanced).
  private mutating func recover(from start: Int) {
    var depth = 0
    for i in start..<index where i < tokens.count {
      if tokens[i].isPunctuation("{") { depth += 1 }
      if tokens[i].isPunctuation("}") { depth -= 1 }
    }
    if index == start { advance() }
    while !atEnd {
      let token = current
      advance()
      if token.isPunctuation("{") { depth += 1 }
      if token.isPunctuation("}") { depth -= 1 }
      if token.isPunctuation(";") && depth <= 0 { return }
    }
  }

  private mutating func definition() throws(SyntaxError) -> RPCLDefinition {
    let token = current
    let fromMain = token.isFromMainFile
    guard token.kind == .identifier else {
      throw fail("expected a definition (const, enum, struct, union, typedef or program), found \(token.quoted)")
    }
    switch token.rawText {
    case "const":
      advance()
      let (name, location) = try identifier("a constant name")
      try expect("=", "after the constant's name")
      let v = try value("the constant's value", allowString: true)
      try expectSemicolon(after: "the constant definition")
      return RPCLDefinition(name: name, kind: .constant(v), location: location, isFromMainFile: fromMain)
    case "enum":
      advance()
      let (name, location) = try identifier("an enum name")
      let body = try enumBody()
      try expectSemicolon(after: "the enum definition")
      return RPCLDefinition(name: name, kind: .enumeration(body), location: location, isFromMainFile: fromMain)
    case "struct":
      advance()
      let (name, location) = try identifier("a struct name")
      let members = try structBody(name)
      try expectSemicolon(after: "the struct definition")
      return RPCLDefinition(name: name, kind: .structure(members), location: location, isFromMainFile: fromMain)
    case "union":
      advance()
      let (name, location) = try identifier("a union name")
      let (discriminant, arms) = try unionBody(name)
      try expectSemicolon(after: "the union definition")
      return RPCLDefinition(name: name, kind: .union(discriminant: discriminant, arms: arms), location: location, isFromMainFile: fromMain)
    case "typedef":
      advance()
      let declaration = try declaration(in: "typedef")
      if declaration.isVoid { throw fail("a typedef cannot declare 'void'", at: declaration.location) }
      try expectSemicolon(after: "the typedef")
      return RPCLDefinition(name: declaration.name, kind: .typedef(declaration), location: declaration.location, isFromMainFile: fromMain)
    case "program":
      advance()
      let (name, location) = try identifier("a program name")
      try expect("{", "after the program's name")
      var versions: [RPCLVersion] = []
      repeat {
        versions.append(try version())
      } while !current.isPunctuation("}") && !atEnd
      try expect("}", "at the end of program '\(name)'")
      try expect("=", "and the program number after program '\(name)'")
      let number = try value("the program number")
      try expectSemicolon(after: "the program definition")
      return RPCLDefinition(name: name, kind: .program(versions: versions, number: number), location: location, isFromMainFile: fromMain)
    default:
      throw fail("expected a definition (const, enum, struct, union, typedef or program), found \(token.quoted)")
    }
  }

  private mutating func enumBody() throws(SyntaxError) -> [RPCLEnumerator] {
    try expect("{", "after the enum's name")
    var enumerators: [RPCLEnumerator] = []
    repeat {
      let (name, location) = try identifier("an enumerator name")
      var v: RPCLValue? = nil
      if accept("=") { v = try value("the enumerator's value") }
      enumerators.append(RPCLEnumerator(name: name, value: v, location: location))
    } while accept(",")
    try expect("}", "or ',' after the enumerator '\(enumerators.last!.name)'")
    return enumerators
  }

  private mutating func structBody(_ name: String) throws(SyntaxError) -> [RPCLDeclaration] {
    try expect("{", "after the struct's name")
    var members: [RPCLDeclaration] = []
    while !current.isPunctuation("}") && !atEnd {
      let member = try declaration(in: "struct")
      if member.isVoid { throw fail("a struct member cannot be 'void'", at: member.location) }
      try expectSemicolon(after: "the member '\(member.name)'")
      members.append(member)
    }
    if members.isEmpty { throw fail("struct '\(name)' has no members") }
    try expect("}", "at the end of struct '\(name)'")
    return members
  }

  private mutating func unionBody(_ name: String) throws(SyntaxError) -> (RPCLDeclaration, [RPCLUnionArm]) {
    guard acceptKeyword("switch") else { throw fail("expected 'switch' after the union's name, found \(current.quoted)") }
    try expect("(", "after 'switch'")
    let discriminant = try declaration(in: "switch")
    if discriminant.isVoid { throw fail("a union's discriminant cannot be 'void'", at: discriminant.location) }
    try expect(")", "after the discriminant")
    try expect("{", "to begin the arms of union '\(name)'")
    var arms: [RPCLUnionArm] = []
    while !current.isPunctuation("}") && !atEnd {
      if acceptKeyword("default") {
        try expect(":", "after 'default'")
        let declaration = try declaration(in: "union")
        try expectSemicolon(after: "the default arm")
        arms.append(RPCLUnionArm(labels: [], isDefault: true, declaration: declaration))
        guard current.isPunctuation("}") else { throw fail("the 'default' arm must be the last arm of union '\(name)'") }
        break
      }
      var labels: [RPCLValue] = []
      while acceptKeyword("case") {
        labels.append(try value("a case label"))
        try expect(":", "after the case label")
      }
      if labels.isEmpty { throw fail("expected 'case', 'default' or '}' in union '\(name)', found \(current.quoted)") }
      let declaration = try declaration(in: "union")
      try expectSemicolon(after: declaration.isVoid ? "'void'" : "the arm '\(declaration.name)'")
      arms.append(RPCLUnionArm(labels: labels, isDefault: false, declaration: declaration))
    }
    if arms.isEmpty { throw fail("union '\(name)' has no arms") }
    try expect("}", "at the end of union '\(name)'")
    return (discriminant, arms)
  }

  private mutating func version() throws(SyntaxError) -> RPCLVersion {
    guard acceptKeyword("version") else { throw fail("expected 'version' in a program, found \(current.quoted)") }
    let (name, location) = try identifier("a version name")
    try expect("{", "after the version's name")
    var procedures: [RPCLProcedure] = []
    repeat {
      procedures.append(try procedure())
    } while !current.isPunctuation("}") && !atEnd
    try expect("}", "at the end of version '\(name)'")
    try expect("=", "and the version number after version '\(name)'")
    let number = try value("the version number")
    try expectSemicolon(after: "the version definition")
    return RPCLVersion(name: name, procedures: procedures, number: number, location: location)
  }

  private mutating func procedure() throws(SyntaxError) -> RPCLProcedure {
    let result = try procedureType("result")
    let (name, location) = try identifier("a procedure name")
    try expect("(", "after the procedure's name")
    var arguments: [RPCLDeclaration] = []
    let first = try procedureType("argument")
    if first.isVoid {
      if current.isPunctuation(",") { throw fail("'void' must be a procedure's only argument") }
    } else {
      arguments.append(first)
      while accept(",") {
        let next = try procedureType("argument")
        if next.isVoid { throw fail("'void' must be a procedure's only argument", at: next.location) }
        arguments.append(next)
      }
    }
    try expect(")", "after the arguments of '\(name)'")
    try expect("=", "and the procedure number after '\(name)(...)'")
    let number = try value("the procedure number")
    try expectSemicolon(after: "the procedure '\(name)'")
    return RPCLProcedure(name: name, result: result, arguments: arguments, number: number, location: location)
  }

  /// A procedure's result or argument: `void` or a type specifier (`string` alone is an
  /// unbounded string).
  private mutating func procedureType(_ what: String) throws(SyntaxError) -> RPCLDeclaration {
    let location = current.location
    if acceptKeyword("void") { return RPCLDeclaration(type: nil, name: "", shape: .single, location: location) }
    let type = try typeSpecifier()
    if case .opaque = type { throw fail("'opaque' needs a size; declare a typedef ('typedef opaque name<N>;') and use it as the \(what)", at: location) }
    if current.isPunctuation("*") { throw fail("rpcgen does not accept optional data ('*') as a procedure's \(what); declare a typedef and use it") }
    return RPCLDeclaration(type: type, name: "", shape: .single, location: location)
  }

  // MARK: types and declarations

  private mutating func typeSpecifier() throws(SyntaxError) -> RPCLTypeSpecifier {
    let token = current
    let location = token.location
    guard token.kind == .identifier else { throw fail("expected a type, found \(token.quoted)") }
    advance()
    switch token.rawText {
    case "unsigned":
      let next = current.kind == .identifier ? current.rawText : ""
      let types: [String: IDLType] = ["int": .unsignedLong, "long": .unsignedLong, "hyper": .unsignedLongLong,
                                      "char": .octet, "short": .unsignedShort]
      if let t = types[next] {
        advance()
        return .builtin(t, location)
      }
      return .builtin(.unsignedLong, location)
    case "int", "long": return .builtin(.long, location)
    case "hyper": return .builtin(.longLong, location)
    case "char": return .builtin(.char, location)
    case "short": return .builtin(.short, location)
    case "float": return .builtin(.float, location)
    case "double": return .builtin(.double, location)
    case "quadruple": return .builtin(.longDouble, location)
    case "bool": return .builtin(.boolean, location)
    case "string": return .string(location)
    case "opaque": return .opaque(location)
    case "struct", "union", "enum":
      if current.isPunctuation("{") {
        throw fail("rpcgen does not accept a \(token.rawText) defined inside a declaration: define '\(token.rawText) name { ... };' on its own and use its name")
      }
      let (name, _) = try identifier("a \(token.rawText) name after '\(token.rawText)'")
      return .named(name, keyword: token.rawText, location)
    case "void":
      throw fail("'void' is not allowed here", at: location)
    default:
      if Self.keywords.contains(token.rawText) { throw fail("expected a type, found the keyword '\(token.rawText)'", at: location) }
      return .named(token.rawText, keyword: nil, location)
    }
  }

  /// A declaration in a struct, union arm, discriminant or typedef.
  private mutating func declaration(in context: String) throws(SyntaxError) -> RPCLDeclaration {
    let location = current.location
    if acceptKeyword("void") { return RPCLDeclaration(type: nil, name: "", shape: .single, location: location) }
    let type = try typeSpecifier()
    if accept("*") {
      let (name, nameLocation) = try identifier("a name after '*'")
      switch type {
      case .string, .opaque: throw fail("'\(type.keywordSpelling) *' is not a type: use '\(type.keywordSpelling) \(name)<>'", at: nameLocation)
      default: break
      }
      return RPCLDeclaration(type: type, name: name, shape: .optional, location: nameLocation)
    }
    let (name, nameLocation) = try identifier("a name in the \(context) declaration")
    var shape = RPCLDeclaration.Shape.single
    if accept("[") {
      shape = .fixedArray(try value("an array size"))
      try expect("]", "after the array size")
    } else if current.isPunctuation("<") {
      let open = current.location
      advance()
      if accept(">") {
        shape = .variableArray(nil, open)
      } else {
        shape = .variableArray(try value("a maximum size"), open)
        try expect(">", "after the maximum size")
      }
    }
    switch (type, shape) {
    case (.string, .single): throw fail("string '\(name)' needs a maximum size: 'string \(name)<N>' or 'string \(name)<>'", at: nameLocation)
    case (.string, .fixedArray): throw fail("string '\(name)' cannot be a fixed-size array: use 'string \(name)<N>'", at: nameLocation)
    case (.opaque, .single): throw fail("opaque '\(name)' needs a size: 'opaque \(name)[N]', 'opaque \(name)<N>' or 'opaque \(name)<>'", at: nameLocation)
    default: break
    }
    return RPCLDeclaration(type: type, name: name, shape: shape, location: nameLocation)
  }
}

extension RPCLTypeSpecifier {
  /// `string` or `opaque`, for messages.
  var keywordSpelling: String {
    switch self {
    case .string: return "string"
    case .opaque: return "opaque"
    case .builtin(let t, _): return t.idlSpelling
    case .named(let n, let k, _): return k.map { "\($0) \(n)" } ?? n
    }
  }
}
