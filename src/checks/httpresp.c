/* httpresp.c — an HTTP/1.1 answer parsed as it comes. See httpresp.h. */
#include "checks/httpresp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

void httpresp_init(struct httpresp *r, bool head_request, size_t keep)
{
    r->head_len = 0; /* head[] is not cleared: only its first head_len bytes are read */
    r->in_body = r->chunked = r->no_body = false;
    r->head_request = head_request;
    r->status = 0;
    r->length = -1;
    r->got = 0;
    r->keep_alive = false;
    r->retry_after[0] = '\0';
    r->past = 0;
    r->kept = NULL;
    r->kept_len = 0;
    r->keep = keep;
    r->ch = CH_SIZE;
    r->ch_left = 0;
    r->ch_digits = r->ch_blank = false;
    r->rc = HTTPRESP_MORE;
    r->err = NULL;
}

void httpresp_free(struct httpresp *r)
{
    free(r->kept);
    r->kept = NULL;
}

static enum httpresp_rc fail(struct httpresp *r, const char *why)
{
    r->err = why;
    return r->rc = HTTPRESP_ERR;
}

/* A Content-Length value, from v to its line's end: digits between blanks (no sign, not past the
 * line: strtoll would skip the CRLF as white space and read the next line). False when it is
 * none. */
static bool content_length(const char *v, const char *end, long long *out)
{
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    long long n = 0;
    const char *d = v;
    for (; v < end && *v >= '0' && *v <= '9'; v++) {
        if (n > (LLONG_MAX - 9) / 10) return false;
        n = n * 10 + (*v - '0');
    }
    if (v == d) return false;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    if (v == end || (*v != '\r' && *v != '\n')) return false;
    *out = n;
    return true;
}

/* Reads the status line and the headers that say where the body ends (the head's first len
 * bytes, which end with the blank line). NULL, or why the head is refused. */
