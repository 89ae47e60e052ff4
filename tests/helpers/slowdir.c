/* slowdir.c — an LD_PRELOAD shim for the end-to-end tests: opendir() of a path that contains
 * $RTEST_SLOWDIR_MARK takes $RTEST_SLOWDIR_MS longer, as on a slow or cold disk, so a test can
 * tell a directory listed on roster's loop (every /livez waits) from one listed on its thread
 * pool. Without the variables it changes nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef DIR *(*opendir_fn)(const char *);

DIR *opendir(const char *name)
{
    static opendir_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "opendir");
    const char *mark = getenv("RTEST_SLOWDIR_MARK");
    const char *ms = getenv("RTEST_SLOWDIR_MS");
    if (mark && *mark && ms && strstr(name, mark)) {
        long v = atol(ms);
        struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        }
    }
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    return real(name);
}
