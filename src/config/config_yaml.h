/* config_yaml.h — what the YAML document walk (config_yaml.c) and the key tables
 * (config_keys.c) share; nothing outside those two files includes it.
 *
 * Each mapping of a roster.yaml is described by a key table, as nginx describes a module's
 * directives with ngx_command_t: every key has a name, a parser and the offset of the field it
 * fills. walk_mapping() reads a mapping through its table; the unknown-key error and its "did you
 * mean" come from the same table, so a key cannot be known to the parser and missing from the
 * suggestions, or the other way round. */
#ifndef ROSTER_CONFIG_YAML_H
#define ROSTER_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "config/config.h"

struct loader {
    const char *file;
    yaml_document_t doc;
    diags *d;
    envmap vars; /* what ${VAR} sees: the environment, then env files */
    struct roster_config *cfg;
};

struct key_def;
struct key_table;

/* One mapping being read: the parsers of its keys see the loader, the table and the struct that
 * the mapping fills. */
struct walk {
    struct loader *L;
    const struct key_table *t;
    yaml_node_t *map;
    void *base;
    yaml_node_t *seen[48]; /* the value of each table key present, by table index */
    bool ok[48];           /* whether that key's parser accepted its value */
};

/* Reads one key's value into the struct; returns 0, or -1 after adding an error. */
typedef int (*key_parser)(struct walk *w, const struct key_def *k, yaml_node_t *v);

enum key_flags {
    KEY_FIRST = 1 << 0,  /* read before the mapping's other keys */
    KEY_LAST = 1 << 1,   /* read after them */
    KEY_ONE_OF = 1 << 2, /* exactly one of the table's KEY_ONE_OF keys may be given */
};

/* Names a value may take, in the order errors list them. */
struct choices {
    const char *const *names;
    const int *values; /* each name's value; NULL: its index */
    size_t n;
    /* The choice a YAML boolean stands for (e.g. restart: false is never); NULL: not accepted. */
    const char *if_true, *if_false;
};

struct key_def {
    const char *name; /* the key as written */
    key_parser parse;
    size_t offset;    /* of the field it fills, in the struct the mapping fills */
    const char *what; /* the key's name in messages; NULL: name */
    long min, max;    /* a number's range; a duration's minimum in ms (0: none) */
    int value;        /* a constant for the parser (e.g. the probe kind a key selects) */
    const struct choices *choices;
    const struct key_table *table; /* a nested mapping's keys */
    unsigned flags;
};

struct key_table {
    const char *what;  /* the mapping's name in messages ("a role", "backoff") */
    const char *where; /* its name in unknown-key errors; NULL: what */
    const struct key_def *keys;
    size_t n;
    bool null_ok;       /* an empty value (health: ~) is no mapping and no error */
    bool extensions;    /* x-anything keys are ignored, as docker compose does */
    const char *one_of; /* what a KEY_ONE_OF key is ("check"), for the errors */
    /* Runs after the keys when the node is a mapping: checks that span keys, and fields that
     * say the mapping was given. */
    void (*done)(struct walk *w);
};

/* A table's name and keys; the rest of it is designated. */
#define KEYS(what_, keys_) .what = (what_), .keys = (keys_), .n = ARRAY_SIZE(keys_)

/* The field a key fills, as a pointer of the given type. */
#define FIELD(w, k, type) ((type *)((char *)(w)->base + (k)->offset))

/* Reads mapping n through table t into the struct at base. Returns 0, or -1 when n is no
 * mapping or a key's parser failed (unknown keys are errors but do not fail the walk). */
int walk_mapping(struct loader *L, const struct key_table *t, yaml_node_t *n, void *base);
/* The value node of a table key present in the walk, and whether its parser accepted it. */
yaml_node_t *walk_seen(const struct walk *w, const char *name);
bool walk_ok(const struct walk *w, const char *name);

/* The parts of a YAML document. */
src_pos pos_of(const struct loader *L, const yaml_node_t *n);
yaml_node_t *node_at(struct loader *L, int id);
const char *node_type_name(const yaml_node_t *n);
const char *sval(const yaml_node_t *n);
bool is_null(const yaml_node_t *n);
void err_at(struct loader *L, const yaml_node_t *n, const char *fmt, ...) ROSTER_PRINTF(3, 4);

/* Scalars, read with ${VAR} expanded; each returns -1 (or NULL) after adding an error. */
char *get_str(struct loader *L, yaml_node_t *n, const char *what); /* caller frees */
bool parse_bool_text(const char *s, bool *out);
int get_bool(struct loader *L, yaml_node_t *n, const char *what, bool *out);
int get_int(struct loader *L, yaml_node_t *n, const char *what, long min, long max, int *out);
int get_duration(struct loader *L, yaml_node_t *n, const char *what, uint64_t *out);
int get_size(struct loader *L, yaml_node_t *n, const char *what, uint64_t *out);
/* Matches a value against names; returns its index, or -1 after an error listing them. */
int get_enum(struct loader *L, yaml_node_t *n, const char *what, const char *const *names,
             size_t count);

/* A mapping's pairs: keys are scalars and unique; '<<' merge keys pull in the keys of the merged
 * mappings that are not set explicitly. */
struct kvpair {
    yaml_node_t *k, *v;
    const char *key;
};
struct pairs {
    struct kvpair *p;
    size_t n, cap;
};
/* Returns -1 after an error if n is no mapping; on 0 the caller frees ps->p. */
int get_pairs(struct loader *L, yaml_node_t *n, const char *what, struct pairs *ps);

/* The items of a sequence, or the node itself as a list of one. */
struct items {
    yaml_node_item_t one;
    yaml_node_item_t *start, *top;
};
void items_of(struct loader *L, yaml_node_t *n, struct items *it);

/* Extension keys (x-anything) are ignored, as docker compose does, so anchors can live there. */
bool is_extension_key(const char *key);

/* A path as written, made absolute against the config's directory. Caller frees. */
char *resolve_path(struct loader *L, const char *p);

/* The root mapping's table; config_keys.c defines it. */
extern const struct key_table top_table;

#endif
