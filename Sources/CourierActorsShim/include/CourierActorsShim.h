#ifndef COURIER_ACTORS_SHIM_H
#define COURIER_ACTORS_SHIM_H

/// The bounds of the swift5_accessible_functions section of the image this shim is linked
/// into: the records the Swift runtime looks distributed targets up in. Null when the image
/// has none. (On Linux the linker defines __start_/__stop_ symbols for such sections.)
const void *courier_accessible_functions_start(void);
const void *courier_accessible_functions_end(void);

#endif
