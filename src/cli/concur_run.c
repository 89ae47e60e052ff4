/* concur_run.c — concurrently's -i around a roster run. */
#include "cli/concur_run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/logfmt.h"
#include "supervise/observer.h"

struct concur_run {
    struct sup *sup;
    const struct concur_opts *o;
    /* -i: roster's stdin (a terminal or a pipe), and the line being read */
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tty_t tty;
        uv_pipe_t pipe;
    } in;
    bool reading;
    sbuf line;
};

/* -i: a line longer than this is passed on in pieces of this size. */
#define INPUT_MAX_LINE 65536

/* The instance that runs command i. */
static struct instance *cmd_inst(const struct concur_run *r, size_t i)
{
    return r->sup->roles[i]->inst[0];
}

/* The command a -i target names: its index as concurrently writes it, or its name. */
static struct instance *input_target(const struct concur_run *r, const char *t, size_t n)
{
    for (size_t i = 0; i < r->o->ncmds; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        const char *name = r->o->cmds[i].name;
        if ((strlen(idx) == n && !memcmp(idx, t, n)) ||
            (*name && strlen(name) == n && !memcmp(name, t, n)))
            return cmd_inst(r, i);
    }
    return NULL;
}

/* concurrently's InputHandler for one line (with its newline): "TARGET:text" sends text to the
 * command TARGET names, anything else goes whole to --default-input-target. */
static void route_input(struct concur_run *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    const char *target = line;
    size_t tlen = colon ? (size_t)(colon - line) : 0;
    struct instance *in = NULL;
    if (colon && tlen + 1 < len && (in = input_target(r, target, tlen))) {
        len -= tlen + 1;
        line = colon + 1;
    } else {
        target = r->o->default_input_target ? r->o->default_input_target : "0";
        tlen = strlen(target);
        in = input_target(r, target, tlen);
    }
    if (!in || in->stdin_fd < 0) {
        /* concurrently's message ends in a newline of its own, which its logger prefixes */
        logmux_note(&r->sup->log, NULL, "Unable to find command \"%.*s\", or it has no stdin open",
                    (int)tlen, target);
        logmux_note(&r->sup->log, NULL, "%s", "");
        return;
    }
    ssize_t n = write(in->stdin_fd, line, len);
    if (n < 0 || (size_t)n < len)
        logmux_note(&r->sup->log, NULL, "Input for command \"%.*s\" cut short: %s", (int)tlen,
                    target, n < 0 ? strerror(errno) : "its stdin is full");
}

static void input_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char space[16384];
    *buf = uv_buf_init(space, sizeof space);
}

static void input_stop(struct concur_run *r)
{
    if (!r->reading) return;
    r->reading = false;
    uv_read_stop(&r->in.s);
    uv_close(&r->in.h, NULL);
}

static void on_input(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct concur_run *r = st->data;
    for (ssize_t i = 0; i < n; i++) {
        sbuf_putc(&r->line, buf->base[i]);
        if (buf->base[i] == '\n' || r->line.len >= INPUT_MAX_LINE) {
            route_input(r, r->line.data, r->line.len);
            sbuf_reset(&r->line);
        }
    }
    if (n < 0) {
        /* the end of roster's stdin: a last line without its newline still goes */
        if (r->line.len) route_input(r, r->line.data, r->line.len);
        sbuf_reset(&r->line);
        input_stop(r);
    }
}

/* -i: reads roster's stdin when it is a terminal or a pipe (or socket); a file or /dev/null
 * gives nothing to route. */
static void input_start(struct concur_run *r, uv_loop_t *loop)
{
    uv_handle_type t = uv_guess_handle(0);
    int rc = -1;
    if (t == UV_TTY)
        rc = uv_tty_init(loop, &r->in.tty, 0, 1);
    else if (t == UV_NAMED_PIPE && (rc = uv_pipe_init(loop, &r->in.pipe, 0)) == 0 &&
             (rc = uv_pipe_open(&r->in.pipe, 0)) < 0)
        uv_close(&r->in.h, NULL);
    if (rc < 0) return;
    r->in.h.data = r;
    /* reading stdin is no reason to keep the loop running */
    uv_unref(&r->in.h);
    if (uv_read_start(&r->in.s, input_alloc, on_input) < 0) {
        uv_close(&r->in.h, NULL);
        return;
    }
    r->reading = true;
}

static int on_start(void *ud, struct sup *s)
{
    struct concur_run *r = ud;
    input_start(r, s->loop);
    return 0;
}

static void on_stop(void *ud, struct sup *s)
{
    struct concur_run *r = ud;
    (void)s;
    input_stop(r);
}

static const struct sup_observer concur_observer = {
    .name = "concurrently",
    .start = on_start,
    .stop = on_stop,
};

struct concur_run *concur_run_attach(struct sup *s, const struct concur_opts *o)
{
    if (!o->handle_input) return NULL;
    struct concur_run *r = xcalloc(1, sizeof *r);
    r->sup = s;
    r->o = o;
    sbuf_init(&r->line);
    if (sup_attach(s, &concur_observer, r) < 0) {
        concur_run_free(r);
        return NULL;
    }
    return r;
}

void concur_run_free(struct concur_run *r)
{
    if (!r) return;
    sbuf_free(&r->line);
    free(r);
}
