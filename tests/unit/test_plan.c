/* test_plan.c — from a loaded config to a plan: start order, selection, dependency errors, the
 * environment of each copy and the Postgres budget handed to roles, users and libpq's keywords
 * from fakes, a budget that makes a new plan, probe targets per copy. Configs are written to a
 * temporary directory and loaded with config_load, as roster itself does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "os/lazylib.h"
#include "os/proc.h"
#include "plan/libs.h"
#include "plan/plan.h"
#include "base/util.h"
#include "t.h"

static char dir[64];
static char *cfg_path;

/* libpq's keywords as a fake PQconndefaults lists them (connection_limit is not one). */
static const char *const fake_pq_list[] = {
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "application_name",
    "connect_timeout",
    NULL,
};
static int pq_asked; /* how often the plan asked for the keywords */

static const char *const *fake_pq_keywords(void *ctx, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    pq_asked++;
    return ctx ? ctx : fake_pq_list;
}

static const char *const *fake_pq_missing(void *ctx, char *err, size_t errlen)
{
    (void)ctx;
    pq_asked++;
    snprintf(err, errlen, "libpq.so.5: cannot open shared object file (install libpq5)");
    return NULL;
}

/* What the next build() passes besides roles, environment and max_connections; tests that
 * need other fakes set these and put them back. */
static struct plan_opts fakes = {.pq_keywords = fake_pq_keywords};

static void write_file(const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(path);
}

/* What `roster check` prints for p (caller frees). */
static char *printed(const struct plan *p)
{
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    plan_print(p, f);
    fclose(f);
    return out;
}

/* Writes yaml as the config and builds a plan with roles selected (NULL: all). Returns the
 * plan, or NULL with the diagnostics joined by newlines in *diag_text (caller frees). */
static struct plan *build(const char *yaml, const char *roles, char **environ_, int max_connections,
                          char **diag_text)
{
    write_file("roster.yaml", yaml);
    struct config_opts co = {.path = cfg_path, .environ_ = environ_};
    struct roster_config cfg;
    diags d = {0};
    struct plan *p = NULL;
    if (config_load(&co, &cfg, &d) == 0) {
        envmap env = {0};
        envmap_from_environ(&env, environ_);
        struct plan_opts po = fakes;
        po.roles = roles;
        po.env = &env;
        po.max_connections = max_connections;
        p = plan_build(&cfg, &po, &d);
        envmap_free(&env);
    }
    config_free(&cfg);
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < d.items.n; i++)
        sbuf_printf(&b, "%s%s", i ? "\n" : "", d.items.v[i]);
    *diag_text = sbuf_detach(&b);
    diags_free(&d);
    return p;
}

/* The start order as "a,b,c". */
static char *order_of(const struct plan *p)
{
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < p->norder; i++)
        sbuf_printf(&b, "%s%s", i ? "," : "", p->roles[p->order[i]].cfg->name);
    return sbuf_detach(&b);
}

static char *notes_of(const struct plan *p)
{
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < p->notes.n; i++)
        sbuf_printf(&b, "%s%s", i ? "\n" : "", p->notes.v[i]);
    return sbuf_detach(&b);
}

/* Checks the plan built from yaml fails with exactly want (where "@" stands for the path). */
static void expect_fail(int line, const char *yaml, const char *roles, const char *want)
{
    char *dt;
    struct plan *p = build(yaml, roles, NULL, 0, &dt);
    if (p) fprintf(stderr, "  (plan from line %d was built)\n", line);
    CHECK(p == NULL);
    plan_unref(p);
    sbuf w;
    sbuf_init(&w);
    for (const char *c = want; *c; c++) {
        if (*c == '@')
            sbuf_puts(&w, cfg_path);
        else
            sbuf_putc(&w, *c);
    }
    if (strcmp(dt, w.data) != 0) fprintf(stderr, "  (plan from line %d)\n", line);
    CHECK_STR(dt, w.data);
    sbuf_free(&w);
    free(dt);
}
#define FAIL(yaml, roles, want) expect_fail(__LINE__, yaml, roles, want)

static const char deps_yaml[] = "app: shop\n"
                                "roles:\n"
                                "  web: {command: ./web, depends_on: [api]}\n"
                                "  api:\n"
                                "    command: ./api\n"
                                "    depends_on: {migrate: completed, cache: started}\n"
                                "  migrate: {kind: oneshot, command: ./migrate}\n"
                                "  cache: {command: ./cache}\n"
                                "  docs: {command: ./docs}\n";

