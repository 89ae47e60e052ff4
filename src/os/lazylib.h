/* lazylib.h — the heavy optional libraries (libpq, libcurl, libmicrohttpd) are loaded only by a
 * roster whose config needs them, rather than linked into every roster; see lazylib.c. A library
 * is loaded whole: opened, and every function roster calls in it resolved, at once. Start-up
 * (`roster run`, `roster check`, a reload) calls lazylib_require with what the plan needs, so a
 * missing library or a missing function is a clear error there and never an abort later. */
#ifndef ROSTER_LAZYLIB_H
#define ROSTER_LAZYLIB_H

#include <stddef.h>

enum lazylib { LAZYLIB_PQ, LAZYLIB_CURL, LAZYLIB_MHD, LAZYLIB_COUNT };

/* A set of libraries, as lazylib_require takes it. */
#define LAZYLIB_BIT(lib) (1u << (lib))

/* Loads the library and resolves every function roster calls in it, unless done already.
 * Returns 0; -ENOENT when the library cannot be opened (err: "libpq.so.5 not found", or the
 * loader's reason); -ENOSYS when it lacks a function (err: "libcurl.so.4 lacks
 * curl_multi_socket_action"), in which case nothing of it is used. err may be NULL. */
int lazylib_load(enum lazylib lib, char *err, size_t errlen);
/* Loads every library in the set `libs` (LAZYLIB_BIT values or'ed): 0, or the first failure's
 * negative errno with err saying which library and the Debian package that provides it. */
int lazylib_require(unsigned libs, char *err, size_t errlen);
/* The shared object's name, e.g. "libpq.so.5" (scripts/runtime-deps.sh lists the same). */
const char *lazylib_soname(enum lazylib lib);

#endif
