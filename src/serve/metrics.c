/* metrics.c — Prometheus text format (version 0.0.4), checked by `promtool check metrics`. */
#include "serve/metrics.h"

#include <stdio.h>
#include <string.h>

#include "datastore/services.h"
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
    sbuf *out;
    int which;
    double now;
};

static void one(void *ud, struct instance *in)
{
    struct mctx *m = ud;
    sbuf *o = m->out;
    bool up = in->state == ST_RUNNING || in->state == ST_READY || in->state == ST_STOPPING;
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
                    !in->has_exit        ? 0
                    : in->last_code >= 0 ? in->last_code
                                         : 128 + in->last_signal);
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
        enum health_level l = status_instance(in, m->now, &why);
        sbuf_puts(o, "roster_role_health");
        labels(o, in);
        sbuf_printf(o, " %d\n", l == HEALTH_PASS ? 0 : l == HEALTH_WARN ? 1 : 2);
        break;
    }
    }
}

void metrics_render(struct sup *s, sbuf *out)
{
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
    };
    struct mctx m = {.out = out, .now = wall_time()};
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
    services_metrics(s, out);
}
