/* cmdrun.c — a command in a process group of its own, its output relayed line by line with its
 * task's mark, a drain after exit and a kill grace (cmdrun.h). */
#include "roles/cmdrun.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/shellwords.h"
#include "base/util.h"
#include "log/taskmark.h"
#include "os/proc.h"

static void cr_unref(struct cmdrun *cr)
{
    if (--cr->pending > 0) return;
    linebuf_free(&cr->out.lb);
    linebuf_free(&cr->err.lb);
    free(cr->mark);
    cr->mark = NULL;
    cr->on_done(cr->ud, cr);
}

static void closed(uv_handle_t *h)
{
    cr_unref(h->data);
}

static void part_closed(uv_handle_t *h);

static void stream_close(struct cmdrun_stream *st)
{
    if (!st->open) return;
    st->open = false;
    uv_close((uv_handle_t *)&st->pipe, part_closed);
}

/* A line of the command's output, on the same stream of this process, marked with the task's
 * name (log/taskmark.h): roster shows it as "scheduler/NAME | line" or "worker/TYPE#ID | line".
 * Every line relayed is marked, so the command cannot pass one off as another task's. */
static void emit_line(void *ud, const char *line, size_t len, int kind)
{
    struct cmdrun_stream *st = ud;
    (void)kind;
    taskmark_write(st->out, st->cr->mark, line, len);
    fflush(st->out);
}

static struct cmdrun_stream *stream_of(uv_handle_t *h)
{
    struct cmdrun *cr = h->data;
    return (uv_pipe_t *)h == &cr->out.pipe ? &cr->out : &cr->err;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    size_t avail;
    (void)suggested;
    buf->base = linebuf_space(&stream_of(h)->lb, &avail);
    buf->len = avail;
}

static void on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    struct cmdrun_stream *st = stream_of((uv_handle_t *)h);
    (void)buf;
    if (n > 0) {
        linebuf_commit(&st->lb, (size_t)n, emit_line, st);
    } else if (n < 0) {
        linebuf_flush(&st->lb, emit_line, st);
        stream_close(st);
    }
}

/* The last of the run's handles: once the process and both pipes are closed, the timer goes too
 * (a drain still waiting is cut short: nothing is left to read). */
static void part_closed(uv_handle_t *h)
{
    struct cmdrun *cr = h->data;
    if (cr->pending == 2) uv_close((uv_handle_t *)&cr->timer, closed);
    cr_unref(cr);
}

void cmdrun_argv(const char *shell, const strvec *words, strvec *argv)
{
    if (!shell) {
        strvec_copy(argv, words);
        return;
    }
    if (shellwords_split(shell, argv)) return;
    strvec_pushdup(argv, "/bin/sh");
    strvec_pushdup(argv, "-c");
    strvec_pushdup(argv, shell);
}

void cmdrun_kill(struct cmdrun *cr, int sig)
{
    if (cr->pid > 0) proc_signal_group(cr->pid, sig);
}

static void on_timer(uv_timer_t *t)
{
    struct cmdrun *cr = t->data;
    switch (cr->phase) {
    case CMDRUN_RUNNING: break;
    case CMDRUN_GRACE: cmdrun_kill(cr, SIGKILL); break;
    case CMDRUN_DRAIN:
        linebuf_flush(&cr->out.lb, emit_line, &cr->out);
        linebuf_flush(&cr->err.lb, emit_line, &cr->err);
        stream_close(&cr->out);
        stream_close(&cr->err);
        break;
    }
}

void cmdrun_terminate(struct cmdrun *cr)
{
    if (cr->pid <= 0 || cr->exited || cr->phase != CMDRUN_RUNNING) return;
    cmdrun_kill(cr, SIGTERM);
    cr->phase = CMDRUN_GRACE;
    uv_timer_start(&cr->timer, on_timer, cr->grace_ms, 0);
}

static void on_exit_(uv_process_t *p, int64_t status, int sig)
{
    struct cmdrun *cr = p->data;
    /* a group that was being killed is killed whole, though its leader has gone */
    if (cr->kill_at_exit || cr->phase == CMDRUN_GRACE) cmdrun_kill(cr, SIGKILL);
    cr->exited = true;
    cr->exit_status = status;
    cr->term_signal = sig;
    cr->phase = CMDRUN_DRAIN;
    uv_timer_start(&cr->timer, on_timer, cr->drain_ms, 0);
    uv_close((uv_handle_t *)p, part_closed);
    if (cr->on_exit) cr->on_exit(cr->ud, cr);
}

int cmdrun_start(struct cmdrun *cr, uv_loop_t *loop, const struct cmdrun_opts *o)
{
    cr->mark = xstrdup(o->mark);
    cr->kill_at_exit = o->kill_at_exit;
    cr->drain_ms = o->drain_ms;
    cr->grace_ms = o->grace_ms;
    cr->on_exit = o->on_exit;
    cr->on_done = o->on_done;
    cr->ud = o->ud;
    cr->phase = CMDRUN_RUNNING;
    uv_timer_init(loop, &cr->timer);
    cr->timer.data = cr;
    /* the process and both pipes (part_closed), and the timer after them */
    cr->pending = 4;

    uv_stdio_container_t stdio[3];
    if (o->in) {
        stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        stdio[0].data.stream = (uv_stream_t *)o->in;
    } else {
        stdio[0].flags = UV_IGNORE;
    }
    struct cmdrun_stream *sts[2] = {&cr->out, &cr->err};
    FILE *outs[2] = {o->out ? o->out : stdout, o->err ? o->err : stderr};
    for (int i = 0; i < 2; i++) {
        uv_pipe_init(loop, &sts[i]->pipe, 0);
        sts[i]->pipe.data = cr;
        sts[i]->cr = cr;
        sts[i]->out = outs[i];
        sts[i]->open = true;
        linebuf_init(&sts[i]->lb, o->max_line, 0);
        stdio[i + 1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
        stdio[i + 1].data.stream = (uv_stream_t *)&sts[i]->pipe;
    }
    uv_process_options_t po = {0};
    po.file = o->argv[0];
    po.args = o->argv;
    po.env = o->env;
    po.stdio = stdio;
    po.stdio_count = 3;
    po.exit_cb = on_exit_;
    po.cwd = o->cwd;
    /* setsid: a process group of its own, which a timeout or a stop kills whole */
    po.flags = UV_PROCESS_DETACHED;
    cr->proc.data = cr;
    int rc = uv_spawn(loop, &cr->proc, &po);
    if (rc < 0) {
        stream_close(&cr->out);
        stream_close(&cr->err);
        uv_close((uv_handle_t *)&cr->proc, part_closed);
        return rc;
    }
    cr->pid = cr->proc.pid;
    uv_read_start((uv_stream_t *)&cr->out.pipe, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&cr->err.pipe, on_alloc, on_read);
    return 0;
}
