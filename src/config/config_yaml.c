/* config_yaml.c — turns a roster.yaml into a struct roster_config.
 *
 * libyaml's document API gives a node tree whose every node carries its line and column, so each
 * error names the exact place. Values are interpolated (${VAR}) before their type is checked,
 * keys never are. The loader keeps going after an error so one run reports every mistake. */
#include <ctype.h>
#include <regex.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/config.h"
#include "config/dotenv.h"
#include "config/interp.h"
#include "base/units.h"

struct loader {
    const char *file;
    yaml_document_t doc;
    diags *d;
    envmap vars; /* what ${VAR} sees: the environment, then env files */
    struct roster_config *cfg;
};

struct kvpair {
    yaml_node_t *k, *v;
    const char *key;
};

struct pairs {
    struct kvpair *p;
    size_t n, cap;
};

static src_pos pos_of(const struct loader *L, const yaml_node_t *n)
{
    src_pos p = {L->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
    return p;
}

static yaml_node_t *node_at(struct loader *L, int id)
{
    return yaml_document_get_node(&L->doc, id);
}

static const char *node_type_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "empty";
    }
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE) return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = sval(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static void err_at(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
    ROSTER_PRINTF(3, 4);
static void err_at(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
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
static char *get_str(struct loader *L, yaml_node_t *n, const char *what)
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

/* A scalar kept as written, ${VAR} unexpanded, with where its text starts (for errors that
 * plan.c finds in it later). NULL (and an error) when it is not a value. Caller frees. */
static char *get_template(struct loader *L, yaml_node_t *n, const char *what, src_pos *pos,
                          int *col)
{
    if (n->type != YAML_SCALAR_NODE || is_null(n)) return get_str(L, n, what);
    *pos = pos_of(L, n);
    *col = 0;
    if (!strchr(sval(n), '\n'))
        *col = pos->col + (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                           n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    return xstrdup(sval(n));
}

static bool parse_bool_text(const char *s, bool *out)
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

static int get_bool(struct loader *L, yaml_node_t *n, const char *what, bool *out)
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

static int get_int(struct loader *L, yaml_node_t *n, const char *what, long min, long max, int *out)
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

static int get_duration(struct loader *L, yaml_node_t *n, const char *what, uint64_t *out)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    const char *why;
    int rc = units_parse_duration(s, out, &why);
    if (rc < 0) err_at(L, n, "%s: %s, not '%s'", what, why, s);
    free(s);
    return rc;
}

static int get_size(struct loader *L, yaml_node_t *n, const char *what, uint64_t *out)
{
    char *s = get_str(L, n, what);
    if (!s) return -1;
    const char *why;
    int rc = units_parse_size(s, out, &why);
    if (rc < 0) err_at(L, n, "%s: %s, not '%s'", what, why, s);
    free(s);
    return rc;
}

/* Matches a value against names; returns its index, or -1 after an error listing them. */
static int get_enum(struct loader *L, yaml_node_t *n, const char *what, const char *const *names,
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
        sbuf_printf(&list, "%s%s", i ? (i + 1 == count ? " or " : ", ") : "", names[i]);
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

static bool pairs_has(const struct pairs *ps, const char *key)
{
    for (size_t i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].key, key)) return true;
    return false;
}

static void merge_from(struct loader *L, struct pairs *ps, yaml_node_t *src, yaml_node_t *at)
{
    if (src->type != YAML_MAPPING_NODE) {
        err_at(L, at, "'<<' merges a mapping (an alias such as *defaults), not %s",
               node_type_name(src));
        return;
    }
    for (yaml_node_pair_t *p = src->data.mapping.pairs.start; p < src->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
        if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), "<<") != 0 && !pairs_has(ps, sval(k)))
            pairs_push(ps, k, v);
    }
}

/* Collects a mapping's pairs: keys must be scalars and unique; '<<' merge keys (YAML 1.1) pull
 * in the keys of the merged mappings that are not set explicitly. Returns -1 if n is no mapping. */
static int get_pairs(struct loader *L, yaml_node_t *n, const char *what, struct pairs *ps)
{
    ps->p = NULL;
    ps->n = ps->cap = 0;
    if (n->type != YAML_MAPPING_NODE) {
        err_at(L, n, "%s must be a mapping (key: value lines), not %s", what, node_type_name(n));
        return -1;
    }
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
        bool dup = false;
        for (size_t i = 0; i < ps->n; i++) {
            if (!strcmp(ps->p[i].key, sval(k))) {
                err_at(L, k, "duplicate key '%s' in %s (first set on line %d)", sval(k), what,
                       (int)ps->p[i].k->start_mark.line + 1);
                dup = true;
                break;
            }
        }
        if (!dup) pairs_push(ps, k, v);
    }
    if (merge) {
        if (merge->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = merge->data.sequence.items.start;
                 it < merge->data.sequence.items.top; it++)
                merge_from(L, ps, node_at(L, *it), merge);
        } else {
            merge_from(L, ps, merge, merge);
        }
    }
    return 0;
}

