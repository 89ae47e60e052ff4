/* test_linebuf.c — line framing of child output: lines across reads, many per read, over-long
 * lines cut into pieces on UTF-8 boundaries, the flushed tail, and a randomized comparison of
 * arbitrary read sizes against a reference split of the whole stream. */
#include <stdlib.h>
#include <string.h>

#include "log/linebuf.h"
#include "base/util.h"
#include "t.h"

#define EURO "\xE2\x82\xAC"     /* 3 bytes */
#define GRIN "\xF0\x9F\x98\x80" /* 4 bytes */

/* What the callback saw: each line as "K:text\n" with K = W(hole), P(iece) or T(ail). */
struct out {
    sbuf log;
    int calls;
    size_t longest;
};

static void record(void *ud, const char *line, size_t len, int kind)
{
    struct out *o = ud;
    sbuf_putc(&o->log, kind == LINE_WHOLE ? 'W' : kind == LINE_PIECE ? 'P' : 'T');
    sbuf_putc(&o->log, ':');
    sbuf_append(&o->log, line, len);
    sbuf_putc(&o->log, '\n');
    o->calls++;
    if (len > o->longest) o->longest = len;
}

/* Feeds s to lb as a child's reads would: as much as there is room for at a time. */
static void feed(struct linebuf *lb, struct out *o, const char *s, size_t len)
{
    while (len > 0) {
        size_t avail;
        char *dst = linebuf_space(lb, &avail);
        CHECK(avail >= lb->max_line);
        size_t n = len < avail ? len : avail;
        memcpy(dst, s, n);
        linebuf_commit(lb, n, record, o);
        s += n;
        len -= n;
    }
}

static void feeds(struct linebuf *lb, struct out *o, const char *s)
{
    feed(lb, o, s, strlen(s));
}

static void out_init(struct out *o)
{
    memset(o, 0, sizeof *o);
    sbuf_init(&o->log);
}

static const char *logged(struct out *o)
{
    return o->log.data ? o->log.data : "";
}

static void test_basic(void)
{
    struct linebuf lb;
    struct out o;
    out_init(&o);
    linebuf_init(&lb, 0, 0);
    CHECK_INT(lb.max_line, LINEBUF_MAX_LINE);
    size_t avail;
    linebuf_space(&lb, &avail);
    CHECK(avail >= LINEBUF_MAX_LINE);

    /* a line split across commits */
    feeds(&lb, &o, "hel");
    CHECK_INT(o.calls, 0);
    feeds(&lb, &o, "lo wor");
    CHECK_INT(o.calls, 0);
    feeds(&lb, &o, "ld\nnext");
    CHECK_STR(logged(&o), "W:hello world\n");
    /* many lines in one commit, empty ones too */
    feeds(&lb, &o, " line\n\nthree\n\n");
    CHECK_STR(logged(&o), "W:hello world\nW:next line\nW:\nW:three\nW:\n");
    CHECK_INT(lb.len, 0);
    /* nothing to flush */
    linebuf_flush(&lb, record, &o);
    CHECK_INT(o.calls, 5);
    /* a partial tail flushed at end of stream */
    feeds(&lb, &o, "last words");
    linebuf_flush(&lb, record, &o);
    CHECK_STR(logged(&o), "W:hello world\nW:next line\nW:\nW:three\nW:\nT:last words\n");
    CHECK_INT(lb.len, 0);
    /* \r and NUL bytes are passed through untouched */
    feed(&lb, &o, "a\r\nb\0c\n", 7);
    CHECK_INT(o.calls, 8);
    CHECK(memcmp(o.log.data + o.log.len - 11, "W:a\r\nW:b\0c\n", 11) == 0);
    linebuf_free(&lb);
    CHECK(lb.data == NULL);
    sbuf_free(&o.log);
}

