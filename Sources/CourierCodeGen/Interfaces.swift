import CourierIDL

extension Emitter {
  /// The interface and all its ancestors, most derived first, each once.
  func lineage(_ i: InterfaceDeclaration) -> [InterfaceDeclaration] {
    var result: [InterfaceDeclaration] = []
    var seen: Set<ScopedName> = []
    var queue = [i]
    while !queue.isEmpty {
      let next = queue.removeFirst()
      guard seen.insert(next.info.scopedName).inserted else { continue }
      result.append(next)
      for base in next.bases {
        if case .interface(let b)? = declaration(base) { queue.append(b) }
      }
    }
    return result
  }

  /// One callable thing of an interface: an operation, or an attribute's getter or setter.
  struct Callable {
    var wireName: String
    var swiftName: String
    var isOneway: Bool
    var inputs: [(name: String, type: IDLType)]
    /// Return value first (label `result`), then out/inout values.
    var outputs: [(label: String, type: IDLType)]
    var raises: [ScopedName]
    enum Kind { case operation, getter, setter }
    var kind: Kind
    var attributeName: String = ""
    /// The operation has a `context(...)` clause: a (here empty) context travels after the arguments.
    var hasContext = false
    /// The invocation semantics the IDL declares (`#pragma courier semantics`/`idempotent`).
    var declared: OperationSemantics? = nil
  }

  func callables(of i: InterfaceDeclaration) -> [Callable] {
    var list: [Callable] = []
    for a in i.attributes {
      let id = SwiftNames.identifier(a.name)
      list.append(Callable(wireName: "_get_\(a.name)", swiftName: id, isOneway: false, inputs: [],
                           outputs: [("result", a.type)], raises: a.getRaises, kind: .getter, attributeName: a.name))
      if !a.isReadonly {
        list.append(Callable(wireName: "_set_\(a.name)", swiftName: "set" + SwiftNames.capitalized(a.name), isOneway: false,
                             inputs: [("value", a.type)], outputs: [], raises: a.setRaises, kind: .setter, attributeName: a.name))
      }
    }
    for op in i.operations {
      var outputs: [(label: String, type: IDLType)] = []
      let outNames = Set(op.parameters.filter { $0.direction != .in }.map(\.name))
      if op.returnType != .void { outputs.append((outNames.contains("result") ? "_result" : "result", op.returnType)) }
      for p in op.parameters where p.direction != .in { outputs.append((p.name, p.type)) }
      list.append(Callable(wireName: op.name, swiftName: SwiftNames.identifier(op.name), isOneway: op.isOneway,
                           inputs: op.parameters.filter { $0.direction != .out }.map { ($0.name, $0.type) },
                           outputs: outputs, raises: op.raises, kind: .operation, hasContext: !op.contexts.isEmpty,
                           declared: op.semantics))
    }
    return list
  }

  func resultType(_ c: Callable) -> String {
    switch c.outputs.count {
    case 0: return "Void"
    case 1: return swiftType(c.outputs[0].type)
    default: return "(" + c.outputs.map { "\(SwiftNames.identifier($0.label)): \(swiftType($0.type))" }.joined(separator: ", ") + ")"
    }
  }

  /// The name of the call-options parameter: `options`, unless the operation has a parameter of that name.
  func optionsName(_ c: Callable) -> String {
    c.inputs.contains { $0.name == "options" } ? "callOptions" : "options"
  }

  func parameterList(_ c: Callable, withOptions: Bool) -> String {
    var parts = c.inputs.map { SwiftNames.parameter($0.name, swiftType($0.type)) }
    if c.kind == .setter { parts = ["_ value: \(swiftType(c.inputs[0].type))"] }
    if withOptions { parts.append("\(optionsName(c)): CallOptions? = nil") }
    return parts.joined(separator: ", ")
  }

  /// `, declared: .atMostOnce` for an operation the IDL declares semantics for; nothing otherwise
  /// (the stub then generates exactly what it did before semantics could be declared).
  func declaredArgument(_ c: Callable) -> String {
    c.declared.map { ", declared: .\($0.rawValue)" } ?? ""
  }

  func raisesList(_ c: Callable) -> String {
    "[" + c.raises.map { "\(swiftName($0)).self" }.joined(separator: ", ") + "]"
  }

  /// The closure body that marshals a callable's inputs.
  func argumentWriter(_ c: Callable) -> String {
    if c.inputs.isEmpty && !c.hasContext { return "{ _ in }" }
    var statements = c.inputs.map { write($0.type, c.kind == .setter ? "value" : SwiftNames.parameterReference($0.name), "_w") }
    // The Context (a sequence<string> of name/value pairs) follows the arguments: Courier sends none.
    if c.hasContext { statements.append("_w.write(UInt32(0))") }
    return "{ _w in " + statements.joined(separator: "; ") + " }"
  }

