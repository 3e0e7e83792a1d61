/// The C-like preprocessor of IDL: includes, object-like macros, conditionals and the pragmas
/// the parser needs. Produces one token stream for the main file and everything it includes,
/// with `fileStart`/`fileEnd` markers and `pragma` tokens in source order.
struct Preprocessor {
  struct Macro {
    var body: [Token]
    var location: SourceLocation
  }

  private struct Conditional {
    var location: SourceLocation
    /// The enclosing region is active.
    var parentActive: Bool
    /// Some branch so far was taken.
    var taken: Bool
    /// The current branch is active.
    var active: Bool
    var sawElse = false
  }

  let includePaths: [String]
  /// RPCL: lines starting with `%` are passed over (see ``Lexer/skipsPercentLines``).
  let skipsPercentLines: Bool
  private(set) var macros: [String: Macro] = [:]
  private(set) var tokens: [Token] = []
  private(set) var diagnostics: [IDLDiagnostic] = []
  /// RPCL: the `%#define NAME VALUE` lines of the active regions of every file read.
  private(set) var percentDefines: [Lexer.PercentDefine] = []
  /// Canonical paths of files being read (an include of one of them is recursive).
  private var includeStack: [String] = []
  /// Canonical paths of files read already (read once only).
  private var filesRead: Set<String> = []

  init(includePaths: [String], defines: [String: String], skipsPercentLines: Bool = false) {
    self.includePaths = includePaths
    self.skipsPercentLines = skipsPercentLines
    for (name, value) in defines.sorted(by: { $0.key < $1.key }) {
      var lexer = Lexer(bytes: Array(value.utf8), file: "<command line>", isMainFile: true)
      var body: [Token] = []
      while let token = lexer.nextOnLine() { body.append(token) }
      macros[name] = Macro(body: body, location: SourceLocation(file: "<command line>", line: 1, column: 1))
    }
  }

  /// Preprocesses the main file (its text is given; `path` names it and locates quoted includes).
  /// `preincludes` are read first, as if the main file began with `#include "…"` of each (C's
  /// `-include`): their declarations are known but not the main file's.
  mutating func run(mainSource bytes: [UInt8], path: String, preincludes: [String] = []) {
    let canonical = SourceFiles.isReadableFile(path) ? SourceFiles.canonicalPath(path) : path
    for file in preincludes {
      guard let included = SourceFiles.read(file) else {
        error("cannot read file '\(file)' (given to be read first)", at: SourceLocation(file: path, line: 1, column: 1))
        continue
      }
      let canonicalInclude = SourceFiles.canonicalPath(file)
      if filesRead.contains(canonicalInclude) { continue }
      process(bytes: included, path: file, canonicalPath: canonicalInclude, isMain: false)
    }
    process(bytes: bytes, path: path, canonicalPath: canonical, isMain: true)
    tokens.append(Token(.endOfInput, "", at: tokens.last?.location ?? SourceLocation(file: path, line: 1, column: 1)))
  }

  private mutating func error(_ message: String, at location: SourceLocation) {
    diagnostics.append(IDLDiagnostic(.error, at: location, message))
  }

  private mutating func warning(_ message: String, at location: SourceLocation) {
    diagnostics.append(IDLDiagnostic(.warning, at: location, message))
  }

  private mutating func process(bytes: [UInt8], path: String, canonicalPath: String, isMain: Bool) {
    includeStack.append(canonicalPath)
    var lexer = Lexer(bytes: bytes, file: path, isMainFile: isMain, skipsPercentLines: skipsPercentLines)
    var conditionals: [Conditional] = []
    tokens.append(Token(.fileStart, path, at: SourceLocation(file: path, line: 1, column: 1)))
    while true {
      let active = conditionals.last?.active ?? true
      if !active && !lexer.skipToNextDirective() { break }
      let token = lexer.next()
      if token.kind == .endOfInput { break }
      if token.isPunctuation("#") && token.isFirstOnLine {
        directive(hash: token, lexer: &lexer, conditionals: &conditionals, path: path)
        lexer.skipRestOfLine()
        continue
      }
      Self.expand(token, macros: macros, into: &tokens, hiding: [])
    }
    for open in conditionals {
      error("unterminated conditional directive: no '#endif' for this '#if'", at: open.location)
    }
    diagnostics.append(contentsOf: lexer.diagnostics)
    percentDefines.append(contentsOf: lexer.percentDefines)
    tokens.append(Token(.fileEnd, path, at: lexer.location))
    includeStack.removeLast()
    filesRead.insert(canonicalPath)
  }