static void test_long_lines(void)
{
    struct linebuf lb;
    struct out o;
    out_init(&o);
    linebuf_init(&lb, 8, 0);

    /* exactly max_line bytes: one whole line, even when its newline comes in the next read */
    feeds(&lb, &o, "12345678");
    CHECK_INT(o.calls, 0);
    feeds(&lb, &o, "\n");
    CHECK_STR(logged(&o), "W:12345678\n");
    feeds(&lb, &o, "abcdefgh\n");
    CHECK_STR(logged(&o), "W:12345678\nW:abcdefgh\n");

    /* longer: pieces of max_line, then the rest as the whole line */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "0123456789abcdefXYZ\n");
    CHECK_STR(logged(&o), "P:01234567\nP:89abcdef\nW:XYZ\n");
    /* exactly twice max_line: one piece, then the rest as the whole line */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "0123456789abcdef\n");
    CHECK_STR(logged(&o), "P:01234567\nW:89abcdef\n");

    /* a long line with no newline yet goes out in pieces as it arrives */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "aaaaaaaa");
    feeds(&lb, &o, "b");
    CHECK_STR(logged(&o), "P:aaaaaaaa\n");
    CHECK_INT(lb.len, 1);
    feeds(&lb, &o, "bbbbbbbbbbbbbbb");
    CHECK_STR(logged(&o), "P:aaaaaaaa\nP:bbbbbbbb\n");
    CHECK_INT(lb.len, 8);
    feeds(&lb, &o, "c\n");
    CHECK_STR(logged(&o), "P:aaaaaaaa\nP:bbbbbbbb\nP:bbbbbbbb\nW:c\n");
    /* there is always room for a full read */
    size_t avail;
    linebuf_space(&lb, &avail);
    CHECK(avail >= 8);
    linebuf_free(&lb);
    sbuf_free(&o.log);
}

static void test_utf8_pieces(void)
{
    struct linebuf lb;
    struct out o;
    out_init(&o);
    linebuf_init(&lb, 8, 0);
    /* "aaaaaaa" + "é" (2 bytes) would put the cut inside é: the piece stops before it */
    feeds(&lb, &o, "aaaaaaa\xC3\xA9zzzz\n");
    CHECK_STR(logged(&o), "P:aaaaaaa\nW:\xC3\xA9zzzz\n");
    /* a 4-byte emoji across the boundary */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "aaaaaa" GRIN "bbbbbbbbb\n");
    CHECK_STR(logged(&o), "P:aaaaaa\nP:" GRIN "bbbb\nW:bbbbb\n");
    /* a 3-byte character ending exactly at the boundary is kept whole */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "aaaaa" EURO "b\n");
    CHECK_STR(logged(&o), "P:aaaaa" EURO "\nW:b\n");
    /* bytes that are not UTF-8 at all (only continuation bytes) are cut at max_line */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\n");
    CHECK_STR(logged(&o), "P:\x80\x80\x80\x80\x80\x80\x80\x80\nW:\x80\x80\n");
    /* the same cuts happen in a tail with no newline yet */
    sbuf_reset(&o.log);
    feeds(&lb, &o, "aaaaaaa\xC3");
    feeds(&lb, &o, "\xA9zz");
    CHECK_STR(logged(&o), "P:aaaaaaa\n");
    linebuf_flush(&lb, record, &o);
    CHECK_STR(logged(&o), "P:aaaaaaa\nT:\xC3\xA9zz\n");
    linebuf_free(&lb);
    sbuf_free(&o.log);
}

/* ---- randomized: any read sizes give what a reference split of the whole stream gives ---- */

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The reference: the longest prefix of at most max bytes that does not end inside a UTF-8
 * sequence, looking back at most 3 bytes; max itself when there is no such boundary. */
static size_t ref_cut(const unsigned char *p, size_t max)
{
    for (size_t back = 0; back <= 3 && back < max; back++)
        if (!is_cont(p[max - back])) return max - back;
    return max;
}

