import CourierActorsShim
import Distributed
import Glibc
import Synchronization

/// Lets a distributed actor type (or a `@Resolvable` protocol, through an extension) pin the
/// names its methods have on the wire, instead of the derived ones.
///
/// ```swift
/// extension Greeter {
///   public static var courierOperationNames: [String: String] { ["greet(name:times:)": "hello"] }
/// }
/// ```
/// Keys are Swift selectors (`add(_:_:)`, `area()`); values are GIOP operation names. Pin a
/// name on both sides: the client's type (the `$Greeter` stub conforms through the protocol)
/// and the server's.
public protocol CourierOperationNaming {
  /// Wire names by Swift selector.
  static var courierOperationNames: [String: String] { get }
}

/// Lets a distributed actor type say which repository id its references carry (what
/// `_is_a` answers, and what an exported IDL interface is called); by default
/// `IDL:Module/Type:1.0` from the type's qualified Swift name.
public protocol CourierRepositoryIdentified {
  static var courierRepositoryID: String { get }
}

/// How a distributed method's name on the wire is derived (the rule `courier-idl export`
/// uses too): the base name, then `_label` for each parameter with an argument label.
///
/// `greet(name:times:)` → `greet_name_times`, `area()` → `area`, `add(_:_:)` → `add`,
/// `describe(_:with:)` → `describe_with`. Parameter types play no part, so changing one does
/// not change the name (overloads that differ only in types must pin their names).
public enum OperationNaming {
  /// The wire name for a method `baseName` whose parameters have `labels` (nil: no label).
  public static func wireName(baseName: String, labels: [String?]) -> String {
    var name = baseName
    for case let label? in labels where label != "_" { name += "_" + label }
    return name
  }

  /// The Swift selector `base(a:_:)` for a method.
  public static func selector(baseName: String, labels: [String?]) -> String {
    baseName + "(" + labels.map { ($0 ?? "_") + ":" }.joined() + ")"
  }

  /// The parts of a distributed thunk's demangled name
  /// (`distributed thunk M.T.greet(name: Swift.String, times: Swift.Int) async throws -> R`):
  /// the qualified type name, the base name and the argument labels; nil if it is not one.
  public static func parseThunk(demangled text: String) -> (typeName: String, baseName: String, labels: [String?])? {
    let prefix = "distributed thunk "
    guard text.hasPrefix(prefix) else { return nil }
    let chars = Array(text.dropFirst(prefix.count))
    // The parameter list opens at the first "(" outside angle brackets.
    var depth = 0
    var open: Int?
    for (i, c) in chars.enumerated() {
      if c == "<" { depth += 1 } else if c == ">" { depth -= 1 } else if c == "(" && depth == 0 { open = i; break }
    }
    guard let open, let dot = chars[..<open].lastIndex(of: ".") else { return nil }
    let typeName = String(chars[..<dot])
    let baseName = String(chars[(dot + 1)..<open])
    // Split the parameter list at top-level commas.
    var params: [String] = []
    var current = ""
    depth = 0
    var close: Int?
    for i in (open + 1)..<chars.count {
      let c = chars[i]
      switch c {
      case "(", "<", "[": depth += 1
      case ")" where depth == 0: close = i
      case ")", ">", "]": depth -= 1
      case "," where depth == 0:
        params.append(current.trimmingSpaces())
        current = ""
        continue
      default: break
      }
      if close != nil { break }
      current.append(c)
    }
    guard close != nil else { return nil }
    if !current.trimmingSpaces().isEmpty { params.append(current.trimmingSpaces()) }
    // "label: Type" or "_: Type" when some parameter has a label; bare types when none does.
    let labels: [String?] = params.map { p in
      guard let colon = p.firstIndex(of: ":"), p[p.index(after: colon)...].hasPrefix(" ") else { return nil }
      let label = String(p[..<colon])
      guard !label.isEmpty, label != "_", label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
      return label
    }
    return (typeName, baseName, labels)
  }

  /// Demangles a Swift symbol with the runtime's demangler.
  static func demangle(_ symbol: String) -> String? {
    symbol.withCString { p in
      guard let out = _courierDemangle(p, strlen(p), nil, nil, 0) else { return nil }
      defer { free(out) }
      return String(cString: out)
    }
  }
}

