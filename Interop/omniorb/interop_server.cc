// interop_server PORT IORFILE [-ORB options...]
//
// omniORB 4.2 server for the Swift interop tests. Serves Bench::Echo
// (echo.idl) in the omniINSPOA under object key "Echo" on
// giop:tcp:127.0.0.1:PORT, so it is reachable through the IOR written to
// IORFILE and through corbaloc::127.0.0.1:PORT/Echo.
//
// Prints "READY <ior>" (one line, flushed) once the IOR file is written.
// Exits 0 on SIGTERM/SIGINT. If the environment variable INTEROP_PINGS_FILE is
// set, the number of ping() calls received is written there on exit (the
// oneway ping has no reply, so this is how a test checks it arrived).
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "echo.hh"
#include "server_common.h"

class Echo_i : public POA_Bench::Echo {
 public:
  CORBA::LongLong add(CORBA::LongLong a, CORBA::LongLong b) {
    // Wrap like a two's-complement machine instead of signed-overflow UB.
    return static_cast<CORBA::LongLong>(static_cast<CORBA::ULongLong>(a) +
                                        static_cast<CORBA::ULongLong>(b));
  }
  Bench::Bytes* echoBytes(const Bench::Bytes& data) { return new Bench::Bytes(data); }
  void ping() { pings_.fetch_add(1); }

  long pings() const { return pings_.load(); }

 private:
  std::atomic<long> pings_{0};
};

int main(int argc, char** argv) {
  return guardedMain(argv[0], [&]() -> int {
    ServerMain sm(argc, argv);
    if (!sm.init()) return 2;

    Echo_i* servant = new Echo_i();
    servant->_add_ref();  // keep our own reference so pings() can be read after destroy
    CORBA::Object_var obj = sm.activate("Echo", servant);
    if (!sm.ready(obj)) return 1;
    obj = CORBA::Object::_nil();  // drop our reference before the ORB goes away

    sm.run();

    long pings = servant->pings();
    servant->_remove_ref();
    std::fprintf(stderr, "interop_server: %ld ping(s) received\n", pings);
    if (const char* path = std::getenv("INTEROP_PINGS_FILE")) {
      if (FILE* f = std::fopen(path, "w")) {
        std::fprintf(f, "%ld\n", pings);
        std::fclose(f);
      } else {
        std::perror(path);
        return 1;
      }
    }
    return 0;
  });
}
