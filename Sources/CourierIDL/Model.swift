// The interface model: what an interface definition says, independent of the language it was
// written in. The OMG IDL front end and the ONC RPC language (RPCL, `.x`) front end of this module
// produce it; CourierCodeGen turns it into Swift.
//
// A model from RPCL (`InterfaceModel.sourceLanguage == .rpcl`) reads so: `program P` is a module
// `P` holding one interface per `version`, each with its program and version numbers and its
// procedures as operations with numbers; `char`/`unsigned char` are `.char`/`.octet`, `short` and
// `unsigned short` are `.short`/`.unsignedShort` (each a 4-byte XDR integer on the wire, as rpcgen
// encodes them), `quadruple` is `.longDouble`, `opaque` is `.opaque`/`.fixedOpaque` and `T *` is
// `.optional`.
//
// Names in the model are resolved: every reference to a declared type is a `ScopedName` from
// the global scope, and `InterfaceModel.declaration(named:)` finds its declaration.

/// A position in an IDL source file (1-based line and column).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int

  public init(file: String, line: Int, column: Int) {
    self.file = file
    self.line = line
    self.column = column
  }

  public var description: String { "\(file):\(line):\(column)" }
}

/// A fully scoped name from the global scope: `["CosNaming", "NamingContext", "NotFound"]`.
public struct ScopedName: Hashable, Sendable, CustomStringConvertible, Comparable {
  public var components: [String]

  public init(_ components: [String]) { self.components = components }

  /// The last component (the declaration's own name).
  public var name: String { components.last ?? "" }
  /// The enclosing scope.
  public var parent: ScopedName { ScopedName(Array(components.dropLast())) }
  /// `A::B::C`.
  public var description: String { components.joined(separator: "::") }

  public func appending(_ name: String) -> ScopedName { ScopedName(components + [name]) }

  public static func < (a: ScopedName, b: ScopedName) -> Bool { a.description < b.description }
}

/// A type as the model sees it.
public indirect enum IDLType: Hashable, Sendable {
  case void
  case boolean, char, wchar, octet
  case short, unsignedShort, long, unsignedLong, longLong, unsignedLongLong
  case float, double, longDouble
  /// `string` or `string<bound>`.
  case string(bound: Int?)
  /// `wstring` or `wstring<bound>`.
  case wstring(bound: Int?)
  /// `fixed<digits, scale>`.
  case fixed(digits: Int, scale: Int)
  /// `any`.
  case any
  /// `Object` (CORBA::Object): a reference to an object of any interface.
  case object
  /// `TypeCode` (CORBA::TypeCode).
  case typeCode
  /// `ValueBase`.
  case valueBase
  /// `sequence<T>` or `sequence<T, bound>`.
  case sequence(IDLType, bound: Int?)
  /// A declarator with array dimensions (`long m[3][4]`): element type, then sizes outermost first.
  case array(IDLType, dimensions: [Int])
  /// A declared type: struct, union, enum, typedef, interface (an object reference), native,
  /// value type, or (in `raises` lists only) an exception.
  case named(ScopedName)
  /// RPCL `opaque x<bound>` or `opaque x<>`: variable-length bytes.
  case opaque(bound: Int?)
  /// RPCL `opaque x[count]`: exactly `count` bytes (padded to a multiple of four on the wire).
  case fixedOpaque(count: Int)
  /// RPCL optional data, `T *x`: a value or none.
  case optional(IDLType)
}

/// The value of a constant (or of a union case label), after evaluation.
public enum ConstantValue: Hashable, Sendable, CustomStringConvertible {
  /// Any integer type (and octet), within the declared type's range.
  case integer(Int128)
  case floatingPoint(Double)
  case boolean(Bool)
  /// `char` (one octet, ISO 8859-1).
  case char(UInt8)
  case wchar(Unicode.Scalar)
  case string(String)
  case wstring(String)
  /// A fixed-point literal, as written (`12.345`), with its digits and scale.
  case fixed(String, digits: Int, scale: Int)
  /// An enumerator: the enum and the enumerator's name.
  case enumerator(ScopedName, String)

  public var description: String {
    switch self {
    case .integer(let v): return "\(v)"
    case .floatingPoint(let v): return "\(v)"
    case .boolean(let v): return v ? "TRUE" : "FALSE"
    case .char(let v): return "'\(Character(Unicode.Scalar(v)))'"
    case .wchar(let v): return "L'\(Character(v))'"
    case .string(let v): return "\"\(v)\""
    case .wstring(let v): return "L\"\(v)\""
    case .fixed(let v, _, _): return "\(v)d"
    case .enumerator(let e, let n): return "\(e.parent.appending(n))"
    }
  }
}

