/* config_yaml.c — turns a roster.yaml into a struct roster_config: the document walk.
 *
 * libyaml's document API gives a node tree whose every node carries its line and column, so each
 * error names the exact place. Values are interpolated (${VAR}) before their type is checked,
 * keys never are. Each mapping is read through its key table (config_keys.c): the walk looks a key
 * up there, calls its parser, and words the unknown-key error and its suggestion from the same
 * table. The loader keeps going after an error so one run reports every mistake. */
#include "config/config_yaml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/interp.h"
#include "base/strmap.h"
#include "base/units.h"

src_pos pos_of(const struct loader *L, const yaml_node_t *n)
{
    src_pos p = {L->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
    return p;
}

yaml_node_t *node_at(struct loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

const char *node_type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "empty";
    }
}

const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE) return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

void err_at(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_vadd(L->d, pos_of(L, n), fmt, ap);
    va_end(ap);
}

static const char *lookup_var(void *ud, const char *name)
{
    return envmap_get(ud, name);
}

/* The value of a scalar with ${VAR} expanded; NULL (and an error) otherwise. Caller frees. */
char *get_str(struct loader *L, yaml_node_t *n, const char *what)
{
    if (n->type != YAML_SCALAR_NODE) {
        err_at(L, n, "%s must be a value, not %s", what, node_type_name(n));
        return NULL;
    }
    if (is_null(n)) {
        err_at(L, n, "%s needs a value", what);
        return NULL;
    }
    char *out;
    struct interp_error ie;
    if (interp_expand(sval(n), lookup_var, &L->vars, &out, &ie) < 0) {
        src_pos p = pos_of(L, n);
        /* Point at the ${ itself when the scalar sits on one line. */
        if (!strchr(sval(n), '\n')) {
            p.col += (int)ie.offset;
            if (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
                p.col++;
        }
        diags_add(L->d, p, "%s", ie.msg);
        return NULL;
    }
    return out;
}

bool parse_bool_text(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return true;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

int get_bool(struct loader *L, yaml_node_t *n, const char *what, bool *out)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    int rc = 0;
    if (!parse_bool_text(s, out)) {
        err_at(L, n, "%s must be true or false, not '%s'", what, s);
        rc = -1;
    }
    free(s);
    return rc;
}

int get_int(struct loader *L, yaml_node_t *n, const char *what, long min, long max, int *out)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    int rc = 0;
    if (!*s || *end || errno) {
        err_at(L, n, "%s must be a whole number, not '%s'", what, s);
        rc = -1;
    } else if (v < min || v > max) {
        err_at(L, n, "%s must be between %ld and %ld, not %ld", what, min, max, v);
        rc = -1;
    } else {
        *out = (int)v;
    }
    free(s);
    return rc;
}

int get_duration(struct loader *L, yaml_node_t *n, const char *what, uint64_t *out)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    const char *why;
    int rc = units_parse_duration(s, out, &why);
    if (rc < 0) err_at(L, n, "%s: %s, not '%s'", what, why, s);
    free(s);
    return rc;
}

int get_size(struct loader *L, yaml_node_t *n, const char *what, uint64_t *out)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    const char *why;
    int rc = units_parse_size(s, out, &why);
    if (rc < 0) err_at(L, n, "%s: %s, not '%s'", what, why, s);
    free(s);
    return rc;
}

/* What goes before the i-th of count names in "a, b or c". */
static const char *list_sep(size_t i, size_t count)
{
    return i == 0 ? "" : i + 1 == count ? " or " : ", ";
}

int get_enum(struct loader *L, yaml_node_t *n, const char *what, const char *const *names,
             size_t count)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    for (size_t i = 0; i < count; i++) {
        if (!strcmp(s, names[i])) {
            free(s);
            return (int)i;
        }
    }
    sbuf list;
    sbuf_init(&list);
    for (size_t i = 0; i < count; i++)
        sbuf_printf(&list, "%s%s", list_sep(i, count), names[i]);
    err_at(L, n, "%s must be %s, not '%s'", what, list.data, s);
    sbuf_free(&list);
    free(s);
    return -1;
}

