/* test_schedules.c — a scheduler role's schedules in roster.yaml (issue 12): what is read, and
 * the FILE:LINE:COL of each mistake, a bad cron field pointed at by its own column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/envmap.h"
#include "base/util.h"
#include "config/config.h"
#include "sched/tz.h"
#include "t.h"

/* Loads text as roster.yaml; returns the first diagnostic ("" when none; caller frees). */
static char *first_error(const char *text, const envmap *vars, struct roster_config *cfg)
{
    envmap none = {0};
    diags d = {0};
    config_defaults(cfg);
    cfg->path = xstrdup("roster.yaml");
    config_load_yaml(cfg->path, text, strlen(text), vars ? vars : &none, cfg, &d);
    char *first = xstrdup(d.items.n ? d.items.v[0] : "");
    diags_free(&d);
    return first;
}

/* Loads text with one variable set; it must load without a diagnostic. */
static void load_ok(const char *text, const char *var, const char *value,
                    struct roster_config *cfg)
{
    envmap vars = {0};
    envmap_set(&vars, var, value);
    char *err = first_error(text, &vars, cfg);
    CHECK_STR(err, "");
    free(err);
    envmap_free(&vars);
}

static void expect(int line, const char *text, const envmap *vars, const char *want)
{
    struct roster_config cfg;
    char *got = first_error(text, vars, &cfg);
    if (strcmp(got, want)) fprintf(stderr, "test_schedules.c:%d:\n", line);
    CHECK_STR(got, want);
    free(got);
    config_free(&cfg);
}
#define BAD(text, want) expect(__LINE__, text, NULL, want)

static void test_read(void)
{
    const char *text =
        "roles:\n"
        "  scheduler:\n"
        "    builtin: scheduler\n"
        "    schedules:\n"
        "      nightly:  {cron: \"0 3 * * *\", tz: America/Toronto, http: \"POST "
        "http://127.0.0.1:3000/api/run-all\"}\n"
        "      cleanup:  {cron: \"@hourly\", command: \"node dist/cleanup.js\", timeout: 10m}\n"
        "      beat:\n"
        "        cron: '@every 30s'\n"
        "        command: [echo, hi]\n"
        "    history: {keep: 14d}\n";
    struct roster_config cfg;
    char *err = first_error(text, NULL, &cfg);
    CHECK_STR(err, "");
    free(err);
    CHECK_INT(cfg.nroles, 1);
    const struct role_config *r = &cfg.roles[0];
    CHECK_INT(r->builtin, BUILTIN_SCHEDULER);
    CHECK_INT(r->nschedules, 3);
    if (r->nschedules == 3) {
        CHECK_STR(r->schedules[0].name, "nightly");
        CHECK_STR(r->schedules[0].cron, "0 3 * * *");
        CHECK_STR(r->schedules[0].tz, "America/Toronto");
        CHECK_STR(r->schedules[0].http, "POST http://127.0.0.1:3000/api/run-all");
        CHECK_STR(r->schedules[1].shell, "node dist/cleanup.js");
        CHECK_INT(r->schedules[1].timeout_ms, 600000);
        CHECK(r->schedules[1].tz == NULL);
        CHECK_INT(r->schedules[2].argv.n, 2);
        CHECK_INT(r->schedules[2].pos.line, 7);
    }
    CHECK_INT(r->history_keep_ms, 14ULL * 24 * 3600 * 1000);
    config_free(&cfg);
}

