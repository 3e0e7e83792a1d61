import SwiftParser
import SwiftSyntax

/// What the exporter needs from the Swift files: every type declared (with its nesting path),
/// and what declarations and extensions say about each (syntax only; nothing is type-checked).
struct ScannedModule {
  /// A type declared in the files, named by its path of enclosing type names (`["Demo", "Shape"]`).
  struct DeclaredType {
    enum Kind: Equatable {
      /// `distributed actor`.
      case actor
      /// A protocol that refines `DistributedActor` (directly or through another such protocol).
      case distributedProtocol
      case structure
      case enumeration
      /// A class, a plain actor, or a protocol that is not a distributed actor's.
      case other
    }
    var path: [String]
    var kind: Kind
    var location: SwiftSourceLocation
    var isGeneric = false
    /// Inherited type names as written (the last component of `A.B`), extensions' included.
    var inherited: [String] = []
    /// Structs: stored properties in declaration order.
    var fields: [Field] = []
    /// Enums: the first inherited type (the raw type if it is one), and where a case has
    /// associated values.
    var rawType: TypeSyntax? = nil
    var associatedValues: SwiftSourceLocation? = nil
    /// Source order across the files, for deterministic output.
    var order: Int = 0

    var isCodable: Bool {
      inherited.contains("Codable") || (inherited.contains("Encodable") && inherited.contains("Decodable"))
    }
  }

  /// A stored property of a struct.
  struct Field {
    var name: String
    var type: TypeSyntax?
    var location: SwiftSourceLocation
    /// A `let` with an initial value: synthesized `Codable` writes it but never reads it back.
    var isConstantWithValue = false
  }

  /// A `distributed func`.
  struct Operation {
    var baseName: String
    var labels: [String?]
    var parameters: [Parameter]
    var result: TypeSyntax?
    var throwsErrors: Bool
    var location: SwiftSourceLocation
    /// Where the method is generic, if it is.
    var generic: SwiftSourceLocation?

    var selector: String { OperationNaming.selector(baseName: baseName, labels: labels) }
  }

  struct Parameter {
    var name: String
    var type: TypeSyntax
    var isVariadic: Bool
    var location: SwiftSourceLocation
  }

  /// What a type's body and its extensions add: operations, pinned names, coding customization.
  struct Members {
    var operations: [Operation] = []
    var pinnedOperationNames: [String: String] = [:]
    var pinnedOperationNamesLocation: SwiftSourceLocation?
    var repositoryID: String?
    var repositoryIDLocation: SwiftSourceLocation?
    /// Case names of a nested `CodingKeys` enum (which properties the synthesized Codable writes).
    var codingKeys: [String]?
    /// Where an own `encode(to:)` or `init(from:)` is (the layout is then unknown).
    var customCoding: SwiftSourceLocation?
    /// Extensions' inherited types (`extension S: Codable {}`).
    var inherited: [String] = []
  }

  var types: [[String]: DeclaredType] = [:]
  var members: [[String]: Members] = [:]
  var diagnostics: [SwiftExportDiagnostic] = []
  /// Files in the order given.
  var files: [String] = []
  /// Each file's line table, for diagnostics about its syntax.
  var converters: [String: SourceLocationConverter] = [:]
}

/// Reads Swift source files into a ``ScannedModule``.
struct SwiftScanner {
  let swiftModule: String
  private(set) var module = ScannedModule()
  private var converter: SourceLocationConverter!
  private var file = ""
  private var order = 0

  init(swiftModule: String) { self.swiftModule = swiftModule }

  mutating func scan(file: String, source: String) {
    self.file = file
    module.files.append(file)
    let tree = Parser.parse(source: source)
    converter = SourceLocationConverter(fileName: file, tree: tree)
    module.converters[file] = converter
    scan(items: tree.statements.map(\.item), scope: [], enclosing: nil)
  }

  /// Marks protocols refining a distributed protocol as distributed (until nothing changes).
  mutating func finish() {
    for (path, members) in module.members where module.types[path] != nil {
      module.types[path]!.inherited += members.inherited
    }
    var changed = true
    while changed {
      changed = false
      for (path, type) in module.types where type.kind == .other && isProtocol(path) {
        let parents = type.inherited.compactMap { name in module.types.values.first { $0.path.last == name } }
        if parents.contains(where: { $0.kind == .distributedProtocol }) {
          module.types[path]!.kind = .distributedProtocol
          changed = true
        }
      }
    }
  }