static void pairs_push(struct pairs *ps, yaml_node_t *k, yaml_node_t *v)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = xrealloc(ps->p, ps->cap * sizeof *ps->p);
    }
    ps->p[ps->n].k = k;
    ps->p[ps->n].v = v;
    ps->p[ps->n].key = sval(k);
    ps->n++;
}

/* Adds the pair unless its key is in ps already (keys: each key of ps, by its index). */
static bool pairs_add_new(struct pairs *ps, strmap *keys, yaml_node_t *k, yaml_node_t *v)
{
    if (strmap_get(keys, sval(k), NULL)) return false;
    strmap_put(keys, sval(k), ps->n);
    pairs_push(ps, k, v);
    return true;
}

static void merge_from(struct loader *L, struct pairs *ps, strmap *keys, yaml_node_t *src,
                       yaml_node_t *at)
{
    if (src->type != YAML_MAPPING_NODE) {
        err_at(L, at, "'<<' merges a mapping (an alias such as *defaults), not %s",
               node_type_name(src));
        return;
    }
    for (yaml_node_pair_t *p = src->data.mapping.pairs.start; p < src->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
        if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), "<<") != 0)
            pairs_add_new(ps, keys, k, v);
    }
}

/* Collects a mapping's pairs: keys must be scalars and unique; '<<' merge keys (YAML 1.1) pull
 * in the keys of the merged mappings that are not set explicitly. Returns -1 if n is no mapping. */
int get_pairs(struct loader *L, yaml_node_t *n, const char *what, struct pairs *ps)
{
    ps->p = NULL;
    ps->n = ps->cap = 0;
    if (n->type != YAML_MAPPING_NODE) {
        err_at(L, n, "%s must be a mapping (key: value lines), not %s", what, node_type_name(n));
        return -1;
    }
    /* the keys so far, so that a mapping of thousands (roles, env) is read in linear time */
    strmap keys = {0};
    yaml_node_t *merge = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            err_at(L, k, "keys in %s must be plain names", what);
            continue;
        }
        if (!strcmp(sval(k), "<<")) {
            merge = v;
            continue;
        }
        if (!pairs_add_new(ps, &keys, k, v)) {
            size_t first = 0;
            strmap_get(&keys, sval(k), &first);
            err_at(L, k, "duplicate key '%s' in %s (first set on line %d)", sval(k), what,
                   (int)ps->p[first].k->start_mark.line + 1);
        }
    }
    if (merge) {
        if (merge->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = merge->data.sequence.items.start;
                 it < merge->data.sequence.items.top; it++)
                merge_from(L, ps, &keys, node_at(L, *it), merge);
        } else {
            merge_from(L, ps, &keys, merge, merge);
        }
    }
    strmap_free(&keys);
    return 0;
}

/* The error for a key that t does not have, with the nearest of its keys when one is close. On a
 * tie the key listed first in the table wins. */
static void unknown_key(struct loader *L, yaml_node_t *k, const struct key_table *t)
{
    const char *key = sval(k);
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < t->n; i++) {
        const char *known = t->keys[i].name;
        int cap = (int)strlen(known) / 3 + 1;
        if (cap > 3) cap = 3;
        int d = str_distance(key, known, cap);
        if (d <= cap && d < bestd) {
            bestd = d;
            best = known;
        }
    }
    const char *where = t->where ? t->where : t->what;
    if (best)
        err_at(L, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where, best);
    else
        err_at(L, k, "unknown key '%s' in %s", key, where);
}

bool is_extension_key(const char *key)
{
    return key[0] == 'x' && key[1] == '-';
}

static const struct key_def *key_find(const struct key_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->keys[i].name, name)) return &t->keys[i];
    return NULL;
}

