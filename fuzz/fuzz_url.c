/* fuzz_url.c — Postgres and Redis URLs (base/pgurl.c, base/redisurl.c) and redaction
 * (base/redact.c). Beyond crashes, an oracle: when a URL parses and carries a password, no
 * redacted form of it shows the password — url_redact, redact_text (alone and inside a line of
 * text), redact_value, and for Redis the normalized URL roster hands out, redacted. Which bytes
 * are the password is decided here as the client library reads the URL: libpq takes the
 * userinfo up to the first '@' (when no '/' comes before it) and the password after its first
 * ':'; for Redis, roster's own parser hands the password to hiredis, so its reading is the truth.
 * The password is looked for as written in the URL (percent-encoded or not).
 * The check applies when the password occurs exactly once in the text, so that text around it
 * cannot legitimately show the same bytes. */
#include <ctype.h>

#include "base/pgurl.h"
#include "base/redact.h"
#include "base/redisurl.h"
#include "fuzz.h"

/* Fails when one of the redacted forms of text shows secret. */
static void check_hidden(const char *text, const char *secret)
{
    if (!secret || !*secret || strchr(secret, '*')) return;
    if (fuzz_count(text, secret) != 1) return;
    /* A tab, newline or other control blank in the userinfo is no password anyone types, and
     * text holding one is no single URL: none is asked to redact it. */
    const char *secret_end = strstr(text, secret) + strlen(secret);
    for (const char *c = text; c < secret_end; c++)
        if (isspace((unsigned char)*c) && *c != ' ') return;
    char *red = url_redact(text);
    FUZZ_CHECK(!strstr(red, secret));
    free(red);
    /* a variable's whole value is one URL, whatever bytes its password holds */
    red = redact_value("DATABASE_URL", text);
    FUZZ_CHECK(!strstr(red, secret));
    free(red);
    /* In free text a blank or a quote ends a URL (nothing else can tell where it ends), so a
     * URL holding one before the end of its password is not asked of redact_text. */
    for (const char *c = text; c < secret_end; c++)
        if (*c == ' ' || *c == '"' || *c == '\'') return;
    red = redact_text(text);
    FUZZ_CHECK(!strstr(red, secret));
    free(red);
    /* inside a line of text, as in a log line or an error */
    size_t n = strlen(text) + 32;
    char *line = malloc(n);
    snprintf(line, n, "connect to %s failed", text);
    if (fuzz_count(line, secret) == 1) {
        red = redact_text(line);
        FUZZ_CHECK(!strstr(red, secret));
        free(red);
    }
    free(line);
}

/* The password in a postgres:// URL as libpq reads it (conninfo_uri_parse_options), or NULL.
 * Caller frees. */
static char *libpq_password(const char *url)
{
    const char *rest = strstr(url, "://");
    if (!rest) return NULL;
    rest += 3;
    const char *at = rest + strcspn(rest, "@/");
    if (*at != '@') return NULL;
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    if (!colon) return NULL;
    return strndup(colon + 1, (size_t)(at - colon - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fuzz_cstr(data, size);
    char err[256];

    struct pgurl pu;
    if (pgurl_parse(url, &pu, err, sizeof err) == 0) {
        char *formatted = pgurl_format(&pu);
        FUZZ_CHECK(formatted != NULL);
        free(formatted);
        char *pw = libpq_password(url);
        check_hidden(url, pw);
        free(pw);
        pgurl_free(&pu);
    }

    struct redis_target rt;
    if (redisurl_parse(url, &rt, err, sizeof err) == 0) {
        /* The password as written (percent-encoded or not): its decoded form may be other
         * bytes of the URL, a host named like it. */
        const char *p = strstr(url, "://") + 3;
        const char *auth_end = p + strcspn(p, "/?#");
        const char *at = NULL;
        for (const char *c = p; c < auth_end; c++)
            if (*c == '@') at = c;
        if (at && rt.password) {
            const char *colon = memchr(p, ':', (size_t)(at - p));
            const char *from = colon ? colon + 1 : p;
            char *raw = strndup(from, (size_t)(at - from));
            check_hidden(url, raw);
            free(raw);
        }
        char *norm = redisurl_format(&rt);
        if (rt.password) {
            char *enc = url_encode_userinfo(rt.password);
            check_hidden(norm, enc);
            free(enc);
        }
        struct redis_target again;
        /* the normalized URL is what roles get as REDIS_URL: it must parse to the same target */
        FUZZ_CHECK(redisurl_parse(norm, &again, err, sizeof err) == 0);
        FUZZ_CHECK(again.port == rt.port && again.db == rt.db && again.tls == rt.tls);
        FUZZ_CHECK(!strcmp(again.host, rt.host));
        FUZZ_CHECK((!again.password && !rt.password) ||
                   (again.password && rt.password && !strcmp(again.password, rt.password)));
        redisurl_free(&again);
        free(norm);
        redisurl_free(&rt);
    } else {
        /* The error may quote what was given, never its password. The password must be one the
         * message's own words cannot contain by chance: one with a byte that is not a letter,
         * a digit, a blank or the punctuation of the messages. */
        char *pw = libpq_password(url);
        if (pw && !strchr(pw, '*') && fuzz_count(url, pw) == 1 &&
            strspn(pw,
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 :/()[]'.,-") <
                strlen(pw))
            FUZZ_CHECK(!strstr(err, pw));
        free(pw);
    }

    char *red = redact_text(url);
    FUZZ_CHECK(red != NULL);
    free(red);
    free(url);
    return 0;
}
