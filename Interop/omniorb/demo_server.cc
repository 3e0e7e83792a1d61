// demo_server PORT IORFILE [-ORB options...]
//
// omniORB 4.2 server for Demo::PersonList (demo.idl, from the lecture notes),
// served in the omniINSPOA under object key "PersonList" on
// giop:tcp:127.0.0.1:PORT (corbaloc::127.0.0.1:PORT/PersonList). The list's
// name (the readonly attribute listname) is "seeds".
//
// Prints "READY <ior>" once the IOR file is written; exits 0 on SIGTERM/SIGINT.
#include <map>
#include <mutex>
#include <string>

#include "demo.hh"
#include "server_common.h"

class PersonList_i : public POA_Demo::PersonList {
 public:
  explicit PersonList_i(const char* name) : listname_(name) {}

  char* listname() { return CORBA::string_dup(listname_.c_str()); }

  void addPerson(const Demo::Person& p) {
    std::lock_guard<std::mutex> lock(mu_);
    people_[std::string(p.name)] = p;  // same name again: replaced
  }

  void getPerson(const char* name, Demo::Person_out p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = people_.find(name);
    if (it == people_.end()) throw Demo::NotFound(name);
    p = new Demo::Person(it->second);  // Person has strings: variable length, so out is a pointer
  }

  CORBA::Long number() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<CORBA::Long>(people_.size());
  }

 private:
  std::string listname_;
  std::mutex mu_;
  std::map<std::string, Demo::Person> people_;
};

int main(int argc, char** argv) {
  return guardedMain(argv[0], [&]() -> int {
    ServerMain sm(argc, argv);
    if (!sm.init()) return 2;
    CORBA::Object_var obj = sm.activate("PersonList", new PersonList_i("seeds"));
    if (!sm.ready(obj)) return 1;
    obj = CORBA::Object::_nil();
    sm.run();
    return 0;
  });
}
