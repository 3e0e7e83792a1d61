/// A syntax error was reported; the parser skips to a point where it can go on.
struct SyntaxError: Error {}

/// A name as written in the IDL (`A::B`, `::A::B`), before resolution.
struct NameReference {
  var isAbsolute: Bool
  var parts: [Token]
  var location: SourceLocation { parts.first?.location ?? SourceLocation(file: "", line: 0, column: 0) }
  var written: String { (isAbsolute ? "::" : "") + parts.map(\.text).joined(separator: "::") }
}

/// The recursive-descent parser, doing semantic analysis as it goes (IDL requires declaration
/// before use, so one pass resolves every name): scopes, name lookup, constant evaluation and
/// repository ids.
final class Parser {
  struct PrefixState {
    var prefix: String
    /// The scope the prefix was set in: repository ids name the path below it.
    var base: ScopedName
  }

  private var tokens: [Token]
  private(set) var index = 0
  private(set) var diagnostics: [IDLDiagnostic] = []
  let global = Scope(name: ScopedName([]), parent: nil)
  private(set) var scope: Scope
  private var prefixState = PrefixState(prefix: "", base: ScopedName([]))
  private var prefixStack: [PrefixState] = []
  /// `#pragma ID` and `typeid`: the id, and the first declaration (serial) it applies to.
  private(set) var idOverrides: [ScopedName: (id: String, fromSerial: Int)] = [:]
  /// `#pragma version`: the version, and the first declaration (serial) it applies to.
  private(set) var versionOverrides: [ScopedName: (version: String, fromSerial: Int)] = [:]
  /// Each declaration's serial number, by the location of its name.
  private(set) var serialByLocation: [SourceLocation: Int] = [:]
  private var nextSerial = 0
  /// `typeprefix`.
  private(set) var typePrefixes: [ScopedName: String] = [:]
  /// What `#pragma courier semantics`/`idempotent` declared, by operation.
  struct SemanticsDeclaration {
    var semantics: (OperationSemantics, at: SourceLocation)?
    var idempotent = false
    /// What the model records: the explicit semantics, else at-least-once for an idempotent operation.
    var declared: OperationSemantics? { semantics?.0 ?? (idempotent ? .atLeastOnce : nil) }
  }
  private(set) var semanticsDeclarations: [ScopedName: SemanticsDeclaration] = [:]
  /// Oneway operations declared so far (a semantics pragma may not make one retry).
  private var onewayOperations: Set<ScopedName> = []
  /// `>>` closes two template brackets rather than shifting inside `<…>`.
  var angleDepth = 0

  init(tokens: [Token]) {
    self.tokens = tokens.isEmpty ? [Token(.endOfInput, "", at: SourceLocation(file: "", line: 1, column: 1))] : tokens
    scope = global
  }

  // MARK: Tokens

  var current: Token { tokens[index] }
  private var splitToken: Token? = nil

  var atEnd: Bool { current.kind == .endOfInput }

  /// The `n`th token after the current one (pragmas and file markers skipped).
  func peek(_ n: Int = 1) -> Token {
    var i = index
    var remaining = n
    while remaining > 0 && i < tokens.count - 1 {
      i += 1
      if !Self.isMarker(tokens[i].kind) { remaining -= 1 }
    }
    return tokens[i]
  }

  private static func isMarker(_ kind: Token.Kind) -> Bool {
    kind == .pragma || kind == .fileStart || kind == .fileEnd
  }

  /// The previous real token (for "expected ';' after …").
  private var previous: Token? {
    var i = index - 1
    while i >= 0 {
      if !Self.isMarker(tokens[i].kind) { return tokens[i] }
      i -= 1
    }
    return nil
  }

  func advance() {
    guard index < tokens.count - 1 else { return }
    index += 1
    processMarkers()
  }

  /// Applies the pragmas and file boundaries at the current position.
  func processMarkers() {
    while Self.isMarker(tokens[index].kind) && index < tokens.count - 1 {
      let marker = tokens[index]
      switch marker.kind {
      case .fileStart:
        prefixStack.append(prefixState)
        prefixState = PrefixState(prefix: "", base: scope.name)
      case .fileEnd:
        if let saved = prefixStack.popLast() { prefixState = saved }
      default:
        apply(pragma: marker)
      }
      index += 1
    }
  }

