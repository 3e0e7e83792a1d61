/// One token of preprocessed IDL, with the location it was written at.
struct Token: Sendable {
  enum Kind: Equatable, Sendable {
    case identifier
    case integerLiteral
    case floatingLiteral
    case fixedLiteral
    case charLiteral
    case wideCharLiteral
    case stringLiteral
    case wideStringLiteral
    case punctuation
    /// A `#pragma` the parser must see (prefix, ID, version), in source order.
    case pragma
    /// The start and end of a (main or included) file: the parser scopes `#pragma prefix` by them.
    case fileStart
    case fileEnd
    case endOfInput
  }

  var kind: Kind
  /// Identifier (without the escape underscore), punctuation, or a literal's source text.
  var text: String
  var location: SourceLocation
  /// The column just after the token (same line), for "expected ';' after …" messages.
  var endColumn = 0
  /// The identifier was written with a leading `_` (keywords do not apply).
  var isEscaped = false
  /// First token on its source line (directives start with such a `#`).
  var isFirstOnLine = false
  /// Whitespace or a comment precedes the token (tells `#define F(` from `#define F (`).
  var hasSpaceBefore = false
  /// The token comes from the compiled file, not from an `#include`.
  var isFromMainFile = true
  /// Integer literals: the value (nil when it does not fit in 64 bits; the lexer said so).
  var integerValue: Int128? = nil
  /// Char literals: the code point; string literals: the decoded text is `stringValue`.
  var scalarValue: UInt32 = 0
  var stringValue = ""
  /// Pragma tokens: what the pragma says.
  var pragma: Pragma? = nil

  init(_ kind: Kind, _ text: String, at location: SourceLocation) {
    self.kind = kind
    self.text = text
    self.location = location
  }

  /// The identifier as written, escape underscore included (macro names are not escaped).
  var rawText: String { isEscaped ? "_" + text : text }

  func isPunctuation(_ p: String) -> Bool { kind == .punctuation && text == p }

  /// The token is the keyword `k` (written exactly so and not escaped).
  func isKeyword(_ k: String) -> Bool { kind == .identifier && !isEscaped && text == k }

  /// How the token reads in a message: `'foo'`, `end of file`.
  var quoted: String {
    switch kind {
    case .endOfInput, .fileEnd: return "end of file"
    case .stringLiteral: return "string literal"
    case .wideStringLiteral: return "wide string literal"
    default: return "'\(isEscaped ? "_" : "")\(text)'"
    }
  }
}

/// What a `#pragma` the front end understands says.
enum Pragma: Sendable {
  /// `#pragma prefix "omg.org"`.
  case prefix(String)
  /// `#pragma ID Name "IDL:…:1.0"`.
  case id(name: [Token], id: String)
  /// `#pragma version Name 1.2`.
  case version(name: [Token], version: String)
  /// `#pragma courier semantics Interface::operation at-most-once` (and where the word is, for messages).
  case semantics(name: [Token], semantics: OperationSemantics, at: SourceLocation)
  /// `#pragma courier idempotent Interface::operation`.
  case idempotent(name: [Token])
}

/// The IDL keywords (CORBA 3.0 §3.2.4).
enum Keywords {
  static let all: Set<String> = [
    "abstract", "any", "attribute", "boolean", "case", "char", "component", "const", "consumes", "context",
    "custom", "default", "double", "emits", "enum", "eventtype", "exception", "factory", "FALSE", "finder",
    "fixed", "float", "getraises", "home", "import", "in", "inout", "interface", "local", "long", "module",
    "multiple", "native", "Object", "octet", "oneway", "out", "primarykey", "private", "provides", "public",
    "publishes", "raises", "readonly", "setraises", "sequence", "short", "string", "struct", "supports",
    "switch", "TRUE", "truncatable", "typedef", "typeid", "typeprefix", "unsigned", "union", "uses",
    "ValueBase", "valuetype", "void", "wchar", "wstring",
  ]
  /// Keywords CORBA 3 added for components and value types' ids: omniidl only warns when an
  /// identifier differs from them in case only (`EventType` in CosNotification), and so do we
  /// (silently: the model has no warnings).
  static let lenientCaseClashes: Set<String> = [
    "component", "consumes", "emits", "eventtype", "finder", "getraises", "home", "import", "multiple",
    "primarykey", "provides", "publishes", "setraises", "typeid", "typeprefix", "uses",
  ]
  /// Lowercased keyword → keyword as spelled.
  static let byLowercase: [String: String] = Dictionary(uniqueKeysWithValues: all.map { ($0.lowercased(), $0) })
}
