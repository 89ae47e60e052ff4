/* config.c — finding the config file, defaults, and what both loaders share. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/dotenv.h"
#include "os/private.h"

void config_role_defaults(struct role_config *r)
{
    memset(r, 0, sizeof *r);
    r->kind = ROLE_SERVICE;
    r->port = -1;
    r->instances = 1;
    r->restart = RESTART_DEFAULT;
    r->backoff_initial_ms = 100;
    r->backoff_max_ms = 30000;
    r->backoff_reset_ms = 30000;
    r->give_up_after = 10;
    r->give_up_within_ms = 60000;
    r->give_up_then = GIVEUP_EXIT;
    r->stop_signal = SIGTERM;
    r->stop_timeout_ms = 10000;
    r->ready.every_ms = 500;
    r->ready.timeout_ms = 60000;
    r->ready.attempt_timeout_ms = 2000;
    r->live.every_ms = 10000;
    r->live.timeout_ms = 5000;
    r->live.failures = 3;
    r->pg.mode = PGROLE_DEFAULT;
    r->pg.weight = 1;
    r->watch_debounce_ms = 200;
}

void config_role_dev_defaults(struct role_config *r)
{
    r->give_up_after = CONFIG_DEV_GIVE_UP_AFTER;
    r->give_up_within_ms = CONFIG_DEV_GIVE_UP_WITHIN_MS;
    r->give_up_then = GIVEUP_STAY;
}

void config_defaults(struct roster_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->log_format = LOG_TEXT;
    cfg->log_max_line = LOG_MAX_LINE_DEFAULT;
    cfg->color = COLOR_AUTO;
    cfg->shutdown_timeout_ms = 25000;
    cfg->pg.budget_auto = true;
    cfg->pg.headroom = 3;
    cfg->pg.sample_every_ms = 10000;
    cfg->pg.required = true;
    cfg->redis.required = true;
    cfg->look.command_length = 10;
}

/* The app's default name: its directory's name (the parent's when the config sits in config/),
 * cut to what PGAPPNAME, metric labels and socket names accept. */
