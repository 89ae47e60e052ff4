/* metrics.c — Prometheus text format (version 0.0.4), checked by `promtool check metrics`. */
#include "serve/metrics.h"

#include <stdio.h>
#include <string.h>

#include "base/exitstatus.h"
#include "datastore/redisconn.h"
#include "datastore/services.h"
#include "serve/rolechan.h"
#include "serve/status.h"

void metrics_family(sbuf *out, const char *name, const char *type, const char *help)
{
    sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values here are role names, app names and fixed words: no escaping needed beyond what
 * the config already forbids; the app name is checked the same way. */
static void labels(sbuf *out, const struct instance *in)
{
    sbuf_printf(out, "{role=\"%s\",instance=\"%d\"}", role_cfg(in->role)->name, in->index);
}

struct mctx {
    const struct view *v;
    sbuf *out;
    int which;
    double now;
};

static void one(void *ud, const struct instance *in)
{
    struct mctx *m = ud;
    sbuf *o = m->out;
    bool up = inst_state_alive(in->state);
    switch (m->which) {
    case 0:
        sbuf_puts(o, "roster_role_up");
        labels(o, in);
        sbuf_printf(o, " %d\n", up ? 1 : 0);
        break;
    case 1:
        sbuf_puts(o, "roster_role_ready");
        labels(o, in);
        sbuf_printf(o, " %d\n", in->state == ST_READY ? 1 : 0);
        break;
    case 2:
        sbuf_puts(o, "roster_role_restarts_total");
        labels(o, in);
        sbuf_printf(o, " %u\n", in->restarts);
        break;
    case 3:
        sbuf_puts(o, "roster_role_start_time_seconds");
        labels(o, in);
        sbuf_printf(o, " %.3f\n", up ? in->spawned_wall : 0.0);
        break;
    case 4:
        sbuf_puts(o, "roster_role_last_exit_code");
        labels(o, in);
        /* a death by signal is reported as the shell does: 128 + the signal number */
        sbuf_printf(o, " %d\n",
                    inst_has_exit(in) ? exitstatus_shell(in->exit.code, in->exit.signal) : 0);
        break;
    case 5:
        sbuf_puts(o, "roster_role_memory_bytes");
        labels(o, in);
        sbuf_printf(o, " %llu\n", (unsigned long long)(up ? in->memory : 0));
        break;
    case 6:
        for (int s = 0; s < 2; s++)
            sbuf_printf(o,
                        "roster_log_lines_total{role=\"%s\",instance=\"%d\",stream=\"%s\"} %llu\n",
                        role_cfg(in->role)->name, in->index, s ? "stderr" : "stdout",
                        (unsigned long long)in->lines[s]);
        break;
    case 7: {
        const char *why;
        enum health_level l = status_instance(m->v, in, m->now, &why);
        sbuf_puts(o, "roster_role_health");
        labels(o, in);
        sbuf_printf(o, " %d\n", l == HEALTH_PASS ? 0 : l == HEALTH_WARN ? 1 : 2);
        break;
    }
    case 8:
        sbuf_puts(o, "roster_log_lines_dropped_total");
        labels(o, in);
        sbuf_printf(o, " %llu\n", (unsigned long long)in->src.dropped);
        break;
    }
}

/* roster_postgres_* and roster_redis_*. */
static void services_metrics(const struct view *view, sbuf *out)
{
    const struct services *v = view->services;
    if (!v) return;
    const struct plan *p = view->s->plan;
    if (v->pg) {
        metrics_family(out, "roster_postgres_up", "gauge",
                       "Whether roster's own Postgres connection is up.");
        sbuf_printf(out, "roster_postgres_up %d\n", v->pg_up ? 1 : 0);
        metrics_family(out, "roster_postgres_response_seconds", "gauge",
                       "Round trip of roster's last pg_stat_activity sample.");
        sbuf_printf(out, "roster_postgres_response_seconds %.6f\n",
                    v->pg_response >= 0 ? v->pg_response : 0.0);
        metrics_family(out, "roster_postgres_samples_total", "counter",
                       "pg_stat_activity samples taken.");
        sbuf_printf(out, "roster_postgres_samples_total %llu\n", (unsigned long long)v->samples);
        if (p->budget_known) {
            metrics_family(out, "roster_postgres_usable_connections", "gauge",
                           "Connections the app may hold, all instances together.");
            sbuf_printf(out, "roster_postgres_usable_connections %d\n", p->budget.usable);
            metrics_family(out, "roster_postgres_budget_connections", "gauge",
                           "Each role's share of the budget (copies x pool).");
            for (size_t i = 0; i < p->budget.nlines; i++)
                sbuf_printf(out, "roster_postgres_budget_connections{role=\"%s\"} %d\n",
                            p->budget.lines[i].role, p->budget.lines[i].total);
            metrics_family(out, "roster_postgres_pool_size", "gauge",
                           "The pool size each copy of a role is given.");
            for (size_t i = 0; i < p->budget.nlines; i++)
                sbuf_printf(out, "roster_postgres_pool_size{role=\"%s\"} %d\n",
                            p->budget.lines[i].role, p->budget.lines[i].pool);
        }
        if (v->sampled) {
            metrics_family(out, "roster_postgres_connections", "gauge",
                           "Connections in use per role, by application_name, at the last sample.");
            for (size_t i = 0; i < v->nusage; i++)
                sbuf_printf(out, "roster_postgres_connections{role=\"%s\"} %d\n", v->usage[i].role,
                            v->usage[i].used);
            sbuf_printf(out, "roster_postgres_connections{role=\"roster\"} %d\n", v->roster_used);
            sbuf_printf(out, "roster_postgres_connections{role=\"other\"} %d\n", v->other_used);
        }
    }
    if (v->redis) {
        metrics_family(out, "roster_redis_up", "gauge",
                       "Whether roster's Redis connection answers.");
        sbuf_printf(out, "roster_redis_up %d\n", v->redis_up ? 1 : 0);
        double lat = redisconn_latency(v->redis);
        metrics_family(out, "roster_redis_ping_seconds", "gauge", "Round trip of the last PING.");
        sbuf_printf(out, "roster_redis_ping_seconds %.6f\n", lat >= 0 ? lat : 0.0);
    }
}

void metrics_render(const struct view *v, sbuf *out)
{
    const struct sup *s = v->s;
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"roster_role_up", "gauge",
         "Whether the role instance's process is running (1) or not (0)."},
        {"roster_role_ready", "gauge", "Whether the role instance is ready (1) or not (0)."},
        {"roster_role_restarts_total", "counter", "Restarts of the role instance."},
        {"roster_role_start_time_seconds", "gauge",
         "Unix time the running process of the role instance started (0 when none runs)."},
        {"roster_role_last_exit_code", "gauge",
         "Exit code of the last process of the role instance (128+signal when killed)."},
        {"roster_role_memory_bytes", "gauge",
         "Resident memory of the role instance's process group, sampled each second."},
        {"roster_log_lines_total", "counter", "Output lines of the role instance per stream."},
        {"roster_role_health", "gauge", "Health of the role instance: 0 pass, 1 warn, 2 fail."},
        {"roster_log_lines_dropped_total", "counter",
         "Output lines of the role instance roster did not write: its stdout was closed, or "
         "stalled past the queue's cap."},
    };
    struct mctx m = {.v = v, .out = out, .now = wall_time()};
    for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
        metrics_family(out, fams[f].name, fams[f].type, fams[f].help);
        m.which = (int)f;
        status_each(s, one, &m);
    }
    metrics_family(out, "roster_info", "gauge", "roster's version and app; always 1.");
    sbuf_printf(out, "roster_info{version=\"%s\",app=\"%s\"} 1\n", ROSTER_VERSION,
                s->plan->cfg.app);
    metrics_family(out, "roster_start_time_seconds", "gauge", "Unix time roster started.");
    sbuf_printf(out, "roster_start_time_seconds %.3f\n", s->started_wall);
    metrics_family(out, "roster_reloads_total", "counter", "Successful config reloads.");
    sbuf_printf(out, "roster_reloads_total %llu\n", (unsigned long long)s->reloads);
    metrics_family(out, "roster_orphans_reaped_total", "counter",
                   "Orphaned descendants reaped by roster as PID 1 or subreaper.");
    sbuf_printf(out, "roster_orphans_reaped_total %llu\n", (unsigned long long)s->orphans_reaped);
    metrics_family(out, "roster_log_events_dropped_total", "counter",
                   "roster's own log events not written: stdout closed, or stalled past the cap.");
    sbuf_printf(out, "roster_log_events_dropped_total %llu\n",
                (unsigned long long)s->log.events_dropped_total);
    metrics_family(out, "roster_log_lines_lost_total", "counter",
                   "Lines on their way to stdout when it went away (of no one role's count).");
    sbuf_printf(out, "roster_log_lines_lost_total %llu\n",
                (unsigned long long)logmux_lines_lost(&s->log));
    metrics_family(out, "roster_stdout_up", "gauge",
                   "Whether roster's stdout takes its log (0 once a write failed for good).");
    sbuf_printf(out, "roster_stdout_up %d\n", logmux_stdout_up(&s->log) ? 1 : 0);
    services_metrics(v, out);
    rolechan_metrics(v->chan, s, out);
}
