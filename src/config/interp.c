/* interp.c — variable interpolation for config values. */
#include "config/interp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define INTERP_MAX_DEPTH 8

static int expand(const char *in, size_t len, size_t base, interp_lookup lookup, void *ud,
                  sbuf *out, struct interp_error *err, int depth);

/* Finds the '}' closing the ${ whose body starts at s, honouring nested ${...}. */
static const char *find_close(const char *s, const char *end)
{
    int nest = 0;
    for (const char *p = s; p < end; p++) {
        if (p[0] == '$' && p + 1 < end && p[1] == '$') {
            p++;
            continue;
        }
        if (p[0] == '$' && p + 1 < end && p[1] == '{') {
            nest++;
            p++;
            continue;
        }
        if (*p == '}') {
            if (nest == 0) return p;
            nest--;
        }
    }
    return NULL;
}

static int expand_ref(const char *body, const char *close, size_t at, interp_lookup lookup,
                      void *ud, sbuf *out, struct interp_error *err, int depth, const char *in)
{
    const char *p = body;
    if (!(isalpha((unsigned char)*p) || *p == '_')) {
        err->offset = at;
        snprintf(err->msg, sizeof err->msg, "invalid variable reference '%.*s'",
                 (int)(close - body + 3 > 60 ? 60 : close - body + 3), body - 2);
        return -1;
    }
    while (p < close && (isalnum((unsigned char)*p) || *p == '_'))
        p++;
    char *name = xstrndup(body, (size_t)(p - body));
    const char *val = lookup(ud, name);
    int rc = 0;
    if (p == close) {
        if (!val) {
            err->offset = at;
            snprintf(err->msg, sizeof err->msg,
                     "variable %s is not set (use ${%s:-default} to give a default)", name, name);
            rc = -1;
        } else {
            sbuf_puts(out, val);
        }
        free(name);
        return rc;
    }
    bool colon = false;
    if (*p == ':') {
        colon = true;
        p++;
    }
    if (p >= close || (*p != '-' && *p != '?')) {
        err->offset = at;
        snprintf(err->msg, sizeof err->msg,
                 "invalid variable reference: expected '}', ':-' or ':?' after ${%s", name);
        free(name);
        return -1;
    }
    char op = *p++;
    bool missing = !val || (colon && !*val);
    if (op == '-') {
        if (missing)
            rc = expand(p, (size_t)(close - p), (size_t)(p - in), lookup, ud, out, err, depth + 1);
        else
            sbuf_puts(out, val);
    } else {
        if (missing) {
            err->offset = at;
            if (close > p)
                snprintf(err->msg, sizeof err->msg, "%s: %.*s", name, (int)(close - p), p);
            else
                snprintf(err->msg, sizeof err->msg, "variable %s is required but %s", name,
                         val ? "empty" : "not set");
            rc = -1;
        } else {
            sbuf_puts(out, val);
        }
    }
    free(name);
    return rc;
}

static int expand(const char *in, size_t len, size_t base, interp_lookup lookup, void *ud,
                  sbuf *out, struct interp_error *err, int depth)
{
    const char *p = in, *end = in + len;
    while (p < end) {
        const char *dollar = memchr(p, '$', (size_t)(end - p));
        if (!dollar) {
            sbuf_append(out, p, (size_t)(end - p));
            break;
        }
        sbuf_append(out, p, (size_t)(dollar - p));
        if (dollar + 1 < end && dollar[1] == '$') {
            sbuf_putc(out, '$');
            p = dollar + 2;
            continue;
        }
        if (dollar + 1 < end && dollar[1] == '{') {
            const char *close = find_close(dollar + 2, end);
            size_t at = base + (size_t)(dollar - in);
            /* The error points at the ${ that nests too deeply, as every error here points at
             * a ${; a default without one is plain text at any depth. */
            if (depth > INTERP_MAX_DEPTH) {
                err->offset = at;
                snprintf(err->msg, sizeof err->msg, "variable defaults nested too deeply");
                return -1;
            }
            if (!close) {
                err->offset = at;
                snprintf(err->msg, sizeof err->msg,
                         "unterminated variable reference (missing '}')");
                return -1;
            }
            if (expand_ref(dollar + 2, close, at, lookup, ud, out, err, depth, in - base) < 0)
                return -1;
            p = close + 1;
            continue;
        }
        sbuf_putc(out, '$');
        p = dollar + 1;
    }
    return 0;
}

int interp_expand(const char *in, interp_lookup lookup, void *ud, char **out,
                  struct interp_error *err)
{
    sbuf b;
    sbuf_init(&b);
    if (expand(in, strlen(in), 0, lookup, ud, &b, err, 0) < 0) {
        sbuf_free(&b);
        return -1;
    }
    *out = sbuf_detach(&b);
    return 0;
}
