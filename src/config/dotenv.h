/* dotenv.h — the .env file format: KEY=VALUE lines, `export` prefixes, # comments, single
 * quotes (literal), double quotes (escapes \n \r \t \" \\ \$, may span lines). Pure. */
#ifndef ROSTER_DOTENV_H
#define ROSTER_DOTENV_H

#include <stddef.h>

#include "base/envmap.h"

/* What dotenv_parse and dotenv_load return. A code space of its own, so a file that cannot be
 * read never passes for a syntax error (as -EPERM once did, being -1). */
enum dotenv_result {
    DOTENV_OK = 0,
    DOTENV_ESYNTAX, /* line, col and msg say where and what */
    DOTENV_EREAD,   /* the file could not be read: sys_errno says why, msg says it in words */
};

struct dotenv_error {
    int line, col; /* of a syntax error, 1-based; 0 for a read error */
    int sys_errno; /* of a read error; 0 for a syntax error */
    char msg[160];
};

/* Called once per assignment, in file order; a later assignment of the same key wins. */
typedef void (*dotenv_cb)(void *ud, const char *key, const char *value, int line);

/* Parses text. Returns DOTENV_OK, or DOTENV_ESYNTAX with *err filled (the first error; nothing
 * after it is parsed). */
enum dotenv_result dotenv_parse(const char *text, size_t len, dotenv_cb cb, void *ud,
                                struct dotenv_error *err);

/* Reads path and adds each variable to out with envmap_set (later lines win). Returns DOTENV_OK,
 * DOTENV_ESYNTAX, or DOTENV_EREAD when the file cannot be read (larger than 4 MiB: EFBIG). */
enum dotenv_result dotenv_load(const char *path, envmap *out, struct dotenv_error *err);

#endif
