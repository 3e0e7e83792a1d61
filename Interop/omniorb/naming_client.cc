// naming_client [GIOPVER] -ORBInitRef NameService=corbaloc::HOST:PORT/NameService [-ORB options...]
//
// omniORB 4.2 client for a CosNaming service (Naming.hh, whose stubs are in
// libomniORB4 itself): builds compound names of up to three components in
// C++ and checks bind_new_context, bind, resolve, resolve_str, to_name,
// to_string, NotFound (missing_node, rest_of_name), AlreadyBound, NotEmpty,
// list, unbind and destroy, then removes everything it created:
//
//   courier-cc.test                 (context, id "courier-cc", kind "test")
//   courier-cc.test/inner           (context)
//   courier-cc.test/inner/leaf.obj  (object: the root context's reference)
//
// GIOPVER (optional) is passed as -ORBmaxGIOPVersion. Prints "ok NAME" /
// "FAIL NAME: why" lines; exits 0 iff all passed. On stderr: the IORs of the
// two contexts it made ("naming_client: context NAME IOR:...") and a summary.
#include <omniORB4/CORBA.h>
#include <omniORB4/Naming.hh>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"

typedef CosNaming::NamingContext NC;
typedef CosNaming::NamingContext_var NC_var;

// A name from (id, kind) pairs.
static CosNaming::Name makeName(std::initializer_list<std::pair<const char*, const char*>> parts) {
  CosNaming::Name n;
  n.length(static_cast<CORBA::ULong>(parts.size()));
  CORBA::ULong i = 0;
  for (const auto& p : parts) {
    n[i].id = CORBA::string_dup(p.first);
    n[i].kind = CORBA::string_dup(p.second);
    i++;
  }
  return n;
}

static std::string component(const CosNaming::NameComponent& c) {
  return std::string("(") + static_cast<const char*>(c.id) + "," + static_cast<const char*>(c.kind) + ")";
}

static std::string nameStr(const CosNaming::Name& n) {
  std::string s = "[";
  for (CORBA::ULong i = 0; i < n.length(); i++) s += (i ? " " : "") + component(n[i]);
  return s + "]";
}

static bool sameName(const CosNaming::Name& a, const CosNaming::Name& b) {
  if (a.length() != b.length()) return false;
  for (CORBA::ULong i = 0; i < a.length(); i++)
    if (std::strcmp(a[i].id, b[i].id) != 0 || std::strcmp(a[i].kind, b[i].kind) != 0) return false;
  return true;
}

static const char* reasonName(NC::NotFoundReason r) {
  switch (r) {
    case NC::missing_node: return "missing_node";
    case NC::not_context: return "not_context";
    case NC::not_object: return "not_object";
    default: return "?";
  }
}

// To stderr, for a caller that wants to check the destroyed contexts are gone.
static void printContext(CORBA::ORB_ptr orb, const char* name, CORBA::Object_ptr ctx) {
  CORBA::String_var ior = orb->object_to_string(ctx);
  std::fprintf(stderr, "naming_client: context %s %s\n", name, ior.in());
}

