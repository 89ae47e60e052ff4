/* dedupe.c — the matcher behind "same output as the last N crashes". See dedupe.h. */
#include "log/dedupe.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* FNV-1a over the stream and the text: a collision would need two different lines in the same
 * place of two runs to share 64 bits, which a crash loop's few hundred lines do not risk. */
static uint64_t line_hash(int stream, const char *line, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ (uint64_t)(stream & 0xff)) * 0x100000001b3ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)line[i]) * 0x100000001b3ull;
    return h;
}

void dedupe_init(struct dedupe *d)
{
    memset(d, 0, sizeof *d);
}

void dedupe_free(struct dedupe *d)
{
    free(d->prev);
    free(d->cur);
    dedupe_init(d);
}

void dedupe_start(struct dedupe *d)
{
    d->ncur = 0;
    d->cur_bytes = 0;
    d->cur_valid = true;
    d->matching = d->prev_valid;
    d->held = 0;
}

/* Ends matching for this run: what was held is the caller's to write. */
static enum dedupe_verdict stop_matching(struct dedupe *d)
{
    bool had = d->held > 0;
    d->matching = false;
    d->held = 0;
    return had ? DEDUPE_RELEASE : DEDUPE_PASS;
}

enum dedupe_verdict dedupe_line(struct dedupe *d, int stream, const char *line, size_t len)
{
    if (!d->cur_valid) return DEDUPE_PASS;
    if (d->ncur >= DEDUPE_MAX_LINES || len > DEDUPE_MAX_BYTES - d->cur_bytes) {
        /* past the bounds: this run is shown whole and forgotten */
        d->cur_valid = false;
        return stop_matching(d);
    }
    if (!d->cur) d->cur = xcalloc(DEDUPE_MAX_LINES, sizeof *d->cur);
    uint64_t h = line_hash(stream, line, len);
    size_t at = d->ncur++;
    d->cur[at] = h;
    d->cur_bytes += len;
    if (!d->matching) return DEDUPE_PASS;
    if (at < d->nprev && d->prev[at] == h) {
        d->held++;
        return DEDUPE_HOLD;
    }
    return stop_matching(d);
}

size_t dedupe_stop_holding(struct dedupe *d)
{
    size_t n = d->held;
    d->matching = false;
    d->held = 0;
    return n;
}

unsigned dedupe_end(struct dedupe *d, bool crash, int status)
{
    bool same = crash && d->matching && d->cur_valid && d->ncur > 0 && d->ncur == d->nprev &&
                status == d->prev_status;
    d->matching = false;
    d->held = 0;
    if (same) {
        /* prev already holds these hashes */
        return ++d->repeats;
    }
    if (crash && d->cur_valid) {
        /* this run is the one the next is compared with */
        uint64_t *t = d->prev;
        d->prev = d->cur;
        d->cur = t;
        d->nprev = d->ncur;
        d->prev_status = status;
        d->prev_valid = true;
        d->repeats = 1;
    } else {
        d->prev_valid = false;
        d->nprev = 0;
        d->repeats = 0;
    }
    d->ncur = 0;
    return 0;
}
