/* lazylib.h — the heavy optional libraries (libpq, libcurl, libmicrohttpd) are loaded on first
 * use rather than at start; see lazylib.c. Code that is about to use one calls lazylib_load
 * first, to turn a missing library into a clear error instead of an abort. */
#ifndef ROSTER_LAZYLIB_H
#define ROSTER_LAZYLIB_H

#include <stddef.h>

enum lazylib { LAZYLIB_PQ, LAZYLIB_CURL, LAZYLIB_MHD, LAZYLIB_COUNT };

/* Loads the library if it is not yet: 0, or -1 with a message in err. */
int lazylib_load(enum lazylib lib, char *err, size_t errlen);
/* The shared object's name, e.g. "libpq.so.5" (scripts/runtime-deps.sh lists the same). */
const char *lazylib_soname(enum lazylib lib);

#endif
