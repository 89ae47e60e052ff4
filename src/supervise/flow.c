/* flow.c — max_processes, output.group, output.timings and teardown around a run. */
#include "supervise/flow.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/redact.h"
#include "log/logfmt.h"
#include "os/proc.h"
#include "supervise/observer.h"

/* concurrently's default -t, for the timings when output.timestamp_format is not given. */
#define DEFAULT_TIME_FORMAT "yyyy-MM-dd HH:mm:ss.SSS"

/* One end as the timings table shows it. Its strings are copies: the instance may be gone (a
 * reload) by the time the table is printed. */
struct close_row {
    size_t seq; /* its place among the ends */
    char *name;
    char *command;
    double duration; /* seconds, for the order (concurrently's hrtime durationSeconds) */
    long long duration_ms;
    char code[32]; /* the exit code, or the signal's name */
    bool killed;
};

/* What the flow keeps of an instance: its held output (output.group). */
struct flow_inst {
    sbuf held;
};

struct flow {
    struct sup *sup;
    int slot;
    int ncpus;
    bool holding; /* output.group was on: instances may hold lines */
    /* output.timings: the first ends, as many as there were instances at the start, in the
     * order they happened (concurrently's bufferCount(commands.length): a restarted command's
     * earlier end counts too) */
    struct close_row *rows;
    size_t nrows, maxrows;
    /* kept from the end of the run for the teardown: the last plan (its config) and the look */
    const struct plan *plan;
    struct log_style style;
};

size_t flow_max_processes(const struct roster_config *cfg, size_t n, int ncpus)
{
    double v = cfg->max_processes_percent ? floor(ncpus * cfg->max_processes / 100 + 0.5)
                                          : cfg->max_processes;
    size_t max = v >= 1 ? (size_t)v : n;
    return max ? max : 1;
}

/* The instances of the current roles, in the config's order. */
static size_t count_instances(const struct sup *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nroles; i++)
        n += (size_t)s->roles[i]->ninst;
    return n;
}

/* Whether a comes before b in the config's order. */
static bool before(const struct instance *a, const struct instance *b)
{
    return a->role->pidx != b->role->pidx ? a->role->pidx < b->role->pidx : a->index < b->index;
}

/* A count of milliseconds as JavaScript's Number.prototype.toLocaleString() writes it in
 * English: thousands grouped with commas. */
static void locale_ms(long long ms, char *out, size_t n)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", ms < 0 ? -ms : ms);
    size_t len = strlen(digits), k = 0;
    if (ms < 0 && k + 1 < n) out[k++] = '-';
    for (size_t i = 0; i < len && k + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = 0;
}

/* The config the run follows now: the keys are read as they are used, so a reload changes them
 * (output.group turned off lets what was held out). */
static const struct roster_config *cfg_of(const struct flow *f)
{
    return &f->sup->plan->cfg;
}

static const char *time_format(const struct flow *f)
{
    const char *t = cfg_of(f)->look.time_format;
    return t ? t : DEFAULT_TIME_FORMAT;
}

/* A timings line about an instance: concurrently's note in its look, roster's event (always in
 * JSON) otherwise. */
static void timing_line(struct flow *f, struct instance *in, const char *event, const char *what,
                        const char *when, const char *after)
{
    struct logmux *m = &f->sup->log;
    if (m->style.look)
        logmux_note(m, &in->src, "%s %s at %s%s", in->src.command, what, when, after);
    logmux_event(m, event, role_cfg(in->role)->name, in->index, NULL, "%s %s at %s%s", in->label,
                 what, when, after);
}

static void on_spawned(void *ud, struct instance *in)
{
    struct flow *f = ud;
    if (!cfg_of(f)->look.timings) return;
    char when[128];
    logfmt_date(time_format(f), in->spawned_wall, when, sizeof when);
    timing_line(f, in, "timing_start", "started", when, "");
}

/* Whether roster, not the process itself, ended it (concurrently's command.killed: kill() was
 * called while it ran). */
