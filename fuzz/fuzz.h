/* fuzz.h — what the libFuzzer harnesses share: copies of the input sized exactly (so ASan sees
 * a read past its end, as it would past a file read without a NUL), and an oracle check that
 * makes a failed property a finding like a crash. */
#ifndef ROSTER_FUZZ_H
#define ROSTER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep: a failure prints it and aborts, which libFuzzer reports
 * (and keeps the input) like any crash. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input in a malloc'd block of exactly size bytes, no NUL after it (parsers that take a
 * length must not read past it). size 0 still gives a block. Caller frees. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p) abort();
    if (size) memcpy(p, data, size);
    return p;
}

/* The input as a C string, for APIs that take one: cut at its first NUL. Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);
    if (!p) abort();
    if (size) memcpy(p, data, size);
    p[size] = '\0';
    return p;
}

/* How many times needle occurs in hay, overlapping ones included. */
static inline size_t fuzz_count(const char *hay, const char *needle)
{
    size_t n = 0;
    if (!*needle) return 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

#endif
