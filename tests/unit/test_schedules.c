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
        "roster.yaml:5:31: schedule 'a': tz 'Mars/Olympus': unknown time zone (not in the "
        "system's tzdata)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {command: x}\n",
        "roster.yaml:5:7: schedule 'a' needs cron:");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\"}\n",
        "roster.yaml:5:7: schedule 'a' needs one action: command or http");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x, http: \"GET http://h/\"}\n",
        "roster.yaml:5:7: schedule 'a' needs one action: command or http, not both");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {cron: \"@daily\", http: \"http://h/\"}\n",
        "roster.yaml:5:33: schedule 'a': http must be \"METHOD URL\" (e.g. \"POST "
        "http://127.0.0.1:3000/run\"), not 'http://h/'");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a: {crn: \"@daily\", command: x}\n",
        "roster.yaml:5:11: unknown key 'crn' in a schedule (did you mean 'cron'?)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    schedules:\n"
        "      a b: {cron: \"@daily\", command: x}\n",
        "roster.yaml:5:7: schedule name 'a b' must be letters, digits, '-' and '_' (at most 64, "
        "starting with a letter or digit)");
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
        "roster.yaml:4:14: role 's': history: is for a builtin role (builtin: scheduler)");
    BAD("roles:\n  s:\n    builtin: scheduler\n    history: {keep: 10s}\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:4:21: history.keep must be 1m or more");
    BAD("roles:\n  s:\n    builtin: scheduler\n    history: {kep: 1d}\n    schedules:\n"
        "      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:4:15: unknown key 'kep' in history (did you mean 'keep'?)");
    BAD("roles:\n  s:\n    builtin: cron\n    schedules:\n      a: {cron: \"@daily\", command: x}\n",
        "roster.yaml:3:14: builtin must be scheduler, not 'cron'");
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
    return t_done("test_schedules");
}