static bool killed_by_roster(const struct instance *in)
{
    return in->state == ST_STOPPING || in->state == ST_RESTARTING || in->state == ST_FAILING;
}

static void on_exited(void *ud, struct instance *in)
{
    struct flow *f = ud;
    /* a slot is free: the next waiting instance may start */
    if (cfg_of(f)->max_processes > 0) sup_post_gates_changed(f->sup);
    if (!cfg_of(f)->look.timings) return;
    long long ms = (long long)(in->exit.wall * 1000) - (long long)(in->spawned_wall * 1000);
    char when[128], dur[40], after[64];
    logfmt_date(time_format(f), in->exit.wall, when, sizeof when);
    locale_ms(ms, dur, sizeof dur);
    snprintf(after, sizeof after, " after %sms", dur);
    timing_line(f, in, "timing_stop", "stopped", when, after);
    if (f->nrows == f->maxrows) return;
    struct close_row *row = &f->rows[f->nrows];
    row->seq = f->nrows++;
    row->name = xstrdup(in->src.name ? in->src.name : "");
    row->command = xstrdup(in->src.command ? in->src.command : "");
    row->duration_ms = ms;
    row->duration = in->exit.wall - in->spawned_wall;
    row->killed = killed_by_roster(in);
    if (in->exit.signal)
        snprintf(row->code, sizeof row->code, "%s", signal_name(in->exit.signal));
    else
        snprintf(row->code, sizeof row->code, "%d", in->exit.code);
}

/* max_processes: an instance may start while fewer than the limit run and no instance before
 * it waits (concurrently starts them in order, one for each that ends). */
static bool gate(void *ud, struct instance *in)
{
    struct flow *f = ud;
    const struct sup *s = f->sup;
    if (!(s->plan->cfg.max_processes > 0)) return true;
    size_t running = 0;
    struct inst_iter it = {.s = s};
    for (struct instance *o; (o = sup_next_instance(&it));) {
        if (o == in) continue;
        if (inst_alive(o)) running++;
        if (o->state == ST_STARTING && o->role->plan == in->role->plan && before(o, in))
            return false;
    }
    return running < flow_max_processes(&s->plan->cfg, count_instances(s), f->ncpus);
}

/* output.group: every instance's lines are held from its first step; settled lets them out in
 * order. */
static void on_state(void *ud, struct instance *in, enum inst_state old, enum inst_state now)
{
    struct flow *f = ud;
    (void)old;
    (void)now;
    if (!cfg_of(f)->look.group || inst_ctx(in, f->slot)) return;
    f->holding = true;
    struct flow_inst *fi = xcalloc(1, sizeof *fi);
    sbuf_init(&fi->held);
    /* Another holder had the source (the dev profile's crash dedupe, when a reload turned
     * output.group on): what it held is this run's first lines, so they lead the group's. */
    if (in->src.held) {
        if (in->src.held->len) sbuf_append(&fi->held, in->src.held->data, in->src.held->len);
        sbuf_free(in->src.held);
    }
    inst_set_ctx(in, f->slot, fi);
    in->src.held = &fi->held;
}

/* concurrently's OutputWriter: the first instance that has not ended writes as it comes, and
 * what those before it held is written out once they have ended, in order; the ones after it
 * keep holding. */
static void on_settled(void *ud, struct sup *s)
{
    struct flow *f = ud;
    if (!f->holding) return;
    bool group = cfg_of(f)->look.group;
    for (size_t i = 0; i < s->nroles; i++) {
        for (int k = 0; k < s->roles[i]->ninst; k++) {
            struct instance *in = s->roles[i]->inst[k];
            logmux_release(&s->log, &in->src);
            if (group && (inst_alive(in) || !inst_has_exit(in))) return;
        }
    }
    /* every current instance writes as it comes (a reload turned group off, or each has
     * ended): what retiring roles held goes too, and nothing holds any more */
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        logmux_release(&s->log, &in->src);
    f->holding = group;
}

