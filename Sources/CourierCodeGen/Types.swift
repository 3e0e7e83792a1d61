import CourierIDL

extension Emitter {
  /// Definitions nested in a type (inside its body).
  mutating func nestedDefinitions(_ definitions: [Definition]) {
    for d in definitions where d.isFromMainFileDeep {
      out.line()
      definition(d)
    }
  }

  var isNested: Bool { nestingDepth > 0 }

  // MARK: struct and exception

  mutating func structure(_ info: DeclarationInfo, members: [Member], nested: [Definition], isException: Bool) {
    let name = declaredName(info)
    let conformances = isException ? "UserException, Hashable, CDRTypeCodeProvider" : "Hashable, Sendable, CDRCodable, CDRTypeCodeProvider"
    out.line(doc(info, isException ? "exception" : "struct"))
    out.line("\(access) struct \(name): \(conformances) {")
    if isException {
      member("\(access) static let repositoryID = \(SwiftNames.stringLiteral(info.repositoryID))")
      member("")
    }
    for m in members {
      member("\(access) var \(SwiftNames.identifier(m.name)): \(swiftType(m.type))")
    }
    if !members.isEmpty { member("") }
    let params = members.map { SwiftNames.parameter($0.name, swiftType($0.type)) }.joined(separator: ", ")
    member("\(access) init(\(params)) {")
    for m in members { member("  self.\(SwiftNames.identifier(m.name)) = \(SwiftNames.parameterReference(m.name))") }
    member("}")
    member("")
    member("\(access) func encode(to _w: inout CDRWriter) throws {")
    for m in members { member("  " + write(m.type, "self.\(SwiftNames.identifier(m.name))", "_w")) }
    member("}")
    member("")
    member("\(access) init(from _r: inout CDRReader) throws {")
    for m in members { member("  self.\(SwiftNames.identifier(m.name)) = \(read(m.type, "_r"))") }
    member("}")
    typeCodeMembers(info, kind: isException ? "except" : "struct", body: structTypeCodeBody(info, members: members, isException: isException))
    nestingDepth += 1
    for d in nested where d.isFromMainFileDeep {
      member("")
      indentedDefinition(d)
    }
    nestingDepth -= 1
    out.line("}")
  }

  /// Prints one line inside the current type body.
  mutating func member(_ text: String) {
    out.line(text.isEmpty ? "" : "  " + text)
  }