static void test_errors(void)
{
    /* the bad field's own column: plain, double- and single-quoted values */
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n      a:\n"
        "        cron: 0 24 * * *\n        command: x\n",
        "roster.yaml:6:17: schedule 'a': cron '0 24 * * *': hour: value out of range (0-23)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"0 0 * * MON,FOO\", command: x}\n",
        "roster.yaml:5:30: schedule 'a': cron '0 0 * * MON,FOO': day-of-week: not a number nor a "
        "name this field knows (0-7 or SUN-SAT, 0 and 7 both Sunday)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: '*/0 * * * *', command: x}\n",
        "roster.yaml:5:18: schedule 'a': cron '*/0 * * * *': minute: step must be a number from "
        "1 to the field's largest value");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@every 1.5s\", command: x}\n",
        "roster.yaml:5:25: schedule 'a': cron '@every 1.5s': @every takes a duration of whole "
        "seconds, at least 1s (such as 30s, 5m, 1h30m)");
    /* filled in by ${VAR}: the value's column (its quote), which is all the file shows */
    envmap vars = {0};
    envmap_set(&vars, "WHEN", "0 0 32 * *");
    struct roster_config cfg;
    char *got = first_error("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
                            "      a: {cron: \"${WHEN}\", command: x}\n",
                            &vars, &cfg);
    CHECK_STR(got, "roster.yaml:5:17: schedule 'a': cron '0 0 32 * *': day-of-month: value out "
                   "of range (1-31)");
    free(got);
    config_free(&cfg);
    envmap_free(&vars);

    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", tz: Mars/Olympus, command: x}\n",
        "roster.yaml:5:31: schedule 'a': tz 'Mars/Olympus': unknown time zone: no such zone in "
        "/usr/share/zoneinfo");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {command: x}\n",
        "roster.yaml:5:7: schedule 'a' needs cron:");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\"}\n",
        "roster.yaml:5:7: schedule 'a' needs one action: command, http or enqueue");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x, http: \"GET http://h/\"}\n",
        "roster.yaml:5:7: schedule 'a' needs one action: command, http or enqueue, not more");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", http: \"http://h/\"}\n",
        "roster.yaml:5:33: schedule 'a': http must be \"METHOD URL\" (e.g. \"POST "
        "http://127.0.0.1:3000/run\"; GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS), or a "
        "mapping {method, url, headers, body, expect}, not 'http://h/'");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {crn: \"@daily\", command: x}\n",
        "roster.yaml:5:11: unknown key 'crn' in a schedule (did you mean 'cron'?)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a b: {cron: \"@daily\", command: x}\n",
        "roster.yaml:5:7: schedule name 'a b' must be letters, digits, '-' and '_' (at most 64, "
        "starting with a letter or digit)");
    /* "trigger" would share its keys with the trigger lists (roster:APP:sched:trigger:NAME):
     * its runs list was popped as schedule runs's triggers, running it after each of its runs */
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      trigger: {cron: \"@daily\", command: x}\n",
        "roster.yaml:5:7: schedule name 'trigger' is reserved (its Redis keys would be those of "
        "the manual triggers)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    command: x\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:4:14: role 's': builtin: scheduler runs roster's own scheduler; it takes no "
        "command");
    BAD("roles:\n  s:\n    builtin: scheduler\n",
        "roster.yaml:2:3: role 's': builtin: scheduler needs schedules:");
    BAD("roles:\n  s:\n    command: x\n    schedules:\n      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:5:7: role 's': schedules: is for a role with builtin: scheduler");
    /* history: a builtin's, at least a minute, with known keys */
    BAD("roles:\n  s:\n    command: x\n    history: {keep: 1d}\n",
        "roster.yaml:4:14: role 's': history: is for a builtin role (builtin: scheduler or worker)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    history: {keep: 10s}\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:4:21: history.keep must be 1m or more");
    BAD("roles:\n  s:\n    builtin: scheduler\n    history: {kep: 1d}\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:4:15: unknown key 'kep' in history (did you mean 'keep'?)");
    BAD("roles:\n  s:\n    builtin: cron\n    schedules:\n      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:3:14: builtin must be scheduler, worker or api, not 'cron'");
}