/* "a, b or c": the table's KEY_ONE_OF keys, for "ready needs one of ...". */
static void one_of_list(const struct key_table *t, sbuf *out)
{
    size_t count = 0, total = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->keys[i].flags & KEY_ONE_OF) total++;
    for (size_t i = 0; i < t->n; i++) {
        if (!(t->keys[i].flags & KEY_ONE_OF)) continue;
        sbuf_printf(out, "%s%s", list_sep(count++, total), t->keys[i].name);
    }
}

/* A key runs in one of three phases: KEY_FIRST keys before the others (env_file, whose variables
 * the other values see), then the rest in the order written, then KEY_LAST keys. */
static int phase_of(const struct key_def *k)
{
    return (k->flags & KEY_FIRST) ? 0 : (k->flags & KEY_LAST) ? 2 : 1;
}

int walk_mapping(struct loader *L, const struct key_table *t, yaml_node_t *n, void *base)
{
    if (t->null_ok && is_null(n)) return 0;
    struct walk w = {.L = L, .t = t, .map = n, .base = base};
    /* A table longer than the walk's record of its keys is a programmer's error. */
    if (t->n > ARRAY_SIZE(w.seen)) abort();
    struct pairs ps;
    if (get_pairs(L, n, t->what, &ps) < 0) return -1;
    int rc = 0;
    yaml_node_t *one_of = NULL; /* the key of the KEY_ONE_OF key given */
    for (int phase = 0; phase < 3; phase++) {
        for (size_t i = 0; i < ps.n; i++) {
            const char *key = ps.p[i].key;
            if (t->extensions && is_extension_key(key)) continue;
            const struct key_def *k = key_find(t, key);
            if (!k) {
                if (phase == 1) unknown_key(L, ps.p[i].k, t);
                continue;
            }
            if (phase_of(k) != phase) continue;
            if (k->flags & KEY_ONE_OF) {
                if (one_of) {
                    err_at(L, ps.p[i].k, "%s takes one %s, but has both '%s' and '%s'", t->what,
                           t->one_of, sval(one_of), key);
                    continue;
                }
                one_of = ps.p[i].k;
            }
            size_t idx = (size_t)(k - t->keys);
            w.seen[idx] = ps.p[i].v;
            if (k->parse(&w, k, ps.p[i].v) == 0)
                w.ok[idx] = true;
            else
                rc = -1;
        }
    }
    if (t->one_of && !one_of && ps.n > 0) {
        sbuf list;
        sbuf_init(&list);
        one_of_list(t, &list);
        err_at(L, n, "%s needs one of %s", t->what, list.data);
        sbuf_free(&list);
    }
    if (t->done) t->done(&w);
    free(ps.p);
    return rc;
}

yaml_node_t *walk_seen(const struct walk *w, const char *name)
{
    const struct key_def *k = key_find(w->t, name);
    return k ? w->seen[k - w->t->keys] : NULL;
}

bool walk_ok(const struct walk *w, const char *name)
{
    const struct key_def *k = key_find(w->t, name);
    return k && w->ok[k - w->t->keys];
}

void items_of(struct loader *L, yaml_node_t *n, struct items *it)
{
    if (n->type == YAML_SEQUENCE_NODE) {
        it->start = n->data.sequence.items.start;
        it->top = n->data.sequence.items.top;
    } else {
        it->one = (yaml_node_item_t)(n - L->doc.nodes.start) + 1;
        it->start = &it->one;
        it->top = &it->one + 1;
    }
}

char *resolve_path(struct loader *L, const char *p)
{
    if (p[0] == '/' || !L->cfg->dir) return xstrdup(p);
    return xasprintf("%s/%s", L->cfg->dir, p);
}

/* ---- the document, read from libyaml's events with limits ----
 * yaml_parser_load would build the same tree, but with no bound on nesting (its scanner takes
 * time quadratic in the depth of [[[...]]]: 40,000 levels took seconds) and none on aliases, whose
 * every use the walk reads again. Building the tree here stops at CONFIG_MAX_DEPTH, and counts
 * what each alias stands for: a node's expanded size is itself plus its children's, an alias's the
 * size of the node it names, and the sum over a document's aliases is what reading it through
 * would cost beyond its written nodes. */

