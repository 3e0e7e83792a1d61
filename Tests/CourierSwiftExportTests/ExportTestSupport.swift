import CourierIDL
import CourierSwiftExport
import Foundation
import Testing

/// The runtime engineer's example module: what `courier-idl export` is for.
let shapesSource = """
  import Distributed
  import CourierActors
  public struct Rectangle: Codable, Sendable { public var width: Int32; public var height: Int32; public var x: Int32; public var y: Int32 }
  public struct GraphicalObject: Codable, Sendable { public var type: String; public var enclosing: Rectangle; public var isFilled: Bool }
  public distributed actor Shape { public typealias ActorSystem = CourierActorSystem
    distributed public func getVersion() -> Int32 { 1 }
    distributed public func getAllState() -> GraphicalObject { fatalError() } }
  public distributed actor ShapeList { public typealias ActorSystem = CourierActorSystem
    distributed public func newShape(_ g: GraphicalObject) throws -> Shape { fatalError() }
    distributed public func allShapes() -> [Shape] { [] }
    distributed public func getVersion() -> Int32 { 1 } }
  @Resolvable public protocol Greeter: DistributedActor where ActorSystem == CourierActorSystem {
    distributed func greet(name: String, times: Int32) async throws -> String }
  """

/// Exports `source` (as `t.swift`) in module `module`, failing the test with the diagnostics if
/// the export fails.
func export(_ source: String, module: String = "Shapes", sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
  do {
    return try SwiftIDLExporter(options: .init(swiftModule: module)).export([.init(path: "t.swift", text: source)]).idl
  } catch {
    Issue.record("export failed:\n\(error)", sourceLocation: sourceLocation)
    throw error
  }
}

/// The diagnostics exporting `source` (as `t.swift`) gives: errors if it fails, else warnings.
func exportDiagnostics(_ source: String, module: String = "Shapes") -> [String] {
  do {
    return try SwiftIDLExporter(options: .init(swiftModule: module)).export([.init(path: "t.swift", text: source)]).warnings.map(\.description)
  } catch {
    return error.diagnostics.map(\.description)
  }
}

/// The IDL between the outer module's braces (without the header and module Courier), for
/// comparing small cases.
func body(_ idl: String, module: String = "Shapes") -> String {
  guard let start = idl.range(of: "module \(module) {\n") else { return idl }
  var rest = idl[start.upperBound...]
  if rest.hasSuffix("};\n") { rest = rest.dropLast(3) }
  return String(rest)
}

/// Compiles exported IDL with Courier's own front end, failing the test if it does not compile.
func compileIDL(_ idl: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> InterfaceModel {
  do {
    return try IDLFrontEnd.compile(source: idl, fileName: "export.idl")
  } catch {
    Issue.record("CourierIDL rejects the exported IDL:\n\(error)\n\(idl)", sourceLocation: sourceLocation)
    throw error
  }
}

extension InterfaceModel {
  /// The interface named `A::B` (test shorthand).
  func interface(_ name: String) -> InterfaceDeclaration? {
    guard case .interface(let i)? = declaration(named: ScopedName(name.split(separator: "::").map(String.init))) else { return nil }
    return i
  }

  func structure(_ name: String) -> StructDeclaration? {
    guard case .structure(let s)? = declaration(named: ScopedName(name.split(separator: "::").map(String.init))) else { return nil }
    return s
  }
}
