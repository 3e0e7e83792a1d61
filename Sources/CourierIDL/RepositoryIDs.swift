// The repository-id pass after parsing: `#pragma ID`, `typeid`, `#pragma version` and
// `typeprefix` may come after the declarations they change (CORBA 3.0 §10.7.5).

extension Definition {
  /// The same definition with `transform` applied to its info and to every nested definition's.
  func mappingInfo(_ transform: (DeclarationInfo) -> DeclarationInfo) -> Definition {
    func nested(_ definitions: [Definition]) -> [Definition] { definitions.map { $0.mappingInfo(transform) } }
    switch self {
    case .module(var d):
      d.info = transform(d.info)
      d.definitions = nested(d.definitions)
      return .module(d)
    case .structure(var d):
      d.info = transform(d.info)
      d.nested = nested(d.nested)
      return .structure(d)
    case .union(var d):
      d.info = transform(d.info)
      d.nested = nested(d.nested)
      return .union(d)
    case .enumeration(var d):
      d.info = transform(d.info)
      return .enumeration(d)
    case .typedef(var d):
      d.info = transform(d.info)
      return .typedef(d)
    case .constant(var d):
      d.info = transform(d.info)
      return .constant(d)
    case .exception(var d):
      d.info = transform(d.info)
      d.nested = nested(d.nested)
      return .exception(d)
    case .interface(var d):
      d.info = transform(d.info)
      d.definitions = nested(d.definitions)
      return .interface(d)
    case .forward(var d):
      d.info = transform(d.info)
      return .forward(d)
    case .native(var d):
      d.info = transform(d.info)
      return .native(d)
    case .valueType(var d):
      d.info = transform(d.info)
      d.definitions = nested(d.definitions)
      return .valueType(d)
    }
  }
}

/// Final repository ids from the overrides the parser collected.
struct RepositoryIDAssigner {
  var idOverrides: [ScopedName: (id: String, fromSerial: Int)]
  var versionOverrides: [ScopedName: (version: String, fromSerial: Int)]
  var typePrefixes: [ScopedName: String]
  /// Declaration order by name location: a pragma applies to the declaration it names (the
  /// latest opening of a module) and to later ones, as in omniidl.
  var serialByLocation: [SourceLocation: Int]

  func assign(_ definitions: [Definition]) -> [Definition] {
    if idOverrides.isEmpty && versionOverrides.isEmpty && typePrefixes.isEmpty { return definitions }
    return definitions.map { $0.mappingInfo(finalInfo) }
  }

  private func finalInfo(_ info: DeclarationInfo) -> DeclarationInfo {
    var info = info
    let name = info.scopedName
    let serial = serialByLocation[info.location] ?? Int.max
    if let (id, fromSerial) = idOverrides[name], serial >= fromSerial {
      info.repositoryID = id
      return info
    }
    // The nearest enclosing scope with a typeprefix sets the prefix and the path's start.
    for length in stride(from: name.components.count - 1, through: 1, by: -1) {
      let enclosing = ScopedName(Array(name.components.prefix(length)))
      if let prefix = typePrefixes[enclosing] {
        let path = (prefix.isEmpty ? [] : [prefix]) + name.components.dropFirst(length)
        info.repositoryID = "IDL:" + path.joined(separator: "/") + ":1.0"
        break
      }
    }
    if let (version, fromSerial) = versionOverrides[name], serial >= fromSerial, info.repositoryID.hasPrefix("IDL:"),
       let colon = info.repositoryID.lastIndex(of: ":") {
      info.repositoryID = String(info.repositoryID[...colon]) + version
    }
    return info
  }
}
