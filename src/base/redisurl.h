/* redisurl.h — one normalized REDIS_URL from redis.url or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD,
 * so every role reads the same form whatever the platform set. Pure. */
#ifndef ROSTER_REDISURL_H
#define ROSTER_REDISURL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/envmap.h"

struct redis_target {
    bool tls;       /* rediss:// */
    char *user;     /* or NULL */
    char *password; /* or NULL */
    char *host;
    int port;
    int db;
};

/* Parses redis://[user][:password@]host[:port][/db] (or rediss://). 0, or -1 with err set. */
int redisurl_parse(const char *url, struct redis_target *t, char *err, size_t errlen);
/* Formats t as a normalized URL (caller frees). */
char *redisurl_format(const struct redis_target *t);
/* The normalized URL for a config: url when given (non-empty), else composed from REDIS_HOST,
 * REDIS_PORT, REDIS_PASSWORD (and REDIS_USERNAME, REDIS_DB) in env. NULL with err set when
 * neither yields a URL or the URL is malformed. */
char *redisurl_resolve(const char *url, const envmap *env, char *err, size_t errlen);
void redisurl_free(struct redis_target *t);

#endif
