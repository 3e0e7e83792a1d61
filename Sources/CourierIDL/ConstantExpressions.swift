// Constant expressions (CORBA 3.0 §3.10.2): parsing, and evaluation against the type the
// value must have (a constant's declared type, a union's discriminator, a bound).

/// A constant expression as written.
indirect enum ConstantExpression {
  case literal(Token)
  case name(NameReference)
  case unary(Token, ConstantExpression)
  case binary(Token, ConstantExpression, ConstantExpression)

  var location: SourceLocation {
    switch self {
    case .literal(let t): return t.location
    case .name(let n): return n.location
    case .unary(let op, _): return op.location
    case .binary(_, let left, _): return left.location
    }
  }
}

/// The type a constant expression must produce (typedefs resolved).
enum ConstantTarget: Equatable {
  /// `short` … `unsigned long long`, `octet`.
  case integer(IDLType)
  /// `float`, `double`, `long double`.
  case floating(IDLType)
  case fixed
  case char, wchar, boolean
  case string(bound: Int?)
  case wstring(bound: Int?)
  case enumeration(ScopedName)
}

/// An exact decimal: `mantissa × 10^-scale` (IDL fixed-point constants).
struct FixedDecimal: Hashable {
  var mantissa: Int128
  var scale: Int

  /// From a fixed literal's text without the `d` (`12.30`, `.5`, `7`).
  init?(literal: String) {
    var mantissa: Int128 = 0
    var scale = 0
    var afterPoint = false
    var digits = 0
    for c in literal {
      if c == "." {
        afterPoint = true
        continue
      }
      guard let d = c.wholeNumberValue else { return nil }
      if mantissa > 0 || d > 0 { digits += 1 }
      guard digits <= 31 else { return nil }
      mantissa = mantissa * 10 + Int128(d)
      if afterPoint { scale += 1 }
    }
    self.init(mantissa: mantissa, scale: scale)
  }

  init(mantissa: Int128, scale: Int) {
    self.mantissa = mantissa
    self.scale = scale
  }

  /// Significant digits (at least the scale, at least 1).
  var digits: Int {
    var count = 0
    var m = mantissa.magnitude
    while m > 0 {
      count += 1
      m /= 10
    }
    return max(count, scale, 1)
  }

  var description: String {
    var text = String(mantissa.magnitude)
    if scale > 0 {
      if text.count <= scale { text = String(repeating: "0", count: scale - text.count + 1) + text }
      text.insert(".", at: text.index(text.endIndex, offsetBy: -scale))
    }
    return (mantissa < 0 ? "-" : "") + text
  }

  func rescaled(to newScale: Int) -> FixedDecimal? {
    var m = mantissa
    for _ in scale..<max(scale, newScale) {
      let (product, overflow) = m.multipliedReportingOverflow(by: 10)
      if overflow { return nil }
      m = product
    }
    return FixedDecimal(mantissa: m, scale: max(scale, newScale))
  }
}

/// A value during evaluation.
enum IntermediateValue {
  case integer(Int128)
  case floating(Double)
  case fixed(FixedDecimal)
  case boolean(Bool)
  case char(UInt32)
  case wchar(UInt32)
  case string(String)
  case wstring(String)
  case enumerator(ScopedName, String)

  var kindName: String {
    switch self {
    case .integer: return "integer"
    case .floating: return "floating-point"
    case .fixed: return "fixed-point"
    case .boolean: return "boolean"
    case .char: return "character"
    case .wchar: return "wide character"
    case .string: return "string"
    case .wstring: return "wide string"
    case .enumerator: return "enumerator"
    }
  }
}

/// Evaluation failed; `message` is nil when the cause was reported already.
struct EvaluationFailure: Error {
  var message: String?
  var location: SourceLocation
}

