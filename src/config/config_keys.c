/* config_keys.c — the keys of a roster.yaml, as tables: for each mapping, every key's name, the
 * parser that reads its value and the field it fills (nginx's ngx_command_t). The walk in
 * config_yaml.c reads a mapping through its table, and the unknown-key error with its "did you
 * mean" comes from the same table. The tables are at the end of the file, outermost last. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_yaml.h"
#include "config/dotenv.h"
#include "base/hostport.h"
#include "base/textstyle.h"
#include "base/units.h"
#include "sched/cron.h"
#include "sched/tz.h"

/* A choice is stored through an int: the enums it fills must be int-sized. */
_Static_assert(sizeof(enum role_kind) == sizeof(int), "enum role_kind is int-sized");
_Static_assert(sizeof(enum restart_policy) == sizeof(int), "enum restart_policy is int-sized");
_Static_assert(sizeof(enum give_up_then) == sizeof(int), "enum give_up_then is int-sized");
_Static_assert(sizeof(enum dep_cond) == sizeof(int), "enum dep_cond is int-sized");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum log_format is int-sized");
_Static_assert(sizeof(enum color_mode) == sizeof(int), "enum color_mode is int-sized");
_Static_assert(sizeof(enum exit_on_end) == sizeof(int), "enum exit_on_end is int-sized");
_Static_assert(sizeof(enum exit_interrupted) == sizeof(int), "enum exit_interrupted is int-sized");
_Static_assert(sizeof(enum role_builtin) == sizeof(int), "enum role_builtin is int-sized");

/* The name, parser and field of a key; the rest of its entry is designated. */
#define KEY(name_, parse_, offset_) .name = (name_), .parse = (parse_), .offset = (offset_)
/* The names of a choice, in the order errors list them. */
#define CHOICES(names_) .names = (names_), .n = ARRAY_SIZE(names_)

/* Tables used by parsers defined before them. */
static const struct key_table env_file_table, dep_table;
static const struct choices dep_conds;

static const char *what_of(const struct key_def *k)
{
    return k->what ? k->what : k->name;
}

/* ---- parsers any table may use ---- */

/* Stores an allocated string (or NULL) in the key's field; a later value replaces an earlier one.
 * Returns 0 for a string, -1 for NULL. */
static int set_str(struct walk *w, const struct key_def *k, char *owned)
{
    char **f = FIELD(w, k, char *);
    free(*f);
    *f = owned;
    return owned ? 0 : -1;
}

static int key_str(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    return set_str(w, k, get_str(w->L, v, what_of(k)));
}

/* A path, made absolute against the config's directory. */
static int key_path(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    char *full = s ? resolve_path(w->L, s) : NULL;
    free(s);
    return set_str(w, k, full);
}

/* One string or a list of them, each added to a strvec. */
static int key_str_list(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    strvec *f = FIELD(w, k, strvec);
    struct items its;
    int rc = 0;
    items_of(w->L, v, &its);
    for (yaml_node_item_t *it = its.start; it < its.top; it++) {
        char *s = get_str(w->L, node_at(w->L, *it), what_of(k));
        if (s)
            strvec_push(f, s);
        else
            rc = -1;
    }
    return rc;
}

/* A whole number between min and max. */
static int key_int(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    return get_int(w->L, v, what_of(k), k->min, k->max, FIELD(w, k, int));
}

static int key_bool(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    return get_bool(w->L, v, what_of(k), FIELD(w, k, bool));
}

/* A duration of at least min milliseconds. The minimum is checked even when the value was wrong:
 * the field then keeps its default, which may be below it (live.watchdog's 0). */
static int key_duration(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    uint64_t *f = FIELD(w, k, uint64_t);
    int rc = get_duration(w->L, v, what_of(k), f);
    if (k->min > 0 && *f < (uint64_t)k->min) {
        if (k->min == 1) {
            err_at(w->L, v, "%s must be more than 0s", what_of(k));
        } else {
            char least[32];
            units_format_duration((uint64_t)k->min, least, sizeof least);
            err_at(w->L, v, "%s must be %s or more", what_of(k), least);
        }
        rc = -1;
    }
    return rc;
}

/* A size, within k's range when it has one. */
static int key_size(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    uint64_t *f = FIELD(w, k, uint64_t);
    int rc = get_size(w->L, v, what_of(k), f);
    if (rc == 0 && k->max > 0 && (*f < (uint64_t)k->min || *f > (uint64_t)k->max)) {
        char least[32], most[32];
        units_format_size((uint64_t)k->min, least, sizeof least);
        units_format_size((uint64_t)k->max, most, sizeof most);
        err_at(w->L, v, "%s must be between %s and %s", what_of(k), least, most);
        rc = -1;
    }
    return rc;
}

/* cwd: a path, with its place kept for the plan's check that it exists. */
static int key_cwd(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    ((struct role_config *)w->base)->cwd_pos = pos_of(w->L, v);
    return key_path(w, k, v);
}

/* port: a number, with its place kept for the plan's check that no two roles share one. */
static int key_port(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    ((struct role_config *)w->base)->port_pos = pos_of(w->L, v);
    return key_int(w, k, v);
}

static int choice_value(const struct choices *c, size_t i)
{
    return c->values ? c->values[i] : (int)i;
}

/* One of the names in k->choices, stored as its value. A plain YAML boolean stands for the
 * choice the table names for it (restart: false is never), read before interpolation. */
static int key_choice(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    const struct choices *c = k->choices;
    int *f = FIELD(w, k, int);
    bool b;
    if (v->type == YAML_SCALAR_NODE && parse_bool_text(sval(v), &b)) {
        const char *name = b ? c->if_true : c->if_false;
        for (size_t i = 0; name && i < c->n; i++) {
            if (!strcmp(c->names[i], name)) {
                *f = choice_value(c, i);
                return 0;
            }
        }
    }
    int i = get_enum(w->L, v, what_of(k), c->names, c->n);
    if (i < 0) return -1;
    *f = choice_value(c, (size_t)i);
    return 0;
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

static int key_env(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    parse_env(w->L, v, what_of(k), FIELD(w, k, envmap));
    return 0;
}

/* A nested mapping read through its own table, into the field at the key's offset. */
static int key_section(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    return walk_mapping(w->L, k->table, v, FIELD(w, k, char));
}

/* ---- env_file ---- */

/* One {path: P, required: false} entry of an env_file list. */
struct env_file_entry {
    char *path;
    bool required;
    yaml_node_t *at; /* the path's node, where a read error points */
};

static int key_env_file_path(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    ((struct env_file_entry *)w->base)->at = v;
    return key_str(w, k, v);
}

/* Reads one env file into out (later lines win). A missing optional file is skipped. */
static void load_env_file(struct loader *L, yaml_node_t *at, const char *path, bool required,
                          envmap *out)
{
    char *full = resolve_path(L, path);
    struct dotenv_error de;
    envmap tmp = {0};
    switch (dotenv_load(full, &tmp, &de)) {
    case DOTENV_OK: envmap_merge(out, &tmp); break;
    case DOTENV_ESYNTAX: diags_add(L->d, (src_pos){full, de.line, de.col}, "%s", de.msg); break;
    case DOTENV_EREAD:
        if (required || de.sys_errno != ENOENT)
            err_at(L, at, "env_file: cannot read '%s': %s", full, de.msg);
        break;
    }
    envmap_free(&tmp);
    free(full);
}

/* env_file: a path, a list of paths, or list items {path: P, required: false}. */
static void parse_env_files(struct loader *L, yaml_node_t *n, strvec *paths, envmap *out)
{
    if (is_null(n)) return;
    struct items its;
    items_of(L, n, &its);
    for (yaml_node_item_t *it = its.start; it < its.top; it++) {
        yaml_node_t *item = node_at(L, *it);
        struct env_file_entry e = {.required = true, .at = item};
        if (item->type == YAML_MAPPING_NODE) {
            walk_mapping(L, &env_file_table, item, &e);
            if (!e.path) {
                err_at(L, item, "env_file entry needs a path");
                continue;
            }
        } else {
            e.path = get_str(L, item, "env_file");
            if (!e.path) continue;
        }
        strvec_pushdup(paths, e.path);
        load_env_file(L, e.at, e.path, e.required, out);
        free(e.path);
    }
}

/* A role's env_file: the variables go to the role's environment only. */
static int key_role_env_file(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct role_config *r = w->base;
    (void)k;
    parse_env_files(w->L, v, &r->env_files, &r->file_env);
    return 0;
}

/* The top-level env_file: its variables are visible to ${VAR} everywhere else (so it is read
 * first), and those the environment lacks are passed on to the roles. */
static int key_top_env_file(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct roster_config *cfg = w->base;
    envmap fenv = {0};
    (void)k;
    parse_env_files(w->L, v, &cfg->env_files, &fenv);
    for (size_t j = 0; j < fenv.n; j++) {
        if (envmap_set_default(&w->L->vars, fenv.v[j].key, fenv.v[j].val))
            envmap_set(&cfg->file_env, fenv.v[j].key, fenv.v[j].val);
    }
    envmap_free(&fenv);
    return 0;
}

/* ---- a role ---- */

static int key_signal(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    int sig = signal_from_name(s);
    if (sig <= 0 || sig == SIGSTOP || sig == SIGCHLD) {
        err_at(w->L, v, "%s: unknown signal '%s' (e.g. TERM, INT, QUIT, HUP, USR1, KILL)",
               what_of(k), s);
        free(s);
        return -1;
    }
    free(s);
    *FIELD(w, k, int) = sig;
    return 0;
}

/* command: a string run by /bin/sh -c, or a list exec'd as is. */
static int key_command(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    struct loader *L = w->L;
    struct role_config *r = w->base;
    (void)k;
    r->command_pos = pos_of(L, n);
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            char *s = get_str(L, node_at(L, *it), "command");
            if (s) strvec_push(&r->argv, s);
        }
        if (r->argv.n == 0) {
            err_at(L, n, "command must not be an empty list");
            return -1;
        }
        return 0;
    }
    char *s = get_str(L, n, "command");
    if (!s) return -1;
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p) {
        err_at(L, n, "command must not be empty");
        free(s);
        return -1;
    }
    r->shell = s;
    return 0;
}