static const char *parse_head(struct httpresp *r, size_t len)
{
    static const char not_http[] = "the answer is not HTTP/1.x";
    const char *p = r->head, *end = p + len;
    if (len < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ') return not_http;
    char *e;
    r->status = strtol(p + 9, &e, 10);
    if (e != p + 12 || r->status < 100 || r->status > 999) return not_http;
    r->length = -1;
    r->chunked = false;
    r->retry_after[0] = '\0';
    bool v10 = p[7] == '0', close = false, keep = false;
    for (const char *l = memchr(p, '\n', len); l && l + 1 < end;
         l = memchr(l + 1, '\n', (size_t)(end - l - 1))) {
        const char *s = l + 1;
        if (!strncasecmp(s, "Content-Length:", 15) && !content_length(s + 15, end, &r->length))
            return "the answer's Content-Length is not a number";
        if (!strncasecmp(s, "Transfer-Encoding:", 18)) {
            const char *v = s + 18, *eol = memchr(v, '\n', (size_t)(end - v));
            for (; eol && v + 7 <= eol; v++)
                if (!strncasecmp(v, "chunked", 7)) r->chunked = true;
        }
        if (!strncasecmp(s, "Connection:", 11)) {
            /* a list of tokens: close, keep-alive (HTTP/1.0's), names of hop-by-hop headers */
            const char *v = s + 11, *eol = memchr(v, '\n', (size_t)(end - v));
            for (; eol && v < eol; v++) {
                if (v + 5 <= eol && !strncasecmp(v, "close", 5)) close = true;
                if (v + 10 <= eol && !strncasecmp(v, "keep-alive", 10)) keep = true;
            }
        }
        if (!strncasecmp(s, "Retry-After:", 12)) {
            const char *v = s + 12, *eol = memchr(v, '\n', (size_t)(end - v));
            while (eol && v < eol && (*v == ' ' || *v == '\t'))
                v++;
            size_t n = 0;
            for (; eol && v < eol && *v != '\r' && n + 1 < sizeof r->retry_after; v++)
                r->retry_after[n++] = *v;
            while (n && (r->retry_after[n - 1] == ' ' || r->retry_after[n - 1] == '\t'))
                n--;
            r->retry_after[n] = '\0';
        }
    }
    r->keep_alive = !close && (!v10 || keep) && r->status != 101; /* 101: no longer HTTP */
    /* no body: a HEAD's answer, 101 (other 1xx are interim: skipped), 204 and 304 */
    r->no_body = r->head_request || r->status < 200 || r->status == 204 || r->status == 304;
    return NULL;
}

/* Keeps the body's first bytes. */
static void keep_bytes(struct httpresp *r, const char *p, size_t n)
{
    size_t take = r->keep - r->kept_len < n ? r->keep - r->kept_len : n;
    if (!take) return;
    if (!r->kept) r->kept = xmalloc(r->keep);
    memcpy(r->kept + r->kept_len, p, take);
    r->kept_len += take;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Chunked transfer coding: the data of the chunks, kept as the body. Returns 1 once the last
 * chunk and its trailer have come (*n is then set to the bytes of p that were the answer's), 0
 * for more, -1 for a malformed one. */
static int chunks(struct httpresp *r, const char *p, size_t *np)
{
    size_t n = *np;
    for (size_t i = 0; i < n;) {
        char c = p[i];
        switch (r->ch) {
        case CH_SIZE:
            if (hexval(c) >= 0) {
                if (r->ch_left >> 56) return -1; /* no chunk is that long */
                r->ch_left = r->ch_left * 16 + (unsigned)hexval(c);
                r->ch_digits = true;
            } else if (r->ch_digits && (c == ';' || c == ' ' || c == '\t' || c == '\r')) {
                r->ch = CH_EXT;
            } else if (r->ch_digits && c == '\n') {
                r->ch = r->ch_left ? CH_DATA : CH_TRAILER;
                r->ch_blank = true;
            } else {
                return -1;
            }
            i++;
            break;
        case CH_EXT: /* chunk extensions, ignored to the line's end */
            if (c == '\n') {
                r->ch = r->ch_left ? CH_DATA : CH_TRAILER;
                r->ch_blank = true;
            }
            i++;
            break;
        case CH_DATA: {
            size_t take = n - i < r->ch_left ? n - i : (size_t)r->ch_left;
            keep_bytes(r, p + i, take);
            r->ch_left -= take;
            i += take;
            if (!r->ch_left) r->ch = CH_DATA_END;
            break;
        }
        case CH_DATA_END: /* the CRLF after a chunk's data */
            if (c == '\n') {
                r->ch = CH_SIZE;
                r->ch_digits = false;
            } else if (c != '\r') {
                return -1;
            }
            i++;
            break;
        case CH_TRAILER: /* header lines after the last chunk, up to an empty one */
            if (c == '\n') {
                if (r->ch_blank) {
                    *np = i + 1;
                    return 1;
                }
                r->ch_blank = true;
            } else if (c != '\r') {
                r->ch_blank = false;
            }
            i++;
            break;
        }
    }
    return 0;
}

/* Takes body bytes: keeps the first, and says whether the body is complete. */
static enum httpresp_rc body(struct httpresp *r, const char *p, size_t n)
{
    if (!r->chunked && r->length >= 0 && (long long)n > r->length - r->got) {
        r->past += n - (size_t)(r->length - r->got);
        n = (size_t)(r->length - r->got); /* what comes after the body is not the body */
    }
    if (r->chunked) {
        size_t used = n;
        int rc = chunks(r, p, &used);
        r->got += (long long)used;
        if (rc < 0) return fail(r, "the answer's chunked body is malformed");
        if (rc) r->past += n - used; /* after the trailer's blank line: not this answer's */
        return r->rc = rc ? HTTPRESP_DONE : HTTPRESP_MORE;
    }
    r->got += (long long)n;
    keep_bytes(r, p, n);
    if (r->length >= 0 && r->got >= r->length) return r->rc = HTTPRESP_DONE;
    return HTTPRESP_MORE; /* until the server closes */
}

enum httpresp_rc httpresp_feed(struct httpresp *r, const char *p, size_t n)
{
    if (r->rc == HTTPRESP_DONE) r->past += n;
    if (r->rc != HTTPRESP_MORE || n == 0) return r->rc;
    if (r->in_body) return body(r, p, n);
    size_t from = r->head_len > 3 ? r->head_len - 3 : 0; /* the blank line may straddle */
    for (;;) {
        size_t space = sizeof r->head - r->head_len, take = n < space ? n : space;
        if (take) memcpy(r->head + r->head_len, p, take);
        r->head_len += take;
        p += take;
        n -= take;
        char *blank = memmem(r->head + from, r->head_len - from, "\r\n\r\n", 4);
        if (!blank) {
            if (r->head_len == sizeof r->head)
                return fail(r, "the answer's headers are over 16 KiB");
            return HTTPRESP_MORE; /* all of p was taken */
        }
        size_t hl = (size_t)(blank - r->head) + 4;
        const char *bad = parse_head(r, hl);
        if (bad) return fail(r, bad);
        if (r->status < 200 && r->status != 101) {
            /* an interim answer (100 Continue, 103 Early Hints): the final one follows */
            memmove(r->head, r->head + hl, r->head_len - hl);
            r->head_len -= hl;
            from = 0;
            continue;
        }
        r->in_body = true;
        if (r->no_body || (r->length == 0 && !r->chunked)) {
            r->past += r->head_len - hl + n;
            return r->rc = HTTPRESP_DONE;
        }
        /* the body's bytes: those read into the head past its end, then the rest of p */
        if (r->head_len > hl && body(r, r->head + hl, r->head_len - hl) != HTTPRESP_MORE) {
            if (r->rc == HTTPRESP_DONE) r->past += n;
            return r->rc;
        }
        return n ? body(r, p, n) : HTTPRESP_MORE;
    }
}

enum httpresp_rc httpresp_eof(struct httpresp *r)
{
    if (r->rc != HTTPRESP_MORE) return r->rc;
    if (!r->in_body) return fail(r, "the server closed the connection without an answer");
    if (!r->chunked && r->length < 0) {
        r->keep_alive = false; /* the close was the answer's end */
        return r->rc = HTTPRESP_DONE;
    }
    return fail(r, "the server closed the connection before the whole answer");
}