extension IDLType {
  /// How IDL writes the type, for messages.
  var idlSpelling: String {
    switch self {
    case .void: return "void"
    case .boolean: return "boolean"
    case .char: return "char"
    case .wchar: return "wchar"
    case .octet: return "octet"
    case .short: return "short"
    case .unsignedShort: return "unsigned short"
    case .long: return "long"
    case .unsignedLong: return "unsigned long"
    case .longLong: return "long long"
    case .unsignedLongLong: return "unsigned long long"
    case .float: return "float"
    case .double: return "double"
    case .longDouble: return "long double"
    case .string(let b): return b.map { "string<\($0)>" } ?? "string"
    case .wstring(let b): return b.map { "wstring<\($0)>" } ?? "wstring"
    case .fixed(let d, let s): return d == 0 ? "fixed" : "fixed<\(d), \(s)>"
    case .any: return "any"
    case .object: return "Object"
    case .typeCode: return "TypeCode"
    case .valueBase: return "ValueBase"
    case .sequence(let t, let b): return "sequence<\(t.idlSpelling)\(b.map { ", \($0)" } ?? "")>"
    case .array(let t, let dims): return t.idlSpelling + dims.map { "[\($0)]" }.joined()
    case .named(let n): return n.description
    case .opaque(let b): return "opaque<\(b.map(String.init) ?? "")>"
    case .fixedOpaque(let n): return "opaque[\(n)]"
    case .optional(let t): return t.idlSpelling + " *"
    }
  }

  /// The range of an integer type.
  var integerRange: ClosedRange<Int128>? {
    switch self {
    case .octet: return 0...255
    case .short: return Int128(Int16.min)...Int128(Int16.max)
    case .unsignedShort: return 0...Int128(UInt16.max)
    case .long: return Int128(Int32.min)...Int128(Int32.max)
    case .unsignedLong: return 0...Int128(UInt32.max)
    case .longLong: return Int128(Int64.min)...Int128(Int64.max)
    case .unsignedLongLong: return 0...Int128(UInt64.max)
    default: return nil
    }
  }
}

extension Parser {
  // MARK: Parsing

  func parseConstantExpression() throws -> ConstantExpression { try parseBinary(level: 0) }

