/* redact.c — secret masking: secret names, URL passwords, free text holding URLs. */
#include "base/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

bool redact_is_secret_name(const char *name)
{
    static const char *const words[] = {"PASS",       "PWD",     "SECRET", "TOKEN", "KEY",
                                        "CREDENTIAL", "PRIVATE", "AUTH",   "DSN"};
    /* the shell's own: a directory, which check and /health should keep showing */
    if (!strcmp(name, "PWD") || !strcmp(name, "OLDPWD")) return false;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (str_icontains(name, words[i])) return true;
    return false;
}

/* Masks every password=value parameter of s's query string (sslpassword=x&password=secret must
 * not leak the second). Consumes s; returns the masked copy. */
static char *mask_query_passwords(char *s)
{
    for (char *pw = strstr(s, "password="); pw; pw = strstr(pw + 1, "password=")) {
        if (pw == s || (pw[-1] != '?' && pw[-1] != '&')) continue;
        char *end = pw + 9 + strcspn(pw + 9, "&#");
        size_t at = (size_t)(pw + 9 - s);
        sbuf b;
        sbuf_init(&b);
        sbuf_append(&b, s, at);
        sbuf_puts(&b, "****");
        sbuf_puts(&b, end);
        free(s);
        s = sbuf_detach(&b);
        pw = s + at; /* continue after the mask */
    }
    return s;
}

char *url_redact(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (!scheme) return xstrdup(url);
    const char *auth = scheme + 3;
    /* user:password@...: the user name holds none of ":/@" ('?' and '#' are read as its own by
     * libpq, which takes everything before the '@' as userinfo), the password anything. Where it
     * ends is the question: libpq ends it at the first '@' before a '/', RFC 3986 at the last
     * '@' before the first '/', '?' or '#', a careless parser elsewhere. Masking up to the last
     * '@' of all covers every reading. */
    size_t ulen = strcspn(auth, ":/@");
    const char *colon = auth[ulen] == ':' ? auth + ulen : NULL;
    const char *at = strrchr(auth, '@');
    sbuf b;
    sbuf_init(&b);
    if (colon && at && at > colon) {
        sbuf_append(&b, url, (size_t)(colon + 1 - url));
        sbuf_puts(&b, "****");
        sbuf_puts(&b, at);
    } else if (!strncmp(url, "redis", 5) && at && at > auth) {
        /* redis://password@host: a lone userinfo is the password there */
        sbuf_append(&b, url, (size_t)(auth - url));
        sbuf_puts(&b, "****");
        sbuf_puts(&b, at);
    } else {
        /* no password: a user name alone (user@host) or an '@' in the path stays readable */
        sbuf_puts(&b, url);
    }
    return mask_query_passwords(sbuf_detach(&b));
}

static bool scheme_char(char c)
{
    return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* A password, or a user name, may hold blanks (libpq and Redis take "postgres://app:correct
 * horse@db"): when a URL cut at a blank has not reached its path yet and an '@' follows on the
 * same line before any '/', the quote that opened the URL or another URL, the URL runs on to the
 * blank after the last such '@'; url_redact then masks only when a password is there. A sentence
 * that happens to look so is over-masked: the price of never printing a password. */
static const char *userinfo_end(const char *auth, const char *end, char quote)
{
    size_t alen = (size_t)(end - auth);
    if (memchr(auth, '/', alen)) return end;
    const char *last = NULL;
    for (const char *q = end; *q && *q != '\n' && *q != '/' && *q != quote; q++) {
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') break;
        if (*q == '@') last = q;
    }
    if (!last) return end;
    while (*last && !isspace((unsigned char)*last))
        last++;
    return last;
}

char *redact_text(const char *text)
{
    sbuf b;
    sbuf_init(&b);
    const char *p = text;
    for (;;) {
        const char *sep = strstr(p, "://");
        if (!sep) {
            sbuf_puts(&b, p);
            break;
        }
        /* back up to the scheme's start */
        const char *start = sep;
        while (start > p && scheme_char(start[-1]))
            start--;
        /* The URL runs to the next whitespace, or to the quote that opened it
         * (DATABASE_URL="postgres://..."): a quote inside a password does not end it. */
        char quote = start > text && (start[-1] == '"' || start[-1] == '\'') ? start[-1] : 0;
        const char *end = sep + 3;
        while (*end && !isspace((unsigned char)*end) && *end != quote)
            end++;
        if (quote && *end == quote) {
            /* ...unless a later quote closes it: the last one before the whitespace */
            const char *w = end;
            while (*w && !isspace((unsigned char)*w))
                w++;
            const char *last = w;
            while (last > end && last[-1] != quote)
                last--;
            if (last > end + 1) end = last - 1;
        }
        end = userinfo_end(sep + 3, end, quote);
        sbuf_append(&b, p, (size_t)(start - p));
        char *url = xstrndup(start, (size_t)(end - start));
        char *red = url_redact(url);
        sbuf_puts(&b, red);
        free(red);
        free(url);
        p = end;
    }
    return sbuf_detach(&b);
}

void redact_collect(envmap *secrets, const envmap *m)
{
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->v[i].val) >= REDACT_MIN_VALUE && redact_is_secret_name(m->v[i].key))
            envmap_set(secrets, m->v[i].val, m->v[i].val); /* by value: two roles' API_KEY */
}

char *redact_known(const char *text, const envmap *secrets)
{
    char *s = xstrdup(text);
    for (size_t i = 0; i < secrets->n; i++) {
        const char *val = secrets->v[i].val;
        size_t vlen = strlen(val);
        if (vlen < REDACT_MIN_VALUE || !strstr(s, val)) continue;
        sbuf b;
        sbuf_init(&b);
        const char *p = s;
        for (const char *hit; (hit = strstr(p, val)); p = hit + vlen) {
            sbuf_append(&b, p, (size_t)(hit - p));
            sbuf_puts(&b, "****");
        }
        sbuf_puts(&b, p);
        free(s);
        s = sbuf_detach(&b);
    }
    char *out = redact_text(s);
    free(s);
    return out;
}

char *redact_value(const char *name, const char *value)
{
    if (redact_is_secret_name(name)) return xstrdup(*value ? "****" : "");
    return redact_text(value);
}