static int key_user(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct role_config *r = w->base;
    int rc = key_str(w, k, v);
    r->user_pos = pos_of(w->L, v);
    if (r->user && !*r->user) {
        /* user: ${RUN_AS:-} leaves it unset when the variable is empty */
        free(r->user);
        r->user = NULL;
    }
    return rc;
}

/* depends_on: a list of role names, or a mapping of name: condition (or {condition: ...}). */
static int key_deps(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    struct loader *L = w->L;
    struct role_config *r = w->base;
    (void)k;
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
        return 0;
    }
    struct pairs ps;
    if (get_pairs(L, n, "depends_on", &ps) < 0) return -1;
    r->deps = xcalloc(ps.n, sizeof *r->deps);
    for (size_t i = 0; i < ps.n; i++) {
        struct dep dep = {.cond = DEP_STARTED};
        yaml_node_t *v = ps.p[i].v;
        if (v->type == YAML_MAPPING_NODE) {
            if (walk_mapping(L, &dep_table, v, &dep) < 0) continue;
        } else if (!is_null(v)) {
            int c = get_enum(L, v, what_of(&dep_table.keys[0]), dep_conds.names, dep_conds.n);
            if (c < 0) continue;
            dep.cond = (enum dep_cond)c;
        }
        dep.role = xstrdup(ps.p[i].key);
        dep.pos = pos_of(L, ps.p[i].k);
        r->deps[r->ndeps++] = dep;
    }
    free(ps.p);
    return 0;
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

/* http, tcp, exec and log: the probe's kind and its target (URL, host:port, command, regex).
 * http and tcp targets stay templates: plan.c expands and checks them per copy, so ${PORT} is
 * each copy's port. */
static int key_probe_target(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct probe_config *pc = w->base;
    const char *what = w->t->what;
    pc->kind = (enum probe_kind)k->value;
    if (pc->kind == PROBE_HTTP || pc->kind == PROBE_TCP) {
        pc->target = get_template(w->L, v, k->name, &pc->target_pos, &pc->target_col);
        return pc->target ? 0 : -1;
    }
    char *s = get_str(w->L, v, k->name);
    char rerr[160];
    int rc = s ? 0 : -1;
    if (s && pc->kind == PROBE_LOG && check_regex(s, rerr, sizeof rerr) < 0) {
        err_at(w->L, v, "%s.log: invalid regular expression '%s': %s", what, s, rerr);
        rc = -1;
    }
    pc->target = s;
    return rc;
}

/* ready.notify: true waits for READY=1; false is no check at all. */
static int key_probe_notify(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct probe_config *pc = w->base;
    bool on = false;
    pc->kind = PROBE_NOTIFY;
    if (get_bool(w->L, v, what_of(k), &on) < 0) return -1;
    if (!on) pc->kind = PROBE_NONE;
    return 0;
}

/* live.watchdog: the WATCHDOG=1 interval of a notify-speaking role. */
static int key_probe_watchdog(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    ((struct probe_config *)w->base)->kind = PROBE_NOTIFY;
    return key_duration(w, k, v);
}

/* ready: and live: keep their position for the errors the plan reports about them. */
static int key_probe(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct probe_config *pc = FIELD(w, k, struct probe_config);
    pc->pos = pos_of(w->L, v);
    return walk_mapping(w->L, k->table, v, pc);
}

/* A role's postgres: true/false, or a mapping of its share of the connections. */
static int key_role_pg(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct role_pg_config *pg = FIELD(w, k, struct role_pg_config);
    pg->pos = pos_of(w->L, v);
    if (v->type == YAML_SCALAR_NODE) {
        bool on;
        if (get_bool(w->L, v, what_of(k), &on) < 0) return -1;
        pg->mode = on ? PGROLE_DEFAULT : PGROLE_OFF;
        return 0;
    }
    return walk_mapping(w->L, k->table, v, pg);
}

static void role_pg_done(struct walk *w)
{
    struct role_pg_config *pg = w->base;
    bool weight = walk_ok(w, "weight"), fixed = walk_ok(w, "connections");
    if (weight && fixed)
        err_at(w->L, walk_seen(w, "connections"),
               "postgres takes either weight or connections, not both");
    else if (fixed)
        pg->mode = PGROLE_FIXED;
    else if (weight)
        pg->mode = PGROLE_WEIGHT;
}

static const char *const lock_names[] = {"postgres"};
static const struct choices locks = {CHOICES(lock_names)};

/* lock: postgres — the oneshot holds an advisory lock while it runs. */
static int key_lock(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    if (get_enum(w->L, v, what_of(k), k->choices->names, k->choices->n) < 0) return -1;
    *FIELD(w, k, bool) = true;
    return 0;
}

static const char *const service_names[] = {"postgres", "redis"};

/* wait_for: postgres, redis, or a list of them. */
static int key_wait_for(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct role_config *r = w->base;
    struct items its;
    int rc = 0;
    items_of(w->L, v, &its);
    for (yaml_node_item_t *it = its.start; it < its.top; it++) {
        int s = get_enum(w->L, node_at(w->L, *it), what_of(k), service_names,
                         ARRAY_SIZE(service_names));
        if (s == 0) r->wait_postgres = true;
        if (s == 1) r->wait_redis = true;
        if (s < 0) rc = -1;
    }
    return rc;
}

static void backoff_done(struct walk *w)
{
    struct role_config *r = w->base;
    if (r->backoff_initial_ms > r->backoff_max_ms)
        err_at(w->L, w->map, "backoff.initial must not exceed backoff.max");
}

/* A watch entry or an ignore pattern with a '/' made absolute against the role's cwd, or the
 * config's directory when it has none (cwd is read by then: done runs after the keys). An ignore
 * pattern without '/' stays as written: it matches a name at any depth (*.log, tmp). */
static void watch_paths_absolute(struct loader *L, struct role_config *r, strvec *v, bool names)
{
    const char *base = r->cwd ? r->cwd : L->cfg->dir ? L->cfg->dir : ".";
    for (size_t i = 0; i < v->n; i++) {
        char *p = v->v[i];
        while (p[0] == '.' && p[1] == '/')
            p += 2;
        if (p[0] == '/' || (names && !strchr(p, '/'))) continue;
        char *full = !*p || !strcmp(p, ".") ? xstrdup(base) : xasprintf("%s/%s", base, p);
        size_t n = strlen(full);
        while (n > 1 && full[n - 1] == '/')
            full[--n] = '\0';
        free(v->v[i]);
        v->v[i] = full;
    }
}

/* Whether a mapping node has the key name, as written (not through a '<<' merge). */
static bool mapping_has_key(struct loader *L, yaml_node_t *n, const char *name)
{
    if (!n || n->type != YAML_MAPPING_NODE) return false;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(L, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), name)) return true;
    }
    return false;
}

/* watch: and its companions. A watched role that gives up waits for the next change instead
 * of stopping roster (nodemon's "waiting for file changes"), unless give_up.then says exit. */
static void watch_done(struct walk *w, struct role_config *r)
{
    static const char *const companions[] = {"watch_ignore", "watch_debounce", "watch_restart"};
    if (!walk_seen(w, "watch")) {
        for (size_t i = 0; i < ARRAY_SIZE(companions); i++)
            if (walk_seen(w, companions[i]))
                err_at(w->L, walk_seen(w, companions[i]), "role '%s': %s needs watch:", r->name,
                       companions[i]);
        return;
    }
    for (size_t i = 0; i < r->watch.n; i++)
        if (!r->watch.v[i][0])
            err_at(w->L, walk_seen(w, "watch"), "role '%s': a watch entry is empty", r->name);
    watch_paths_absolute(w->L, r, &r->watch, false);
    watch_paths_absolute(w->L, r, &r->watch_ignore, true);
    if (!mapping_has_key(w->L, walk_seen(w, "give_up"), "then")) r->give_up_then = GIVEUP_STAY;
}

static void worker_done(struct walk *w, struct role_config *r);

/* Each builtin's name in the config, and what it is in a sentence. */
static const char *const builtin_what[][2] = {[BUILTIN_NONE] = {"", ""},
                                              [BUILTIN_SCHEDULER] = {"scheduler", "scheduler"},
                                              [BUILTIN_WORKER] = {"worker", "job worker"},
                                              [BUILTIN_API] = {"api", "jobs API"}};

/* builtin: api serves on the role's port; its own keys are for it alone. */
static void api_done(struct walk *w, struct role_config *r)
{
    static const char *const own[] = {"public_reads", "max_body"};
    if (r->builtin == BUILTIN_API && r->port <= 0)
        diags_add(w->L->d, r->pos, "role '%s': builtin: api needs port: (where it listens)",
                  r->name);
    if (r->builtin == BUILTIN_API && !w->L->cfg->redis.enabled)
        diags_add(w->L->d, r->pos, "role '%s': builtin: api needs redis: (the job store)", r->name);
    if (r->builtin == BUILTIN_API && r->kind == ROLE_ONESHOT)
        diags_add(w->L->d, r->pos, "role '%s': builtin: api is a service, not a oneshot", r->name);
    for (size_t i = 0; r->builtin != BUILTIN_API && i < ARRAY_SIZE(own); i++)
        if (walk_seen(w, own[i]))
            err_at(w->L, walk_seen(w, own[i]), "role '%s': %s: is for a role with builtin: api",
                   r->name, own[i]);
}