  private var protocols: Set<[String]> = []
  private func isProtocol(_ path: [String]) -> Bool { protocols.contains(path) }

  private func location(_ node: some SyntaxProtocol) -> SwiftSourceLocation {
    let l = converter.location(for: node.positionAfterSkippingLeadingTrivia)
    return SwiftSourceLocation(file: file, line: l.line, column: l.column)
  }

  private mutating func scan(items: [CodeBlockItemSyntax.Item], scope: [String], enclosing: ScannedModule.DeclaredType.Kind?) {
    for item in items {
      if case .decl(let decl) = item { scan(decl: decl, scope: scope, enclosing: enclosing) }
    }
  }

  private mutating func scan(members: MemberBlockSyntax, scope: [String], enclosing: ScannedModule.DeclaredType.Kind?) {
    for member in members.members { scan(decl: member.decl, scope: scope, enclosing: enclosing) }
  }

  private mutating func declare(_ path: [String], _ kind: ScannedModule.DeclaredType.Kind, at node: some SyntaxProtocol,
                                inherited: InheritanceClauseSyntax?, generic: Bool) -> Bool {
    guard module.types[path] == nil else {
      module.diagnostics.append(.init(.error, at: location(node), "'\(path.joined(separator: "."))' is declared twice"))
      return false
    }
    order += 1
    var type = ScannedModule.DeclaredType(path: path, kind: kind, location: location(node), isGeneric: generic,
                                          inherited: Self.inheritedNames(inherited))
    type.order = order
    module.types[path] = type
    return true
  }

  private mutating func scan(decl: DeclSyntax, scope: [String], enclosing: ScannedModule.DeclaredType.Kind?) {
    if let d = decl.as(ActorDeclSyntax.self) {
      let path = scope + [Self.name(d.name)]
      let kind: ScannedModule.DeclaredType.Kind = d.modifiers.contains { $0.name.text == "distributed" } ? .actor : .other
      if declare(path, kind, at: d.name, inherited: d.inheritanceClause, generic: d.genericParameterClause != nil) {
        scan(members: d.memberBlock, scope: path, enclosing: kind)
      }
    } else if let d = decl.as(ProtocolDeclSyntax.self) {
      let path = scope + [Self.name(d.name)]
      let refinesDistributedActor = Self.inheritedNames(d.inheritanceClause).contains("DistributedActor")
      let kind: ScannedModule.DeclaredType.Kind = refinesDistributedActor ? .distributedProtocol : .other
      protocols.insert(path)
      if declare(path, kind, at: d.name, inherited: d.inheritanceClause, generic: false) {
        scan(members: d.memberBlock, scope: path, enclosing: kind)
      }
    } else if let d = decl.as(StructDeclSyntax.self) {
      let path = scope + [Self.name(d.name)]
      if declare(path, .structure, at: d.name, inherited: d.inheritanceClause, generic: d.genericParameterClause != nil) {
        module.types[path]!.fields = storedProperties(d.memberBlock)
        scan(members: d.memberBlock, scope: path, enclosing: .structure)
      }
    } else if let d = decl.as(EnumDeclSyntax.self) {
      let path = scope + [Self.name(d.name)]
      if d.name.text == "CodingKeys" && enclosing == .structure {
        var cases: [String] = []
        for member in d.memberBlock.members {
          guard let c = member.decl.as(EnumCaseDeclSyntax.self) else { continue }
          cases += c.elements.map { Self.name($0.name) }
        }
        module.members[scope, default: .init()].codingKeys = cases
      }
      if declare(path, .enumeration, at: d.name, inherited: d.inheritanceClause, generic: d.genericParameterClause != nil) {
        module.types[path]!.rawType = d.inheritanceClause?.inheritedTypes.first?.type
        for member in d.memberBlock.members {
          guard let c = member.decl.as(EnumCaseDeclSyntax.self) else { continue }
          for element in c.elements where element.parameterClause != nil && module.types[path]!.associatedValues == nil {
            module.types[path]!.associatedValues = location(element)
          }
        }
        scan(members: d.memberBlock, scope: path, enclosing: .enumeration)
      }
    } else if let d = decl.as(ClassDeclSyntax.self) {
      let path = scope + [Self.name(d.name)]
      if declare(path, .other, at: d.name, inherited: d.inheritanceClause, generic: d.genericParameterClause != nil) {
        scan(members: d.memberBlock, scope: path, enclosing: .other)
      }
    } else if let d = decl.as(ExtensionDeclSyntax.self) {
      var path = Self.path(of: d.extendedType)
      if path.count > 1 && path.first == swiftModule { path.removeFirst() }
      module.members[path, default: .init()].inherited += Self.inheritedNames(d.inheritanceClause)
      // The extended type's kind is known only once every file is read: scan its members as a
      // type body's (distributed funcs are kept, and dropped later if the type is not an actor's).
      scan(members: d.memberBlock, scope: path, enclosing: nil)
    } else if let d = decl.as(IfConfigDeclSyntax.self) {
      for clause in d.clauses {
        switch clause.elements {
        case .statements(let items)?: scan(items: items.map(\.item), scope: scope, enclosing: enclosing)
        case .decls(let members)?: for m in members { scan(decl: m.decl, scope: scope, enclosing: enclosing) }
        default: break
        }
      }
    } else if let d = decl.as(FunctionDeclSyntax.self), !scope.isEmpty {
      scan(function: d, scope: scope)
    } else if let d = decl.as(InitializerDeclSyntax.self), !scope.isEmpty {
      if d.signature.parameterClause.parameters.first?.firstName.text == "from" {
        module.members[scope, default: .init()].customCoding = location(d)
      }
    } else if let d = decl.as(VariableDeclSyntax.self), !scope.isEmpty,
              d.modifiers.contains(where: { $0.name.text == "static" || $0.name.text == "class" }) {
      scan(pins: d, scope: scope)
    }
  }

