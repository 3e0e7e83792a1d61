#include "CourierActorsShim.h"

// Weak: an image without distributed actors has no such section, and the symbols are then null.
extern const char __start_swift5_accessible_functions[] __attribute__((weak, visibility("hidden")));
extern const char __stop_swift5_accessible_functions[] __attribute__((weak, visibility("hidden")));

const void *courier_accessible_functions_start(void) { return __start_swift5_accessible_functions; }
const void *courier_accessible_functions_end(void) { return __stop_swift5_accessible_functions; }