static void role_done(struct walk *w)
{
    struct role_config *r = w->base;
    watch_done(w, r);
    if (r->builtin == BUILTIN_NONE && !walk_seen(w, "command"))
        diags_add(w->L->d, r->pos, "role '%s' needs a command", r->name);
    if (r->builtin != BUILTIN_NONE && walk_seen(w, "command"))
        err_at(w->L, walk_seen(w, "command"),
               "role '%s': builtin: %s runs roster's own %s; it takes no command", r->name,
               builtin_what[r->builtin][0], builtin_what[r->builtin][1]);
    if (r->builtin == BUILTIN_SCHEDULER && !walk_seen(w, "schedules"))
        diags_add(w->L->d, r->pos, "role '%s': builtin: scheduler needs schedules:", r->name);
    if (r->builtin != BUILTIN_SCHEDULER && walk_seen(w, "schedules"))
        err_at(w->L, walk_seen(w, "schedules"),
               "role '%s': schedules: is for a role with builtin: scheduler", r->name);
    if (r->builtin == BUILTIN_NONE && walk_seen(w, "history"))
        err_at(w->L, walk_seen(w, "history"),
               "role '%s': history: is for a builtin role (builtin: scheduler or worker)", r->name);
    if (r->builtin != BUILTIN_SCHEDULER && walk_seen(w, "redis_down"))
        err_at(w->L, walk_seen(w, "redis_down"),
               "role '%s': redis_down: is for a role with builtin: scheduler", r->name);
    api_done(w, r);
    worker_done(w, r);
    if (r->lock_postgres && r->kind != ROLE_ONESHOT)
        diags_add(w->L->d, r->pos, "role '%s': lock: postgres is for oneshot roles (kind: oneshot)",
                  r->name);
    if (r->kind == ROLE_ONESHOT && r->live.kind != PROBE_NONE)
        diags_add(w->L->d, r->live.pos, "role '%s': a oneshot cannot have a liveness check",
                  r->name);
}

