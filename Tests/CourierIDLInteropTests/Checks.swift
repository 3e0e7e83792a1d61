import CourierCore
import CourierGIOP
import CourierWire
import Synchronization

/// Every operation and attribute of Everything::Tester, called with non-trivial values and
/// compared with what the semantics (Implementations.swift) say. Used against Courier's own
/// servant and against omniORB's C++ servant.
struct EverythingChecks {
  var passed: [String] = []
  var failed: [String] = []

  mutating func check(_ name: String, _ body: () throws -> String?) {
    do {
      if let problem = try body() { failed.append("\(name): \(problem)") } else { passed.append(name) }
    } catch {
      failed.append("\(name): threw \(error)")
    }
  }

  mutating func expectEqual<T: Equatable>(_ name: String, _ got: @autoclosure () throws -> T, _ expected: T) {
    check(name) {
      let g = try got()
      return g == expected ? nil : "expected \(expected), got \(g)"
    }
  }

  static let basics = Everything_Basics(
    s: -12345, us: 65535, l: Int32.min, ul: 4_000_000_000, ll: -9_000_000_000_000, ull: UInt64.max,
    f: 1.5, d: -2.25e-10, b: true, c: "q", wc: "\u{4E2D}", o: 0xAB, str: "plain ascii", wstr: "wide \u{E9}\u{4E2D}\u{1F600}")

  static func node(_ depth: Int, _ name: String) -> Everything_Node {
    Everything_Node(name: name, children: depth == 0 ? [] : (0..<2).map { node(depth - 1, "\(name).\($0)") })
  }

