/* linebuf.h — splits a child's byte stream into whole lines. Bytes are read straight into the
 * buffer; complete lines are handed out without copying; a line longer than max_line is handed
 * out in pieces of at most max_line bytes (cut on a UTF-8 boundary); the unterminated tail is
 * kept for the next read, or flushed at end of stream. Pure. */
#ifndef ROSTER_LINEBUF_H
#define ROSTER_LINEBUF_H

#include <stddef.h>

#define LINEBUF_MAX_LINE (64u * 1024u)

enum {
    LINE_WHOLE = 0,   /* ended by '\n' (not included) */
    LINE_PIECE = 1,   /* a max_line piece of a longer line; more follows */
    LINE_PARTIAL = 2, /* the unterminated tail, flushed at end of stream */
};

typedef void (*linebuf_cb)(void *ud, const char *line, size_t len, int kind);

struct linebuf {
    char *data;
    size_t len, cap, max_line;
};

/* read_size: how much one read may bring (0: max_line). The buffer holds max_line + read_size. */
void linebuf_init(struct linebuf *lb, size_t max_line, size_t read_size);
/* Where the next read may write, and how much (always at least read_size). */
char *linebuf_space(struct linebuf *lb, size_t *avail);
/* Takes n freshly read bytes and hands out every complete line (and over-long pieces). */
void linebuf_commit(struct linebuf *lb, size_t n, linebuf_cb cb, void *ud);
/* Hands out what is left as a LINE_PARTIAL, if anything. */
void linebuf_flush(struct linebuf *lb, linebuf_cb cb, void *ud);
void linebuf_free(struct linebuf *lb);
/* How much of p to take as a piece of at most max bytes when more than max bytes are there (p[max]
 * is readable): max backed off so as not to split a UTF-8 sequence, unless the text is not
 * UTF-8 at all. Never 0 when max is not. */
size_t linebuf_cut(const char *p, size_t max);

#endif
