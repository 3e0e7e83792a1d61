/*
 * frw_pre.h - pre-included (gcc -include) before every compilation unit.
 * frw.x's "const MAX = 1000;" becomes "#define MAX 1000" in the rpcgen header,
 * while <rpc/rpc.h> (via <sys/param.h>) already defines the function-like
 * MAX(a,b). Including <rpc/rpc.h> first and dropping that MAX lets frw.x stay
 * byte-faithful and the build stay free of "MAX redefined" warnings.
 */
#include <rpc/rpc.h>
#undef MAX
