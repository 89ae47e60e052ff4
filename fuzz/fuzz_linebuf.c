/* fuzz_linebuf.c — log line framing (log/linebuf.c). The first bytes choose the longest line
 * (1 to 64) and the read size; the rest is the child's output, read in chunks whose sizes a
 * generator seeded from the input picks. Properties: no line handed out is longer than the
 * longest allowed, a whole line holds no '\n', only the flush hands out a partial tail, and no
 * byte is lost or added: the lines (whole ones with their '\n' again) concatenate to the input. */
#include "fuzz.h"
#include "log/linebuf.h"

struct out {
    char *buf;
    size_t len, cap, max_line;
    int flushing;
};

static void take(void *ud, const char *line, size_t len, int kind)
{
    struct out *o = ud;
    FUZZ_CHECK(len <= o->max_line);
    FUZZ_CHECK(!memchr(line, '\n', len));
    FUZZ_CHECK(kind == LINE_WHOLE || kind == LINE_PIECE || kind == LINE_PARTIAL);
    FUZZ_CHECK((kind == LINE_PARTIAL) == o->flushing);
    if (kind != LINE_WHOLE) FUZZ_CHECK(len > 0);
    FUZZ_CHECK(o->len + len + 1 <= o->cap);
    memcpy(o->buf + o->len, line, len);
    o->len += len;
    if (kind == LINE_WHOLE) o->buf[o->len++] = '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t max_line = 1 + data[0] % 64;
    size_t read_size = data[1] % 16; /* 0: max_line */
    uint32_t seed = data[2];
    data += 3;
    size -= 3;
    char *input = fuzz_copy(data, size);
    struct out o = {.buf = malloc(size + 1), .cap = size + 1, .max_line = max_line};
    struct linebuf lb;
    linebuf_init(&lb, max_line, read_size);
    size_t at = 0;
    while (at < size) {
        size_t avail;
        char *space = linebuf_space(&lb, &avail);
        FUZZ_CHECK(avail >= (read_size ? read_size : max_line));
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % avail;
        if (n > size - at) n = size - at;
        memcpy(space, input + at, n);
        at += n;
        linebuf_commit(&lb, n, take, &o);
    }
    o.flushing = 1;
    linebuf_flush(&lb, take, &o);
    FUZZ_CHECK(o.len == size);
    FUZZ_CHECK(size == 0 || memcmp(o.buf, input, size) == 0);
    linebuf_free(&lb);
    free(o.buf);
    free(input);
    return 0;
}