/// What every declaration carries.
public struct DeclarationInfo: Hashable, Sendable {
  /// The name as written in the IDL (without a leading escape underscore).
  public var name: String
  /// The scoped name from the global scope.
  public var scopedName: ScopedName
  /// The repository id (`IDL:omg.org/CosNaming/NamingContext:1.0`), after prefixes and pragmas.
  public var repositoryID: String
  public var location: SourceLocation
  /// True when the declaration is in the file being compiled, false when it came from an
  /// `#include` (its Swift is generated from that file, not this one).
  public var isFromMainFile: Bool

  public init(name: String, scopedName: ScopedName, repositoryID: String, location: SourceLocation, isFromMainFile: Bool) {
    self.name = name
    self.scopedName = scopedName
    self.repositoryID = repositoryID
    self.location = location
    self.isFromMainFile = isFromMainFile
  }
}

/// A field of a struct or exception (a declarator with array sizes has an `.array` type).
public struct Member: Hashable, Sendable {
  public var name: String
  public var type: IDLType
  public var location: SourceLocation

  public init(name: String, type: IDLType, location: SourceLocation) {
    self.name = name
    self.type = type
    self.location = location
  }
}

public struct StructDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  public var members: [Member]
  /// Types declared inside it (`struct A { struct B { long x; } b; };`: `A::B`).
  public var nested: [Definition]
  public init(info: DeclarationInfo, members: [Member], nested: [Definition] = []) {
    self.info = info
    self.members = members
    self.nested = nested
  }
}

public struct ExceptionDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  public var members: [Member]
  /// Types declared inside it (`struct A { struct B { long x; } b; };`: `A::B`).
  public var nested: [Definition]
  public init(info: DeclarationInfo, members: [Member], nested: [Definition] = []) {
    self.info = info
    self.members = members
    self.nested = nested
  }
}

public struct EnumDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  /// The enumerators in order (their CDR value is their index).
  public var enumerators: [String]
  /// The enumerators' values, in the same order: their index for OMG IDL, the declared (or,
  /// where omitted, the previous plus one) value for RPCL, where two names may share a value.
  public var values: [Int64]
  public init(info: DeclarationInfo, enumerators: [String], values: [Int64]? = nil) {
    self.info = info
    self.enumerators = enumerators
    self.values = values ?? enumerators.indices.map { Int64($0) }
  }
}

/// One case of a union: its labels (values of the discriminator type) and/or `default`.
public struct UnionCase: Hashable, Sendable {
  public var labels: [ConstantValue]
  public var isDefault: Bool
  public var member: Member
  public init(labels: [ConstantValue], isDefault: Bool, member: Member) {
    self.labels = labels
    self.isDefault = isDefault
    self.member = member
  }
}

public struct UnionDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  /// An integer, char, boolean or enum type (resolved through typedefs by the front end:
  /// this is the declared type, which may be `.named` of a typedef or enum).
  public var discriminator: IDLType
  /// The discriminant's name where the language names it (RPCL `switch (int kind)`).
  public var discriminatorName: String?
  public var cases: [UnionCase]
  /// Types declared inside it (an enum declared as the discriminator, a struct as a case type).
  public var nested: [Definition]
  public init(info: DeclarationInfo, discriminator: IDLType, cases: [UnionCase], nested: [Definition] = []) {
    self.info = info
    self.discriminator = discriminator
    self.cases = cases
    self.nested = nested
  }
}

public struct TypedefDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  public var type: IDLType
  public init(info: DeclarationInfo, type: IDLType) {
    self.info = info
    self.type = type
  }
}

public struct ConstantDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  public var type: IDLType
  public var value: ConstantValue
  public init(info: DeclarationInfo, type: IDLType, value: ConstantValue) {
    self.info = info
    self.type = type
    self.value = value
  }
}

public struct NativeDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  public init(info: DeclarationInfo) { self.info = info }
}

public enum ParameterDirection: String, Hashable, Sendable {
  case `in`, out, `inout`
}

public struct Parameter: Hashable, Sendable {
  public var direction: ParameterDirection
  public var name: String
  public var type: IDLType
  public var location: SourceLocation
  public init(direction: ParameterDirection, name: String, type: IDLType, location: SourceLocation) {
    self.direction = direction
    self.name = name
    self.type = type
    self.location = location
  }
}

/// How often a call of an operation may run, as the IDL declares it (`#pragma courier semantics`,
/// `#pragma courier idempotent`); the runtime's `InvocationSemantics`, without a runtime dependency.
public enum OperationSemantics: String, Hashable, Sendable, CaseIterable {
  case maybe
  case atLeastOnce
  case atMostOnce
  case exactlyOnce

