/* redisurl.c — Redis URL parsing and normalization. */
#include "base/redisurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"
#include "base/pgurl.h"
#include "base/util.h"

/* The host as a URL writes it: what a host name cannot hold as such ('@', '/', '#', '%', blanks
 * ...) percent-encoded, so that the URL parses back to the same host; ':' stays, for
 * hostport_format brackets an IPv6 address. Caller frees. */
static char *encode_host(const char *host)
{
    sbuf b;
    sbuf_init(&b);
    for (const char *p = host; *p;) {
        size_t n = strcspn(p, ":");
        char *part = xstrndup(p, n);
        char *enc = url_encode_userinfo(part);
        sbuf_puts(&b, enc);
        free(enc);
        free(part);
        p += n;
        if (*p == ':') sbuf_putc(&b, *p++);
    }
    return sbuf_detach(&b);
}

int redisurl_parse(const char *url, struct redis_target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->port = 6379;
    const char *p;
    if (str_has_prefix(url, "redis://"))
        p = url + 8;
    else if (str_has_prefix(url, "rediss://")) {
        p = url + 9;
        t->tls = true;
    } else {
        /* Only the scheme is shown: what follows it may be a password. */
        size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
        if (n && n <= 20 && !strncmp(url + n, "://", 3))
            snprintf(err, errlen, "a Redis URL starts with redis:// or rediss://, not %.*s://",
                     (int)n, url);
        else
            snprintf(err, errlen,
                     "a Redis URL starts with redis:// or rediss:// (this one has "
                     "no scheme)");
        return -1;
    }
    /* the userinfo first, as for Postgres: a password may hold '?' or '#' unencoded */
    const char *at = url_userinfo_end(p);
    const char *hp = at ? at + 1 : p;
    const char *auth_end = hp + strcspn(hp, "/?#");
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p) t->user = url_decode(p, (size_t)(colon - p));
            t->password = url_decode(colon + 1, (size_t)(at - colon - 1));
        } else if (at > p) {
            /* redis://secret@host: the lone userinfo is the password, as redis-cli reads it */
            t->password = url_decode(p, (size_t)(at - p));
        }
        hp = at + 1;
    }
    const char *why;
    if (url_hostport(hp, auth_end, &t->host, &t->port, &why) < 0) {
        snprintf(err, errlen, "%s in the Redis URL", why);
        redisurl_free(t);
        return -1;
    }
    if (!t->host || !*t->host) {
        free(t->host);
        t->host = xstrdup("127.0.0.1");
    }
    /* The normalized URL writes the host encoded (redisurl_format): it must still be one that
     * parses. */
    char *enc = encode_host(t->host);
    bool too_long = strlen(enc) >= sizeof(((struct hostport *)0)->host);
    free(enc);
    if (too_long) {
        snprintf(err, errlen, "the Redis URL's host is too long");
        redisurl_free(t);
        return -1;
    }
    if (*auth_end == '/' && auth_end[1] && auth_end[1] != '?') {
        char *end;
        long db = strtol(auth_end + 1, &end, 10);
        if ((*end && *end != '?') || db < 0 || db > 65535) {
            snprintf(err, errlen, "the Redis URL's path must be a database number");
            redisurl_free(t);
            return -1;
        }
        t->db = (int)db;
    }
    return 0;
}

char *redisurl_format(const struct redis_target *t)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, t->tls ? "rediss://" : "redis://");
    if (t->user || t->password) {
        if (t->user) {
            char *u = url_encode_userinfo(t->user);
            sbuf_puts(&b, u);
            free(u);
        }
        /* "user:@host" when there is no password: a lone "user@" would read as a password */
        char *pw = url_encode_userinfo(t->password ? t->password : "");
        sbuf_printf(&b, ":%s", pw);
        free(pw);
        sbuf_putc(&b, '@');
    }
    char *host = encode_host(t->host);
    size_t hplen = strlen(host) + 16; /* [host]:65535 */
    char *hp = xmalloc(hplen);
    hostport_format(host, t->port, hp, hplen);
    sbuf_puts(&b, hp);
    free(hp);
    free(host);
    if (t->db) sbuf_printf(&b, "/%d", t->db);
    return sbuf_detach(&b);
}

char *redisurl_resolve(const char *url, const envmap *env, char *err, size_t errlen)
{
    struct redis_target t;
    if (url && *url) {
        if (redisurl_parse(url, &t, err, errlen) < 0) return NULL;
    } else {
        const char *host = envmap_get(env, "REDIS_HOST");
        if (!host || !*host) {
            snprintf(
                err, errlen,
                "no Redis URL: set redis.url (e.g. ${REDIS_URL}) or REDIS_HOST and REDIS_PORT");
            return NULL;
        }
        memset(&t, 0, sizeof t);
        t.host = xstrdup(host);
        t.port = 6379;
        const char *port = envmap_get(env, "REDIS_PORT");
        if (port && *port && hostport_port(port, strlen(port), 0, &t.port) != HOSTPORT_OK) {
            snprintf(err, errlen, "REDIS_PORT must be a port number, not '%s'", port);
            redisurl_free(&t);
            return NULL;
        }
        const char *pw = envmap_get(env, "REDIS_PASSWORD");
        if (pw && *pw) t.password = xstrdup(pw);
        const char *user = envmap_get(env, "REDIS_USERNAME");
        if (user && *user) t.user = xstrdup(user);
        const char *db = envmap_get(env, "REDIS_DB");
        if (db && *db) {
            /* checked as the URL's path is: atoi would turn "two" into 0 and pass "-1" on */
            char *end;
            long v = strtol(db, &end, 10);
            if (*end || v < 0 || v > 65535) {
                snprintf(err, errlen, "REDIS_DB must be a database number, not '%s'", db);
                redisurl_free(&t);
                return NULL;
            }
            t.db = (int)v;
        }
        const char *tls = envmap_get(env, "REDIS_TLS");
        if (tls && (!strcmp(tls, "1") || !strcasecmp(tls, "true"))) t.tls = true;
    }
    char *out = redisurl_format(&t);
    redisurl_free(&t);
    return out;
}

void redisurl_free(struct redis_target *t)
{
    free(t->user);
    free(t->password);
    free(t->host);
    memset(t, 0, sizeof *t);
}