  /// Runs every check. `callback` is a Callback object served by the caller, `received` what it got.
  static func run(_ t: Everything_Tester.Blocking, callback: Everything_Callback.Client, received: CallbackImplementation) -> EverythingChecks {
    var c = EverythingChecks()
    c.expectEqual("base_op", try t.base_op(x: 41), 42)
    c.expectEqual("derived_op", try t.derived_op(y: 21), 42)
    c.check("counter") {
      try t.setCounter(77)
      let v = try t.counter
      return v == 77 ? nil : "got \(v)"
    }
    c.expectEqual("mood", try t.mood, .green)
    c.expectEqual("echoBasics", try t.echoBasics(b: basics), basics)
    let outer = Everything_Outer(
      first: .init(id: 1, label: "first"), inners: [.init(id: 2, label: "two"), .init(id: 3, label: "three")],
      pair: [.init(id: -4, label: ""), .init(id: 5, label: "five")], shade: .blue, name: "eightchr",
      price: CDRFixed("123.45")!, numbers: [1, -2, 3])
    c.expectEqual("echoOuter", try t.echoOuter(o: outer), outer)
    for choice in [Everything_Choice.number(7, discriminator: 1), .number(-8, discriminator: 2), .text("three"),
                   .other(4.5, discriminator: 42)] {
      c.expectEqual("echoChoice \(choice)", try t.echoChoice(c: choice), choice)
    }
    c.expectEqual("echoFlag yes", try t.echoFlag(f: .yes("y")), .yes("y"))
    c.expectEqual("echoFlag implicit default", try t.echoFlag(f: .unset(discriminator: false)), .unset(discriminator: false))
    for b in [Everything_ByColor.r(9), .gb(.init(id: 1, label: "g"), discriminator: .green), .gb(.init(id: 2, label: "b"), discriminator: .blue)] {
      c.expectEqual("echoByColor \(b.discriminator)", try t.echoByColor(b: b), b)
    }
    c.expectEqual("echoNode", try t.echoNode(n: node(3, "root")), node(3, "root"))
    c.check("echoAny long") {
      let back = try t.echoAny(a: try CORBAAny(Int32(-99)))
      return try back.extract(Int32.self) == -99 ? nil : "got \(back)"
    }
    c.check("echoAny string") {
      let back = try t.echoAny(a: try CORBAAny("any text"))
      return try back.extract(String.self) == "any text" ? nil : "got \(back)"
    }
    c.check("echoAny struct") {
      let inner = Everything_Inner(id: 12, label: "in an any")
      let back = try t.echoAny(a: try CORBAAny(inner))
      return try back.extract(Everything_Inner.self) == inner ? nil : "got \(back)"
    }
    c.check("echoAny enum") {
      let back = try t.echoAny(a: try CORBAAny(Everything_Color.blue))
      return try back.extract(Everything_Color.self) == .blue ? nil : "got \(back)"
    }
    c.check("echoAny union") {
      let back = try t.echoAny(a: try CORBAAny(Everything_Choice.text("u")))
      return try back.extract(Everything_Choice.self) == .text("u") ? nil : "got \(back)"
    }
    c.expectEqual("echoMatrix", try t.echoMatrix(m: [[1, 2, 3], [4, 5, 6]]), [[1, 2, 3], [4, 5, 6]])
    c.check("echoMatrix wrong shape is refused") {
      do {
        _ = try t.echoMatrix(m: [[1, 2], [3, 4]])
        return "accepted a 2x2 matrix"
      } catch let e as RPCError where e.code == .marshal {
        return nil
      }
    }
    for n in [0, 1, 100_000] {
      let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      c.expectEqual("echoBytes \(n)", try t.echoBytes(data: data), data)
    }
    c.expectEqual("echoNames", try t.echoNames(names: ["a", "b", "c", "d", "e"]), ["a", "b", "c", "d", "e"])
    c.check("echoNames over the bound is refused") {
      do {
        _ = try t.echoNames(names: ["1", "2", "3", "4", "5", "6"])
        return "accepted 6 names"
      } catch let e as RPCError where e.code == .marshal {
        return nil
      }
    }
    c.expectEqual("echoMoney", try t.echoMoney(m: CDRFixed("-999.99")!), CDRFixed("-999.99")!)
    c.check("inOutInout") {
      let r = try t.inOutInout(a: 5, c: 10)
      return r.b == 10 && r.c == 15 ? nil : "got \(r)"
    }
    c.check("withResultAndOuts") {
      let r = try t.withResultAndOuts(s: "abc", n: 4)
      return r.result == "abcabc" && r.upper == "ABC" && r.n == 7 ? nil : "got \(r)"
    }
    c.check("fail(0) raises Empty") {
      do { try t.fail(code: 0); return "no exception" } catch is Everything_Empty { return nil }
    }
    c.check("fail(7) raises Oops") {
      do { try t.fail(code: 7); return "no exception" } catch let e as Everything_Oops {
        return e == Everything_Oops(code: 7, why: "code 7") ? nil : "got \(e)"
      }
    }
    c.check("fire (oneway) then counter") {
      try t.fire(event: "hello")
      let v = try t.counter
      return v == 5 ? nil : "counter \(v)"
    }
    c.check("makeItem") {
      guard let item = try t.makeItem(id: 3, name: "three")?.blocking else { return "nil reference" }
      guard try item.id == 3, try item.name == "three" else { return "id \(try item.id) name \(try item.name)" }
      try item.setName("drei")
      return try item.name == "drei" ? nil : "name after set: \(try item.name)"
    }
    c.check("callMe") {
      let before = received.messages.withLock { $0.count }
      try t.callMe(cb: callback, message: "called back")
      let after = received.messages.withLock { $0 }
      return after.count == before + 1 && after.last == "called back" ? nil : "callback got \(after)"
    }
    c.check("self") {
      guard let me = try t.`self`() else { return "nil" }
      guard try me.isA(Everything_Tester.repositoryID) else { return "_is_a false" }
      return try Everything_Tester.Blocking.narrow(me).base_op(x: 1) == 2 ? nil : "base_op through self() wrong"
    }
    c.check("withContext") { try t.withContext(x: 1); return nil }
    return c
  }
}
