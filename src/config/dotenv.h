/* dotenv.h — the .env file format: KEY=VALUE lines, `export` prefixes, # comments, single
 * quotes (literal), double quotes (escapes \n \r \t \" \\ \$, may span lines). Pure. */
#ifndef ROSTER_DOTENV_H
#define ROSTER_DOTENV_H

#include <stddef.h>

#include "base/envmap.h"

struct dotenv_error {
    int line, col;
    char msg[160];
};

/* Called once per assignment, in file order; a later assignment of the same key wins. */
typedef void (*dotenv_cb)(void *ud, const char *key, const char *value, int line);

/* Parses text. Returns 0, or -1 with *err filled (the first error; nothing after it is parsed). */
int dotenv_parse(const char *text, size_t len, dotenv_cb cb, void *ud, struct dotenv_error *err);

/* Reads path and adds each variable to out with envmap_set (later lines win).
 * Returns 0; -1 with err set on a syntax error; or -errno when the file cannot be read. */
int dotenv_load(const char *path, envmap *out, struct dotenv_error *err);

#endif