  /// An expression reading a callable's outputs from `_r`.
  func resultReader(_ c: Callable) -> String {
    switch c.outputs.count {
    case 0: return "()"
    case 1: return read(c.outputs[0].type, "_r")
    default: return "(" + c.outputs.map { "\(SwiftNames.identifier($0.label)): \(read($0.type, "_r"))" }.joined(separator: ", ") + ")"
    }
  }

  // MARK: - the interface

  mutating func interface(_ i: InterfaceDeclaration) {
    if i.kind != .plain {
      // No stubs or skeletons (a local interface is never called remotely; abstract
      // interfaces are not mapped yet), but the types, constants and exceptions declared in
      // it are generated, because other declarations use them.
      warnUnsupported(i.info, i.kind == .local ? "local interface" : "abstract interface")
      out.line(doc(i.info, "\(i.kind.rawValue) interface") + " No stubs: only its nested declarations.")
      out.line("\(access) enum \(declaredName(i.info)) {")
      member("\(access) static let repositoryID = \(SwiftNames.stringLiteral(i.info.repositoryID))")
      nestingDepth += 1
      for d in i.definitions where d.isFromMainFileDeep {
        member("")
        indentedDefinition(d)
      }
      nestingDepth -= 1
      out.line("}")
      return
    }
    let name = declaredName(i.info)
    let all = lineage(i)
    let idl = "\(i.info.scopedName)"
    out.line(doc(i.info, "interface"))
    out.line("\(access) enum \(name) {")
    member("\(access) static let repositoryID = \(SwiftNames.stringLiteral(i.info.repositoryID))")
    member("/// This interface's repository id and its bases', for `_is_a`.")
    member("\(access) static let repositoryIDs: [String] = [\(all.map { SwiftNames.stringLiteral($0.info.repositoryID) }.joined(separator: ", "))]")
    let everything = all.flatMap { callables(of: $0) }
    let declared = everything.filter { $0.declared != nil && !$0.isOneway }
    if !declared.isEmpty {
      member("/// The invocation semantics the IDL declares, by operation (only operations that declare one).")
      member("\(access) static let operationSemantics: [String: InvocationSemantics] = [")
      for c in declared { member("  \(SwiftNames.stringLiteral(c.wireName)): .\(c.declared!.rawValue),") }
      member("]")
    }
    nestingDepth += 1
    for d in i.definitions where d.isFromMainFileDeep {
      member("")
      indentedDefinition(d)
    }
    nestingDepth -= 1
    let typeName = swiftName(i.info.scopedName)

    // Client (async).
    member("")
    member("/// Calls `\(idl)` objects. Every method is one remote invocation.")
    member("\(access) struct Client: ObjectStub, Hashable {")
    member("  \(access) static var repositoryID: String { \(typeName).repositoryID }")
    member("  \(access) let reference: ObjectReference")
    member("  \(access) init(_ reference: ObjectReference) { self.reference = reference }")
    if !declared.isEmpty {
      member("  /// The invocation semantics the IDL declares, by operation.")
      member("  \(access) static var operationSemantics: [String: InvocationSemantics] { \(typeName).operationSemantics }")
    }
    member("  /// The same calls for code that runs on its own threads: they block the caller.")
    member("  \(access) var blocking: Blocking { Blocking(reference) }")
    for c in everything { stubMethod(c, async: true) }
    member("}")

    // Blocking.
    member("")
    member("/// Calls `\(idl)` objects, blocking the calling thread until the reply (for thread-based code).")
    member("\(access) struct Blocking: Sendable {")
    member("  \(access) let reference: ObjectReference")
    member("  \(access) init(_ reference: ObjectReference) { self.reference = reference }")
    member("  /// The stub for `reference` if the object is a `\(idl)` (asked with `_is_a` if the IOR does not say).")
    member("  \(access) static func narrow(_ reference: ObjectReference) throws -> Blocking {")
    member("    Blocking(try reference.narrow(to: \(typeName).repositoryID))")
    member("  }")
    for c in everything { stubMethod(c, async: false) }
    member("}")

    // Service protocol.
    var refined: [String] = []
    var folded: [InterfaceDeclaration] = [i]
    for base in i.bases {
      if case .interface(let b)? = declaration(base), b.kind == .plain {
        refined.append("\(swiftName(base)).Service")
      } else if case .interface(let b)? = declaration(base) {
        folded += lineage(b)
      }
    }
    member("")
    member("/// What a `\(idl)` object does: implement it and serve it with ``Servant``.")
    member("/// Calls run on the server's connection threads; throw a declared IDL exception or an `RPCError`.")
    member("\(access) protocol Service: \(refined.isEmpty ? "Sendable" : refined.joined(separator: ", ")) {")
    for c in folded.flatMap({ callables(of: $0) }) {
      switch c.kind {
      case .getter: member("  var \(c.swiftName): \(resultType(c)) { get throws }")
      case .setter, .operation:
        let result = c.outputs.isEmpty ? "" : " -> \(resultType(c))"
        member("  func \(c.swiftName)(\(parameterList(c, withOptions: false))) throws\(result)")
      }
    }
    member("}")

    // Servant (skeleton).
    member("")
    member("/// The skeleton: serves a ``Service`` under an object key (`adapter.activate(Servant(impl), key:)`).")
    member("\(access) final class Servant: CourierCore.Servant {")
    member("  \(access) let service: any Service")
    member("  \(access) init(_ service: any Service) { self.service = service }")
    member("  \(access) var repositoryIDs: [String] { \(typeName).repositoryIDs }")
    member("")
    member("  \(access) func dispatch(_ request: inout ServerRequest) throws {")
    member("    switch request.operation {")
    for c in everything { skeletonCase(c) }
    member("    default:")
    member("      throw request.unknownOperation(interface: \(SwiftNames.stringLiteral(idl)))")
    member("    }")
    member("  }")
    member("}")
    out.line("}")
  }

