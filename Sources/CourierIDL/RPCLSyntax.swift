// The syntax tree of an RPCL file, as parsed and before names are resolved: RPCL lets a type or
// a constant be used before (or without) the line that declares it (`typedef struct node *list;`
// then `struct node {...}`), so the parser records names and the resolver looks them up once the
// whole file has been read.

/// A number or a constant's name, where RPCL wants a value (`const`, sizes, labels, numbers).
struct RPCLValue: Sendable {
  enum Kind: Sendable {
    case number(Int128)
    case name(String)
    /// A string, which only a `const` may have (rpcgen passes it on to C as a macro).
    case string(String)
  }

  var kind: Kind
  /// Written with a leading `-`.
  var negated = false
  var location: SourceLocation
}

/// A type specifier: a built-in type or a name (`struct foo`, `foo`).
enum RPCLTypeSpecifier: Sendable {
  case builtin(IDLType, SourceLocation)
  /// `string` (only valid with `<…>`, or alone as a procedure argument or result).
  case string(SourceLocation)
  /// `opaque` (only valid with `[…]` or `<…>`).
  case opaque(SourceLocation)
  /// A declared type's name; `keyword` is `struct`, `union` or `enum` when written so.
  case named(String, keyword: String?, SourceLocation)

  var location: SourceLocation {
    switch self {
    case .builtin(_, let l), .string(let l), .opaque(let l), .named(_, _, let l): return l
    }
  }
}

/// A declaration: `void`, `T x`, `T x[n]`, `T x<n>`, `T x<>`, `T *x`.
struct RPCLDeclaration: Sendable {
  enum Shape: Sendable {
    case single
    case fixedArray(RPCLValue)
    /// `<n>` or `<>` (nil).
    case variableArray(RPCLValue?, SourceLocation)
    case optional
  }

  /// Nil for `void`.
  var type: RPCLTypeSpecifier?
  var name: String
  var shape: Shape
  var location: SourceLocation

  var isVoid: Bool { type == nil }
}

struct RPCLEnumerator: Sendable {
  var name: String
  var value: RPCLValue?
  var location: SourceLocation
}

struct RPCLUnionArm: Sendable {
  /// Empty for the `default` arm.
  var labels: [RPCLValue]
  var isDefault: Bool
  var declaration: RPCLDeclaration
}

struct RPCLProcedure: Sendable {
  var name: String
  /// Nil for `void`.
  var result: RPCLDeclaration
  /// Empty for `(void)`.
  var arguments: [RPCLDeclaration]
  var number: RPCLValue
  var location: SourceLocation
}

struct RPCLVersion: Sendable {
  var name: String
  var procedures: [RPCLProcedure]
  var number: RPCLValue
  var location: SourceLocation
}

/// One top-level definition.
struct RPCLDefinition: Sendable {
  enum Kind: Sendable {
    case constant(RPCLValue)
    case enumeration([RPCLEnumerator])
    case structure([RPCLDeclaration])
    case union(discriminant: RPCLDeclaration, arms: [RPCLUnionArm])
    case typedef(RPCLDeclaration)
    case program(versions: [RPCLVersion], number: RPCLValue)
  }

  var name: String
  var kind: Kind
  var location: SourceLocation
  var isFromMainFile: Bool
}
