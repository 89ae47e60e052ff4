/* strmap.c — open addressing with linear probing over a power-of-two table, kept at most half
 * full, with FNV-1a as the hash. */
#include "base/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static size_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot key is in, or the empty slot where it would go. cap is a power of two. */
static struct strmap_slot *slot_of(struct strmap_slot *slots, size_t cap, const char *key)
{
    size_t i = hash(key) & (cap - 1);
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

bool strmap_get(const strmap *m, const char *key, size_t *val)
{
    if (!m->cap) return false;
    const struct strmap_slot *s = slot_of(m->slots, m->cap, key);
    if (!s->key) return false;
    if (val) *val = s->val;
    return true;
}

static void grow(strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct strmap_slot *slots = xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) *slot_of(slots, cap, m->slots[i].key) = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
}

void strmap_put(strmap *m, const char *key, size_t val)
{
    if (m->n >= STRMAP_MAX) abort();
    if ((m->n + 1) * 2 > m->cap) grow(m);
    struct strmap_slot *s = slot_of(m->slots, m->cap, key);
    if (!s->key) {
        s->key = key;
        m->n++;
    }
    s->val = val;
}

void strmap_free(strmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
