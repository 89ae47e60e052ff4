/* slowdir.c — an LD_PRELOAD shim for the end-to-end tests: opendir() of a path that contains
 * $RTEST_SLOWDIR_MARK takes $RTEST_SLOWDIR_MS longer, as on a slow or cold disk, so a test can
 * tell a directory listed on roster's loop (every /livez waits) from one listed on its thread
 * pool. With $RTEST_SLOWDIR_CLOSE_MS, closedir() of such a directory takes that much longer too:
 * what was listed is older by then (a process seen in /proc may have ended). Without the
 * variables it changes nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stdbool.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef DIR *(*opendir_fn)(const char *);
typedef int (*closedir_fn)(DIR *);

/* The marked directories open now, whose closedir waits. */
#define SLOW_OPEN 16
static DIR *slow_open[SLOW_OPEN];
static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;

static void sleep_ms(long v)
{
    struct timespec ts = {v / 1000, (v % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

DIR *opendir(const char *name)
{
    static opendir_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "opendir");
    const char *mark = getenv("RTEST_SLOWDIR_MARK");
    const char *ms = getenv("RTEST_SLOWDIR_MS");
    bool marked = mark && *mark && strstr(name, mark);
    if (marked && ms) sleep_ms(atol(ms));
    if (!real) {
        errno = ENOSYS;
        return NULL;
    }
    DIR *d = real(name);
    if (d && marked && getenv("RTEST_SLOWDIR_CLOSE_MS")) {
        pthread_mutex_lock(&slow_mu);
        for (int i = 0; i < SLOW_OPEN; i++)
            if (!slow_open[i]) {
                slow_open[i] = d;
                break;
            }
        pthread_mutex_unlock(&slow_mu);
    }
    return d;
}

int closedir(DIR *d)
{
    static closedir_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "closedir");
    bool slow = false;
    pthread_mutex_lock(&slow_mu);
    for (int i = 0; i < SLOW_OPEN; i++)
        if (slow_open[i] == d) {
            slow_open[i] = NULL;
            slow = true;
        }
    pthread_mutex_unlock(&slow_mu);
    const char *ms = getenv("RTEST_SLOWDIR_CLOSE_MS");
    if (slow && ms) sleep_ms(atol(ms));
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(d);
}