static char *default_app_name(const char *dir)
{
    char *abs = realpath(dir && *dir ? dir : ".", NULL);
    char *copy = xstrdup(abs ? abs : ".");
    char *base = basename(copy);
    if (!strcmp(base, "config")) {
        char *copy2 = xstrdup(abs ? abs : ".");
        char *parent = dirname(copy2);
        char *pb = basename(parent);
        base = xstrdup(pb);
        free(copy2);
    } else {
        base = xstrdup(base);
    }
    free(copy);
    free(abs);
    sbuf b;
    sbuf_init(&b);
    for (const char *c = base; *c && b.len < 40; c++) {
        if (isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.')
            sbuf_putc(&b, (char)tolower((unsigned char)*c));
        else
            sbuf_putc(&b, '-');
    }
    free(base);
    if (b.len == 0 || !strcmp(b.data, "/") || !strcmp(b.data, "-")) {
        sbuf_free(&b);
        return xstrdup("app");
    }
    return sbuf_detach(&b);
}

char *config_locate(const struct config_opts *opts, bool *procfile, diags *d)
{
    *procfile = false;
    if (opts->procfile) {
        *procfile = true;
        return xstrdup(opts->procfile);
    }
    if (opts->path) {
        const char *base = strrchr(opts->path, '/');
        base = base ? base + 1 : opts->path;
        *procfile = !strcmp(base, "Procfile") || str_has_prefix(base, "Procfile.");
        return xstrdup(opts->path);
    }
    const char *env = NULL;
    for (char **e = opts->environ_; e && *e; e++)
        if (str_has_prefix(*e, "ROSTER_CONFIG=")) env = *e + 14;
    if (env && *env) return xstrdup(env);
    static const char *const candidates[] = {"roster.yaml", "roster.yml", "config/roster.yaml",
                                             "config/roster.yml"};
    for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
        if (access(candidates[i], F_OK) == 0) return xstrdup(candidates[i]);
    if (access("Procfile", F_OK) == 0) {
        *procfile = true;
        return xstrdup("Procfile");
    }
    diags_add(d, (src_pos){0},
              "roster: no config found (looked for -c FILE, $ROSTER_CONFIG, ./roster.yaml, "
              "./config/roster.yaml and ./Procfile)");
    return NULL;
}

void config_finish(struct roster_config *cfg, char **environ_)
{
    if (!cfg->app) cfg->app = default_app_name(cfg->dir);
    if (!cfg->control_socket && !cfg->control_off) {
        cfg->control_socket = config_default_socket(cfg->app, cfg->dir, environ_);
        cfg->control_default = true;
    }
}

int config_load(const struct config_opts *opts, struct roster_config *cfg, diags *d)
{
    config_defaults(cfg);
    cfg->dev = opts->dev;
    bool procfile;
    char *path = config_locate(opts, &procfile, d);
    if (!path) return -1;
    cfg->path = path;
    char *dcopy = xstrdup(path);
    cfg->dir = xstrdup(dirname(dcopy));
    free(dcopy);
    cfg->procfile = procfile;

    envmap vars = {0};
    envmap_from_environ(&vars, opts->environ_);
    int rc = 0;
    for (size_t i = 0; i < opts->env_files.n; i++) {
        envmap fenv = {0};
        struct dotenv_error de;
        switch (dotenv_load(opts->env_files.v[i], &fenv, &de)) {
        case DOTENV_OK: break;
        case DOTENV_ESYNTAX:
            diags_add(d, (src_pos){opts->env_files.v[i], de.line, de.col}, "%s", de.msg);
            rc = -1;
            break;
        case DOTENV_EREAD:
            diags_add(d, (src_pos){opts->env_files.v[i], 0, 0}, "--env-file: cannot read: %s",
                      de.msg);
            rc = -1;
            break;
        }
        for (size_t j = 0; j < fenv.n; j++)
            if (envmap_set_default(&vars, fenv.v[j].key, fenv.v[j].val))
                envmap_set(&cfg->file_env, fenv.v[j].key, fenv.v[j].val);
        strvec_pushdup(&cfg->env_files, opts->env_files.v[i]);
        envmap_free(&fenv);
    }

    char *text = NULL;
    size_t len = 0;
    int r = read_file(path, CONFIG_MAX_FILE, &text, &len);
    /* Without the file's text the socket's path is a guess (app: may name it). */
    cfg->socket_unsure = r < 0 || memchr(text, '\0', len);
    if (r == -EFBIG) {
        diags_add(d, (src_pos){path, 0, 0},
                  "config is larger than 1 MiB, roster's limit for a config file");
        rc = -1;
    } else if (r < 0) {
        diags_add(d, (src_pos){path, 0, 0}, "cannot read config: %s", strerror(-r));
        rc = -1;
    } else if (memchr(text, '\0', len)) {
        diags_add(d, (src_pos){path, 0, 0}, "config contains a NUL byte; is it a text file?");
        rc = -1;
    } else if (procfile) {
        if (config_load_procfile(path, text, len, &vars, cfg, d) < 0) rc = -1;
    } else {
        if (config_load_yaml(path, text, len, &vars, cfg, d) < 0) rc = -1;
    }
    /* foreman's -m belongs to Procfiles; a roster.yaml says instances: per role */
    if (opts->formation && !procfile) {
        diags_add(d, (src_pos){path, 0, 0},
                  "--formation is for Procfile mode; in a roster.yaml set instances: on each "
                  "role");
        rc = -1;
    } else if (opts->formation && r >= 0 && config_apply_formation(cfg, opts->formation, d) < 0) {
        rc = -1;
    }
    free(text);
    envmap_free(&vars);
    config_finish(cfg, opts->environ_);
    return rc;
}

/* FNV-1a, 32 bits: enough to tell a user's checkouts apart in a file name, not a secret. */
static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

char *config_socket_dir(const char *xdg, bool xdg_private, const char *tmpdir, unsigned long uid)
{
    if (xdg && xdg[0] == '/' && xdg_private) return xasprintf("%s/roster", xdg);
    return xasprintf("%s/roster-%lu", tmpdir && *tmpdir ? tmpdir : "/tmp", uid);
}

char *config_default_socket(const char *app, const char *dir, char **environ_)
{
    const char *tmp = NULL, *xdg = NULL;
    for (char **e = environ_; e && *e; e++) {
        if (str_has_prefix(*e, "TMPDIR=")) tmp = *e + 7;
        if (str_has_prefix(*e, "XDG_RUNTIME_DIR=")) xdg = *e + 16;
    }
    /* $XDG_RUNTIME_DIR only when it is what it promises: ours, and closed to others */
    uid_t uid = geteuid();
    struct stat st;
    bool xdg_private = xdg && *xdg == '/' && private_dir(xdg, uid, false, &st) == PRIVATE_OK;
    /* The real path, so `-c ./roster.yaml`, an absolute -c and a symlinked checkout all name
     * the roster that the server side named. */
    char *abs = realpath(dir && *dir ? dir : ".", NULL);
    uint32_t h = fnv1a(abs ? abs : dir ? dir : ".");
    free(abs);
    char *sdir = config_socket_dir(xdg, xdg_private, tmp, (unsigned long)uid);
    char *path = xasprintf("%s/%s-%08x.sock", sdir, app, h);
    free(sdir);
    /* A directory too deep for a unix socket gives way to /tmp's, which always fits (an app
     * name is at most 63 bytes); roster check shows the path chosen. */
    if (strlen(path) > CONFIG_SOCKET_PATH_MAX) {
        free(path);
        sdir = config_socket_dir(NULL, false, NULL, (unsigned long)uid);
        path = xasprintf("%s/%s-%08x.sock", sdir, app, h);
        free(sdir);
    }
    return path;
}

bool config_role_name_valid(const char *s)
{
    if (!*s || strlen(s) > CONFIG_ROLE_NAME_MAX) return false;
    if (!isalnum((unsigned char)s[0])) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

int config_parse_target(const char *s, char name[CONFIG_ROLE_NAME_MAX + 1], int *instance)
{
    const char *dot = strchr(s, '.');
    size_t n = dot ? (size_t)(dot - s) : strlen(s);
    if (n == 0 || n > CONFIG_ROLE_NAME_MAX) return -1;
    memcpy(name, s, n);
    name[n] = '\0';
    if (!config_role_name_valid(name)) return -1;
    *instance = -1;
    if (!dot) return 0;
    /* N as roster prints it: digits, no sign, no leading zero, at most 6 of them */
    const char *d = dot + 1;
    size_t nd = strlen(d);
    if (nd == 0 || nd > 6 || (d[0] == '0' && nd > 1)) return -1;
    int v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9') return -1;
        v = v * 10 + (*d - '0');
    }
    *instance = v;
    return 0;
}

void config_finish_roles(struct roster_config *cfg)
{
    for (size_t i = 0; i < cfg->nroles; i++) {
        struct role_config *ro = &cfg->roles[i];
        /* the default restart policy depends on the kind, known only now */
        if (ro->restart == RESTART_DEFAULT)
            ro->restart = ro->kind == ROLE_ONESHOT ? RESTART_NEVER : RESTART_ALWAYS;
        if (!ro->pg.url_env) ro->pg.url_env = xstrdup("DATABASE_URL");
        /* "N:text" may reach any role, as concurrently's -i lets it reach any command */
        if (cfg->input) ro->stdin_pipe = true;
    }
}

int config_check_copies(const struct roster_config *cfg, diags *d)
{
    long total = 0;
    for (size_t i = 0; i < cfg->nroles; i++) {
        total += cfg->roles[i].instances;
        if (total > CONFIG_MAX_COPIES) {
            diags_add(d, cfg->roles[i].pos,
                      "role '%s': its instances bring the copies of all roles to %ld, more than "
                      "%d, roster's limit",
                      cfg->roles[i].name, total, CONFIG_MAX_COPIES);
            return -1;
        }
    }
    return 0;
}

struct role_config *config_find_role(const struct roster_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nroles; i++)
        if (!strcmp(cfg->roles[i].name, name)) return &cfg->roles[i];
    return NULL;
}