  /// The pragma's spelling: `maybe`, `at-least-once`, `at-most-once`, `exactly-once`.
  public var idlSpelling: String {
    switch self {
    case .maybe: return "maybe"
    case .atLeastOnce: return "at-least-once"
    case .atMostOnce: return "at-most-once"
    case .exactlyOnce: return "exactly-once"
    }
  }

  /// The semantics a pragma word names: the hyphenated spelling or the same with underscores
  /// (`at_most_once`).
  public init?(idlSpelling word: String) {
    let normalized = String(word.map { $0 == "_" ? "-" : $0 })
    guard let found = Self.allCases.first(where: { $0.idlSpelling == normalized }) else { return nil }
    self = found
  }

  /// Whether a call with these semantics is sent again (a oneway call has no reply to wait for).
  public var retries: Bool { self != .maybe }
}

public struct Operation: Hashable, Sendable {
  public var name: String
  public var isOneway: Bool
  public var returnType: IDLType
  public var parameters: [Parameter]
  /// The user exceptions it may raise (scoped names of exception declarations).
  public var raises: [ScopedName]
  /// `context("…")` strings: accepted, carried, not used.
  public var contexts: [String]
  /// A procedure number, for front ends whose wire protocol numbers operations (ONC RPC).
  public var number: UInt32?
  /// The invocation semantics the IDL declares (`#pragma courier semantics`; at-least-once for an
  /// operation declared idempotent without one); nil when it declares none.
  public var semantics: OperationSemantics?
  /// Declared idempotent (`#pragma courier idempotent`): running it twice does no harm.
  public var idempotent: Bool
  public var location: SourceLocation
  public init(name: String, isOneway: Bool, returnType: IDLType, parameters: [Parameter], raises: [ScopedName],
              contexts: [String] = [], number: UInt32? = nil, semantics: OperationSemantics? = nil, idempotent: Bool = false,
              location: SourceLocation) {
    self.name = name
    self.isOneway = isOneway
    self.returnType = returnType
    self.parameters = parameters
    self.raises = raises
    self.contexts = contexts
    self.number = number
    self.semantics = semantics
    self.idempotent = idempotent
    self.location = location
  }
}

public struct Attribute: Hashable, Sendable {
  public var name: String
  public var type: IDLType
  public var isReadonly: Bool
  public var getRaises: [ScopedName]
  public var setRaises: [ScopedName]
  public var location: SourceLocation
  public init(name: String, type: IDLType, isReadonly: Bool, getRaises: [ScopedName] = [], setRaises: [ScopedName] = [],
              location: SourceLocation) {
    self.name = name
    self.type = type
    self.isReadonly = isReadonly
    self.getRaises = getRaises
    self.setRaises = setRaises
    self.location = location
  }
}

public struct InterfaceDeclaration: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable { case plain, local, abstract }
  public var info: DeclarationInfo
  public var kind: Kind
  /// Direct bases, in declaration order.
  public var bases: [ScopedName]
  /// Types, constants and exceptions declared inside the interface.
  public var definitions: [Definition]
  public var attributes: [Attribute]
  public var operations: [Operation]
  /// A program and version number, for front ends whose wire protocol numbers interfaces (ONC RPC).
  public var program: (number: UInt32, version: UInt32)? {
    get { programNumber.map { ($0, programVersion ?? 0) } }
    set { programNumber = newValue?.number; programVersion = newValue?.version }
  }
  public var programNumber: UInt32?
  public var programVersion: UInt32?
  public init(info: DeclarationInfo, kind: Kind, bases: [ScopedName], definitions: [Definition], attributes: [Attribute],
              operations: [Operation]) {
    self.info = info
    self.kind = kind
    self.bases = bases
    self.definitions = definitions
    self.attributes = attributes
    self.operations = operations
  }
}

/// A forward declaration (`interface X;`, `valuetype V;`): kept so generators can order code;
/// the full declaration is elsewhere in the model (or in another file).
public struct ForwardDeclaration: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable { case interface, localInterface, abstractInterface, valueType, structType, unionType }
  public var info: DeclarationInfo
  public var kind: Kind
  public init(info: DeclarationInfo, kind: Kind) {
    self.info = info
    self.kind = kind
  }
}

public struct StateMember: Hashable, Sendable {
  public var isPublic: Bool
  public var member: Member
  public init(isPublic: Bool, member: Member) {
    self.isPublic = isPublic
    self.member = member
  }
}