  /// Appends `token`, or the expansion of the macro it names (tokens take the use's location).
  private static func expand(_ token: Token, macros: [String: Macro], into output: inout [Token], hiding: Set<String>) {
    guard token.kind == .identifier, let macro = macros[token.rawText], !hiding.contains(token.rawText) else {
      output.append(token)
      return
    }
    for var replacement in macro.body {
      replacement.location = token.location
      replacement.endColumn = token.endColumn
      replacement.isFromMainFile = token.isFromMainFile
      replacement.isFirstOnLine = false
      expand(replacement, macros: macros, into: &output, hiding: hiding.union([token.rawText]))
    }
  }

  // MARK: Directives

  private mutating func directive(hash: Token, lexer: inout Lexer, conditionals: inout [Conditional], path: String) {
    guard let name = lexer.nextOnLine() else { return }  // the null directive
    let active = conditionals.last?.active ?? true
    switch name.text {
    case "ifdef", "ifndef", "if":
      guard active else {
        conditionals.append(Conditional(location: hash.location, parentActive: false, taken: true, active: false))
        return
      }
      let value: Bool
      if name.text == "if" {
        value = evaluateCondition(lexer: &lexer, at: name)
      } else if let macro = lexer.nextOnLine(), macro.kind == .identifier {
        value = (macros[macro.rawText] != nil) == (name.text == "ifdef")
      } else {
        error("'#\(name.text)' needs a macro name", at: name.location)
        value = false
      }
      conditionals.append(Conditional(location: hash.location, parentActive: true, taken: value, active: value))
    case "elif":
      guard var top = conditionals.popLast() else { return error("'#elif' without '#if'", at: hash.location) }
      if top.sawElse { error("'#elif' after '#else'", at: hash.location) }
      if top.parentActive && !top.taken {
        top.active = evaluateCondition(lexer: &lexer, at: name)
        top.taken = top.active
      } else {
        top.active = false
      }
      conditionals.append(top)
    case "else":
      guard var top = conditionals.popLast() else { return error("'#else' without '#if'", at: hash.location) }
      if top.sawElse { error("'#else' after '#else'", at: hash.location) }
      top.sawElse = true
      top.active = top.parentActive && !top.taken
      top.taken = true
      conditionals.append(top)
    case "endif":
      if conditionals.popLast() == nil { error("'#endif' without '#if'", at: hash.location) }
    case _ where !active:
      return
    case "include":
      include(lexer: &lexer, directive: name, includingFile: path)
    case "define":
      define(lexer: &lexer, directive: name)
    case "undef":
      if let macro = lexer.nextOnLine(), macro.kind == .identifier {
        macros[macro.rawText] = nil
      } else {
        error("'#undef' needs a macro name", at: name.location)
      }
    case "pragma":
      pragma(lexer: &lexer, directive: name)
    case "error":
      let text = lexer.restOfLineText()
      error("#error \(text)", at: hash.location)
    case "warning", "line", "ident", "sccs":
      return
    default:
      error("unknown preprocessor directive '#\(name.text)'", at: name.location)
    }
  }

  private mutating func include(lexer: inout Lexer, directive: Token, includingFile: String) {
    guard let header = lexer.headerName() else {
      return error("'#include' expects \"file\" or <file>", at: directive.location)
    }
    var candidates: [String] = []
    if !header.angled { candidates.append(SourceFiles.join(SourceFiles.directory(of: includingFile), header.name)) }
    candidates += includePaths.map { SourceFiles.join($0, header.name) }
    if header.name.hasPrefix("/") { candidates = [header.name] }
    guard let found = candidates.first(where: SourceFiles.isReadableFile) else {
      return error("cannot find include file '\(header.name)'", at: header.location)
    }
    let canonical = SourceFiles.canonicalPath(found)
    if includeStack.contains(canonical) {
      return error("recursive #include of '\(header.name)'", at: header.location)
    }
    if filesRead.contains(canonical) { return }
    guard includeStack.count < 200 else { return error("#include nested too deeply", at: header.location) }
    guard let bytes = SourceFiles.read(found) else {
      return error("cannot read include file '\(header.name)'", at: header.location)
    }
    process(bytes: bytes, path: found, canonicalPath: canonical, isMain: false)
  }

  private mutating func define(lexer: inout Lexer, directive: Token) {
    guard let name = lexer.nextOnLine(), name.kind == .identifier else {
      return error("'#define' needs a macro name", at: directive.location)
    }
    var body: [Token] = []
    while let token = lexer.nextOnLine() { body.append(token) }
    if let first = body.first, first.isPunctuation("("), !first.hasSpaceBefore {
      return error("function-like macro '\(name.rawText)' is not supported (only object-like macros are)", at: name.location)
    }
    macros[name.rawText] = Macro(body: body, location: name.location)
  }

