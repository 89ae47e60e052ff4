/* dedupe.h — a repeated identical crash shown once (the dev profile, issue 9 §3). An instance
 * keeps a hash of each line of its last crashed run; while a new run's lines match that run's,
 * in order, the caller holds them back; the first line that differs (or a bound reached, or the
 * caller's hold time passed) releases them and the run streams as usual; when the run crashes
 * with every line matched and the same status, the held lines are dropped and the caller says
 * "same output as the last N crashes" instead. Only lines proven identical (by a 64-bit hash of
 * stream and text) are ever dropped. Pure: no I/O, no clock. */
#ifndef ROSTER_DEDUPE_H
#define ROSTER_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How much of a run is remembered: past either bound the run is neither deduped nor kept for
 * the next one, so the held lines (and what the hashes cost) stay small. */
#define DEDUPE_MAX_LINES 500
#define DEDUPE_MAX_BYTES (256u << 10)

enum dedupe_verdict {
    DEDUPE_PASS,    /* write the line; nothing is held */
    DEDUPE_HOLD,    /* hold the line back (it matches the last crash's, so far) */
    DEDUPE_RELEASE, /* write what is held, then this line; the run streams from now on */
};

struct dedupe {
    uint64_t *prev; /* the last crashed run's line hashes (DEDUPE_MAX_LINES of room), or NULL */
    uint64_t *cur;  /* this run's */
    size_t nprev, ncur;
    size_t cur_bytes;
    int prev_status;  /* the last crash's status (shell-style) */
    bool prev_valid;  /* prev holds a whole crashed run within the bounds */
    bool cur_valid;   /* this run is still within the bounds */
    bool matching;    /* every line of this run so far matched prev's, in order */
    size_t held;      /* lines held back now */
    unsigned repeats; /* crashes in a row with prev's output (1 after the first) */
};

/* Zeroes d; nothing is allocated until the first line. */
void dedupe_init(struct dedupe *d);
void dedupe_free(struct dedupe *d);
/* A new run of the instance begins: its lines are compared with the last crash's. */
void dedupe_start(struct dedupe *d);
/* One line of the run (stream: 0 stdout, 1 stderr; text without its newline). */
enum dedupe_verdict dedupe_line(struct dedupe *d, int stream, const char *line, size_t len);
/* Stops holding for the rest of this run (the caller's hold time passed, or roster is stopping
 * the instance). Returns how many lines were held: the caller writes them. */
size_t dedupe_stop_holding(struct dedupe *d);
/* The run ended. crash: it ended on its own and will count as a crash (roster did not stop it);
 * status: its shell-style status. Returns 0 when the held lines (dedupe_held_count) must be
 * written, or n >= 2 when this run repeated the last crash exactly (every line, at least one,
 * and the status): the held lines are to be dropped and this is the n-th such crash in a row. */
unsigned dedupe_end(struct dedupe *d, bool crash, int status);
/* Lines held back now. */
static inline size_t dedupe_held_count(const struct dedupe *d)
{
    return d->held;
}

#endif