static void unknown_key(struct loader *L, yaml_node_t *k, const char *where,
                        const char *const *known, size_t count)
{
    const char *key = sval(k);
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < count; i++) {
        int cap = (int)strlen(known[i]) / 3 + 1;
        if (cap > 3) cap = 3;
        int d = str_distance(key, known[i], cap);
        if (d <= cap && d < bestd) {
            bestd = d;
            best = known[i];
        }
    }
    if (best)
        err_at(L, k, "unknown key '%s' in %s (did you mean '%s'?)", key, where, best);
    else
        err_at(L, k, "unknown key '%s' in %s", key, where);
}

/* Extension keys (x-anything) are ignored, as docker compose does, so anchors can live there. */
static bool is_extension(const char *key)
{
    return key[0] == 'x' && key[1] == '-';
}

/* env: a mapping of NAME: value, or a list of "NAME=value" strings. */
static void parse_env(struct loader *L, yaml_node_t *n, const char *what, envmap *out)
{
    if (is_null(n)) return;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            yaml_node_t *item = node_at(L, *it);
            char *s = get_str(L, item, what);
            if (!s) continue;
            char *eq = strchr(s, '=');
            if (!eq || eq == s) {
                err_at(L, item, "%s entries must look like NAME=value, not '%s'", what, s);
            } else {
                *eq = '\0';
                envmap_set(out, s, eq + 1);
            }
            free(s);
        }
        return;
    }
    struct pairs ps;
    if (get_pairs(L, n, what, &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        const char *key = ps.p[i].key;
        bool ok = isalpha((unsigned char)key[0]) || key[0] == '_';
        for (const char *c = key; *c && ok; c++)
            ok = isalnum((unsigned char)*c) || *c == '_' || *c == '.';
        if (!ok) {
            err_at(L, ps.p[i].k, "'%s' is not a valid environment variable name", key);
            continue;
        }
        if (is_null(ps.p[i].v)) {
            envmap_set(out, key, "");
            continue;
        }
        char *v = get_str(L, ps.p[i].v, key);
        if (v) envmap_set(out, key, v);
        free(v);
    }
    free(ps.p);
}

static char *resolve_path(struct loader *L, const char *p)
{
    if (p[0] == '/' || !L->cfg->dir) return xstrdup(p);
    return xasprintf("%s/%s", L->cfg->dir, p);
}

/* Reads one env file into out (later lines win). A missing optional file is skipped. */
static void load_env_file(struct loader *L, yaml_node_t *at, const char *path, bool required,
                          envmap *out)
{
    char *full = resolve_path(L, path);
    struct dotenv_error de;
    envmap tmp = {0};
    int rc = dotenv_load(full, &tmp, &de);
    if (rc == -1) {
        diags_add(L->d, (src_pos){full, de.line, de.col}, "%s", de.msg);
    } else if (rc < 0 && (required || rc != -ENOENT)) {
        err_at(L, at, "env_file: cannot read '%s': %s", full, strerror(-rc));
    } else if (rc == 0) {
        envmap_merge(out, &tmp);
    }
    envmap_free(&tmp);
    free(full);
}

/* env_file: a path, a list of paths, or list items {path: P, required: false}. */
static void parse_env_files(struct loader *L, yaml_node_t *n, strvec *paths, envmap *out)
{
    if (is_null(n)) return;
    yaml_node_item_t one = 0;
    yaml_node_item_t *start, *top;
    if (n->type == YAML_SEQUENCE_NODE) {
        start = n->data.sequence.items.start;
        top = n->data.sequence.items.top;
    } else {
        one = (yaml_node_item_t)(n - L->doc.nodes.start) + 1;
        start = &one;
        top = &one + 1;
    }
    for (yaml_node_item_t *it = start; it < top; it++) {
        yaml_node_t *item = node_at(L, *it);
        bool required = true;
        char *path = NULL;
        yaml_node_t *at = item;
        if (item->type == YAML_MAPPING_NODE) {
            struct pairs ps;
            if (get_pairs(L, item, "env_file", &ps) < 0) continue;
            static const char *const known[] = {"path", "required"};
            for (size_t i = 0; i < ps.n; i++) {
                if (!strcmp(ps.p[i].key, "path")) {
                    free(path);
                    path = get_str(L, ps.p[i].v, "env_file path");
                    at = ps.p[i].v;
                } else if (!strcmp(ps.p[i].key, "required")) {
                    get_bool(L, ps.p[i].v, "required", &required);
                } else {
                    unknown_key(L, ps.p[i].k, "env_file", known, ARRAY_SIZE(known));
                }
            }
            free(ps.p);
            if (!path) {
                err_at(L, item, "env_file entry needs a path");
                continue;
            }
        } else {
            path = get_str(L, item, "env_file");
            if (!path) continue;
        }
        strvec_pushdup(paths, path);
        load_env_file(L, at, path, required, out);
        free(path);
    }
}

