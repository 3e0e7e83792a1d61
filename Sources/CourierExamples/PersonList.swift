import Logging
public import CourierCore
public import CourierGIOP
public import CourierWire
import Synchronization

/// The seeds' example (`shared/seeds/000_…txt`, "Interface"):
/// ```idl
/// module Demo {
///   struct Person { string name; string place; long year; };
///   exception NotFound { string name; };
///   interface PersonList {
///     readonly attribute string listname;
///     void addPerson(in Person p);
///     void getPerson(in string name, out Person p) raises (NotFound);
///     long number();
///   };
/// };
/// ```
/// Stub and skeleton by hand; `Person` goes through the `Codable` bridge.
public enum Demo {
  public static let personListID = "IDL:Demo/PersonList:1.0"

  public struct Person: Codable, Sendable, Equatable, CDRCodable {
    public var name: String
    public var place: String
    public var year: Int32
    public init(name: String, place: String, year: Int32) {
      self.name = name
      self.place = place
      self.year = year
    }
    public func encode(to writer: inout CDRWriter) throws {
      try CDREncoder(byteOrder: writer.byteOrder, giopMinor: writer.giopMinor, codeSets: writer.codeSets).encode(self, into: &writer)
    }
    public init(from reader: inout CDRReader) throws {
      self = try CDRDecoder().decode(Person.self, from: &reader)
    }
  }

  public struct NotFound: UserException, Equatable {
    public static let repositoryID = "IDL:Demo/NotFound:1.0"
    public var name: String
    public init(name: String) { self.name = name }
    public func encode(to writer: inout CDRWriter) throws { try writer.writeString(name) }
    public init(from reader: inout CDRReader) throws { name = try reader.readString() }
  }
}

/// The PersonList servant: a list of people in memory.
public final class PersonListServant: Servant {
  let people = Mutex<[Demo.Person]>([])
  public let listname: String
  public init(listname: String) { self.listname = listname }
  public var repositoryIDs: [String] { [Demo.personListID] }

  public func dispatch(_ request: inout ServerRequest) throws {
    switch request.operation {
    case "_get_listname":
      try request.write(listname)
    case "addPerson":
      let p: Demo.Person = try request.read()
      request.logger.info("addPerson")
      people.withLock { $0.append(p) }
    case "getPerson":
      let name: String = try request.read()
      guard let p = people.withLock({ $0.first { $0.name == name } }) else { throw Demo.NotFound(name: name) }
      try request.write(p)
    case "number":
      request.reply.write(Int32(people.withLock { $0.count }))
    default:
      throw RPCError(.badOperation, minor: CourierMinor.noSuchOperation, completion: .no,
                     "Demo::PersonList has no operation \(request.operation)")
    }
  }
}

/// The PersonList stub.
public struct PersonListStub: Sendable {
  public let reference: ObjectReference
  public init(_ reference: ObjectReference) { self.reference = reference }

  public static func narrow(_ reference: ObjectReference) throws -> PersonListStub {
    PersonListStub(try reference.narrow(to: Demo.personListID))
  }

  public var listname: String {
    get throws {
      var reply = try reference.invoke("_get_listname")
      return try reply.read()
    }
  }

  public func addPerson(_ p: Demo.Person) throws {
    _ = try reference.invoke("addPerson") { w in try p.encode(to: &w) }
  }

  /// `void getPerson(in string name, out Person p) raises (NotFound)`: the out parameter is the result.
  public func getPerson(_ name: String) throws -> Demo.Person {
    var reply = try reference.invoke("getPerson", userExceptions: [Demo.NotFound.self]) { w in try w.writeString(name) }
    return try reply.read()
  }

  public func number() throws -> Int32 {
    var reply = try reference.invoke("number")
    return try reply.read()
  }
}