  private static let levels: [[String]] = [["|"], ["^"], ["&"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"]]

  private func parseBinary(level: Int) throws -> ConstantExpression {
    guard level < Self.levels.count else { return try parseUnary() }
    var left = try parseBinary(level: level + 1)
    while current.kind == .punctuation, Self.levels[level].contains(current.text) {
      if current.text == ">>" && angleDepth > 0 { break }
      let op = current
      advance()
      let right = try parseBinary(level: level + 1)
      left = .binary(op, left, right)
    }
    return left
  }

  private func parseUnary() throws -> ConstantExpression {
    if check("-") || check("+") || check("~") {
      let op = current
      advance()
      return .unary(op, try parsePrimary())
    }
    return try parsePrimary()
  }

  private func parsePrimary() throws -> ConstantExpression {
    let token = current
    switch token.kind {
    case .integerLiteral, .floatingLiteral, .fixedLiteral, .charLiteral, .wideCharLiteral:
      advance()
      return .literal(token)
    case .stringLiteral, .wideStringLiteral:
      advance()
      var joined = token
      while current.kind == token.kind {  // adjacent literals concatenate
        joined.stringValue += current.stringValue
        advance()
      }
      return .literal(joined)
    case .identifier where token.isKeyword("TRUE") || token.isKeyword("FALSE"):
      advance()
      return .literal(token)
    case .identifier:
      return .name(try parseScopedName())
    case .punctuation where token.text == "::":
      return .name(try parseScopedName())
    case .punctuation where token.text == "(":
      advance()
      let saved = angleDepth
      angleDepth = 0
      defer { angleDepth = saved }
      let inner = try parseConstantExpression()
      try expect(")")
      return inner
    default:
      throw syntaxError("expected a constant expression, found \(token.quoted)")
    }
  }

  // MARK: Targets

  /// What a constant of `type` must evaluate to; nil (reported) for a type constants cannot have.
  func constantTarget(for type: IDLType, at location: SourceLocation) -> ConstantTarget? {
    let resolved = resolvingTypedefs(type)
    switch resolved {
    case .short, .unsignedShort, .long, .unsignedLong, .longLong, .unsignedLongLong, .octet:
      return .integer(resolved)
    case .float, .double, .longDouble: return .floating(resolved)
    case .fixed: return .fixed
    case .char: return .char
    case .wchar: return .wchar
    case .boolean: return .boolean
    case .string(let bound): return .string(bound: bound)
    case .wstring(let bound): return .wstring(bound: bound)
    case .named(let name):
      if let symbol = symbol(named: name), case .enumeration = symbol.kind { return .enumeration(name) }
    default: break
    }
    if case .named(let name) = resolved, symbol(named: name) == nil { return nil }  // unknown type, reported
    error("a constant cannot have type '\(type.idlSpelling)'", at: location)
    return nil
  }

  /// What a union's case labels must evaluate to; nil (reported) for an invalid discriminator.
  func discriminatorTarget(_ type: IDLType, at location: SourceLocation) -> ConstantTarget? {
    let resolved = resolvingTypedefs(type)
    switch resolved {
    case .short, .unsignedShort, .long, .unsignedLong, .longLong, .unsignedLongLong, .octet: return .integer(resolved)
    case .char: return .char
    case .wchar: return .wchar
    case .boolean: return .boolean
    case .named(let name):
      guard let symbol = symbol(named: name) else { return nil }
      if case .enumeration = symbol.kind { return .enumeration(name) }
    default: break
    }
    error("'\(type.idlSpelling)' cannot be a union discriminator (integer, char, boolean or enum types can)", at: location)
    return nil
  }

  // MARK: Evaluation

  /// The value of `expression` as `target`, or nil after reporting why not.
  func evaluate(_ expression: ConstantExpression, as target: ConstantTarget) -> ConstantValue? {
    do {
      let value = try evaluateValue(expression, target: target)
      return try convert(value, to: target, at: expression.location)
    } catch let failure as EvaluationFailure {
      if let message = failure.message { error(message, at: failure.location) }
      return nil
    } catch {
      return nil
    }
  }

  private static let integerLimits: ClosedRange<Int128> = Int128(Int64.min)...Int128(UInt64.max)

  private func evaluateValue(_ expression: ConstantExpression, target: ConstantTarget) throws -> IntermediateValue {
    switch expression {
    case .literal(let token):
      return try literalValue(token)
    case .name(let reference):
      guard let symbol = lookup(reference) else {
        throw EvaluationFailure(message: "unknown constant '\(reference.written)'", location: reference.location)
      }
      switch symbol.kind {
      case .constant(_, let value?): return intermediate(value)
      case .constant(_, nil): throw EvaluationFailure(message: nil, location: reference.location)
      case .enumerator(let enumName): return .enumerator(enumName, symbol.name)
      default:
        throw EvaluationFailure(message: "'\(reference.written)' is a \(symbol.kind.describe), not a constant", location: reference.location)
      }
    case .unary(let op, let operand):
      let value = try evaluateValue(operand, target: target)
      switch (op.text, value) {
      case ("+", .integer), ("+", .floating), ("+", .fixed): return value
      case ("-", .integer(let v)): return .integer(try checked(-v, at: op.location))
      case ("-", .floating(let v)): return .floating(-v)
      case ("-", .fixed(let v)): return .fixed(FixedDecimal(mantissa: -v.mantissa, scale: v.scale))
      case ("~", .integer(let v)):
        if case .integer(let type) = target, let range = type.integerRange, range.lowerBound == 0 {
          guard range.contains(v) else {
            throw EvaluationFailure(message: "value \(v) is out of range for '\(type.idlSpelling)'", location: operand.location)
          }
          return .integer(range.upperBound - v)
        }
        return .integer(try checked(-v - 1, at: op.location))
      default:
        throw EvaluationFailure(message: "operator '\(op.text)' cannot be applied to a \(value.kindName) value", location: op.location)
      }
    case .binary(let op, let leftExpression, let rightExpression):
      let left = try evaluateValue(leftExpression, target: target)
      let right = try evaluateValue(rightExpression, target: target)
      return try binary(op, left, right)
    }
  }

  private func literalValue(_ token: Token) throws -> IntermediateValue {
    switch token.kind {
    case .integerLiteral:
      guard let value = token.integerValue else { throw EvaluationFailure(message: nil, location: token.location) }
      return .integer(value)
    case .floatingLiteral:
      guard let value = Double(token.text) else {
        throw EvaluationFailure(message: "invalid floating-point literal '\(token.text)'", location: token.location)
      }
      return .floating(value)
    case .fixedLiteral:
      guard let value = FixedDecimal(literal: token.text) else {
        throw EvaluationFailure(message: "fixed-point literal '\(token.text)d' has more than 31 digits", location: token.location)
      }
      return .fixed(value)
    case .charLiteral: return .char(token.scalarValue)
    case .wideCharLiteral: return .wchar(token.scalarValue)
    case .stringLiteral: return .string(token.stringValue)
    case .wideStringLiteral: return .wstring(token.stringValue)
    default: return .boolean(token.text == "TRUE")
    }
  }

  private func intermediate(_ value: ConstantValue) -> IntermediateValue {
    switch value {
    case .integer(let v): return .integer(v)
    case .floatingPoint(let v): return .floating(v)
    case .boolean(let v): return .boolean(v)
    case .char(let v): return .char(UInt32(v))
    case .wchar(let v): return .wchar(v.value)
    case .string(let v): return .string(v)
    case .wstring(let v): return .wstring(v)
    case .fixed(let text, _, _): return FixedDecimal(literal: text.hasPrefix("-") ? String(text.dropFirst()) : text).map {
        .fixed(text.hasPrefix("-") ? FixedDecimal(mantissa: -$0.mantissa, scale: $0.scale) : $0)
      } ?? .integer(0)
    case .enumerator(let e, let n): return .enumerator(e, n)
    }
  }

  private func checked(_ value: Int128, at location: SourceLocation) throws -> Int128 {
    guard Self.integerLimits.contains(value) else {
      throw EvaluationFailure(message: "constant expression overflows (the intermediate value \(value) does not fit in 64 bits)",
                              location: location)
    }
    return value
  }

  private func binary(_ op: Token, _ left: IntermediateValue, _ right: IntermediateValue) throws -> IntermediateValue {
    switch (left, right) {
    case (.integer(let a), .integer(let b)):
      switch op.text {
      case "+": return .integer(try checked(a + b, at: op.location))
      case "-": return .integer(try checked(a - b, at: op.location))
      case "*":
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { _ = try checked(Int128.max, at: op.location) }
        return .integer(try checked(product, at: op.location))
      case "/", "%":
        if b == 0 { throw EvaluationFailure(message: "division by zero in constant expression", location: op.location) }
        return .integer(op.text == "/" ? a / b : a % b)
      case "<<", ">>":
        guard (0..<64).contains(b) else {
          throw EvaluationFailure(message: "shift count \(b) is not in 0..<64", location: op.location)
        }
        if op.text == ">>" { return .integer(a >> b) }
        return .integer(try checked(a << b, at: op.location))
      case "&": return .integer(a & b)
      case "|": return .integer(a | b)
      default: return .integer(a ^ b)
      }
    case (.integer, .floating), (.floating, .integer), (.floating, .floating):
      let a = Self.double(left)
      let b = Self.double(right)
      switch op.text {
      case "+": return .floating(a + b)
      case "-": return .floating(a - b)
      case "*": return .floating(a * b)
      case "/":
        if b == 0 { throw EvaluationFailure(message: "division by zero in constant expression", location: op.location) }
        return .floating(a / b)
      default:
        throw EvaluationFailure(message: "operator '\(op.text)' cannot be applied to floating-point values", location: op.location)
      }
    case (.fixed, .fixed), (.fixed, .integer), (.integer, .fixed):
      let a = Self.fixed(left)
      let b = Self.fixed(right)
      let scale = max(a.scale, b.scale)
      switch op.text {
      case "+", "-":
        guard let x = a.rescaled(to: scale), let y = b.rescaled(to: scale) else { break }
        let result = FixedDecimal(mantissa: op.text == "+" ? x.mantissa + y.mantissa : x.mantissa - y.mantissa, scale: scale)
        if result.digits <= 31 { return .fixed(result) }
      case "*":
        let (product, overflow) = a.mantissa.multipliedReportingOverflow(by: b.mantissa)
        let result = FixedDecimal(mantissa: product, scale: a.scale + b.scale)
        if !overflow && result.digits <= 31 { return .fixed(result) }
      default:
        throw EvaluationFailure(message: "operator '\(op.text)' is not supported for fixed-point constants (only + - * are)",
                                location: op.location)
      }
      throw EvaluationFailure(message: "fixed-point constant expression needs more than 31 digits", location: op.location)
    default:
      throw EvaluationFailure(message: "operator '\(op.text)' cannot be applied to \(left.kindName) and \(right.kindName) values",
                              location: op.location)
    }
  }

  private static func double(_ value: IntermediateValue) -> Double {
    switch value {
    case .integer(let v): return Double(v)
    case .floating(let v): return v
    default: return 0
    }
  }

  private static func fixed(_ value: IntermediateValue) -> FixedDecimal {
    switch value {
    case .integer(let v): return FixedDecimal(mantissa: v, scale: 0)
    case .fixed(let v): return v
    default: return FixedDecimal(mantissa: 0, scale: 0)
    }
  }

  /// Checks `value` against `target` and gives it the model's form.
  private func convert(_ value: IntermediateValue, to target: ConstantTarget, at location: SourceLocation) throws -> ConstantValue {
    func mismatch(_ expected: String) -> EvaluationFailure {
      EvaluationFailure(message: "expected \(expected) value, found \(value.kindName) value", location: location)
    }
    switch (target, value) {
    case (.integer(let type), .integer(let v)):
      guard let range = type.integerRange, range.contains(v) else {
        throw EvaluationFailure(message: "value \(v) is out of range for '\(type.idlSpelling)'", location: location)
      }
      return .integer(v)
    case (.integer, _): throw mismatch("an integer")
    case (.floating(let type), .integer), (.floating(let type), .floating):
      let v = Self.double(value)
      if type == .float, v.isFinite, abs(v) > Double(Float.greatestFiniteMagnitude) {
        throw EvaluationFailure(message: "value \(v) is out of range for 'float'", location: location)
      }
      if !v.isFinite { throw EvaluationFailure(message: "value \(v) is out of range for '\(type.idlSpelling)'", location: location) }
      return .floatingPoint(v)
    case (.floating, _): throw mismatch("a floating-point")
    case (.fixed, .fixed), (.fixed, .integer):
      let v = Self.fixed(value)
      return .fixed(v.description, digits: v.digits, scale: v.scale)
    case (.fixed, _): throw mismatch("a fixed-point")
    case (.char, .char(let v)):
      guard v <= 255 else { throw EvaluationFailure(message: "character value \(v) does not fit in 'char'", location: location) }
      return .char(UInt8(v))
    case (.char, _): throw mismatch("a character")
    case (.wchar, .wchar(let v)), (.wchar, .char(let v)):
      guard let scalar = Unicode.Scalar(v) else {
        throw EvaluationFailure(message: "value \(v) is not a Unicode scalar", location: location)
      }
      return .wchar(scalar)
    case (.wchar, _): throw mismatch("a wide character")
    case (.boolean, .boolean(let v)): return .boolean(v)
    case (.boolean, _): throw mismatch("a boolean")
    case (.string(let bound), .string(let s)):
      if let bound, s.unicodeScalars.count > bound {
        throw EvaluationFailure(message: "string of length \(s.unicodeScalars.count) exceeds the bound \(bound)", location: location)
      }
      return .string(s)
    case (.string, _): throw mismatch("a string")
    case (.wstring(let bound), .wstring(let s)):
      if let bound, s.unicodeScalars.count > bound {
        throw EvaluationFailure(message: "wide string of length \(s.unicodeScalars.count) exceeds the bound \(bound)", location: location)
      }
      return .wstring(s)
    case (.wstring, _): throw mismatch("a wide string")
    case (.enumeration(let name), .enumerator(let e, let n)):
      guard e == name else {
        throw EvaluationFailure(message: "'\(n)' is an enumerator of '\(e)', not of '\(name)'", location: location)
      }
      return .enumerator(e, n)
    case (.enumeration(let name), _): throw mismatch("an enumerator of '\(name)'")
    }
  }
}
