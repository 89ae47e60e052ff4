/* util.h — helpers every module shares: checked allocation, a growable string buffer with a
 * ceiling, a string vector, clocks, signal names and whole-file reads. */
#ifndef ROSTER_UTIL_H
#define ROSTER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))
#define ROSTER_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Allocation that cannot fail: out of memory aborts with a message, as redis's zmalloc does.
 * A supervisor that cannot allocate a few bytes has nothing better to do. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ROSTER_PRINTF(1, 2);

/* A growable byte buffer, always NUL-terminated after len bytes. The caller owns data. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

void sbuf_init(sbuf *b);
void sbuf_free(sbuf *b);
void sbuf_reserve(sbuf *b, size_t extra);
void sbuf_append(sbuf *b, const void *p, size_t n);
void sbuf_puts(sbuf *b, const char *s);
void sbuf_putc(sbuf *b, char c);
void sbuf_printf(sbuf *b, const char *fmt, ...) ROSTER_PRINTF(2, 3);
void sbuf_vprintf(sbuf *b, const char *fmt, va_list ap);
void sbuf_consume(sbuf *b, size_t n); /* drops n bytes from the front */
void sbuf_reset(sbuf *b);
char *sbuf_detach(sbuf *b); /* hands data to the caller; b is empty afterwards */

/* A NULL-terminated vector of owned strings. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

void strvec_push(strvec *sv, char *owned);
void strvec_pushdup(strvec *sv, const char *s);
void strvec_free(strvec *sv);
void strvec_copy(strvec *dst, const strvec *src);
bool strvec_equal(const strvec *a, const strvec *b);

/* Clocks. now_ms/now_us are monotonic; wall_time is seconds since the epoch, wall_ms the same
 * in milliseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);
double wall_time(void);
int64_t wall_ms(void);
/* Writes "2026-11-22T10:00:00.123Z" (UTC, milliseconds) into buf, which holds at least 32. */
void format_iso8601(char *buf, size_t size, double t);
/* The same for ms milliseconds since the epoch: "2026-12-06T10:00:00.012Z". */
void format_iso8601_ms(char *buf, size_t size, int64_t ms);

/* "SIGTERM" for 15; a static string, "SIG<n>" style for unknown numbers (not thread-safe). */
const char *signal_name(int sig);
/* Accepts "TERM", "SIGTERM", "sigterm" or "15"; returns the number or -1. */
int signal_from_name(const char *name);

/* Reads a whole file of at most max bytes. Returns 0, -errno, or -EFBIG when larger.
 * *out is NUL-terminated and owned by the caller. */
int read_file(const char *path, size_t max, char **out, size_t *len);

struct sockaddr;
/* The numeric text of an IPv4 or IPv6 address (buf holds INET6_ADDRSTRLEN). */
void addr_to_text(const struct sockaddr *sa, char *buf, size_t size);

/* Case-insensitive "does haystack contain needle". */
bool str_icontains(const char *haystack, const char *needle);
bool str_has_prefix(const char *s, const char *prefix);
/* Levenshtein distance, capped: returns cap+1 when the distance exceeds cap. */
int str_distance(const char *a, const char *b, int cap);

#endif
