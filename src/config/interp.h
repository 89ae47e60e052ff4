/* interp.h — ${VAR} interpolation of config values, as docker compose does it:
 *   ${VAR}            the value; an error when VAR is unset
 *   ${VAR:-default}   default when VAR is unset or empty (${VAR-default}: only when unset)
 *   ${VAR:?message}   an error with message when VAR is unset or empty (${VAR?message}: unset)
 *   $$                a literal $
 * A $ followed by anything else is kept as is, so shell commands keep their own $1 and $HOME.
 * Defaults may themselves contain ${...}. Pure. */
#ifndef ROSTER_INTERP_H
#define ROSTER_INTERP_H

#include <stddef.h>

/* Returns the value of name, or NULL when it is unset. */
typedef const char *(*interp_lookup)(void *ud, const char *name);

struct interp_error {
    size_t offset; /* byte offset in the input where the failing ${ starts */
    char msg[256];
};

/* Expands in. Returns 0 with *out allocated (caller frees), or -1 with err filled. */
int interp_expand(const char *in, interp_lookup lookup, void *ud, char **out,
                  struct interp_error *err);

#endif