  private func apply(pragma token: Token) {
    switch token.pragma {
    case .prefix(let prefix)?:
      prefixState = PrefixState(prefix: prefix, base: scope.name)
    case .id(let nameTokens, let id)?:
      if let symbol = pragmaTarget(nameTokens, pragma: token) { idOverrides[symbol.scopedName] = (id, symbol.serial) }
    case .version(let nameTokens, let version)?:
      if let symbol = pragmaTarget(nameTokens, pragma: token) { versionOverrides[symbol.scopedName] = (version, symbol.serial) }
    case .semantics(let nameTokens, let semantics, let wordLocation)?:
      guard let operation = operationTarget(nameTokens, pragma: token) else { return }
      if semantics.retries && onewayOperations.contains(operation) {
        return error("oneway operation '\(operation)' cannot be \(semantics.idlSpelling): a oneway call has no reply to retry on",
                     at: wordLocation)
      }
      var declaration = semanticsDeclarations[operation] ?? SemanticsDeclaration()
      if let (earlier, at) = declaration.semantics, earlier != semantics {
        return error("conflicting semantics for '\(operation)': \(semantics.idlSpelling) here, \(earlier.idlSpelling) declared at \(at)",
                     at: wordLocation)
      }
      declaration.semantics = (semantics, wordLocation)
      semanticsDeclarations[operation] = declaration
    case .idempotent(let nameTokens)?:
      guard let operation = operationTarget(nameTokens, pragma: token) else { return }
      if onewayOperations.contains(operation) {
        return error("oneway operation '\(operation)' cannot be idempotent (at-least-once): a oneway call has no reply to retry on",
                     at: nameTokens.first?.location ?? token.location)
      }
      semanticsDeclarations[operation, default: SemanticsDeclaration()].idempotent = true
    case nil:
      break
    }
  }

  /// The interface operation a `#pragma courier` names, or nil after reporting why not.
  private func operationTarget(_ nameTokens: [Token], pragma: Token) -> ScopedName? {
    guard let symbol = pragmaTarget(nameTokens, pragma: pragma) else { return nil }
    let location = nameTokens.first?.location ?? pragma.location
    let written = nameTokens.map { $0.isPunctuation("::") ? "::" : $0.text }.joined()
    guard case .other("operation") = symbol.kind else {
      error("'\(written)' is \(Self.article(symbol.kind.describe)) \(symbol.kind.describe), not an operation ('#pragma \(pragma.text)' applies to interface operations)",
            at: location)
      return nil
    }
    guard case .interface? = self.symbol(named: symbol.scopedName.parent)?.kind else {
      error("'\(written)' is not an operation of an interface ('#pragma \(pragma.text)' applies to interface operations)", at: location)
      return nil
    }
    return symbol.scopedName
  }

  private static func article(_ noun: String) -> String {
    ["a", "e", "i", "o", "u"].contains(noun.first.map(String.init) ?? "") ? "an" : "a"
  }

  /// Records a declared operation (oneway ones may not get retrying semantics).
  func recordOperation(_ name: ScopedName, isOneway: Bool) {
    if isOneway { onewayOperations.insert(name) } else { onewayOperations.remove(name) }
  }

  private func pragmaTarget(_ nameTokens: [Token], pragma: Token) -> Symbol? {
    var parts: [Token] = []
    var absolute = false
    for (i, t) in nameTokens.enumerated() {
      if t.isPunctuation("::") {
        if i == 0 { absolute = true }
      } else if t.kind == .identifier {
        parts.append(t)
      } else {
        error("'#pragma \(pragma.text)' expects a scoped name", at: t.location)
        return nil
      }
    }
    let reference = NameReference(isAbsolute: absolute, parts: parts)
    guard !parts.isEmpty, let symbol = lookup(reference) else {
      error("unknown name '\(reference.written)' in '#pragma \(pragma.text)'", at: nameTokens.first?.location ?? pragma.location)
      return nil
    }
    return symbol
  }

  func check(_ punctuation: String) -> Bool { current.isPunctuation(punctuation) }

  func checkKeyword(_ keyword: String) -> Bool { current.isKeyword(keyword) }

  @discardableResult
  func consume(_ punctuation: String) -> Bool {
    guard check(punctuation) else { return false }
    advance()
    return true
  }

  @discardableResult
  func consumeKeyword(_ keyword: String) -> Bool {
    guard checkKeyword(keyword) else { return false }
    advance()
    return true
  }

  func expect(_ punctuation: String) throws {
    if consume(punctuation) { return }
    throw syntaxError("expected '\(punctuation)', found \(current.quoted)")
  }

  func expectKeyword(_ keyword: String) throws {
    if consumeKeyword(keyword) { return }
    throw syntaxError("expected '\(keyword)', found \(current.quoted)")
  }