  /// One stub method (async in `Client`, blocking in `Blocking`).
  mutating func stubMethod(_ c: Callable, async: Bool) {
    let effects = async ? "async throws" : "throws"
    let awaitKeyword = async ? "try await" : "try"
    let reply = async ? "_box" : "_reply"
    let bind = async ? "let" : "var"
    member("")
    switch c.kind {
    case .getter:
      member("  /// `\(c.wireName)`")
      member("  \(access) var \(c.swiftName): \(resultType(c)) {")
      member("    get \(effects) {")
      member("      \(bind) \(reply) = \(awaitKeyword) self.reference.invoke(\(SwiftNames.stringLiteral(c.wireName)), userExceptions: \(raisesList(c)))")
      member("      return try \(reply).decode(orb: self.reference.orb) { _r in \(resultReader(c)) }")
      member("    }")
      member("  }")
    case .setter, .operation:
      let result = c.outputs.isEmpty ? "" : " -> \(resultType(c))"
      member("  /// `\(c.wireName)`\(c.isOneway ? " (oneway: no reply, no error from the server)" : "")")
      member("  \(access) func \(c.swiftName)(\(parameterList(c, withOptions: !c.isOneway))) \(effects)\(result) {")
      if c.isOneway {
        member("    try self.reference.invokeOneway(\(SwiftNames.stringLiteral(c.wireName))) \(argumentWriter(c))")
      } else if c.outputs.isEmpty {
        member("    _ = \(awaitKeyword) self.reference.invoke(\(SwiftNames.stringLiteral(c.wireName)), userExceptions: \(raisesList(c)), options: \(optionsName(c))\(declaredArgument(c))) \(argumentWriter(c))")
      } else {
        member("    \(bind) \(reply) = \(awaitKeyword) self.reference.invoke(\(SwiftNames.stringLiteral(c.wireName)), userExceptions: \(raisesList(c)), options: \(optionsName(c))\(declaredArgument(c))) \(argumentWriter(c))")
        member("    return try \(reply).decode(orb: self.reference.orb) { _r in \(resultReader(c)) }")
      }
      member("  }")
    }
  }

  /// One `case` of the skeleton's dispatch switch.
  mutating func skeletonCase(_ c: Callable) {
    member("    case \(SwiftNames.stringLiteral(c.wireName)):")
    let locals = c.inputs.map { "_" + $0.name }
    switch c.inputs.count {
    case 0: break
    case 1: member("      let \(locals[0]) = try request.decodeArguments { _r in \(read(c.inputs[0].type, "_r")) }")
    default:
      let reads = c.inputs.map { read($0.type, "_r") }.joined(separator: ", ")
      member("      let (\(locals.joined(separator: ", "))) = try request.decodeArguments { _r in (\(reads)) }")
    }
    if c.hasContext {
      member("      _ = try request.decodeArguments { _r in try _r.readSequence(minimumElementSize: 5) { _r0 in try _r0.readString() } }  // the Context, unused")
    }
    let call: String
    switch c.kind {
    case .getter: call = "try service.\(c.swiftName)"
    case .setter: call = "try service.\(c.swiftName)(\(locals[0]))"
    case .operation:
      let args = zip(c.inputs, locals).map { "\(SwiftNames.label($0.0.name)): \($0.1)" }.joined(separator: ", ")
      call = "try service.\(c.swiftName)(\(args))"
    }
    if c.outputs.isEmpty || c.isOneway {
      member("      \(call)")
      return
    }
    member("      let _out = \(call)")
    let writes: [String]
    if c.outputs.count == 1 {
      writes = [write(c.outputs[0].type, "_out", "_w")]
    } else {
      writes = c.outputs.map { write($0.type, "_out.\(SwiftNames.identifier($0.label))", "_w") }
    }
    member("      try request.encodeResults { _w in \(writes.joined(separator: "; ")) }")
  }
}