  private mutating func pragma(lexer: inout Lexer, directive: Token) {
    guard let kind = lexer.nextOnLine(), kind.kind == .identifier else { return }
    var arguments: [Token] = []
    switch kind.text {
    case "prefix", "ID", "version":
      while let token = lexer.nextOnLine() { arguments.append(token) }
    case "courier":
      return courierPragma(lexer: &lexer, directive: directive, courier: kind)
    default:
      return  // other compilers' pragmas are not errors
    }
    var token = Token(.pragma, kind.text, at: directive.location)
    token.isFromMainFile = kind.isFromMainFile
    switch kind.text {
    case "prefix":
      guard arguments.count == 1, arguments[0].kind == .stringLiteral else {
        return error("'#pragma prefix' expects a string", at: kind.location)
      }
      token.pragma = .prefix(arguments[0].stringValue)
    case "ID":
      guard let id = arguments.last, id.kind == .stringLiteral, arguments.count >= 2 else {
        return error("'#pragma ID' expects a name and a string", at: kind.location)
      }
      token.pragma = .id(name: Array(arguments.dropLast()), id: id.stringValue)
    default:
      guard let version = arguments.last, arguments.count >= 2, version.kind == .floatingLiteral,
            Self.isVersion(version.text) else {
        return error("'#pragma version' expects a name and a version <major>.<minor>", at: kind.location)
      }
      token.pragma = .version(name: Array(arguments.dropLast()), version: version.text)
    }
    tokens.append(token)
  }

  /// The semantics words `#pragma courier semantics` accepts, for messages.
  static let semanticsWords = "maybe, at-least-once, at-most-once or exactly-once"

  /// `#pragma courier semantics NAME WORD` and `#pragma courier idempotent NAME`; other
  /// `#pragma courier` forms are warned about and ignored.
  private mutating func courierPragma(lexer: inout Lexer, directive: Token, courier: Token) {
    guard let what = lexer.nextOnLine() else {
      return warning("'#pragma courier' without a pragma name is ignored (known: semantics, idempotent)", at: courier.location)
    }
    var arguments: [Token] = []
    while let token = lexer.nextOnLine() { arguments.append(token) }
    guard what.kind == .identifier, what.text == "semantics" || what.text == "idempotent" else {
      return warning("unknown pragma '#pragma courier \(what.text)' is ignored (known: semantics, idempotent)", at: what.location)
    }
    let pragmaName = "courier \(what.text)"
    // The scoped name: [::] identifier { :: identifier }.
    var name: [Token] = []
    var i = 0
    if i < arguments.count, arguments[i].isPunctuation("::") { name.append(arguments[i]); i += 1 }
    if i < arguments.count, arguments[i].kind == .identifier {
      name.append(arguments[i])
      i += 1
      while i + 1 < arguments.count, arguments[i].isPunctuation("::"), arguments[i + 1].kind == .identifier {
        name += [arguments[i], arguments[i + 1]]
        i += 2
      }
    }
    guard name.last?.kind == .identifier else {
      let expected = what.text == "semantics" ? "an operation name and \(Self.semanticsWords)" : "an operation name"
      return error("'#pragma \(pragmaName)' expects \(expected)", at: arguments.first?.location ?? what.location)
    }
    var token = Token(.pragma, pragmaName, at: directive.location)
    token.isFromMainFile = courier.isFromMainFile
    let rest = arguments[i...]
    if what.text == "idempotent" {
      if let extra = rest.first {
        return error("'#pragma \(pragmaName)' expects only an operation name, found \(extra.quoted)", at: extra.location)
      }
      token.pragma = .idempotent(name: name)
    } else {
      guard let first = rest.first else {
        return error("'#pragma \(pragmaName)' expects \(Self.semanticsWords) after the operation name", at: name.last!.location)
      }
      // `at-most-once` is five tokens written together; spaces end the word.
      var word = first.text
      var rest = rest.dropFirst()
      while let next = rest.first, !next.hasSpaceBefore {
        word += next.text
        rest = rest.dropFirst()
      }
      if let extra = rest.first {
        return error("unexpected \(extra.quoted) after the semantics in '#pragma \(pragmaName)'", at: extra.location)
      }
      guard let semantics = OperationSemantics(idlSpelling: word) else {
        return error("unknown invocation semantics '\(word)' in '#pragma \(pragmaName)' (expected \(Self.semanticsWords))",
                     at: first.location)
      }
      token.pragma = .semantics(name: name, semantics: semantics, at: first.location)
    }
    tokens.append(token)
  }

  private static func isVersion(_ text: String) -> Bool {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
  }

  // MARK: #if expressions

