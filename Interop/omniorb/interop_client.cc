// interop_client REF GIOPVER [--missing URL] [-ORB options...]
//
// omniORB 4.2 client for the Swift interop tests: exercises a Bench::Echo
// server (echo.idl), such as Courier's, or interop_server.
//
//   REF      IOR:..., corbaloc:..., or file:PATH (the IOR is read from PATH)
//   GIOPVER  1.0, 1.1 or 1.2: the highest GIOP version the client will use,
//            passed to omniORB as "-ORBmaxGIOPVersion GIOPVER". omniORB uses
//            min(GIOPVER, IIOP version in the profile); a corbaloc URL
//            without "1.x@" means IIOP 1.0, so to get GIOP 1.2 over corbaloc
//            write corbaloc::1.2@HOST:PORT/Echo.
//   --missing URL
//            also call add() on URL (e.g. corbaloc::1.2@127.0.0.1:PORT/NoSuchKey),
//            an object that does not exist: CORBA::OBJECT_NOT_EXIST expected.
//
// Prints one line per check, "ok NAME [detail]" or "FAIL NAME: why", and
// exits 0 iff every check passed (2 on bad usage).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "echo.hh"

// Deterministic test pattern: every byte depends on its index and the length.
static Bench::Bytes pattern(CORBA::ULong n) {
  Bench::Bytes b;
  b.length(n);
  for (CORBA::ULong i = 0; i < n; i++) b[i] = static_cast<CORBA::Octet>((i * 31u + n + (i >> 8)) & 0xff);
  return b;
}

static std::string str(long long v) { return std::to_string(v); }

static void runEchoChecks(Bench::Echo_ptr echo) {
  check("non-existent", [&]() -> std::string {
    return echo->_non_existent() ? "_non_existent() returned true" : "";
  });

  struct AddCase { const char* name; CORBA::LongLong a, b, want; };
  const AddCase adds[] = {
    {"add-2-40", 2, 40, 42},
    {"add-neg5-3", -5, 3, -2},
    {"add-int64max-0", INT64_MAX, 0, INT64_MAX},
  };
  for (const AddCase& c : adds) {
    check(c.name, [&]() -> std::string {
      CORBA::LongLong got = echo->add(c.a, c.b);
      return got == c.want ? "" : "got " + str(got) + ", want " + str(c.want);
    });
  }

  const CORBA::ULong sizes[] = {0, 1, 16, 1024, 65536};
  for (CORBA::ULong n : sizes) {
    check("echoBytes-" + std::to_string(n), [&]() -> std::string {
      Bench::Bytes req = pattern(n);
      Bench::Bytes_var rep = echo->echoBytes(req);
      if (rep->length() != n) return "length " + std::to_string(rep->length()) + ", want " + std::to_string(n);
      for (CORBA::ULong i = 0; i < n; i++)
        if (rep[i] != req[i]) return "byte " + std::to_string(i) + " differs";
      return "";
    });
  }

  // ping is oneway: success here only means the request was sent. The server
  // side (interop_server with INTEROP_PINGS_FILE) tells whether it arrived.
  for (int i = 1; i <= 3; i++) {
    check("ping-" + std::to_string(i), [&]() -> std::string {
      echo->ping();
      return "";
    });
  }

  check("is_a-Echo", [&]() -> std::string {
    return echo->_is_a("IDL:Bench/Echo:1.0") ? "" : "_is_a(IDL:Bench/Echo:1.0) returned false";
  });
  check("is_a-Other", [&]() -> std::string {
    return echo->_is_a("IDL:Other:1.0") ? "_is_a(IDL:Other:1.0) returned true" : "";
  });
}

// add() on a reference to an object that does not exist must raise
// OBJECT_NOT_EXIST. _unchecked_narrow: no type check, go straight to the call.
static void runMissingCheck(CORBA::ORB_ptr orb, const std::string& url) {
  try {
    CORBA::Object_var obj = orb->string_to_object(url.c_str());
    Bench::Echo_var missing = Bench::Echo::_unchecked_narrow(obj);
    CORBA::LongLong r = missing->add(1, 2);
    fail("missing-object", "add() returned " + str(r) + " instead of raising OBJECT_NOT_EXIST");
  } catch (const CORBA::OBJECT_NOT_EXIST& e) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "OBJECT_NOT_EXIST minor=0x%lx %s",
                  static_cast<unsigned long>(e.minor()), completionName(e.completed()));
    ok("missing-object", buf);
  } catch (const CORBA::Exception& e) {
    fail("missing-object", "expected OBJECT_NOT_EXIST, got " + describe(e));
  }
}

int main(int argc, char** argv) {
  if (argc < 3 || !validGiopVersion(argv[2])) {
    std::fprintf(stderr, "usage: %s REF GIOPVER(1.0|1.1|1.2) [--missing URL] [-ORB options...]\n", argv[0]);
    return 2;
  }
  std::string ref = resolveRefArg(argv[1]);
  std::string missingUrl;
  std::vector<char*> av;
  av.push_back(argv[0]);
  av.push_back(const_cast<char*>("-ORBmaxGIOPVersion"));
  av.push_back(argv[2]);
  av.push_back(const_cast<char*>("-ORBclientCallTimeOutPeriod"));  // ms: nothing hangs forever
  av.push_back(const_cast<char*>("10000"));
  for (int i = 3; i < argc; i++) {
    if (std::strcmp(argv[i], "--missing") == 0 && i + 1 < argc) {
      missingUrl = argv[++i];
    } else {
      av.push_back(argv[i]);
    }
  }
  int ac = static_cast<int>(av.size());
  av.push_back(nullptr);
  if (ref.empty()) { std::fprintf(stderr, "%s: empty reference\n", argv[0]); return 2; }

  CORBA::ORB_var orb;
  try {
    orb = CORBA::ORB_init(ac, av.data());
  } catch (const CORBA::Exception& e) {
    std::printf("FAIL orb-init: %s\n", describe(e).c_str());
    return 1;
  }

  {
    Bench::Echo_var echo;
    check("narrow", [&]() -> std::string {
      CORBA::Object_var obj = orb->string_to_object(ref.c_str());
      if (CORBA::is_nil(obj)) return "string_to_object gave a nil reference";
      echo = Bench::Echo::_narrow(obj);  // may send _is_a when the type is unknown
      return CORBA::is_nil(echo) ? "_narrow gave a nil reference" : "";
    });
    if (!CORBA::is_nil(echo)) runEchoChecks(echo);
    if (!missingUrl.empty()) runMissingCheck(orb, missingUrl);
  }

  try {
    orb->destroy();
  } catch (const CORBA::Exception& e) {
    std::fprintf(stderr, "%s: destroy: %s\n", argv[0], describe(e).c_str());
  }
  std::fprintf(stderr, "%s: %s, %d failure(s)\n", argv[0], g_failures ? "FAILED" : "PASSED", g_failures);
  return g_failures ? 1 : 0;
}