static void test_order(void)
{
    char *dt, *s;
    struct plan *p = build(deps_yaml, NULL, NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    if (!p) return;
    /* each step starts the first role in config order whose dependencies have started */
    s = order_of(p);
    CHECK_STR(s, "migrate,cache,api,web,docs");
    free(s);
    CHECK_INT(p->nroles, 5);
    CHECK_INT(p->norder, 5);
    ssize_t api = plan_find_role(p, "api");
    CHECK_INT(api, 1);
    CHECK_INT(plan_find_role(p, "nope"), -1);
    CHECK_INT(p->roles[api].ndeps, 2);
    CHECK_INT(p->roles[api].deps[0].role, 2);
    CHECK_INT(p->roles[api].deps[0].cond, DEP_COMPLETED);
    CHECK_INT(p->roles[api].deps[1].role, 3);
    CHECK_INT(p->roles[api].deps[1].cond, DEP_STARTED);
    /* restart defaults are resolved from the kind */
    CHECK_INT(p->roles[2].cfg->restart, RESTART_NEVER);
    CHECK_INT(p->roles[0].cfg->restart, RESTART_ALWAYS);
    CHECK_INT(p->notes.n, 0);
    for (size_t i = 0; i < p->nroles; i++)
        CHECK(p->roles[i].selected);
    plan_unref(p);

    /* without dependencies the order is the config's */
    p = build("roles:\n  c: {command: x}\n  a: {command: x}\n  b: {command: x}\n", NULL, NULL, 0,
              &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        s = order_of(p);
        CHECK_STR(s, "c,a,b");
        free(s);
        plan_unref(p);
    }

    /* a chain written backwards */
    p = build("roles:\n  d: {command: x, depends_on: [c]}\n  c: {command: x, depends_on: [b]}\n"
              "  b: {command: x, depends_on: [a]}\n  a: {command: x}\n",
              NULL, NULL, 0, &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        s = order_of(p);
        CHECK_STR(s, "a,b,c,d");
        free(s);
        plan_unref(p);
    }
}

static void test_selection(void)
{
    char *dt, *s;
    /* a comma list, with spaces; dependencies on roles not selected count as met */
    struct plan *p = build(deps_yaml, " web , api,", NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    if (!p) return;
    s = order_of(p);
    CHECK_STR(s, "api,web");
    free(s);
    CHECK(p->roles[0].selected && p->roles[1].selected);
    CHECK(!p->roles[2].selected && !p->roles[3].selected && !p->roles[4].selected);
    CHECK_INT(p->roles[1].ndeps, 0);
    CHECK_INT(p->roles[0].ndeps, 1);
    s = notes_of(p);
    CHECK_STR(s, "role api: dependency migrate is not selected here; counted as met (it runs "
                 "elsewhere)\n"
                 "role api: dependency cache is not selected here; counted as met (it runs "
                 "elsewhere)");
    free(s);
    plan_unref(p);

    /* one role alone */
    p = build(deps_yaml, "docs", NULL, 0, &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        s = order_of(p);
        CHECK_STR(s, "docs");
        free(s);
        CHECK_INT(p->notes.n, 0);
        plan_unref(p);
    }

    FAIL(
        deps_yaml, "wbe",
        "@: unknown role 'wbe' (did you mean 'web'?); known roles: web, api, migrate, cache, docs");
    FAIL(deps_yaml, "web,frontend",
         "@: unknown role 'frontend'; known roles: web, api, migrate, cache, docs");
    FAIL(deps_yaml, " , ", "@: --role selects no role");
}

static void test_dependency_errors(void)
{
    FAIL("roles:\n"
         "  a: {command: x, depends_on: [b]}\n"
         "  b: {command: x, depends_on: [c]}\n"
         "  c: {command: x, depends_on: [a]}\n"
         "  d: {command: x}\n",
         NULL, "@:2:3: dependency cycle: a -> b -> c -> a");
    FAIL("roles:\n"
         "  z: {command: x}\n"
         "  a: {command: x, depends_on: [b]}\n"
         "  b: {command: x, depends_on: {a: ready}}\n",
         NULL, "@:3:3: dependency cycle: a -> b -> a");
    FAIL("roles:\n  a: {command: x, depends_on: [a]}\n", NULL,
         "@:2:32: role 'a' depends on itself");
    FAIL("roles:\n  api: {command: x}\n  web:\n    command: x\n    depends_on: {api: completed}\n",
         NULL,
         "@:5:18: role 'web' waits for 'api' to complete, but 'api' is a service that never "
         "completes (use started or ready, or make it kind: oneshot)");
    FAIL("roles:\n  api: {command: x}\n  web:\n    command: x\n    depends_on: [apii]\n", NULL,
         "@:5:18: role 'web' depends on unknown role 'apii' (did you mean 'api'?)");
    FAIL("roles:\n  api: {command: x}\n  web:\n    command: x\n    depends_on: [database]\n", NULL,
         "@:5:18: role 'web' depends on unknown role 'database'");
    FAIL("roles:\n  api: {command: x}\n  web:\n    command: x\n    depends_on: [api, api]\n", NULL,
         "@:5:23: role 'web' lists 'api' twice in depends_on");
    /* a cycle is an error even when only part of it is selected */
    FAIL("roles:\n  a: {command: x, depends_on: [b]}\n  b: {command: x, depends_on: [a]}\n", "a",
         "@:2:3: dependency cycle: a -> b -> a");
}

/* A variable's value, or "(unset)". */
static const char *env_get(const envmap *m, const char *key)
{
    const char *v = envmap_get(m, key);
    return v ? v : "(unset)";
}

static const char env_yaml[] =
    "app: shop\n"
    "env_file: .env\n"
    "env: {VAR1: top, VAR2: top, PORT: \"1234\"}\n"
    "postgres:\n"
    "  url: ${DATABASE_URL}\n"
    "  budget: 22\n"
    "  instances: {api: 1, worker: 1}\n"
    "redis: {url: \"\"}\n"
    "roles:\n"
    "  api:\n"
    "    command: ./api\n"
    "    port: 3000\n"
    "    instances: 2\n"
    "    env: {VAR1: role}\n"
    "    env_file: role.env\n"
    "    postgres: {weight: 3, url_param: connection_limit, pool_env: [DB_POOL]}\n"
    "  worker:\n"
    "    command: [./worker]\n"
    "    instances: 2\n"
    "    postgres: {weight: 2, pool_env: WORKER_POOL}\n"
    "  migrate: {kind: oneshot, command: ./migrate}\n"
    "  side: {command: ./side, postgres: false}\n";

static char *env_environ[] = {
    "PATH=/usr/bin:/bin",
    "VAR1=proc",
    "VAR2=proc",
    "VAR3=proc",
    "PORT=9999",
    "NOTIFY_SOCKET=/run/notify",
    "WATCHDOG_USEC=5000000",
    "LISTEN_FDS=3",
    "ROSTER_ROLES=api,worker",
    "REDIS_HOST=cache",
    "REDIS_PORT=6380",
    "REDIS_PASSWORD=p@ss",
    "DATABASE_URL=postgres://u:pw@db:5432/app?sslmode=require&connection_limit=50",
    NULL,
};

static void test_env(void)
{
    write_file(".env", "FILE_ONLY=f\nVAR1=file\nVAR2=file\nVAR3=file\n");
    write_file("role.env", "ROLE_FILE=rf\nVAR3=rolefile\n");
    char *dt;
    struct plan *p = build(env_yaml, NULL, env_environ, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    if (!p) return;
    CHECK_INT(p->nroles, 4);
    CHECK(p->budget_known);
    CHECK_STR(p->redis_url, "redis://:p%40ss@cache:6380");
    CHECK_STR(p->pg_own_url, "postgres://u:pw@db:5432/app?sslmode=require");
    char *notes = notes_of(p);
    CHECK_STR(notes, "postgres: roster's own connection drops URL parameters libpq rejects: "
                     "connection_limit (roles still get the URL as written)");
    free(notes);

    envmap e = {0};
    /* api, copy 0 */
    plan_instance_env(p, 0, 0, &e);
    CHECK_STR(env_get(&e, "ROSTER_APP"), "shop");
    CHECK_STR(env_get(&e, "ROSTER_ROLE"), "api");
    CHECK_STR(env_get(&e, "ROSTER_INSTANCE"), "0");
    CHECK_STR(env_get(&e, "PORT"), "3000");
    CHECK_STR(env_get(&e, "PATH"), "/usr/bin:/bin");
    /* precedence: role env > top env > process env > env files */
    CHECK_STR(env_get(&e, "VAR1"), "role");
    CHECK_STR(env_get(&e, "VAR2"), "top");
    CHECK_STR(env_get(&e, "VAR3"), "proc");
    CHECK_STR(env_get(&e, "FILE_ONLY"), "f");
    CHECK_STR(env_get(&e, "ROLE_FILE"), "rf");
    /* roster's own situation is not inherited */
    CHECK_STR(env_get(&e, "NOTIFY_SOCKET"), "(unset)");
    CHECK_STR(env_get(&e, "WATCHDOG_USEC"), "(unset)");
    CHECK_STR(env_get(&e, "LISTEN_FDS"), "(unset)");
    CHECK_STR(env_get(&e, "ROSTER_ROLES"), "(unset)");
    /* the Postgres share: api weight 3 × 2 copies, worker weight 2 × 2 copies, 22 usable */
    CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "7");
    CHECK_STR(env_get(&e, "DB_POOL"), "7");
    CHECK_STR(env_get(&e, "DATABASE_URL"),
              "postgres://u:pw@db:5432/app?sslmode=require&connection_limit=7");
    CHECK_STR(env_get(&e, "PGAPPNAME"), "shop:api:0");
    CHECK_STR(env_get(&e, "REDIS_URL"), "redis://:p%40ss@cache:6380");
    envmap_free(&e);

    /* api, copy 1: the next port */
    plan_instance_env(p, 0, 1, &e);
    CHECK_STR(env_get(&e, "ROSTER_INSTANCE"), "1");
    CHECK_STR(env_get(&e, "PORT"), "3001");
    CHECK_STR(env_get(&e, "PGAPPNAME"), "shop:api:1");
    envmap_free(&e);

    /* worker: no port, so no PORT even though the environment and top env had one */
    plan_instance_env(p, 1, 1, &e);
    CHECK_STR(env_get(&e, "ROSTER_ROLE"), "worker");
    CHECK_STR(env_get(&e, "ROSTER_INSTANCE"), "1");
    CHECK_STR(env_get(&e, "PORT"), "(unset)");
    CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "4");
    CHECK_STR(env_get(&e, "WORKER_POOL"), "4");
    CHECK_STR(env_get(&e, "DB_POOL"), "(unset)");
    CHECK_STR(env_get(&e, "ROLE_FILE"), "(unset)");
    CHECK_STR(env_get(&e, "VAR1"), "top");
    /* without url_param the URL is passed on as written */
    CHECK_STR(env_get(&e, "DATABASE_URL"),
              "postgres://u:pw@db:5432/app?sslmode=require&connection_limit=50");
    CHECK_STR(env_get(&e, "PGAPPNAME"), "shop:worker:1");
    envmap_free(&e);

    /* a oneshot lives in the headroom: a PGAPPNAME but no pool size */
    plan_instance_env(p, 2, 0, &e);
    CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "(unset)");
    CHECK_STR(env_get(&e, "PGAPPNAME"), "shop:migrate:0");
    CHECK_STR(env_get(&e, "PORT"), "(unset)");
    envmap_free(&e);

    /* postgres: false: nothing of Postgres */
    plan_instance_env(p, 3, 0, &e);
    CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "(unset)");
    CHECK_STR(env_get(&e, "PGAPPNAME"), "(unset)");
    envmap_free(&e);

    CHECK_INT(p->budget.nlines, 2);
    const struct budget_line *l = budget_find(&p->budget, "api");
    CHECK(l != NULL);
    if (l) {
        CHECK_INT(l->copies, 2);
        CHECK_INT(l->pool, 7);
        CHECK_INT(l->total, 14);
    }
    l = budget_find(&p->budget, "worker");
    CHECK(l != NULL);
    if (l) {
        CHECK_INT(l->pool, 4);
        CHECK_INT(l->total, 8);
    }
    CHECK_INT(p->budget.used, 22);
    CHECK_INT(p->roles[0].pool_size, 7);
    CHECK_INT(p->roles[2].pool_size, 0);

    char *label = plan_instance_label(p, 0, 1);
    CHECK_STR(label, "api.1");
    free(label);
    label = plan_instance_label(p, 2, 0);
    CHECK_STR(label, "migrate");
    free(label);

    /* `roster check` output keeps passwords out */
    char *out = printed(p);
    CHECK(strstr(out, "postgres: postgres://u:****@db:5432/app") != NULL);
    CHECK(strstr(out, "redis: redis://:****@cache:6380") != NULL);
    CHECK(strstr(out, ":pw@") == NULL);
    CHECK(strstr(out, "p%40ss") == NULL);
    CHECK(strstr(out, "connection_limit=7") != NULL);
    free(out);
    plan_unref(p);

    /* a process PORT does not reach roles, but ${PORT} may still give a role its port */
    p = build("app: shop\nroles:\n  web: {command: x, port: \"${PORT:-3000}\"}\n"
              "  bg: {command: y}\n",
              NULL, env_environ, 0, &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        plan_instance_env(p, 0, 0, &e);
        CHECK_STR(env_get(&e, "PORT"), "9999");
        CHECK_STR(env_get(&e, "PGAPPNAME"), "(unset)"); /* no postgres configured */
        CHECK_STR(env_get(&e, "REDIS_URL"), "(unset)");
        envmap_free(&e);
        plan_instance_env(p, 1, 0, &e);
        CHECK_STR(env_get(&e, "PORT"), "(unset)");
        envmap_free(&e);
        plan_unref(p);
    }

    char *path = xasprintf("%s/.env", dir);
    unlink(path);
    free(path);
    path = xasprintf("%s/role.env", dir);
    unlink(path);
    free(path);
}

