// check.h -- the "ok NAME" / "FAIL NAME: why" reporting used by the clients.
#ifndef INTEROP_CHECK_H
#define INTEROP_CHECK_H

#include <omniORB4/CORBA.h>

#include <cstdio>
#include <string>

static int g_failures = 0;

static void ok(const std::string& name, const std::string& detail = "") {
  if (detail.empty())
    std::printf("ok %s\n", name.c_str());
  else
    std::printf("ok %s %s\n", name.c_str(), detail.c_str());
  std::fflush(stdout);
}

static void fail(const std::string& name, const std::string& why) {
  std::printf("FAIL %s: %s\n", name.c_str(), why.c_str());
  std::fflush(stdout);
  g_failures++;
}

static const char* completionName(CORBA::CompletionStatus c) {
  switch (c) {
    case CORBA::COMPLETED_YES: return "COMPLETED_YES";
    case CORBA::COMPLETED_NO: return "COMPLETED_NO";
    default: return "COMPLETED_MAYBE";
  }
}

// "CORBA::TRANSIENT minor=0x41540002 COMPLETED_NO" and the like.
static std::string describe(const CORBA::Exception& e) {
  char buf[256];
  if (const CORBA::SystemException* se = CORBA::SystemException::_downcast(&e)) {
    std::snprintf(buf, sizeof buf, "CORBA::%s minor=0x%lx %s", se->_name(),
                  static_cast<unsigned long>(se->minor()), completionName(se->completed()));
  } else {
    std::snprintf(buf, sizeof buf, "user exception %s (%s)", e._name(), e._rep_id());
  }
  return buf;
}

// Runs one check: body() returns "" for success or the failure reason; any
// CORBA exception escaping from body() is a failure too.
template <class F>
static void check(const std::string& name, F body) {
  try {
    std::string why = body();
    if (why.empty()) ok(name); else fail(name, why);
  } catch (const CORBA::Exception& e) {
    fail(name, "unexpected " + describe(e));
  } catch (...) {
    fail(name, "unexpected non-CORBA exception");
  }
}

// Reads "file:PATH" or "file://PATH" (contents of PATH, trailing whitespace
// removed) or returns the argument unchanged (IOR:..., corbaloc:...).
static std::string resolveRefArg(const std::string& arg) {
  if (arg.compare(0, 5, "file:") != 0) return arg;
  std::string path = arg.substr(arg.compare(0, 7, "file://") == 0 ? 7 : 5);
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) { std::perror(path.c_str()); return ""; }
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

static bool validGiopVersion(const std::string& v) {
  return v == "1.0" || v == "1.1" || v == "1.2";
}

#endif