static void on_release(void *ud, struct instance *in)
{
    struct flow *f = ud;
    struct flow_inst *fi = inst_ctx(in, f->slot);
    if (!fi) return;
    /* what a removed role held is written rather than lost */
    logmux_release(&f->sup->log, &in->src);
    sbuf_free(&fi->held);
    free(fi);
    inst_set_ctx(in, f->slot, NULL);
}

/* Columns counted in characters, as JavaScript's padEnd counts them (the box-drawing characters
 * and most text are one UTF-16 unit each). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* One line of the table: concurrently's global line in its look, roster's event otherwise. */
static void table_line(struct flow *f, sbuf *b)
{
    struct logmux *m = &f->sup->log;
    if (m->style.look) logmux_note(m, NULL, "%s", b->data ? b->data : "");
    logmux_event(m, "timings", NULL, 0, NULL, "%s", b->data ? b->data : "");
    sbuf_reset(b);
}

#define NCOLS 5

/* A border row: left, then each column's width of '─' joined by mid, then right. */
static void border(struct flow *f, sbuf *b, const char *left, const char *mid, const char *right,
                   const size_t *width)
{
    sbuf_puts(b, left);
    for (size_t c = 0; c < NCOLS; c++) {
        if (c) sbuf_puts(b, mid);
        for (size_t k = 0; k < width[c]; k++)
            sbuf_puts(b, "─");
    }
    sbuf_puts(b, right);
    table_line(f, b);
}

static void row_line(struct flow *f, sbuf *b, const char *const *cells, const size_t *width)
{
    sbuf_puts(b, "│ ");
    for (size_t c = 0; c < NCOLS; c++) {
        if (c) sbuf_puts(b, " │ ");
        sbuf_puts(b, cells[c]);
        for (size_t w = text_width(cells[c]); w < width[c]; w++)
            sbuf_putc(b, ' ');
    }
    sbuf_puts(b, " │");
    table_line(f, b);
}

static int by_duration(const void *a, const void *b)
{
    const struct close_row *x = a, *y = b;
    if (x->duration != y->duration) return x->duration > y->duration ? -1 : 1;
    /* JavaScript's sort is stable: equal durations keep the order they ended in */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A row's cells in concurrently's column order; dur is its duration, written. */
static void row_cells(const struct close_row *row, const char *dur, const char *cells[NCOLS])
{
    cells[0] = row->name;
    cells[1] = dur;
    cells[2] = row->code;
    cells[3] = row->killed ? "true" : "false";
    cells[4] = row->command;
}

/* concurrently's logTable of the ends, longest first, once every instance has ended. */
static void print_table(struct flow *f)
{
    if (!cfg_of(f)->look.timings || !f->nrows || f->nrows < f->maxrows) return;
    qsort(f->rows, f->nrows, sizeof *f->rows, by_duration);
    static const char *const heads[NCOLS] = {"name", "duration", "exit code", "killed", "command"};
    size_t width[NCOLS];
    for (size_t c = 0; c < NCOLS; c++)
        width[c] = text_width(heads[c]);
    char(*dur)[40] = xcalloc(f->nrows, sizeof *dur);
    for (size_t i = 0; i < f->nrows; i++) {
        const char *cells[NCOLS];
        locale_ms(f->rows[i].duration_ms, dur[i], sizeof dur[i]);
        row_cells(&f->rows[i], dur[i], cells);
        for (size_t c = 0; c < NCOLS; c++)
            if (text_width(cells[c]) > width[c]) width[c] = text_width(cells[c]);
    }
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "Timings:");
    table_line(f, &b);
    border(f, &b, "┌─", "─┬─", "─┐", width);
    row_line(f, &b, heads, width);
    border(f, &b, "├─", "─┼─", "─┤", width);
    for (size_t i = 0; i < f->nrows; i++) {
        const char *cells[NCOLS];
        row_cells(&f->rows[i], dur[i], cells);
        row_line(f, &b, cells, width);
    }
    border(f, &b, "└─", "─┴─", "─┘", width);
    sbuf_free(&b);
    free(dur);
}

