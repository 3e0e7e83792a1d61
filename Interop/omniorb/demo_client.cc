// demo_client REF [GIOPVER] [-ORB options...]
//
// omniORB 4.2 client for Demo::PersonList (demo.idl): exercises a struct
// in-parameter, an out-parameter, a user exception with a member, a readonly
// attribute and a plain long result. REF is IOR:..., corbaloc:... or
// file:PATH; GIOPVER (default 1.2) is passed as -ORBmaxGIOPVersion.
//
// Prints "ok NAME" / "FAIL NAME: why" lines; exits 0 iff all passed.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "demo.hh"

static std::string personStr(const Demo::Person& p) {
  return std::string("{") + static_cast<const char*>(p.name) + "," +
         static_cast<const char*>(p.place) + "," + std::to_string(p.year) + "}";
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s REF [GIOPVER] [-ORB options...]\n", argv[0]);
    return 2;
  }
  std::string ref = resolveRefArg(argv[1]);
  const char* giop = "1.2";
  int first = 2;
  if (argc > 2 && validGiopVersion(argv[2])) { giop = argv[2]; first = 3; }
  std::vector<char*> av;
  av.push_back(argv[0]);
  av.push_back(const_cast<char*>("-ORBmaxGIOPVersion"));
  av.push_back(const_cast<char*>(giop));
  av.push_back(const_cast<char*>("-ORBclientCallTimeOutPeriod"));
  av.push_back(const_cast<char*>("10000"));
  for (int i = first; i < argc; i++) av.push_back(argv[i]);
  int ac = static_cast<int>(av.size());
  av.push_back(nullptr);

  CORBA::ORB_var orb;
  try {
    orb = CORBA::ORB_init(ac, av.data());
  } catch (const CORBA::Exception& e) {
    std::printf("FAIL orb-init: %s\n", describe(e).c_str());
    return 1;
  }

  {
    Demo::PersonList_var list;
    check("narrow", [&]() -> std::string {
      CORBA::Object_var obj = orb->string_to_object(ref.c_str());
      if (CORBA::is_nil(obj)) return "string_to_object gave a nil reference";
      list = Demo::PersonList::_narrow(obj);
      return CORBA::is_nil(list) ? "_narrow gave a nil reference" : "";
    });
    if (!CORBA::is_nil(list)) {
      check("addPerson", [&]() -> std::string {
        Demo::Person ada;
        ada.name = CORBA::string_dup("Ada");
        ada.place = CORBA::string_dup("London");
        ada.year = 1815;
        list->addPerson(ada);
        return "";
      });

      check("getPerson-Ada", [&]() -> std::string {
        Demo::Person_var p;
        list->getPerson("Ada", p.out());
        if (std::strcmp(p->name, "Ada") != 0 || std::strcmp(p->place, "London") != 0 || p->year != 1815)
          return "got " + personStr(p.in()) + ", want {Ada,London,1815}";
        return "";
      });

      check("getPerson-Nobody", [&]() -> std::string {
        try {
          Demo::Person_var p;
          list->getPerson("Nobody", p.out());
          return "no exception, got " + personStr(p.in());
        } catch (const Demo::NotFound& e) {
          if (std::strcmp(e.name, "Nobody") != 0)
            return std::string("NotFound.name is \"") + static_cast<const char*>(e.name) + "\", want \"Nobody\"";
          return "";
        }
      });

      check("listname", [&]() -> std::string {
        CORBA::String_var name = list->listname();
        if (std::strcmp(name, "seeds") != 0)
          return std::string("got \"") + static_cast<const char*>(name) + "\", want \"seeds\"";
        return "";
      });

      // At least Ada; exactly 1 against a fresh demo_server.
      check("number", [&]() -> std::string {
        CORBA::Long n = list->number();
        return n >= 1 ? "" : "got " + std::to_string(n) + ", want >= 1";
      });
    }
  }

  try {
    orb->destroy();
  } catch (const CORBA::Exception& e) {
    std::fprintf(stderr, "%s: destroy: %s\n", argv[0], describe(e).c_str());
  }
  std::fprintf(stderr, "%s: %s, %d failure(s)\n", argv[0], g_failures ? "FAILED" : "PASSED", g_failures);
  return g_failures ? 1 : 0;
}