static int parse_signal(struct loader *L, yaml_node_t *n, int *out)
{
    char *s = get_str(L, n, "stop.signal");
    if (!s) return -1;
    int sig = signal_from_name(s);
    if (sig <= 0 || sig == SIGSTOP || sig == SIGCHLD) {
        err_at(L, n, "stop.signal: unknown signal '%s' (e.g. TERM, INT, QUIT, HUP, USR1, KILL)", s);
        free(s);
        return -1;
    }
    free(s);
    *out = sig;
    return 0;
}

static void parse_command(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    r->command_pos = pos_of(L, n);
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            char *s = get_str(L, node_at(L, *it), "command");
            if (s) strvec_push(&r->argv, s);
        }
        if (r->argv.n == 0) err_at(L, n, "command must not be an empty list");
        return;
    }
    char *s = get_str(L, n, "command");
    if (!s) return;
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p) {
        err_at(L, n, "command must not be empty");
        free(s);
        return;
    }
    r->shell = s;
}

static void parse_deps(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const conds[] = {"started", "ready", "completed"};
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        r->deps = xcalloc(count, sizeof *r->deps);
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            yaml_node_t *item = node_at(L, *it);
            char *name = get_str(L, item, "depends_on entry");
            if (!name) continue;
            r->deps[r->ndeps].role = name;
            r->deps[r->ndeps].cond = DEP_STARTED;
            r->deps[r->ndeps].pos = pos_of(L, item);
            r->ndeps++;
        }
        return;
    }
    struct pairs ps;
    if (get_pairs(L, n, "depends_on", &ps) < 0) return;
    r->deps = xcalloc(ps.n, sizeof *r->deps);
    for (size_t i = 0; i < ps.n; i++) {
        int c = DEP_STARTED;
        yaml_node_t *v = ps.p[i].v;
        if (v->type == YAML_MAPPING_NODE) {
            /* docker compose's long form: {condition: ...} */
            struct pairs cps;
            if (get_pairs(L, v, "depends_on entry", &cps) < 0) continue;
            static const char *const known[] = {"condition"};
            for (size_t j = 0; j < cps.n; j++) {
                if (!strcmp(cps.p[j].key, "condition"))
                    c = get_enum(L, cps.p[j].v, "depends_on condition", conds, 3);
                else
                    unknown_key(L, cps.p[j].k, "depends_on entry", known, 1);
            }
            free(cps.p);
        } else if (!is_null(v)) {
            c = get_enum(L, v, "depends_on condition", conds, 3);
        }
        if (c < 0) continue;
        r->deps[r->ndeps].role = xstrdup(ps.p[i].key);
        r->deps[r->ndeps].cond = (enum dep_cond)c;
        r->deps[r->ndeps].pos = pos_of(L, ps.p[i].k);
        r->ndeps++;
    }
    free(ps.p);
}

