/// Turns parsed RPCL definitions into the interface model: looks names up (in the whole file and
/// its includes, so a type or constant may be used before the line that declares it), evaluates
/// constants, checks sizes, labels and numbers, and reports each problem at its file:line:column.
struct RPCLResolver {
  private enum Symbol {
    case constant(Int)
    case type(Int)
    case enumerator(definition: Int, position: Int)
    case program(Int)
  }

  /// Type names rpcgen passes through to the XDR library (libtirpc has an `xdr_<name>` routine for
  /// each, and `<rpc/types.h>` or `<rpc/xdr.h>` declares the C type): usable without a
  /// declaration. A declaration in the file wins over these.
  static let libraryTypes: [String: IDLType] = [
    "u_int": .unsignedLong, "u_long": .unsignedLong, "u_short": .unsignedShort, "u_char": .octet,
    "int8_t": .char, "uint8_t": .octet, "u_int8_t": .octet,
    "int16_t": .short, "uint16_t": .unsignedShort, "u_int16_t": .unsignedShort,
    "int32_t": .long, "uint32_t": .unsignedLong, "u_int32_t": .unsignedLong,
    "int64_t": .longLong, "uint64_t": .unsignedLongLong, "u_int64_t": .unsignedLongLong,
    "quad_t": .longLong, "u_quad_t": .unsignedLongLong, "u_hyper": .unsignedLongLong,
    "bool_t": .boolean, "enum_t": .long,
    // `struct netobj { u_int n_len; char *n_bytes; }`, which `xdr_netobj` writes as opaque<MAX_NETOBJ_SZ>.
    "netobj": .opaque(bound: 1024),
    // `union des_block { struct { u_int32_t high, low; } key; char c[8]; }`, which `xdr_des_block`
    // writes as opaque[8].
    "des_block": .fixedOpaque(count: 8),
  ]

  /// Constants rpcgen's output takes from the C headers (`<rpc/types.h>`, `<rpc/auth.h>`,
  /// `<rpc/xdr.h>`), usable without a declaration.
  static let libraryConstants: [String: Int128] = [
    "TRUE": 1, "FALSE": 0, "MAXNETNAMELEN": 255, "MAX_NETOBJ_SZ": 1024, "MAX_AUTH_BYTES": 400,
  ]

  private let definitions: [RPCLDefinition]
  /// C macros defined in `%#define` lines, by name (the last definition wins).
  private let macros: [String: Lexer.PercentDefine]
  private var symbols: [String: Symbol] = [:]
  private(set) var diagnostics: [IDLDiagnostic] = []
  private var constantValues: [String: Int128] = [:]
  private var evaluating: Set<String> = []
  private var enumValueCache: [Int: [Int128]] = [:]

