/* concur_run.c — concurrently's -m, --timings and --teardown around a roster run. */
#include "cli/concur_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log/logfmt.h"
#include "os/proc.h"
#include "supervise/observer.h"

/* One command's end as the timings table shows it. */
struct close_row {
    size_t seq; /* its place among the ends */
    size_t cmd;
    double duration; /* seconds, for the order (concurrently's hrtime durationSeconds) */
    long long duration_ms;
    char code[32]; /* the exit code, or the signal's name */
    bool killed;
};

struct concur_run {
    struct sup *sup;
    const struct concur_opts *o;
    size_t max_running; /* -m; o->ncmds when not limited */
    /* --timings: the first ncmds ends, in the order they happened (concurrently's
     * bufferCount(commands.length): a restarted command's earlier end counts too). */
    struct close_row *rows;
    size_t nrows;
    /* -g: each command's held output (commands after the active one), the command whose output
     * is written as it comes, and whether it ended this turn (the others' turn comes once its
     * own "exited with code" line is queued). */
    sbuf *held;
    size_t active;
    bool advance;
};

/* The command an instance runs: roles are made from the commands in order (concur_config). */
static size_t cmd_of(const struct instance *in)
{
    return in->role->pidx;
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

static const char *time_format(const struct concur_run *r)
{
    return r->o->timestamp_format ? r->o->timestamp_format : "yyyy-MM-dd HH:mm:ss.SSS";
}

static void on_spawned(void *ud, struct instance *in)
{
    struct concur_run *r = ud;
    if (!r->o->timings) return;
    char when[128];
    logfmt_date(time_format(r), in->spawned_wall, when, sizeof when);
    logmux_note(&r->sup->log, &in->src, "%s started at %s", in->src.command, when);
}

/* Whether roster, not the command itself, ended it (concurrently's command.killed: kill() was
 * called while it ran). */
static bool killed_by_roster(const struct instance *in)
{
    return in->state == ST_STOPPING || in->state == ST_RESTARTING || in->state == ST_FAILING;
}

static void on_exited(void *ud, struct instance *in)
{
    struct concur_run *r = ud;
    if (r->held && cmd_of(in) == r->active) r->advance = true;
    /* a slot is free: the next waiting command may start */
    if (r->max_running < r->o->ncmds) sup_post_gates_changed(r->sup);
    if (!r->o->timings) return;
    long long ms = (long long)(in->exit.wall * 1000) - (long long)(in->spawned_wall * 1000);
    char when[128], dur[40];
    logfmt_date(time_format(r), in->exit.wall, when, sizeof when);
    locale_ms(ms, dur, sizeof dur);
    logmux_note(&r->sup->log, &in->src, "%s stopped at %s after %sms", in->src.command, when, dur);
    if (r->nrows == r->o->ncmds) return;
    struct close_row *row = &r->rows[r->nrows];
    row->seq = r->nrows++;
    row->cmd = cmd_of(in);
    row->duration_ms = ms;
    row->duration = in->exit.wall - in->spawned_wall;
    row->killed = killed_by_roster(in);
    if (in->exit.signal)
        snprintf(row->code, sizeof row->code, "%s", signal_name(in->exit.signal));
    else
        snprintf(row->code, sizeof row->code, "%d", in->exit.code);
}

/* -m: a command may start while fewer than max_running run and no command before it waits
 * (concurrently starts them in order, one for each that ends). */
static bool gate(void *ud, struct instance *in)
{
    struct concur_run *r = ud;
    if (r->max_running >= r->o->ncmds) return true;
    size_t running = 0;
    struct inst_iter it = {.s = r->sup};
    for (struct instance *o; (o = sup_next_instance(&it));) {
        if (o == in) continue;
        if (inst_alive(o)) running++;
        if (o->state == ST_STARTING && cmd_of(o) < cmd_of(in)) return false;
    }
    return running < r->max_running;
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

static void pad_cell(sbuf *b, const char *s, size_t width)
{
    sbuf_puts(b, s);
    for (size_t w = text_width(s); w < width; w++)
        sbuf_putc(b, ' ');
}

/* A border row: left, then each column's width of '─' joined by mid, then right. */
static void border(struct concur_run *r, const char *left, const char *mid, const char *right,
                   const size_t *width, size_t ncols)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, left);
    for (size_t c = 0; c < ncols; c++) {
        if (c) sbuf_puts(&b, mid);
        for (size_t k = 0; k < width[c]; k++)
            sbuf_puts(&b, "─");
    }
    sbuf_puts(&b, right);
    logmux_note(&r->sup->log, NULL, "%s", b.data);
    sbuf_free(&b);
}

static void row_line(struct concur_run *r, const char *const *cells, const size_t *width,
                     size_t ncols)
{
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "│ ");
    for (size_t c = 0; c < ncols; c++) {
        if (c) sbuf_puts(&b, " │ ");
        pad_cell(&b, cells[c], width[c]);
    }
    sbuf_puts(&b, " │");
    logmux_note(&r->sup->log, NULL, "%s", b.data);
    sbuf_free(&b);
}

