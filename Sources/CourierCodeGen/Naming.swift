import CourierIDL

/// Swift names for IDL names.
enum SwiftNames {
  /// Swift keywords that must be written in backticks when used as identifiers.
  static let keywords: Set<String> = [
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows", "static",
    "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer", "do", "else",
    "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while", "Any", "as",
    "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try", "Type", "Protocol", "package",
    "consume", "copy", "borrowing", "consuming", "some", "any",
  ]

  /// `name` usable as a Swift identifier.
  static func identifier(_ name: String) -> String {
    keywords.contains(name) ? "`\(name)`" : name
  }

  /// Keywords that cannot be argument labels even unescaped.
  static let forbiddenLabels: Set<String> = ["inout", "var", "let"]

  /// A parameter declaration `label local: Type`: keywords stay plain as labels (Swift allows
  /// them there) and get a `_` local name.
  static func parameter(_ name: String, _ type: String) -> String {
    guard keywords.contains(name) else { return "\(name): \(type)" }
    let label = forbiddenLabels.contains(name) ? "`\(name)`" : name
    return "\(label) _\(name): \(type)"
  }

  /// How the body of a function declared with ``parameter(_:_:)`` refers to the parameter.
  static func parameterReference(_ name: String) -> String {
    keywords.contains(name) ? "_\(name)" : name
  }

  /// An argument label at a call site.
  static func label(_ name: String) -> String {
    forbiddenLabels.contains(name) ? "`\(name)`" : name
  }

  /// `name` with its first letter uppercased (`listname` → `Listname`).
  static func capitalized(_ name: String) -> String {
    guard let first = name.first else { return name }
    return first.uppercased() + name.dropFirst()
  }

  /// A Swift string literal for `text`.
  static func stringLiteral(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\0": out += "\\0"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          out += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
