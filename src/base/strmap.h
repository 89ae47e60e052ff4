/* strmap.h — a hash map from strings to indexes, so that looking a name up (a role, an anchor, a
 * mapping's key, an environment variable) costs the same for the thousandth as for the first and
 * a config's per-role work stays linear. Keys are borrowed: each must stay valid, unchanged, as
 * long as it is in the map. There is no removal: a caller whose entries move rebuilds the map. */
#ifndef ROSTER_STRMAP_H
#define ROSTER_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap_slot {
    const char *key; /* NULL: empty */
    size_t val;
};

typedef struct strmap {
    struct strmap_slot *slots;
    size_t cap, n; /* cap is 0 or a power of two, at least twice n */
} strmap;

/* The largest number of entries; strmap_put aborts beyond it (no caller comes near: a config is
 * at most 1 MiB). */
#define STRMAP_MAX ((size_t)1 << 26)

/* Whether key is in the map; its value in *val when val is not NULL. */
bool strmap_get(const strmap *m, const char *key, size_t *val);
/* Sets key's value (replacing an earlier one). key is borrowed. */
void strmap_put(strmap *m, const char *key, size_t val);
/* Empties the map and frees its table. */
void strmap_free(strmap *m);

#endif
