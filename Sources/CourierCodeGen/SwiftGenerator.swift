public import CourierIDL

/// Generates Swift from an ``InterfaceModel``: types with direct CDR marshalling, and for each
/// interface a client stub (async and blocking), a servant protocol and a skeleton. A model
/// compiled from RPCL (`.x`) is handed to ``XDRGenerator`` (XDR types and ONC RPC stubs).
///
/// ```swift
/// let model = try IDLFrontEnd.compile(file: "Person.idl")
/// let output = SwiftGenerator(options: .init()).generate(model)
/// try output.source.write(to: …)   // diagnostics in output.diagnostics
/// ```
///
/// The mapping:
/// - a module is a name prefix (`CosNaming::Name` is `CosNaming_Name`), so that modules reopened
///   in several files never declare one Swift type twice; types declared in an interface, struct,
///   union or exception are nested Swift types (`CosNaming_NamingContext.NotFound`);
/// - struct → `struct` (`Hashable`, `Sendable`), enum → `enum: UInt32`, union → `enum` with one
///   case per member (carrying the discriminator when a case has several labels or is the
///   default, and an `unset(discriminator:)` case when there is no default), exception → a
///   `UserException` struct, typedef → `typealias`, const → `let`;
/// - `string`/`wstring` → `String`, `char`/`wchar` → `Unicode.Scalar`, `sequence<octet>` →
///   `[UInt8]` (copied in one go), other sequences and arrays → arrays (bounds and lengths checked
///   when marshalling), `any` → `CORBAAny`, `TypeCode` → `TypeCode`, `fixed` → `CDRFixed`,
///   `Object` → `ObjectReference?`, an interface → its `Client?`;
/// - interface `I` → `enum I` holding `Client` (async), `Blocking` (for threads), protocol
///   `Service` (the implementation) and class `Servant` (the skeleton, for the object adapter).
///   `out`/`inout` parameters come back with the result as a tuple.
public struct SwiftGenerator: Sendable {
  public struct Options: Sendable {
    /// The access level of everything generated: `public`, `package` or `internal`.
    public var accessLevel: String
    /// A prefix for every top-level Swift name (`Demo_Person` → `MyDemo_Person` with `MyDemo_`).
    public var namePrefix: String

    public init(accessLevel: String = "public", namePrefix: String = "") {
      self.accessLevel = accessLevel
      self.namePrefix = namePrefix
    }
  }

  /// The generated source and what the generator has to say about it.
  public struct Output: Sendable {
    public var source: String
    /// Warnings for constructs that were mapped to ``UnsupportedIDLValue`` or left out.
    public var diagnostics: [IDLDiagnostic]
  }

  public var options: Options

  public init(options: Options = Options()) { self.options = options }

  /// Generates the Swift for the main file's declarations (included files' declarations are
  /// referred to by name: generate them from their own files into the same module).
  public func generate(_ model: InterfaceModel) -> Output {
    if model.sourceLanguage == .rpcl { return XDRGenerator(options: options).generate(model) }
    var emitter = Emitter(model: model, options: options)
    for definition in model.definitions where definition.isFromMainFileDeep {
      emitter.definition(definition)
    }
    let body = emitter.out.text
    var header = Emitter(model: model, options: options)
    header.header(body: body)
    return Output(source: header.out.text + body, diagnostics: emitter.diagnostics)
  }
}

extension Definition {
  /// True if this definition, or (for a module) anything in it, comes from the main file.
  var isFromMainFileDeep: Bool {
    if case .module(let m) = self { return m.definitions.contains { $0.isFromMainFileDeep } }
    return info.isFromMainFile
  }
}

/// Accumulates indented lines.
struct CodePrinter {
  private(set) var text = ""
  private var indent = 0

  mutating func line(_ s: String = "") {
    if s.isEmpty {
      text += "\n"
    } else {
      text += String(repeating: "  ", count: indent) + s + "\n"
    }
  }

  mutating func block(_ opening: String, _ body: (inout CodePrinter) -> Void) {
    line(opening + " {")
    indent += 1
    body(&self)
    indent -= 1
    line("}")
  }

  mutating func indented(_ body: (inout CodePrinter) -> Void) {
    indent += 1
    body(&self)
    indent -= 1
  }
}