static int by_duration(const void *a, const void *b)
{
    const struct close_row *x = a, *y = b;
    if (x->duration != y->duration) return x->duration > y->duration ? -1 : 1;
    /* JavaScript's sort is stable: equal durations keep the order they ended in */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

#define NCOLS 5

/* A row's cells in concurrently's column order; dur is its duration, written. */
static void row_cells(const struct concur_run *r, const struct close_row *row, const char *dur,
                      const char *cells[NCOLS])
{
    const struct concur_cmd *c = &r->o->cmds[row->cmd];
    cells[0] = c->name;
    cells[1] = dur;
    cells[2] = row->code;
    cells[3] = row->killed ? "true" : "false";
    cells[4] = c->command;
}

/* concurrently's logTable of the ends, longest first, once every command has ended. */
static void print_table(struct concur_run *r)
{
    if (!r->o->timings || !r->nrows || r->nrows < r->o->ncmds) return;
    qsort(r->rows, r->nrows, sizeof *r->rows, by_duration);
    static const char *const heads[NCOLS] = {"name", "duration", "exit code", "killed", "command"};
    size_t width[NCOLS];
    for (size_t c = 0; c < NCOLS; c++)
        width[c] = text_width(heads[c]);
    char(*dur)[40] = xcalloc(r->nrows, sizeof *dur);
    for (size_t i = 0; i < r->nrows; i++) {
        const char *cells[NCOLS];
        locale_ms(r->rows[i].duration_ms, dur[i], sizeof dur[i]);
        row_cells(r, &r->rows[i], dur[i], cells);
        for (size_t c = 0; c < NCOLS; c++)
            if (text_width(cells[c]) > width[c]) width[c] = text_width(cells[c]);
    }
    logmux_note(&r->sup->log, NULL, "Timings:");
    border(r, "┌─", "─┬─", "─┐", width, NCOLS);
    row_line(r, heads, width, NCOLS);
    border(r, "├─", "─┼─", "─┤", width, NCOLS);
    for (size_t i = 0; i < r->nrows; i++) {
        const char *cells[NCOLS];
        row_cells(r, &r->rows[i], dur[i], cells);
        row_line(r, cells, width, NCOLS);
    }
    border(r, "└─", "─┴─", "─┘", width, NCOLS);
    free(dur);
}

/* The instance that runs command i. */
static struct instance *cmd_inst(const struct concur_run *r, size_t i)
{
    return r->sup->roles[i]->inst[0];
}

static int on_start(void *ud, struct sup *s)
{
    struct concur_run *r = ud;
    /* -g: the commands after the first wait their turn; their lines and notes are held */
    if (!r->held) return 0;
    for (size_t i = 1; i < s->nroles; i++)
        cmd_inst(r, i)->src.held = &r->held[i];
    return 0;
}

/* concurrently's OutputWriter: when the active command ends, the next one's held output is
 * written and it becomes the active one, and so on past those that have ended already. */
static void on_settled(void *ud, struct sup *s)
{
    struct concur_run *r = ud;
    if (!r->advance) return;
    r->advance = false;
    for (size_t i = r->active + 1; i < s->nroles; i++) {
        struct instance *in = cmd_inst(r, i);
        r->active = i;
        logmux_release(&s->log, &in->src);
        if (inst_alive(in) || !inst_has_exit(in)) break;
    }
}

static void on_stop(void *ud, struct sup *s)
{
    struct concur_run *r = ud;
    /* what is still held is written in command order (concurrently would lose it when a
     * command never ran) */
    if (r->held)
        for (size_t i = 0; i < s->nroles; i++)
            logmux_release(&s->log, &cmd_inst(r, i)->src);
    print_table(r);
}

static const struct sup_observer concur_observer = {
    .name = "concurrently",
    .start = on_start,
    .stop = on_stop,
    .settled = on_settled,
    .gate = gate,
    .spawned = on_spawned,
    .exited = on_exited,
};

struct concur_run *concur_run_attach(struct sup *s, const struct concur_opts *o, int ncpus)
{
    size_t max = concur_max_processes(o, ncpus);
    if (!o->timings && !o->group && max >= o->ncmds) return NULL;
    struct concur_run *r = xcalloc(1, sizeof *r);
    r->sup = s;
    r->o = o;
    r->max_running = max;
    r->rows = xcalloc(o->ncmds ? o->ncmds : 1, sizeof *r->rows);
    if (o->group) {
        r->held = xcalloc(o->ncmds ? o->ncmds : 1, sizeof *r->held);
        for (size_t i = 0; i < o->ncmds; i++)
            sbuf_init(&r->held[i]);
    }
    if (sup_attach(s, &concur_observer, r) < 0) {
        concur_run_free(r);
        return NULL;
    }
    return r;
}

void concur_run_free(struct concur_run *r)
{
    if (!r) return;
    for (size_t i = 0; r->held && i < r->o->ncmds; i++)
        sbuf_free(&r->held[i]);
    free(r->held);
    free(r->rows);
    free(r);
}

/* concurrently's global event line (text, which it frees), unless -r. */
static void global_line(const struct concur_opts *o, char *text)
{
    if (!o->raw) {
        printf("--> %s\n", text);
        fflush(stdout);
    }
    free(text);
}

int concur_teardown(const struct concur_opts *o, char **environ_)
{
    if (!o->teardown.n) return 0;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    int rc = 0;
    for (size_t i = 0; i < o->teardown.n; i++) {
        const char *cmd = o->teardown.v[i];
        global_line(o, xasprintf("Running teardown command \"%s\"", cmd));
        char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
        struct spawn_opts so = {
            .argv = argv,
            .envp = environ_,
            .cwd = o->cwd,
            .stdin_fd = 0,
            .stdout_fd = 1,
            .stderr_fd = 2,
        };
        char err[256];
        pid_t pid;
        if (proc_spawn(&so, &pid, err, sizeof err) < 0) {
            global_line(o, xasprintf("Teardown command \"%s\" errored:", cmd));
            global_line(o, xstrdup(err));
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
        global_line(o, xasprintf("Teardown command \"%s\" exited with code %s", cmd, code));
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGINT) break;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return rc;
}