static void parse_backoff(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const known[] = {"initial", "max", "reset_after"};
    struct pairs ps;
    if (get_pairs(L, n, "backoff", &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (!strcmp(k, "initial"))
            get_duration(L, v, "backoff.initial", &r->backoff_initial_ms);
        else if (!strcmp(k, "max"))
            get_duration(L, v, "backoff.max", &r->backoff_max_ms);
        else if (!strcmp(k, "reset_after"))
            get_duration(L, v, "backoff.reset_after", &r->backoff_reset_ms);
        else
            unknown_key(L, ps.p[i].k, "backoff", known, ARRAY_SIZE(known));
    }
    if (r->backoff_initial_ms > r->backoff_max_ms)
        err_at(L, n, "backoff.initial must not exceed backoff.max");
    free(ps.p);
}

static void parse_give_up(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const known[] = {"after", "within", "then"};
    static const char *const thens[] = {"exit", "stay"};
    struct pairs ps;
    if (get_pairs(L, n, "give_up", &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (!strcmp(k, "after")) {
            get_int(L, v, "give_up.after", 0, 1000000, &r->give_up_after);
        } else if (!strcmp(k, "within")) {
            get_duration(L, v, "give_up.within", &r->give_up_within_ms);
        } else if (!strcmp(k, "then")) {
            int t = get_enum(L, v, "give_up.then", thens, 2);
            if (t >= 0) r->give_up_then = (enum give_up_then)t;
        } else {
            unknown_key(L, ps.p[i].k, "give_up", known, ARRAY_SIZE(known));
        }
    }
    free(ps.p);
}

static void parse_stop(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const known[] = {"signal", "timeout"};
    struct pairs ps;
    if (get_pairs(L, n, "stop", &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        if (!strcmp(k, "signal"))
            parse_signal(L, ps.p[i].v, &r->stop_signal);
        else if (!strcmp(k, "timeout"))
            get_duration(L, ps.p[i].v, "stop.timeout", &r->stop_timeout_ms);
        else
            unknown_key(L, ps.p[i].k, "stop", known, ARRAY_SIZE(known));
    }
    free(ps.p);
}

/* A log probe's pattern must compile as POSIX extended, as the probe will use it. */
static int check_regex(const char *re, char *err, size_t errlen)
{
    regex_t r;
    int rc = regcomp(&r, re, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &r, err, errlen);
        return -1;
    }
    regfree(&r);
    return 0;
}

/* ready: {http|tcp|exec|log|notify, every, timeout}; live: {http|tcp|exec|watchdog, every,
 * timeout, failures}. Exactly one kind per probe. */
static void parse_probe(struct loader *L, struct probe_config *pc, yaml_node_t *n, bool live)
{
    static const char *const ready_known[] = {"http",   "tcp",   "exec",    "log",
                                              "notify", "every", "timeout", "attempt_timeout"};
    static const char *const live_known[] = {"http",  "tcp",     "exec",    "watchdog",
                                             "every", "timeout", "failures"};
    const char *what = live ? "live" : "ready";
    struct pairs ps;
    pc->pos = pos_of(L, n);
    if (get_pairs(L, n, what, &ps) < 0) return;
    yaml_node_t *kind_key = NULL;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        enum probe_kind kind = PROBE_NONE;
        if (!strcmp(k, "http"))
            kind = PROBE_HTTP;
        else if (!strcmp(k, "tcp"))
            kind = PROBE_TCP;
        else if (!strcmp(k, "exec"))
            kind = PROBE_EXEC;
        else if (!strcmp(k, "log") && !live)
            kind = PROBE_LOG;
        else if (!strcmp(k, "notify") && !live)
            kind = PROBE_NOTIFY;
        else if (!strcmp(k, "watchdog") && live)
            kind = PROBE_NOTIFY;

        if (kind != PROBE_NONE) {
            if (kind_key) {
                err_at(L, ps.p[i].k, "%s takes one check, but has both '%s' and '%s'", what,
                       sval(kind_key), k);
                continue;
            }
            kind_key = ps.p[i].k;
            pc->kind = kind;
            if (!strcmp(k, "notify")) {
                bool on = false;
                if (get_bool(L, v, "ready.notify", &on) == 0 && !on) pc->kind = PROBE_NONE;
            } else if (!strcmp(k, "watchdog")) {
                get_duration(L, v, "live.watchdog", &pc->watchdog_ms);
                if (pc->watchdog_ms == 0) err_at(L, v, "live.watchdog must be more than 0s");
            } else if (kind == PROBE_HTTP || kind == PROBE_TCP) {
                /* expanded and checked per copy by plan.c: ${PORT} is each copy's port */
                pc->target = get_template(L, v, k, &pc->target_pos, &pc->target_col);
            } else {
                char *s = get_str(L, v, k);
                char rerr[160];
                if (s && kind == PROBE_LOG && check_regex(s, rerr, sizeof rerr) < 0) {
                    err_at(L, v, "%s.log: invalid regular expression '%s': %s", what, s, rerr);
                }
                pc->target = s;
            }
        } else if (!strcmp(k, "every")) {
            get_duration(L, v, "every", &pc->every_ms);
            if (pc->every_ms == 0) err_at(L, v, "every must be more than 0s");
        } else if (!strcmp(k, "timeout")) {
            get_duration(L, v, "timeout", &pc->timeout_ms);
        } else if (!strcmp(k, "attempt_timeout") && !live) {
            get_duration(L, v, "attempt_timeout", &pc->attempt_timeout_ms);
        } else if (!strcmp(k, "failures") && live) {
            get_int(L, v, "failures", 1, 1000, &pc->failures);
        } else if (live) {
            unknown_key(L, ps.p[i].k, what, live_known, ARRAY_SIZE(live_known));
        } else {
            unknown_key(L, ps.p[i].k, what, ready_known, ARRAY_SIZE(ready_known));
        }
    }
    if (!kind_key && ps.n > 0)
        err_at(L, n,
               live ? "live needs one of http, tcp, exec or watchdog"
                    : "ready needs one of http, tcp, exec, log or notify");
    free(ps.p);
}

static void parse_role_pg(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const known[] = {"weight", "connections", "pool_env", "url_env",
                                        "url_param"};
    r->pg.pos = pos_of(L, n);
    if (n->type == YAML_SCALAR_NODE) {
        bool on;
        if (get_bool(L, n, "postgres", &on) == 0) {
            if (on)
                r->pg.mode = PGROLE_DEFAULT;
            else
                r->pg.mode = PGROLE_OFF;
        }
        return;
    }
    struct pairs ps;
    if (get_pairs(L, n, "postgres", &ps) < 0) return;
    yaml_node_t *weight = NULL, *fixed = NULL;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (!strcmp(k, "weight")) {
            if (get_int(L, v, "postgres.weight", 1, 1000, &r->pg.weight) == 0) weight = v;
        } else if (!strcmp(k, "connections")) {
            if (get_int(L, v, "postgres.connections", 1, 100000, &r->pg.connections) == 0)
                fixed = v;
        } else if (!strcmp(k, "pool_env")) {
            if (v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                    char *s = get_str(L, node_at(L, *it), "pool_env");
                    if (s) strvec_push(&r->pg.pool_env, s);
                }
            } else {
                char *s = get_str(L, v, "pool_env");
                if (s) strvec_push(&r->pg.pool_env, s);
            }
        } else if (!strcmp(k, "url_env")) {
            free(r->pg.url_env);
            r->pg.url_env = get_str(L, v, "postgres.url_env");
        } else if (!strcmp(k, "url_param")) {
            free(r->pg.url_param);
            r->pg.url_param = get_str(L, v, "postgres.url_param");
        } else {
            unknown_key(L, ps.p[i].k, "a role's postgres", known, ARRAY_SIZE(known));
        }
    }
    if (weight && fixed)
        err_at(L, fixed, "postgres takes either weight or connections, not both");
    else if (fixed)
        r->pg.mode = PGROLE_FIXED;
    else if (weight)
        r->pg.mode = PGROLE_WEIGHT;
    free(ps.p);
}