  /// - Parameters:
  ///   - definitions: the parsed file, its includes' definitions included.
  ///   - macros: the `%#define NAME VALUE` lines, whose names may be used as sizes, as rpcgen
  ///     lets them be (the C compiler sees the macro).
  init(definitions: [RPCLDefinition], macros: [Lexer.PercentDefine] = []) {
    // `typedef struct foo foo;` (a C idiom rpcgen accepts) declares nothing new.
    let declaredTypes = Set(definitions.compactMap { d -> String? in
      switch d.kind {
      case .structure, .union, .enumeration: return d.name
      default: return nil
      }
    })
    self.definitions = definitions.filter { d in
      guard case .typedef(let t) = d.kind, case .named(let name, _, _)? = t.type, t.shape.isSingle else { return true }
      return !(name == d.name && declaredTypes.contains(name))
    }
    self.macros = Dictionary(macros.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
  }

  private mutating func error(_ message: String, at location: SourceLocation) {
    diagnostics.append(IDLDiagnostic(.error, at: location, message))
  }

  // MARK: symbols

  private func location(of symbol: Symbol) -> SourceLocation {
    switch symbol {
    case .constant(let i), .type(let i), .program(let i): return definitions[i].location
    case .enumerator(let d, let p):
      if case .enumeration(let list) = definitions[d].kind { return list[p].location }
      return definitions[d].location
    }
  }

  private mutating func declare(_ name: String, _ symbol: Symbol, at location: SourceLocation) {
    if let previous = symbols[name] {
      error("'\(name)' is already declared at \(self.location(of: previous))", at: location)
      return
    }
    symbols[name] = symbol
  }

  private mutating func collectSymbols() {
    for (i, d) in definitions.enumerated() {
      switch d.kind {
      case .constant: declare(d.name, .constant(i), at: d.location)
      case .structure, .union, .typedef: declare(d.name, .type(i), at: d.location)
      case .enumeration(let list):
        declare(d.name, .type(i), at: d.location)
        for (p, e) in list.enumerated() { declare(e.name, .enumerator(definition: i, position: p), at: e.location) }
      case .program: declare(d.name, .program(i), at: d.location)
      }
    }
  }

  // MARK: values

  /// The value of a number or constant name; nil (reported) when it has none.
  private mutating func evaluate(_ v: RPCLValue) -> Int128? {
    let magnitude: Int128
    switch v.kind {
    case .number(let n): magnitude = n
    case .string:
      error("a string is not a number", at: v.location)
      return nil
    case .name(let name):
      guard let found = valueOfName(name, at: v.location) else { return nil }
      magnitude = found
    }
    return v.negated ? -magnitude : magnitude
  }

  private mutating func valueOfName(_ name: String, at location: SourceLocation) -> Int128? {
    if let known = constantValues[name] { return known }
    switch symbols[name] {
    case .constant(let i)?:
      guard case .constant(let value) = definitions[i].kind else { return nil }
      if case .string = value.kind {
        error("'\(name)' is a string constant, not a number", at: location)
        return nil
      }
      guard evaluating.insert(name).inserted else {
        error("constant '\(name)' is defined in terms of itself", at: definitions[i].location)
        return nil
      }
      defer { evaluating.remove(name) }
      let result = evaluate(value)
      if let result { constantValues[name] = result }
      return result
    case .enumerator(let d, let p)?:
      return enumValues(d)?[p]
    case .type?:
      error("'\(name)' is a type, not a constant", at: location)
      return nil
    case .program?:
      error("'\(name)' is a program, not a constant", at: location)
      return nil
    case nil:
      if let library = Self.libraryConstants[name] { return library }
      if let macro = macros[name] { return evaluateMacro(macro, usedAt: location) }
      error("undeclared constant '\(name)'", at: location)
      return nil
    }
  }

  /// The integer value of a `%#define` macro's text (numbers, constants, other macros and C
  /// operators); nil (reported at the use) when it is not an integer expression.
  private mutating func evaluateMacro(_ macro: Lexer.PercentDefine, usedAt location: SourceLocation) -> Int128? {
    let key = "macro " + macro.name
    guard evaluating.insert(key).inserted else {
      error("C macro '\(macro.name)' (%#define at \(macro.location)) is defined in terms of itself", at: location)
      return nil
    }
    defer { evaluating.remove(key) }
    var lexer = Lexer(bytes: Array(macro.value.utf8), file: macro.location.file, isMainFile: false)
    var tokens: [Token] = []
    while let token = lexer.nextOnLine() {
      guard token.kind == .identifier else {
        tokens.append(token)
        continue
      }
      let known = symbols[token.rawText] != nil || macros[token.rawText] != nil || Self.libraryConstants[token.rawText] != nil
      guard known, let v = valueOfName(token.rawText, at: location) else {
        error("'\(macro.name)' is a C macro (%#define at \(macro.location)) whose value '\(macro.value.trimmingBlanks)' is not an integer expression", at: location)
        return nil
      }
      var literal = Token(.integerLiteral, "\(v)", at: token.location)
      literal.integerValue = v
      tokens.append(literal)
    }
    var evaluator = ConditionEvaluator(tokens: tokens)
    guard lexer.diagnostics.isEmpty, !tokens.isEmpty, case .success(let value) = evaluator.evaluate() else {
      error("'\(macro.name)' is a C macro (%#define at \(macro.location)) whose value '\(macro.value.trimmingBlanks)' is not an integer expression", at: location)
      return nil
    }
    return Int128(value)
  }

  /// The values of the enum defined by `definitions[d]` (C's rule where a value is omitted).
  private mutating func enumValues(_ d: Int) -> [Int128]? {
    if let cached = enumValueCache[d] { return cached }
    guard case .enumeration(let list) = definitions[d].kind else { return nil }
    let key = "enum " + definitions[d].name
    guard evaluating.insert(key).inserted else {
      error("enum '\(definitions[d].name)' has a value defined in terms of itself", at: definitions[d].location)
      return nil
    }
    defer { evaluating.remove(key) }
    var values: [Int128] = []
    var next: Int128 = 0
    for e in list {
      var value = next
      if let written = e.value {
        guard let v = evaluate(written) else { return nil }
        value = v
      }
      if !(Int128(Int32.min)...Int128(Int32.max)).contains(value) {
        error("the value \(value) of enumerator '\(e.name)' does not fit in an XDR int", at: e.location)
        return nil
      }
      values.append(value)
      next = value + 1
    }
    enumValueCache[d] = values
    return values
  }

  /// A size: a fixed array's count (at least 1) or a maximum (at least 0), at most 2³²−1.
  private mutating func size(_ v: RPCLValue, fixed: Bool) -> Int? {
    guard let n = evaluate(v) else { return nil }
    let lowest: Int128 = fixed ? 1 : 0
    guard n >= lowest, n <= Int128(UInt32.max) else {
      let what = fixed ? "array size" : "maximum size"
      error("bad \(what) \(n): it must be \(fixed ? "from 1" : "from 0") to 4294967295", at: v.location)
      return nil
    }
    return Int(n)
  }

  /// A program, version or procedure number.
  private mutating func number(_ v: RPCLValue, _ what: String) -> UInt32? {
    guard let n = evaluate(v) else { return nil }
    guard let u = UInt32(exactly: n) else {
      error("bad \(what) \(n): it must be from 0 to 4294967295", at: v.location)
      return nil
    }
    return u
  }

  // MARK: types

  private func typeDefinitionKind(_ i: Int) -> String {
    switch definitions[i].kind {
    case .structure: return "struct"
    case .union: return "union"
    case .enumeration: return "enum"
    default: return "typedef"
    }
  }

  private mutating func baseType(_ spec: RPCLTypeSpecifier) -> IDLType? {
    switch spec {
    case .builtin(let t, _): return t
    case .string, .opaque: return nil  // shaped by the declaration
    case .named(let name, let keyword, let location):
      switch symbols[name] {
      case .type(let i)?:
        let kind = typeDefinitionKind(i)
        if let keyword, keyword != kind {
          error("'\(keyword) \(name)': '\(name)' is declared as a \(kind) at \(definitions[i].location)", at: location)
          return nil
        }
        return .named(ScopedName([name]))
      case .constant?, .enumerator?:
        error("'\(name)' is a constant, not a type", at: location)
        return nil
      case .program?:
        error("'\(name)' is a program, not a type", at: location)
        return nil
      case nil:
        if keyword == nil, let library = Self.libraryTypes[name] { return library }
        error("undeclared type '\(keyword.map { "\($0) " } ?? "")\(name)'", at: location)
        return nil
      }
    }
  }

  /// The model type of a declaration; nil (reported) when it is wrong. `bareString` allows
  /// `string` without a size (a procedure's argument or result).
  private mutating func type(of d: RPCLDeclaration, bareString: Bool = false) -> IDLType? {
    guard let spec = d.type else { return .void }
    switch (spec, d.shape) {
    case (.string, .single) where bareString: return .string(bound: nil)
    case (.string, .variableArray(let bound, _)):
      guard let bound else { return .string(bound: nil) }
      return size(bound, fixed: false).map { .string(bound: $0) }
    case (.opaque, .fixedArray(let count)):
      return size(count, fixed: true).map { .fixedOpaque(count: $0) }
    case (.opaque, .variableArray(let bound, _)):
      guard let bound else { return .opaque(bound: nil) }
      return size(bound, fixed: false).map { .opaque(bound: $0) }
    case (.string, _), (.opaque, _):
      error("'\(spec.keywordSpelling)' needs a size here", at: d.location)
      return nil
    default: break
    }
    guard let base = baseType(spec) else { return nil }
    switch d.shape {
    case .single: return base
    case .optional: return .optional(base)
    case .fixedArray(let count): return size(count, fixed: true).map { .array(base, dimensions: [$0]) }
    case .variableArray(let bound, _):
      guard let bound else { return .sequence(base, bound: nil) }
      return size(bound, fixed: false).map { .sequence(base, bound: $0) }
    }
  }

  /// Follows typedefs (declared ones) to the type they name; nil for a typedef cycle.
  private func resolvingTypedefs(_ t: IDLType) -> IDLType? {
    var current = t
    var steps = 0
    while case .named(let name) = current, case .type(let i)? = symbols[name.name], case .typedef(let d) = definitions[i].kind {
      steps += 1
      if steps > definitions.count + 1 { return nil }
      guard case .named(let inner, _, _)? = d.type, d.shape.isSingle else {
        return typedefShapeType(d)
      }
      current = Self.libraryTypes[inner].flatMap { symbols[inner] == nil ? $0 : nil } ?? .named(ScopedName([inner]))
    }
    return current
  }

  /// A typedef that is not a plain rename, as a model type without checks (for discriminants).
  private func typedefShapeType(_ d: RPCLDeclaration) -> IDLType {
    if case .builtin(let t, _)? = d.type, d.shape.isSingle { return t }
    return .sequence(.void, bound: nil)  // anything that is not a discriminant type
  }

  // MARK: the model

  private func info(_ name: String, _ location: SourceLocation, fromMain: Bool, scope: [String] = []) -> DeclarationInfo {
    DeclarationInfo(name: name, scopedName: ScopedName(scope + [name]), repositoryID: "", location: location, isFromMainFile: fromMain)
  }

  /// The model of the whole file; check ``diagnostics`` for errors.
  mutating func resolve() -> [Definition] {
    collectSymbols()
    checkTypedefCycles()
    var result: [Definition] = []
    var programNumbers: [UInt32: String] = [:]
    for (i, d) in definitions.enumerated() {
      let declared = info(d.name, d.location, fromMain: d.isFromMainFile)
      switch d.kind {
      case .constant(let written):
        if case .string(let text) = written.kind {
          result.append(.constant(ConstantDeclaration(info: declared, type: .string(bound: nil), value: .string(text))))
          continue
        }
        guard let value = valueOfName(d.name, at: d.location) else { continue }
        let type: IDLType
        switch value {
        case Int128(Int32.min)...Int128(Int32.max): type = .long
        case 0...Int128(UInt32.max): type = .unsignedLong
        case Int128(Int64.min)...Int128(Int64.max): type = .longLong
        case 0...Int128(UInt64.max): type = .unsignedLongLong
        default:
          error("constant '\(d.name)' = \(value) does not fit in 64 bits", at: d.location)
          continue
        }
        result.append(.constant(ConstantDeclaration(info: declared, type: type, value: .integer(value))))
      case .enumeration(let list):
        guard let values = enumValues(i) else { continue }
        result.append(.enumeration(EnumDeclaration(info: declared, enumerators: list.map(\.name), values: values.map { Int64($0) })))
      case .structure(let members):
        var seen: [String: SourceLocation] = [:]
        var modelMembers: [Member] = []
        for m in members {
          if let previous = seen[m.name] {
            error("duplicate member '\(m.name)' in struct '\(d.name)' (first at \(previous))", at: m.location)
          }
          seen[m.name] = m.location
          if let t = type(of: m) { modelMembers.append(Member(name: m.name, type: t, location: m.location)) }
        }
        result.append(.structure(StructDeclaration(info: declared, members: modelMembers)))
      case .union(let discriminant, let arms):
        if let u = union(declared, discriminant: discriminant, arms: arms) { result.append(.union(u)) }
      case .typedef(let declaration):
        if let t = type(of: declaration) { result.append(.typedef(TypedefDeclaration(info: declared, type: t))) }
      case .program(let versions, let number):
        guard let programNumber = self.number(number, "program number") else { continue }
        if let other = programNumbers[programNumber] {
          error("duplicate program number \(programNumber): program '\(other)' has it too", at: number.location)
        }
        programNumbers[programNumber] = d.name
        let interfaces = program(d, versions: versions, number: programNumber)
        result.append(.module(ModuleDeclaration(info: declared, definitions: interfaces.map { .interface($0) })))
      }
    }
    return result
  }

  private mutating func checkTypedefCycles() {
    for d in definitions {
      guard case .typedef = d.kind else { continue }
      if resolvingTypedefs(.named(ScopedName([d.name]))) == nil {
        error("typedef '\(d.name)' refers to itself", at: d.location)
      }
    }
  }

  private mutating func union(_ declared: DeclarationInfo, discriminant: RPCLDeclaration, arms: [RPCLUnionArm]) -> UnionDeclaration? {
    guard let discriminantType = type(of: discriminant) else { return nil }
    guard case .single = discriminant.shape, let resolved = resolvingTypedefs(discriminantType) else {
      error("a union's discriminant must be int, unsigned int, bool or an enum", at: discriminant.location)
      return nil
    }
    enum Kind { case integer(ClosedRange<Int128>), boolean, enumeration(ScopedName, EnumDeclaration, [Int128]) }
    let kind: Kind
    switch resolved {
    case .long: kind = .integer(Int128(Int32.min)...Int128(Int32.max))
    case .unsignedLong: kind = .integer(0...Int128(UInt32.max))
    case .boolean: kind = .boolean
    case .named(let name):
      guard case .type(let i)? = symbols[name.name], case .enumeration(let list) = definitions[i].kind, let values = enumValues(i) else {
        error("a union's discriminant must be int, unsigned int, bool or an enum, not '\(name.name)'", at: discriminant.location)
        return nil
      }
      let e = EnumDeclaration(info: info(name.name, definitions[i].location, fromMain: false), enumerators: list.map(\.name))
      kind = .enumeration(name, e, values)
    default:
      error("a union's discriminant must be int, unsigned int, bool or an enum, not \(resolved.rpclSpelling)", at: discriminant.location)
      return nil
    }
    var cases: [UnionCase] = []
    var seenValues: [Int128: SourceLocation] = [:]
    var seenNames: [String: SourceLocation] = [:]
    var failed = false
    for arm in arms {
      var labels: [ConstantValue] = []
      for label in arm.labels {
        guard let value = evaluate(label) else { failed = true; continue }
        if let previous = seenValues[value] {
          error("duplicate case label \(value) in union '\(declared.name)' (first at \(previous))", at: label.location)
          failed = true
          continue
        }
        seenValues[value] = label.location
        switch kind {
        case .integer(let range):
          guard range.contains(value) else {
            error("case label \(value) is out of range of the discriminant's type", at: label.location)
            failed = true
            continue
          }
          labels.append(.integer(value))
        case .boolean:
          guard value == 0 || value == 1 else {
            error("case label \(value) is not a bool (TRUE or FALSE)", at: label.location)
            failed = true
            continue
          }
          labels.append(.boolean(value == 1))
        case .enumeration(let name, let e, let values):
          var written: String? = nil
          if case .name(let n) = label.kind, !label.negated, let p = e.enumerators.firstIndex(of: n) { written = e.enumerators[p] }
          if written == nil, let p = values.firstIndex(of: value) { written = e.enumerators[p] }
          guard let enumerator = written else {
            error("case label \(value) is not a value of enum '\(name.name)'", at: label.location)
            failed = true
            continue
          }
          labels.append(.enumerator(name, enumerator))
        }
      }
      let member: Member
      if arm.declaration.isVoid {
        member = Member(name: "", type: .void, location: arm.declaration.location)
      } else {
        if let previous = seenNames[arm.declaration.name] {
          error("duplicate arm '\(arm.declaration.name)' in union '\(declared.name)' (first at \(previous))", at: arm.declaration.location)
          failed = true
        }
        seenNames[arm.declaration.name] = arm.declaration.location
        guard let t = type(of: arm.declaration) else { failed = true; continue }
        member = Member(name: arm.declaration.name, type: t, location: arm.declaration.location)
      }
      cases.append(UnionCase(labels: labels, isDefault: arm.isDefault, member: member))
    }
    if failed { return nil }
    var u = UnionDeclaration(info: declared, discriminator: discriminantType, cases: cases)
    u.discriminatorName = discriminant.name
    return u
  }

  private mutating func program(_ d: RPCLDefinition, versions: [RPCLVersion], number programNumber: UInt32) -> [InterfaceDeclaration] {
    var interfaces: [InterfaceDeclaration] = []
    var versionNumbers: [UInt32: String] = [:]
    var versionNames: [String: SourceLocation] = [:]
    for v in versions {
      if let previous = versionNames[v.name] {
        error("duplicate version '\(v.name)' in program '\(d.name)' (first at \(previous))", at: v.location)
      }
      versionNames[v.name] = v.location
      guard let versionNumber = number(v.number, "version number") else { continue }
      if let other = versionNumbers[versionNumber] {
        error("duplicate version number \(versionNumber) in program '\(d.name)': version '\(other)' has it too", at: v.number.location)
      }
      versionNumbers[versionNumber] = v.name
      var operations: [Operation] = []
      var procedureNumbers: [UInt32: String] = [:]
      var procedureNames: [String: SourceLocation] = [:]
      for p in v.procedures {
        if let previous = procedureNames[p.name] {
          error("duplicate procedure '\(p.name)' in version '\(v.name)' (first at \(previous))", at: p.location)
        }
        procedureNames[p.name] = p.location
        let procedureNumber = number(p.number, "procedure number")
        if let procedureNumber, let other = procedureNumbers[procedureNumber] {
          error("duplicate procedure number \(procedureNumber) in version '\(v.name)': procedure '\(other)' has it too", at: p.number.location)
        }
        if let procedureNumber { procedureNumbers[procedureNumber] = p.name }
        let result = type(of: p.result, bareString: true)
        var parameters: [Parameter] = []
        for (k, a) in p.arguments.enumerated() {
          if let t = type(of: a, bareString: true) {
            parameters.append(Parameter(direction: .in, name: "arg\(k + 1)", type: t, location: a.location))
          }
        }
        guard let result, let procedureNumber, parameters.count == p.arguments.count else { continue }
        operations.append(Operation(name: p.name, isOneway: false, returnType: result, parameters: parameters, raises: [],
                                    number: procedureNumber, location: p.location))
      }
      var i = InterfaceDeclaration(info: info(v.name, v.location, fromMain: d.isFromMainFile, scope: [d.name]), kind: .plain,
                                   bases: [], definitions: [], attributes: [], operations: operations)
      i.program = (programNumber, versionNumber)
      interfaces.append(i)
    }
    return interfaces
  }
}

extension RPCLDeclaration.Shape {
  var isSingle: Bool {
    if case .single = self { return true }
    return false
  }
}

extension String {
  /// The text without leading and trailing blanks.
  var trimmingBlanks: String {
    String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
  }
}

extension IDLType {
  /// How RPCL writes the type, for messages.
  var rpclSpelling: String {
    switch self {
    case .long: return "int"
    case .unsignedLong: return "unsigned int"
    case .longLong: return "hyper"
    case .unsignedLongLong: return "unsigned hyper"
    case .longDouble: return "quadruple"
    case .boolean: return "bool"
    case .octet: return "unsigned char"
    case .optional(let t): return t.rpclSpelling + " *"
    default: return idlSpelling
    }
  }
}