  private mutating func scan(function d: FunctionDeclSyntax, scope: [String]) {
    let parameters = d.signature.parameterClause.parameters
    if d.name.text == "encode" && parameters.count == 1 && parameters.first?.firstName.text == "to" {
      module.members[scope, default: .init()].customCoding = location(d)
    }
    guard d.modifiers.contains(where: { $0.name.text == "distributed" }) else { return }
    var labels: [String?] = []
    var params: [ScannedModule.Parameter] = []
    for (index, p) in parameters.enumerated() {
      let label = p.firstName.tokenKind == .wildcard ? nil : Self.name(p.firstName)
      labels.append(label)
      var name = Self.name(p.secondName ?? p.firstName)
      if name == "_" { name = "arg\(index)" }
      params.append(.init(name: name, type: p.type, isVariadic: p.ellipsis != nil, location: location(p)))
    }
    let generic = d.genericParameterClause.map { location($0) } ?? d.genericWhereClause.map { location($0) }
    module.members[scope, default: .init()].operations.append(.init(
      baseName: Self.name(d.name), labels: labels, parameters: params, result: d.signature.returnClause?.type,
      throwsErrors: d.signature.effectSpecifiers?.throwsClause != nil, location: location(d.name), generic: generic))
  }

  /// `static let courierOperationNames: [String: String] = [...]` (or a computed `static var`),
  /// `static let courierRepositoryID = "IDL:…:1.0"`.
  private mutating func scan(pins d: VariableDeclSyntax, scope: [String]) {
    for binding in d.bindings {
      guard let name = binding.pattern.as(IdentifierPatternSyntax.self).map({ Self.name($0.identifier) }),
            name == "courierOperationNames" || name == "courierRepositoryID" else { continue }
      let value = binding.initializer?.value ?? Self.singleExpression(binding.accessorBlock)
      if name == "courierRepositoryID" {
        guard let value, let id = Self.stringLiteral(value) else {
          module.diagnostics.append(.init(.error, at: location(binding), "courierRepositoryID must be a string literal for courier-idl export to read it"))
          continue
        }
        module.members[scope, default: .init()].repositoryID = id
        module.members[scope, default: .init()].repositoryIDLocation = location(binding)
      } else {
        guard let value, let pairs = Self.dictionaryLiteral(value) else {
          module.diagnostics.append(.init(.error, at: location(binding),
            "courierOperationNames must be a dictionary literal of string literals (selector: wire name) for courier-idl export to read it"))
          continue
        }
        for (selector, wire) in pairs { module.members[scope, default: .init()].pinnedOperationNames[selector] = wire }
        module.members[scope, default: .init()].pinnedOperationNamesLocation = location(binding)
      }
    }
  }