int main(int argc, char** argv) {
  (void)&resolveRefArg;  // check.h's, for the clients given a REF; not used here
  int first = 1;
  const char* giop = nullptr;
  if (argc > 1 && validGiopVersion(argv[1])) { giop = argv[1]; first = 2; }
  std::vector<char*> av;
  av.push_back(argv[0]);
  if (giop) {
    av.push_back(const_cast<char*>("-ORBmaxGIOPVersion"));
    av.push_back(const_cast<char*>(giop));
  }
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
  if (ac > 1) {
    std::fprintf(stderr, "usage: %s [GIOPVER] -ORBInitRef NameService=URL [-ORB options...] (left over: %s)\n",
                 argv[0], av[1]);
    orb->destroy();
    return 2;
  }

  const CosNaming::Name top = makeName({{"courier-cc", "test"}});
  const CosNaming::Name inner = makeName({{"courier-cc", "test"}, {"inner", ""}});
  const CosNaming::Name leaf = makeName({{"courier-cc", "test"}, {"inner", ""}, {"leaf", "obj"}});
  const char* leafStr = "courier-cc.test/inner/leaf.obj";

  {
    CosNaming::NamingContextExt_var root;
    NC_var topCtx, innerCtx;
    check("narrow-root", [&]() -> std::string {
      CORBA::Object_var obj = orb->resolve_initial_references("NameService");
      if (CORBA::is_nil(obj)) return "resolve_initial_references gave a nil reference";
      root = CosNaming::NamingContextExt::_narrow(obj);
      return CORBA::is_nil(root) ? "_narrow to NamingContextExt gave a nil reference" : "";
    });
    if (CORBA::is_nil(root)) {
      std::fprintf(stderr, "naming_client: FAILED, no root context\n");
      orb->destroy();
      return 1;
    }

    check("bind_new_context-courier-cc.test", [&]() -> std::string {
      topCtx = root->bind_new_context(top);
      if (CORBA::is_nil(topCtx)) return "nil context";
      printContext(orb, "courier-cc.test", topCtx);
      return "";
    });
    check("bind_new_context-courier-cc.test/inner", [&]() -> std::string {
      innerCtx = root->bind_new_context(inner);
      if (CORBA::is_nil(innerCtx)) return "nil context";
      printContext(orb, "courier-cc.test/inner", innerCtx);
      return "";
    });
    check("bind-leaf", [&]() -> std::string {
      root->bind(leaf, root);
      return "";
    });
    check("to_name", [&]() -> std::string {
      CosNaming::Name_var n = root->to_name(leafStr);
      return sameName(n.in(), leaf) ? "" : "got " + nameStr(n.in()) + ", want " + nameStr(leaf);
    });
    check("to_string", [&]() -> std::string {
      CORBA::String_var s = root->to_string(leaf);
      return std::strcmp(s.in(), leafStr) == 0 ? "" : std::string("got \"") + s.in() + "\"";
    });
    check("resolve-leaf", [&]() -> std::string {
      CORBA::Object_var obj = root->resolve(leaf);
      if (CORBA::is_nil(obj)) return "nil reference";
      return obj->_is_equivalent(root) ? "" : "not equivalent to the root context bound";
    });
    check("resolve_str-leaf", [&]() -> std::string {
      CORBA::Object_var obj = root->resolve_str(leafStr);
      if (CORBA::is_nil(obj)) return "nil reference";
      return obj->_is_equivalent(root) ? "" : "not equivalent to the root context bound";
    });
    check("resolve-leaf-via-inner", [&]() -> std::string {
      if (CORBA::is_nil(innerCtx)) return "no inner context";
      CORBA::Object_var obj = innerCtx->resolve(makeName({{"leaf", "obj"}}));
      if (CORBA::is_nil(obj)) return "nil reference";
      return obj->_is_equivalent(root) ? "" : "not equivalent to the root context bound";
    });
    check("resolved-leaf-is-a-context", [&]() -> std::string {
      // The bound object is the root context: it narrows and answers.
      CORBA::Object_var obj = root->resolve(leaf);
      NC_var nc = NC::_narrow(obj);
      if (CORBA::is_nil(nc)) return "_narrow to NamingContext gave nil";
      CORBA::Object_var again = nc->resolve(leaf);
      return again->_is_equivalent(root) ? "" : "resolve through it gave another object";
    });
    check("resolve-missing", [&]() -> std::string {
      try {
        CORBA::Object_var obj = root->resolve(makeName({{"courier-cc", "test"}, {"inner", ""}, {"missing", ""}}));
        return "no exception";
      } catch (const NC::NotFound& e) {
        if (e.why != NC::missing_node) return std::string("why = ") + reasonName(e.why) + ", want missing_node";
        if (e.rest_of_name.length() != 1) return "rest_of_name " + nameStr(e.rest_of_name) + ", want one component";
        if (std::strcmp(e.rest_of_name[0].id, "missing") != 0 || std::strcmp(e.rest_of_name[0].kind, "") != 0)
          return "rest_of_name " + nameStr(e.rest_of_name) + ", want [(missing,)]";
        return "";
      }
    });
    check("resolve-missing-middle", [&]() -> std::string {
      try {
        CORBA::Object_var obj = root->resolve(makeName({{"courier-cc", "test"}, {"nope", ""}, {"leaf", "obj"}}));
        return "no exception";
      } catch (const NC::NotFound& e) {
        if (e.why != NC::missing_node) return std::string("why = ") + reasonName(e.why) + ", want missing_node";
        if (!sameName(e.rest_of_name, makeName({{"nope", ""}, {"leaf", "obj"}})))
          return "rest_of_name " + nameStr(e.rest_of_name) + ", want [(nope,) (leaf,obj)]";
        return "";
      }
    });
    check("resolve-through-object", [&]() -> std::string {
      try {
        CosNaming::Name deeper = leaf;
        deeper.length(4);
        deeper[3].id = CORBA::string_dup("x");
        deeper[3].kind = CORBA::string_dup("");
        CORBA::Object_var obj = root->resolve(deeper);
        return "no exception";
      } catch (const NC::NotFound& e) {
        if (e.why != NC::not_context) return std::string("why = ") + reasonName(e.why) + ", want not_context";
        if (!sameName(e.rest_of_name, makeName({{"leaf", "obj"}, {"x", ""}})))
          return "rest_of_name " + nameStr(e.rest_of_name) + ", want [(leaf,obj) (x,)]";
        return "";
      }
    });
    check("bind-leaf-again", [&]() -> std::string {
      try {
        root->bind(leaf, root);
        return "no exception";
      } catch (const NC::AlreadyBound&) {
        return "";
      }
    });
    check("list-inner", [&]() -> std::string {
      CORBA::Object_var obj = root->resolve(inner);
      NC_var ctx = NC::_narrow(obj);
      if (CORBA::is_nil(ctx)) return "courier-cc.test/inner is not a NamingContext";
      CosNaming::BindingList_var bl;
      CosNaming::BindingIterator_var bi;
      ctx->list(100, bl.out(), bi.out());
      if (!CORBA::is_nil(bi)) bi->destroy();
      if (bl->length() != 1) return "holds " + std::to_string(bl->length()) + " bindings, want 1";
      const CosNaming::Binding& b = bl[0];
      if (!sameName(b.binding_name, makeName({{"leaf", "obj"}})))
        return "holds " + nameStr(b.binding_name) + ", want [(leaf,obj)]";
      return b.binding_type == CosNaming::nobject ? "" : "leaf.obj is not bound as an object";
    });
    check("list-top", [&]() -> std::string {
      if (CORBA::is_nil(topCtx)) return "no courier-cc.test context";
      CosNaming::BindingList_var bl;
      CosNaming::BindingIterator_var bi;
      topCtx->list(100, bl.out(), bi.out());
      if (!CORBA::is_nil(bi)) bi->destroy();
      if (bl->length() != 1) return "holds " + std::to_string(bl->length()) + " bindings, want 1";
      if (!sameName(bl[0].binding_name, makeName({{"inner", ""}})))
        return "holds " + nameStr(bl[0].binding_name) + ", want [(inner,)]";
      return bl[0].binding_type == CosNaming::ncontext ? "" : "inner is not bound as a context";
    });
    check("destroy-non-empty", [&]() -> std::string {
      if (CORBA::is_nil(innerCtx)) return "no inner context";
      try {
        innerCtx->destroy();
        return "no exception";
      } catch (const NC::NotEmpty&) {
        return "";
      }
    });

    // Clean up, innermost first.
    check("unbind-leaf", [&]() -> std::string {
      root->unbind(leaf);
      return "";
    });
    check("resolve-unbound-leaf", [&]() -> std::string {
      try {
        CORBA::Object_var obj = root->resolve_str(leafStr);
        return "no exception";
      } catch (const NC::NotFound& e) {
        return e.why == NC::missing_node ? "" : std::string("why = ") + reasonName(e.why);
      }
    });
    check("destroy-inner", [&]() -> std::string {
      if (CORBA::is_nil(innerCtx)) return "no inner context";
      innerCtx->destroy();
      return "";
    });
    check("destroyed-inner-gone", [&]() -> std::string {
      // A call on a destroyed context: OBJECT_NOT_EXIST (omniNames and Courier alike).
      if (CORBA::is_nil(innerCtx)) return "no inner context";
      try {
        CosNaming::BindingList_var bl;
        CosNaming::BindingIterator_var bi;
        innerCtx->list(10, bl.out(), bi.out());
        return "list on the destroyed context answered";
      } catch (const CORBA::OBJECT_NOT_EXIST&) {
        return "";
      }
    });
    check("unbind-inner", [&]() -> std::string {
      root->unbind(inner);
      return "";
    });
    check("destroy-top", [&]() -> std::string {
      if (CORBA::is_nil(topCtx)) return "no courier-cc.test context";
      topCtx->destroy();
      return "";
    });
    check("unbind-top", [&]() -> std::string {
      root->unbind(top);
      return "";
    });
    check("top-gone", [&]() -> std::string {
      try {
        CORBA::Object_var obj = root->resolve(top);
        return "no exception";
      } catch (const NC::NotFound& e) {
        if (e.why != NC::missing_node) return std::string("why = ") + reasonName(e.why) + ", want missing_node";
        return sameName(e.rest_of_name, top) ? "" : "rest_of_name " + nameStr(e.rest_of_name);
      }
    });
  }

  try {
    orb->destroy();
  } catch (const CORBA::Exception& e) {
    fail("orb-destroy", describe(e));
  }
  if (g_failures == 0)
    std::fprintf(stderr, "naming_client: PASSED\n");
  else
    std::fprintf(stderr, "naming_client: FAILED, %d failure(s)\n", g_failures);
  return g_failures == 0 ? 0 : 1;
}
