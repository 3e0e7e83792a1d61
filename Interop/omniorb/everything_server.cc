// everything_server PORT IORFILE [-ORB options...]
//
// omniORB 4.2 server for Everything::Tester
// (Tests/CourierIDLInteropTests/Everything.idl), served in the omniINSPOA
// under object key "Everything" on giop:tcp:127.0.0.1:PORT, so
// corbaloc::1.2@127.0.0.1:PORT/Everything reaches it.
//
// Semantics (the Swift implementation follows the same):
//   base_op(x) = x + 1; derived_op(y) = y * 2; counter: get/set, starts at 0;
//   mood: always green; echoX: returns the argument; inOutInout: b = a * 2,
//   c = c + a; withResultAndOuts: returns s+s, upper = ASCII-uppercased s,
//   n = n + strlen(s); fail(0) raises Empty, fail(n) raises Oops{n, "code n"};
//   fire(e) (oneway): counter = strlen(e); makeItem(id, name): a new Item in
//   the RootPOA; callMe(cb, m): cb->notify(m) once, synchronously; self():
//   this Tester; withContext: does nothing.
//
// Prints "READY <ior>" once the IOR file is written; exits 0 on SIGTERM/SIGINT.
#include <atomic>
#include <cstring>
#include <mutex>
#include <string>

#include "Everything.hh"
#include "server_common.h"

class Item_i : public POA_Everything::Item {
 public:
  Item_i(CORBA::Long id, const char* name) : id_(id), name_(name) {}

  CORBA::Long id() { return id_; }
  char* name() {
    std::lock_guard<std::mutex> lock(mu_);
    return CORBA::string_dup(name_.c_str());
  }
  void name(const char* v) {
    std::lock_guard<std::mutex> lock(mu_);
    name_ = v;
  }

 private:
  const CORBA::Long id_;
  std::mutex mu_;
  std::string name_;
};

class Tester_i : public POA_Everything::Tester {
 public:
  explicit Tester_i(PortableServer::POA_ptr itemPOA)
      : itemPOA_(PortableServer::POA::_duplicate(itemPOA)) {}

  // Set once, after activation (self() returns it).
  void setSelf(CORBA::Object_ptr obj) { self_ = CORBA::Object::_duplicate(obj); }

  // Base, Derived
  CORBA::Long base_op(CORBA::Long x) { return x + 1; }
  CORBA::Long derived_op(CORBA::Long y) { return y * 2; }

  // attributes
  CORBA::Long counter() { return counter_.load(); }
  void counter(CORBA::Long v) { counter_.store(v); }
  Everything::Color mood() { return Everything::green; }

  // echoes
  Everything::Basics* echoBasics(const Everything::Basics& b) { return new Everything::Basics(b); }
  // Not `new Outer(o)`: in omniORB 4.2 the copy constructor of a fixed<d,s>
  // typedef (_omni_Fixed) loses the IDL digits/scale, so marshalling the
  // copy's `price` fails an assertion (the client sees COMM_FAILURE after a
  // MessageError). Copy assignment keeps the destination's limits.
  Everything::Outer* echoOuter(const Everything::Outer& o) {
    Everything::Outer* r = new Everything::Outer;
    *r = o;
    return r;
  }
  Everything::Choice* echoChoice(const Everything::Choice& c) { return new Everything::Choice(c); }
  Everything::Flag* echoFlag(const Everything::Flag& f) { return new Everything::Flag(f); }
  Everything::ByColor* echoByColor(const Everything::ByColor& b) { return new Everything::ByColor(b); }
  Everything::Node* echoNode(const Everything::Node& n) { return new Everything::Node(n); }
  CORBA::Any* echoAny(const CORBA::Any& a) { return new CORBA::Any(a); }
  Everything::Matrix_slice* echoMatrix(const Everything::Matrix m) { return Everything::Matrix_dup(m); }
  Everything::Bytes* echoBytes(const Everything::Bytes& d) { return new Everything::Bytes(d); }
  Everything::FewNames* echoNames(const Everything::FewNames& n) { return new Everything::FewNames(n); }
  Everything::Money echoMoney(const Everything::Money& m) { return m; }

  // parameter modes
  void inOutInout(CORBA::Long a, CORBA::Long& b, CORBA::Long& c) {
    b = a * 2;
    c = c + a;
  }

  char* withResultAndOuts(const char* s, CORBA::String_out upper, CORBA::Long& n) {
    std::string in(s);
    std::string up(in);
    for (char& ch : up)
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    upper = CORBA::string_dup(up.c_str());
    n = n + static_cast<CORBA::Long>(in.size());
    return CORBA::string_dup((in + in).c_str());
  }

  // exceptions
  void fail(CORBA::Long code) {
    if (code == 0) throw Everything::Empty();
    std::string why = "code " + std::to_string(code);
    throw Everything::Oops(code, why.c_str());
  }

  // oneway
  void fire(const char* event) { counter_.store(static_cast<CORBA::Long>(std::strlen(event))); }

  // object references
  Everything::Item_ptr makeItem(CORBA::Long id, const char* name) {
    Item_i* item = new Item_i(id, name);
    PortableServer::ObjectId_var oid = itemPOA_->activate_object(item);
    item->_remove_ref();  // the POA holds it now
    CORBA::Object_var obj = itemPOA_->id_to_reference(oid);
    return Everything::Item::_narrow(obj);
  }

  void callMe(Everything::Callback_ptr cb, const char* message) { cb->notify(message); }

  CORBA::Object_ptr self() { return CORBA::Object::_duplicate(self_); }

  void withContext(CORBA::Long, CORBA::Context_ptr) {}

 private:
  PortableServer::POA_var itemPOA_;
  CORBA::Object_var self_;
  std::atomic<CORBA::Long> counter_{0};
};

int main(int argc, char** argv) {
  return guardedMain(argv[0], [&]() -> int {
    ServerMain sm(argc, argv);
    if (!sm.init()) return 2;
    // Items live in the RootPOA (SYSTEM_ID); its manager may differ from
    // omniINSPOA's, so activate it too.
    CORBA::Object_var rootObj = sm.orb()->resolve_initial_references("RootPOA");
    PortableServer::POA_var root = PortableServer::POA::_narrow(rootObj);
    PortableServer::POAManager_var rootMgr = root->the_POAManager();
    rootMgr->activate();

    Tester_i* tester = new Tester_i(root);
    CORBA::Object_var obj = sm.activate("Everything", tester);
    tester->setSelf(obj);  // still alive: the POA holds it
    if (!sm.ready(obj)) return 1;
    obj = CORBA::Object::_nil();
    sm.run();
    return 0;
  });
}