static void ref_split(const unsigned char *s, size_t len, size_t max, struct out *o)
{
    size_t start = 0;
    while (start < len) {
        const unsigned char *nl = memchr(s + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - s) : len;
        while (end - start > max) {
            size_t k = ref_cut(s + start, max);
            record(o, (const char *)s + start, k, LINE_PIECE);
            start += k;
        }
        if (!nl) {
            if (end > start) record(o, (const char *)s + start, end - start, LINE_PARTIAL);
            return;
        }
        record(o, (const char *)s + start, end - start, LINE_WHOLE);
        start = end + 1;
    }
}

/* A random stream: ASCII words, newlines, multi-byte characters and long runs. */
static size_t random_stream(unsigned char *buf, size_t cap)
{
    static const char *const chars[] = {"a",        "b",  " ",  "\n", "\n",
                                        "\xC3\xA9", EURO, GRIN, "\t", "z"};
    size_t n = 0;
    while (n + 4 < cap) {
        if (rand() % 50 == 0) { /* a long line */
            size_t run = (size_t)(rand() % 200);
            for (size_t i = 0; i < run && n + 4 < cap; i++)
                buf[n++] = (unsigned char)('A' + rand() % 26);
            continue;
        }
        const char *c = chars[rand() % 10];
        size_t l = strlen(c);
        memcpy(buf + n, c, l);
        n += l;
    }
    return n;
}

/* True when every piece in the log is valid UTF-8 on its own. */
static bool pieces_are_utf8(const struct out *o)
{
    const unsigned char *p = (const unsigned char *)o->log.data;
    const unsigned char *end = p + o->log.len;
    while (p < end) {
        const unsigned char *nl = memchr(p + 2, '\n', (size_t)(end - p - 2));
        /* lines are recorded with their '\n' removed, so the next '\n' ends this record */
        if (!nl) return false;
        for (const unsigned char *c = p + 2; c < nl;) {
            int need = *c < 0x80 ? 0 : *c >= 0xF0 ? 3 : *c >= 0xE0 ? 2 : *c >= 0xC0 ? 1 : -1;
            if (need < 0 || nl - c <= need) return false;
            for (int i = 1; i <= need; i++)
                if (!is_cont(c[i])) return false;
            c += need + 1;
        }
        p = nl + 1;
    }
    return true;
}

static void test_random(void)
{
    srand(20261122);
    enum { STREAM = 20000 };
    unsigned char *stream = xmalloc(STREAM);
    int mismatches = 0, invalid = 0, too_long = 0, no_room = 0;
    for (int round = 0; round < 200; round++) {
        size_t len = random_stream(stream, (size_t)(1000 + rand() % (STREAM - 1000)));
        size_t max = (size_t)(4 + rand() % 60);
        struct out want, got;
        out_init(&want);
        out_init(&got);
        ref_split(stream, len, max, &want);

        struct linebuf lb;
        linebuf_init(&lb, max, 0);
        size_t off = 0;
        while (off < len) {
            size_t avail;
            char *dst = linebuf_space(&lb, &avail);
            if (avail < max) no_room++;
            size_t n = (size_t)(1 + rand() % (rand() % 4 == 0 ? (int)avail : 7));
            if (n > avail) n = avail;
            if (n > len - off) n = len - off;
            memcpy(dst, stream + off, n);
            linebuf_commit(&lb, n, record, &got);
            off += n;
        }
        linebuf_flush(&lb, record, &got);
        linebuf_free(&lb);

        if (got.log.len != want.log.len || memcmp(got.log.data, want.log.data, got.log.len) != 0)
            mismatches++;
        if (got.longest > max) too_long++;
        if (!pieces_are_utf8(&got)) invalid++;
        sbuf_free(&want.log);
        sbuf_free(&got.log);
    }
    CHECK_INT(mismatches, 0);
    CHECK_INT(invalid, 0);
    CHECK_INT(too_long, 0);
    CHECK_INT(no_room, 0);
    free(stream);
}

int main(void)
{
    test_basic();
    test_long_lines();
    test_utf8_pieces();
    test_random();
    return t_done("linebuf");
}