static void test_budget_modes(void)
{
    static const char yaml[] = "app: shop\n"
                               "postgres:\n"
                               "  url: postgres://db/app\n"
                               "  budget: auto\n"
                               "roles:\n"
                               "  api: {command: x, postgres: {weight: 3}}\n"
                               "  worker: {command: y}\n"
                               "  pinned:\n"
                               "    command: z\n"
                               "    postgres:\n"
                               "      connections: 2\n"
                               "      url_env: OTHER_URL\n"
                               "      url_param: pool_max_conns\n";
    char *dt;
    /* auto with no server limit known yet: no pools handed out */
    struct plan *p = build(yaml, NULL, NULL, 0, &dt);
    CHECK(p != NULL);
    free(dt);
    if (p) {
        CHECK(!p->budget_known);
        CHECK_INT(p->roles[0].pool_size, 0);
        envmap e = {0};
        plan_instance_env(p, 0, 0, &e);
        CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "(unset)");
        CHECK_STR(env_get(&e, "PGAPPNAME"), "shop:api:0");
        envmap_free(&e);
        /* ... until the usable count arrives: a new plan, the old one as it was */
        char *fp0 = xstrdup(p->roles[0].fingerprint);
        char *fp1 = xstrdup(p->roles[1].fingerprint);
        diags d = {0};
        struct plan *b = plan_with_budget(p, 10, &d);
        CHECK(b != NULL && b != p);
        CHECK_INT(d.items.n, 0);
        if (b) {
            CHECK(b->budget_known);
            CHECK_INT(b->refs, 1);
            /* pinned 2 fixed; 8 left by weight 3:1 → 6 and 2 */
            CHECK_INT(b->roles[0].pool_size, 6);
            CHECK_INT(b->roles[1].pool_size, 2);
            CHECK_INT(b->roles[2].pool_size, 2);
            plan_instance_env(b, 2, 0, &e);
            CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "2");
            /* url_param rewrites the variable url_env names, from postgres.url when it is unset */
            CHECK_STR(env_get(&e, "OTHER_URL"), "postgres://db/app?pool_max_conns=2");
            CHECK_STR(env_get(&e, "DATABASE_URL"), "(unset)");
            envmap_free(&e);
            /* a changed pool is a changed role (a reload restarts it) */
            CHECK(strcmp(b->roles[0].fingerprint, fp0) != 0);
            /* the same config, shared rather than copied */
            CHECK(b->roles[0].cfg == p->roles[0].cfg);
            char *o = order_of(b);
            CHECK_STR(o, "api,worker,pinned");
            free(o);
        }
        /* the plan it was made from is untouched */
        CHECK(!p->budget_known);
        CHECK_INT(p->refs, 1);
        CHECK_INT(p->budget.nlines, 0);
        for (size_t i = 0; i < p->nroles; i++)
            CHECK_INT(p->roles[i].pool_size, 0);
        CHECK_STR(p->roles[0].fingerprint, fp0);
        CHECK_STR(p->roles[1].fingerprint, fp1);
        CHECK(p->roles[2].db_url == NULL);
        plan_instance_env(p, 2, 0, &e);
        CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "(unset)");
        CHECK_STR(env_get(&e, "OTHER_URL"), "(unset)");
        envmap_free(&e);
        free(fp0);
        free(fp1);
        /* the new plan outlives the one it was made from */
        plan_unref(p);
        p = b;
        if (p) {
            plan_instance_env(p, 0, 0, &e);
            CHECK_STR(env_get(&e, "ROSTER_PG_POOL_SIZE"), "6");
            CHECK_STR(env_get(&e, "PGAPPNAME"), "shop:api:0");
            envmap_free(&e);
        }
        diags_free(&d);
        plan_unref(p);
    }
    p = build(yaml, NULL, NULL, 0, &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        diags d = {0};
        /* a budget that cannot hold: no plan, and the old one still waits for a budget */
        CHECK(plan_with_budget(p, 3, &d) == NULL);
        CHECK(!p->budget_known);
        CHECK_INT(d.items.n, 1);
        if (d.items.n == 1) {
            char *want = xasprintf("%s:4:11: postgres budget: 2 copies of weighted roles need at "
                                   "least one connection each, but only 1 of 3 usable remain "
                                   "after 2 fixed",
                                   cfg_path);
            CHECK_STR(d.items.v[0], want);
            free(want);
        }
        diags_free(&d);
        plan_unref(p);
    }

    /* with --max-connections given: 12 - 3 reserved for superusers - headroom 3 = 6 usable */
    p = build(yaml, NULL, NULL, 12, &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        CHECK(p->budget_known);
        CHECK_INT(p->budget.usable, 6);
        CHECK_INT(p->budget.used, 6);
        plan_unref(p);
    }

    /* a fixed budget that is too small is a config error */
    FAIL("postgres:\n  url: postgres://db/app\n  budget: 3\nroles:\n"
         "  a: {command: x, postgres: {connections: 2}}\n"
         "  b: {command: x, postgres: {connections: 2}}\n",
         NULL,
         "@:3:11: postgres budget: roles with fixed connections need 4, but only 3 are usable");
    FAIL("postgres:\n  url: postgres://db/app\n  budget: 5\n  instances: {ghost: 2}\nroles:\n"
         "  a: {command: x}\n",
         NULL, "@:4:15: postgres.instances names unknown role 'ghost'");
}

