/* test_config.c — roster.yaml and Procfile loading: every field of a full config, and the exact
 * "FILE:LINE:COL: message" each kind of mistake produces. */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "base/diag.h"
#include "base/envmap.h"
#include "base/util.h"
#include "t.h"

/* Loads YAML text as "roster.yaml" in dir (NULL: none) with vars (NULL: none). Returns the
 * loader's result; the diagnostics, joined by newlines, go to *diag_text (caller frees). */
static int load_yaml_in(const char *dir, const char *text, const envmap *vars,
                        struct roster_config *cfg, char **diag_text)
{
    envmap none = {0};
    diags d = {0};
    config_defaults(cfg);
    cfg->path = xstrdup("roster.yaml");
    cfg->dir = xstrdup(dir);
    int rc = config_load_yaml(cfg->path, text, strlen(text), vars ? vars : &none, cfg, &d);
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < d.items.n; i++)
        sbuf_printf(&b, "%s%s", i ? "\n" : "", d.items.v[i]);
    *diag_text = sbuf_detach(&b);
    diags_free(&d);
    return rc;
}

static int load_yaml(const char *text, const envmap *vars, struct roster_config *cfg,
                     char **diag_text)
{
    return load_yaml_in(NULL, text, vars, cfg, diag_text);
}

/* ---- a full config ---- */

static const char full_yaml[] =
    "app: perfdash\n"
    "x-defaults: &defaults\n"
    "  restart: on-failure\n"
    "  stop: {signal: INT, timeout: 5s}\n"
    "env: {NODE_ENV: production, BLANK: }\n"
    "log: {format: json, timestamps: true, color: never, max_line: 2KiB}\n"
    "health: {listen: \"0.0.0.0:${ROSTER_HEALTH_PORT:-9090}\"}\n"
    "control: {socket: /tmp/roster-perfdash.sock}\n"
    "shutdown_timeout: 25s\n"
    "postgres:\n"
    "  url: ${DATABASE_URL}\n"
    "  budget: 22\n"
    "  headroom: 4\n"
    "  instances: {api: 2, worker: 1}\n"
    "  sample_every: 15s\n"
    "redis:\n"
    "  url: ${REDIS_URL}\n"
    "roles:\n" /* line 18 */
    "  migrate:\n"
    "    kind: oneshot\n"
    "    command: npx prisma migrate deploy\n"
    "    lock: postgres\n"
    "  api:\n" /* line 23 */
    "    command: node dist/index.js\n"
    "    port: ${PORT:-3000}\n"
    "    depends_on: {migrate: completed}\n"
    "    ready: {http: \"http://127.0.0.1:3000/health\", timeout: 60s}\n"
    "    live: {http: \"http://127.0.0.1:3000/health\", every: 10s, failures: 5}\n"
    "    postgres: {weight: 3, url_param: connection_limit}\n"
    "    env:\n"
    "      - API_MODE=full\n"
    "      - EQ=a=b\n"
    "  worker:\n" /* line 33 */
    "    <<: *defaults\n"
    "    command: [node, dist/worker.js, \"--queue=${QUEUE:-default}\"]\n"
    "    instances: 2\n"
    "    depends_on: [migrate, api]\n"
    "    postgres: {weight: 2, pool_env: [DB_POOL_SIZE, POOL]}\n"
    "    max_memory: 400MiB\n"
    "    stop: {signal: TERM, timeout: 20s}\n"
    "    backoff: {initial: 200ms, max: 1m, reset_after: 2m}\n"
    "    give_up: {after: 5, within: 30s, then: stay}\n"
    "    env: {QUEUE: default, EMPTY: }\n"
    "    wait_for: [postgres, redis]\n"
    "    cwd: /srv/app\n"
    "  cron:\n" /* line 46 */
    "    <<: *defaults\n"
    "    command: ./cron.sh $1 $$HOME\n"
    "    ready: {notify: true}\n"
    "    live: {watchdog: 30s}\n"
    "    postgres: false\n"
    "    x-note: ignored\n"
    "    depends_on:\n"
    "      api: {condition: ready}\n"
    "  fixed:\n"
    "    command: ./fixed\n"
    "    postgres: {connections: 4, url_env: OTHER_URL}\n"
    "    ready: {tcp: \"127.0.0.1:5000\", every: 1s, attempt_timeout: 3s}\n"
    "    live: {exec: \"test -f /tmp/ok\"}\n"
    "    restart: never\n";

static void test_full_config(void)
{
    envmap vars = {0};
    envmap_set(&vars, "DATABASE_URL", "postgres://u:secret@db:5432/app");
    envmap_set(&vars, "REDIS_URL", "redis://:pw@cache:6379/0");
    struct roster_config cfg;
    char *dt;
    int rc = load_yaml(full_yaml, &vars, &cfg, &dt);
    CHECK_INT(rc, 0);
    CHECK_STR(dt, "");
    free(dt);

    CHECK_STR(cfg.app, "perfdash");
    CHECK_INT(cfg.env.n, 2);
    CHECK_STR(envmap_get(&cfg.env, "NODE_ENV"), "production");
    CHECK_STR(envmap_get(&cfg.env, "BLANK"), "");
    CHECK_INT(cfg.log_format, LOG_JSON);
    CHECK(cfg.timestamps);
    CHECK_INT(cfg.color, COLOR_NEVER);
    CHECK_INT(cfg.log_max_line, 2048);
    CHECK_STR(cfg.health_listen, "0.0.0.0:9090");
    CHECK_STR(cfg.control_socket, "/tmp/roster-perfdash.sock");
    CHECK_INT(cfg.shutdown_timeout_ms, 25000);

    CHECK(cfg.pg.enabled);
    CHECK_STR(cfg.pg.url, "postgres://u:secret@db:5432/app");
    CHECK(!cfg.pg.budget_auto);
    CHECK_INT(cfg.pg.budget, 22);
    CHECK_INT(cfg.pg.headroom, 4);
    CHECK_INT(cfg.pg.sample_every_ms, 15000);
    CHECK(cfg.pg.required);
    CHECK_INT(cfg.pg.ninstances, 2);
    if (cfg.pg.ninstances == 2) {
        CHECK_STR(cfg.pg.instances[0].role, "api");
        CHECK_INT(cfg.pg.instances[0].copies, 2);
        CHECK_STR(cfg.pg.instances[1].role, "worker");
        CHECK_INT(cfg.pg.instances[1].copies, 1);
        CHECK_INT(cfg.pg.instances[1].pos.line, 14);
    }
    CHECK(cfg.redis.enabled);
    CHECK_STR(cfg.redis.url, "redis://:pw@cache:6379/0");

    CHECK_INT(cfg.nroles, 5);
    if (cfg.nroles != 5) goto out;

    struct role_config *m = config_find_role(&cfg, "migrate");
    CHECK(m == &cfg.roles[0]);
    CHECK_STR(m->name, "migrate");
    CHECK_INT(m->pos.line, 19);
    CHECK_INT(m->pos.col, 3);
    CHECK_INT(m->kind, ROLE_ONESHOT);
    CHECK_STR(m->shell, "npx prisma migrate deploy");
    CHECK_INT(m->argv.n, 0);
    CHECK_INT(m->command_pos.line, 21);
    CHECK_INT(m->command_pos.col, 14);
    CHECK(m->lock_postgres);
    CHECK_INT(m->restart, RESTART_NEVER); /* a oneshot's default */
    CHECK_INT(m->port, -1);
    CHECK_INT(m->instances, 1);
    CHECK_INT(m->pg.mode, PGROLE_DEFAULT);

    struct role_config *a = &cfg.roles[1];
    CHECK_STR(a->name, "api");
    CHECK_INT(a->kind, ROLE_SERVICE);
    CHECK_STR(a->shell, "node dist/index.js");
    CHECK_INT(a->port, 3000);
    CHECK_INT(a->ndeps, 1);
    if (a->ndeps == 1) {
        CHECK_STR(a->deps[0].role, "migrate");
        CHECK_INT(a->deps[0].cond, DEP_COMPLETED);
        CHECK_INT(a->deps[0].pos.line, 26);
        CHECK_INT(a->deps[0].pos.col, 18);
    }
    CHECK_INT(a->ready.kind, PROBE_HTTP);
    CHECK_STR(a->ready.target, "http://127.0.0.1:3000/health");
    CHECK_INT(a->ready.timeout_ms, 60000);
    CHECK_INT(a->ready.every_ms, 500); /* default */
    CHECK_INT(a->live.kind, PROBE_HTTP);
    CHECK_INT(a->live.every_ms, 10000);
    CHECK_INT(a->live.failures, 5);
    CHECK_INT(a->live.timeout_ms, 5000);
    CHECK_INT(a->pg.mode, PGROLE_WEIGHT);
    CHECK_INT(a->pg.weight, 3);
    CHECK_STR(a->pg.url_param, "connection_limit");
    CHECK_STR(a->pg.url_env, "DATABASE_URL"); /* the default */
    CHECK_INT(a->env.n, 2);
    CHECK_STR(envmap_get(&a->env, "API_MODE"), "full");
    CHECK_STR(envmap_get(&a->env, "EQ"), "a=b");
    CHECK_INT(a->restart, RESTART_ALWAYS); /* a service's default */
    CHECK_INT(a->stop_signal, SIGTERM);
    CHECK_INT(a->stop_timeout_ms, 10000);
    CHECK_INT(a->backoff_initial_ms, 100);
    CHECK_INT(a->backoff_max_ms, 30000);
    CHECK_INT(a->give_up_after, 10);
    CHECK_INT(a->give_up_within_ms, 60000);
    CHECK_INT(a->give_up_then, GIVEUP_EXIT);
    CHECK_INT(a->max_memory, 0);

    struct role_config *w = &cfg.roles[2];
    CHECK_STR(w->name, "worker");
    CHECK(w->shell == NULL);
    CHECK_INT(w->argv.n, 3);
    if (w->argv.n == 3) {
        CHECK_STR(w->argv.v[0], "node");
        CHECK_STR(w->argv.v[1], "dist/worker.js");
        CHECK_STR(w->argv.v[2], "--queue=default");
        CHECK(w->argv.v[3] == NULL);
    }
    CHECK_INT(w->instances, 2);
    CHECK_INT(w->ndeps, 2);
    if (w->ndeps == 2) {
        CHECK_STR(w->deps[0].role, "migrate");
        CHECK_INT(w->deps[0].cond, DEP_STARTED);
        CHECK_STR(w->deps[1].role, "api");
        CHECK_INT(w->deps[1].cond, DEP_STARTED);
    }
    CHECK_INT(w->pg.mode, PGROLE_WEIGHT);
    CHECK_INT(w->pg.weight, 2);
    CHECK_INT(w->pg.pool_env.n, 2);
    if (w->pg.pool_env.n == 2) {
        CHECK_STR(w->pg.pool_env.v[0], "DB_POOL_SIZE");
        CHECK_STR(w->pg.pool_env.v[1], "POOL");
    }
    CHECK_INT(w->max_memory, 400ull << 20);
    CHECK_INT(w->stop_signal, SIGTERM); /* its own stop wins over the merged one */
    CHECK_INT(w->stop_timeout_ms, 20000);
    CHECK_INT(w->restart, RESTART_ON_FAILURE); /* from <<: *defaults */
    CHECK_INT(w->backoff_initial_ms, 200);
    CHECK_INT(w->backoff_max_ms, 60000);
    CHECK_INT(w->backoff_reset_ms, 120000);
    CHECK_INT(w->give_up_after, 5);
    CHECK_INT(w->give_up_within_ms, 30000);
    CHECK_INT(w->give_up_then, GIVEUP_STAY);
    CHECK_STR(envmap_get(&w->env, "QUEUE"), "default");
    CHECK_STR(envmap_get(&w->env, "EMPTY"), "");
    CHECK(w->wait_postgres);
    CHECK(w->wait_redis);
    CHECK_STR(w->cwd, "/srv/app");

    struct role_config *c = &cfg.roles[3];
    CHECK_STR(c->name, "cron");
    CHECK_STR(c->shell, "./cron.sh $1 $HOME"); /* $1 kept, $$ is a literal $ */
    CHECK_INT(c->restart, RESTART_ON_FAILURE);
    CHECK_INT(c->stop_signal, SIGINT);
    CHECK_INT(c->stop_timeout_ms, 5000);
    CHECK_INT(c->ready.kind, PROBE_NOTIFY);
    CHECK_INT(c->live.kind, PROBE_NOTIFY);
    CHECK_INT(c->live.watchdog_ms, 30000);
    CHECK_INT(c->pg.mode, PGROLE_OFF);
    CHECK_INT(c->ndeps, 1);
    if (c->ndeps == 1) {
        CHECK_STR(c->deps[0].role, "api");
        CHECK_INT(c->deps[0].cond, DEP_READY);
    }
    CHECK(!c->wait_postgres && !c->wait_redis && !c->lock_postgres);

    struct role_config *f = &cfg.roles[4];
    CHECK_INT(f->pg.mode, PGROLE_FIXED);
    CHECK_INT(f->pg.connections, 4);
    CHECK_STR(f->pg.url_env, "OTHER_URL");
    CHECK(f->pg.url_param == NULL);
    CHECK_INT(f->ready.kind, PROBE_TCP);
    CHECK_STR(f->ready.target, "127.0.0.1:5000");
    CHECK_INT(f->ready.every_ms, 1000);
    CHECK_INT(f->ready.attempt_timeout_ms, 3000);
    CHECK_INT(f->live.kind, PROBE_EXEC);
    CHECK_STR(f->live.target, "test -f /tmp/ok");
    CHECK_INT(f->restart, RESTART_NEVER);

    CHECK(config_find_role(&cfg, "nope") == NULL);
out:
    config_free(&cfg);

    /* the same config with PORT and ROSTER_HEALTH_PORT set */
    envmap_set(&vars, "PORT", "8080");
    envmap_set(&vars, "ROSTER_HEALTH_PORT", "9191");
    envmap_set(&vars, "QUEUE", "mail");
    rc = load_yaml(full_yaml, &vars, &cfg, &dt);
    CHECK_INT(rc, 0);
    CHECK_STR(dt, "");
    free(dt);
    if (cfg.nroles == 5) {
        CHECK_INT(cfg.roles[1].port, 8080);
        CHECK_STR(cfg.roles[2].argv.v[2], "--queue=mail");
        /* a literal env: value stays what the config says, whatever the environment holds */
        CHECK_STR(envmap_get(&cfg.roles[2].env, "QUEUE"), "default");
    }
    CHECK_STR(cfg.health_listen, "0.0.0.0:9191");
    config_free(&cfg);
    envmap_free(&vars);
}