  /// The stored properties of a struct body, in order: not static, not lazy, no getter.
  private func storedProperties(_ block: MemberBlockSyntax) -> [ScannedModule.Field] {
    var fields: [ScannedModule.Field] = []
    for member in block.members {
      guard let d = member.decl.as(VariableDeclSyntax.self) else { continue }
      if d.modifiers.contains(where: { ["static", "class", "lazy"].contains($0.name.text) }) { continue }
      let isLet = d.bindingSpecifier.tokenKind == .keyword(.let)
      var pending: [ScannedModule.Field] = []
      for binding in d.bindings {
        if let accessors = binding.accessorBlock, Self.isComputed(accessors) { continue }
        guard let name = binding.pattern.as(IdentifierPatternSyntax.self).map({ Self.name($0.identifier) }) else { continue }
        var field = ScannedModule.Field(name: name, type: binding.typeAnnotation?.type, location: location(binding))
        field.isConstantWithValue = isLet && binding.initializer != nil
        pending.append(field)
        // `var x, y: Int32`: the type written last applies to the names before it.
        if let type = binding.typeAnnotation?.type {
          for i in pending.indices where pending[i].type == nil { pending[i].type = type }
          fields += pending
          pending = []
        }
      }
      fields += pending
    }
    return fields
  }

  private static func isComputed(_ block: AccessorBlockSyntax) -> Bool {
    switch block.accessors {
    case .getter: return true
    case .accessors(let list):
      return list.contains { !["willSet", "didSet"].contains($0.accessorSpecifier.text) }
    }
  }

  private static func singleExpression(_ block: AccessorBlockSyntax?) -> ExprSyntax? {
    guard let block else { return nil }
    var items: CodeBlockItemListSyntax?
    switch block.accessors {
    case .getter(let list): items = list
    case .accessors(let list): items = list.first { $0.accessorSpecifier.text == "get" }?.body?.statements
    }
    guard let items, items.count == 1, let item = items.first else { return nil }
    switch item.item {
    case .expr(let e): return e
    case .stmt(let s): return s.as(ReturnStmtSyntax.self)?.expression
    default: return nil
    }
  }

  static func stringLiteral(_ e: ExprSyntax) -> String? {
    guard let literal = e.as(StringLiteralExprSyntax.self) else { return nil }
    var text = ""
    for segment in literal.segments {
      guard let s = segment.as(StringSegmentSyntax.self) else { return nil }
      text += s.content.text
    }
    return text
  }

  static func dictionaryLiteral(_ e: ExprSyntax) -> [(String, String)]? {
    guard let d = e.as(DictionaryExprSyntax.self) else { return nil }
    switch d.content {
    case .colon: return []
    case .elements(let list):
      var pairs: [(String, String)] = []
      for element in list {
        guard let k = stringLiteral(element.key), let v = stringLiteral(element.value) else { return nil }
        pairs.append((k, v))
      }
      return pairs
    }
  }

  /// A name token without backticks (or the `$` of a `@Resolvable` stub type).
  static func name(_ token: TokenSyntax) -> String {
    String(token.text.filter { $0 != "`" })
  }

  /// `A.B.C` → `["A", "B", "C"]` (generic arguments dropped).
  static func path(of type: TypeSyntax) -> [String] {
    if let t = type.as(IdentifierTypeSyntax.self) { return [name(t.name)] }
    if let t = type.as(MemberTypeSyntax.self) { return path(of: t.baseType) + [name(t.name)] }
    return [type.trimmedDescription]
  }

  /// The last component of each inherited type, compositions (`Encodable & Decodable`) opened.
  static func inheritedNames(_ clause: InheritanceClauseSyntax?) -> [String] {
    guard let clause else { return [] }
    var names: [String] = []
    func add(_ type: TypeSyntax) {
      if let c = type.as(CompositionTypeSyntax.self) {
        for element in c.elements { add(element.type) }
      } else if let last = path(of: type).last {
        names.append(last)
      }
    }
    for inherited in clause.inheritedTypes { add(inherited.type) }
    return names
  }
}
