/* jsoncheck.c — is a text one JSON value as RFC 8259 has it? cJSON accepts more ("01", "1.",
 * control bytes between tokens and raw in strings, bytes that are not UTF-8), and a payload it
 * let through would make every answer that shows it invalid JSON: the job store and the jobs API
 * check with this. Pure; no allocation (the open containers are a fixed stack). */
#include "base/jsoncheck.h"

#include <string.h>

#include "base/util.h"

/* The length of the UTF-8 sequence at s[i] (of len bytes), or 0 when it is none: a stray or
 * cut continuation, an overlong form, a surrogate, or past U+10FFFF. */
size_t utf8_seq_len(const unsigned char *s, size_t len, size_t i)
{
    unsigned c = s[i], cp, min;
    size_t n;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len - i < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* How deep json_check lets values nest (cJSON's own limit). */
#define JSON_CHECK_DEPTH 1000

struct jscan {
    const unsigned char *s;
    size_t len, i;
    const char *why;
};

static bool js_fail(struct jscan *j, const char *why)
{
    j->why = why;
    return false;
}

static void js_blank(struct jscan *j)
{
    while (j->i < j->len &&
           (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static bool js_digit(const struct jscan *j)
{
    return j->i < j->len && j->s[j->i] >= '0' && j->s[j->i] <= '9';
}

static bool js_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool js_string(struct jscan *j)
{
    j->i++; /* " */
    for (;;) {
        if (j->i >= j->len) return js_fail(j, "the text ends inside a string");
        unsigned char c = j->s[j->i];
        if (c == '"') {
            j->i++;
            return true;
        }
        if (c < 0x20) return js_fail(j, "a control byte inside a string (it must be escaped)");
        if (c == '\\') {
            unsigned char e = j->i + 1 < j->len ? j->s[j->i + 1] : 0;
            if (e && strchr("\"\\/bfnrt", e)) {
                j->i += 2;
            } else if (e == 'u' && j->len - j->i >= 6 && js_hex(j->s[j->i + 2]) &&
                       js_hex(j->s[j->i + 3]) && js_hex(j->s[j->i + 4]) && js_hex(j->s[j->i + 5])) {
                j->i += 6;
            } else {
                return js_fail(j, "a bad escape in a string");
            }
            continue;
        }
        size_t n = utf8_seq_len(j->s, j->len, j->i);
        if (!n) return js_fail(j, "a byte that is not UTF-8");
        j->i += n;
    }
}

static bool js_number(struct jscan *j)
{
    if (j->s[j->i] == '-') j->i++;
    if (j->i < j->len && j->s[j->i] == '0') {
        j->i++;
    } else if (js_digit(j)) {
        while (js_digit(j))
            j->i++;
    } else {
        return js_fail(j, "a malformed number");
    }
    if (j->i < j->len && j->s[j->i] == '.') {
        j->i++;
        if (!js_digit(j)) return js_fail(j, "a malformed number (no digit after the point)");
        while (js_digit(j))
            j->i++;
    }
    if (j->i < j->len && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        j->i++;
        if (j->i < j->len && (j->s[j->i] == '+' || j->s[j->i] == '-')) j->i++;
        if (!js_digit(j)) return js_fail(j, "a malformed number (no digit in the exponent)");
        while (js_digit(j))
            j->i++;
    }
    return true;
}

/* A scalar value at j->i (a string, number, true, false or null). */
static bool js_scalar(struct jscan *j)
{
    unsigned char c = j->s[j->i];
    if (c == '"') return js_string(j);
    if (c == '-' || (c >= '0' && c <= '9')) return js_number(j);
    static const char *const lit[] = {"true", "false", "null"};
    for (size_t k = 0; k < ARRAY_SIZE(lit); k++) {
        size_t n = strlen(lit[k]);
        if (j->len - j->i >= n && !memcmp(j->s + j->i, lit[k], n)) {
            j->i += n;
            return true;
        }
    }
    return js_fail(j, "no JSON value here");
}

/* An object's key and its colon, blanks around them skipped. */
static bool js_key(struct jscan *j)
{
    if (j->i >= j->len || j->s[j->i] != '"') return js_fail(j, "a key (a string) is wanted here");
    if (!js_string(j)) return false;
    js_blank(j);
    if (j->i >= j->len || j->s[j->i] != ':') return js_fail(j, "':' is wanted here");
    j->i++;
    js_blank(j);
    return true;
}

bool json_check(const char *text, size_t len, size_t *at, const char **why)
{
    struct jscan j = {(const unsigned char *)text, len, 0, NULL};
    char stack[JSON_CHECK_DEPTH]; /* the open containers' closing brackets */
    size_t depth = 0;
    bool ok = true;
    js_blank(&j);
    while (ok) {
        /* a value at j.i */
        if (j.i >= j.len) {
            ok = js_fail(&j, "the text ends early");
            break;
        }
        unsigned char c = j.s[j.i];
        if (c == '{' || c == '[') {
            if (depth == JSON_CHECK_DEPTH) {
                ok = js_fail(&j, "nested more than 1000 deep");
                break;
            }
            stack[depth++] = c == '{' ? '}' : ']';
            j.i++;
            js_blank(&j);
            if (j.i < j.len && j.s[j.i] == stack[depth - 1]) {
                j.i++;
                depth--;
            } else {
                if (c == '{') ok = js_key(&j);
                continue;
            }
        } else if (!js_scalar(&j)) {
            ok = false;
            break;
        }
        /* after a value: a comma (and the next value), or closing brackets */
        for (;;) {
            js_blank(&j);
            if (!depth) {
                if (j.i < j.len) ok = js_fail(&j, "text after the JSON value");
                goto done;
            }
            if (j.i < j.len && j.s[j.i] == stack[depth - 1]) {
                j.i++;
                depth--;
                continue;
            }
            if (j.i < j.len && j.s[j.i] == ',') {
                j.i++;
                js_blank(&j);
                if (stack[depth - 1] == '}') ok = js_key(&j);
                break;
            }
            ok = js_fail(&j, j.i < j.len ? "',' or a closing bracket is wanted here"
                                         : "the text ends early");
            goto done;
        }
    }
done:
    if (!ok) {
        if (at) *at = j.i;
        if (why) *why = j.why;
    }
    return ok;
}
