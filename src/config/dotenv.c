/* dotenv.c — a dotenv parser compatible with what foreman, docker compose and node's dotenv
 * accept in practice. Values are taken literally: no ${VAR} expansion inside .env files. */
#include "config/dotenv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define DOTENV_MAX_FILE (4u << 20)

struct cursor {
    const char *p, *end, *line_start;
    int line;
};

static int col_of(const struct cursor *c)
{
    return (int)(c->p - c->line_start) + 1;
}

static void fail(struct dotenv_error *err, const struct cursor *c, const char *msg)
{
    err->line = c->line;
    err->col = col_of(c);
    err->sys_errno = 0;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static void skip_blanks(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static void skip_to_eol(struct cursor *c)
{
    while (c->p < c->end && *c->p != '\n')
        c->p++;
}

static void next_line(struct cursor *c)
{
    if (c->p < c->end && *c->p == '\n') c->p++;
    c->line++;
    c->line_start = c->p;
}

static bool key_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_';
}

static bool key_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.';
}

/* Parses a double-quoted value (cursor just past the opening quote). */
static int parse_double(struct cursor *c, sbuf *val, struct dotenv_error *err)
{
    struct cursor start = *c;
    while (c->p < c->end) {
        char ch = *c->p;
        if (ch == '"') {
            c->p++;
            return 0;
        }
        if (ch == '\\' && c->p + 1 < c->end) {
            char e = c->p[1];
            c->p += 2;
            switch (e) {
            case 'n': sbuf_putc(val, '\n'); break;
            case 'r': sbuf_putc(val, '\r'); break;
            case 't': sbuf_putc(val, '\t'); break;
            case '"': sbuf_putc(val, '"'); break;
            case '\\': sbuf_putc(val, '\\'); break;
            case '$': sbuf_putc(val, '$'); break;
            case '\n':
                c->line++;
                c->line_start = c->p;
                break; /* a backslash-newline joins lines */
            default: sbuf_putc(val, '\\'); sbuf_putc(val, e);
            }
            continue;
        }
        if (ch == '\n') {
            sbuf_putc(val, '\n');
            c->p++;
            c->line++;
            c->line_start = c->p;
            continue;
        }
        sbuf_putc(val, ch);
        c->p++;
    }
    start.p--;
    fail(err, &start, "unterminated double-quoted value");
    return -1;
}

static int parse_single(struct cursor *c, sbuf *val, struct dotenv_error *err)
{
    struct cursor start = *c;
    while (c->p < c->end) {
        char ch = *c->p;
        if (ch == '\'') {
            c->p++;
            return 0;
        }
        if (ch == '\n') {
            c->line++;
            c->line_start = c->p + 1;
        }
        sbuf_putc(val, ch);
        c->p++;
    }
    start.p--;
    fail(err, &start, "unterminated single-quoted value");
    return -1;
}

enum dotenv_result dotenv_parse(const char *text, size_t len, dotenv_cb cb, void *ud,
                                struct dotenv_error *err)
{
    struct cursor c = {text, text + len, text, 1};
    sbuf key, val;
    sbuf_init(&key);
    sbuf_init(&val);
    enum dotenv_result rc = DOTENV_OK;

    /* A UTF-8 byte order mark at the very start is ignored. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) c.p += 3, c.line_start = c.p;

    while (c.p < c.end) {
        sbuf_reset(&key);
        sbuf_reset(&val);
        skip_blanks(&c);
        if (c.p >= c.end) break;
        if (*c.p == '\n' || *c.p == '\r' || *c.p == '#') {
            skip_to_eol(&c);
            next_line(&c);
            continue;
        }
        if ((size_t)(c.end - c.p) >= 7 && strncmp(c.p, "export", 6) == 0 &&
            (c.p[6] == ' ' || c.p[6] == '\t')) {
            c.p += 6;
            skip_blanks(&c);
        }
        /* "export " may end the text: c.p is then at c.end, which need not be readable. */
        if (c.p >= c.end || !key_start(*c.p)) {
            fail(err, &c,
                 "expected a variable name (letters, digits and _, not starting with a digit)");
            rc = DOTENV_ESYNTAX;
            break;
        }
        while (c.p < c.end && key_char(*c.p))
            sbuf_putc(&key, *c.p++);
        int key_line = c.line;
        skip_blanks(&c);
        if (c.p >= c.end || *c.p != '=') {
            if (c.p >= c.end || *c.p == '\n' || *c.p == '\r')
                fail(err, &c, "expected '=' after the variable name");
            else
                fail(err, &c, "invalid character in variable name (expected KEY=VALUE)");
            rc = DOTENV_ESYNTAX;
            break;
        }
        c.p++;
        skip_blanks(&c);
        if (c.p < c.end && (*c.p == '"' || *c.p == '\'')) {
            char q = *c.p++;
            if ((q == '"' ? parse_double(&c, &val, err) : parse_single(&c, &val, err)) < 0) {
                rc = DOTENV_ESYNTAX;
                break;
            }
            skip_blanks(&c);
            if (c.p < c.end && *c.p == '\r') c.p++;
            if (c.p < c.end && *c.p != '\n' && *c.p != '#') {
                fail(err, &c, "unexpected text after the closing quote");
                rc = DOTENV_ESYNTAX;
                break;
            }
        } else {
            /* Unquoted: up to end of line; " #" starts a comment; trailing blanks trimmed. */
            const char *s = c.p;
            while (c.p < c.end && *c.p != '\n') {
                if (*c.p == '#' && c.p > s && (c.p[-1] == ' ' || c.p[-1] == '\t')) break;
                c.p++;
            }
            const char *e = c.p;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                e--;
            sbuf_append(&val, s, (size_t)(e - s));
        }
        cb(ud, key.data, val.data ? val.data : "", key_line);
        skip_to_eol(&c);
        next_line(&c);
    }
    sbuf_free(&key);
    sbuf_free(&val);
    return rc;
}

static void to_envmap(void *ud, const char *key, const char *value, int line)
{
    (void)line;
    envmap_set(ud, key, value);
}

enum dotenv_result dotenv_load(const char *path, envmap *out, struct dotenv_error *err)
{
    char *text;
    size_t len;
    int rc = read_file(path, DOTENV_MAX_FILE, &text, &len);
    if (rc < 0) {
        err->line = err->col = 0;
        err->sys_errno = -rc;
        snprintf(err->msg, sizeof err->msg, "%s", strerror(-rc));
        return DOTENV_EREAD;
    }
    enum dotenv_result r = dotenv_parse(text, len, to_envmap, out, err);
    free(text);
    return r;
}