/// A `valuetype` (or `eventtype`), parsed; the code generator maps what it can.
public struct ValueTypeDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  public var isAbstract: Bool
  public var isCustom: Bool
  public var isTruncatable: Bool
  /// `valuetype V T;`: a value box of T.
  public var boxedType: IDLType?
  public var bases: [ScopedName]
  public var supports: [ScopedName]
  public var definitions: [Definition]
  public var state: [StateMember]
  public var attributes: [Attribute]
  public var operations: [Operation]
  /// `factory` initializers (name and `in` parameters).
  public var factories: [Operation]
  public init(info: DeclarationInfo, isAbstract: Bool = false, isCustom: Bool = false, isTruncatable: Bool = false,
              boxedType: IDLType? = nil, bases: [ScopedName] = [], supports: [ScopedName] = [], definitions: [Definition] = [],
              state: [StateMember] = [], attributes: [Attribute] = [], operations: [Operation] = [], factories: [Operation] = []) {
    self.info = info
    self.isAbstract = isAbstract
    self.isCustom = isCustom
    self.isTruncatable = isTruncatable
    self.boxedType = boxedType
    self.bases = bases
    self.supports = supports
    self.definitions = definitions
    self.state = state
    self.attributes = attributes
    self.operations = operations
    self.factories = factories
  }
}

public struct ModuleDeclaration: Hashable, Sendable {
  public var info: DeclarationInfo
  /// The module's definitions; a reopened module appears once per opening, in source order.
  public var definitions: [Definition]
  public init(info: DeclarationInfo, definitions: [Definition]) {
    self.info = info
    self.definitions = definitions
  }
}

/// One definition, in source order.
public indirect enum Definition: Hashable, Sendable {
  case module(ModuleDeclaration)
  case structure(StructDeclaration)
  case union(UnionDeclaration)
  case enumeration(EnumDeclaration)
  case typedef(TypedefDeclaration)
  case constant(ConstantDeclaration)
  case exception(ExceptionDeclaration)
  case interface(InterfaceDeclaration)
  case forward(ForwardDeclaration)
  case native(NativeDeclaration)
  case valueType(ValueTypeDeclaration)

  public var info: DeclarationInfo {
    switch self {
    case .module(let d): return d.info
    case .structure(let d): return d.info
    case .union(let d): return d.info
    case .enumeration(let d): return d.info
    case .typedef(let d): return d.info
    case .constant(let d): return d.info
    case .exception(let d): return d.info
    case .interface(let d): return d.info
    case .forward(let d): return d.info
    case .native(let d): return d.info
    case .valueType(let d): return d.info
    }
  }
}

/// The interface definition language a model was compiled from.
public enum SourceLanguage: String, Hashable, Sendable {
  /// OMG IDL (`.idl`), for GIOP and CDR.
  case omgIDL
  /// The ONC RPC language (RFC 5531 §12, rpcgen's `.x`), for ONC RPC and XDR.
  case rpcl
}

/// A whole compiled specification: the main file's definitions and those of its includes, in
/// source order, with an index by scoped name.
public struct InterfaceModel: Sendable {
  /// The file that was compiled (as given).
  public var mainFile: String
  /// The language the model was compiled from (which wire format its types are meant for).
  public var sourceLanguage: SourceLanguage = .omgIDL
  /// Every definition at global scope, included files' too (see `DeclarationInfo.isFromMainFile`).
  public var definitions: [Definition]
  /// Every named declaration by scoped name (full declarations win over forward ones; the
  /// last opening of a module wins).
  public private(set) var index: [ScopedName: Definition]
  /// Warnings the front end reported (the compilation succeeded), e.g. an unknown `#pragma courier`.
  public var warnings: [IDLDiagnostic]

  public init(mainFile: String, definitions: [Definition], warnings: [IDLDiagnostic] = [],
              sourceLanguage: SourceLanguage = .omgIDL) {
    self.mainFile = mainFile
    self.sourceLanguage = sourceLanguage
    self.definitions = definitions
    self.warnings = warnings
    var index: [ScopedName: Definition] = [:]
    func visit(_ d: Definition) {
      let name = d.info.scopedName
      if case .forward = d, index[name] != nil {
        // keep the full declaration
      } else {
        index[name] = d
      }
      switch d {
      case .module(let m): m.definitions.forEach(visit)
      case .interface(let i): i.definitions.forEach(visit)
      case .valueType(let v): v.definitions.forEach(visit)
      case .structure(let s): s.nested.forEach(visit)
      case .exception(let e): e.nested.forEach(visit)
      case .union(let u): u.nested.forEach(visit)
      default: break
      }
    }
    definitions.forEach(visit)
    self.index = index
  }

  /// The declaration `name` refers to.
  public func declaration(named name: ScopedName) -> Definition? { index[name] }

  /// Follows typedefs until a type that is not a typedef.
  public func resolvingTypedefs(_ type: IDLType) -> IDLType {
    var t = type
    var seen = 0
    while case .named(let n) = t, case .typedef(let td)? = index[n], seen < 64 {
      t = td.type
      seen += 1
    }
    return t
  }
}
