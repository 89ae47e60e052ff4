/* pgurl.h — Postgres connection URLs: parsing enough to rewrite query parameters, strip the ones
 * libpq rejects (Prisma's connection_limit, pgx's pool_max_conns ...), and redact passwords.
 * Pure: which parameters libpq knows is passed in. */
#ifndef ROSTER_PGURL_H
#define ROSTER_PGURL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/redact.h" /* url_redact, once declared here */
#include "base/util.h"

struct pgurl {
    char *base;  /* everything before '?', as written */
    strvec keys; /* query parameters, raw (still percent-encoded) */
    strvec vals;
    char *user;   /* decoded, or NULL */
    char *host;   /* first host, decoded ([] removed from IPv6), or NULL (unix socket default) */
    int port;     /* first port, or 0 */
    char *dbname; /* decoded, or NULL */
};

/* Parses a postgres:// or postgresql:// URL. Returns 0, or -1 with err set. */
int pgurl_parse(const char *url, struct pgurl *u, char *err, size_t errlen);
char *pgurl_format(const struct pgurl *u); /* caller frees */
const char *pgurl_get_param(const struct pgurl *u, const char *key);
void pgurl_set_param(struct pgurl *u, const char *key, const char *val);
/* Removes every parameter not in known (a NULL-terminated list of keywords, as libpq's
 * PQconndefaults names them); returns how many were removed and appends their names
 * (comma-separated) to removed when it is not NULL. */
int pgurl_strip_unknown(struct pgurl *u, const char *const *known, sbuf *removed);
void pgurl_free(struct pgurl *u);

/* Splits host[:port] (or [v6]:port) between s and end: *host is decoded and allocated (NULL
 * when empty), *port is set only when present. -1 with *why on a malformed address. */
int url_hostport(const char *s, const char *end, char **host, int *port, const char **why);
/* Where the userinfo of a URL ends, rest pointing just after "://": the last '@' before the
 * first '/', or NULL when there is none. libpq reads a password up to an '@' before any '/', so
 * '?', '#', ':' (and here '@') may stand in it unencoded; '/' may not. */
const char *url_userinfo_end(const char *rest);
/* Percent-decodes s (caller frees). */
char *url_decode(const char *s, size_t len);
/* Percent-encodes s for a URL's userinfo (caller frees). */
char *url_encode_userinfo(const char *s);

#endif