/* catch_up (per schedule) and redis_down (per scheduler role): values, defaults, mistakes. */
static void test_fleet_keys(void)
{
    const char *text = "roles:\n"
                       "  s:\n"
                       "    builtin: scheduler\n"
                       "    redis_down: run\n"
                       "    schedules:\n"
                       "      a: {cron: \"@daily\", command: x, catch_up: last}\n"
                       "      b: {cron: \"@daily\", command: x}\n"
                       "  t:\n"
                       "    builtin: scheduler\n"
                       "    schedules:\n"
                       "      c: {cron: \"@daily\", command: x, catch_up: none}\n";
    struct roster_config cfg;
    char *err = first_error(text, NULL, &cfg);
    CHECK_STR(err, "");
    free(err);
    CHECK_INT(cfg.nroles, 2);
    if (cfg.nroles == 2 && cfg.roles[0].nschedules == 2 && cfg.roles[1].nschedules == 1) {
        CHECK_INT(cfg.roles[0].redis_down, REDIS_DOWN_RUN);
        CHECK_INT(cfg.roles[1].redis_down, REDIS_DOWN_SKIP);
        CHECK_INT(cfg.roles[0].schedules[0].catch_up, CATCH_UP_LAST);
        CHECK_INT(cfg.roles[0].schedules[1].catch_up, CATCH_UP_NONE);
        CHECK_INT(cfg.roles[1].schedules[0].catch_up, CATCH_UP_NONE);
    }
    config_free(&cfg);
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x, catch_up: all}\n",
        "roster.yaml:5:49: catch_up must be none or last, not 'all'");
    BAD("roles:\n  s:\n    builtin: scheduler\n    redis_down: wait\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:4:17: redis_down must be skip or run, not 'wait'");
    BAD("roles:\n  s:\n    command: x\n    redis_down: run\n",
        "roster.yaml:4:17: role 's': redis_down: is for a role with builtin: scheduler");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x, catchup: last}\n",
        "roster.yaml:5:39: unknown key 'catchup' in a schedule (did you mean 'catch_up'?)");
}

