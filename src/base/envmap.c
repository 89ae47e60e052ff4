/* envmap.c — environment maps. A process environment has tens of entries, searched in order;
 * a map that grows past ENVMAP_INDEX_MIN gets a hash index, since a config may give a role
 * thousands (through an anchor, say) and every set looks the key up first. */
#include "base/envmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define ENVMAP_INDEX_MIN 32

/* Forgets the index, after entries moved; find rebuilds it. */
static void drop_index(envmap *m)
{
    strmap_free(&m->index);
    m->indexed = 0;
}

static envvar *find(const envmap *m, const char *key)
{
    if (m->indexed < m->n) {
        for (size_t i = 0; i < m->n; i++)
            if (strcmp(m->v[i].key, key) == 0) return &m->v[i];
        return NULL;
    }
    size_t i;
    return strmap_get(&m->index, key, &i) ? &m->v[i] : NULL;
}

/* Brings the index up to date once the map is large enough to want one (after an append, or an
 * unset that dropped it). */
static void update_index(envmap *m)
{
    if (m->n < ENVMAP_INDEX_MIN) return;
    for (; m->indexed < m->n; m->indexed++)
        strmap_put(&m->index, m->v[m->indexed].key, m->indexed);
}

void envmap_set(envmap *m, const char *key, const char *val)
{
    envvar *e = find(m, key);
    if (e) {
        char *nv = xstrdup(val);
        free(e->val);
        e->val = nv;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = xrealloc(m->v, m->cap * sizeof *m->v);
    }
    m->v[m->n].key = xstrdup(key);
    m->v[m->n].val = xstrdup(val);
    m->n++;
    update_index(m);
}

bool envmap_set_default(envmap *m, const char *key, const char *val)
{
    if (find(m, key)) return false;
    envmap_set(m, key, val);
    return true;
}

const char *envmap_get(const envmap *m, const char *key)
{
    envvar *e = find(m, key);
    return e ? e->val : NULL;
}

void envmap_unset(envmap *m, const char *key)
{
    envvar *e = find(m, key);
    if (!e) return;
    free(e->key);
    free(e->val);
    size_t i = (size_t)(e - m->v);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
    m->n--;
    drop_index(m);
    update_index(m);
}

void envmap_merge(envmap *dst, const envmap *src)
{
    for (size_t i = 0; i < src->n; i++)
        envmap_set(dst, src->v[i].key, src->v[i].val);
}

void envmap_merge_defaults(envmap *dst, const envmap *src)
{
    for (size_t i = 0; i < src->n; i++)
        envmap_set_default(dst, src->v[i].key, src->v[i].val);
}

void envmap_from_environ(envmap *m, char **environ_)
{
    for (char **e = environ_; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e) continue;
        char *key = xstrndup(*e, (size_t)(eq - *e));
        envmap_set(m, key, eq + 1);
        free(key);
    }
}

void envmap_copy(envmap *dst, const envmap *src)
{
    envmap_merge(dst, src);
}

bool envmap_equal(const envmap *a, const envmap *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        const char *v = envmap_get(b, a->v[i].key);
        if (!v || strcmp(v, a->v[i].val) != 0) return false;
    }
    return true;
}

char **envmap_to_envp(const envmap *m)
{
    char **envp = xcalloc(m->n + 1, sizeof(char *));
    for (size_t i = 0; i < m->n; i++)
        envp[i] = xasprintf("%s=%s", m->v[i].key, m->v[i].val);
    return envp;
}

void envp_free(char **envp)
{
    if (!envp) return;
    for (char **e = envp; *e; e++)
        free(*e);
    free(envp);
}

void envmap_free(envmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].val);
    }
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
    drop_index(m);
}