/* A collection being built: its node, and for a mapping the key waiting for its value. */
struct open_node {
    int id;
    int key; /* 0: none */
};

struct builder {
    struct loader *L;
    struct open_node open[CONFIG_MAX_DEPTH];
    int depth;
    size_t *size; /* expanded size of each node, by id - 1 */
    size_t capsize;
    strmap anchors; /* name -> node id; names owned by anchor_names */
    strvec anchor_names;
    size_t alias_nodes; /* the sum over aliases so far */
    bool failed;        /* an error was added */
};

static void build_error(struct builder *b, yaml_mark_t m, const char *fmt, ...) ROSTER_PRINTF(3, 4);
static void build_error(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_vadd(b->L->d, (src_pos){b->L->file, (int)m.line + 1, (int)m.column + 1}, fmt, ap);
    va_end(ap);
    b->failed = true;
}

/* Adds node id (new, or named by an alias) under the innermost open collection, or as the
 * root. Its size is counted into its parent's. */
static void attach(struct builder *b, int id)
{
    if (b->depth == 0) return;
    struct open_node *o = &b->open[b->depth - 1];
    b->size[o->id - 1] += b->size[id - 1];
    yaml_node_t *parent = yaml_document_get_node(&b->L->doc, o->id);
    if (parent->type == YAML_SEQUENCE_NODE) {
        yaml_document_append_sequence_item(&b->L->doc, o->id, id);
    } else if (!o->key) {
        o->key = id;
    } else {
        yaml_document_append_mapping_pair(&b->L->doc, o->id, o->key, id);
        o->key = 0;
    }
}

/* Records a node just added to the document: its place in the text, its anchor, size 1. */
static void added(struct builder *b, int id, const yaml_event_t *ev, const yaml_char_t *anchor)
{
    yaml_node_t *n = yaml_document_get_node(&b->L->doc, id);
    n->start_mark = ev->start_mark;
    n->end_mark = ev->end_mark;
    if ((size_t)id > b->capsize) {
        b->capsize = b->capsize ? b->capsize * 2 : 256;
        b->size = xrealloc(b->size, b->capsize * sizeof *b->size);
    }
    b->size[id - 1] = 1;
    if (anchor) {
        char *name = xstrdup((const char *)anchor);
        strvec_push(&b->anchor_names, name);
        strmap_put(&b->anchors, name, (size_t)id);
    }
}

static void alias(struct builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    size_t id;
    if (!strmap_get(&b->anchors, name, &id)) {
        build_error(b, ev->start_mark, "YAML syntax error: found undefined alias");
        return;
    }
    for (int i = 0; i < b->depth; i++) {
        if (b->open[i].id == (int)id) {
            build_error(b, ev->start_mark, "alias *%s is inside the node it names", name);
            return;
        }
    }
    b->alias_nodes += b->size[id - 1];
    if (b->alias_nodes > CONFIG_MAX_ALIAS_NODES) {
        build_error(b, ev->start_mark,
                    "alias *%s takes the config's aliases past %d nodes, roster's limit (a "
                    "config that repeats this much is likely an alias bomb)",
                    name, CONFIG_MAX_ALIAS_NODES);
        return;
    }
    attach(b, (int)id);
}

/* Opens a sequence or mapping node (id), or fails past the depth limit. */
static void open_collection(struct builder *b, int id, const yaml_event_t *ev,
                            const yaml_char_t *anchor)
{
    if (b->depth == CONFIG_MAX_DEPTH) {
        build_error(b, ev->start_mark,
                    "lists and mappings nest deeper than %d levels, roster's limit",
                    CONFIG_MAX_DEPTH);
        return;
    }
    added(b, id, ev, anchor);
    b->open[b->depth++] = (struct open_node){.id = id};
}