/* http as a mapping: method, url, headers, body, expect. */
static void test_http_mapping(void)
{
    const char *text =
        "roles:\n"
        "  scheduler:\n"
        "    builtin: scheduler\n"
        "    schedules:\n"
        "      a:\n"
        "        cron: '@daily'\n"
        "        http: {url: \"http://127.0.0.1:3000/x\", headers: {X-Token: \"${TOKEN}\", "
        "Accept: text/plain}, body: '{\"a\":1}', expect: [200, 204]}\n"
        "      b: {cron: '@daily', http: {method: DELETE, url: \"https://h/y?z=1\", expect: 202}}\n"
        "      c: {cron: '@daily', http: {url: \"http://h/\"}}\n";
    struct roster_config cfg;
    load_ok(text, "TOKEN", "s3cret", &cfg);
    CHECK_INT(cfg.nroles, 1);
    const struct role_config *r = &cfg.roles[0];
    CHECK_INT(r->nschedules, 3);
    if (r->nschedules == 3) {
        const struct schedule_config *a = &r->schedules[0], *b = &r->schedules[1],
                                     *c = &r->schedules[2];
        CHECK_STR(a->http, "POST http://127.0.0.1:3000/x"); /* a body: POST by default */
        CHECK_INT(a->req.headers.n, 2);
        if (a->req.headers.n == 2) {
            CHECK_STR(a->req.headers.v[0], "X-Token: s3cret");
            CHECK_STR(a->req.headers.v[1], "Accept: text/plain");
        }
        CHECK_STR(a->req.body, "{\"a\":1}");
        CHECK_INT(a->req.nexpect, 2);
        CHECK_INT(a->req.expect[0], 200);
        CHECK_INT(a->req.expect[1], 204);
        CHECK_STR(b->http, "DELETE https://h/y?z=1");
        CHECK_INT(b->req.nexpect, 1);
        CHECK_INT(b->req.expect[0], 202);
        CHECK_STR(c->http, "GET http://h/"); /* no body: GET */
        CHECK_INT(c->req.nexpect, 0);
        CHECK(c->req.body == NULL);
    }
    config_free(&cfg);

#define SCHED_HTTP(v) "roles:\n  s:\n    builtin: scheduler\n    schedules:\n      a: {cron: '@daily', http: " v "}\n"
    /* column 33 is where the http value starts */
    BAD(SCHED_HTTP("{method: GET}"), "roster.yaml:5:33: schedule 'a': http needs a url");
    BAD(SCHED_HTTP("{url: \"http://h/\", methd: GET}"),
        "roster.yaml:5:52: unknown key 'methd' in http (did you mean 'method'?)");
    BAD(SCHED_HTTP("{method: FETCH, url: \"http://h/\"}"),
        "roster.yaml:5:42: schedule 'a': http.method must be GET, HEAD, POST, PUT, PATCH, "
        "DELETE or OPTIONS (in capitals), not 'FETCH'");
    BAD(SCHED_HTTP("{method: get, url: \"http://h/\"}"),
        "roster.yaml:5:42: schedule 'a': http.method must be GET, HEAD, POST, PUT, PATCH, "
        "DELETE or OPTIONS (in capitals), not 'get'");
    BAD(SCHED_HTTP("{url: \"ftp://h/\"}"),
        "roster.yaml:5:39: schedule 'a': http.url must be an http:// or https:// URL with a host "
        "and no spaces (e.g. http://127.0.0.1:3000/run), not 'ftp://h/'");
    BAD(SCHED_HTTP("{url: \"http:///x\"}"),
        "roster.yaml:5:39: schedule 'a': http.url must be an http:// or https:// URL with a host "
        "and no spaces (e.g. http://127.0.0.1:3000/run), not 'http:///x'");
    BAD(SCHED_HTTP("{url: \"http://h/a b\"}"),
        "roster.yaml:5:39: schedule 'a': http.url must be an http:// or https:// URL with a host "
        "and no spaces (e.g. http://127.0.0.1:3000/run), not 'http://h/a b'");
    BAD(SCHED_HTTP("{url: \"http://h/\", expect: 700}"),
        "roster.yaml:5:60: http.expect must be between 100 and 599, not 700");
    BAD(SCHED_HTTP("{url: \"http://h/\", expect: [200, x]}"),
        "roster.yaml:5:66: http.expect must be a whole number, not 'x'");
    BAD(SCHED_HTTP("{url: \"http://h/\", expect: []}"),
        "roster.yaml:5:60: schedule 'a': http.expect is an empty list");
    BAD(SCHED_HTTP("{url: \"http://h/\", headers: {\"X Bad\": 1}}"),
        "roster.yaml:5:62: schedule 'a': http header name 'X Bad' must be letters, digits and "
        "!#$%&'*+-.^_`|~ (at most 128)");
    BAD(SCHED_HTTP("{url: \"http://h/\", headers: {Content-Length: 1}}"),
        "roster.yaml:5:62: schedule 'a': http header Content-Length is set by roster from the "
        "body");
    BAD(SCHED_HTTP("{url: \"http://h/\", headers: {X-A: \"a\\nb\"}}"),
        "roster.yaml:5:67: schedule 'a': http header X-A: the value must be one line of at most "
        "8192 bytes");
    BAD(SCHED_HTTP("{url: \"http://h/\", headers: [a]}"),
        "roster.yaml:5:61: http.headers must be a mapping (key: value lines), not a list");
    BAD(SCHED_HTTP("{method: HEAD, url: \"http://h/\", body: x}"),
        "roster.yaml:5:72: schedule 'a': a HEAD request sends no body");
    BAD(SCHED_HTTP("\"FETCH http://h/\""),
        "roster.yaml:5:33: schedule 'a': http must be \"METHOD URL\" (e.g. \"POST "
        "http://127.0.0.1:3000/run\"; GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS), or a "
        "mapping {method, url, headers, body, expect}, not 'FETCH http://h/'");
#undef SCHED_HTTP
}

