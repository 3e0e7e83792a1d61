/// Turns the bytes of one IDL file into tokens, on demand: the preprocessor drives it, asking
/// for whole tokens, for the tokens of one directive line, or to skip lines a conditional
/// leaves out. Backslash-newline joins lines everywhere (translation phase 2 of C).
struct Lexer {
  let bytes: [UInt8]
  let file: String
  let isMainFile: Bool
  /// RPCL: a line whose first character is `%` is passed over whole (rpcgen copies it into
  /// its C output; it means nothing to the interface).
  let skipsPercentLines: Bool
  private(set) var position = 0
  private(set) var line = 1
  private(set) var column = 1
  /// A newline was crossed since the last token.
  private var sawNewline = true
  private(set) var diagnostics: [IDLDiagnostic] = []
  /// The `%#define NAME VALUE` lines passed over (RPCL), in order.
  private(set) var percentDefines: [PercentDefine] = []

  /// A C macro an RPCL file defines in a `%` line for rpcgen's C output (`%#define MAXLEN 1024`),
  /// whose name RPCL declarations may use as a size (rpcgen passes the name on to the C compiler).
  struct PercentDefine: Sendable {
    var name: String
    /// The replacement text, as written.
    var value: String
    var location: SourceLocation
  }

  /// The macro a `%` line defines, if it is `%#define NAME VALUE` (not a function-like macro).
  static func percentDefine(_ line: [UInt8], at location: SourceLocation) -> PercentDefine? {
    var i = 1  // after '%'
    func skipBlanks() { while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 } }
    skipBlanks()
    guard i < line.count, line[i] == UInt8(ascii: "#") else { return nil }
    i += 1
    skipBlanks()
    let keyword = Array("define".utf8)
    guard line.count >= i + keyword.count, Array(line[i..<(i + keyword.count)]) == keyword else { return nil }
    i += keyword.count
    let beforeName = i
    skipBlanks()
    guard i > beforeName, i < line.count, isIdentifierStart(line[i]) else { return nil }
    let nameStart = i
    while i < line.count, isIdentifierPart(line[i]) { i += 1 }
    let name = String(decoding: line[nameStart..<i], as: UTF8.self)
    if i < line.count, line[i] == UInt8(ascii: "(") { return nil }
    let value = String(decoding: line[i...], as: UTF8.self)
    return PercentDefine(name: name, value: value, location: location)
  }

  init(bytes: [UInt8], file: String, isMainFile: Bool, skipsPercentLines: Bool = false) {
    self.bytes = bytes
    self.file = file
    self.isMainFile = isMainFile
    self.skipsPercentLines = skipsPercentLines
    skipLineContinuations()
  }

  // MARK: Characters

  private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  /// The byte `offset` characters ahead, looking through line continuations.
  private func peek(_ offset: Int) -> UInt8? {
    var p = position
    var remaining = offset
    while p < bytes.count {
      if remaining == 0 { return bytes[p] }
      p += 1
      p = Self.afterContinuations(bytes, p)
      remaining -= 1
    }
    return nil
  }

  private static func afterContinuations(_ bytes: [UInt8], _ start: Int) -> Int {
    var p = start
    while p < bytes.count, bytes[p] == UInt8(ascii: "\\") {
      if p + 1 < bytes.count, bytes[p + 1] == UInt8(ascii: "\n") {
        p += 2
      } else if p + 2 < bytes.count, bytes[p + 1] == UInt8(ascii: "\r"), bytes[p + 2] == UInt8(ascii: "\n") {
        p += 3
      } else {
        break
      }
    }
    return p
  }

  private mutating func skipLineContinuations() {
    while position < bytes.count, bytes[position] == UInt8(ascii: "\\") {
      let after = Self.afterContinuations(bytes, position)
      if after == position { return }
      position = after
      line += 1
      column = 1
    }
  }

  private mutating func advance() {
    guard position < bytes.count else { return }
    if bytes[position] == UInt8(ascii: "\n") {
      line += 1
      column = 1
      sawNewline = true
    } else {
      column += 1
    }
    position += 1
    skipLineContinuations()
  }

  var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

  private mutating func error(_ message: String, at location: SourceLocation) {
    diagnostics.append(IDLDiagnostic(.error, at: location, message))
  }

  // MARK: Whitespace and comments

  /// Skips blanks and comments; stops before a newline when `stopAtNewline`.
  /// Returns whether anything was skipped.
  @discardableResult
  private mutating func skipTrivia(stopAtNewline: Bool) -> Bool {
    var skipped = false
    while let c = current {
      switch c {
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), 0x0B, 0x0C:
        advance()
      case UInt8(ascii: "\n"):
        if stopAtNewline { return skipped }
        advance()
      case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
        while let c = current, c != UInt8(ascii: "\n") { advance() }
      case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
        skipBlockComment()
      case UInt8(ascii: "%") where skipsPercentLines && column == 1:
        let start = location
        var text: [UInt8] = []
        while let c = current, c != UInt8(ascii: "\n") {
          text.append(c)
          advance()
        }
        if let define = Self.percentDefine(text, at: start) { percentDefines.append(define) }
      default:
        return skipped
      }
      skipped = true
    }
    return skipped
  }

  private mutating func skipBlockComment() {
    let start = location
    advance()
    advance()
    while let c = current {
      if c == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
        advance()
        advance()
        return
      }
      advance()
    }
    error("unterminated comment", at: start)
  }

  // MARK: Tokens

  /// The next token, crossing lines.
  mutating func next() -> Token {
    while true {
      let spaced = skipTrivia(stopAtNewline: false)
      let token = scan(spaced: spaced)
      if !token.isPunctuation("") { return token }
    }
  }

  /// The next token on the current line, or nil at its end.
  mutating func nextOnLine() -> Token? {
    while true {
      let spaced = skipTrivia(stopAtNewline: true)
      if current == nil || current == UInt8(ascii: "\n") { return nil }
      let token = scan(spaced: spaced)
      if !token.isPunctuation("") { return token }
    }
  }

  /// Skips what is left of the current line (block comments that start there run to their end).
  mutating func skipRestOfLine() {
    while let c = current, c != UInt8(ascii: "\n") {
      if c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
        skipBlockComment()
      } else {
        advance()
      }
    }
  }

  /// The raw text left on the current line (for `#error`).
  mutating func restOfLineText() -> String {
    skipTrivia(stopAtNewline: true)
    var text: [UInt8] = []
    while let c = current, c != UInt8(ascii: "\n") {
      text.append(c)
      advance()
    }
    return String(decoding: text, as: UTF8.self)
  }

  /// `<name>` or `"name"` after `#include`: the name, whether angled, and where it starts.
  mutating func headerName() -> (name: String, angled: Bool, location: SourceLocation)? {
    skipTrivia(stopAtNewline: true)
    let start = location
    guard let open = current, open == UInt8(ascii: "<") || open == UInt8(ascii: "\"") else { return nil }
    let close = open == UInt8(ascii: "<") ? UInt8(ascii: ">") : UInt8(ascii: "\"")
    advance()
    var name: [UInt8] = []
    while let c = current, c != close, c != UInt8(ascii: "\n") {
      name.append(c)
      advance()
    }
    guard current == close else { return nil }
    advance()
    return (String(decoding: name, as: UTF8.self), open == UInt8(ascii: "<"), start)
  }

  /// Skips lines left out by a conditional until a line starting with `#` (returns true,
  /// positioned at the `#`) or the end of the file (returns false).
  mutating func skipToNextDirective() -> Bool {
    skipRestOfLine()
    var inComment = false
    while current != nil {
      advance()  // the newline
      var atLineStart = true
      while let c = current, c != UInt8(ascii: "\n") {
        if inComment {
          if c == UInt8(ascii: "*"), peek(1) == UInt8(ascii: "/") {
            advance()
            inComment = false
          }
          advance()
          continue
        }
        switch c {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), 0x0B, 0x0C:
          advance()
        case UInt8(ascii: "#") where atLineStart:
          sawNewline = true
          return true
        case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "*"):
          inComment = true
          advance()
          advance()
        case UInt8(ascii: "/") where peek(1) == UInt8(ascii: "/"):
          while let c = current, c != UInt8(ascii: "\n") { advance() }
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
          advance()
          while let d = current, d != c, d != UInt8(ascii: "\n") {
            if d == UInt8(ascii: "\\") { advance() }
            if current != UInt8(ascii: "\n") { advance() }
          }
          if current == c { advance() }
          atLineStart = false
        default:
          atLineStart = false
          advance()
        }
      }
    }
    return false
  }

  private mutating func scan(spaced: Bool) -> Token {
    var token = scanToken()
    token.endColumn = line == token.location.line ? column : token.location.column + 1
    token.isFirstOnLine = sawNewline
    token.hasSpaceBefore = spaced
    token.isFromMainFile = isMainFile
    sawNewline = false
    return token
  }

  private static func isIdentifierStart(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
      || c == UInt8(ascii: "_")
  }

  private static func isDigit(_ c: UInt8?) -> Bool {
    guard let c else { return false }
    return c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
  }

  private static func isIdentifierPart(_ c: UInt8) -> Bool { isIdentifierStart(c) || isDigit(c) }

  private mutating func scanToken() -> Token {
    let start = location
    guard let c = current else { return Token(.endOfInput, "", at: start) }
    if c == UInt8(ascii: "L"), peek(1) == UInt8(ascii: "'") || peek(1) == UInt8(ascii: "\"") {
      advance()
      return current == UInt8(ascii: "'") ? scanCharLiteral(start: start, wide: true) : scanStringLiteral(start: start, wide: true)
    }
    if Self.isIdentifierStart(c) { return scanIdentifier(start: start) }
    if Self.isDigit(c) || (c == UInt8(ascii: ".") && Self.isDigit(peek(1))) { return scanNumber(start: start) }
    if c == UInt8(ascii: "'") { return scanCharLiteral(start: start, wide: false) }
    if c == UInt8(ascii: "\"") { return scanStringLiteral(start: start, wide: false) }
    return scanPunctuation(start: start)
  }

  private mutating func scanIdentifier(start: SourceLocation) -> Token {
    var text: [UInt8] = []
    while let c = current, Self.isIdentifierPart(c) {
      text.append(c)
      advance()
    }
    var token = Token(.identifier, String(decoding: text, as: UTF8.self), at: start)
    if text.first == UInt8(ascii: "_") {
      token.isEscaped = true
      token.text.removeFirst()
      if token.text.isEmpty { error("'_' alone is not an identifier", at: start) }
    }
    return token
  }

  private mutating func scanNumber(start: SourceLocation) -> Token {
    var text: [UInt8] = []
    func take(_ lexer: inout Lexer) {
      text.append(lexer.current!)
      lexer.advance()
    }
    if current == UInt8(ascii: "0"), peek(1) == UInt8(ascii: "x") || peek(1) == UInt8(ascii: "X") {
      take(&self)
      take(&self)
      var value: Int128 = 0
      var overflow = false
      var digits = 0
      while let c = current, let d = Self.hexValue(c) {
        take(&self)
        digits += 1
        value = value * 16 + Int128(d)
        if value > Int128(UInt64.max) { overflow = true; value = 0 }
      }
      var token = Token(.integerLiteral, String(decoding: text, as: UTF8.self), at: start)
      if digits == 0 { error("hexadecimal literal without digits", at: start) }
      if overflow { error("integer literal \(token.text) is too large", at: start) }
      token.integerValue = overflow || digits == 0 ? nil : value
      return token
    }
    while Self.isDigit(current) { take(&self) }
    var isFloating = false
    if current == UInt8(ascii: ".") {
      isFloating = true
      take(&self)
      while Self.isDigit(current) { take(&self) }
    }
    if current == UInt8(ascii: "d") || current == UInt8(ascii: "D") {
      advance()
      var token = Token(.fixedLiteral, String(decoding: text, as: UTF8.self), at: start)
      token.stringValue = token.text
      return token
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      let sign = peek(1)
      if Self.isDigit(sign) || ((sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-")) && Self.isDigit(peek(2))) {
        isFloating = true
        take(&self)
        take(&self)
        while Self.isDigit(current) { take(&self) }
      }
    }
    let string = String(decoding: text, as: UTF8.self)
    if isFloating {
      var token = Token(.floatingLiteral, string, at: start)
      token.stringValue = string
      return token
    }
    var token = Token(.integerLiteral, string, at: start)
    let isOctal = text.count > 1 && text[0] == UInt8(ascii: "0")
    var value: Int128 = 0
    for c in text {
      let digit = Int128(c - UInt8(ascii: "0"))
      if isOctal && digit > 7 {
        error("invalid digit '\(Character(Unicode.Scalar(c)))' in octal literal \(string)", at: start)
        return token
      }
      value = value * (isOctal ? 8 : 10) + digit
      if value > Int128(UInt64.max) {
        error("integer literal \(string) is too large", at: start)
        return token
      }
    }
    token.integerValue = value
    return token
  }

  private static func hexValue(_ c: UInt8) -> UInt32? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
    default: return nil
    }
  }

  /// One character of a char or string literal (after the backslash for escapes), as a code point.
  private mutating func scanLiteralCharacter(wide: Bool) -> UInt32? {
    guard let c = current, c != UInt8(ascii: "\n") else { return nil }
    if c != UInt8(ascii: "\\") {
      if c < 0x80 || !wide {
        advance()
        return UInt32(c)
      }
      // A UTF-8 sequence in a wide literal.
      var scalarBytes: [UInt8] = []
      repeat {
        scalarBytes.append(current!)
        advance()
      } while scalarBytes.count < 4 && (current.map { $0 & 0xC0 == 0x80 } ?? false)
      return String(decoding: scalarBytes, as: UTF8.self).unicodeScalars.first?.value ?? 0xFFFD
    }
    let escapeStart = location
    advance()
    guard let e = current, e != UInt8(ascii: "\n") else { return nil }
    advance()
    switch e {
    case UInt8(ascii: "n"): return 0x0A
    case UInt8(ascii: "t"): return 0x09
    case UInt8(ascii: "v"): return 0x0B
    case UInt8(ascii: "b"): return 0x08
    case UInt8(ascii: "r"): return 0x0D
    case UInt8(ascii: "f"): return 0x0C
    case UInt8(ascii: "a"): return 0x07
    case UInt8(ascii: "\\"), UInt8(ascii: "?"), UInt8(ascii: "'"), UInt8(ascii: "\""): return UInt32(e)
    case UInt8(ascii: "0")...UInt8(ascii: "7"):
      var value = UInt32(e - UInt8(ascii: "0"))
      var count = 1
      while count < 3, let d = current, d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") {
        value = value * 8 + UInt32(d - UInt8(ascii: "0"))
        advance()
        count += 1
      }
      return value
    case UInt8(ascii: "x"), UInt8(ascii: "u"):
      let maxDigits = e == UInt8(ascii: "x") ? 2 : 4
      if e == UInt8(ascii: "u") && !wide { error("'\\u' escapes are only allowed in wide literals", at: escapeStart) }
      var value: UInt32 = 0
      var count = 0
      while count < maxDigits, let d = current, let v = Self.hexValue(d) {
        value = value * 16 + v
        advance()
        count += 1
      }
      if count == 0 { error("escape '\\\(Character(Unicode.Scalar(e)))' without hexadecimal digits", at: escapeStart) }
      return value
    default:
      error("unknown escape sequence '\\\(Character(Unicode.Scalar(e)))'", at: escapeStart)
      return UInt32(e)
    }
  }

  private mutating func scanCharLiteral(start: SourceLocation, wide: Bool) -> Token {
    advance()  // '
    var token = Token(wide ? .wideCharLiteral : .charLiteral, "", at: start)
    if current == UInt8(ascii: "'") {
      error("empty character literal", at: start)
      advance()
      return token
    }
    guard let value = scanLiteralCharacter(wide: wide), current == UInt8(ascii: "'") else {
      error("unterminated character literal", at: start)
      while let c = current, c != UInt8(ascii: "\n"), c != UInt8(ascii: "'") { advance() }
      if current == UInt8(ascii: "'") { advance() }
      return token
    }
    advance()
    token.scalarValue = value
    token.text = Unicode.Scalar(value).map { String(Character($0)) } ?? "?"
    return token
  }

  private mutating func scanStringLiteral(start: SourceLocation, wide: Bool) -> Token {
    advance()  // "
    var scalars = String.UnicodeScalarView()
    while current != UInt8(ascii: "\"") {
      guard let value = scanLiteralCharacter(wide: wide) else {
        error("unterminated string literal", at: start)
        var token = Token(wide ? .wideStringLiteral : .stringLiteral, "", at: start)
        token.stringValue = String(scalars)
        return token
      }
      if value == 0 { error("string literals may not contain a zero character", at: start) }
      scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
    }
    advance()
    var token = Token(wide ? .wideStringLiteral : .stringLiteral, String(scalars), at: start)
    token.stringValue = token.text
    return token
  }

  private static let twoCharacterPunctuation: Set<String> = ["::", "<<", ">>", "==", "!=", "&&", "||", "<=", ">="]

  private mutating func scanPunctuation(start: SourceLocation) -> Token {
    let c = current!
    if let d = peek(1) {
      let pair = String(decoding: [c, d], as: UTF8.self)
      if Self.twoCharacterPunctuation.contains(pair) {
        advance()
        advance()
        return Token(.punctuation, pair, at: start)
      }
    }
    advance()
    let single = "{}()[]<>;:,=+-*/%~|^&#!?."
    let character = Character(Unicode.Scalar(c))
    if c < 0x80, single.contains(character) {
      return Token(.punctuation, String(character), at: start)
    }
    error(c < 0x80 && c > 0x20 ? "unexpected character '\(character)'" : "unexpected byte 0x\(String(c, radix: 16))", at: start)
    while let d = current, d & 0xC0 == 0x80 { advance() }
    return Token(.punctuation, "", at: start)  // dropped by `next` and `nextOnLine`
  }
}