static void probe_free(struct probe_config *p)
{
    free(p->target);
}

void config_role_free(struct role_config *r)
{
    free(r->name);
    free(r->shell);
    strvec_free(&r->argv);
    free(r->cwd);
    free(r->user);
    envmap_free(&r->env);
    envmap_free(&r->file_env);
    strvec_free(&r->env_files);
    for (size_t i = 0; i < r->ndeps; i++)
        free(r->deps[i].role);
    free(r->deps);
    probe_free(&r->ready);
    probe_free(&r->live);
    strvec_free(&r->pg.pool_env);
    free(r->pg.url_env);
    free(r->pg.url_param);
    free(r->look_name);
    free(r->look_color);
    strvec_free(&r->watch);
    strvec_free(&r->watch_ignore);
    for (size_t i = 0; i < r->nschedules; i++) {
        struct schedule_config *s = &r->schedules[i];
        free(s->name);
        free(s->cron);
        free(s->tz);
        free(s->shell);
        strvec_free(&s->argv);
        free(s->http);
        free(s->req.method);
        free(s->req.url);
        strvec_free(&s->req.headers);
        free(s->req.body);
        free(s->enq.queue);
        free(s->enq.type);
        free(s->enq.payload);
    }
    free(r->schedules);
    for (size_t i = 0; i < r->worker.nqueues; i++)
        free(r->worker.queues[i].name);
    free(r->worker.queues);
    for (size_t i = 0; i < r->worker.nhandlers; i++) {
        struct handler_config *h = &r->worker.handlers[i];
        free(h->type);
        free(h->shell);
        strvec_free(&h->argv);
        free(h->method);
        free(h->url);
        strvec_free(&h->headers);
        free(h->secret);
    }
    free(r->worker.handlers);
}