/* enqueue: {queue, type, payload}: the payload as JSON, and each mistake. */
static void test_enqueue(void)
{
    const char *text =
        "redis: {url: \"redis://127.0.0.1:6379\"}\n"
        "roles:\n"
        "  scheduler:\n"
        "    builtin: scheduler\n"
        "    schedules:\n"
        "      a:\n"
        "        cron: '@daily'\n"
        "        enqueue:\n"
        "          queue: mail\n"
        "          type: digest.daily\n"
        "          payload: {to: \"${WHO}\", n: 12345678901234567890, ok: true, none: ~, "
        "list: [1, two, '3'], s: \"false\", period: 1m, v: 2e3x}\n"
        "      b: {cron: '@daily', enqueue: {queue: q, type: t, payload: '{\"x\": [1, 2]}'}}\n"
        "      c: {cron: '@daily', enqueue: {queue: q, type: t}}\n";
    struct roster_config cfg;
    load_ok(text, "WHO", "ops@example.com", &cfg);
    const struct role_config *r = cfg.nroles ? &cfg.roles[0] : NULL;
    CHECK(r && r->nschedules == 3);
    if (r && r->nschedules == 3) {
        const struct schedule_enqueue *a = &r->schedules[0].enq, *b = &r->schedules[1].enq,
                                      *c = &r->schedules[2].enq;
        CHECK_STR(a->queue, "mail");
        CHECK_STR(a->type, "digest.daily");
        CHECK_STR(a->payload, "{\"to\":\"ops@example.com\",\"n\":12345678901234567890,"
                              "\"ok\":true,\"none\":null,\"list\":[1,\"two\",\"3\"],"
                              "\"s\":\"false\",\"period\":\"1m\",\"v\":\"2e3x\"}");
        CHECK_INT(a->pos.line, 9);
        CHECK_STR(b->payload, "{\"x\": [1, 2]}");
        CHECK(c->payload == NULL); /* none: the job store's null */
        CHECK(r->schedules[0].http == NULL && r->schedules[0].shell == NULL);
    }
    config_free(&cfg);

#define ENQ(v) "redis: {url: \"redis://h:1\"}\nroles:\n  s:\n    builtin: scheduler\n" \
               "    schedules:\n      a: {cron: '@daily', enqueue: " v "}\n"
    /* column 36 is where the enqueue value starts */
    BAD(ENQ("{type: t}"), "roster.yaml:6:36: schedule 'a': enqueue needs a queue");
    BAD(ENQ("{queue: q}"), "roster.yaml:6:36: schedule 'a': enqueue needs a type");
    BAD(ENQ("{queue: \"a b\", type: t}"),
        "roster.yaml:6:44: schedule 'a': enqueue.queue must be 1 to 64 letters, digits and _.:- "
        "(not 'a b')");
    BAD(ENQ("{queue: q, type: t, payload: '{\"a\": }'}"),
        "roster.yaml:6:65: schedule 'a': enqueue.payload is a string that is not JSON (write the "
        "value as YAML, or JSON text in quotes): '{\"a\": }'");
    BAD(ENQ("{queue: q, type: t, priority: 1}"),
        "roster.yaml:6:56: unknown key 'priority' in enqueue");
    BAD(ENQ("[q, t]"), "roster.yaml:6:36: enqueue must be a mapping (key: value lines), not a list");
    BAD(ENQ("{queue: q, type: t}, command: x"),
        "roster.yaml:6:7: schedule 'a' needs one action: command, http or enqueue, not more");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: '@daily', enqueue: {queue: q, type: t}}\n",
        "roster.yaml:5:36: schedule 'a': enqueue needs redis: (the job queue is kept in Redis; "
        "add redis: {url: ${REDIS_URL}})");
#undef ENQ
}

int main(void)
{
    struct tz z;
    if (tz_load("America/Toronto", NULL, &z) != TZ_OK) { /* the zones the configs name */
        printf("SKIP: no tzdata in /usr/share/zoneinfo (install the tzdata package)\n");
        return 0;
    }
    tz_free(&z);
    test_read();
    test_errors();
    test_fleet_keys();
    test_http_mapping();
    test_enqueue();
    return t_done("test_schedules");
}
