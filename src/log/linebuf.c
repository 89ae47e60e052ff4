/* linebuf.c — line framing for child output. */
#include "log/linebuf.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void linebuf_init(struct linebuf *lb, size_t max_line, size_t read_size)
{
    lb->max_line = max_line ? max_line : LINEBUF_MAX_LINE;
    lb->cap = lb->max_line + (read_size ? read_size : lb->max_line);
    lb->data = NULL; /* allocated on first use: idle roles cost nothing */
    lb->len = 0;
}

char *linebuf_space(struct linebuf *lb, size_t *avail)
{
    if (!lb->data) lb->data = xmalloc(lb->cap);
    *avail = lb->cap - lb->len;
    return lb->data + lb->len;
}

/* Backs off over continuation bytes, at most three (the longest sequence is four bytes). */
size_t linebuf_cut(const char *p, size_t max)
{
    size_t n = max;
    size_t back = 0;
    while (back < 3 && n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80) {
        n--;
        back++;
    }
    if (n == 0 || ((unsigned char)p[n] & 0xC0) == 0x80) return max;
    return n;
}

void linebuf_commit(struct linebuf *lb, size_t n, linebuf_cb cb, void *ud)
{
    size_t scan_from = lb->len;
    lb->len += n;
    char *start = lb->data;
    char *end = lb->data + lb->len;
    char *p = lb->data + scan_from;
    for (;;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        while ((size_t)(nl - start) > lb->max_line) {
            size_t k = linebuf_cut(start, lb->max_line);
            cb(ud, start, k, LINE_PIECE);
            start += k;
        }
        cb(ud, start, (size_t)(nl - start), LINE_WHOLE);
        start = nl + 1;
        p = start;
    }
    /* A tail longer than max_line goes out in pieces; one of exactly max_line waits, since its
     * '\n' may come next. Either way at least read_size bytes stay free for the next read. */
    while ((size_t)(end - start) > lb->max_line) {
        size_t k = linebuf_cut(start, lb->max_line);
        cb(ud, start, k, LINE_PIECE);
        start += k;
    }
    size_t rest = (size_t)(end - start);
    if (start != lb->data && rest) memmove(lb->data, start, rest);
    lb->len = rest;
}

void linebuf_flush(struct linebuf *lb, linebuf_cb cb, void *ud)
{
    if (lb->len) cb(ud, lb->data, lb->len, LINE_PARTIAL);
    lb->len = 0;
}

void linebuf_free(struct linebuf *lb)
{
    free(lb->data);
    lb->data = NULL;
    lb->len = 0;
}
