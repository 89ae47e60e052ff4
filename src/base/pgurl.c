/* pgurl.c — Postgres URL handling for the connection budget and roster's own connection. */
#include "base/pgurl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *url_decode(const char *s, size_t len)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_reserve(&b, len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            sbuf_putc(&b, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            sbuf_putc(&b, s[i]);
        }
    }
    return sbuf_detach(&b);
}

char *url_encode_userinfo(const char *s)
{
    sbuf b;
    sbuf_init(&b);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~!$&'()*+,;=", *p))
            sbuf_putc(&b, (char)*p);
        else
            sbuf_printf(&b, "%%%02X", *p);
    }
    return sbuf_detach(&b);
}

int url_hostport(const char *s, const char *end, char **host, int *port, const char **why)
{
    struct hostport hp;
    enum hostport_err e = hostport_parse(s, (size_t)(end - s), 0, &hp);
    *host = NULL;
    if (e != HOSTPORT_OK) {
        *why = hostport_strerror(e);
        return -1;
    }
    /* "[]" is an empty host that was written; nothing at all is no host */
    if (hp.bracketed || hp.host[0]) *host = url_decode(hp.host, strlen(hp.host));
    if (hp.has_port) *port = hp.port;
    return 0;
}

const char *url_userinfo_end(const char *rest)
{
    const char *slash = rest + strcspn(rest, "/");
    const char *at = NULL;
    for (const char *p = rest; p < slash; p++)
        if (*p == '@') at = p;
    return at;
}

int pgurl_parse(const char *url, struct pgurl *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    const char *rest;
    if (str_has_prefix(url, "postgresql://"))
        rest = url + 13;
    else if (str_has_prefix(url, "postgres://"))
        rest = url + 11;
    else {
        snprintf(err, errlen, "not a postgres:// or postgresql:// URL");
        return -1;
    }
    /* The userinfo first: its password may hold a '?' (libpq reads one), which is not where
     * the query string starts. */
    const char *at = url_userinfo_end(rest);
    const char *hosts = at ? at + 1 : rest;
    const char *q = strchr(hosts, '?');
    u->base = q ? xstrndup(url, (size_t)(q - url)) : xstrdup(url);
    /* the hosts: up to the first '/' or '?' after the userinfo */
    const char *auth_end = hosts + strcspn(hosts, "/?");
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *uend = colon ? colon : at;
        if (uend > rest) u->user = url_decode(rest, (size_t)(uend - rest));
        hosts = at + 1;
    }
    /* first host[:port] of a possible comma list */
    const char *hend = hosts + strcspn(hosts, ",/?");
    if (hend > auth_end) hend = auth_end;
    if (hosts < hend) {
        const char *why;
        if (url_hostport(hosts, hend, &u->host, &u->port, &why) < 0) {
            snprintf(err, errlen, "%s in URL", why);
            pgurl_free(u);
            return -1;
        }
    }
    if (*auth_end == '/') {
        const char *db = auth_end + 1;
        size_t dl = strcspn(db, "?");
        if (dl) u->dbname = url_decode(db, dl);
    }
    if (q) {
        const char *p = q + 1;
        while (*p) {
            const char *amp = strchr(p, '&');
            size_t len = amp ? (size_t)(amp - p) : strlen(p);
            if (len) {
                const char *eq = memchr(p, '=', len);
                if (eq) {
                    strvec_push(&u->keys, xstrndup(p, (size_t)(eq - p)));
                    strvec_push(&u->vals, xstrndup(eq + 1, len - (size_t)(eq - p) - 1));
                } else {
                    strvec_push(&u->keys, xstrndup(p, len));
                    strvec_pushdup(&u->vals, "");
                }
            }
            if (!amp) break;
            p = amp + 1;
        }
    }
    return 0;
}

char *pgurl_format(const struct pgurl *u)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, u->base);
    for (size_t i = 0; i < u->keys.n; i++)
        sbuf_printf(&b, "%c%s=%s", i ? '&' : '?', u->keys.v[i], u->vals.v[i]);
    return sbuf_detach(&b);
}

const char *pgurl_get_param(const struct pgurl *u, const char *key)
{
    for (size_t i = 0; i < u->keys.n; i++)
        if (!strcmp(u->keys.v[i], key)) return u->vals.v[i];
    return NULL;
}

void pgurl_set_param(struct pgurl *u, const char *key, const char *val)
{
    for (size_t i = 0; i < u->keys.n; i++) {
        if (!strcmp(u->keys.v[i], key)) {
            free(u->vals.v[i]);
            u->vals.v[i] = xstrdup(val);
            return;
        }
    }
    strvec_pushdup(&u->keys, key);
    strvec_pushdup(&u->vals, val);
}

static bool is_known(const char *const *known, const char *key)
{
    for (; known && *known; known++)
        if (!strcmp(*known, key)) return true;
    return false;
}

int pgurl_strip_unknown(struct pgurl *u, const char *const *known, sbuf *removed)
{
    int count = 0;
    size_t j = 0;
    for (size_t i = 0; i < u->keys.n; i++) {
        if (is_known(known, u->keys.v[i])) {
            u->keys.v[j] = u->keys.v[i];
            u->vals.v[j] = u->vals.v[i];
            j++;
            continue;
        }
        if (removed) sbuf_printf(removed, "%s%s", removed->len ? ", " : "", u->keys.v[i]);
        free(u->keys.v[i]);
        free(u->vals.v[i]);
        count++;
    }
    u->keys.n = u->vals.n = j;
    if (u->keys.v) u->keys.v[j] = NULL;
    if (u->vals.v) u->vals.v[j] = NULL;
    return count;
}

void pgurl_free(struct pgurl *u)
{
    free(u->base);
    strvec_free(&u->keys);
    strvec_free(&u->vals);
    free(u->user);
    free(u->host);
    free(u->dbname);
    memset(u, 0, sizeof *u);
}
