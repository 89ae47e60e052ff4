/* fuzz_httpc.c — the answer parser of the plain-http client (checks/httpresp.c), fed what a
 * server may send. The first bytes choose the body bytes kept (0 to 255), whether the request
 * was a HEAD, and a seed; the rest is the answer, fed once whole and once in pieces whose sizes
 * a generator from the seed picks (1 byte to a few KiB, so every boundary is met), then the
 * close. Properties: the pieces make no difference (outcome, status, body kept, keep-alive,
 * Retry-After, error), no more than keep bytes are kept, a finished answer has a status of 3
 * digits, an error says why, bytes after the end change nothing and are counted as past (for a
 * kept-alive connection), and an answer ends exactly at its length: the input less those bytes
 * past it is the same answer with nothing past. */
#include "fuzz.h"
#include "checks/httpresp.h"

struct outcome {
    enum httpresp_rc rc, eof_rc;
    long status;
    const char *err;
    char kept[256];
    size_t kept_len;
    bool keep_alive;
    char retry_after[HTTPRESP_MAX_RETRY_AFTER];
    size_t past;
};

static void run(const char *in, size_t size, bool head, size_t keep, uint32_t seed,
                struct outcome *o)
{
    struct httpresp *r = malloc(sizeof *r);
    if (!r) abort();
    httpresp_init(r, head, keep);
    enum httpresp_rc rc = HTTPRESP_MORE;
    for (size_t at = 0; at < size;) {
        size_t n = size - at;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t max = (seed >> 28) < 8 ? 8 : 4096; /* mostly tiny pieces */
            n = 1 + (seed >> 8) % max;
            if (n > size - at) n = size - at;
        }
        enum httpresp_rc was = rc;
        rc = httpresp_feed(r, in + at, n);
        if (was != HTTPRESP_MORE) FUZZ_CHECK(rc == was); /* nothing changes after the end */
        at += n;
    }
    o->rc = rc;
    o->eof_rc = httpresp_eof(r);
    if (rc != HTTPRESP_MORE) FUZZ_CHECK(o->eof_rc == rc);
    o->status = r->status;
    o->err = r->err;
    o->keep_alive = r->keep_alive;
    memcpy(o->retry_after, r->retry_after, sizeof o->retry_after);
    o->past = r->past;
    FUZZ_CHECK(memchr(r->retry_after, '\0', sizeof r->retry_after));
    FUZZ_CHECK(r->past <= size);
    if (rc != HTTPRESP_DONE) FUZZ_CHECK(r->past == 0);
    FUZZ_CHECK(r->kept_len <= keep);
    FUZZ_CHECK(r->head_len <= sizeof r->head);
    o->kept_len = r->kept_len;
    if (r->kept_len) memcpy(o->kept, r->kept, r->kept_len);
    if (o->eof_rc == HTTPRESP_DONE) FUZZ_CHECK(r->status >= 100 && r->status <= 999);
    if (o->eof_rc == HTTPRESP_ERR) FUZZ_CHECK(r->err && *r->err);
    httpresp_free(r);
    free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    size_t keep = data[0];
    bool head = data[1] & 1;
    uint32_t seed = data[2] | 1u << 8;
    data += 3;
    size -= 3;
    char *in = fuzz_copy(data, size);
    struct outcome whole, pieces;
    run(in, size, head, keep, 0, &whole);
    run(in, size, head, keep, seed, &pieces);
    FUZZ_CHECK(whole.rc == pieces.rc);
    FUZZ_CHECK(whole.eof_rc == pieces.eof_rc);
    if (whole.eof_rc == HTTPRESP_DONE) {
        FUZZ_CHECK(whole.status == pieces.status);
        FUZZ_CHECK(whole.kept_len == pieces.kept_len);
        FUZZ_CHECK(!memcmp(whole.kept, pieces.kept, whole.kept_len));
        FUZZ_CHECK(whole.keep_alive == pieces.keep_alive);
        FUZZ_CHECK(!strcmp(whole.retry_after, pieces.retry_after));
    }
    if (whole.rc == HTTPRESP_DONE) {
        /* the answer ends exactly at its length: its own bytes alone make the same answer,
         * with nothing past it, and whatever came after is counted as past */
        FUZZ_CHECK(whole.past == pieces.past);
        struct outcome own;
        run(in, size - whole.past, head, keep, seed, &own);
        FUZZ_CHECK(own.rc == HTTPRESP_DONE && own.past == 0);
        FUZZ_CHECK(own.status == whole.status && own.keep_alive == whole.keep_alive);
        FUZZ_CHECK(own.kept_len == whole.kept_len && !memcmp(own.kept, whole.kept, own.kept_len));
        FUZZ_CHECK(!strcmp(own.retry_after, whole.retry_after));
    } else {
        FUZZ_CHECK(whole.err == pieces.err);
    }
    free(in);
    return 0;
}
