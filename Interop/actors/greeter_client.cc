// An omniORB client of the Swift distributed actor GreeterActor
// (Sources/CourierActorExamples/Greeter.swift), through the IDL courier-idl export wrote.
//   greeter_client IOR
// Prints one line per call; exits 1 on the first unexpected outcome.
#include <Greeter.hh>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: greeter_client IOR\n");
    return 2;
  }
  CORBA::ORB_var orb = CORBA::ORB_init(argc, argv);
  int failures = 0;
  try {
    CORBA::Object_var obj = orb->string_to_object(argv[1]);
    CourierActorExamples::GreeterActor_var greeter = CourierActorExamples::GreeterActor::_narrow(obj);
    if (CORBA::is_nil(greeter)) {
      std::printf("FAIL narrow\n");
      return 1;
    }
    CORBA::String_var hello = greeter->greet_name_times("Ada", 2);
    std::printf("greet_name_times %s\n", (const char*)hello);
    if (std::strcmp(hello, "Hello, Ada! Hello, Ada!") != 0) failures++;

    CORBA::LongLong sum = greeter->add(40, 2);
    std::printf("add %lld\n", (long long)sum);
    if (sum != 42) failures++;

    CORBA::String_var described = greeter->describeValue(7, "n=");
    std::printf("describeValue %s\n", (const char*)described);
    if (std::strcmp(described, "n=7") != 0) failures++;

    try {
      greeter->greet_name_times("", 1);
      std::printf("FAIL no exception\n");
      failures++;
    } catch (const Courier::SwiftError& e) {
      std::printf("SwiftError %s: %s (%u payload octets)\n", (const char*)e.typeName, (const char*)e.description,
                  (unsigned)e.payload.length());
    }
  } catch (const CORBA::SystemException& e) {
    std::printf("FAIL system exception %s minor 0x%lx\n", e._name(), (unsigned long)e.minor());
    failures++;
  } catch (const CORBA::Exception& e) {
    std::printf("FAIL exception %s\n", e._name());
    failures++;
  }
  orb->destroy();
  std::printf(failures == 0 ? "OK\n" : "FAILED %d\n", failures);
  return failures == 0 ? 0 : 1;
}