  private mutating func evaluateCondition(lexer: inout Lexer, at directive: Token) -> Bool {
    var raw: [Token] = []
    while let token = lexer.nextOnLine() { raw.append(token) }
    // `defined X` and `defined(X)` first, then macros.
    var replaced: [Token] = []
    var i = 0
    while i < raw.count {
      let token = raw[i]
      if token.isKeyword("defined") {
        var j = i + 1
        let parenthesized = j < raw.count && raw[j].isPunctuation("(")
        if parenthesized { j += 1 }
        guard j < raw.count, raw[j].kind == .identifier else {
          error("'defined' needs a macro name", at: token.location)
          return false
        }
        let isDefined = macros[raw[j].rawText] != nil
        var value = Token(.integerLiteral, isDefined ? "1" : "0", at: token.location)
        value.integerValue = isDefined ? 1 : 0
        j += 1
        if parenthesized {
          guard j < raw.count, raw[j].isPunctuation(")") else {
            error("expected ')' after 'defined(\(raw[j - 1].text)'", at: token.location)
            return false
          }
          j += 1
        }
        replaced.append(value)
        i = j
      } else {
        Self.expand(token, macros: macros, into: &replaced, hiding: [])
        i += 1
      }
    }
    var evaluator = ConditionEvaluator(tokens: replaced)
    switch evaluator.evaluate() {
    case .success(let value): return value != 0
    case .failure(let failure):
      error("invalid '#\(directive.text)' expression: \(failure.message)", at: failure.location ?? directive.location)
      return false
    }
  }
}

/// Evaluates the integer expression of `#if`/`#elif` (identifiers that are not macros are 0).
struct ConditionEvaluator {
  struct Failure: Error {
    var message: String
    var location: SourceLocation?
  }

  let tokens: [Token]
  var index = 0

  init(tokens: [Token]) { self.tokens = tokens }

  mutating func evaluate() -> Result<Int64, Failure> {
    do {
      let value = try expression(minimumPrecedence: 0)
      if index < tokens.count { throw Failure(message: "unexpected \(tokens[index].quoted)", location: tokens[index].location) }
      return .success(value)
    } catch let failure as Failure {
      return .failure(failure)
    } catch {
      return .failure(Failure(message: "\(error)", location: nil))
    }
  }

  private static let precedence: [String: Int] = [
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
    "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
  ]

  private mutating func expression(minimumPrecedence: Int) throws -> Int64 {
    var left = try unary()
    while index < tokens.count, tokens[index].kind == .punctuation,
          let precedence = Self.precedence[tokens[index].text], precedence > minimumPrecedence {
      let op = tokens[index]
      index += 1
      let right = try expression(minimumPrecedence: precedence)
      switch op.text {
      case "||": left = (left != 0 || right != 0) ? 1 : 0
      case "&&": left = (left != 0 && right != 0) ? 1 : 0
      case "|": left |= right
      case "^": left ^= right
      case "&": left &= right
      case "==": left = left == right ? 1 : 0
      case "!=": left = left != right ? 1 : 0
      case "<": left = left < right ? 1 : 0
      case ">": left = left > right ? 1 : 0
      case "<=": left = left <= right ? 1 : 0
      case ">=": left = left >= right ? 1 : 0
      case "<<": left = right >= 0 && right < 64 ? left << right : 0
      case ">>": left = right >= 0 && right < 64 ? left >> right : 0
      case "+": left = left &+ right
      case "-": left = left &- right
      case "*": left = left &* right
      default:
        if right == 0 { throw Failure(message: "division by zero", location: op.location) }
        if left == .min && right == -1 { left = .min } else { left = op.text == "/" ? left / right : left % right }
      }
    }
    return left
  }

  private mutating func unary() throws -> Int64 {
    guard index < tokens.count else { throw Failure(message: "expression expected", location: tokens.last?.location) }
    let token = tokens[index]
    index += 1
    switch token.kind {
    case .integerLiteral:
      guard let value = token.integerValue, let small = Int64(exactly: value) else {
        throw Failure(message: "integer too large", location: token.location)
      }
      return small
    case .charLiteral: return Int64(token.scalarValue)
    case .identifier: return 0
    case .punctuation:
      switch token.text {
      case "!": return try unary() == 0 ? 1 : 0
      case "~": return ~(try unary())
      case "-": return 0 &- (try unary())
      case "+": return try unary()
      case "(":
        let value = try expression(minimumPrecedence: 0)
        guard index < tokens.count, tokens[index].isPunctuation(")") else {
          throw Failure(message: "expected ')'", location: index < tokens.count ? tokens[index].location : token.location)
        }
        index += 1
        return value
      default: break
      }
    default: break
    }
    throw Failure(message: "unexpected \(token.quoted)", location: token.location)
  }
}