/* roles: a mapping of name: role, each read through the role table. */
static int key_roles(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    struct loader *L = w->L;
    struct pairs ps;
    if (get_pairs(L, n, what_of(k), &ps) < 0) return -1;
    if (ps.n == 0) err_at(L, n, "roles is empty: define at least one role");
    L->cfg->roles = xcalloc(ps.n, sizeof *L->cfg->roles);
    for (size_t i = 0; i < ps.n; i++) {
        const char *name = ps.p[i].key;
        if (is_extension_key(name)) continue;
        if (!config_role_name_valid(name)) {
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
        if (L->cfg->nroles == CONFIG_MAX_ROLES) {
            err_at(L, ps.p[i].k, "more than %d roles, roster's limit", CONFIG_MAX_ROLES);
            break;
        }
        struct role_config *r = &L->cfg->roles[L->cfg->nroles++];
        config_role_defaults(r);
        if (L->cfg->dev) config_role_dev_defaults(r);
        r->name = xstrdup(name);
        r->pos = pos_of(L, ps.p[i].k);
        walk_mapping(L, k->table, ps.p[i].v, r);
    }
    free(ps.p);
    return 0;
}

/* ---- the top level ---- */

static int key_app(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    bool ok = s && *s && strlen(s) <= 63;
    for (const char *c = s; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.';
    if (!ok) {
        /* the default control socket is named after the app; an explicit one is not */
        if (!w->L->cfg->control_socket) w->L->cfg->socket_unsure = true;
        if (s)
            err_at(w->L, v, "app must be letters, digits, '.', '-' and '_' (at most 63), not '%s'",
                   s);
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

/* health.listen: host:port, or a bare port on every address. */
static int key_listen(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    /* "9090" alone listens on every address; ":9090" is a mistake, not a shorthand */
    struct hostport hp;
    bool bare = !strchr(s, ':');
    unsigned flags = HOSTPORT_LISTEN | HOSTPORT_BARE_PORT;
    if (hostport_parse(s, strlen(s), flags, &hp) != HOSTPORT_OK || (!bare && !hp.host[0])) {
        err_at(w->L, v, "health.listen must be host:port (e.g. 0.0.0.0:9090), not '%s'", s);
        free(s);
        return -1;
    }
    if (!bare) return set_str(w, k, s);
    free(s);
    return set_str(w, k, xasprintf("0.0.0.0:%d", hp.port));
}

/* control.socket: a path, relative to the config's directory. Its length is checked once the
 * directory is in front of it, since that is the path the server binds. */
static int key_control_socket(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    w->L->cfg->socket_unsure = true;
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    char *full = resolve_path(w->L, s);
    free(s);
    size_t len = strlen(full);
    if (len > CONFIG_SOCKET_PATH_MAX) {
        err_at(w->L, v, "%s: '%s' is %zu bytes, longer than the %zu a unix socket allows",
               what_of(k), full, len, (size_t)CONFIG_SOCKET_PATH_MAX);
        free(full);
        return -1;
    }
    w->L->cfg->socket_unsure = false;
    return set_str(w, k, full);
}

static int key_pg_url(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char **url = FIELD(w, k, char *);
    if (key_str(w, k, v) < 0) return -1;
    if (!str_has_prefix(*url, "postgres://") && !str_has_prefix(*url, "postgresql://")) {
        err_at(w->L, v, "postgres.url must start with postgres:// or postgresql://");
        return -1;
    }
    return 0;
}

/* postgres.budget: a number, or auto (read from the server's max_connections). */
static int key_budget(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct postgres_config *pg = w->base;
    pg->budget_pos = pos_of(w->L, v);
    if (v->type == YAML_SCALAR_NODE && !strcmp(sval(v), "auto")) {
        pg->budget_auto = true;
        return 0;
    }
    pg->budget_auto = false;
    return key_int(w, k, v);
}

/* postgres.instances: role: copies, for roles that run outside this roster. */
static int key_pg_instances(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct loader *L = w->L;
    struct postgres_config *pg = w->base;
    struct pairs ips;
    if (get_pairs(L, v, what_of(k), &ips) < 0) return -1;
    pg->instances = xcalloc(ips.n, sizeof *pg->instances);
    for (size_t j = 0; j < ips.n; j++) {
        int copies;
        if (get_int(L, ips.p[j].v, ips.p[j].key, k->min, k->max, &copies) < 0) continue;
        pg->instances[pg->ninstances].role = xstrdup(ips.p[j].key);
        pg->instances[pg->ninstances].copies = copies;
        pg->instances[pg->ninstances].pos = pos_of(L, ips.p[j].k);
        pg->ninstances++;
    }
    free(ips.p);
    return 0;
}

/* A postgres: mapping turns the budget on; it needs a url. */
static void pg_done(struct walk *w)
{
    struct postgres_config *pg = w->base;
    pg->enabled = true;
    pg->pos = pos_of(w->L, w->map);
    if (!pg->url) err_at(w->L, w->map, "postgres needs a url (e.g. url: ${DATABASE_URL})");
}

/* An empty redis url falls back to REDIS_HOST/REDIS_PORT/REDIS_PASSWORD (see redisurl.c). */
static int key_redis_url(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    if (is_null(v)) return 0;
    return key_str(w, k, v);
}

static void redis_done(struct walk *w)
{
    struct redis_config *rc = w->base;
    rc->enabled = true;
    rc->pos = pos_of(w->L, w->map);
}

/* exit.success: all, first, last, a role's name, or "!" and a role's name (concurrently's
 * all, first, last, command-NAME and !command-NAME). The name is checked once the roles are
 * known (top_done). */
static int key_exit_success(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct exit_config *e = w->base;
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    static const char *const words[] = {"all", "first", "last"};
    static const enum exit_success modes[] = {EXIT_SUCCESS_ALL, EXIT_SUCCESS_FIRST,
                                              EXIT_SUCCESS_LAST};
    free(e->role);
    e->role = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
        if (!strcmp(s, words[i])) {
            e->success = modes[i];
            free(s);
            return 0;
        }
    }
    bool negated = s[0] == '!';
    if (!s[negated]) {
        err_at(w->L, v, "%s must be all, first, last, a role's name or !ROLE, not '%s'", what_of(k),
               s);
        free(s);
        return -1;
    }
    e->success = negated ? EXIT_SUCCESS_NOT_ROLE : EXIT_SUCCESS_ROLE;
    e->role = xstrdup(s + negated);
    e->role_pos = pos_of(w->L, v);
    free(s);
    return 0;
}

/* input: ROLE or ROLE.N; the role is checked once the roles are known (top_done). */
static int key_input(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    char name[CONFIG_ROLE_NAME_MAX + 1];
    int copy;
    if (config_parse_target(s, name, &copy) < 0) {
        err_at(w->L, v, "input must name a role (ROLE, or ROLE.N for one copy), not '%s'", s);
        free(s);
        return -1;
    }
    w->L->cfg->input_pos = pos_of(w->L, v);
    return set_str(w, k, s);
}

/* input: names a role that exists, and a copy it has. */
static void input_done(struct walk *w)
{
    const struct roster_config *cfg = w->L->cfg;
    char name[CONFIG_ROLE_NAME_MAX + 1];
    int copy;
    if (!cfg->input || config_parse_target(cfg->input, name, &copy) < 0) return;
    const struct role_config *r = config_find_role(cfg, name);
    if (!r)
        diags_add(w->L->d, cfg->input_pos, "input names role '%s', which is not defined", name);
    else if (copy >= r->instances)
        diags_add(w->L->d, cfg->input_pos, "input names %s, but role '%s' has %d %s (from 0)",
                  cfg->input, name, r->instances, r->instances == 1 ? "copy" : "copies");
}

static void top_done(struct walk *w)
{
    if (!walk_seen(w, "roles"))
        err_at(w->L, w->map, "the config has no roles: (add e.g. roles: {web: {command: ...}})");
    const struct roster_config *cfg = w->L->cfg;
    const char *r = cfg->exit.role;
    if (r && walk_seen(w, "roles") && !config_find_role(cfg, r)) {
        sbuf known;
        sbuf_init(&known);
        for (size_t i = 0; i < cfg->nroles; i++)
            sbuf_printf(&known, "%s%s", i ? ", " : "", cfg->roles[i].name);
        diags_add(w->L->d, cfg->exit.role_pos,
                  "exit.success names role '%s', which is not defined "
                  "(roles: %s)",
                  r, known.data ? known.data : "");
        sbuf_free(&known);
    }
    if (walk_seen(w, "roles")) input_done(w);
    /* an enqueue action puts its job in Redis: the config must say which */
    for (size_t i = 0; i < cfg->nroles && !cfg->redis.enabled; i++)
        for (size_t k = 0; k < cfg->roles[i].nschedules; k++) {
            const struct schedule_config *sc = &cfg->roles[i].schedules[k];
            if (sc->enq.pos.line)
                diags_add(w->L->d, sc->enq.pos,
                          "schedule '%s': enqueue needs redis: (the job queue is kept in Redis; "
                          "add redis: {url: ${REDIS_URL}})",
                          sc->name);
        }
}

/* ---- output: concurrently's look, grouping and timings ---- */

/* output.prefix: concurrently's -p: a keyword (index, pid, time, command, name: bracketed, as
 * -p writes them), none, or a template with {index} {pid} {time} {command} {name}. Either
 * switches the output to concurrently's look. */
static int key_output_prefix(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct look_config *lk = w->base;
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    static const char *const keywords[] = {"index", "pid", "time", "command", "name"};
    lk->brackets = false;
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
        if (!strcmp(s, keywords[i])) {
            free(s);
            s = xasprintf("{%s}", keywords[i]);
            lk->brackets = true;
            break;
        }
    }
    if (!strcmp(s, "none")) s[0] = '\0';
    lk->on = true;
    return set_str(w, k, s);
}

/* output.raw: the children's lines alone, which is concurrently's look with nothing added. */
static int key_output_raw(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct look_config *lk = w->base;
    int rc = key_bool(w, k, v);
    if (lk->raw) lk->on = true;
    return rc;
}

/* output.timestamp_format: checked now, as concurrently would throw at its first line. */
static int key_time_format(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    char err[256];
    if (s && textstyle_check_date(s, err, sizeof err) < 0) {
        err_at(w->L, v, "%s: %s", what_of(k), err);
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

/* prefix_length and pad_prefix shape concurrently's prefix: without one they would say
 * nothing. */
static void output_done(struct walk *w)
{
    static const char *const shaping[] = {"prefix_length", "pad_prefix"};
    for (size_t i = 0; i < ARRAY_SIZE(shaping); i++)
        if (walk_seen(w, shaping[i]) && !walk_seen(w, "prefix"))
            err_at(w->L, walk_seen(w, shaping[i]),
                   "output.%s shapes concurrently's prefix: set output.prefix too (e.g. "
                   "prefix: name)",
                   shaping[i]);
}

/* A role's color: a chalk style for its prefix ("auto" is the command line's: left out, a role
 * gets the default). */
static int key_role_color(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    char err[320];
    if (!s) return -1;
    if (!strcmp(s, "auto")) {
        err_at(w->L, v, "color: auto is the default: leave color out");
        free(s);
        return -1;
    }
    if (textstyle_check_color(s, err, sizeof err) < 0) {
        err_at(w->L, v, "color: %s", err);
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

/* max_processes: how many instances run at once: a number (0 for all), or a percentage of the
 * CPUs ("50%"), as concurrently's -m. */
static int key_max_processes(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct roster_config *cfg = w->base;
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    size_t len = strlen(s);
    char *end = NULL;
    double d = 0;
    bool percent = len > 1 && s[len - 1] == '%';
    if (len && isdigit((unsigned char)s[0])) d = strtod(s, &end);
    bool ok = end && end == s + len - percent && d >= 0 && d <= 100000 &&
              (percent || d == (double)(long)d);
    if (!ok) {
        err_at(w->L, v, "%s must be a number of processes or a percentage of the CPUs (50%%), "
                        "not '%s'",
               what_of(k), s);
        free(s);
        return -1;
    }
    free(s);
    cfg->max_processes = d;
    cfg->max_processes_percent = percent;
    return 0;
}

/* ---- the tables, innermost first ----
 * The order of a table's keys is the order of preference of "did you mean" on a tie, and of the
 * names in "ready needs one of ...". */

static const struct key_def env_file_keys[] = {
    {KEY("path", key_env_file_path, offsetof(struct env_file_entry, path)),
     .what = "env_file path"},
    {KEY("required", key_bool, offsetof(struct env_file_entry, required))},
};
static const struct key_table env_file_table = {KEYS("env_file", env_file_keys)};

static const char *const dep_cond_names[] = {"started", "ready", "completed"};
static const struct choices dep_conds = {CHOICES(dep_cond_names)};

/* docker compose's long form of a dependency: {condition: ...} */
static const struct key_def dep_keys[] = {
    {KEY("condition", key_choice, offsetof(struct dep, cond)), .what = "depends_on condition",
     .choices = &dep_conds},
};
static const struct key_table dep_table = {KEYS("depends_on entry", dep_keys)};

#define ROLE(f)  offsetof(struct role_config, f)
#define PROBE(f) offsetof(struct probe_config, f)
#define CFG(f)   offsetof(struct roster_config, f)

static const struct key_def backoff_keys[] = {
    {KEY("initial", key_duration, ROLE(backoff_initial_ms)), .what = "backoff.initial"},
    {KEY("max", key_duration, ROLE(backoff_max_ms)), .what = "backoff.max"},
    {KEY("reset_after", key_duration, ROLE(backoff_reset_ms)), .what = "backoff.reset_after"},
};
static const struct key_table backoff_table = {KEYS("backoff", backoff_keys), .done = backoff_done};

static const char *const give_up_then_names[] = {"exit", "stay", "continue"};
static const struct choices give_up_thens = {CHOICES(give_up_then_names)};
static const struct key_def give_up_keys[] = {
    {KEY("after", key_int, ROLE(give_up_after)), .what = "give_up.after", .min = 0, .max = 1000000},
    {KEY("within", key_duration, ROLE(give_up_within_ms)), .what = "give_up.within"},
    {KEY("then", key_choice, ROLE(give_up_then)), .what = "give_up.then",
     .choices = &give_up_thens},
};
static const struct key_table give_up_table = {KEYS("give_up", give_up_keys)};

/* history: of a builtin role (the scheduler's runs, the worker's jobs in Postgres); at least a
 * minute */
static const struct key_def history_keys[] = {
    {KEY("keep", key_duration, ROLE(history_keep_ms)), .what = "history.keep", .min = 60000},
};
static const struct key_table history_table = {KEYS("history", history_keys)};

static const struct key_def stop_keys[] = {
    {KEY("signal", key_signal, ROLE(stop_signal)), .what = "stop.signal"},
    {KEY("timeout", key_duration, ROLE(stop_timeout_ms)), .what = "stop.timeout"},
};
static const struct key_table stop_table = {KEYS("stop", stop_keys)};

/* ready: {http|tcp|exec|log|notify, every, timeout, attempt_timeout} */
static const struct key_def ready_keys[] = {
    {KEY("http", key_probe_target, 0), .value = PROBE_HTTP, .flags = KEY_ONE_OF},
    {KEY("tcp", key_probe_target, 0), .value = PROBE_TCP, .flags = KEY_ONE_OF},
    {KEY("exec", key_probe_target, 0), .value = PROBE_EXEC, .flags = KEY_ONE_OF},
    {KEY("log", key_probe_target, 0), .value = PROBE_LOG, .flags = KEY_ONE_OF},
    {KEY("notify", key_probe_notify, 0), .what = "ready.notify", .flags = KEY_ONE_OF},
    {KEY("every", key_duration, PROBE(every_ms)), .min = 1},
    {KEY("timeout", key_duration, PROBE(timeout_ms))},
    {KEY("attempt_timeout", key_duration, PROBE(attempt_timeout_ms))},
};
static const struct key_table ready_table = {KEYS("ready", ready_keys), .one_of = "check"};

/* live: {http|tcp|exec|watchdog, every, timeout, failures} */
static const struct key_def live_keys[] = {
    {KEY("http", key_probe_target, 0), .value = PROBE_HTTP, .flags = KEY_ONE_OF},
    {KEY("tcp", key_probe_target, 0), .value = PROBE_TCP, .flags = KEY_ONE_OF},
    {KEY("exec", key_probe_target, 0), .value = PROBE_EXEC, .flags = KEY_ONE_OF},
    {KEY("watchdog", key_probe_watchdog, PROBE(watchdog_ms)), .what = "live.watchdog", .min = 1,
     .flags = KEY_ONE_OF},
    {KEY("every", key_duration, PROBE(every_ms)), .min = 1},
    {KEY("timeout", key_duration, PROBE(timeout_ms))},
    {KEY("failures", key_int, PROBE(failures)), .min = 1, .max = 1000},
};
static const struct key_table live_table = {KEYS("live", live_keys), .one_of = "check"};

#define RPG(f) offsetof(struct role_pg_config, f)
static const struct key_def role_pg_keys[] = {
    {KEY("weight", key_int, RPG(weight)), .what = "postgres.weight", .min = 1, .max = 1000},
    {KEY("connections", key_int, RPG(connections)), .what = "postgres.connections", .min = 1,
     .max = 100000},
    {KEY("pool_env", key_str_list, RPG(pool_env))},
    {KEY("url_env", key_str, RPG(url_env)), .what = "postgres.url_env"},
    {KEY("url_param", key_str, RPG(url_param)), .what = "postgres.url_param"},
};
static const struct key_table role_pg_table = {KEYS("postgres", role_pg_keys),
                                               .where = "a role's postgres", .done = role_pg_done};

/* ---- a scheduler role's schedules (issue 12) ---- */

static const char *schedule_name(const struct walk *w)
{
    return ((const struct schedule_config *)w->base)->name;
}

/* cron: an expression cron_parse accepts. The error points at the bad field's own column when
 * the value is read as written, on one line (no ${VAR} filled in); else at the value. */
static int key_cron(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    struct cron c;
    struct cron_error e;
    if (cron_parse(s, &c, &e) == CRON_OK) return set_str(w, k, s);
    char msg[256];
    cron_error_format(&e, msg, sizeof msg);
    src_pos pos = pos_of(w->L, v);
    int style = v->data.scalar.style;
    bool quoted =
        style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if ((quoted || style == YAML_PLAIN_SCALAR_STYLE) && !strcmp(s, sval(v)) && !strchr(s, '\n'))
        pos.col += quoted + (int)e.col - 1;
    diags_add(w->L->d, pos, "schedule '%s': cron '%s': %s", schedule_name(w), s, msg);
    free(s);
    return -1;
}

/* tz: a zone of the system's tzdata, loaded once here so an unknown one is a config error;
 * from TZDIR when the environment (or an env file) sets it, as the scheduler role reads it. */
static int key_sched_tz(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    struct tz z;
    const char *dir = envmap_get(&w->L->vars, "TZDIR");
    enum tz_err e = tz_load(s, dir, &z);
    if (e) {
        char msg[320];
        tz_error_format(e, dir, msg, sizeof msg);
        err_at(w->L, v, "schedule '%s': tz '%s': %s", schedule_name(w), s, msg);
        free(s);
        return -1;
    }
    tz_free(&z);
    return set_str(w, k, s);
}

/* command: a string (run as a role's string command is) or a list (exec'd as is). */
static int key_sched_command(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct schedule_config *s = w->base;
    if (v->type == YAML_SEQUENCE_NODE) {
        int rc = key_str_list(w, k, v);
        if (rc == 0 && s->argv.n == 0) {
            err_at(w->L, v, "schedule '%s': command is an empty list", s->name);
            rc = -1;
        }
        return rc;
    }
    char *c = get_str(w->L, v, "command");
    if (c && !*c) {
        err_at(w->L, v, "schedule '%s': command is empty", s->name);
        free(c);
        return -1;
    }
    free(s->shell);
    s->shell = c;
    return c ? 0 : -1;
}

/* The methods an http action may use. */
static const char *const http_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                           "PATCH", "DELETE", "OPTIONS"};

static bool http_method_known(const char *m, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(http_methods); i++)
        if (strlen(http_methods[i]) == len && !strncmp(http_methods[i], m, len)) return true;
    return false;
}

/* An absolute http(s) URL with a host and no white space or control characters (curl would
 * otherwise take a relative one as a host name, or cut the request at a space). */
static bool http_url_ok(const char *u)
{
    const char *host = str_has_prefix(u, "http://")    ? u + 7
                       : str_has_prefix(u, "https://") ? u + 8
                                                       : NULL;
    if (!host || !*host || *host == '/' || *host == '?' || *host == '#') return false;
    for (const unsigned char *c = (const unsigned char *)u; *c; c++)
        if (*c <= ' ' || *c == 0x7f) return false;
    return true;
}

/* method and url: a method this table knows, an absolute http(s) URL. */
static int key_http_method_url(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    bool method = !strcmp(k->name, "method");
    char *x = get_str(w->L, v, method ? "http.method" : "http.url");
    if (!x) return -1;
    if (method ? http_method_known(x, strlen(x)) : http_url_ok(x)) return set_str(w, k, x);
    if (method)
        err_at(w->L, v,
               "schedule '%s': http.method must be GET, HEAD, POST, PUT, PATCH, DELETE or "
               "OPTIONS (in capitals), not '%.40s'",
               schedule_name(w), x);
    else
        err_at(w->L, v,
               "schedule '%s': http.url must be an http:// or https:// URL with a host and no "
               "spaces (e.g. http://127.0.0.1:3000/run), not '%.200s'",
               schedule_name(w), x);
    free(x);
    return -1;
}

/* headers: a mapping of Name: value. Names are HTTP tokens; values have no line breaks (one
 * would start another header). Content-Length and Transfer-Encoding are curl's to write. */
static int parse_http_headers(struct loader *L, yaml_node_t *v, strvec *hs, const char *owner)
{
    struct pairs ps;
    if (get_pairs(L, v, "http.headers", &ps) < 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < ps.n; i++) {
        const char *name = ps.p[i].key;
        bool ok = *name && strlen(name) <= 128;
        for (const char *c = name; ok && *c; c++)
            ok = isalnum((unsigned char)*c) || strchr("!#$%&'*+-.^_`|~", *c);
        if (!ok) {
            err_at(L, ps.p[i].k,
                   "%s: http header name '%.130s' must be letters, digits and "
                   "!#$%%&'*+-.^_`|~ (at most 128)",
                   owner, name);
            rc = -1;
            continue;
        }
        if (!strcasecmp(name, "Content-Length") || !strcasecmp(name, "Transfer-Encoding")) {
            err_at(L, ps.p[i].k, "%s: http header %s is set by roster from the body", owner, name);
            rc = -1;
            continue;
        }
        if (hs->n == SCHEDULE_MAX_HEADERS) {
            err_at(L, ps.p[i].k, "%s: more than %d http headers, roster's limit", owner,
                   SCHEDULE_MAX_HEADERS);
            rc = -1;
            break;
        }
        char *val = get_str(L, ps.p[i].v, "an http header's value");
        if (!val) {
            rc = -1;
            continue;
        }
        if (strpbrk(val, "\r\n") || strlen(val) > 8192) {
            err_at(L, ps.p[i].v,
                   "%s: http header %s: the value must be one line of at most 8192 bytes", owner,
                   name);
            free(val);
            rc = -1;
            continue;
        }
        strvec_push(hs, xasprintf("%s: %s", name, val));
        free(val);
    }
    free(ps.p);
    return rc;
}

static int key_http_headers(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char owner[96];
    snprintf(owner, sizeof owner, "schedule '%s'", schedule_name(w));
    return parse_http_headers(w->L, v, FIELD(w, k, strvec), owner);
}

static int key_http_body(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *b = get_str(w->L, v, "http.body");
    if (b && strlen(b) > SCHEDULE_MAX_BODY) {
        err_at(w->L, v, "schedule '%s': http.body is over %u KiB, roster's limit", schedule_name(w),
               SCHEDULE_MAX_BODY >> 10);
        free(b);
        return -1;
    }
    return set_str(w, k, b);
}

/* expect: a status or a list of them, each 100 to 599. */
static int key_http_expect(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct schedule_config *s = w->base;
    struct items its;
    int rc = 0;
    (void)k;
    items_of(w->L, v, &its);
    if (its.start == its.top) {
        err_at(w->L, v, "schedule '%s': http.expect is an empty list", s->name);
        return -1;
    }
    for (yaml_node_item_t *it = its.start; it < its.top; it++) {
        yaml_node_t *n = node_at(w->L, *it);
        int code;
        if (get_int(w->L, n, "http.expect", 100, 599, &code) < 0) {
            rc = -1;
        } else if (s->req.nexpect == SCHEDULE_MAX_EXPECT) {
            err_at(w->L, n, "schedule '%s': more than %d statuses in http.expect", s->name,
                   SCHEDULE_MAX_EXPECT);
            return -1;
        } else {
            s->req.expect[s->req.nexpect++] = code;
        }
    }
    return rc;
}

/* The mapping read: method and url make the http string the string form has ("METHOD URL"),
 * so that everything showing or running the action reads one field. */
static void http_done(struct walk *w)
{
    struct schedule_config *s = w->base;
    if (!walk_seen(w, "url")) {
        err_at(w->L, w->map, "schedule '%s': http needs a url", s->name);
        return;
    }
    if (!walk_ok(w, "url") || (walk_seen(w, "method") && !walk_ok(w, "method"))) return;
    const char *m = s->req.method ? s->req.method : s->req.body ? "POST" : "GET";
    if (s->req.body && !strcmp(m, "HEAD")) {
        err_at(w->L, walk_seen(w, "body"), "schedule '%s': a HEAD request sends no body", s->name);
        return;
    }
    free(s->http);
    s->http = xasprintf("%s %s", m, s->req.url);
}

#define SHTTP(f) offsetof(struct schedule_config, req.f)
static const struct key_def http_keys[] = {
    {KEY("method", key_http_method_url, SHTTP(method))},
    {KEY("url", key_http_method_url, SHTTP(url))},
    {KEY("headers", key_http_headers, SHTTP(headers))},
    {KEY("body", key_http_body, SHTTP(body))},
    {KEY("expect", key_http_expect, 0)},
};
static const struct key_table http_table = {KEYS("http", http_keys), .done = http_done};

/* http: "METHOD URL", or a mapping with method, url, headers, body and the expected status. */
static int key_sched_http(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    if (v->type == YAML_MAPPING_NODE) {
        struct schedule_config *s = w->base;
        if (walk_mapping(w->L, &http_table, v, s) < 0 || !s->http) return -1;
        return 0;
    }
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    const char *sp = strchr(s, ' ');
    bool ok = sp && sp > s && http_method_known(s, (size_t)(sp - s)) && http_url_ok(sp + 1);
    if (!ok) {
        err_at(w->L, v,
               "schedule '%s': http must be \"METHOD URL\" (e.g. \"POST "
               "http://127.0.0.1:3000/run\"; GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS), "
               "or a mapping {method, url, headers, body, expect}, not '%s'",
               schedule_name(w), s);
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

/* ---- enqueue: {queue, type, payload} ---- */

/* queue and type: names as the job store spells them (jobs_name_ok, a layer above this one). */
static int key_enqueue_name(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *x = get_str(w->L, v, what_of(k));
    if (!x) return -1;
    size_t n = strlen(x);
    bool ok = n >= 1 && n <= 64;
    for (const char *c = x; ok && *c; c++)
        ok = isalnum((unsigned char)*c) || strchr("_.:-", *c);
    if (ok) return set_str(w, k, x);
    err_at(w->L, v, "schedule '%s': %s must be 1 to 64 letters, digits and _.:- (not '%.80s')",
           schedule_name(w), what_of(k), x);
    free(x);
    return -1;
}

/* A YAML value as JSON: mappings are objects, sequences arrays; a plain scalar that reads as
 * null, a boolean or a JSON number is one, anything else (and every quoted scalar) a string.
 * ${VAR} is filled in first. NULL after an error. */
static cJSON *yaml_to_json(struct loader *L, yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE) {
        struct pairs ps;
        if (get_pairs(L, n, "enqueue.payload", &ps) < 0) return NULL;
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; o && i < ps.n; i++) {
            cJSON *v = yaml_to_json(L, ps.p[i].v);
            if (!v) {
                cJSON_Delete(o);
                o = NULL;
                break;
            }
            cJSON_AddItemToObject(o, ps.p[i].key, v);
        }
        free(ps.p);
        return o;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        cJSON *a = cJSON_CreateArray();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            cJSON *v = yaml_to_json(L, node_at(L, *it));
            if (!v) {
                cJSON_Delete(a);
                return NULL;
            }
            cJSON_AddItemToArray(a, v);
        }
        return a;
    }
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && is_null(n)) return cJSON_CreateNull();
    char *t = get_str(L, n, "enqueue.payload");
    if (!t) return NULL;
    cJSON *v = NULL;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (!strcmp(t, "true") || !strcmp(t, "false")) {
            v = cJSON_CreateBool(t[0] == 't');
        } else {
            /* a JSON number as written (cJSON would print a double, losing big integers); the
             * whole scalar, not a number at its start ("1m", "2x" are strings) */
            cJSON *num = cJSON_ParseWithOpts(t, NULL, true);
            if (num && cJSON_IsNumber(num)) v = cJSON_CreateRaw(t);
            cJSON_Delete(num);
        }
    }
    if (!v) v = cJSON_CreateString(t);
    free(t);
    return v;
}

/* payload: a YAML value (made JSON), or a string holding JSON text; at most 64 KiB of JSON. */
static int key_enqueue_payload(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *json = NULL;
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        /* a quoted string: JSON text as written ('{"a": 1}'), checked here */
        json = get_str(w->L, v, "enqueue.payload");
        if (!json) return -1;
        cJSON *p = cJSON_ParseWithOpts(json, NULL, true);
        if (!p) {
            err_at(w->L, v,
                   "schedule '%s': enqueue.payload is a string that is not JSON (write the "
                   "value as YAML, or JSON text in quotes): '%.80s'",
                   schedule_name(w), json);
            free(json);
            return -1;
        }
        cJSON_Delete(p);
    } else {
        cJSON *p = yaml_to_json(w->L, v);
        if (!p) return -1;
        json = cJSON_PrintUnformatted(p);
        cJSON_Delete(p);
    }
    if (json && strlen(json) > SCHEDULE_MAX_BODY) {
        err_at(w->L, v, "schedule '%s': enqueue.payload is over %u KiB of JSON, roster's limit",
               schedule_name(w), SCHEDULE_MAX_BODY >> 10);
        free(json);
        return -1;
    }
    return set_str(w, k, json);
}