  /// Prints a nested definition one level in.
  mutating func indentedDefinition(_ d: Definition) {
    var inner = Emitter(model: model, options: options)
    inner.nestingDepth = nestingDepth
    inner.definition(d)
    diagnostics += inner.diagnostics
    for line in inner.out.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
      out.line(line.isEmpty ? "" : "  " + line)
    }
  }

  // MARK: enum

  mutating func enumeration(_ e: EnumDeclaration) {
    let name = declaredName(e.info)
    out.line(doc(e.info, "enum"))
    out.line("\(access) enum \(name): UInt32, Hashable, Sendable, CaseIterable, CDRCodable, CDRTypeCodeProvider {")
    for (i, enumerator) in e.enumerators.enumerated() {
      out.line("  case \(SwiftNames.identifier(enumerator)) = \(i)")
    }
    out.line()
    out.line("  \(access) func encode(to _w: inout CDRWriter) throws { _w.write(rawValue) }")
    out.line()
    out.line("  \(access) init(from _r: inout CDRReader) throws {")
    out.line("    let value = try _r.read(UInt32.self)")
    out.line("    guard let e = Self(rawValue: value) else {")
    out.line("      throw CDRError(.invalidEnum, \"\\(value) is not a \(e.info.scopedName) enumerator\")")
    out.line("    }")
    out.line("    self = e")
    out.line("  }")
    out.line()
    out.line("  /// This type's TypeCode, for `any` values.")
    let names = e.enumerators.map(SwiftNames.stringLiteral).joined(separator: ", ")
    out.line("  \(access) static var typeCode: TypeCode { .`enum`(id: \(SwiftNames.stringLiteral(e.info.repositoryID)), name: \(SwiftNames.stringLiteral(e.info.name)), members: [\(names)]) }")
    out.line("}")
  }

  // MARK: union

  /// A Swift expression of the discriminator's type for a label.
  func labelLiteral(_ value: ConstantValue, discriminator: IDLType) -> String {
    let resolved = model.resolvingTypedefs(discriminator)
    switch value {
    case .integer(let v): return "\(swiftType(resolved))(\(v))"
    case .boolean(let v): return v ? "true" : "false"
    case .char(let c): return "Unicode.Scalar(UInt8(\(c)))"
    case .wchar(let c): return "Unicode.Scalar(\(c.value))!"
    case .enumerator(let e, let n): return "\(swiftName(e)).\(SwiftNames.identifier(n))"
    default: return "\(value)"
    }
  }

  /// True when the labels name every value of an enum or boolean discriminator.
  func labelsCoverDiscriminator(_ u: UnionDeclaration) -> Bool {
    let labels = Set(u.cases.flatMap(\.labels))
    switch model.resolvingTypedefs(u.discriminator) {
    case .boolean: return labels.contains(.boolean(true)) && labels.contains(.boolean(false))
    case .named(let n):
      guard case .enumeration(let e)? = declaration(n) else { return false }
      return e.enumerators.allSatisfy { labels.contains(.enumerator(n, $0)) }
    default: return false
    }
  }

  mutating func union(_ u: UnionDeclaration) {
    let name = declaredName(u.info)
    let discType = swiftType(u.discriminator)
    let hasDefault = u.cases.contains { $0.isDefault }
    // Every discriminator value has a case (all enumerators, or both booleans): no `unset`.
    let covered = labelsCoverDiscriminator(u)
    out.line(doc(u.info, "union"))
    out.line("\(access) enum \(name): Hashable, Sendable, CDRCodable, CDRTypeCodeProvider {")
    for c in u.cases {
      let carriesDiscriminator = c.isDefault || c.labels.count > 1
      let payload = swiftType(c.member.type) + (carriesDiscriminator ? ", discriminator: \(discType)" : "")
      let labels = c.isDefault ? "default" : c.labels.map { "\($0)" }.joined(separator: ", ")
      out.line("  /// `case \(labels)`")
      out.line("  case \(SwiftNames.identifier(c.member.name))(\(payload))")
    }
    if !hasDefault && !covered {
      out.line("  /// A discriminator no case has: no member.")
      out.line("  case unset(discriminator: \(discType))")
    }
    out.line()
    // The discriminator of the current value.
    out.line("  \(access) var discriminator: \(discType) {")
    out.line("    switch self {")
    for c in u.cases {
      let id = SwiftNames.identifier(c.member.name)
      if c.isDefault || c.labels.count > 1 {
        out.line("    case .\(id)(_, let d): return d")
      } else {
        out.line("    case .\(id): return \(labelLiteral(c.labels[0], discriminator: u.discriminator))")
      }
    }
    if !hasDefault && !covered { out.line("    case .unset(let d): return d") }
    out.line("    }")
    out.line("  }")
    out.line()
    out.line("  \(access) func encode(to _w: inout CDRWriter) throws {")
    // A discriminator carried by a case must select that case on the other side.
    let allLabels = u.cases.flatMap(\.labels).map { labelLiteral($0, discriminator: u.discriminator) }
    out.line("    switch self {")
    for c in u.cases {
      let id = SwiftNames.identifier(c.member.name)
      if c.isDefault {
        out.line("    case .\(id)(_, let d):")
        if !allLabels.isEmpty {
          out.line("      switch d { case \(allLabels.joined(separator: ", ")): throw CDRError(.invalidValue, \"\\(d) selects another case of \(u.info.scopedName) than \(c.member.name)\"); default: break }")
        }
      } else if c.labels.count > 1 {
        let mine = c.labels.map { labelLiteral($0, discriminator: u.discriminator) }
        out.line("    case .\(id)(_, let d):")
        out.line("      switch d { case \(mine.joined(separator: ", ")): break; default: throw CDRError(.invalidValue, \"\\(d) is not a label of \(u.info.scopedName)::\(c.member.name)\") }")
      }
    }
    if !hasDefault && !covered && !allLabels.isEmpty {
      out.line("    case .unset(let d):")
      out.line("      switch d { case \(allLabels.joined(separator: ", ")): throw CDRError(.invalidValue, \"\\(d) selects a case of \(u.info.scopedName); unset needs another discriminator\"); default: break }")
    }
    out.line("    default: break")
    out.line("    }")
    out.line("    \(write(u.discriminator, "discriminator", "_w"))")
    out.line("    switch self {")
    for c in u.cases {
      let id = SwiftNames.identifier(c.member.name)
      let bind = (c.isDefault || c.labels.count > 1) ? "(let v, _)" : "(let v)"
      out.line("    case .\(id)\(bind): \(write(c.member.type, "v", "_w"))")
    }
    if !hasDefault && !covered { out.line("    case .unset: break") }
    out.line("    }")
    out.line("  }")
    out.line()
    out.line("  \(access) init(from _r: inout CDRReader) throws {")
    out.line("    let d = \(read(u.discriminator, "_r"))")
    out.line("    switch d {")
    for c in u.cases where !c.isDefault {
      let id = SwiftNames.identifier(c.member.name)
      let patterns = c.labels.map { labelLiteral($0, discriminator: u.discriminator) }.joined(separator: ", ")
      let extra = c.labels.count > 1 ? ", discriminator: d" : ""
      out.line("    case \(patterns): self = .\(id)(\(read(c.member.type, "_r"))\(extra))")
    }
    if let def = u.cases.first(where: { $0.isDefault }) {
      out.line("    default: self = .\(SwiftNames.identifier(def.member.name))(\(read(def.member.type, "_r")), discriminator: d)")
    } else if !covered {
      out.line("    default: self = .unset(discriminator: d)")
    }
    out.line("    }")
    out.line("  }")
    typeCodeMembers(u.info, kind: "union", body: unionTypeCodeBody(u))
    if !u.nested.isEmpty {
      nestingDepth += 1
      for d in u.nested where d.isFromMainFileDeep {
        out.line()
        indentedDefinition(d)
      }
      nestingDepth -= 1
    }
    out.line("}")
  }

  // MARK: typedef and constant

  mutating func typedef(_ t: TypedefDeclaration) {
    out.line(doc(t.info, "typedef"))
    out.line("\(access) typealias \(declaredName(t.info)) = \(swiftType(t.type))")
  }

  func constantLiteral(_ value: ConstantValue, type: IDLType) -> String {
    let resolved = model.resolvingTypedefs(type)
    switch value {
    case .integer(let v): return "\(v)"
    case .floatingPoint(let v):
      if v.isInfinite { return v < 0 ? "-.infinity" : ".infinity" }
      if v.isNaN { return ".nan" }
      return "\(v)"
    case .boolean(let v): return v ? "true" : "false"
    case .char(let c): return "Unicode.Scalar(UInt8(\(c)))"
    case .wchar(let c): return "Unicode.Scalar(\(c.value))!"
    case .string(let s), .wstring(let s): return SwiftNames.stringLiteral(s)
    case .fixed(let text, _, _): return "try! CDRFixed(\(SwiftNames.stringLiteral(text)))"
    case .enumerator(let e, let n):
      _ = resolved
      return "\(swiftName(e)).\(SwiftNames.identifier(n))"
    }
  }

  mutating func constant(_ c: ConstantDeclaration) {
    let keyword = isNested ? "static let" : "let"
    out.line(doc(c.info, "const"))
    out.line("\(access) \(keyword) \(declaredName(c.info)): \(swiftType(c.type)) = \(constantLiteral(c.value, type: c.type))")
  }
}

