import Testing
@testable import CourierIDL

@Suite struct DeclarationTests {
  @Test func modulesTypedefsAndReopening() throws {
    let model = try compile("""
      module M {
        typedef long Count;
        typedef sequence<Count> Counts, MoreCounts[2][3];
      };
      module M { typedef Count Again; };
      """)
    guard case .typedef(let counts)? = model["M::Counts"], case .typedef(let more)? = model["M::MoreCounts"],
          case .typedef(let again)? = model["M::Again"] else {
      Issue.record("typedefs missing")
      return
    }
    #expect(counts.type == .sequence(.named(ScopedName(["M", "Count"])), bound: nil))
    #expect(more.type == .array(.sequence(.named(ScopedName(["M", "Count"])), bound: nil), dimensions: [2, 3]))
    #expect(again.type == .named(ScopedName(["M", "Count"])))
    #expect(model.definitions.count == 2)
    #expect(again.info.repositoryID == "IDL:M/Again:1.0")
    #expect(again.info.location == SourceLocation(file: "t.idl", line: 5, column: 26))
    #expect(again.info.isFromMainFile)
  }

  @Test func basicAndTemplateTypes() throws {
    let model = try compile("""
      struct All {
        short a; unsigned short b; long c; unsigned long d; long long e; unsigned long long f;
        float g; double h; long double i; char j; wchar k; boolean l; octet m; any n; Object o;
        ValueBase p; string q; string<10> r; wstring s; wstring<5> t; fixed<9,2> u;
        sequence<sequence<long, 4>> v; TypeCode w; CORBA::TypeCode x; CORBA::Object y; long z[3][4];
      };
      """)
    guard case .structure(let s)? = model["All"] else { Issue.record("no struct"); return }
    let types = s.members.map(\.type)
    #expect(types == [
      .short, .unsignedShort, .long, .unsignedLong, .longLong, .unsignedLongLong,
      .float, .double, .longDouble, .char, .wchar, .boolean, .octet, .any, .object,
      .valueBase, .string(bound: nil), .string(bound: 10), .wstring(bound: nil), .wstring(bound: 5), .fixed(digits: 9, scale: 2),
      .sequence(.sequence(.long, bound: 4), bound: nil), .typeCode, .typeCode, .object, .array(.long, dimensions: [3, 4]),
    ])
    #expect(s.members.map(\.name).joined() == "abcdefghijklmnopqrstuvwxyz")
  }

  @Test func structsWithNestedTypesAndForwardDeclarations() throws {
    let model = try compile("""
      struct Node;
      typedef sequence<Node> Nodes;
      struct Node {
        struct Label { string text; } title;
        enum Colour { red, green } shade;
        sequence<Node> children;
      };
      """)
    guard case .structure(let node)? = model["Node"] else { Issue.record("no struct"); return }
    #expect(node.members.map(\.type) == [
      .named(ScopedName(["Node", "Label"])), .named(ScopedName(["Node", "Colour"])), .sequence(.named(ScopedName(["Node"])), bound: nil),
    ])
    #expect(node.nested.map(\.info.scopedName.description) == ["Node::Label", "Node::Colour"])
    #expect(node.nested.first?.info.repositoryID == "IDL:Node/Label:1.0")
    guard case .forward(let forward) = model.definitions[0] else { Issue.record("no forward declaration"); return }
    #expect(forward.kind == .structType)
    // Enumerators belong to the scope enclosing the enum: Node.
    #expect(model.definitions.count == 3)
  }

  @Test func enumsAndExceptions() throws {
    let model = try compile("""
      module M {
        enum Colour { red, green, blue };
        exception Failed { Colour colour; string why; };
        const Colour favourite = blue;
        const Colour other = M::red;
      };
      """)
    guard case .enumeration(let e)? = model["M::Colour"], case .exception(let x)? = model["M::Failed"],
          case .constant(let c)? = model["M::favourite"], case .constant(let d)? = model["M::other"] else {
      Issue.record("declarations missing"); return
    }
    #expect(e.enumerators == ["red", "green", "blue"])
    #expect(x.members.map(\.name) == ["colour", "why"])
    #expect(x.info.repositoryID == "IDL:M/Failed:1.0")
    #expect(c.value == .enumerator(ScopedName(["M", "Colour"]), "blue"))
    #expect(d.value == .enumerator(ScopedName(["M", "Colour"]), "red"))
  }

  @Test func unions() throws {
    let model = try compile("""
      enum Kind { circle, square, other };
      typedef Kind KindAlias;
      union Shape switch (KindAlias) {
        case circle: double radius;
        case square: case other: double side;
      };
      union Number switch (long) {
        case 1: case 2 + 1: long small;
        case -4: struct Big { long long v; } large;
        default: string text;
      };
      union Letter switch (char) { case 'a': long a; case '\\n': long newline; };
      union Flag switch (boolean) { case TRUE: long yes; case FALSE: short no; };
      union Inline switch (enum Mode { on, off }) { case on: long x; };
      """)
    guard case .union(let shape)? = model["Shape"], case .union(let number)? = model["Number"],
          case .union(let letter)? = model["Letter"], case .union(let flag)? = model["Flag"],
          case .union(let inline)? = model["Inline"] else { Issue.record("unions missing"); return }
    #expect(shape.discriminator == .named(ScopedName(["KindAlias"])))
    #expect(shape.cases.map(\.labels) == [
      [.enumerator(ScopedName(["Kind"]), "circle")],
      [.enumerator(ScopedName(["Kind"]), "square"), .enumerator(ScopedName(["Kind"]), "other")],
    ])
    #expect(number.cases.map(\.labels) == [[.integer(1), .integer(3)], [.integer(-4)], []])
    #expect(number.cases.map(\.isDefault) == [false, false, true])
    #expect(number.nested.map(\.info.scopedName.description) == ["Number::Big"])
    #expect(number.cases[1].member.type == .named(ScopedName(["Number", "Big"])))
    #expect(letter.cases.map(\.labels) == [[.char(97)], [.char(10)]])
    #expect(flag.cases.map(\.labels) == [[.boolean(true)], [.boolean(false)]])
    #expect(inline.discriminator == .named(ScopedName(["Inline", "Mode"])))
    #expect(inline.cases[0].labels == [.enumerator(ScopedName(["Inline", "Mode"]), "on")])
  }

  @Test func interfaces() throws {
    let model = try compile("""
      module Bank {
        interface Account;
        exception Overdrawn { double by; };
        exception Locked {};
        interface Base { typedef double Money; readonly attribute Money balance; };
        interface Other {};
        interface Account : Base, Other {
          attribute string owner, nickname;
          attribute long limit getraises(Locked) setraises(Overdrawn, Locked);
          readonly attribute long id raises(Locked);
          void deposit(in Money amount) raises(Locked);
          Money withdraw(in Money amount, out Money left, inout long tries) raises(Overdrawn, ::Bank::Locked) context("a", "b*");
          oneway void ping();
        };
        local interface Nearby {};
        abstract interface Vague {};
      };
      """)
    guard case .interface(let account)? = model["Bank::Account"], case .interface(let local)? = model["Bank::Nearby"],
          case .interface(let abstract)? = model["Bank::Vague"] else { Issue.record("interfaces missing"); return }
    #expect(account.bases == [ScopedName(["Bank", "Base"]), ScopedName(["Bank", "Other"])])
    #expect(account.attributes.map(\.name) == ["owner", "nickname", "limit", "id"])
    #expect(account.attributes[0].type == .string(bound: nil))
    #expect(account.attributes[2].getRaises == [ScopedName(["Bank", "Locked"])])
    #expect(account.attributes[2].setRaises == [ScopedName(["Bank", "Overdrawn"]), ScopedName(["Bank", "Locked"])])
    #expect(account.attributes[3].isReadonly && account.attributes[3].getRaises == [ScopedName(["Bank", "Locked"])])
    let money = IDLType.named(ScopedName(["Bank", "Base", "Money"]))
    let withdraw = account.operations[1]
    #expect(withdraw.returnType == money)
    #expect(withdraw.parameters.map(\.direction) == [.in, .out, .inout])
    #expect(withdraw.parameters.map(\.type) == [money, money, .long])
    #expect(withdraw.raises == [ScopedName(["Bank", "Overdrawn"]), ScopedName(["Bank", "Locked"])])
    #expect(withdraw.contexts == ["a", "b*"])
    #expect(account.operations[2].isOneway && account.operations[2].returnType == .void)
    #expect(account.operations[0].location == SourceLocation(file: "t.idl", line: 11, column: 10))
    #expect(local.kind == .local && abstract.kind == .abstract)
    #expect(account.info.repositoryID == "IDL:Bank/Account:1.0")
    guard case .module(let bank)? = model["Bank"], case .forward(let forward) = bank.definitions[0] else {
      Issue.record("no forward declaration"); return
    }
    #expect(forward.kind == .interface)
  }

  @Test func valueTypes() throws {
    let model = try compile("""
      interface Shape { double area(); };
      valuetype Name string;
      valuetype Point { public long x; private long y; factory at(in long x, in long y); long sum(); };
      abstract valuetype Printable { void print(); };
      valuetype Circle : truncatable Point, Printable supports Shape {
        public double radius;
        attribute string label;
      };
      custom valuetype Opaque { private sequence<octet> data; };
      eventtype Ping { public long when; };
      valuetype Later;
      """)
    guard case .valueType(let name)? = model["Name"], case .valueType(let point)? = model["Point"],
          case .valueType(let circle)? = model["Circle"], case .valueType(let printable)? = model["Printable"],
          case .valueType(let custom)? = model["Opaque"], case .valueType(let ping)? = model["Ping"] else {
      Issue.record("value types missing"); return
    }
    #expect(name.boxedType == .string(bound: nil))
    #expect(point.state.map(\.isPublic) == [true, false])
    #expect(point.factories.map(\.name) == ["at"] && point.factories[0].parameters.count == 2)
    #expect(point.operations.map(\.name) == ["sum"])
    #expect(printable.isAbstract)
    #expect(circle.isTruncatable && circle.bases == [ScopedName(["Point"]), ScopedName(["Printable"])])
    #expect(circle.supports == [ScopedName(["Shape"])] && circle.attributes.map(\.name) == ["label"])
    #expect(custom.isCustom && custom.state[0].member.type == .sequence(.octet, bound: nil))
    #expect(ping.state.map(\.member.name) == ["when"])
    guard case .forward(let later)? = model["Later"] else { Issue.record("no forward value type"); return }
    #expect(later.kind == .valueType)
  }

  @Test func nativeTypeidAndTypeprefix() throws {
    let model = try compile("""
      module M {
        native Handle;
        typeprefix M "acme.com";
        struct S { long x; };
        interface I {};
        typeid I "IDL:custom/I:2.0";
      };
      """)
    guard case .native(let handle)? = model["M::Handle"], case .structure(let s)? = model["M::S"], case .interface(let i)? = model["M::I"] else {
      Issue.record("declarations missing"); return
    }
    #expect(handle.info.repositoryID == "IDL:acme.com/Handle:1.0")
    #expect(s.info.repositoryID == "IDL:acme.com/S:1.0")
    #expect(i.info.repositoryID == "IDL:custom/I:2.0")
  }

  @Test func escapedIdentifiersAndNameLookup() throws {
    let model = try compile("""
      module Outer {
        typedef long T;
        module Inner {
          typedef T U;
          typedef ::Outer::T V;
          struct _interface { long _module; };
        };
      };
      """)
    guard case .typedef(let u)? = model["Outer::Inner::U"], case .typedef(let v)? = model["Outer::Inner::V"],
          case .structure(let s)? = model["Outer::Inner::interface"] else { Issue.record("declarations missing"); return }
    #expect(u.type == .named(ScopedName(["Outer", "T"])))
    #expect(v.type == .named(ScopedName(["Outer", "T"])))
    #expect(s.members.map(\.name) == ["module"])
  }
}