static void enqueue_done(struct walk *w)
{
    struct schedule_config *s = w->base;
    s->enq.pos = pos_of(w->L, w->map);
    if (!walk_seen(w, "queue"))
        err_at(w->L, w->map, "schedule '%s': enqueue needs a queue", s->name);
    if (!walk_seen(w, "type")) err_at(w->L, w->map, "schedule '%s': enqueue needs a type", s->name);
}

#define SENQ(f) offsetof(struct schedule_config, enq.f)
static const struct key_def enqueue_keys[] = {
    {KEY("queue", key_enqueue_name, SENQ(queue)), .what = "enqueue.queue"},
    {KEY("type", key_enqueue_name, SENQ(type)), .what = "enqueue.type"},
    {KEY("payload", key_enqueue_payload, SENQ(payload))},
};
static const struct key_table enqueue_table = {KEYS("enqueue", enqueue_keys), .done = enqueue_done};

/* enqueue: a mapping read into the schedule itself. */
static int key_sched_enqueue(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    (void)k;
    return walk_mapping(w->L, &enqueue_table, v, w->base);
}

static void schedule_done(struct walk *w)
{
    struct schedule_config *s = w->base;
    if (!walk_seen(w, "cron")) diags_add(w->L->d, s->pos, "schedule '%s' needs cron:", s->name);
    int actions = (walk_seen(w, "command") != NULL) + (walk_seen(w, "http") != NULL) +
                  (walk_seen(w, "enqueue") != NULL);
    if (actions != 1)
        diags_add(w->L->d, s->pos, "schedule '%s' needs one action: command, http or enqueue%s",
                  s->name, actions ? ", not more" : "");
}