static void parse_wait_for(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const services[] = {"postgres", "redis"};
    if (n->type != YAML_SEQUENCE_NODE) {
        int s = get_enum(L, n, "wait_for", services, 2);
        if (s == 0) r->wait_postgres = true;
        if (s == 1) r->wait_redis = true;
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        int s = get_enum(L, node_at(L, *it), "wait_for", services, 2);
        if (s == 0) r->wait_postgres = true;
        if (s == 1) r->wait_redis = true;
    }
}

static const char *const role_keys[] = {
    "command",   "kind",       "cwd",      "user",    "env",      "env_file", "port",
    "instances", "depends_on", "restart",  "backoff", "give_up",  "stop",     "max_memory",
    "ready",     "live",       "postgres", "lock",    "wait_for",
};

static void parse_role(struct loader *L, struct role_config *r, yaml_node_t *n)
{
    static const char *const kinds[] = {"service", "oneshot"};
    static const char *const restarts[] = {"always", "on-failure", "never"};
    struct pairs ps;
    if (get_pairs(L, n, "a role", &ps) < 0) return;
    bool have_command = false;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (is_extension(k)) continue;
        if (!strcmp(k, "command")) {
            have_command = true;
            parse_command(L, r, v);
        } else if (!strcmp(k, "kind")) {
            int kk = get_enum(L, v, "kind", kinds, 2);
            if (kk >= 0) r->kind = (enum role_kind)kk;
        } else if (!strcmp(k, "cwd")) {
            free(r->cwd);
            char *s = get_str(L, v, "cwd");
            r->cwd = s ? resolve_path(L, s) : NULL;
            free(s);
        } else if (!strcmp(k, "user")) {
            free(r->user);
            r->user = get_str(L, v, "user");
            r->user_pos = pos_of(L, v);
            if (r->user && !*r->user) {
                /* user: ${RUN_AS:-} leaves it unset when the variable is empty */
                free(r->user);
                r->user = NULL;
            }
        } else if (!strcmp(k, "env")) {
            parse_env(L, v, "env", &r->env);
        } else if (!strcmp(k, "env_file")) {
            parse_env_files(L, v, &r->env_files, &r->file_env);
        } else if (!strcmp(k, "port")) {
            get_int(L, v, "port", 1, 65535, &r->port);
        } else if (!strcmp(k, "instances")) {
            get_int(L, v, "instances", 1, 1000, &r->instances);
        } else if (!strcmp(k, "depends_on")) {
            parse_deps(L, r, v);
        } else if (!strcmp(k, "restart")) {
            /* "no" and false read as never, as docker compose spells it */
            bool b;
            if (v->type == YAML_SCALAR_NODE && parse_bool_text(sval(v), &b) && !b) {
                r->restart = RESTART_NEVER;
            } else {
                int p = get_enum(L, v, "restart", restarts, 3);
                if (p == 0) r->restart = RESTART_ALWAYS;
                if (p == 1) r->restart = RESTART_ON_FAILURE;
                if (p == 2) r->restart = RESTART_NEVER;
            }
        } else if (!strcmp(k, "backoff")) {
            parse_backoff(L, r, v);
        } else if (!strcmp(k, "give_up")) {
            parse_give_up(L, r, v);
        } else if (!strcmp(k, "stop")) {
            parse_stop(L, r, v);
        } else if (!strcmp(k, "max_memory")) {
            get_size(L, v, "max_memory", &r->max_memory);
        } else if (!strcmp(k, "ready")) {
            parse_probe(L, &r->ready, v, false);
        } else if (!strcmp(k, "live")) {
            parse_probe(L, &r->live, v, true);
        } else if (!strcmp(k, "postgres")) {
            parse_role_pg(L, r, v);
        } else if (!strcmp(k, "lock")) {
            static const char *const locks[] = {"postgres"};
            if (get_enum(L, v, "lock", locks, 1) == 0) r->lock_postgres = true;
        } else if (!strcmp(k, "wait_for")) {
            parse_wait_for(L, r, v);
        } else {
            unknown_key(L, ps.p[i].k, "a role", role_keys, ARRAY_SIZE(role_keys));
        }
    }
    if (!have_command) diags_add(L->d, r->pos, "role '%s' needs a command", r->name);
    if (r->lock_postgres && r->kind != ROLE_ONESHOT)
        diags_add(L->d, r->pos, "role '%s': lock: postgres is for oneshot roles (kind: oneshot)",
                  r->name);
    if (r->kind == ROLE_ONESHOT && r->live.kind != PROBE_NONE)
        diags_add(L->d, r->live.pos, "role '%s': a oneshot cannot have a liveness check", r->name);
    free(ps.p);
}