  /// The closing `>` of a template type; a `>>` token counts as two.
  func expectClosingAngle() throws {
    if consume(">") { return }
    guard check(">>") else { throw syntaxError("expected '>', found \(current.quoted)") }
    splitClosingAngle()
  }

  /// Replaces a `>>` with the second `>` (the first closes the current template).
  private func splitClosingAngle() {
    tokens[index].text = ">"
    tokens[index].location.column += 1
  }

  /// A `;` ends the declaration; when it is missing, say so after the previous token and go on.
  func expectSemicolon() {
    if consume(";") { return }
    let after = previous
    let location = after.map { SourceLocation(file: $0.location.file, line: $0.location.line, column: $0.endColumn) } ?? current.location
    error("expected ';' after \(after?.quoted ?? "declaration")", at: location)
  }

  // MARK: Diagnostics

  func error(_ message: String, at location: SourceLocation) {
    guard diagnostics.count < 500 else { return }
    diagnostics.append(IDLDiagnostic(.error, at: location, message))
  }

  func syntaxError(_ message: String, at location: SourceLocation? = nil) -> SyntaxError {
    error(message, at: location ?? current.location)
    return SyntaxError()
  }

  /// Runs `body`; after a syntax error skips to the end of the declaration (`;` or the `}` of
  /// the enclosing body), always making progress.
  func recovering(_ body: () throws -> Void) {
    let start = index
    do {
      try body()
    } catch {
      synchronize()
      if index == start && !atEnd && !check("}") { advance() }
    }
  }

  private func synchronize() {
    var depth = 0
    while !atEnd {
      if check("{") {
        depth += 1
      } else if check("}") {
        if depth == 0 { return }
        depth -= 1
        if depth == 0 {
          advance()
          consume(";")
          return
        }
      } else if check(";") && depth == 0 {
        advance()
        return
      }
      advance()
    }
  }

  // MARK: Identifiers and names

  /// An identifier being declared or referred to; keywords and case-insensitive keyword
  /// clashes are reported (and the name is used anyway, so parsing goes on).
  func parseIdentifier(_ what: String, declaring: Bool = true) throws -> Token {
    let token = current
    guard token.kind == .identifier else { throw syntaxError("expected \(what), found \(token.quoted)") }
    checkNotKeyword(token, declaring: declaring)
    advance()
    return token
  }

  /// Keywords are never identifiers; a declared name may not differ from one in case only
  /// (references are not checked: they must match a declaration, which was).
  func checkNotKeyword(_ token: Token, declaring: Bool) {
    guard !token.isEscaped, let keyword = Keywords.byLowercase[token.text.lowercased()] else { return }
    if keyword == token.text {
      error("'\(keyword)' is a keyword and cannot be used as an identifier (escape it as '_\(keyword)')", at: token.location)
    } else if declaring && !Keywords.lenientCaseClashes.contains(keyword) {
      error("'\(token.text)' collides with the keyword '\(keyword)'; identifiers that collide with keywords case-insensitively are not allowed",
            at: token.location)
    }
  }

  var startsScopedName: Bool { current.kind == .identifier || check("::") }

  func parseScopedName() throws -> NameReference {
    let absolute = consume("::")
    var parts = [try parseIdentifier("a name", declaring: false)]
    while check("::") {
      advance()
      // Keywords are fine after `::` (`CORBA::Object`).
      guard current.kind == .identifier else { throw syntaxError("expected a name after '::', found \(current.quoted)") }
      parts.append(current)
      advance()
    }
    return NameReference(isAbsolute: absolute, parts: parts)
  }

  /// The scope declared under `name` (modules, interfaces, structs…), if any.
  func scope(named name: ScopedName) -> Scope? {
    var s = global
    for component in name.components {
      guard let child = s.children[component.lowercased()] else { return nil }
      s = child
    }
    return s
  }

  func symbol(named name: ScopedName) -> Symbol? {
    guard !name.components.isEmpty else { return nil }
    return scope(named: name.parent)?.symbol(lowercased: name.name.lowercased())
  }