static void close_collection(struct builder *b, const yaml_event_t *ev)
{
    int id = b->open[--b->depth].id;
    yaml_document_get_node(&b->L->doc, id)->end_mark = ev->end_mark;
    attach(b, id);
}

/* Reads the first document of the stream into L->doc. Returns 0, or -1 with an error added (a
 * syntax error's, or a limit's). L->doc is initialized either way. */
static int load_document(struct loader *L, yaml_parser_t *parser)
{
    struct builder b = {.L = L};
    yaml_document_initialize(&L->doc, NULL, NULL, NULL, 1, 1);
    bool done = false;
    while (!done && !b.failed) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev)) {
            src_pos p = {L->file, (int)parser->problem_mark.line + 1,
                         (int)parser->problem_mark.column + 1};
            if (parser->context)
                diags_add(L->d, p, "YAML syntax error: %s %s", parser->problem, parser->context);
            else
                diags_add(L->d, p, "YAML syntax error: %s",
                          parser->problem ? parser->problem : "unknown");
            b.failed = true;
            break;
        }
        int id = 0;
        switch (ev.type) {
        case YAML_DOCUMENT_END_EVENT:
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_ALIAS_EVENT: alias(&b, &ev); break;
        case YAML_SCALAR_EVENT:
            id = yaml_document_add_scalar(&L->doc, NULL, ev.data.scalar.value,
                                          (int)ev.data.scalar.length, ev.data.scalar.style);
            /* libyaml refuses a value that is not UTF-8 (its reader has checked the text) */
            if (!id) {
                build_error(&b, ev.start_mark, "YAML syntax error: a value that is not UTF-8");
                break;
            }
            added(&b, id, &ev, ev.data.scalar.anchor);
            attach(&b, id);
            break;
        /* adding a list or mapping fails only without memory, which xmalloc aborts on too */
        case YAML_SEQUENCE_START_EVENT:
            id = yaml_document_add_sequence(&L->doc, NULL, ev.data.sequence_start.style);
            if (!id) abort();
            open_collection(&b, id, &ev, ev.data.sequence_start.anchor);
            break;
        case YAML_MAPPING_START_EVENT:
            id = yaml_document_add_mapping(&L->doc, NULL, ev.data.mapping_start.style);
            if (!id) abort();
            open_collection(&b, id, &ev, ev.data.mapping_start.anchor);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: close_collection(&b, &ev); break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    free(b.size);
    strmap_free(&b.anchors);
    strvec_free(&b.anchor_names);
    return b.failed ? -1 : 0;
}

int config_load_yaml(const char *path, const char *text, size_t len, const envmap *vars,
                     struct roster_config *cfg, diags *d)
{
    size_t before = diags_count(d);
    struct loader L = {.file = cfg->path, .d = d, .cfg = cfg};
    (void)path;
    envmap_copy(&L.vars, vars);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (load_document(&L, &parser) < 0) {
        cfg->socket_unsure = true;
        yaml_document_delete(&L.doc);
        yaml_parser_delete(&parser);
        envmap_free(&L.vars);
        return -1;
    }
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    if (!root || is_null(root) || root->type != YAML_MAPPING_NODE) cfg->socket_unsure = true;
    if (!root || is_null(root)) {
        diags_add(d, (src_pos){cfg->path, 0, 0},
                  "the config is empty (expected app:, roles: and the rest)");
    } else if (root->type != YAML_MAPPING_NODE) {
        err_at(&L, root, "the config must be a mapping of keys (app:, roles: ...), not %s",
               node_type_name(root));
    } else {
        walk_mapping(&L, &top_table, root, cfg);
    }
    yaml_document_delete(&L.doc);
    yaml_parser_delete(&parser);
    envmap_free(&L.vars);
    config_finish_roles(cfg);
    config_check_copies(cfg, d);
    return diags_count(d) > before ? -1 : 0;
}