@_silgen_name("swift_demangle")
private func _courierDemangle(
  _ mangledName: UnsafePointer<CChar>?, _ length: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
  _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

extension String {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while s.first == " " { s.removeFirst() }
    while s.last == " " { s.removeLast() }
    return String(s)
  }
}

/// One distributed method as the wire sees it.
struct DistributedOperation: Sendable {
  /// The Swift selector (`greet(name:times:)`).
  let selector: String
  /// The GIOP operation name.
  let wireName: String
  /// The mangled name the runtime finds the method's distributed thunk by.
  let mangledName: String
}

/// The distributed methods of every distributed actor type in this program, found in the
/// `swift5_accessible_functions` section (the table the runtime's `executeDistributedTarget`
/// uses), and the wire names of call targets.
///
/// A server needs it because CORBA clients send only a readable operation name; a Courier
/// client needs it to turn the mangled ``RemoteCallTarget`` into that name.
final class OperationDirectory: Sendable {
  static let shared = OperationDirectory()

  /// Methods by qualified type name (`Module.Type`), from the section; built once.
  private let byType: [String: [(selector: String, baseName: String, labels: [String?], mangled: String)]]
  /// Resolved tables per type, with pinned names applied.
  private let tables = Mutex<[ObjectIdentifier: OperationTable]>([:])
  /// Wire names per call-target identifier and stub type.
  private let wireNames = Mutex<[String: String]>([:])

  init() {
    var found: [String: [(String, String, [String?], String)]] = [:]
    if let start = courier_accessible_functions_start(), let end = courier_accessible_functions_end() {
      // Each record is five 32-bit relative pointers (name, generic environment, function
      // type, function, flags); the first is the mangled name.
      let recordSize = 5 * MemoryLayout<Int32>.size
      var p = start
      while p + recordSize <= end {
        let offset = p.load(as: Int32.self)
        let name = String(cString: (p + Int(offset)).assumingMemoryBound(to: CChar.self))
        if let text = OperationNaming.demangle(name), let parts = OperationNaming.parseThunk(demangled: text) {
          found[parts.typeName, default: []].append(
            (OperationNaming.selector(baseName: parts.baseName, labels: parts.labels), parts.baseName, parts.labels, name))
        }
        p += recordSize
      }
    }
    byType = found
  }

  /// The operations of `type` (its own distributed methods), with pinned names applied.
  func table(for type: any DistributedActor.Type) -> OperationTable {
    let key = ObjectIdentifier(type)
    if let table = tables.withLock({ $0[key] }) { return table }
    let pinned = (type as? any CourierOperationNaming.Type)?.courierOperationNames ?? [:]
    var operations: [String: DistributedOperation] = [:]
    var ambiguous: [String: [String]] = [:]
    for m in byType[String(reflecting: type)] ?? [] {
      let wire = pinned[m.selector] ?? OperationNaming.wireName(baseName: m.baseName, labels: m.labels)
      if let other = operations[wire], other.mangledName != m.mangled {
        ambiguous[wire, default: [other.selector]].append(m.selector)
        continue
      }
      operations[wire] = DistributedOperation(selector: m.selector, wireName: wire, mangledName: m.mangled)
    }
    for name in ambiguous.keys { operations[name] = nil }
    let table = OperationTable(operations: operations, ambiguous: ambiguous)
    tables.withLock { $0[key] = table }
    return table
  }

  /// The wire name of a call target made through `type` (the concrete actor, or a
  /// `@Resolvable` protocol's stub).
  func wireName(for target: RemoteCallTarget, on type: any DistributedActor.Type) -> String {
    let key = target.identifier
    if let name = wireNames.withLock({ $0[key] }) { return name }
    let name: String
    if let text = OperationNaming.demangle(key), let parts = OperationNaming.parseThunk(demangled: text) {
      let selector = OperationNaming.selector(baseName: parts.baseName, labels: parts.labels)
      let pinned = (type as? any CourierOperationNaming.Type)?.courierOperationNames ?? [:]
      name = pinned[selector] ?? OperationNaming.wireName(baseName: parts.baseName, labels: parts.labels)
    } else {
      name = key  // not a thunk name the demangler knows: send it as it is
    }
    wireNames.withLock { $0[key] = name }
    return name
  }
}

/// The operations one distributed actor type serves, by wire name.
struct OperationTable: Sendable {
  let operations: [String: DistributedOperation]
  /// Wire names two methods derive to (neither is served; pin one with ``CourierOperationNaming``).
  let ambiguous: [String: [String]]
}