/* Smaller shapes that are valid. */
static void test_valid_shapes(void)
{
    struct roster_config cfg;
    char *dt;

    /* defaults when nothing is said */
    CHECK_INT(load_yaml("roles:\n  web:\n    command: ./web\n", NULL, &cfg, &dt), 0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK(cfg.app == NULL); /* config_load derives it from the directory */
    CHECK_INT(cfg.log_format, LOG_TEXT);
    CHECK(!cfg.timestamps);
    CHECK_INT(cfg.color, COLOR_AUTO);
    CHECK_INT(cfg.log_max_line, 64 * 1024);
    CHECK_INT(cfg.shutdown_timeout_ms, 25000);
    CHECK(cfg.health_listen == NULL);
    CHECK(!cfg.pg.enabled);
    CHECK(cfg.pg.budget_auto);
    CHECK(!cfg.redis.enabled);
    CHECK_INT(cfg.nroles, 1);
    if (cfg.nroles == 1) {
        CHECK_INT(cfg.roles[0].ready.kind, PROBE_NONE);
        CHECK_INT(cfg.roles[0].live.kind, PROBE_NONE);
        CHECK_INT(cfg.roles[0].port, -1);
    }
    config_free(&cfg);

    /* env as a list, health as a bare port, color as a boolean, budget auto, ready.notify false,
     * a merge from a list of anchors, and depends_on entries with no condition */
    const char *text = "x-a: &a {restart: never}\n"
                       "x-b: &b {kind: oneshot, restart: always}\n"
                       "env: [A=1, B=]\n"
                       "health: {listen: \"9000\"}\n"
                       "log: {color: true}\n"
                       "postgres: {url: \"postgresql://h/db\", budget: auto}\n"
                       "redis: {url: \"\"}\n"
                       "roles:\n"
                       "  one:\n"
                       "    <<: [*a, *b]\n"
                       "    command: ./one\n"
                       "    ready: {notify: false}\n"
                       "  two:\n"
                       "    command: ./two\n"
                       "    depends_on: {one: }\n"
                       "    wait_for: postgres\n"
                       "    postgres: true\n";
    CHECK_INT(load_yaml(text, NULL, &cfg, &dt), 0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_STR(envmap_get(&cfg.env, "A"), "1");
    CHECK_STR(envmap_get(&cfg.env, "B"), "");
    CHECK_STR(cfg.health_listen, "0.0.0.0:9000");
    CHECK_INT(cfg.color, COLOR_ALWAYS);
    CHECK(cfg.pg.budget_auto);
    CHECK(cfg.redis.enabled);
    CHECK_STR(cfg.redis.url, ""); /* empty: the plan falls back to REDIS_HOST ... */
    if (cfg.nroles == 2) {
        CHECK_INT(cfg.roles[0].restart, RESTART_NEVER); /* the first merged mapping wins */
        CHECK_INT(cfg.roles[0].kind, ROLE_ONESHOT);
        CHECK_INT(cfg.roles[0].ready.kind, PROBE_NONE);
        CHECK_INT(cfg.roles[1].ndeps, 1);
        CHECK_INT(cfg.roles[1].deps[0].cond, DEP_STARTED);
        CHECK(cfg.roles[1].wait_postgres);
        CHECK(!cfg.roles[1].wait_redis);
        CHECK_INT(cfg.roles[1].pg.mode, PGROLE_DEFAULT);
    }
    CHECK_INT(cfg.nroles, 2);
    config_free(&cfg);

    /* an IPv6 listen address in brackets, port 0 for any free one, kept as written */
    CHECK_INT(load_yaml("health: {listen: \"[::1]:0\"}\n"
                        "roles:\n  web: {command: x, ready: {tcp: \"[::1]:5432\"}}\n",
                        NULL, &cfg, &dt),
              0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_STR(cfg.health_listen, "[::1]:0");
    config_free(&cfg);

    /* stop.signal: with or without SIG, any case, or a number */
    CHECK_INT(load_yaml("roles:\n  a: {command: x, stop: {signal: SIGUSR1}}\n"
                        "  b: {command: x, stop: {signal: quit}}\n"
                        "  c: {command: x, stop: {signal: \"15\"}}\n"
                        "  d: {command: x, stop: {signal: KILL}}\n",
                        NULL, &cfg, &dt),
              0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(cfg.nroles, 4);
    if (cfg.nroles == 4) {
        CHECK_INT(cfg.roles[0].stop_signal, SIGUSR1);
        CHECK_INT(cfg.roles[1].stop_signal, SIGQUIT);
        CHECK_INT(cfg.roles[2].stop_signal, SIGTERM);
        CHECK_INT(cfg.roles[3].stop_signal, SIGKILL);
    }
    config_free(&cfg);

    /* restart: "no" and false read as never, as docker compose spells it */
    CHECK_INT(
        load_yaml("roles:\n  a: {command: x, restart: \"no\"}\n"
                  "  b: {command: x, restart: false}\n  c: {command: x, restart: never}\n"
                  "  d: {command: x, restart: on-failure}\n  e: {command: x, restart: always}\n",
                  NULL, &cfg, &dt),
        0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(cfg.nroles, 5);
    if (cfg.nroles == 5) {
        CHECK_INT(cfg.roles[0].restart, RESTART_NEVER);
        CHECK_INT(cfg.roles[1].restart, RESTART_NEVER);
        CHECK_INT(cfg.roles[2].restart, RESTART_NEVER);
        CHECK_INT(cfg.roles[3].restart, RESTART_ON_FAILURE);
        CHECK_INT(cfg.roles[4].restart, RESTART_ALWAYS);
    }
    config_free(&cfg);
}

/* ---- broken configs ---- */

static void expect_diag(int line, const char *text, const envmap *vars, const char *want)
{
    struct roster_config cfg;
    char *dt;
    int rc = load_yaml(text, vars, &cfg, &dt);
    if (rc != -1) fprintf(stderr, "  (config from line %d loaded)\n", line);
    CHECK_INT(rc, -1);
    if (strcmp(dt, want) != 0) fprintf(stderr, "  (config from line %d)\n", line);
    CHECK_STR(dt, want);
    free(dt);
    config_free(&cfg);
}
#define BAD(text, want) expect_diag(__LINE__, text, NULL, want)

static void test_broken_configs(void)
{
    /* unknown keys, with and without a suggestion */
    BAD("roles:\n  web:\n    command: x\n    restrat: always\n",
        "roster.yaml:4:5: unknown key 'restrat' in a role (did you mean 'restart'?)");
    BAD("shutdown_timout: 5s\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:1: unknown key 'shutdown_timout' in the config (did you mean "
        "'shutdown_timeout'?)");
    BAD("frobnicate: 1\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:1: unknown key 'frobnicate' in the config");
    BAD("roles:\n  web:\n    command: x\n    stop: {signall: INT}\n",
        "roster.yaml:4:12: unknown key 'signall' in stop (did you mean 'signal'?)");
    BAD("roles:\n  web:\n    command: x\n    ready: {http: \"http://h/\", evrey: 1s}\n",
        "roster.yaml:4:32: unknown key 'evrey' in ready (did you mean 'every'?)");

    /* wrong types */
    BAD("roles:\n  web:\n    command: x\n    instances: two\n",
        "roster.yaml:4:16: instances must be a whole number, not 'two'");
    BAD("roles:\n  web:\n    command: {run: x}\n",
        "roster.yaml:3:14: command must be a value, not a mapping");
    BAD("env: 5\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:6: env must be a mapping (key: value lines), not a value");
    BAD("roles:\n  - web\n",
        "roster.yaml:2:3: roles must be a mapping (key: value lines), not a list");
    BAD("- a\n- b\n",
        "roster.yaml:1:1: the config must be a mapping of keys (app:, roles: ...), not a list");
    BAD("log: {timestamps: maybe}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:19: log.timestamps must be true or false, not 'maybe'");
    BAD("log: {max_line: 100B}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:17: log.max_line must be between 256B and 1MiB");
    BAD("log: {max_line: 2MiB}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:17: log.max_line must be between 256B and 1MiB");
    BAD("roles:\n  web:\n    command: x\n    port: 70000\n",
        "roster.yaml:4:11: port must be between 1 and 65535, not 70000");

    /* bad durations and sizes */
    BAD("roles:\n  web:\n    command: x\n    stop: {timeout: 10}\n",
        "roster.yaml:4:21: stop.timeout: duration needs a unit (ms, s, m, h), e.g. 10s, not '10'");
    BAD("shutdown_timeout: soon\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:19: shutdown_timeout: invalid duration (expected e.g. 500ms, 10s, 5m, "
        "1h30m), not 'soon'");
    BAD("roles:\n  web:\n    command: x\n    max_memory: 10\n",
        "roster.yaml:4:17: max_memory: size needs a unit (B, KB, MB, GB, KiB, MiB or GiB), e.g. "
        "10MB, not '10'");
    BAD("roles:\n  web:\n    command: x\n    max_memory: 4 gigs\n",
        "roster.yaml:4:17: max_memory: unknown size unit (use B, KB, MB, GB, KiB, MiB or GiB), "
        "not '4 gigs'");
    BAD("roles:\n  web:\n    command: x\n    backoff: {initial: 1m, max: 10s}\n",
        "roster.yaml:4:14: backoff.initial must not exceed backoff.max");

    /* bad enum values */
    BAD("roles:\n  web:\n    command: x\n    kind: daemon\n",
        "roster.yaml:4:11: kind must be service or oneshot, not 'daemon'");
    BAD("roles:\n  web:\n    command: x\n    restart: sometimes\n",
        "roster.yaml:4:14: restart must be always, on-failure or never, not 'sometimes'");
    BAD("roles:\n  db: {command: x}\n  web:\n    command: x\n    depends_on: {db: healthy}\n",
        "roster.yaml:5:22: depends_on condition must be started, ready or completed, not "
        "'healthy'");
    BAD("log: {format: xml}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:15: log.format must be text or json, not 'xml'");
    BAD("roles:\n  web:\n    command: x\n    stop: {signal: STOP}\n",
        "roster.yaml:4:20: stop.signal: unknown signal 'STOP' (e.g. TERM, INT, QUIT, HUP, USR1, "
        "KILL)");
    BAD("roles:\n  web:\n    command: x\n    stop: {signal: TERMINATE}\n",
        "roster.yaml:4:20: stop.signal: unknown signal 'TERMINATE' (e.g. TERM, INT, QUIT, HUP, "
        "USR1, KILL)");

    /* duplicate keys */
    BAD("roles:\n  web:\n    command: a\n    command: b\n",
        "roster.yaml:4:5: duplicate key 'command' in a role (first set on line 3)");
    BAD("roles:\n  web: {command: a}\n  web: {command: b}\n",
        "roster.yaml:3:3: duplicate key 'web' in roles (first set on line 2)");

    /* unset variables: the column is that of the ${ itself */
    BAD("roles:\n  web:\n    command: run ${NOPE}\n",
        "roster.yaml:3:18: variable NOPE is not set (use ${NOPE:-default} to give a default)");
    BAD("roles:\n  web:\n    command: \"run ${NOPE}\"\n",
        "roster.yaml:3:19: variable NOPE is not set (use ${NOPE:-default} to give a default)");
    BAD("postgres:\n  url: ${DATABASE_URL:?set DATABASE_URL to your database}\nroles:\n"
        "  web: {command: x}\n",
        "roster.yaml:2:8: DATABASE_URL: set DATABASE_URL to your database\n"
        "roster.yaml:2:3: postgres needs a url (e.g. url: ${DATABASE_URL})");

    /* YAML syntax errors */
    BAD("roles:\n  web: [a\n",
        "roster.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while parsing a "
        "flow sequence");
    BAD("roles:\n\tweb:\n",
        "roster.yaml:2:1: YAML syntax error: found character that cannot start any token while "
        "scanning for the next token");
    BAD("roles:\n  web: {command: *nope}\n",
        "roster.yaml:2:18: YAML syntax error: found undefined alias");

    /* commands */
    BAD("roles:\n  web:\n    command: '  '\n", "roster.yaml:3:14: command must not be empty");
    BAD("roles:\n  web:\n    command: []\n", "roster.yaml:3:14: command must not be an empty list");
    BAD("roles:\n  web:\n    command:\n", "roster.yaml:3:13: command needs a value");
    BAD("roles:\n  web:\n    port: 3000\n", "roster.yaml:2:3: role 'web' needs a command");

    /* names */
    BAD("roles:\n  roster: {command: x}\n",
        "roster.yaml:2:3: 'roster' is reserved for roster's own log lines; rename the role");
    BAD("roles:\n  my web: {command: x}\n",
        "roster.yaml:2:3: role name 'my web' must be letters, digits, '-' and '_' (at most 64, "
        "starting with a letter or digit)");
    BAD("env: {1BAD: x}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:7: '1BAD' is not a valid environment variable name");
    BAD("app: my app\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:6: app must be letters, digits, '.', '-' and '_' (at most 63), not 'my "
        "app'");

    /* whole-config shape */
    BAD("", "roster.yaml: the config is empty (expected app:, roles: and the rest)");
    BAD("app: x\n",
        "roster.yaml:1:1: the config has no roles: (add e.g. roles: {web: {command: ...}})");
    BAD("roles: {}\n", "roster.yaml:1:8: roles is empty: define at least one role");

    /* checks across keys */
    BAD("roles:\n  web:\n    command: x\n    postgres: {weight: 2, connections: 3}\n",
        "roster.yaml:4:40: postgres takes either weight or connections, not both");
    BAD("roles:\n  web:\n    command: x\n    ready: {http: \"http://h/\", tcp: \"h:1\"}\n",
        "roster.yaml:4:32: ready takes one check, but has both 'http' and 'tcp'");
    /* an http or tcp target's shape is checked per copy by the plan (test_plan.c) */
    BAD("roles:\n  web:\n    command: x\n    ready: {timeout: 5s}\n",
        "roster.yaml:4:12: ready needs one of http, tcp, exec, log or notify");
    BAD("roles:\n  web:\n    command: x\n    lock: postgres\n",
        "roster.yaml:2:3: role 'web': lock: postgres is for oneshot roles (kind: oneshot)");
    BAD("roles:\n  job:\n    kind: oneshot\n    command: x\n    live: {tcp: \"h:1\"}\n",
        "roster.yaml:5:11: role 'job': a oneshot cannot have a liveness check");
    BAD("postgres: {url: \"mysql://h/db\"}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:17: postgres.url must start with postgres:// or postgresql://");
    BAD("health: {listen: \"host:port\"}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:18: health.listen must be host:port (e.g. 0.0.0.0:9090), not 'host:port'");
    /* listen addresses are read as base/hostport.c reads them: IPv6 in brackets, ports in range */
    BAD("health: {listen: \":9090\"}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:18: health.listen must be host:port (e.g. 0.0.0.0:9090), not ':9090'");
    BAD("health: {listen: \"::1:9090\"}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:18: health.listen must be host:port (e.g. 0.0.0.0:9090), not '::1:9090'");
    BAD("health: {listen: \"0.0.0.0:70000\"}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:18: health.listen must be host:port (e.g. 0.0.0.0:9090), not "
        "'0.0.0.0:70000'");
    BAD("x-val: &v 5\nroles:\n  web:\n    <<: *v\n    command: x\n",
        "roster.yaml:1:8: '<<' merges a mapping (an alias such as *defaults), not a value");

    /* several mistakes are all reported, in order */
    BAD("app: ok\n"
        "roles:\n"
        "  web:\n"
        "    comand: x\n"
        "    instances: 0\n"
        "  worker:\n"
        "    command: y\n"
        "    restart: sometimes\n",
        "roster.yaml:4:5: unknown key 'comand' in a role (did you mean 'command'?)\n"
        "roster.yaml:5:16: instances must be between 1 and 1000, not 0\n"
        "roster.yaml:3:3: role 'web' needs a command\n"
        "roster.yaml:8:14: restart must be always, on-failure or never, not 'sometimes'");
}

/* Every key's own mistakes, in every mapping: each value error, and each table's unknown-key
 * error with its suggestion, as the tables word them. */
/* issue 9 §2: the exit: mapping and exit_on_end, concurrently's --success and --kill-others */
static void test_exit_keys(void)
{
    struct roster_config cfg;
    char *diag;
    CHECK_INT(load_yaml("roles:\n  web: {command: x}\n", NULL, &cfg, &diag), 0);
    CHECK_INT(cfg.exit.success, EXIT_SUCCESS_ALL);
    CHECK_INT(cfg.exit.interrupted, EXIT_INTERRUPTED_STATUS);
    CHECK_INT(cfg.roles[0].exit_on_end, EXIT_ON_END_NEVER);
    config_free(&cfg);
    free(diag);

    CHECK_INT(
        load_yaml("exit: {success: '!e2e', interrupted: success}\n"
                  "roles:\n  e2e: {command: x, exit_on_end: true, give_up: {then: continue}}\n"
                  "  web: {command: x, exit_on_end: failure}\n  db: {command: x, "
                  "exit_on_end: false}\n",
                  NULL, &cfg, &diag),
        0);
    CHECK_STR(diag, "");
    CHECK_INT(cfg.exit.success, EXIT_SUCCESS_NOT_ROLE);
    CHECK_STR(cfg.exit.role, "e2e");
    char *text = exit_success_text(&cfg.exit);
    CHECK_STR(text, "!e2e");
    free(text);
    CHECK_INT(cfg.exit.interrupted, EXIT_INTERRUPTED_SUCCESS);
    CHECK_INT(cfg.roles[0].exit_on_end, EXIT_ON_END_ALWAYS);
    CHECK_INT(cfg.roles[0].give_up_then, GIVEUP_CONTINUE);
    CHECK_INT(cfg.roles[1].exit_on_end, EXIT_ON_END_FAILURE);
    CHECK_INT(cfg.roles[2].exit_on_end, EXIT_ON_END_NEVER);
    config_free(&cfg);
    free(diag);

    CHECK_INT(load_yaml("exit: {success: first}\nroles:\n  web: {command: x}\n", NULL, &cfg, &diag),
              0);
    CHECK_INT(cfg.exit.success, EXIT_SUCCESS_FIRST);
    CHECK(cfg.exit.role == NULL);
    config_free(&cfg);
    free(diag);

    BAD("exit: {success: api}\nroles:\n  web: {command: x}\n  db: {command: y}\n",
        "roster.yaml:1:17: exit.success names role 'api', which is not defined (roles: web, db)");
    BAD("exit: {success: '!'}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:17: exit.success must be all, first, last, a role's name or !ROLE, not '!'");
    BAD("exit: {interrupted: ok}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:21: exit.interrupted must be status or success, not 'ok'");
    BAD("exit: {sucess: all}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:8: unknown key 'sucess' in exit (did you mean 'success'?)");
    BAD("roles:\n  web: {command: x, exit_on_end: maybe}\n",
        "roster.yaml:2:34: exit_on_end must be false, true or failure, not 'maybe'");
}

/* tty: and input: (issue 9 §3): input: names a role or one of its copies; every role then gets
 * a stdin pipe, so "TARGET:text" can reach any of them. */
static void test_tty_and_input(void)
{
    struct roster_config cfg;
    char *diag;
    CHECK_INT(load_yaml("roles:\n  web: {command: x, tty: true}\n  db: {command: y}\n", NULL, &cfg,
                        &diag),
              0);
    CHECK(cfg.roles[0].tty && !cfg.roles[1].tty);
    CHECK(cfg.input == NULL && !cfg.roles[0].stdin_pipe && !cfg.roles[1].stdin_pipe);
    config_free(&cfg);
    free(diag);

    CHECK_INT(load_yaml("input: web.1\nroles:\n  web: {command: x, instances: 2}\n  db: "
                        "{command: y}\n",
                        NULL, &cfg, &diag),
              0);
    CHECK_STR(diag, "");
    CHECK_STR(cfg.input, "web.1");
    CHECK(cfg.roles[0].stdin_pipe && cfg.roles[1].stdin_pipe);
    config_free(&cfg);
    free(diag);

    BAD("input: api\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:8: input names role 'api', which is not defined");
    BAD("input: web.1\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:8: input names web.1, but role 'web' has 1 copy (from 0)");
    BAD("input: [web]\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:8: input must be a value, not a list");
    BAD("input: web/1\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:8: input must name a role (ROLE, or ROLE.N for one copy), not 'web/1'");
    BAD("roles:\n  web: {command: x, tty: maybe}\n",
        "roster.yaml:2:26: tty must be true or false, not 'maybe'");
    BAD("roles:\n  web: {command: x, ttty: true}\n",
        "roster.yaml:2:21: unknown key 'ttty' in a role (did you mean 'tty'?)");
}

static void test_every_key(void)
{
    BAD("roles:\n  web:\n    command: x\n    user: {name: x}\n",
        "roster.yaml:4:11: user must be a value, not a mapping");
    BAD("roles:\n  web:\n    command: x\n    cwd: [a]\n",
        "roster.yaml:4:10: cwd must be a value, not a list");
    BAD("roles:\n  web:\n    command: x\n    env: [\"=x\"]\n",
        "roster.yaml:4:11: env entries must look like NAME=value, not '=x'");
    BAD("roles:\n  web:\n    command: x\n    env_file: [{required: false}]\n",
        "roster.yaml:4:16: env_file entry needs a path");
    BAD("roles:\n  web:\n    command: x\n    depends_on: [{a: b}]\n",
        "roster.yaml:4:18: depends_on entry must be a value, not a mapping");
    BAD("roles:\n  web:\n    command: x\n    depends_on: {db: {condition: up}}\n",
        "roster.yaml:4:34: depends_on condition must be started, ready or completed, not 'up'");
    BAD("roles:\n  web:\n    command: x\n    depends_on: {db: {conditon: ready}}\n",
        "roster.yaml:4:23: unknown key 'conditon' in depends_on entry (did you mean 'condition'?)");
    BAD("roles:\n  web:\n    command: x\n    give_up: {after: -1, within: soon}\n",
        "roster.yaml:4:22: give_up.after must be between 0 and 1000000, not -1\nroster.yaml:4:34: "
        "give_up.within: invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m), not 'soon'");
    BAD("roles:\n  web:\n    command: x\n    backoff: {reset_after: 10}\n",
        "roster.yaml:4:28: backoff.reset_after: duration needs a unit (ms, s, m, h), e.g. 10s, not "
        "'10'");
    BAD("roles:\n  web:\n    command: x\n    ready: {log: \"(\"}\n",
        "roster.yaml:4:18: ready.log: invalid regular expression '(': Unmatched ( or \\(");
    /* ready.tcp and live.http targets: checked per copy by the plan (test_plan.c) */
    BAD("roles:\n  web:\n    command: x\n    ready: {exec: [a]}\n",
        "roster.yaml:4:19: exec must be a value, not a list");
    BAD("roles:\n  web:\n    command: x\n    ready: {notify: maybe}\n",
        "roster.yaml:4:21: ready.notify must be true or false, not 'maybe'");
    BAD("roles:\n  web:\n    command: x\n    ready: {http: \"http://h/\", every: 0s, "
        "attempt_timeout: 1y}\n",
        "roster.yaml:4:39: every must be more than 0s\nroster.yaml:4:60: attempt_timeout: unknown "
        "duration unit (use ms, s, m, h or d), not '1y'");
    BAD("roles:\n  web:\n    command: x\n    live: {watchdog: 0s}\n",
        "roster.yaml:4:22: live.watchdog must be more than 0s");
    BAD("roles:\n  web:\n    command: x\n    live: {watchdog: soon}\n",
        "roster.yaml:4:22: live.watchdog: invalid duration (expected e.g. 500ms, 10s, 5m, 1h30m), "
        "not 'soon'\nroster.yaml:4:22: live.watchdog must be more than 0s");
    BAD("roles:\n  web:\n    command: x\n    live: {every: 5s}\n",
        "roster.yaml:4:11: live needs one of http, tcp, exec or watchdog");
    BAD("roles:\n  web:\n    command: x\n    live: {exec: \"true\", failures: 0}\n",
        "roster.yaml:4:36: failures must be between 1 and 1000, not 0");
    BAD("roles:\n  web:\n    command: x\n    live: {exec: \"true\", log: x}\n",
        "roster.yaml:4:26: unknown key 'log' in live");
    BAD("roles:\n  web:\n    command: x\n    postgres: maybe\n",
        "roster.yaml:4:15: postgres must be true or false, not 'maybe'");
    BAD("roles:\n  web:\n    command: x\n    postgres: {weight: 0, pool_env: {a: b}, url_env: "
        "[x]}\n",
        "roster.yaml:4:24: postgres.weight must be between 1 and 1000, not 0\nroster.yaml:4:37: "
        "pool_env must be a value, not a mapping\nroster.yaml:4:54: postgres.url_env must be a "
        "value, not a list");
    BAD("roles:\n  web:\n    command: x\n    postgres: {conections: 2}\n",
        "roster.yaml:4:16: unknown key 'conections' in a role's postgres (did you mean "
        "'connections'?)");
    BAD("roles:\n  web:\n    command: x\n    lock: redis\n",
        "roster.yaml:4:11: lock must be postgres, not 'redis'");
    BAD("roles:\n  web:\n    command: x\n    wait_for: [postgres, mongo]\n",
        "roster.yaml:4:26: wait_for must be postgres or redis, not 'mongo'");
    BAD("roles:\n  web:\n    command: x\n    max_memory: {a: 1}\n",
        "roster.yaml:4:17: max_memory must be a value, not a mapping");
    BAD("roles:\n  web:\n    command: x\n    kind: [service]\n",
        "roster.yaml:4:11: kind must be a value, not a list");
    BAD("roles:\n  web:\n    command: x\n    stop: 5s\n",
        "roster.yaml:4:11: stop must be a mapping (key: value lines), not a value");
    BAD("roles:\n  web:\n    command: x\n    backoff: {intial: 1s}\n",
        "roster.yaml:4:15: unknown key 'intial' in backoff (did you mean 'initial'?)");
    BAD("roles:\n  web:\n    command: x\n    give_up: {then: exit, afterr: 3}\n",
        "roster.yaml:4:27: unknown key 'afterr' in give_up (did you mean 'after'?)");
    BAD("roles:\n  web:\n    command: x\n    x-note: fine\n    [a]: b\n",
        "roster.yaml:5:5: keys in a role must be plain names");
    BAD("log: {color: purple, timestamp: true}\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:14: log.color must be auto, always or never, not "
        "'purple'\nroster.yaml:1:22: unknown key 'timestamp' in log (did you mean 'timestamps'?)");
    BAD("health: {listen: \"0.0.0.0:9090\", port: 9090}\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:34: unknown key 'port' in health");
    BAD("control: {sockt: /tmp/x.sock}\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:11: unknown key 'sockt' in control (did you mean 'socket'?)");
    BAD("postgres:\n  url: postgres://h/db\n  budget: lots\n  headroom: -1\n  instances: {api: "
        "many}\n  sample_every: 50ms\n  required: maybe\n  samples: 1\nroles:\n  web:\n    "
        "command: x\n",
        "roster.yaml:3:11: postgres.budget (a number or auto) must be a whole number, not "
        "'lots'\nroster.yaml:4:13: postgres.headroom must be between 0 and 100000, not "
        "-1\nroster.yaml:5:20: api must be a whole number, not 'many'\nroster.yaml:6:17: "
        "postgres.sample_every must be 100ms or more\nroster.yaml:7:13: postgres.required must be "
        "true or false, not 'maybe'\nroster.yaml:8:3: unknown key 'samples' in postgres");
    BAD("postgres: {budget: 0}\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:20: postgres.budget (a number or auto) must be between 1 and 100000, not "
        "0\nroster.yaml:1:11: postgres needs a url (e.g. url: ${DATABASE_URL})");
    BAD("redis: {url: [x], required: maybe, urll: x}\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:29: redis.required must be true or false, not 'maybe'\nroster.yaml:1:36: "
        "unknown key 'urll' in redis (did you mean 'url'?)\nroster.yaml:1:14: redis.url must be a "
        "value, not a list");
    BAD("env_file: [{path: /nonexistent/roster-test.env, requird: false}]\nroles:\n  web:\n    "
        "command: x\n",
        "roster.yaml:1:49: unknown key 'requird' in env_file (did you mean "
        "'required'?)\nroster.yaml:1:19: env_file: cannot read '/nonexistent/roster-test.env': No "
        "such file or directory");
    BAD("env_file: {path: x}\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:18: env_file: cannot read 'x': No such file or directory");
    BAD("shutdown_timeout: [1s]\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:19: shutdown_timeout must be a value, not a list");
    BAD("app: [x]\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:6: app must be a value, not a list");
    BAD("env: [A=1, 5]\nroles:\n  web:\n    command: x\n",
        "roster.yaml:1:12: env entries must look like NAME=value, not '5'");

    /* extension keys are skipped at the top and in roles and roles:, optional env files too */
    struct roster_config cfg;
    char *dt;
    CHECK_INT(load_yaml("x-top: ok\nenv_file: [{path: /nonexistent/roster-test.env, required: "
                        "false}]\nroles:\n  x-skipped: {command: y}\n  web: {command: x, x-n: 1}\n",
                        NULL, &cfg, &dt),
              0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(cfg.nroles, 1);
    CHECK_INT(cfg.env_files.n, 1);
    config_free(&cfg);
}

/* ---- Procfile ---- */

static char tmpdir[64];

static int load_procfile(const char *text, const envmap *vars, struct roster_config *cfg,
                         char **diag_text)
{
    envmap none = {0};
    diags d = {0};
    config_defaults(cfg);
    cfg->path = xstrdup("Procfile");
    cfg->dir = xstrdup(tmpdir);
    cfg->procfile = true;
    int rc = config_load_procfile(cfg->path, text, strlen(text), vars ? vars : &none, cfg, &d);
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < d.items.n; i++)
        sbuf_printf(&b, "%s%s", i ? "\n" : "", d.items.v[i]);
    *diag_text = sbuf_detach(&b);
    diags_free(&d);
    return rc;
}

static void write_dotenv(const char *text)
{
    char *path = xasprintf("%s/.env", tmpdir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(path);
}

static void test_procfile(void)
{
    struct roster_config cfg;
    char *dt;
    const char *text = "# the app\n"
                       "web: node server.js --port $PORT\n"
                       "\n"
                       "worker:   bundle exec sidekiq  \r\n"
                       "  clock-1: ./clock\n";
    CHECK_INT(load_procfile(text, NULL, &cfg, &dt), 0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(cfg.nroles, 3);
    if (cfg.nroles == 3) {
        CHECK_STR(cfg.roles[0].name, "web");
        CHECK_STR(cfg.roles[0].shell, "node server.js --port $PORT");
        CHECK_INT(cfg.roles[0].port, 5000);
        CHECK_INT(cfg.roles[0].pos.line, 2);
        CHECK_INT(cfg.roles[0].command_pos.col, 6);
        CHECK_INT(cfg.roles[0].kind, ROLE_SERVICE);
        CHECK_STR(cfg.roles[1].name, "worker");
        CHECK_STR(cfg.roles[1].shell, "bundle exec sidekiq");
        CHECK_INT(cfg.roles[1].port, 5100);
        CHECK_INT(cfg.roles[1].pos.line, 4);
        CHECK_STR(cfg.roles[2].name, "clock-1");
        CHECK_INT(cfg.roles[2].port, 5200);
    }
    CHECK_INT(cfg.env_files.n, 0); /* no .env here */
    config_free(&cfg);

    /* PORT from the environment sets the base */
    envmap vars = {0};
    envmap_set(&vars, "PORT", "3000");
    CHECK_INT(load_procfile("a: x\nb: y\n", &vars, &cfg, &dt), 0);
    free(dt);
    if (cfg.nroles == 2) {
        CHECK_INT(cfg.roles[0].port, 3000);
        CHECK_INT(cfg.roles[1].port, 3100);
    }
    config_free(&cfg);

    /* ... or from .env, which the environment overrides */
    write_dotenv("PORT=7000\nSECRET=s\n");
    CHECK_INT(load_procfile("a: x\nb: y\n", NULL, &cfg, &dt), 0);
    free(dt);
    if (cfg.nroles == 2) {
        CHECK_INT(cfg.roles[0].port, 7000);
        CHECK_INT(cfg.roles[1].port, 7100);
    }
    CHECK_INT(cfg.env_files.n, 1);
    CHECK_STR(envmap_get(&cfg.file_env, "SECRET"), "s");
    config_free(&cfg);
    CHECK_INT(load_procfile("a: x\n", &vars, &cfg, &dt), 0);
    free(dt);
    if (cfg.nroles == 1) CHECK_INT(cfg.roles[0].port, 3000);
    CHECK(envmap_get(&cfg.file_env, "PORT") == NULL);
    config_free(&cfg);

    /* ports past 65535 are not handed out */
    envmap_set(&vars, "PORT", "65500");
    CHECK_INT(load_procfile("a: x\nb: y\n", &vars, &cfg, &dt), 0);
    free(dt);
    if (cfg.nroles == 2) {
        CHECK_INT(cfg.roles[0].port, 65500);
        CHECK_INT(cfg.roles[1].port, -1);
    }
    config_free(&cfg);

    /* a broken .env */
    write_dotenv("OK=1\nBROKEN\n");
    CHECK_INT(load_procfile("a: x\n", NULL, &cfg, &dt), -1);
    char *want = xasprintf("%s/.env:2:7: expected '=' after the variable name", tmpdir);
    CHECK_STR(dt, want);
    free(want);
    free(dt);
    config_free(&cfg);
    char *envpath = xasprintf("%s/.env", tmpdir);
    unlink(envpath);
    free(envpath);

    /* errors */
    envmap_set(&vars, "PORT", "abc");
    CHECK_INT(load_procfile("a: x\n", &vars, &cfg, &dt), -1);
    CHECK_STR(dt, "Procfile: PORT must be a port number, not 'abc'");
    free(dt);
    config_free(&cfg);
    envmap_free(&vars);

    CHECK_INT(load_procfile("web node server.js\n"
                            "worker:\n"
                            "web: a\n"
                            "web: b\n"
                            "roster: c\n"
                            "bad name: d\n"
                            ": nothing\n",
                            NULL, &cfg, &dt),
              -1);
    CHECK_STR(dt,
              "Procfile:1:4: expected 'name: command' (names are letters, digits, '-' and '_')\n"
              "Procfile:2:8: process 'worker' has no command\n"
              "Procfile:4:1: process 'web' is defined twice\n"
              "Procfile:5:1: 'roster' is reserved for roster's own log lines; rename the "
              "process\n"
              "Procfile:6:4: expected 'name: command' (names are letters, digits, '-' and '_')\n"
              "Procfile:7:1: expected 'name: command' (names are letters, digits, '-' and '_')");
    free(dt);
    config_free(&cfg);

    CHECK_INT(load_procfile("# only comments\n\n", NULL, &cfg, &dt), -1);
    CHECK_STR(dt, "Procfile: Procfile has no processes (expected 'name: command' lines)");
    free(dt);
    config_free(&cfg);
}

/* ---- the control socket's path ---- */

/* A directory name of n bytes: "/" and then 'd's, under which nothing needs to exist. */
static char *dir_of(size_t n)
{
    char *d = xmalloc(n + 1);
    d[0] = '/';
    memset(d + 1, 'd', n - 1);
    d[n] = '\0';
    return d;
}

/* control.socket is measured after the config's directory is put in front of it, against the
 * limit of a unix socket (107 bytes on Linux), and the error says the whole path. */
static void test_control_socket_length(void)
{
    const size_t max = CONFIG_SOCKET_PATH_MAX;
    const char *text = "control: {socket: ctl.sock}\nroles:\n  web: {command: x}\n";
    struct roster_config cfg;
    char *dt;

    /* a relative name that fits only without its directory */
    char *dir = dir_of(max - strlen("/ctl.sock") + 1);
    CHECK_INT(load_yaml_in(dir, text, NULL, &cfg, &dt), -1);
    char *want = xasprintf("roster.yaml:1:19: control.socket: '%s/ctl.sock' is %zu bytes, longer "
                           "than the %zu a unix socket allows",
                           dir, max + 1, max);
    CHECK_STR(dt, want);
    free(want);
    free(dt);
    config_free(&cfg);
    free(dir);

    /* exactly the limit is fine, and the path kept is the whole one */
    dir = dir_of(max - strlen("/ctl.sock"));
    CHECK_INT(load_yaml_in(dir, text, NULL, &cfg, &dt), 0);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(strlen(cfg.control_socket), max);
    CHECK(str_has_prefix(cfg.control_socket, dir));
    config_free(&cfg);
    free(dir);

    /* an absolute path is measured as written */
    char *path = dir_of(max + 1);
    char *abs_text = xasprintf("control: {socket: \"%s\"}\nroles:\n  web: {command: x}\n", path);
    CHECK_INT(load_yaml_in("/srv", abs_text, NULL, &cfg, &dt), -1);
    want = xasprintf("roster.yaml:1:19: control.socket: '%s' is %zu bytes, longer than the %zu a "
                     "unix socket allows",
                     path, max + 1, max);
    CHECK_STR(dt, want);
    free(want);
    free(dt);
    config_free(&cfg);
    free(abs_text);
    free(path);
}

/* Whether s is PREFIX, 8 hex digits and ".sock". */
static bool socket_like(const char *s, const char *prefix)
{
    if (!str_has_prefix(s, prefix)) return false;
    s += strlen(prefix);
    for (int i = 0; i < 8; i++)
        if (!strchr("0123456789abcdef", s[i])) return false;
    return !strcmp(s + 8, ".sock");
}

static char *write_config(const char *dir, const char *text)
{
    char *path = xasprintf("%s/roster.yaml", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static char *socket_of(const char *cfgpath, char **environ_)
{
    struct config_opts opts = {.path = cfgpath, .environ_ = environ_};
    struct roster_config cfg;
    diags d = {0};
    CHECK_INT(config_load(&opts, &cfg, &d), 0);
    CHECK_INT(diags_count(&d), 0);
    char *sock = xstrdup(cfg.control_socket ? cfg.control_socket : "");
    config_free(&cfg);
    diags_free(&d);
    return sock;
}

/* The default socket's directory, one per user: $XDG_RUNTIME_DIR's when it is absolute and
 * private, else one in $TMPDIR or /tmp named for the user (issue 10 item 14). */
static void test_socket_dir(void)
{
    static const struct {
        const char *xdg;
        bool xdg_private;
        const char *tmp;
        const char *want;
    } cases[] = {
        {"/run/user/1000", true, "/var/tmp", "/run/user/1000/roster"},
        {"/run/user/1000", false, "/var/tmp", "/var/tmp/roster-1000"},
        {"/run/user/1000", false, NULL, "/tmp/roster-1000"},
        {"/run/user/1000", false, "", "/tmp/roster-1000"},
        {"run/user/1000", true, NULL, "/tmp/roster-1000"}, /* relative: not trusted */
        {"", true, NULL, "/tmp/roster-1000"},
        {NULL, false, NULL, "/tmp/roster-1000"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *got = config_socket_dir(cases[i].xdg, cases[i].xdg_private, cases[i].tmp, 1000);
        CHECK_STR(got, cases[i].want);
        free(got);
    }
}

/* The default socket sits in a directory of the user's own: $XDG_RUNTIME_DIR/roster when that
 * is private, else $TMPDIR/roster-<uid>, unless that would be too long to bind: then in
 * /tmp/roster-<uid>. Its name carries a hash of the config's real directory: two checkouts
 * with one app name never share a socket, and every spelling of one directory finds the same. */
static void test_default_control_socket(void)
{
    char *cfgpath = write_config(tmpdir, "app: sock\nroles:\n  web: {command: x}\n");
    char *other = xasprintf("%s/other", tmpdir);
    mkdir(other, 0700);
    char *otherpath = write_config(other, "app: sock\nroles:\n  web: {command: x}\n");
    char *xdg_ok = xasprintf("%s/xdg", tmpdir), *xdg_open = xasprintf("%s/xdg-open", tmpdir);
    mkdir(xdg_ok, 0700);
    mkdir(xdg_open, 0700);
    chmod(xdg_open, 0755);
    unsigned long uid = (unsigned long)geteuid();

    char *deep = dir_of(CONFIG_SOCKET_PATH_MAX);
    char *tmp_short = xstrdup("TMPDIR=/run/user/1000");
    char *tmp_long = xasprintf("TMPDIR=%s", deep);
    char *xdg_good = xasprintf("XDG_RUNTIME_DIR=%s", xdg_ok);
    char *xdg_bad = xasprintf("XDG_RUNTIME_DIR=%s", xdg_open);
    char *xdg_missing = xasprintf("XDG_RUNTIME_DIR=%s/none", tmpdir);
    char *envs[][3] = {{tmp_short, NULL},
                       {tmp_long, NULL},
                       {xdg_good, tmp_short, NULL},
                       {xdg_bad, tmp_short, NULL},
                       {xdg_missing, NULL}};
    char *want[] = {xasprintf("/run/user/1000/roster-%lu/sock-", uid),
                    xasprintf("/tmp/roster-%lu/sock-", uid), xasprintf("%s/roster/sock-", xdg_ok),
                    xasprintf("/run/user/1000/roster-%lu/sock-", uid),
                    xasprintf("/tmp/roster-%lu/sock-", uid)};
    for (size_t i = 0; i < ARRAY_SIZE(envs); i++) {
        char *sock = socket_of(cfgpath, envs[i]);
        if (!socket_like(sock, want[i])) fprintf(stderr, "case %zu: %s\n", i, sock);
        CHECK(socket_like(sock, want[i]));
        char *sock2 = socket_of(otherpath, envs[i]);
        CHECK(socket_like(sock2, want[i]));
        CHECK(strcmp(sock, sock2) != 0);
        free(sock);
        free(sock2);
        free(want[i]);
    }
    /* the same directory, spelled another way */
    char *a = socket_of(cfgpath, envs[0]);
    char *dotted = xasprintf("%s/other/../roster.yaml", tmpdir);
    char *b = socket_of(dotted, envs[0]);
    CHECK_STR(a, b);
    free(a);
    free(b);
    free(dotted);
    free(tmp_short);
    free(tmp_long);
    free(xdg_good);
    free(xdg_bad);
    free(xdg_missing);
    free(deep);
    rmdir(xdg_ok);
    rmdir(xdg_open);
    free(xdg_ok);
    free(xdg_open);
    unlink(otherpath);
    free(otherpath);
    rmdir(other);
    free(other);
    unlink(cfgpath);
    free(cfgpath);
}

/* After a failed load, the control client may still trust the socket's path, unless the
 * failure touched what the path is made of. */
static void test_socket_unsure(void)
{
    static const struct {
        const char *text;
        bool unsure;
    } cases[] = {
        {"app: a\nroles:\n  web: {command: \"${UNSET_X}\"}\n", false},
        {"roles:\n  web: {command: \"${UNSET_X}\"}\n", false},
        {"app: \"${UNSET_X}\"\nroles:\n  web: {command: x}\n", true},
        {"app: \"${UNSET_X}\"\ncontrol: {socket: /tmp/x.sock}\nroles:\n  web: {command: x}\n",
         false},
        {"control: {socket: /tmp/x.sock}\napp: \"${UNSET_X}\"\nroles:\n  web: {command: x}\n",
         false},
        {"control: {socket: \"${UNSET_X}/x.sock\"}\nroles:\n  web: {command: x}\n", true},
        {"app: a\nroles: [\n", true},
        {"- a\n", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct roster_config cfg;
        char *dt;
        CHECK_INT(load_yaml(cases[i].text, NULL, &cfg, &dt), -1);
        if (cfg.socket_unsure != cases[i].unsure) fprintf(stderr, "case %zu: %s\n", i, dt);
        CHECK(cfg.socket_unsure == cases[i].unsure);
        free(dt);
        config_free(&cfg);
    }
}

static void test_targets(void)
{
    char name[CONFIG_ROLE_NAME_MAX + 1];
    int inst = 7;
    CHECK_INT(config_parse_target("api", name, &inst), 0);
    CHECK_STR(name, "api");
    CHECK_INT(inst, -1);
    CHECK_INT(config_parse_target("worker.1", name, &inst), 0);
    CHECK_STR(name, "worker");
    CHECK_INT(inst, 1);
    CHECK_INT(config_parse_target("w-2_x.0", name, &inst), 0);
    CHECK_STR(name, "w-2_x");
    CHECK_INT(inst, 0);
    CHECK_INT(config_parse_target("w.999999", name, &inst), 0);
    CHECK_INT(inst, 999999);
    static const char *const bad[] = {
        "",       "api/stop?",   "../../reload#", "api/stop", "a b",    "api%2F", "-api",
        "_api",   ".1",          "api.",          "api.01",   "api.-1", "api.+1", "api.1.2",
        "api.1x", "api.1000000", "api?x",         "api#",     "é",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_parse_target(bad[i], name, &inst) != -1) fprintf(stderr, "'%s'\n", bad[i]);
        CHECK_INT(config_parse_target(bad[i], name, &inst), -1);
    }
    char longname[CONFIG_ROLE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_INT(config_parse_target(longname, name, &inst), -1);
    longname[CONFIG_ROLE_NAME_MAX] = '\0';
    CHECK_INT(config_parse_target(longname, name, &inst), 0);
    CHECK(config_role_name_valid("web"));
    CHECK(!config_role_name_valid("web.1"));
}

/* foreman's formation over a Procfile: copies per process, all=, unnamed processes dropped
 * with their PORTs kept in Procfile order. */
static void test_formation(void)
{
    const char *text = "web: w\nworker: k\nclock: c\n";
    static const struct {
        const char *spec;
        const char *want; /* name=copies@port ..., or the error */
    } cases[] = {
        {"web=2,worker=1", "web=2@5000 worker=1@5100"},
        {" web = 2 , worker=1 ", "web=2@5000 worker=1@5100"},
        {"all=1", "web=1@5000 worker=1@5100 clock=1@5200"},
        {"all=2,web=0", "worker=2@5100 clock=2@5200"},
        {"clock=3", "clock=3@5200"},
        {"web=1,web=4", "web=4@5000"},
        {"web=1,", "web=1@5000"},
        {"web", "--formation: takes NAME=N,... (N from 0 to 1000), not 'web'"},
        {"web=", "--formation: takes NAME=N,... (N from 0 to 1000), not 'web='"},
        {"=2", "--formation: takes NAME=N,... (N from 0 to 1000), not '=2'"},
        {"web=-1", "--formation: takes NAME=N,... (N from 0 to 1000), not 'web=-1'"},
        {"web=1001", "--formation: takes NAME=N,... (N from 0 to 1000), not 'web=1001'"},
        {"web=2x", "--formation: takes NAME=N,... (N from 0 to 1000), not 'web=2x'"},
        {"api=1", "--formation: names 'api', which the Procfile does not define"},
        {"web=0", "--formation: 'web=0' runs no process"},
        {"", "--formation: '' runs no process"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct roster_config cfg;
        char *dt;
        CHECK_INT(load_procfile(text, NULL, &cfg, &dt), 0);
        free(dt);
        diags d = {0};
        int rc = config_apply_formation(&cfg, cases[i].spec, &d);
        sbuf b;
        sbuf_init(&b);
        if (rc == 0) {
            for (size_t j = 0; j < cfg.nroles; j++)
                sbuf_printf(&b, "%s%s=%d@%d", j ? " " : "", cfg.roles[j].name,
                            cfg.roles[j].instances, cfg.roles[j].port);
        } else {
            for (size_t j = 0; j < d.items.n; j++)
                sbuf_printf(&b, "%s%s", j ? "\n" : "", d.items.v[j]);
        }
        char *got = sbuf_detach(&b);
        CHECK_STR(got, cases[i].want);
        free(got);
        diags_free(&d);
        config_free(&cfg);
    }
}

/* output:, max_processes, teardown, a role's color and hide (concurrently's -p -l --pad-prefix
 * -t -r -g --timings -m --teardown -c --hide). */
static void test_output_keys(void)
{
    struct roster_config cfg;
    char *diag;
    /* the defaults: roster's own look, nothing held, no limit, no teardown */
    CHECK_INT(load_yaml("roles:\n  web: {command: x}\n", NULL, &cfg, &diag), 0);
    CHECK(!cfg.look.on && !cfg.look.group && !cfg.look.timings && !cfg.look.raw);
    CHECK(cfg.look.prefix == NULL && cfg.look.time_format == NULL);
    CHECK_INT(cfg.look.command_length, 10);
    CHECK(cfg.max_processes == 0 && !cfg.max_processes_percent);
    CHECK_INT(cfg.teardown.n, 0);
    CHECK(cfg.roles[0].look_color == NULL && !cfg.roles[0].look_hidden);
    config_free(&cfg);
    free(diag);

    CHECK_INT(load_yaml("output:\n  prefix: \"{time}-{name}\"\n  prefix_length: 8\n"
                        "  pad_prefix: true\n  timestamp_format: \"HH:mm:ss 'h'\"\n"
                        "  group: true\n  timings: true\n"
                        "max_processes: 2\nteardown: [\"echo a\", \"echo $${HOME}\"]\n"
                        "roles:\n  web: {command: x, color: bgBlue.bold, hide: true}\n"
                        "  api: {command: y, color: \"#23de43.inverse\"}\n",
                        NULL, &cfg, &diag),
              0);
    CHECK_STR(diag, "");
    CHECK(cfg.look.on && !cfg.look.brackets && !cfg.look.raw);
    CHECK_STR(cfg.look.prefix, "{time}-{name}");
    CHECK_INT(cfg.look.command_length, 8);
    CHECK(cfg.look.pad && cfg.look.group && cfg.look.timings);
    CHECK_STR(cfg.look.time_format, "HH:mm:ss 'h'");
    CHECK(cfg.max_processes == 2 && !cfg.max_processes_percent);
    CHECK_INT(cfg.teardown.n, 2);
    CHECK_STR(cfg.teardown.v[1], "echo ${HOME}");
    CHECK_STR(cfg.roles[0].look_color, "bgBlue.bold");
    CHECK(cfg.roles[0].look_hidden && !cfg.roles[1].look_hidden);
    CHECK_STR(cfg.roles[1].look_color, "#23de43.inverse");
    config_free(&cfg);
    free(diag);

    /* -p's keywords are bracketed, none is no prefix, raw alone is concurrently's look too; a
     * percentage of the CPUs; group and timings alone keep roster's look */
    static const struct {
        const char *yaml, *prefix;
        bool brackets, raw;
    } looks[] = {
        {"output: {prefix: index}\n", "{index}", true, false},
        {"output: {prefix: command}\n", "{command}", true, false},
        {"output: {prefix: none}\n", "", false, false},
        {"output: {prefix: \"[{pid}]\"}\n", "[{pid}]", false, false},
        {"output: {raw: true}\n", NULL, false, true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(looks); i++) {
        char *y = xasprintf("%sroles:\n  web: {command: x}\n", looks[i].yaml);
        CHECK_INT(load_yaml(y, NULL, &cfg, &diag), 0);
        CHECK_STR(diag, "");
        CHECK(cfg.look.on);
        if (looks[i].prefix)
            CHECK_STR(cfg.look.prefix, looks[i].prefix);
        else
            CHECK(cfg.look.prefix == NULL);
        CHECK(cfg.look.brackets == looks[i].brackets && cfg.look.raw == looks[i].raw);
        config_free(&cfg);
        free(diag);
        free(y);
    }
    CHECK_INT(load_yaml("output: {group: true, timings: false}\nmax_processes: \"12.5%\"\n"
                        "teardown: echo one\nroles:\n  web: {command: x}\n",
                        NULL, &cfg, &diag),
              0);
    CHECK(!cfg.look.on && cfg.look.group && !cfg.look.timings);
    CHECK(cfg.max_processes == 12.5 && cfg.max_processes_percent);
    CHECK_INT(cfg.teardown.n, 1);
    config_free(&cfg);
    free(diag);

    BAD("output: {prefx: name}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:10: unknown key 'prefx' in output (did you mean 'prefix'?)");
    BAD("output: {grup: true}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:10: unknown key 'grup' in output (did you mean 'group'?)");
    BAD("max_process: 2\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:1: unknown key 'max_process' in the config (did you mean "
        "'max_processes'?)");
    BAD("tear_down: x\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:1: unknown key 'tear_down' in the config (did you mean 'teardown'?)");
    BAD("roles:\n  web: {command: x, colour: red}\n",
        "roster.yaml:2:21: unknown key 'colour' in a role (did you mean 'color'?)");
    BAD("roles:\n  web: {command: x, color: bleu.bold}\n",
        "roster.yaml:2:28: color: unknown color 'bleu' in 'bleu.bold' (a color such as red, "
        "redBright, bgRed, #23de43 or auto, then modifiers: .bold .dim .italic .underline "
        ".inverse .hidden .strikethrough)");
    BAD("roles:\n  web: {command: x, color: auto}\n",
        "roster.yaml:2:28: color: auto is the default: leave color out");
    BAD("roles:\n  web: {command: x, hide: maybe}\n",
        "roster.yaml:2:27: hide must be true or false, not 'maybe'");
    BAD("output: {prefix: name, timestamp_format: \"HH:mm f\"}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:42: output.timestamp_format: formatting token \"f\" is invalid (in "
        "'HH:mm f')");
    BAD("output: {pad_prefix: true}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:22: output.pad_prefix shapes concurrently's prefix: set output.prefix too "
        "(e.g. prefix: name)");
    BAD("output: {prefix: name, prefix_length: 0}\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:39: output.prefix_length must be between 1 and 100000, not 0");
    BAD("max_processes: two\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:16: max_processes must be a number of processes or a percentage of the "
        "CPUs (50%), not 'two'");
    BAD("max_processes: 1.5\nroles:\n  web: {command: x}\n",
        "roster.yaml:1:16: max_processes must be a number of processes or a percentage of the "
        "CPUs (50%), not '1.5'");
}

/* ---- limits (issue 10 item 4) ---- */

/* Loads text and returns the first diagnostic (or "" when it loaded). Caller frees. */
static char *first_diag(const char *text, int *rc)
{
    struct roster_config cfg;
    char *dt;
    *rc = load_yaml(text, NULL, &cfg, &dt);
    config_free(&cfg);
    char *nl = strchr(dt, '\n');
    if (nl) *nl = '\0';
    return dt;
}

/* levels of anchors, each a list of width aliases to the one before (billion laughs); the
 * role watches the first. */
static char *alias_bomb(int levels, int width)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "x-b:\n  l0: &l0 [");
    for (int i = 0; i < width; i++)
        sbuf_printf(&b, "%slol", i ? "," : "");
    sbuf_puts(&b, "]\n");
    for (int l = 1; l < levels; l++) {
        sbuf_printf(&b, "  l%d: &l%d [", l, l);
        for (int i = 0; i < width; i++)
            sbuf_printf(&b, "%s*l%d", i ? "," : "", l - 1);
        sbuf_puts(&b, "]\n");
    }
    sbuf_puts(&b, "roles:\n  web: {command: x, watch: *l0}\n");
    return sbuf_detach(&b);
}

/* An env mapping of nvars anchored once and used by nroles roles. */
static char *env_aliases(int nvars, int nroles)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "x-env: &e\n");
    for (int i = 0; i < nvars; i++)
        sbuf_printf(&b, "  V%d: v\n", i);
    sbuf_puts(&b, "roles:\n");
    for (int i = 0; i < nroles; i++)
        sbuf_printf(&b, "  r%d: {command: x, env: *e}\n", i);
    return sbuf_detach(&b);
}

static char *nested(int depth)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "x-d: ");
    for (int i = 0; i < depth; i++)
        sbuf_putc(&b, '[');
    for (int i = 0; i < depth; i++)
        sbuf_putc(&b, ']');
    sbuf_puts(&b, "\nroles:\n  web: {command: x}\n");
    return sbuf_detach(&b);
}

static char *many_roles(int n, int instances)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "roles:\n");
    for (int i = 0; i < n; i++)
        sbuf_printf(&b, "  r%d: {command: x, instances: %d}\n", i, instances);
    return sbuf_detach(&b);
}

static void expect_first(int line, char *text, int want_rc, const char *want)
{
    int rc;
    char *dt = first_diag(text, &rc);
    if (rc != want_rc || strcmp(dt, want) != 0) fprintf(stderr, "  (from line %d)\n", line);
    CHECK_INT(rc, want_rc);
    CHECK_STR(dt, want);
    free(dt);
    free(text);
}

static void test_limits(void)
{
    /* 9 levels of 9: 387 million nodes read through; stopped at the alias that passes 100,000 */
    expect_first(__LINE__, alias_bomb(9, 9), -1,
                 "roster.yaml:7:12: alias *l4 takes the config's aliases past 100000 nodes, "
                 "roster's limit (a config that repeats this much is likely an alias bomb)");
    expect_first(__LINE__, alias_bomb(4, 9), 0, "");
    /* an env of 1,000 variables (2,001 nodes) given to 49 roles is within the limit, to 50 not */
    expect_first(__LINE__, env_aliases(1000, 49), 0, "");
    expect_first(__LINE__, env_aliases(1000, 50), -1,
                 "roster.yaml:1052:26: alias *e takes the config's aliases past 100000 nodes, "
                 "roster's limit (a config that repeats this much is likely an alias bomb)");
    /* the root mapping is level 1: 63 lists inside it load, 64 do not, nor 40,000 */
    expect_first(__LINE__, nested(63), 0, "");
    expect_first(__LINE__, nested(64), -1,
                 "roster.yaml:1:69: lists and mappings nest deeper than 64 levels, roster's limit");
    expect_first(__LINE__, nested(40000), -1,
                 "roster.yaml:1:69: lists and mappings nest deeper than 64 levels, roster's limit");
    /* an alias inside the node it names would make a loop */
    expect_first(__LINE__, xstrdup("x-a: &a [*a]\nroles:\n  web: {command: x}\n"), -1,
                 "roster.yaml:1:10: alias *a is inside the node it names");
    /* roles and their copies */
    expect_first(__LINE__, many_roles(1000, 1), 0, "");
    expect_first(__LINE__, many_roles(1001, 1), -1,
                 "roster.yaml:1002:3: more than 1000 roles, roster's limit");
    expect_first(__LINE__, many_roles(10, 1000), 0, "");
    expect_first(__LINE__, many_roles(11, 1000), -1,
                 "roster.yaml:12:3: role 'r10': its instances bring the copies of all roles to "
                 "11000, more than 10000, roster's limit");

    /* a Procfile has the same limit on its processes */
    sbuf b;
    sbuf_init(&b);
    for (int i = 0; i < 1001; i++)
        sbuf_printf(&b, "p%d: x\n", i);
    struct roster_config cfg;
    char *dt;
    CHECK_INT(load_procfile(b.data, NULL, &cfg, &dt), -1);
    CHECK_STR(dt, "Procfile:1001:1: more than 1000 processes, roster's limit for a Procfile");
    CHECK_INT(cfg.nroles, 1000);
    free(dt);
    config_free(&cfg);
    sbuf_free(&b);

    /* and on its copies, which a formation sets */
    static const char eleven[] = "p0: x\np1: x\np2: x\np3: x\np4: x\np5: x\np6: x\np7: x\n"
                                 "p8: x\np9: x\np10: x\n";
    diags d = {0};
    CHECK_INT(load_procfile(eleven, NULL, &cfg, &dt), 0);
    free(dt);
    CHECK_INT(config_apply_formation(&cfg, "all=900", &d), 0);
    config_free(&cfg);
    CHECK_INT(load_procfile(eleven, NULL, &cfg, &dt), 0);
    free(dt);
    CHECK_INT(config_apply_formation(&cfg, "all=1000,p10=999", &d), -1);
    CHECK_INT(d.items.n, 1);
    if (d.items.n)
        CHECK_STR(d.items.v[0], "Procfile:11:1: role 'p10': its instances bring the copies of "
                                "all roles to 10999, more than 10000, roster's limit");
    diags_free(&d);
    config_free(&cfg);
}

/* The dev profile's defaults sit under what a role says: a role without give_up gets 5 within
 * 30 s then stay, each key the config sets is kept; a Procfile's processes get them too. */
static void test_dev_profile(void)
{
    envmap none = {0};
    struct roster_config cfg;
    diags d = {0};
    const char *text = "roles:\n"
                       "  api: {command: x}\n"
                       "  worker: {command: y, give_up: {then: exit}}\n"
                       "  jobs: {command: z, give_up: {after: 2, within: 5s}}\n";
    config_defaults(&cfg);
    cfg.dev = true;
    cfg.path = xstrdup("roster.yaml");
    CHECK_INT(config_load_yaml(cfg.path, text, strlen(text), &none, &cfg, &d), 0);
    CHECK_INT(cfg.nroles, 3);
    if (cfg.nroles == 3) {
        CHECK_INT(cfg.roles[0].give_up_after, CONFIG_DEV_GIVE_UP_AFTER);
        CHECK_INT(cfg.roles[0].give_up_within_ms, CONFIG_DEV_GIVE_UP_WITHIN_MS);
        CHECK_INT(cfg.roles[0].give_up_then, GIVEUP_STAY);
        CHECK_INT(cfg.roles[1].give_up_after, CONFIG_DEV_GIVE_UP_AFTER);
        CHECK_INT(cfg.roles[1].give_up_then, GIVEUP_EXIT);
        CHECK_INT(cfg.roles[2].give_up_after, 2);
        CHECK_INT(cfg.roles[2].give_up_within_ms, 5000);
        CHECK_INT(cfg.roles[2].give_up_then, GIVEUP_STAY);
    }
    config_free(&cfg);
    diags_free(&d);
    /* without the profile, the usual defaults */
    config_defaults(&cfg);
    cfg.path = xstrdup("roster.yaml");
    CHECK_INT(config_load_yaml(cfg.path, text, strlen(text), &none, &cfg, &d), 0);
    CHECK_INT(cfg.roles[0].give_up_after, 10);
    CHECK_INT(cfg.roles[0].give_up_then, GIVEUP_EXIT);
    config_free(&cfg);
    diags_free(&d);
    const char *procfile = "web: node web.js\n";
    config_defaults(&cfg);
    cfg.dev = true;
    cfg.path = xstrdup("Procfile");
    cfg.dir = xstrdup(tmpdir);
    cfg.procfile = true;
    CHECK_INT(config_load_procfile(cfg.path, procfile, strlen(procfile), &none, &cfg, &d), 0);
    CHECK_INT(cfg.nroles, 1);
    if (cfg.nroles == 1) CHECK_INT(cfg.roles[0].give_up_then, GIVEUP_STAY);
    config_free(&cfg);
    diags_free(&d);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/roster-test-config-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_full_config();
    test_valid_shapes();
    test_broken_configs();
    test_every_key();
    test_exit_keys();
    test_tty_and_input();
    test_output_keys();
    test_procfile();
    test_control_socket_length();
    test_socket_dir();
    test_default_control_socket();
    test_socket_unsure();
    test_targets();
    test_formation();
    test_limits();
    test_dev_profile();
    rmdir(tmpdir);
    return t_done("config");
}
