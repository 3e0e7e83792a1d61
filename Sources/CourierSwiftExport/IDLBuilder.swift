import SwiftSyntax

/// IDL keywords, compared case-insensitively as IDL compares identifiers with them (CORBA 3.0
/// §3.2.4, and IDL 4's type keywords, which some compilers reserve): an identifier that is one
/// is written escaped, with a leading `_`.
enum IDLKeywords {
  static let lowercased: Set<String> = Set([
    "abstract", "any", "attribute", "boolean", "case", "char", "component", "const", "consumes", "context",
    "custom", "default", "double", "emits", "enum", "eventtype", "exception", "factory", "FALSE", "finder",
    "fixed", "float", "getraises", "home", "import", "in", "inout", "interface", "local", "long", "module",
    "multiple", "native", "Object", "octet", "oneway", "out", "primarykey", "private", "provides", "public",
    "publishes", "raises", "readonly", "setraises", "sequence", "short", "string", "struct", "supports",
    "switch", "TRUE", "truncatable", "typedef", "typeid", "typeprefix", "unsigned", "union", "uses",
    "ValueBase", "valuetype", "void", "wchar", "wstring",
    "int8", "uint8", "int16", "int32", "int64", "uint16", "uint32", "uint64", "map", "bitset", "bitfield", "bitmask",
  ].map { $0.lowercased() })

  /// `name` as IDL source writes it: escaped with `_` when it is a keyword.
  static func spell(_ name: String) -> String { lowercased.contains(name.lowercased()) ? "_" + name : name }

  /// `name` can be an IDL identifier (ASCII letter, then letters, digits and underscores).
  static func isIdentifier(_ name: String) -> Bool {
    guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
    return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }
  }
}

/// Turns a ``ScannedModule`` into IDL text: maps every exported declaration to a unit (a struct,
/// typedef, union or interface), orders the units so that each follows what it uses, names the
/// generated typedefs, and writes them into their modules.
struct IDLBuilder {
  struct Member {
    var name: String
    var type: IDLType
  }

  struct Operation {
    var wireName: String
    var selector: String
    var parameters: [Member]
    var result: IDLType?
    var raises: Bool
  }

  struct Unit {
    enum Body {
      case structure([Member])
      case enumeration(IDLType)
      case sequence(IDLType)
      case optional(IDLType)
      case interface(operations: [Operation], bases: [[String]])
    }
    var key: IDLType
    var swiftName: String
    var body: Body
    var location: SwiftSourceLocation?
    var order: Int
    /// Units this one needs declared before it (not interfaces it only refers to).
    var dependencies: [IDLType] = []
    /// Interfaces it refers to (a forward declaration suffices).
    var interfaceReferences: [IDLType] = []
    var problems: [SwiftExportDiagnostic] = []
    var repositoryID: String?
    /// Where it goes: IDL modules inside the outer module, and its identifier (unescaped).
    var modulePath: [String] = []
    var name: String = ""

    var isInterface: Bool { if case .interface = body { return true } else { return false } }
  }

  let module: ScannedModule
  let options: SwiftIDLExporter.Options
  let mapper: TypeMapper
  var units: [IDLType: Unit] = [:]
  var errors: [SwiftExportDiagnostic] = []
  var warnings: [SwiftExportDiagnostic] = []
  private var synthesizedOrder = 1_000_000

  init(module: ScannedModule, options: SwiftIDLExporter.Options) {
    self.module = module
    self.options = options
    self.mapper = TypeMapper(module: module, swiftModule: options.swiftModule)
  }

  mutating func build() throws(SwiftExportError) -> SwiftIDLExporter.Output {
    errors = module.diagnostics
    collectUnits()
    excludeUnreachableProblems()
    let ordered = order()
    if errors.isEmpty { checkNames() }
    guard errors.isEmpty else { throw SwiftExportError(sorted(errors)) }
    nameSynthesizedUnits(ordered)
    if !units.values.contains(where: \.isInterface) {
      warnings.append(.init(.warning, at: SwiftSourceLocation(file: module.files.first ?? "<no files>", line: 1, column: 1),
        "no distributed actor, nor protocol refining DistributedActor, in the exported files"))
    }
    return SwiftIDLExporter.Output(idl: write(ordered), warnings: sorted(warnings))
  }