void config_free(struct roster_config *cfg)
{
    for (size_t i = 0; i < cfg->nroles; i++)
        config_role_free(&cfg->roles[i]);
    free(cfg->roles);
    free(cfg->path);
    free(cfg->dir);
    free(cfg->app);
    strvec_free(&cfg->env_files);
    envmap_free(&cfg->env);
    envmap_free(&cfg->file_env);
    free(cfg->exit.role);
    free(cfg->input);
    free(cfg->look.prefix);
    free(cfg->look.time_format);
    strvec_free(&cfg->teardown);
    free(cfg->health_listen);
    free(cfg->control_socket);
    free(cfg->pg.url);
    for (size_t i = 0; i < cfg->pg.ninstances; i++)
        free(cfg->pg.instances[i].role);
    free(cfg->pg.instances);
    free(cfg->redis.url);
    memset(cfg, 0, sizeof *cfg);
}

const char *dep_cond_name(enum dep_cond c)
{
    switch (c) {
    case DEP_STARTED: return "started";
    case DEP_READY: return "ready";
    case DEP_COMPLETED: return "completed";
    }
    return "?";
}

const char *restart_policy_name(enum restart_policy p)
{
    switch (p) {
    case RESTART_DEFAULT: return "default";
    case RESTART_ALWAYS: return "always";
    case RESTART_ON_FAILURE: return "on-failure";
    case RESTART_NEVER: return "never";
    }
    return "?";
}

const char *probe_kind_name(enum probe_kind k)
{
    switch (k) {
    case PROBE_NONE: return "none";
    case PROBE_HTTP: return "http";
    case PROBE_TCP: return "tcp";
    case PROBE_EXEC: return "exec";
    case PROBE_LOG: return "log";
    case PROBE_NOTIFY: return "notify";
    }
    return "?";
}

const char *give_up_then_name(enum give_up_then t)
{
    switch (t) {
    case GIVEUP_EXIT: return "exit";
    case GIVEUP_STAY: return "stay";
    case GIVEUP_CONTINUE: return "continue";
    }
    return "?";
}

const char *exit_on_end_name(enum exit_on_end e)
{
    switch (e) {
    case EXIT_ON_END_NEVER: return "false";
    case EXIT_ON_END_ALWAYS: return "true";
    case EXIT_ON_END_FAILURE: return "failure";
    }
    return "?";
}

char *exit_success_text(const struct exit_config *e)
{
    switch (e->success) {
    case EXIT_SUCCESS_ALL: return xstrdup("all");
    case EXIT_SUCCESS_FIRST: return xstrdup("first");
    case EXIT_SUCCESS_LAST: return xstrdup("last");
    case EXIT_SUCCESS_ROLE: return xstrdup(e->role ? e->role : "?");
    case EXIT_SUCCESS_NOT_ROLE: return xasprintf("!%s", e->role ? e->role : "?");
    }
    return xstrdup("?");
}
