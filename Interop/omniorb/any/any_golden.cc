// Prints CORBA::Any values as omniORB 4.2 marshals them into a cdrMemoryStream, as the
// golden files in golden/ hold them: one file per case, "NAME.ORDER.hex".
//
//   any_golden OUTDIR        writes OUTDIR/<case>.<le|be>.hex for every case
//
// Each file: comment lines ("# ..."), then the bytes as hex, 16 per line. The stream starts
// at offset 0, which is where alignment counts from.
#include <omniORB4/CORBA.h>
#include <omniORB4/cdrStream.h>
#include <omniORB4/codeSets.h>
#include <cstdio>
#include <cstring>
#include <string>
#include "any_golden.hh"

static CORBA::ORB_var orb;

static void dump(const std::string& dir, const char* name, const char* what,
                 const CORBA::Any& a, bool little) {
  cdrMemoryStream s((CORBA::ULong)0, (CORBA::Boolean)1);  // clear memory: padding octets are zero
  s.setByteSwapFlag(little);
  GIOP::Version v12 = {1, 2};
  s.TCS_W(omni::omniCodeSet::getTCS_W(omni::omniCodeSet::ID_UTF_16, v12));
  a >>= s;
  std::string path = dir + "/" + name + (little ? ".le" : ".be") + ".hex";
  FILE* f = fopen(path.c_str(), "w");
  if (!f) { perror(path.c_str()); exit(1); }
  fprintf(f, "# %s\n# %s; omniORB %s, cdrMemoryStream, %s endian, GIOP 1.2 wchar rules, UTF-16 wchar code set\n",
          name, what, omniORB::versionString(), little ? "little" : "big");
  const unsigned char* p = (const unsigned char*)s.bufPtr();
  CORBA::ULong n = s.bufSize();
  for (CORBA::ULong i = 0; i < n; i++)
    fprintf(f, "%02x%s", p[i], (i % 16 == 15 || i + 1 == n) ? "\n" : " ");
  fclose(f);
}

int main(int argc, char** argv) {
  orb = CORBA::ORB_init(argc, argv);
  if (argc < 2) { fprintf(stderr, "usage: any_golden OUTDIR\n"); return 2; }
  std::string dir = argv[1];

  struct Case { const char* name; const char* what; CORBA::Any any; };
  Case cases[32];
  int n = 0;
  auto add = [&](const char* name, const char* what) -> CORBA::Any& {
    cases[n].name = name; cases[n].what = what; return cases[n++].any;
  };

  add("long", "long 42") <<= (CORBA::Long)42;
  add("string", "string \"hello\"") <<= "hello";
  {
    Golden::Shape sh;
    sh.name = "tri";
    sh.origin.x = 1; sh.origin.y = -2;
    sh.corners.length(2);
    sh.corners[0].x = 3; sh.corners[0].y = 4;
    sh.corners[1].x = 5; sh.corners[1].y = 6;
    sh.tags.length(3);
    sh.tags[0] = 7; sh.tags[1] = -8; sh.tags[2] = 9;
    sh.area = 2.5;
    sh.flag = 0xAB;
    add("struct", "Golden::Shape{\"tri\", {1,-2}, [{3,4},{5,6}], [7,-8,9], 2.5, 0xAB}") <<= sh;
  }
  {
    Golden::Choice c; c.text("two");  // discriminator 2
    add("union_case", "Golden::Choice text(\"two\"), discriminator 2") <<= c;
    Golden::Choice d; d.hue(Golden::blue);  // default member
    add("union_default", "Golden::Choice hue(blue), the default member (discriminator chosen by omniORB)") <<= d;
    Golden::Partial p; p._default();  // implicit default: discriminator blue, no member
    add("union_implicit", "Golden::Partial _default() (discriminator blue, no member)") <<= p;
  }
  add("enum", "Golden::Color green") <<= Golden::green;
  {
    Golden::Location l; l.x = 10; l.y = 20;
    CORBA::Any& a = add("alias", "Golden::Location (typedef Point) {10,20}");
    a <<= l;
    a.type(Golden::_tc_Location);  // Location is equivalent to Point
  }
  {
    Golden::Counts c = {1, 2, 3};
    add("array", "Golden::Counts (long[3]) {1,2,3}") <<= Golden::Counts_forany(c);
  }
  {
    Golden::Node root; root.value = 1;
    root.children.length(2);
    root.children[0].value = 2;
    root.children[1].value = 3;
    root.children[1].children.length(1);
    root.children[1].children[0].value = 4;
    add("recursive", "Golden::Node{1, [{2,[]}, {3,[{4,[]}]}]}") <<= root;
  }
  {
    Golden::Tree t; t.label = "a";
    t.kids.length(1);
    t.kids[0].label = "b";
    add("recursive_alias", "Golden::Tree{\"a\", [{\"b\", []}]} (Forest = typedef sequence<Tree>)") <<= t;
  }
  {
    CORBA::Object_var o = orb->string_to_object("corbaloc::1.2@127.0.0.1:2809/Thing");
    Golden::Thing_var t = Golden::Thing::_unchecked_narrow(o);
    add("objref", "Golden::Thing reference to corbaloc::1.2@127.0.0.1:2809/Thing") <<= t.in();
    add("objref_nil", "nil Golden::Thing") <<= Golden::Thing::_nil();
  }
  {
    CORBA::Fixed f("-12.34");
    add("fixed", "fixed<5,2> -12.34") <<= CORBA::Any::from_fixed(f, 5, 2);
    CORBA::Fixed g("1234.5");
    add("fixed_even", "fixed<6,1> 1234.5 (even digit count: leading zero half-octet)") <<= CORBA::Any::from_fixed(g, 6, 1);
    Golden::Money m("999.99");
    CORBA::Any& a = add("fixed_alias", "Golden::Money (typedef fixed<5,2>) 999.99");
    a <<= CORBA::Any::from_fixed(m, 5, 2);
    a.type(Golden::_tc_Money);
  }
  {
    CORBA::Any inner; inner <<= (CORBA::Long)7;
    CORBA::Any middle; middle <<= inner;
    add("nested_any", "any holding an any holding an any holding long 7") <<= middle;
  }
  {
    CORBA::WChar text[] = {'w', 'i', 'd', 'e', ' ', 0xFC, 0x20AC, 0};
    Golden::Wide w;
    w.text = CORBA::wstring_dup(text);
    w.c = 0x3A9;
    add("wide", "Golden::Wide{L\"wide \\u00fc\\u20ac\", L'\\u03a9'}") <<= w;
  }
  {
    Golden::Oops e; e.code = 404; e.why = "gone";
    add("exception", "Golden::Oops{404, \"gone\"}") <<= e;
  }
  add("typecode", "the TypeCode of Golden::Point") <<= Golden::_tc_Point;
  {
    CORBA::Any& a = add("union_number", "Golden::Choice number(-1), discriminator 1");
    Golden::Choice c; c.number(-1);
    a <<= c;
  }

  for (int i = 0; i < n; i++) {
    dump(dir, cases[i].name, cases[i].what, cases[i].any, true);
    dump(dir, cases[i].name, cases[i].what, cases[i].any, false);
  }
  orb->destroy();
  return 0;
}