  private func sorted(_ diagnostics: [SwiftExportDiagnostic]) -> [SwiftExportDiagnostic] {
    let fileOrder = Dictionary(module.files.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    return diagnostics.sorted {
      ((fileOrder[$0.location.file] ?? 0), $0.location.line, $0.location.column) < ((fileOrder[$1.location.file] ?? 0), $1.location.line, $1.location.column)
    }
  }

  // MARK: Units

  private static func kindName(_ t: ScannedModule.DeclaredType) -> String {
    switch t.kind {
    case .actor: return "distributed actor"
    case .distributedProtocol: return "distributed actor protocol"
    case .structure: return "Codable struct"
    case .enumeration: return "enum"
    case .other: return "type"
    }
  }

  /// Exported as IDL (rather than only a namespace, an IDL module, for the types inside it).
  private func isExported(_ t: ScannedModule.DeclaredType) -> Bool {
    switch t.kind {
    case .actor, .distributedProtocol: return true
    case .structure: return t.isCodable
    case .enumeration:
      if t.path.last == "CodingKeys" || t.inherited.contains("CodingKey") { return false }
      return t.isCodable || TypeMapper.enumProblem(t) == nil
    case .other: return false
    }
  }

  private mutating func collectUnits() {
    for (path, members) in module.members where module.types[path] == nil && !members.operations.isEmpty {
      warnings.append(.init(.warning, at: members.operations[0].location,
        "extension of '\(path.joined(separator: "."))', which is not declared in the exported files: its distributed funcs are not exported"))
    }
    for type in module.types.values.sorted(by: { $0.order < $1.order }) where isExported(type) {
      let members = module.members[type.path] ?? .init()
      let swiftName = type.path.joined(separator: ".")
      var unit = Unit(key: .declared(type.path), swiftName: swiftName, body: .structure([]), location: type.location, order: type.order)
      unit.repositoryID = members.repositoryID
      for i in 1..<max(type.path.count, 1) {
        if let outer = module.types[Array(type.path[0..<i])], isExported(outer) {
          unit.problems.append(.init(.error, at: type.location,
            "'\(swiftName)' is nested in \(Self.kindName(outer)) '\(outer.path.joined(separator: "."))', which is exported as IDL too; declare it outside (only types nested in other types become IDL modules)"))
        }
      }
      switch type.kind {
      case .actor, .distributedProtocol:
        unit.body = interfaceBody(type, members, &unit)
      case .structure:
        unit.body = structBody(type, members, &unit)
      case .enumeration:
        if let reason = TypeMapper.enumProblem(type) {
          unit.problems.append(.init(.error, at: type.associatedValues ?? type.location, "enum '\(swiftName)' \(reason)"))
        } else if let raw = type.rawType, let idl = BuiltinTypes.idl[ScannedSwiftPath.path(of: raw).last ?? ""] {
          unit.body = .enumeration(.basic(idl))
        }
        if type.isGeneric { unit.problems.append(.init(.error, at: type.location, "generic enum '\(swiftName)' cannot be exported")) }
      case .other: break
      }
      units[unit.key] = unit
    }
  }

  /// Records that `unit` uses `type`: a dependency, an interface reference, and the synthesized
  /// typedef or union units for sequences and optionals.
  private mutating func use(_ type: IDLType, in unit: inout Unit) {
    switch type {
    case .basic: return
    case .declared(let path):
      if let t = module.types[path], t.kind == .actor || t.kind == .distributedProtocol {
        if !unit.interfaceReferences.contains(type) { unit.interfaceReferences.append(type) }
        return
      }
    case .sequence(let element), .optional(let element):
      if units[type] == nil {
        synthesizedOrder += 1
        var synthesized: Unit
        if case .sequence = type {
          synthesized = Unit(key: type, swiftName: "[\(Self.swiftSpelling(element))]", body: .sequence(element), order: synthesizedOrder)
        } else {
          synthesized = Unit(key: type, swiftName: "\(Self.swiftSpelling(element))?", body: .optional(element), order: synthesizedOrder)
        }
        units[type] = synthesized  // placeholder against recursion
        use(element, in: &synthesized)
        units[type] = synthesized
      }
    }
    if !unit.dependencies.contains(type) { unit.dependencies.append(type) }
  }

  private static func swiftSpelling(_ type: IDLType) -> String {
    switch type {
    case .basic(let b): return BuiltinTypes.idl.first { $0.value == b }.map(\.key) ?? b
    case .declared(let path): return path.joined(separator: ".")
    case .sequence(let e): return "[\(swiftSpelling(e))]"
    case .optional(let e): return "\(swiftSpelling(e))?"
    }
  }

  private mutating func structBody(_ type: ScannedModule.DeclaredType, _ members: ScannedModule.Members, _ unit: inout Unit) -> Unit.Body {
    let name = unit.swiftName
    if type.isGeneric { unit.problems.append(.init(.error, at: type.location, "generic struct '\(name)' cannot be exported")) }
    if let custom = members.customCoding {
      unit.problems.append(.init(.error, at: custom,
        "'\(name)' implements encode(to:) or init(from:) itself: its CDR layout is unknown to courier-idl export, which describes synthesized Codable only"))
    }
    var fields = type.fields
    if let keys = members.codingKeys { fields = fields.filter { keys.contains($0.name) } }
    var result: [Member] = []
    for field in fields {
      if field.isConstantWithValue {
        unit.problems.append(.init(.error, at: field.location,
          "'let \(field.name)' has an initial value: synthesized Codable writes it but never reads it back; make it 'var'"))
        continue
      }
      guard let typeSyntax = field.type else {
        unit.problems.append(.init(.error, at: field.location, "stored property '\(field.name)' needs an explicit type for courier-idl export"))
        continue
      }
      guard let mapped = mapper.map(typeSyntax, from: type.path, file: field.location.file, problems: &unit.problems) else { continue }
      use(mapped, in: &unit)
      result.append(Member(name: field.name, type: mapped))
    }
    if fields.isEmpty {
      unit.problems.append(.init(.error, at: type.location, "struct '\(name)' has no stored properties; an IDL struct needs at least one member"))
    }
    return .structure(result)
  }

  private func wireName(_ op: ScannedModule.Operation, pins: [String: String]) -> String {
    OperationNaming.wireName(baseName: op.baseName, labels: op.labels, pinned: pins)
  }

  private mutating func interfaceBody(_ type: ScannedModule.DeclaredType, _ members: ScannedModule.Members, _ unit: inout Unit) -> Unit.Body {
    let name = unit.swiftName
    if type.isGeneric { unit.problems.append(.init(.error, at: type.location, "generic distributed actor '\(name)' cannot be exported")) }
    var bases: [[String]] = []
    var seen: [String: (selector: String, owner: String, wire: String)] = [:]  // lowercased wire name → first user
    if type.kind == .distributedProtocol {
      for inherited in type.inherited {
        guard let base = mapper.resolve([inherited], from: Array(type.path.dropLast())), base.kind == .distributedProtocol else { continue }
        bases.append(base.path)
        let baseMembers = module.members[base.path] ?? .init()
        for op in baseMembers.operations {
          let wire = wireName(op, pins: baseMembers.pinnedOperationNames)
          seen[wire.lowercased()] = (op.selector, base.path.joined(separator: "."), wire)
        }
        unit.dependencies.append(.declared(base.path))
      }
    }
    var operations: [Operation] = []
    var usedPins: Set<String> = []
    for op in members.operations {
      var problems: [SwiftExportDiagnostic] = []
      if let generic = op.generic {
        // Its parameter types name the generic parameters: one error is enough.
        unit.problems.append(.init(.error, at: generic, "generic distributed func '\(op.selector)' cannot be exported"))
        continue
      }
      var parameters: [Member] = []
      var parameterNames: Set<String> = []
      for p in op.parameters {
        if p.isVariadic {
          problems.append(.init(.error, at: p.location, "variadic parameter '\(p.name)' of '\(op.selector)' cannot be exported; use an array"))
          continue
        }
        guard let mapped = mapper.map(p.type, from: type.path, file: p.location.file, problems: &problems) else { continue }
        var idlName = p.name
        while parameterNames.contains(idlName.lowercased()) { idlName += "_" }
        parameterNames.insert(idlName.lowercased())
        parameters.append(Member(name: idlName, type: mapped))
      }
      var result: IDLType?
      if let r = op.result, !["Void", "()", "Swift.Void"].contains(r.trimmedDescription) {
        result = mapper.map(r, from: type.path, file: op.location.file, problems: &problems)
      }
      let selector = op.selector
      if members.pinnedOperationNames[selector] != nil { usedPins.insert(selector) }
      let wire = wireName(op, pins: members.pinnedOperationNames)
      let pinHint = "pin another name in \(name).courierOperationNames, e.g. [\"\(selector)\": \"\(wire)2\"]"
      if !IDLKeywords.isIdentifier(wire) {
        problems.append(.init(.error, at: op.location, "wire name '\(wire)' of '\(selector)' is not an IDL identifier (an ASCII letter, then letters, digits and '_'); \(pinHint)"))
      } else if let first = seen[wire.lowercased()] {
        let owner = first.owner == name ? "" : " (of \(first.owner))"
        let same = first.wire == wire ? "the same wire name '\(wire)'" : "wire names '\(first.wire)' and '\(wire)', which IDL does not tell apart (they differ only in case)"
        problems.append(.init(.error, at: op.location,
          "'\(first.selector)'\(owner) and '\(selector)' have \(same) in interface \(name); \(pinHint)"))
      } else if wire.lowercased() == type.path.last!.lowercased() {
        problems.append(.init(.error, at: op.location,
          "wire name '\(wire)' of '\(selector)' is the interface's own name, which IDL forbids in its scope; \(pinHint)"))
      } else {
        seen[wire.lowercased()] = (selector, name, wire)
      }
      unit.problems += problems
      if problems.isEmpty {
        for p in parameters { use(p.type, in: &unit) }
        if let result { use(result, in: &unit) }
        operations.append(Operation(wireName: wire, selector: selector, parameters: parameters, result: result, raises: op.throwsErrors))
      }
    }
    if let location = members.pinnedOperationNamesLocation {
      for selector in members.pinnedOperationNames.keys.sorted() where !usedPins.contains(selector) {
        warnings.append(.init(.warning, at: location, "courierOperationNames pins '\(selector)', which is no distributed func of \(name)"))
      }
    }
    return .interface(operations: operations, bases: bases)
  }

  // MARK: Reachability and order

  /// A unit no interface needs and that cannot be exported is left out with a warning (a file
  /// may declare Codable types for other purposes); one an interface needs is an error.
  private mutating func excludeUnreachableProblems() {
    var reachable: Set<IDLType> = []
    var queue = units.values.filter(\.isInterface).map(\.key)
    while let key = queue.popLast() {
      guard reachable.insert(key).inserted, let unit = units[key] else { continue }
      queue += unit.dependencies + unit.interfaceReferences
    }
    var excluded: Set<IDLType> = []
    for unit in units.values.sorted(by: { $0.order < $1.order }) where !unit.problems.isEmpty {
      if reachable.contains(unit.key) {
        errors += unit.problems
      } else {
        excluded.insert(unit.key)
        warnings.append(.init(.warning, at: unit.location ?? unit.problems[0].location,
          "'\(unit.swiftName)' is not exported (no distributed func uses it): \(unit.problems[0].message)"))
      }
    }
    var changed = true
    while changed {
      changed = false
      for unit in units.values where !excluded.contains(unit.key) && !reachable.contains(unit.key) {
        if unit.dependencies.contains(where: excluded.contains) || unit.interfaceReferences.contains(where: excluded.contains) {
          excluded.insert(unit.key)
          changed = true
        }
      }
    }
    for key in excluded { units[key] = nil }
  }

  /// Units in source order, each after the units it depends on; recursion is an error.
  private mutating func order() -> [IDLType] {
    var done: Set<IDLType> = []
    var stack: [IDLType] = []
    var ordered: [IDLType] = []
    func visit(_ key: IDLType) {
      if done.contains(key) { return }
      guard let unit = units[key] else { return }
      if let start = stack.firstIndex(of: key) {
        let cycle = (stack[start...] + [key]).map { units[$0]?.swiftName ?? "?" }.joined(separator: " → ")
        let declared = stack[start...].compactMap { units[$0]?.location }.first
        errors.append(.init(.error, at: declared ?? SwiftSourceLocation(file: module.files.first ?? "", line: 1, column: 1),
          "recursive types (\(cycle)) cannot be exported: IDL needs each struct declared before its use"))
        return
      }
      stack.append(key)
      for d in unit.dependencies { visit(d) }
      stack.removeLast()
      if done.insert(key).inserted { ordered.append(key) }
    }
    for unit in units.values.sorted(by: { $0.order < $1.order }) { visit(unit.key) }
    return ordered
  }

  // MARK: Names

  /// Places declared units in their modules and checks that IDL can tell their names apart.
  private mutating func checkNames() {
    var taken: [[String]: [String: String]] = [:]  // module path → lowercased name → Swift name
    for key in units.keys.sorted(by: { units[$0]!.order < units[$1]!.order }) {
      guard case .declared(let path) = key else { continue }
      var unit = units[key]!
      unit.modulePath = Array(path.dropLast())
      unit.name = path.last!
      if !IDLKeywords.isIdentifier(unit.name) {
        errors.append(.init(.error, at: unit.location!, "'\(unit.name)' is not an IDL identifier (ASCII letters, digits and '_')"))
      } else if let other = taken[unit.modulePath]?[unit.name.lowercased()] {
        errors.append(.init(.error, at: unit.location!, "'\(unit.swiftName)' and '\(other)' differ only in case, which IDL does not tell apart"))
      }
      taken[unit.modulePath, default: [:]][unit.name.lowercased()] = unit.swiftName
      units[key] = unit
    }
  }

  /// Names the typedefs and unions of sequences and optionals (`LongSeq`, `RectangleOpt`) in
  /// the outer module, clear of every declared name.
  private mutating func nameSynthesizedUnits(_ ordered: [IDLType]) {
    var taken = Set(units.values.filter { $0.modulePath.isEmpty && !$0.name.isEmpty }.map { $0.name.lowercased() })
    taken.formUnion(units.values.compactMap { $0.modulePath.first?.lowercased() })
    for key in ordered where units[key]!.name.isEmpty {
      var name = typedefName(key)
      while taken.contains(name.lowercased()) || IDLKeywords.lowercased.contains(name.lowercased()) { name += "_" }
      taken.insert(name.lowercased())
      units[key]!.name = name
    }
  }

  private func typedefName(_ type: IDLType) -> String {
    switch type {
    case .basic(let b): return BuiltinTypes.typedefNames[b] ?? b
    case .declared(let path): return path.joined(separator: "_")
    case .sequence(let e): return typedefName(e) + "Seq"
    case .optional(let e): return typedefName(e) + "Opt"
    }
  }

  // MARK: Writing

  /// Lowercased identifiers declared directly in each module path (types and nested modules).
  private func declaredNames() -> [[String]: Set<String>] {
    var names: [[String]: Set<String>] = [:]
    for unit in units.values {
      names[unit.modulePath, default: []].insert(unit.name.lowercased())
      for i in 0..<unit.modulePath.count {
        names[Array(unit.modulePath[0..<i]), default: []].insert(unit.modulePath[i].lowercased())
      }
    }
    return names
  }

  /// How `type` is written in `scope` (a module path) where `local` identifiers are declared:
  /// the name inside the outer module (`Rectangle`, `Demo::Point`), or the absolute name
  /// (`::Shapes::Rectangle`) where a nearer declaration, or a local one differing in case only,
  /// would hide it (IDL compares identifiers case-insensitively).
  private func reference(_ type: IDLType, in scope: [String], local: Set<String>, names: [[String]: Set<String>]) -> String {
    if case .basic(let b) = type { return b }
    guard let target = units[type] else { return "?" }
    let path = target.modulePath + [target.name]
    let first = path[0].lowercased()
    var hidden = local.contains(first)
    for k in stride(from: scope.count, to: 0, by: -1) where names[Array(scope[0..<k])]?.contains(first) == true {
      hidden = true
    }
    let relative = path.map(IDLKeywords.spell).joined(separator: "::")
    return hidden ? "::" + IDLKeywords.spell(options.swiftModule) + "::" + relative : relative
  }

  private func write(_ ordered: [IDLType]) -> String {
    let names = declaredNames()
    var out: [String] = []
    let files = module.files.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ")
    out.append("// Generated by `\(options.commandLine ?? "courier-idl export --swift-module \(options.swiftModule)")`")
    out.append("// from \(files).")
    out.append("// DO NOT EDIT: change the Swift declarations and export again.")
    out.append("")
    out.append("module Courier {")
    out.append("  // A Swift error thrown by a distributed method: its type, its description, and for a")
    out.append("  // Codable error registered with the actor system, its value as a CDR encapsulation.")
    out.append("  exception SwiftError { string typeName; string description; sequence<octet> payload; };")
    out.append("};")
    out.append("")
    // An IDL module must not be empty.
    guard !ordered.isEmpty else { return out.joined(separator: "\n") + "\n" }
    out.append("module \(IDLKeywords.spell(options.swiftModule)) {")
    var open: [String] = []
    func indent() -> String { String(repeating: "  ", count: open.count + 1) }
    func enter(_ path: [String]) {
      var common = 0
      while common < open.count && common < path.count && open[common] == path[common] { common += 1 }
      if open.count > common && out.last == "" { out.removeLast() }
      while open.count > common {
        open.removeLast()
        out.append(indent() + "};")
      }
      while open.count < path.count {
        out.append(indent() + "module \(IDLKeywords.spell(path[open.count])) {")
        open.append(path[open.count])
      }
    }

    let position = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
    var forward: [IDLType] = []
    for (i, key) in ordered.enumerated() {
      for r in units[key]!.interfaceReferences where r != key && (position[r] ?? 0) > i && !forward.contains(r) { forward.append(r) }
    }
    forward.sort { position[$0]! < position[$1]! }
    for key in forward {
      let unit = units[key]!
      enter(unit.modulePath)
      out.append(indent() + "interface \(IDLKeywords.spell(unit.name));")
    }

    for key in ordered {
      let unit = units[key]!
      // One blank line between declarations, none after an opening brace or before a closing one.
      if out.last != "" && !(out.last?.hasSuffix("{") ?? false) { out.append("") }
      enter(unit.modulePath)
      if out.last != "" && !(out.last?.hasSuffix("{") ?? false) { out.append("") }
      let pad = indent()
      let spelled = IDLKeywords.spell(unit.name)
      switch unit.body {
      case .structure(let members):
        var fieldNames: Set<String> = [unit.name.lowercased()]
        var renamed: [Member] = []
        for m in members {
          var n = m.name
          while fieldNames.contains(n.lowercased()) { n += "_" }
          fieldNames.insert(n.lowercased())
          renamed.append(Member(name: n, type: m.type))
        }
        fieldNames.remove(unit.name.lowercased())
        out.append(pad + "struct \(spelled) {")
        for m in renamed {
          out.append(pad + "  \(reference(m.type, in: unit.modulePath, local: fieldNames, names: names)) \(IDLKeywords.spell(m.name));")
        }
        out.append(pad + "};")
      case .enumeration(let raw):
        out.append(pad + "typedef \(reference(raw, in: unit.modulePath, local: [], names: names)) \(spelled);  // enum \(unit.swiftName): the raw value")
      case .sequence(let element):
        out.append(pad + "typedef sequence<\(reference(element, in: unit.modulePath, local: [], names: names))> \(spelled);")
      case .optional(let element):
        out.append(pad + "union \(spelled) switch (boolean) { case TRUE: \(reference(element, in: unit.modulePath, local: ["value"], names: names)) value; };")
      case .interface(let operations, let bases):
        var local = Set(operations.map { $0.wireName.lowercased() })
        for op in operations { local.formUnion(op.parameters.map { $0.name.lowercased() }) }
        let inheritance = bases.isEmpty ? "" : " : " + bases.map { reference(.declared($0), in: unit.modulePath, local: [], names: names) }.joined(separator: ", ")
        out.append(pad + "interface \(spelled)\(inheritance) {")
        for op in operations {
          let result = op.result.map { reference($0, in: unit.modulePath, local: local, names: names) } ?? "void"
          let parameters = op.parameters.map { "in \(reference($0.type, in: unit.modulePath, local: local, names: names)) \(IDLKeywords.spell($0.name))" }
          let raises = op.raises ? " raises (::Courier::SwiftError)" : ""
          out.append(pad + "  \(result) \(IDLKeywords.spell(op.wireName))(\(parameters.joined(separator: ", ")))\(raises);  // \(op.selector)")
        }
        out.append(pad + "};")
      }
      if let id = unit.repositoryID {
        out.append(pad + "#pragma ID \(spelled) \"\(id)\"")
      }
    }
    enter([])
    out.append("};")
    return out.joined(separator: "\n") + "\n"
  }
}