static const char *const overlap_names[] = {"skip", "allow"};
static const struct choices overlaps = {CHOICES(overlap_names)};
_Static_assert(sizeof(enum schedule_overlap) == sizeof(int), "enum schedule_overlap is int-sized");

static const char *const catch_up_names[] = {"none", "last"};
static const struct choices catch_ups = {CHOICES(catch_up_names)};
_Static_assert(sizeof(enum schedule_catch_up) == sizeof(int),
               "enum schedule_catch_up is int-sized");
static const char *const redis_down_names[] = {"skip", "run"};
static const struct choices redis_downs = {CHOICES(redis_down_names)};
_Static_assert(sizeof(enum sched_redis_down) == sizeof(int), "enum sched_redis_down is int-sized");

#define SCHED(f) offsetof(struct schedule_config, f)
static const struct key_def schedule_keys[] = {
    {KEY("cron", key_cron, SCHED(cron))},
    {KEY("tz", key_sched_tz, SCHED(tz))},
    {KEY("command", key_sched_command, SCHED(argv))},
    {KEY("http", key_sched_http, SCHED(http))},
    {KEY("enqueue", key_sched_enqueue, 0)},
    {KEY("timeout", key_duration, SCHED(timeout_ms)), .min = 1},
    {KEY("overlap", key_choice, SCHED(overlap)), .choices = &overlaps},
    {KEY("catch_up", key_choice, SCHED(catch_up)), .choices = &catch_ups},
};
static const struct key_table schedule_table = {KEYS("a schedule", schedule_keys),
                                                .done = schedule_done};

/* schedules: a mapping of name: schedule, names as role names are spelt (they name Redis keys
 * and metrics later). */
static int key_schedules(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    struct loader *L = w->L;
    struct role_config *r = w->base;
    struct pairs ps;
    if (get_pairs(L, n, what_of(k), &ps) < 0) return -1;
    if (ps.n == 0) err_at(L, n, "role '%s': schedules is empty", r->name);
    r->schedules = xcalloc(ps.n ? ps.n : 1, sizeof *r->schedules);
    for (size_t i = 0; i < ps.n; i++) {
        const char *name = ps.p[i].key;
        if (is_extension_key(name)) continue;
        if (!config_role_name_valid(name)) {
            err_at(L, ps.p[i].k,
                   "schedule name '%s' must be letters, digits, '-' and '_' (at most 64, "
                   "starting with a letter or digit)",
                   name);
            continue;
        }
        if (!strcmp(name, "trigger")) {
            /* roster:APP:sched:NAME:* would be roster:APP:sched:trigger:*, the trigger lists:
             * schedule runs's triggers would be this one's runs list */
            err_at(L, ps.p[i].k,
                   "schedule name 'trigger' is reserved (its Redis keys would be those of the "
                   "manual triggers)");
            continue;
        }
        if (r->nschedules == CONFIG_MAX_SCHEDULES) {
            err_at(L, ps.p[i].k, "more than %d schedules, roster's limit", CONFIG_MAX_SCHEDULES);
            break;
        }
        struct schedule_config *s = &r->schedules[r->nschedules++];
        s->name = xstrdup(name);
        s->pos = pos_of(L, ps.p[i].k);
        walk_mapping(L, k->table, ps.p[i].v, s);
    }
    free(ps.p);
    return 0;
}

/* ---- a worker role's queues, handlers, retries and dead list (issue 13) ---- */

/* A name that becomes part of Redis keys (a queue, a job type): spelt as a role name. */
static bool worker_name_ok(struct loader *L, yaml_node_t *at, const char *what, const char *s)
{
    if (config_role_name_valid(s)) return true;
    err_at(L, at,
           "%s name '%s' must be letters, digits, '-' and '_' (at most 64, starting with a letter "
           "or digit)",
           what, s);
    return false;
}

/* Adds a queue once; a repeated name is an error (its weight would be ambiguous). */
static void worker_add_queue(struct loader *L, struct worker_config *wc, yaml_node_t *at,
                             const char *name, int weight)
{
    if (!worker_name_ok(L, at, "queue", name)) return;
    for (size_t i = 0; i < wc->nqueues; i++)
        if (!strcmp(wc->queues[i].name, name)) {
            err_at(L, at, "queue '%s' is listed twice", name);
            return;
        }
    if (wc->nqueues == WORKER_MAX_QUEUES) {
        err_at(L, at, "more than %d queues, roster's limit", WORKER_MAX_QUEUES);
        return;
    }
    wc->queues[wc->nqueues].name = xstrdup(name);
    wc->queues[wc->nqueues++].weight = weight;
}

/* queues: {name: weight, ...} (weights 1..1000), or a list of names (weight 1 each). */
static int key_queues(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    struct loader *L = w->L;
    struct worker_config *wc = &((struct role_config *)w->base)->worker;
    size_t errs = L->d->items.n;
    wc->queues = xcalloc(WORKER_MAX_QUEUES, sizeof *wc->queues);
    if (n->type == YAML_SEQUENCE_NODE || n->type == YAML_SCALAR_NODE) {
        struct items its;
        items_of(L, n, &its);
        for (yaml_node_item_t *it = its.start; it < its.top; it++) {
            yaml_node_t *item = node_at(L, *it);
            char *s = get_str(L, item, "a queue");
            if (s) worker_add_queue(L, wc, item, s, 1);
            free(s);
        }
    } else {
        struct pairs ps;
        if (get_pairs(L, n, what_of(k), &ps) < 0) return -1;
        for (size_t i = 0; i < ps.n; i++) {
            char what[96];
            int weight = 1;
            snprintf(what, sizeof what, "queue '%.64s' weight", ps.p[i].key);
            if (get_int(L, ps.p[i].v, what, 1, 1000, &weight) == 0)
                worker_add_queue(L, wc, ps.p[i].k, ps.p[i].key, weight);
        }
        free(ps.p);
    }
    if (wc->nqueues == 0 && L->d->items.n == errs) err_at(L, n, "queues is empty");
    return L->d->items.n == errs ? 0 : -1;
}

