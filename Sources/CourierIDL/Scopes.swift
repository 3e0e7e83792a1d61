/// What a name declared in a scope is.
enum SymbolKind {
  case module
  case interface(complete: Bool, kind: InterfaceDeclaration.Kind)
  case valueType(complete: Bool, isAbstract: Bool)
  case structure(complete: Bool)
  case union(complete: Bool)
  case enumeration
  case enumerator(enumName: ScopedName)
  case typedef(IDLType)
  case constant(type: IDLType, value: ConstantValue?)
  case exception
  case native
  /// Operations, attributes, members, parameters: names that occupy a scope but are not types.
  case other(String)

  var describe: String {
    switch self {
    case .module: return "module"
    case .interface(_, let kind): return kind == .plain ? "interface" : "\(kind.rawValue) interface"
    case .valueType: return "value type"
    case .structure: return "struct"
    case .union: return "union"
    case .enumeration: return "enum"
    case .enumerator: return "enumerator"
    case .typedef: return "typedef"
    case .constant: return "constant"
    case .exception: return "exception"
    case .native: return "native type"
    case .other(let what): return what
    }
  }

  var isType: Bool {
    switch self {
    case .interface, .valueType, .structure, .union, .enumeration, .typedef, .native: return true
    default: return false
    }
  }
}

struct Symbol {
  /// As written (case matters for references).
  var name: String
  var scopedName: ScopedName
  var kind: SymbolKind
  var location: SourceLocation
  /// Order of declaration (the latest one for reopened modules and completed forwards).
  var serial = 0
}

/// One naming scope: a module, interface, value type, struct, union, exception or operation.
final class Scope {
  let name: ScopedName
  let parent: Scope?
  /// Lowercased name → symbol (IDL names collide case-insensitively).
  private(set) var symbols: [String: Symbol] = [:]
  /// Scopes whose names are visible here too (interface and value type bases).
  var inherited: [Scope] = []
  /// Scopes declared inside this one, by lowercased name.
  var children: [String: Scope] = [:]

  init(name: ScopedName, parent: Scope?) {
    self.name = name
    self.parent = parent
  }

  func symbol(lowercased key: String) -> Symbol? { symbols[key] }

  func set(_ symbol: Symbol) { symbols[symbol.name.lowercased()] = symbol }

  /// The child scope `name`, created on first use (modules reopen the same scope).
  func child(_ name: String) -> Scope {
    let key = name.lowercased()
    if let existing = children[key] { return existing }
    let scope = Scope(name: self.name.appending(name), parent: self)
    children[key] = scope
    return scope
  }

  /// This scope's own symbols and those of the scopes it inherits (depth first, each once).
  func lookupHere(_ key: String, visited: inout Set<ObjectIdentifier>) -> Symbol? {
    guard visited.insert(ObjectIdentifier(self)).inserted else { return nil }
    if let symbol = symbols[key] { return symbol }
    for base in inherited {
      if let symbol = base.lookupHere(key, visited: &visited) { return symbol }
    }
    return nil
  }
}