/* A user database of two users and one that cannot be read. */
static int users_asked;

static int fake_lookup_user(void *ctx, const char *name, struct plan_user *out)
{
    (void)ctx;
    users_asked++;
    if (!strcmp(name, "app") || !strcmp(name, "1000")) {
        out->uid = 1000;
        out->gid = 1000;
        out->ngroups = 2;
        out->groups = xcalloc(2, sizeof(gid_t));
        out->groups[0] = 1000;
        out->groups[1] = 27;
        return 0;
    }
    if (!strcmp(name, "broken")) return -EIO;
    return -ENOENT;
}

static void test_users(void)
{
    static const char yaml[] = "roles:\n"
                               "  web: {command: x, user: app}\n"
                               "  job: {command: y, user: \"1000\"}\n"
                               "  free: {command: z}\n";
    char *dt;
    fakes.lookup_user = fake_lookup_user;
    users_asked = 0;
    struct plan *p = build(yaml, NULL, NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(users_asked, 2);
    if (p) {
        CHECK(p->roles[0].has_user);
        CHECK_INT(p->roles[0].uid, 1000);
        CHECK_INT(p->roles[0].gid, 1000);
        CHECK_INT(p->roles[0].ngroups, 2);
        if (p->roles[0].ngroups == 2) CHECK_INT(p->roles[0].groups[1], 27);
        CHECK(p->roles[1].has_user);
        CHECK_INT(p->roles[1].uid, 1000);
        CHECK(!p->roles[2].has_user);
        CHECK_INT(p->notes.n, 0);
        /* a copy for the budget keeps its own groups */
        diags d = {0};
        struct plan *b = plan_with_budget(p, 5, &d);
        CHECK(b != NULL);
        if (b) {
            CHECK(b->roles[0].groups != p->roles[0].groups);
            CHECK_INT(b->roles[0].ngroups, 2);
            plan_unref(b);
        }
        diags_free(&d);
        plan_unref(p);
    }
    FAIL("roles:\n  web: {command: x, user: ghost}\n", NULL,
         "@:2:27: role 'web': user 'ghost' does not exist");
    FAIL("roles:\n  web: {command: x, user: broken}\n", NULL,
         "@:2:27: role 'web': cannot look up user 'broken': Input/output error");

    /* without a lookup (roster is not root) user: is noted, never looked up */
    fakes.lookup_user = NULL;
    users_asked = 0;
    p = build(yaml, NULL, NULL, 0, &dt);
    CHECK(p != NULL);
    free(dt);
    CHECK_INT(users_asked, 0);
    if (p) {
        CHECK(!p->roles[0].has_user);
        char *notes = notes_of(p);
        CHECK_STR(notes, "role web: user app is ignored unless roster runs as root\n"
                         "role job: user 1000 is ignored unless roster runs as root");
        free(notes);
        plan_unref(p);
    }
}

static void test_pq_keywords(void)
{
    static const char yaml[] =
        "postgres:\n  url: "
        "\"postgres://db/app?sslmode=require&pgbouncer=true&application_name=x\"\n"
        "  budget: 4\n"
        "roles:\n  web: {command: x}\n";
    char *dt;
    /* roster's own URL keeps what libpq knows, as the list passed in says */
    pq_asked = 0;
    struct plan *p = build(yaml, NULL, NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    CHECK_INT(pq_asked, 1);
    if (p) {
        CHECK_STR(p->pg_own_url, "postgres://db/app?sslmode=require&application_name=x");
        char *notes = notes_of(p);
        CHECK_STR(notes, "postgres: roster's own connection drops URL parameters libpq rejects: "
                         "pgbouncer (roles still get the URL as written)");
        free(notes);
        plan_unref(p);
    }
    /* a libpq that knows fewer keywords */
    static const char *const old_libpq[] = {"host", "dbname", "sslmode", NULL};
    fakes.pq_ctx = (void *)old_libpq;
    p = build(yaml, NULL, NULL, 0, &dt);
    free(dt);
    CHECK(p != NULL);
    if (p) {
        CHECK_STR(p->pg_own_url, "postgres://db/app?sslmode=require");
        plan_unref(p);
    }
    fakes.pq_ctx = NULL;
    /* no postgres: section, no question asked (libpq is never loaded for it) */
    pq_asked = 0;
    p = build("roles:\n  web: {command: x}\n", NULL, NULL, 0, &dt);
    free(dt);
    CHECK_INT(pq_asked, 0);
    plan_unref(p);
    /* libpq missing: a config error at the postgres: section */
    fakes.pq_keywords = fake_pq_missing;
    FAIL(yaml, NULL,
         "@:2:3: postgres: libpq.so.5: cannot open shared object file (install libpq5)");
    fakes.pq_keywords = fake_pq_keywords;
}

/* plan_probe_target as a string ("error: ..." when it fails). Caller frees. */
static char *target_of(const struct plan *p, const char *role, int instance, bool live)
{
    char *out = NULL, err[256];
    ssize_t i = plan_find_role(p, role);
    CHECK(i >= 0);
    if (i < 0) return xstrdup("(no role)");
    if (plan_probe_target(p, (size_t)i, instance, live, &out, err, sizeof err) < 0)
        return xasprintf("error: %s", err);
    return out ? out : xstrdup("(none)");
}

#define CHECK_TARGET(p, role, instance, live, want)                                                \
    do {                                                                                           \
        char *t_ = target_of(p, role, instance, live);                                             \
        CHECK_STR(t_, want);                                                                       \
        free(t_);                                                                                  \
    } while (0)

static void test_probe_targets(void)
{
    static const char yaml[] =
        "env: {HOST: 127.0.0.2}\n"
        "roles:\n"
        "  web:\n"
        "    command: x\n"
        "    port: 3010\n"
        "    instances: 3\n"
        "    ready: {http: \"http://127.0.0.1:${PORT:-3010}/health?copy=${ROSTER_INSTANCE}\"}\n"
        "    live: {tcp: \"${HOST}:${PORT}\"}\n"
        "  api:\n"
        "    command: x\n"
        "    port: 4000\n"
        "    env: {HOST: \"::1\"}\n"
        "    ready: {tcp: \"[${HOST}]:$${PORT}\"}\n"
        "  bg:\n"
        "    command: x\n"
        "    ready: {http: \"http://localhost:${PORT}/\"}\n"
        "    live: {exec: \"curl -f localhost:$PORT\"}\n"
        "  quiet: {command: x, ready: {log: \"^up$\"}}\n";
    static char *environ_[] = {"PORT=8080", "HOST=10.0.0.1", NULL};
    char *dt;
    struct plan *p = build(yaml, NULL, environ_, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    if (!p) return;
    /* each copy of a role with a port probes its own port */
    CHECK_TARGET(p, "web", 0, false, "http://127.0.0.1:3010/health?copy=0");
    CHECK_TARGET(p, "web", 1, false, "http://127.0.0.1:3011/health?copy=1");
    CHECK_TARGET(p, "web", 2, false, "http://127.0.0.1:3012/health?copy=2");
    /* the role's environment: the top env wins over roster's, as for the role's process */
    CHECK_TARGET(p, "web", 1, true, "127.0.0.2:3011");
    CHECK_TARGET(p, "api", 0, false, "[::1]:${PORT}");
    /* no port: roster's own PORT, as everywhere else in the config */
    CHECK_TARGET(p, "bg", 0, false, "http://localhost:8080/");
    /* other kinds are as loaded (an exec probe's shell sees the copy's $PORT itself) */
    CHECK_TARGET(p, "bg", 0, true, "curl -f localhost:$PORT");
    CHECK_TARGET(p, "quiet", 0, false, "^up$");
    CHECK_TARGET(p, "quiet", 0, true, "(none)");
    /* the config keeps the template */
    CHECK_STR(p->roles[0].cfg->ready.target,
              "http://127.0.0.1:${PORT:-3010}/health?copy=${ROSTER_INSTANCE}");

    /* `roster check` shows the template and what copy 0 makes of it */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    plan_print(p, f);
    fclose(f);
    CHECK(strstr(out,
                 "    ready: http http://127.0.0.1:${PORT:-3010}/health?copy=${ROSTER_INSTANCE} "
                 "(copy 0: http://127.0.0.1:3010/health?copy=0, every 500ms") != NULL);
    CHECK(strstr(out, "    ready: http http://localhost:${PORT}/ (that is http://localhost:8080/, "
                      "every 500ms") != NULL);
    free(out);
    plan_unref(p);

    /* checked as copy 0 expands them, errors where they are written */
    FAIL("roles:\n  web:\n    command: x\n    ready: {http: \"h:80\"}\n", NULL,
         "@:4:19: ready.http must be an http:// or https:// URL, not 'h:80'");
    FAIL("roles:\n  web:\n    command: x\n    port: 80\n    ready: {http: \"h:${PORT}\"}\n", NULL,
         "@:5:19: ready.http must be an http:// or https:// URL, not 'h:80'");
    FAIL("roles:\n  web:\n    command: x\n    live: {tcp: localhost}\n", NULL,
         "@:4:17: live.tcp must be host:port, not 'localhost'");
    FAIL("roles:\n  web:\n    command: x\n    ready: {tcp: \"localhost\"}\n", NULL,
         "@:4:18: ready.tcp must be host:port, not 'localhost'");
    FAIL("roles:\n  web:\n    command: x\n    live: {http: \"h\"}\n", NULL,
         "@:4:18: live.http must be an http:// or https:// URL, not 'h'");
    FAIL("roles:\n  web:\n    command: x\n    ready: {http: \"http://h:${NOPE}/\"}\n", NULL,
         "@:4:29: variable NOPE is not set (use ${NOPE:-default} to give a default)");
    FAIL("roles:\n  web:\n    command: x\n    ready: {tcp: 'h:${PORT:?needs a port}'}\n", NULL,
         "@:4:21: PORT: needs a port");
    /* without a port, roster's PORT is what ${PORT} means; unset, it is an error */
    FAIL("roles:\n  web:\n    command: x\n    ready:\n      tcp: h:${PORT}\n", NULL,
         "@:5:14: variable PORT is not set (use ${PORT:-default} to give a default)");
}

/* What each role is exec'd with: a list as written, a plain string as its words, a string with
 * shell syntax through /bin/sh -c; a budgeted copy of the plan keeps the same. */
static void test_argv(void)
{
    char *diag = NULL;
    struct plan *p = build("roles:\n"
                           "  a: {command: node dist/index.js --port 3000}\n"
                           "  b: {command: \"node a.js && node b.js\"}\n"
                           "  c: {command: [sh, -c, \"exit 0\"]}\n"
                           "  d: {command: \"node -e 'console.log(1)'\"}\n",
                           NULL, NULL, 0, &diag);
    CHECK(p != NULL);
    free(diag);
    if (!p) return;
    const char *want[][5] = {
        {"node", "dist/index.js", "--port", "3000", NULL},
        {"/bin/sh", "-c", "node a.js && node b.js", NULL},
        {"sh", "-c", "exit 0", NULL},
        {"node", "-e", "console.log(1)", NULL},
    };
    diags d = {0};
    struct plan *q = plan_with_budget(p, 10, &d);
    diags_free(&d);
    for (size_t i = 0; i < 4; i++) {
        const struct plan_role *pr = &p->roles[plan_find_role(p, (const char[]){(char)('a' + i), 0})];
        size_t n = 0;
        while (want[i][n])
            n++;
        CHECK_INT(pr->argv.n, n);
        for (size_t k = 0; k < n && k < pr->argv.n; k++)
            CHECK_STR(pr->argv.v[k], want[i][k]);
        CHECK(pr->argv.v[pr->argv.n] == NULL);
        if (q) CHECK(strvec_equal(&q->roles[pr - p->roles].argv, &pr->argv));
    }
    if (q) plan_unref(q);
    plan_unref(p);
}

/* Which optional libraries a plan needs: libcurl for an http probe of a selected role only,
 * libmicrohttpd for health and the control socket, libpq with postgres:. */
static void test_libs(void)
{
    char *diag = NULL;
    struct plan *p = build("control: {socket: /tmp/x.sock}\n"
                           "roles:\n"
                           "  a: {command: x, ready: {http: \"http://127.0.0.1:1/\"}}\n"
                           "  b: {command: x, ready: {tcp: \"127.0.0.1:1\"}}\n",
                           NULL, NULL, 0, &diag);
    free(diag);
    CHECK(p != NULL);
    if (p) CHECK_INT(plan_libs(p), LAZYLIB_BIT(LAZYLIB_CURL) | LAZYLIB_BIT(LAZYLIB_MHD));
    if (p) plan_unref(p);
    p = build("control: {socket: /tmp/x.sock}\n"
              "roles:\n"
              "  a: {command: x, ready: {http: \"http://127.0.0.1:1/\"}}\n"
              "  b: {command: x}\n",
              "b", NULL, 0, &diag);
    free(diag);
    CHECK(p != NULL);
    if (p) CHECK_INT(plan_libs(p), LAZYLIB_BIT(LAZYLIB_MHD)); /* a is not selected */
    if (p) plan_unref(p);
}

/* The plan's Postgres total is what its copies are handed, always (issue 10 item 7): a role that
 * postgres.instances gives 0 copies but this roster runs is an error, one that runs elsewhere
 * gets no pool; over random configs, Σ copies × pool is the stated total and what this roster's
 * own copies take is within it. */
static void test_budget_totals(void)
{
    FAIL("postgres:\n  url: postgres://db/app\n  budget: 10\n  instances: {api: 0}\nroles:\n"
         "  api: {command: x, instances: 3}\n  worker: {command: y}\n",
         NULL,
         "@:4:15: postgres.instances gives 'api' 0 copies, but this roster runs it (instances: "
         "3); count the rosters that run it, or set postgres: false on the role");
    char *dt;
    struct plan *p = build("postgres:\n  url: postgres://db/app\n  budget: 10\n"
                           "  instances: {api: 0}\nroles:\n"
                           "  api: {command: x, instances: 3}\n  worker: {command: y}\n",
                           "worker", NULL, 0, &dt);
    CHECK(p != NULL);
    free(dt);
    if (p) {
        CHECK_INT(p->roles[0].pool_size, 0);
        CHECK_INT(p->roles[1].pool_size, 10);
        CHECK_INT(p->budget.used, 10);
        plan_unref(p);
    }

    srand(1010);
    int built = 0, bad_total = 0, bad_here = 0, bad_zero = 0, bad_error = 0;
    for (int round = 0; round < 400; round++) {
        sbuf y;
        sbuf_init(&y);
        int n = 1 + rand() % 5;
        sbuf_printf(&y, "postgres:\n  url: postgres://db/app\n  budget: %d\n  instances: {",
                    1 + rand() % 40);
        bool first = true;
        for (int i = 0; i < n; i++) {
            if (rand() % 2) continue;
            sbuf_printf(&y, "%sr%d: %d", first ? "" : ", ", i, rand() % 3);
            first = false;
        }
        sbuf_puts(&y, "}\nroles:\n");
        sbuf sel;
        sbuf_init(&sel);
        for (int i = 0; i < n; i++) {
            sbuf_printf(&y, "  r%d: {command: x, instances: %d", i, 1 + rand() % 3);
            switch (rand() % 5) {
            case 0: sbuf_puts(&y, ", postgres: false"); break;
            case 1: sbuf_printf(&y, ", postgres: {connections: %d}", 1 + rand() % 4); break;
            case 2: sbuf_puts(&y, ", kind: oneshot"); break;
            default: sbuf_printf(&y, ", postgres: {weight: %d}", 1 + rand() % 4); break;
            }
            sbuf_puts(&y, "}\n");
            if (i == 0 || rand() % 2) sbuf_printf(&sel, "%sr%d", sel.len ? "," : "", i);
        }
        struct plan *q = build(y.data, sel.data, NULL, 0, &dt);
        if (!q) {
            /* only a budget that cannot hold, or copies here that the budget counts as none */
            if (!strstr(dt, "postgres budget: ") && !strstr(dt, " 0 copies, but this roster"))
                bad_error++;
            if (bad_error == 1 && !strstr(dt, "postgres budget: ") && !strstr(dt, " 0 copies"))
                fprintf(stderr, "  unexpected: %s\n%s\n", dt, y.data);
        } else {
            built++;
            long total = 0, here = 0;
            for (size_t i = 0; i < q->nroles; i++) {
                const struct plan_role *pr = &q->roles[i];
                total += (long)pr->copies * pr->pool_size;
                if (pr->selected) here += (long)pr->cfg->instances * pr->pool_size;
                if (pr->copies == 0 && pr->pool_size != 0) bad_zero++;
            }
            if (total != q->budget.used) bad_total++;
            if (here > q->budget.used) bad_here++;
            plan_unref(q);
        }
        free(dt);
        sbuf_free(&sel);
        sbuf_free(&y);
    }
    CHECK(built > 100);
    CHECK_INT(bad_total, 0);
    CHECK_INT(bad_here, 0);
    CHECK_INT(bad_zero, 0);
    CHECK_INT(bad_error, 0);
}

/* A file system of fakes: directories are paths without "missing" or "file" in them; programs
 * named ok are found, noexec is found but not executable. The last program looked up, its PATH
 * and its cwd are kept. */
static char last_find[256];

static int fake_check_dir(void *ctx, const char *path)
{
    (void)ctx;
    if (strstr(path, "missing")) return -ENOENT;
    if (strstr(path, "file")) return -ENOTDIR;
    return 0;
}

static int fake_find_program(void *ctx, const char *prog, const char *path, const char *cwd)
{
    (void)ctx;
    snprintf(last_find, sizeof last_find, "%s|%s|%s", prog, path, cwd ? cwd : "(none)");
    const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
    if (!strcmp(base, "ok")) return 0;
    return !strcmp(base, "noexec") ? -EACCES : -ENOENT;
}

/* A cwd that does not exist is an error, a command not found a note; only for selected roles,
 * which run here (issue 10 item 13). */
static void test_paths(void)
{
    struct plan_opts saved = fakes;
    fakes.check_dir = fake_check_dir;
    fakes.find_program = fake_find_program;
    char *dt, *s;
    static const char yaml[] = "roles:\n"
                               "  web: {command: ok, cwd: /srv/missing}\n"
                               "  api: {command: ok, cwd: /srv/file}\n"
                               "  db: {command: ok, cwd: /srv/missing}\n";
    struct plan *p = build(yaml, "web,api", NULL, 0, &dt);
    CHECK(p == NULL);
    char *want = xasprintf("%s:2:27: role 'web': cwd '/srv/missing' does not exist\n"
                           "%s:3:27: role 'api': cwd '/srv/file' cannot be used: Not a directory",
                           cfg_path, cfg_path);
    CHECK_STR(dt, want);
    free(want);
    free(dt);
    plan_unref(p);

    p = build("roles:\n"
              "  web: {command: nope --port 1, cwd: /srv/app}\n"
              "  api: {command: [./noexec], env: {PATH: /opt/bin}}\n"
              "  sh: {command: 'nope | tee log'}\n"
              "  good: {command: [ok, x], cwd: /srv/app, env: {PATH: /opt/bin}}\n"
              "  db: {command: elsewhere}\n",
              "web,api,sh,good", NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    if (p) {
        s = notes_of(p);
        CHECK_STR(s, "role web: command nope is not found on its PATH (" PROC_DEFAULT_PATH
                     "); the role fails to start unless it is there by then\n"
                     "role api: command ./noexec is not executable; the role fails to start "
                     "unless it is there by then");
        free(s);
        /* the program, the role's own PATH and its cwd, as the exec will see them */
        CHECK_STR(last_find, "ok|/opt/bin|/srv/app");
        plan_unref(p);
    }
    fakes = saved;
}

/* Two copies that run here on one port are an error naming both places; copies of one role get
 * consecutive ports (issue 10 item 13). */
static void test_ports(void)
{
    static const char yaml[] = "roles:\n"
                               "  api: {command: x, port: 3000, instances: 3}\n"
                               "  web: {command: x, port: 3002}\n"
                               "  docs: {command: x, port: 3000}\n"
                               "  admin: {command: x, port: 4000, instances: 2}\n"
                               "  top: {command: x, port: 65535, instances: 2}\n";
    FAIL(yaml, NULL,
         "@:6:27: role 'top': port 65535 with 2 instances runs past port 65535 (one port per "
         "copy)\n"
         "@:4:28: role 'docs' (port 3000) and role 'api' (ports 3000-3002, at @:2:27) would share "
         "port 3000\n"
         "@:3:27: role 'web' (port 3002) and role 'api' (ports 3000-3002, at @:2:27) would share "
         "port 3002");
    /* roles that are not selected run elsewhere */
    char *dt;
    struct plan *p = build(yaml, "api,admin", NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    plan_unref(p);
    p = build(yaml, "web,docs,admin", NULL, 0, &dt);
    CHECK(p != NULL);
    CHECK_STR(dt, "");
    free(dt);
    plan_unref(p);
}

/* `roster check` masks a secret that ${VAR} put into a teardown command, as it does in a role's
 * command (before, the teardown line showed it). */
static void test_print_masks_teardown_secrets(void)
{
    char *envv[] = {"DB_PASSWORD=hunter2-secret", "PATH=/usr/bin:/bin", NULL};
    char *diag = NULL;
    struct plan *p = build("app: t\nteardown: [\"psql -c drop --password=${DB_PASSWORD}\"]\n"
                           "roles:\n  web: {command: \"echo ${DB_PASSWORD}\"}\n",
                           NULL, envv, 0, &diag);
    CHECK(p != NULL);
    free(diag);
    if (!p) return;
    char *out = printed(p);
    CHECK(strstr(out, "teardown: psql -c drop --password=****\n") != NULL);
    CHECK(strstr(out, "command: echo ****") != NULL);
    CHECK(strstr(out, "hunter2-secret") == NULL);
    free(out);
    plan_unref(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/roster-test-plan-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    cfg_path = xasprintf("%s/roster.yaml", dir);
    test_order();
    test_selection();
    test_dependency_errors();
    test_env();
    test_budget_modes();
    test_budget_totals();
    test_paths();
    test_ports();
    test_users();
    test_pq_keywords();
    test_probe_targets();
    test_argv();
    test_libs();
    test_print_masks_teardown_secrets();
    unlink(cfg_path);
    free(cfg_path);
    rmdir(dir);
    return t_done("plan");
}