static int on_start(void *ud, struct sup *s)
{
    struct flow *f = ud;
    f->maxrows = count_instances(s);
    f->rows = xcalloc(f->maxrows ? f->maxrows : 1, sizeof *f->rows);
    return 0;
}

static void on_stop(void *ud, struct sup *s)
{
    struct flow *f = ud;
    /* what is still held is written in the config's order (concurrently would lose it when a
     * command never ran) */
    if (f->holding)
        for (size_t i = 0; i < s->nroles; i++)
            for (int k = 0; k < s->roles[i]->ninst; k++)
                logmux_release(&s->log, &s->roles[i]->inst[k]->src);
    /* the instances outlive the observers: their contexts go now */
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        on_release(f, in);
    print_table(f);
    f->plan = plan_ref(s->plan);
    f->style = s->log.style;
}

/* A reload may have raised or dropped max_processes: the waiting instances ask again. */
static void on_plan_swapped(void *ud, struct sup *s, const struct plan *old)
{
    (void)ud;
    (void)old;
    sup_post_gates_changed(s);
}

static const struct sup_observer flow_observer = {
    .name = "flow",
    .start = on_start,
    .stop = on_stop,
    .settled = on_settled,
    .gate = gate,
    .plan_swapped = on_plan_swapped,
    .state = on_state,
    .spawned = on_spawned,
    .exited = on_exited,
    .release = on_release,
};

struct flow *flow_attach(struct sup *s, int ncpus)
{
    struct flow *f = xcalloc(1, sizeof *f);
    f->sup = s;
    f->ncpus = ncpus;
    f->slot = sup_attach(s, &flow_observer, f);
    if (f->slot < 0) {
        flow_free(f);
        return NULL;
    }
    return f;
}

void flow_free(struct flow *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->nrows; i++) {
        free(f->rows[i].name);
        free(f->rows[i].command);
    }
    free(f->rows);
    if (f->plan) plan_unref(f->plan);
    free(f);
}

/* One of the teardown's lines (text, which it frees): concurrently's global line in its look
 * (none with raw), roster's event otherwise. */
static void teardown_line(struct flow *f, char *text)
{
    sbuf b;
    sbuf_init(&b);
    /* written here, not through logmux's events: their redaction is applied here (a teardown
     * command may hold a URL with a password) */
    char *shown = redact_text(text);
    if (f->style.look && f->style.format == LOG_TEXT)
        logfmt_global(&f->style, shown, &b);
    else
        logfmt_event(&f->style, "teardown", NULL, 0, NULL, shown, wall_time(), &b);
    free(shown);
    if (b.len) {
        fwrite(b.data, 1, b.len, stdout);
        fflush(stdout);
    }
    sbuf_free(&b);
    free(text);
}

int flow_teardown(struct flow *f, char **environ_)
{
    if (!f || !f->plan) return 0;
    const struct roster_config *c = &f->plan->cfg;
    if (!c->teardown.n) return 0;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    int rc = 0;
    for (size_t i = 0; i < c->teardown.n; i++) {
        const char *cmd = c->teardown.v[i];
        teardown_line(f, xasprintf("Running teardown command \"%s\"", cmd));
        char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
        struct spawn_opts so = {
            .argv = argv,
            .envp = environ_,
            .cwd = c->dir,
            .stdin_fd = 0,
            .stdout_fd = 1,
            .stderr_fd = 2,
        };
        char err[256];
        pid_t pid;
        if (proc_spawn(&so, &pid, err, sizeof err) < 0) {
            teardown_line(f, xasprintf("Teardown command \"%s\" errored:", cmd));
            teardown_line(f, xstrdup(err));
            rc = 1;
            break;
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        char code[32];
        if (WIFSIGNALED(st))
            snprintf(code, sizeof code, "%s", signal_name(WTERMSIG(st)));
        else
            snprintf(code, sizeof code, "%d", WEXITSTATUS(st));
        teardown_line(f, xasprintf("Teardown command \"%s\" exited with code %s", cmd, code));
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGINT) break;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return rc;
}
