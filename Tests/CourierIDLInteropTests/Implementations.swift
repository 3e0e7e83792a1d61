import CourierCore
import CourierGIOP
import CourierWire
import Synchronization

// The Swift implementations of Everything.idl, with the semantics the C++ ones in
// Interop/omniorb/everything_server.cc and everything_client.cc follow:
// base_op x+1, derived_op y*2, echoes return their argument, inOutInout b=a*2 c=c+a,
// withResultAndOuts returns s+s, upper=uppercased s, n=n+len(s) (characters: the C++ side counts ISO 8859-1 bytes); fail(0) raises Empty, fail(c)
// raises Oops{c, "code c"}; fire(e) sets counter to len(e); makeItem activates a new Item;
// callMe calls cb.notify(message); self() returns the Tester itself.

final class TesterImplementation: Everything_Tester.Service {
  struct State {
    var counter: Int32 = 0
  }
  let state = Mutex(State())
  /// The server that activates new Items and whose ORB calls callbacks (set before serving).
  let server = Mutex<GIOPServer?>(nil)
  /// This object's own reference (for self()).
  let me = Mutex<ObjectReference?>(nil)

  var counter: Int32 { state.withLock { $0.counter } }
  func setCounter(_ value: Int32) { state.withLock { $0.counter = value } }
  var mood: Everything_Color { .green }
  func base_op(x: Int32) -> Int32 { x &+ 1 }
  func derived_op(y: Int32) -> Int32 { y &* 2 }
  func echoBasics(b: Everything_Basics) -> Everything_Basics { b }
  func echoOuter(o: Everything_Outer) -> Everything_Outer { o }
  func echoChoice(c: Everything_Choice) -> Everything_Choice { c }
  func echoFlag(f: Everything_Flag) -> Everything_Flag { f }
  func echoByColor(b: Everything_ByColor) -> Everything_ByColor { b }
  func echoNode(n: Everything_Node) -> Everything_Node { n }
  func echoAny(a: CORBAAny) -> CORBAAny { a }
  func echoMatrix(m: Everything_Matrix) -> Everything_Matrix { m }
  func echoBytes(data: Everything_Bytes) -> Everything_Bytes { data }
  func echoNames(names: Everything_FewNames) -> Everything_FewNames { names }
  func echoMoney(m: Everything_Money) -> Everything_Money { m }
  func inOutInout(a: Int32, c: Int32) -> (b: Int32, c: Int32) { (a &* 2, c &+ a) }
  func withResultAndOuts(s: String, n: Int32) -> (result: String, upper: String, n: Int32) {
    let upper = String(decoding: s.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 }, as: UTF8.self)
    return (s + s, upper, n &+ Int32(s.unicodeScalars.count))
  }
  func fail(code: Int32) throws {
    if code == 0 { throw Everything_Empty() }
    throw Everything_Oops(code: code, why: "code \(code)")
  }
  func fire(event: String) { state.withLock { $0.counter = Int32(event.unicodeScalars.count) } }
  func makeItem(id: Int32, name: String) throws -> Everything_Item.Client? {
    guard let server = server.withLock({ $0 }) else { throw RPCError(.internal, minor: 0, completion: .no, "no server") }
    return Everything_Item.Client(try server.activate(Everything_Item.Servant(ItemImplementation(id: id, name: name)),
                                                      typeID: Everything_Item.repositoryID))
  }
  func callMe(cb: Everything_Callback.Client?, message: String) throws {
    guard let cb else { throw RPCError(.badParam, minor: 0, completion: .no, "nil callback") }
    try cb.blocking.notify(message: message)
  }
  func `self`() -> ObjectReference? { me.withLock { $0 } }
  func withContext(x: Int32) {}
}

final class ItemImplementation: Everything_Item.Service {
  let id: Int32
  let nameBox: Mutex<String>
  init(id: Int32, name: String) {
    self.id = id
    self.nameBox = Mutex(name)
  }
  var name: String { nameBox.withLock { $0 } }
  func setName(_ value: String) { nameBox.withLock { $0 = value } }
}

final class CallbackImplementation: Everything_Callback.Service {
  let messages = Mutex<[String]>([])
  func notify(message: String) { messages.withLock { $0.append(message) } }
  func count() -> Int32 { Int32(messages.withLock { $0.count }) }
}