static const char *handler_type(const struct walk *w)
{
    return ((const struct handler_config *)w->base)->type;
}

/* A handler's command: a string (run as a role's string command is) or a list (exec'd as is). */
static int key_handler_command(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct handler_config *h = w->base;
    if (v->type == YAML_SEQUENCE_NODE) {
        int rc = key_str_list(w, k, v);
        if (rc == 0 && h->argv.n == 0) {
            err_at(w->L, v, "handler '%s': command is an empty list", h->type);
            rc = -1;
        }
        return rc;
    }
    char *c = get_str(w->L, v, "command");
    if (c && !*c) {
        err_at(w->L, v, "handler '%s': command is empty", h->type);
        free(c);
        return -1;
    }
    free(h->shell);
    h->shell = c;
    return c ? 0 : -1;
}

static bool http_method_ok(const char *m)
{
    return http_method_known(m, strlen(m));
}

static int key_handler_url(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (s && !http_url_ok(s)) {
        err_at(w->L, v,
               "handler '%s': url must be an http:// or https:// URL with a host and no spaces, "
               "not '%.200s'",
               handler_type(w), s);
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

static int key_handler_method(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (s && !http_method_ok(s)) {
        err_at(w->L, v,
               "handler '%s': method must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (in "
               "capitals), not '%.40s'",
               handler_type(w), s);
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

/* headers: {Name: value}, read as a schedule's are. */
static int key_handler_headers(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    char owner[96];
    (void)k;
    snprintf(owner, sizeof owner, "handler '%s'", handler_type(w));
    return parse_http_headers(w->L, n, &((struct handler_config *)w->base)->headers, owner);
}

/* secret: signs each request; an empty one (an unset ${VAR:-}) would sign with no key at all. */
static int key_handler_secret(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    char *s = get_str(w->L, v, what_of(k));
    if (s && !*s) {
        err_at(w->L, v, "handler '%s': secret is empty (leave it out to send unsigned requests)",
               handler_type(w));
        free(s);
        return -1;
    }
    return set_str(w, k, s);
}

static void handler_http_done(struct walk *w)
{
    if (!walk_seen(w, "url"))
        err_at(w->L, w->map, "handler '%s': http needs url:", handler_type(w));
}

#define HANDLER(f) offsetof(struct handler_config, f)
static const struct key_def handler_http_keys[] = {
    {KEY("url", key_handler_url, HANDLER(url))},
    {KEY("method", key_handler_method, HANDLER(method))},
    {KEY("headers", key_handler_headers, 0)},
    {KEY("secret", key_handler_secret, HANDLER(secret))},
};
static const struct key_table handler_http_table = {KEYS("a handler's http", handler_http_keys),
                                                    .done = handler_http_done};

/* http: "METHOD URL", "URL" (POST), or {url, method, headers, secret}. */
static int key_handler_http(struct walk *w, const struct key_def *k, yaml_node_t *v)
{
    struct handler_config *h = w->base;
    if (v->type == YAML_MAPPING_NODE) return walk_mapping(w->L, k->table, v, h);
    char *s = get_str(w->L, v, what_of(k));
    if (!s) return -1;
    char *sp = strchr(s, ' ');
    const char *url = s;
    if (sp) {
        *sp = '\0';
        url = sp + 1;
        while (*url == ' ')
            url++;
    }
    if ((sp && !http_method_ok(s)) || !http_url_ok(url)) {
        if (sp) *sp = ' ';
        err_at(w->L, v,
               "handler '%s': http must be \"METHOD URL\" (e.g. \"POST "
               "http://127.0.0.1:3000/jobs/email\"), not '%s'",
               h->type, s);
        free(s);
        return -1;
    }
    free(h->method);
    free(h->url);
    h->method = sp ? xstrdup(s) : NULL;
    h->url = xstrdup(url);
    free(s);
    return 0;
}

static void handler_done(struct walk *w)
{
    struct handler_config *h = w->base;
    bool cmd = walk_seen(w, "command") != NULL, http = walk_seen(w, "http") != NULL;
    if (cmd == http)
        diags_add(w->L->d, h->pos, "handler '%s' needs one of command or http%s", h->type,
                  cmd ? ", not both" : "");
    if (http && walk_seen(w, "max_memory"))
        err_at(w->L, walk_seen(w, "max_memory"),
               "handler '%s': max_memory is for a command handler (an http handler's memory is "
               "the app's)",
               h->type);
}

static const struct key_def handler_keys[] = {
    {KEY("command", key_handler_command, HANDLER(argv))},
    {KEY("http", key_handler_http, 0), .table = &handler_http_table},
    {KEY("timeout", key_duration, HANDLER(timeout_ms)), .min = 1},
    {KEY("max_memory", key_size, HANDLER(max_memory)), .min = 1 << 20, .max = 1L << 40},
};
static const struct key_table handler_table = {KEYS("a handler", handler_keys),
                                               .done = handler_done};

/* handlers: a mapping of job type: handler. */
static int key_handlers(struct walk *w, const struct key_def *k, yaml_node_t *n)
{
    struct loader *L = w->L;
    struct worker_config *wc = &((struct role_config *)w->base)->worker;
    struct pairs ps;
    if (get_pairs(L, n, what_of(k), &ps) < 0) return -1;
    wc->handlers = xcalloc(ps.n ? ps.n : 1, sizeof *wc->handlers);
    for (size_t i = 0; i < ps.n; i++) {
        const char *name = ps.p[i].key;
        if (is_extension_key(name)) continue;
        if (!worker_name_ok(L, ps.p[i].k, "job type", name)) continue;
        if (wc->nhandlers == WORKER_MAX_HANDLERS) {
            err_at(L, ps.p[i].k, "more than %d handlers, roster's limit", WORKER_MAX_HANDLERS);
            break;
        }
        struct handler_config *h = &wc->handlers[wc->nhandlers++];
        h->type = xstrdup(name);
        h->pos = pos_of(L, ps.p[i].k);
        walk_mapping(L, k->table, ps.p[i].v, h);
    }
    free(ps.p);
    return 0;
}

static void retry_backoff_done(struct walk *w)
{
    struct worker_config *wc = &((struct role_config *)w->base)->worker;
    if (wc->backoff_initial_ms && wc->backoff_max_ms && wc->backoff_max_ms < wc->backoff_initial_ms)
        err_at(w->L, walk_seen(w, "max"),
               "retry.backoff.max must be at least retry.backoff.initial");
}

static const struct key_def retry_backoff_keys[] = {
    {KEY("initial", key_duration, ROLE(worker.backoff_initial_ms)), .what = "retry.backoff.initial",
     .min = 1},
    {KEY("max", key_duration, ROLE(worker.backoff_max_ms)), .what = "retry.backoff.max", .min = 1},
};
static const struct key_table retry_backoff_table = {KEYS("retry.backoff", retry_backoff_keys),
                                                     .done = retry_backoff_done};
static const struct key_def retry_keys[] = {
    {KEY("max_attempts", key_int, ROLE(worker.max_attempts)), .what = "retry.max_attempts",
     .min = 1, .max = 1000},
    {KEY("backoff", key_section, 0), .table = &retry_backoff_table},
};
static const struct key_table retry_table = {KEYS("retry", retry_keys)};
static const struct key_def dead_keys[] = {
    {KEY("keep", key_duration, ROLE(worker.dead_keep_ms)), .what = "dead.keep", .min = 1000},
    {KEY("max", key_int, ROLE(worker.dead_max)), .what = "dead.max", .min = 1, .max = 10000000},
};
static const struct key_table dead_table = {KEYS("dead", dead_keys)};

/* The keys of builtin: worker, for role_done's checks that no other role uses them. */
static const char *const worker_only_keys[] = {"queues", "concurrency", "handlers", "retry",
                                               "dead"};

/* A worker's defaults, the checks that span its keys, and its keys refused elsewhere. */
static void worker_done(struct walk *w, struct role_config *r)
{
    struct worker_config *wc = &r->worker;
    if (r->builtin != BUILTIN_WORKER) {
        for (size_t i = 0; i < ARRAY_SIZE(worker_only_keys); i++)
            if (walk_seen(w, worker_only_keys[i]))
                err_at(w->L, walk_seen(w, worker_only_keys[i]),
                       "role '%s': %s: is for a role with builtin: worker", r->name,
                       worker_only_keys[i]);
        return;
    }
    if (!w->L->cfg->redis.enabled)
        diags_add(w->L->d, r->pos,
                  "role '%s': builtin: worker needs redis: (its queues live there)", r->name);
    if (!walk_seen(w, "handlers"))
        diags_add(w->L->d, r->pos, "role '%s': builtin: worker needs handlers:", r->name);
    if (!wc->queues) wc->queues = xcalloc(WORKER_MAX_QUEUES, sizeof *wc->queues);
    if (wc->nqueues == 0 && !walk_seen(w, "queues")) {
        wc->queues[0].name = xstrdup("default");
        wc->queues[0].weight = 1;
        wc->nqueues = 1;
    }
    if (!wc->concurrency) wc->concurrency = 1;
    if (!wc->max_attempts) wc->max_attempts = 10;
    if (!wc->backoff_initial_ms) wc->backoff_initial_ms = 5000;
    if (!wc->backoff_max_ms)
        wc->backoff_max_ms = wc->backoff_initial_ms > 3600000 ? wc->backoff_initial_ms : 3600000;
    if (!wc->dead_keep_ms) wc->dead_keep_ms = 7ull * 24 * 3600 * 1000;
    if (!wc->dead_max) wc->dead_max = 10000;
}

static const char *const builtin_names[] = {"scheduler", "worker", "api"};
static const int builtin_values[] = {BUILTIN_SCHEDULER, BUILTIN_WORKER, BUILTIN_API};
static const struct choices builtins = {CHOICES(builtin_names), .values = builtin_values};

static const char *const kind_names[] = {"service", "oneshot"};
static const struct choices kinds = {CHOICES(kind_names)};
static const char *const restart_names[] = {"always", "on-failure", "never"};
static const int restart_values[] = {RESTART_ALWAYS, RESTART_ON_FAILURE, RESTART_NEVER};
/* "no" and false read as never, as docker compose spells it */
static const struct choices restarts = {CHOICES(restart_names), .values = restart_values,
                                        .if_false = "never"};

static const char *const exit_on_end_names[] = {"false", "true", "failure"};
/* exit_on_end: true/false as YAML booleans, or failure */
static const struct choices exit_on_ends = {CHOICES(exit_on_end_names), .if_true = "true",
                                            .if_false = "false"};
static const char *const watch_restart_names[] = {"role", "dependents"};
static const struct choices watch_restarts = {CHOICES(watch_restart_names)};
_Static_assert(sizeof(enum watch_restart) == sizeof(int), "enum watch_restart is int-sized");

/* Keys at offset 0 fill several fields of the role (command), or the role itself (backoff). */
static const struct key_def role_keys[] = {
    {KEY("command", key_command, 0)},
    {KEY("kind", key_choice, ROLE(kind)), .choices = &kinds},
    {KEY("cwd", key_cwd, ROLE(cwd))},
    {KEY("user", key_user, ROLE(user))},
    {KEY("env", key_env, ROLE(env))},
    {KEY("env_file", key_role_env_file, 0)},
    {KEY("port", key_port, ROLE(port)), .min = 1, .max = 65535},
    {KEY("instances", key_int, ROLE(instances)), .min = 1, .max = 1000},
    {KEY("depends_on", key_deps, 0)},
    {KEY("restart", key_choice, ROLE(restart)), .choices = &restarts},
    {KEY("backoff", key_section, 0), .table = &backoff_table},
    {KEY("give_up", key_section, 0), .table = &give_up_table},
    {KEY("stop", key_section, 0), .table = &stop_table},
    {KEY("max_memory", key_size, ROLE(max_memory))},
    {KEY("ready", key_probe, ROLE(ready)), .table = &ready_table},
    {KEY("live", key_probe, ROLE(live)), .table = &live_table},
    {KEY("postgres", key_role_pg, ROLE(pg)), .table = &role_pg_table},
    {KEY("lock", key_lock, ROLE(lock_postgres)), .choices = &locks},
    {KEY("wait_for", key_wait_for, 0)},
    {KEY("exit_on_end", key_choice, ROLE(exit_on_end)), .choices = &exit_on_ends},
    {KEY("watch", key_str_list, ROLE(watch))},
    {KEY("watch_ignore", key_str_list, ROLE(watch_ignore))},
    {KEY("watch_debounce", key_duration, ROLE(watch_debounce_ms))},
    {KEY("watch_restart", key_choice, ROLE(watch_restart)), .choices = &watch_restarts},
    {KEY("tty", key_bool, ROLE(tty))},
    {KEY("color", key_role_color, ROLE(look_color))},
    {KEY("hide", key_bool, ROLE(look_hidden))},
    {KEY("builtin", key_choice, ROLE(builtin)), .choices = &builtins},
    {KEY("schedules", key_schedules, 0), .table = &schedule_table},
    {KEY("history", key_section, 0), .table = &history_table},
    {KEY("queues", key_queues, 0)},
    {KEY("concurrency", key_int, ROLE(worker.concurrency)), .min = 1,
     .max = WORKER_MAX_CONCURRENCY},
    {KEY("handlers", key_handlers, 0), .table = &handler_table},
    {KEY("retry", key_section, 0), .table = &retry_table},
    {KEY("dead", key_section, 0), .table = &dead_table},
    {KEY("redis_down", key_choice, ROLE(redis_down)), .choices = &redis_downs},
    {KEY("public_reads", key_bool, ROLE(api_public_reads))},
    {KEY("max_body", key_size, ROLE(api_max_body)), .min = 64, .max = CONFIG_API_MAX_BODY_MAX},
};
static const struct key_table role_table = {KEYS("a role", role_keys), .extensions = true,
                                            .done = role_done};

static const char *const format_names[] = {"text", "json"};
static const struct choices formats = {CHOICES(format_names)};
static const char *const color_names[] = {"auto", "always", "never"};
/* color: true/false reads naturally too */
static const struct choices colors = {CHOICES(color_names), .if_true = "always",
                                      .if_false = "never"};
static const struct key_def log_keys[] = {
    {KEY("format", key_choice, CFG(log_format)), .what = "log.format", .choices = &formats},
    {KEY("timestamps", key_bool, CFG(timestamps)), .what = "log.timestamps"},
    {KEY("color", key_choice, CFG(color)), .what = "log.color", .choices = &colors},
    {KEY("max_line", key_size, CFG(log_max_line)), .what = "log.max_line", .min = LOG_MAX_LINE_MIN,
     .max = LOG_MAX_LINE_MAX},
};
static const struct key_table log_table = {KEYS("log", log_keys)};

#define LOOK(f) offsetof(struct look_config, f)
static const struct key_def output_keys[] = {
    {KEY("prefix", key_output_prefix, LOOK(prefix)), .what = "output.prefix"},
    {KEY("prefix_length", key_int, LOOK(command_length)), .what = "output.prefix_length",
     .min = 1, .max = 100000},
    {KEY("pad_prefix", key_bool, LOOK(pad)), .what = "output.pad_prefix"},
    {KEY("timestamp_format", key_time_format, LOOK(time_format)),
     .what = "output.timestamp_format"},
    {KEY("raw", key_output_raw, LOOK(raw)), .what = "output.raw"},
    {KEY("group", key_bool, LOOK(group)), .what = "output.group"},
    {KEY("timings", key_bool, LOOK(timings)), .what = "output.timings"},
};
static const struct key_table output_table = {KEYS("output", output_keys), .done = output_done};

static const struct key_def health_keys[] = {
    {KEY("listen", key_listen, CFG(health_listen)), .what = "health.listen"},
};
static const struct key_table health_table = {KEYS("health", health_keys), .null_ok = true};

static const struct key_def control_keys[] = {
    {KEY("socket", key_control_socket, CFG(control_socket)), .what = "control.socket"},
};
static const struct key_table control_table = {KEYS("control", control_keys)};

static const char *const interrupted_names[] = {"status", "success"};
static const struct choices interrupteds = {CHOICES(interrupted_names)};
#define EXIT(f) offsetof(struct exit_config, f)
static const struct key_def exit_keys[] = {
    {KEY("success", key_exit_success, 0), .what = "exit.success"},
    {KEY("interrupted", key_choice, EXIT(interrupted)), .what = "exit.interrupted",
     .choices = &interrupteds},
};
static const struct key_table exit_table = {KEYS("exit", exit_keys)};

#define PG(f) offsetof(struct postgres_config, f)
static const struct key_def pg_keys[] = {
    {KEY("url", key_pg_url, PG(url)), .what = "postgres.url"},
    {KEY("budget", key_budget, PG(budget)), .what = "postgres.budget (a number or auto)", .min = 1,
     .max = 100000},
    {KEY("headroom", key_int, PG(headroom)), .what = "postgres.headroom", .min = 0, .max = 100000},
    {KEY("instances", key_pg_instances, 0), .what = "postgres.instances", .min = 0, .max = 10000},
    {KEY("sample_every", key_duration, PG(sample_every_ms)), .what = "postgres.sample_every",
     .min = 100},
    {KEY("required", key_bool, PG(required)), .what = "postgres.required"},
};
static const struct key_table pg_table = {KEYS("postgres", pg_keys), .null_ok = true,
                                          .done = pg_done};

#define REDIS(f) offsetof(struct redis_config, f)
static const struct key_def redis_keys[] = {
    /* read last, as it always was: an error in the url comes after the others */
    {KEY("url", key_redis_url, REDIS(url)), .what = "redis.url", .flags = KEY_LAST},
    {KEY("required", key_bool, REDIS(required)), .what = "redis.required"},
};
static const struct key_table redis_table = {KEYS("redis", redis_keys), .null_ok = true,
                                             .done = redis_done};

static const struct key_def top_keys[] = {
    {KEY("app", key_app, CFG(app))},
    {KEY("env_file", key_top_env_file, 0), .flags = KEY_FIRST},
    {KEY("env", key_env, CFG(env))},
    {KEY("log", key_section, 0), .table = &log_table},
    {KEY("output", key_section, CFG(look)), .table = &output_table},
    {KEY("max_processes", key_max_processes, 0)},
    {KEY("teardown", key_str_list, CFG(teardown))},
    {KEY("health", key_section, 0), .table = &health_table},
    {KEY("control", key_section, 0), .table = &control_table},
    {KEY("shutdown_timeout", key_duration, CFG(shutdown_timeout_ms))},
    {KEY("exit", key_section, CFG(exit)), .table = &exit_table},
    {KEY("input", key_input, CFG(input))},
    {KEY("postgres", key_section, CFG(pg)), .table = &pg_table},
    {KEY("redis", key_section, CFG(redis)), .table = &redis_table},
    /* last: every role sees the whole top level (its env, its env_file variables) */
    {KEY("roles", key_roles, 0), .table = &role_table, .flags = KEY_LAST},
};
const struct key_table top_table = {KEYS("the config", top_keys), .extensions = true,
                                    .done = top_done};
