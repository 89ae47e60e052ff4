/* jsoncheck.h — a strict JSON grammar check and UTF-8 sequence lengths (pure). */
#ifndef ROSTER_JSONCHECK_H
#define ROSTER_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the UTF-8 sequence at s[i] (of len bytes), or 0 when it is none: a stray or
 * cut continuation, an overlong form, a surrogate, or past U+10FFFF. */
size_t utf8_seq_len(const unsigned char *s, size_t len, size_t i);

/* Whether text (len bytes) is one JSON value as RFC 8259 has it: its grammar only (cJSON takes
 * more: "01", "1.", control bytes between tokens and raw in strings), UTF-8 only (no overlong
 * form, surrogate or cut sequence), nested at most 1000 deep. When it is not, *at is the byte
 * offset where it stops being one and *why says what is wrong (either may be NULL). */
bool json_check(const char *text, size_t len, size_t *at, const char **why);

#endif