  /// Resolves a name per CORBA 3 §3.15.3: the first component in this scope, its inherited
  /// scopes, then enclosing scopes; the rest inside what it names. Reports case mismatches.
  func lookup(_ reference: NameReference, reportCase: Bool = true) -> Symbol? {
    guard let first = reference.parts.first else { return nil }
    var found: Symbol?
    if reference.isAbsolute {
      found = global.symbol(lowercased: first.text.lowercased())
    } else {
      var s: Scope? = scope
      while let candidate = s, found == nil {
        var visited = Set<ObjectIdentifier>()
        found = candidate.lookupHere(first.text.lowercased(), visited: &visited)
        s = candidate.parent
      }
    }
    guard var symbol = found else { return nil }
    if reportCase { checkCase(first, symbol) }
    for part in reference.parts.dropFirst() {
      guard let inner = scope(named: symbol.scopedName) else { return nil }
      var visited = Set<ObjectIdentifier>()
      guard let next = inner.lookupHere(part.text.lowercased(), visited: &visited) else { return nil }
      if reportCase { checkCase(part, next) }
      symbol = next
    }
    return symbol
  }

  private func checkCase(_ token: Token, _ symbol: Symbol) {
    if token.text != symbol.name {
      error("'\(token.text)' does not match the case of '\(symbol.name)' declared at \(symbol.location)", at: token.location)
    }
  }

  // MARK: Declarations

  /// Enters `name` into the current scope and returns its declaration info. Reopened modules,
  /// repeated forward declarations and the full declaration after a forward one are fine;
  /// anything else with the same name (in any case) is an error.
  @discardableResult
  func declare(_ token: Token, _ kind: SymbolKind, in target: Scope? = nil) -> DeclarationInfo {
    let into = target ?? scope
    let scopedName = into.name.appending(token.text)
    let info = DeclarationInfo(name: token.text, scopedName: scopedName, repositoryID: repositoryID(for: scopedName),
                               location: token.location, isFromMainFile: token.isFromMainFile)
    nextSerial += 1
    serialByLocation[token.location] = nextSerial
    var symbol = Symbol(name: token.text, scopedName: scopedName, kind: kind, location: token.location, serial: nextSerial)
    // A scope's own name is introduced into it (CORBA 3.0 §3.15.3): members may not reuse it.
    if let enclosing = into.name.components.last, enclosing.lowercased() == token.text.lowercased(),
       let owner = self.symbol(named: into.name) {
      error("'\(token.text)' clashes with the name of the enclosing scope '\(enclosing)' declared at \(owner.location)", at: token.location)
      return info
    }
    guard let existing = into.symbol(lowercased: token.text.lowercased()) else {
      into.set(symbol)
      return info
    }
    if existing.name != token.text {
      error("'\(token.text)' collides with '\(existing.name)' declared at \(existing.location); names in one scope must differ in more than case",
            at: token.location)
      return info
    }
    switch (existing.kind, kind) {
    case (.module, .module):
      symbol.location = existing.location
      into.set(symbol)  // pragmas from here on apply to this opening
      return info
    case (.interface(false, _), .interface), (.valueType(false, _), .valueType),
         (.structure(false), .structure), (.union(false), .union):
      into.set(symbol)
      return info
    case (.interface(true, _), .interface(false, _)), (.valueType(true, _), .valueType(false, _)),
         (.structure(true), .structure(false)), (.union(true), .union(false)):
      return info
    default:
      error("'\(token.text)' is already declared at \(existing.location)", at: token.location)
      return info
    }
  }

  /// Updates a symbol's kind (a constant's value once known, a type's completeness).
  func update(_ name: ScopedName, kind: SymbolKind) {
    guard let s = scope(named: name.parent), var symbol = s.symbol(lowercased: name.name.lowercased()) else { return }
    symbol.kind = kind
    s.set(symbol)
  }

  /// The default repository id of a declaration made here, from the prefix in effect.
  func repositoryID(for name: ScopedName) -> String {
    let base = prefixState.base.components
    let relative = name.components.starts(with: base) ? Array(name.components.dropFirst(base.count)) : name.components
    let path = (prefixState.prefix.isEmpty ? [] : [prefixState.prefix]) + relative
    return "IDL:" + path.joined(separator: "/") + ":1.0"
  }

  /// Runs `body` inside `newScope` (the prefix pragma state is restored afterwards).
  func withScope<T>(_ newScope: Scope, _ body: () throws -> T) rethrows -> T {
    let savedScope = scope
    let savedPrefix = prefixState
    let savedDepth = prefixStack.count
    scope = newScope
    defer {
      scope = savedScope
      prefixState = savedPrefix
      if prefixStack.count > savedDepth { prefixStack.removeLast(prefixStack.count - savedDepth) }
    }
    return try body()
  }

  func recordTypeID(_ symbol: Symbol, _ id: String) { idOverrides[symbol.scopedName] = (id, symbol.serial) }

  func recordTypePrefix(_ name: ScopedName, _ prefix: String) { typePrefixes[name] = prefix }
}
