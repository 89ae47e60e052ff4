/* envmap.h — an ordered map of environment variables, turned into an envp for execve. */
#ifndef ROSTER_ENVMAP_H
#define ROSTER_ENVMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/strmap.h"

typedef struct envvar {
    char *key, *val;
} envvar;

typedef struct envmap {
    envvar *v;
    size_t n, cap;
    /* Past a few dozen entries, key -> position for v[0..indexed), so that a role with
     * thousands of variables is built in linear time; private to envmap.c. */
    strmap index;
    size_t indexed;
} envmap;

void envmap_set(envmap *m, const char *key, const char *val);         /* copies both; replaces */
bool envmap_set_default(envmap *m, const char *key, const char *val); /* only when absent */
const char *envmap_get(const envmap *m, const char *key);
void envmap_unset(envmap *m, const char *key);
void envmap_merge(envmap *dst, const envmap *src);          /* src wins */
void envmap_merge_defaults(envmap *dst, const envmap *src); /* dst wins */
void envmap_from_environ(envmap *m, char **environ_);
void envmap_copy(envmap *dst, const envmap *src);
bool envmap_equal(const envmap *a, const envmap *b); /* same pairs, in any order */
/* A freshly allocated NULL-terminated array of "KEY=VALUE" strings; free with envp_free. */
char **envmap_to_envp(const envmap *m);
void envp_free(char **envp);
void envmap_free(envmap *m);

#endif
