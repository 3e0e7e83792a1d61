// golden_client REF GIOPVER STEP... [-ORB options...]
//
// Makes exactly the calls named by the STEPs, in order, on one Bench::Echo
// reference, so that golden/capture.sh can record the wire bytes of single,
// known requests. REF is IOR:..., corbaloc:... or file:PATH; GIOPVER is passed
// as -ORBmaxGIOPVersion. Steps:
//   narrow            Bench::Echo::_narrow (otherwise _unchecked_narrow is used)
//   add:A:B           add(A, B)
//   echo:N            echoBytes of N bytes 0x00, 0x01, ... (mod 256)
//   ping              oneway ping()
//   is_a:REPOID       _is_a(REPOID)
//   non_existent      _non_existent()
//   sleep:MS          sleep MS milliseconds (keeps the connection open)
// Each step prints one line (its result, or the exception). Exit 0 iff no
// step raised an exception.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <unistd.h>

#include "check.h"
#include "echo.hh"

int main(int argc, char** argv) {
  if (argc < 4 || !validGiopVersion(argv[2])) {
    std::fprintf(stderr, "usage: %s REF GIOPVER STEP... [-ORB options...]\n", argv[0]);
    return 2;
  }
  std::string ref = resolveRefArg(argv[1]);
  std::vector<std::string> steps;
  std::vector<char*> av;
  av.push_back(argv[0]);
  av.push_back(const_cast<char*>("-ORBmaxGIOPVersion"));
  av.push_back(argv[2]);
  for (int i = 3; i < argc; i++) {
    if (std::strncmp(argv[i], "-ORB", 4) == 0) {
      av.push_back(argv[i]);
      if (i + 1 < argc) av.push_back(argv[++i]);
    } else {
      steps.push_back(argv[i]);
    }
  }
  int ac = static_cast<int>(av.size());
  av.push_back(nullptr);

  int errors = 0;
  CORBA::ORB_var orb = CORBA::ORB_init(ac, av.data());
  {
    CORBA::Object_var obj = orb->string_to_object(ref.c_str());
    Bench::Echo_var echo = Bench::Echo::_unchecked_narrow(obj);
    for (const std::string& s : steps) {
      try {
        if (s == "narrow") {
          echo = Bench::Echo::_narrow(obj);
          std::printf("narrow -> %s\n", CORBA::is_nil(echo) ? "nil" : "non-nil");
        } else if (s.compare(0, 4, "add:") == 0) {
          size_t colon = s.find(':', 4);
          CORBA::LongLong a = std::strtoll(s.substr(4, colon - 4).c_str(), nullptr, 0);
          CORBA::LongLong b = std::strtoll(s.substr(colon + 1).c_str(), nullptr, 0);
          std::printf("add(%lld, %lld) -> %lld\n", (long long)a, (long long)b, (long long)echo->add(a, b));
        } else if (s.compare(0, 5, "echo:") == 0) {
          CORBA::ULong n = std::strtoul(s.c_str() + 5, nullptr, 0);
          Bench::Bytes req;
          req.length(n);
          for (CORBA::ULong i = 0; i < n; i++) req[i] = static_cast<CORBA::Octet>(i & 0xff);
          Bench::Bytes_var rep = echo->echoBytes(req);
          bool same = rep->length() == n && (n == 0 || std::memcmp(rep->get_buffer(), req.get_buffer(), n) == 0);
          std::printf("echoBytes(%lu bytes) -> %lu bytes, %s\n", (unsigned long)n,
                      (unsigned long)rep->length(), same ? "equal" : "DIFFERENT");
          if (!same) errors++;
        } else if (s == "ping") {
          echo->ping();
          std::printf("ping -> sent\n");
        } else if (s.compare(0, 5, "is_a:") == 0) {
          std::printf("_is_a(%s) -> %d\n", s.c_str() + 5, (int)echo->_is_a(s.c_str() + 5));
        } else if (s == "non_existent") {
          std::printf("_non_existent() -> %d\n", (int)echo->_non_existent());
        } else if (s.compare(0, 6, "sleep:") == 0) {
          usleep(1000 * std::atoi(s.c_str() + 6));
          std::printf("slept %s ms\n", s.c_str() + 6);
        } else {
          std::fprintf(stderr, "unknown step %s\n", s.c_str());
          return 2;
        }
      } catch (const CORBA::Exception& e) {
        std::printf("%s -> %s\n", s.c_str(), describe(e).c_str());
        errors++;
      }
      std::fflush(stdout);
    }
  }
  orb->destroy();
  return errors ? 1 : 0;
}
