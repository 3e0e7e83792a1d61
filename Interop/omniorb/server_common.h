// server_common.h -- boilerplate shared by interop_server and demo_server.
//
//   ServerMain sm(argc, argv);        // parses "PORT IORFILE [-ORB options...]"
//   sm.init();                        // ORB_init on giop:tcp:127.0.0.1:PORT,
//                                     // gets omniINSPOA and its POAManager
//   sm.activate("Key", servant);      // object key == "Key" (omniINSPOA keys are
//                                     // the raw ObjectId), returns the reference
//   sm.ready(obj);                    // writes IOR file, prints "READY <ior>"
//   sm.run();                         // orb->run() until SIGTERM/SIGINT, destroy
//
// Signals: SIGTERM and SIGINT are blocked in every thread (the mask is set
// before ORB_init, so the ORB's threads inherit it) and a dedicated thread
// waits for them with sigwait(). That thread is an ordinary thread, not a
// signal handler, so it may call orb->shutdown(0), which makes orb->run()
// return in the main thread.
#ifndef INTEROP_SERVER_COMMON_H
#define INTEROP_SERVER_COMMON_H

#include <omniORB4/CORBA.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <pthread.h>
#include <unistd.h>

class ServerMain {
 public:
  ServerMain(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // Returns false (after printing usage) when the arguments are wrong.
  bool init() {
    if (argc_ < 3) {
      std::fprintf(stderr, "usage: %s PORT IORFILE [-ORBxxx value ...]\n", argv_[0]);
      return false;
    }
    port_ = argv_[1];
    iorfile_ = argv_[2];

    // Block the shutdown signals before any thread exists.
    sigemptyset(&sigs_);
    sigaddset(&sigs_, SIGTERM);
    sigaddset(&sigs_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs_, nullptr);

    // Listen on 127.0.0.1:PORT only; any further -ORB options are passed on
    // (they come after ours, so e.g. -ORBtraceLevel can be added).
    endpoint_ = "giop:tcp:127.0.0.1:" + port_;
    std::vector<char*> av;
    av.push_back(argv_[0]);
    av.push_back(const_cast<char*>("-ORBendPoint"));
    av.push_back(const_cast<char*>(endpoint_.c_str()));
    for (int i = 3; i < argc_; i++) av.push_back(argv_[i]);
    int ac = static_cast<int>(av.size());
    av.push_back(nullptr);

    orb_ = CORBA::ORB_init(ac, av.data());
    // omniINSPOA: the "Interoperable Naming Service" POA. It has the
    // USER_ID and PERSISTENT policies and its object keys are exactly the
    // ObjectId, so "Echo" is reachable as corbaloc::127.0.0.1:PORT/Echo.
    CORBA::Object_var obj = orb_->resolve_initial_references("omniINSPOA");
    poa_ = PortableServer::POA::_narrow(obj);
    PortableServer::POAManager_var mgr = poa_->the_POAManager();
    mgr->activate();

    pthread_create(&sigthread_, nullptr, &ServerMain::signalThread, this);
    return true;
  }

  // Activates servant under object key `key`; the POA takes the reference
  // the caller holds on the servant.
  CORBA::Object_ptr activate(const char* key, PortableServer::ServantBase* servant) {
    PortableServer::ObjectId_var oid = PortableServer::string_to_ObjectId(key);
    poa_->activate_object_with_id(oid, servant);
    servant->_remove_ref();
    return poa_->id_to_reference(oid);
  }

  // Writes the IOR file (atomically, via rename) and prints "READY <ior>".
  bool ready(CORBA::Object_ptr obj) {
    CORBA::String_var ior = orb_->object_to_string(obj);
    std::string tmp = iorfile_ + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) { std::perror(tmp.c_str()); return false; }
    std::fprintf(f, "%s\n", static_cast<const char*>(ior));
    std::fclose(f);
    if (std::rename(tmp.c_str(), iorfile_.c_str()) != 0) { std::perror("rename"); return false; }
    std::printf("READY %s\n", static_cast<const char*>(ior));
    std::fflush(stdout);
    return true;
  }

  // Serves until SIGTERM/SIGINT, then destroys the ORB.
  void run() {
    orb_->run();            // returns after orb_->shutdown() (signal thread)
    orb_->destroy();        // etherealises servants, closes connections
    pthread_join(sigthread_, nullptr);
  }

  CORBA::ORB_ptr orb() { return orb_.in(); }

 private:
  static void* signalThread(void* p) {
    ServerMain* self = static_cast<ServerMain*>(p);
    int sig = 0;
    sigwait(&self->sigs_, &sig);
    std::fprintf(stderr, "%s: signal %d, shutting down\n", self->argv_[0], sig);
    self->orb_->shutdown(0);  // 0: do not wait for completion (not an ORB thread
                              // either, but run() in main does the waiting)
    return nullptr;
  }

  int argc_;
  char** argv_;
  std::string port_, iorfile_, endpoint_;
  sigset_t sigs_;
  pthread_t sigthread_;
  CORBA::ORB_var orb_;
  PortableServer::POA_var poa_;
};

// Runs body(), turning CORBA exceptions into an error message and exit code 1.
template <class F>
int guardedMain(const char* prog, F body) {
  try {
    return body();
  } catch (CORBA::SystemException& e) {
    std::fprintf(stderr, "%s: CORBA::%s minor=0x%lx\n", prog, e._name(),
                 static_cast<unsigned long>(e.minor()));
  } catch (CORBA::Exception& e) {
    std::fprintf(stderr, "%s: CORBA exception %s\n", prog, e._name());
  }
  return 1;
}

#endif