static bool valid_role_name(const char *s)
{
    if (!*s || strlen(s) > 64) return false;
    if (!isalnum((unsigned char)s[0])) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

static void parse_roles(struct loader *L, yaml_node_t *n)
{
    struct pairs ps;
    if (get_pairs(L, n, "roles", &ps) < 0) return;
    if (ps.n == 0) err_at(L, n, "roles is empty: define at least one role");
    L->cfg->roles = xcalloc(ps.n, sizeof *L->cfg->roles);
    for (size_t i = 0; i < ps.n; i++) {
        const char *name = ps.p[i].key;
        if (is_extension(name)) continue;
        if (!valid_role_name(name)) {
            err_at(L, ps.p[i].k,
                   "role name '%s' must be letters, digits, '-' and '_' (at most 64, starting "
                   "with a letter or digit)",
                   name);
            continue;
        }
        if (!strcmp(name, "roster")) {
            err_at(L, ps.p[i].k,
                   "'roster' is reserved for roster's own log lines; rename the role");
            continue;
        }
        struct role_config *r = &L->cfg->roles[L->cfg->nroles++];
        config_role_defaults(r);
        r->name = xstrdup(name);
        r->pos = pos_of(L, ps.p[i].k);
        parse_role(L, r, ps.p[i].v);
    }
    free(ps.p);
}

static void parse_log(struct loader *L, yaml_node_t *n)
{
    static const char *const known[] = {"format", "timestamps", "color"};
    static const char *const formats[] = {"text", "json"};
    static const char *const colors[] = {"auto", "always", "never"};
    struct pairs ps;
    if (get_pairs(L, n, "log", &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (!strcmp(k, "format")) {
            int f = get_enum(L, v, "log.format", formats, 2);
            if (f >= 0) L->cfg->log_format = (enum log_format)f;
        } else if (!strcmp(k, "timestamps")) {
            get_bool(L, v, "log.timestamps", &L->cfg->timestamps);
        } else if (!strcmp(k, "color")) {
            bool b;
            /* color: true/false reads naturally too */
            if (v->type == YAML_SCALAR_NODE && parse_bool_text(sval(v), &b)) {
                L->cfg->color = b ? COLOR_ALWAYS : COLOR_NEVER;
            } else {
                int c = get_enum(L, v, "log.color", colors, 3);
                if (c >= 0) L->cfg->color = (enum color_mode)c;
            }
        } else {
            unknown_key(L, ps.p[i].k, "log", known, ARRAY_SIZE(known));
        }
    }
    free(ps.p);
}

static void parse_health(struct loader *L, yaml_node_t *n)
{
    static const char *const known[] = {"listen"};
    struct pairs ps;
    if (is_null(n)) return;
    if (get_pairs(L, n, "health", &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        if (!strcmp(ps.p[i].key, "listen")) {
            char *s = get_str(L, ps.p[i].v, "health.listen");
            if (!s) continue;
            const char *colon = strrchr(s, ':');
            char *end = NULL;
            long port = colon ? strtol(colon + 1, &end, 10) : strtol(s, &end, 10);
            if (!end || *end || port < 0 || port > 65535 || (colon && colon == s)) {
                err_at(L, ps.p[i].v,
                       "health.listen must be host:port (e.g. 0.0.0.0:9090), not '%s'", s);
                free(s);
                continue;
            }
            free(L->cfg->health_listen);
            L->cfg->health_listen = colon ? s : xasprintf("0.0.0.0:%ld", port);
            if (!colon) free(s);
        } else {
            unknown_key(L, ps.p[i].k, "health", known, 1);
        }
    }
    free(ps.p);
}

static void parse_control(struct loader *L, yaml_node_t *n)
{
    static const char *const known[] = {"socket"};
    struct pairs ps;
    if (get_pairs(L, n, "control", &ps) < 0) return;
    for (size_t i = 0; i < ps.n; i++) {
        if (!strcmp(ps.p[i].key, "socket")) {
            char *s = get_str(L, ps.p[i].v, "control.socket");
            if (s && strlen(s) >= 100) {
                err_at(L, ps.p[i].v, "control.socket path is too long for a unix socket");
                free(s);
                continue;
            }
            if (s) {
                free(L->cfg->control_socket);
                L->cfg->control_socket = resolve_path(L, s);
                free(s);
            }
        } else {
            unknown_key(L, ps.p[i].k, "control", known, 1);
        }
    }
    free(ps.p);
}

static void parse_postgres(struct loader *L, yaml_node_t *n)
{
    static const char *const known[] = {"url",       "budget",       "headroom",
                                        "instances", "sample_every", "required"};
    struct postgres_config *pg = &L->cfg->pg;
    struct pairs ps;
    if (is_null(n)) return;
    if (get_pairs(L, n, "postgres", &ps) < 0) return;
    pg->enabled = true;
    pg->pos = pos_of(L, n);
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (!strcmp(k, "url")) {
            free(pg->url);
            pg->url = get_str(L, v, "postgres.url");
            if (pg->url && !str_has_prefix(pg->url, "postgres://") &&
                !str_has_prefix(pg->url, "postgresql://"))
                err_at(L, v, "postgres.url must start with postgres:// or postgresql://");
        } else if (!strcmp(k, "budget")) {
            pg->budget_pos = pos_of(L, v);
            if (v->type == YAML_SCALAR_NODE && !strcmp(sval(v), "auto")) {
                pg->budget_auto = true;
            } else {
                pg->budget_auto = false;
                get_int(L, v, "postgres.budget (a number or auto)", 1, 100000, &pg->budget);
            }
        } else if (!strcmp(k, "headroom")) {
            get_int(L, v, "postgres.headroom", 0, 100000, &pg->headroom);
        } else if (!strcmp(k, "instances")) {
            struct pairs ips;
            if (get_pairs(L, v, "postgres.instances", &ips) < 0) continue;
            pg->instances = xcalloc(ips.n, sizeof *pg->instances);
            for (size_t j = 0; j < ips.n; j++) {
                int copies;
                if (get_int(L, ips.p[j].v, ips.p[j].key, 0, 10000, &copies) < 0) continue;
                pg->instances[pg->ninstances].role = xstrdup(ips.p[j].key);
                pg->instances[pg->ninstances].copies = copies;
                pg->instances[pg->ninstances].pos = pos_of(L, ips.p[j].k);
                pg->ninstances++;
            }
            free(ips.p);
        } else if (!strcmp(k, "sample_every")) {
            get_duration(L, v, "postgres.sample_every", &pg->sample_every_ms);
            if (pg->sample_every_ms < 100)
                err_at(L, v, "postgres.sample_every must be 100ms or more");
        } else if (!strcmp(k, "required")) {
            get_bool(L, v, "postgres.required", &pg->required);
        } else {
            unknown_key(L, ps.p[i].k, "postgres", known, ARRAY_SIZE(known));
        }
    }
    if (!pg->url) err_at(L, n, "postgres needs a url (e.g. url: ${DATABASE_URL})");
    free(ps.p);
}

static void parse_redis(struct loader *L, yaml_node_t *n)
{
    static const char *const known[] = {"url", "required"};
    struct redis_config *rc = &L->cfg->redis;
    struct pairs ps;
    if (is_null(n)) return;
    if (get_pairs(L, n, "redis", &ps) < 0) return;
    rc->enabled = true;
    rc->pos = pos_of(L, n);
    yaml_node_t *url_node = NULL;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        if (!strcmp(k, "url")) {
            url_node = ps.p[i].v;
        } else if (!strcmp(k, "required")) {
            get_bool(L, ps.p[i].v, "redis.required", &rc->required);
        } else {
            unknown_key(L, ps.p[i].k, "redis", known, ARRAY_SIZE(known));
        }
    }
    /* An empty url falls back to REDIS_HOST/REDIS_PORT/REDIS_PASSWORD (see redisurl.c). */
    if (url_node && !is_null(url_node)) {
        rc->url = get_str(L, url_node, "redis.url");
    }
    free(ps.p);
}

static const char *const top_keys[] = {"app",     "env_file",         "env",      "log",   "health",
                                       "control", "shutdown_timeout", "postgres", "redis", "roles"};

static void parse_top(struct loader *L, yaml_node_t *root)
{
    struct roster_config *cfg = L->cfg;
    struct pairs ps;
    if (get_pairs(L, root, "the config", &ps) < 0) return;
    /* env_file first: its variables are visible to ${VAR} everywhere else. */
    for (size_t i = 0; i < ps.n; i++) {
        if (strcmp(ps.p[i].key, "env_file") != 0) continue;
        envmap fenv = {0};
        parse_env_files(L, ps.p[i].v, &cfg->env_files, &fenv);
        for (size_t j = 0; j < fenv.n; j++) {
            if (envmap_set_default(&L->vars, fenv.v[j].key, fenv.v[j].val))
                envmap_set(&cfg->file_env, fenv.v[j].key, fenv.v[j].val);
        }
        envmap_free(&fenv);
    }
    yaml_node_t *roles = NULL;
    for (size_t i = 0; i < ps.n; i++) {
        const char *k = ps.p[i].key;
        yaml_node_t *v = ps.p[i].v;
        if (is_extension(k) || !strcmp(k, "env_file")) continue;
        if (!strcmp(k, "app")) {
            char *s = get_str(L, v, "app");
            if (!s) continue;
            bool ok = *s && strlen(s) <= 63;
            for (const char *c = s; *c && ok; c++)
                ok = isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.';
            if (!ok) {
                err_at(L, v, "app must be letters, digits, '.', '-' and '_' (at most 63), not '%s'",
                       s);
                free(s);
                continue;
            }
            free(cfg->app);
            cfg->app = s;
        } else if (!strcmp(k, "env")) {
            parse_env(L, v, "env", &cfg->env);
        } else if (!strcmp(k, "log")) {
            parse_log(L, v);
        } else if (!strcmp(k, "health")) {
            parse_health(L, v);
        } else if (!strcmp(k, "control")) {
            parse_control(L, v);
        } else if (!strcmp(k, "shutdown_timeout")) {
            get_duration(L, v, "shutdown_timeout", &cfg->shutdown_timeout_ms);
        } else if (!strcmp(k, "postgres")) {
            parse_postgres(L, v);
        } else if (!strcmp(k, "redis")) {
            parse_redis(L, v);
        } else if (!strcmp(k, "roles")) {
            roles = v;
        } else {
            unknown_key(L, ps.p[i].k, "the config", top_keys, ARRAY_SIZE(top_keys));
        }
    }
    if (roles)
        parse_roles(L, roles);
    else
        err_at(L, root, "the config has no roles: (add e.g. roles: {web: {command: ...}})");
    free(ps.p);
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
    if (!yaml_parser_load(&parser, &L.doc)) {
        src_pos p = {cfg->path, (int)parser.problem_mark.line + 1,
                     (int)parser.problem_mark.column + 1};
        if (parser.context)
            diags_add(d, p, "YAML syntax error: %s %s", parser.problem, parser.context);
        else
            diags_add(d, p, "YAML syntax error: %s", parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        envmap_free(&L.vars);
        return -1;
    }
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    if (!root || is_null(root)) {
        diags_add(d, (src_pos){cfg->path, 0, 0},
                  "the config is empty (expected app:, roles: and the rest)");
    } else if (root->type != YAML_MAPPING_NODE) {
        err_at(&L, root, "the config must be a mapping of keys (app:, roles: ...), not %s",
               node_type_name(root));
    } else {
        parse_top(&L, root);
    }
    yaml_document_delete(&L.doc);
    yaml_parser_delete(&parser);
    envmap_free(&L.vars);
    config_finish_roles(cfg);
    return diags_count(d) > before ? -1 : 0;
}
