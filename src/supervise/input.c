/* input.c — roster's stdin routed to roles, and its terminal size to tty roles. See input.h. */
#include "supervise/input.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os/pty.h"

/* A line longer than this is passed on in pieces of this size. */
#define INPUT_MAX_LINE 65536

struct sup_input {
    /* roster's stdin (a terminal, a pipe, or a file read a chunk per loop turn), and the line
     * being read */
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tty_t tty;
        uv_pipe_t pipe;
        uv_idle_t file;
    } in;
    bool is_file;
    bool reading;
    bool ended; /* stdin's end was read: it is not read again */
    sbuf line;
    uv_signal_t winch;
    bool winching;
};

/* The index of a role as concurrently writes a command's. */
static bool is_index(const char *t, size_t n, size_t i)
{
    char idx[24];
    snprintf(idx, sizeof idx, "%zu", i);
    return strlen(idx) == n && !memcmp(idx, t, n);
}

static bool same(const char *name, const char *t, size_t n)
{
    return name && *name && strlen(name) == n && !memcmp(name, t, n);
}

struct instance *input_find(const struct sup *s, const char *t, size_t n)
{
    for (size_t i = 0; i < s->nroles; i++) {
        const struct role *r = s->roles[i];
        if (r->ninst > 0 && (same(role_cfg(r)->name, t, n) || same(role_cfg(r)->look_name, t, n)))
            return r->inst[0];
    }
    char name[CONFIG_ROLE_NAME_MAX + 1], text[CONFIG_ROLE_NAME_MAX + 16];
    int copy;
    if (n < sizeof text) {
        memcpy(text, t, n);
        text[n] = '\0';
        if (config_parse_target(text, name, &copy) == 0 && copy >= 0) {
            const struct role *r = sup_find_role(s, name);
            if (r && copy < r->ninst) return r->inst[copy];
        }
    }
    for (size_t i = 0; i < s->nroles; i++)
        if (s->roles[i]->ninst > 0 && is_index(t, n, i)) return s->roles[i]->inst[0];
    return NULL;
}

void input_route(struct sup *s, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    const char *target = line;
    size_t tlen = colon ? (size_t)(colon - line) : 0;
    struct instance *in = NULL;
    if (colon && tlen + 1 < len && (in = input_find(s, target, tlen))) {
        len -= tlen + 1;
        line = colon + 1;
    } else if (!s->plan->cfg.input) {
        /* a reload took input: away while roster reads its stdin */
        logmux_note(&s->log, NULL, "No input: role for \"%.*s\"; the line is dropped",
                    (int)(len && line[len - 1] == '\n' ? len - 1 : len), line);
        return;
    } else {
        /* the current plan's: a reload may name another role */
        target = s->plan->cfg.input;
        tlen = strlen(target);
        in = input_find(s, target, tlen);
    }
    if (!in || in->stdin_fd < 0) {
        /* concurrently's message ends in a newline of its own, which its logger prefixes */
        logmux_note(&s->log, NULL, "Unable to find command \"%.*s\", or it has no stdin open",
                    (int)tlen, target);
        logmux_note(&s->log, NULL, "%s", "");
        return;
    }
    ssize_t n = write(in->stdin_fd, line, len);
    if (n < 0 || (size_t)n < len)
        logmux_note(&s->log, NULL, "Input for command \"%.*s\" cut short: %s", (int)tlen, target,
                    n < 0 ? strerror(errno) : "its stdin is full");
}

static void input_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char space[16384];
    *buf = uv_buf_init(space, sizeof space);
}

static void read_stop(struct sup_input *x)
{
    if (!x->reading) return;
    x->reading = false;
    if (x->is_file)
        uv_idle_stop(&x->in.file);
    else
        uv_read_stop(&x->in.s);
    uv_close(&x->in.h, NULL);
}

/* Routes each whole line of what was read; n <= 0 is stdin's end (or an error: read no more). */
static void input_feed(struct sup *s, struct sup_input *x, const char *base, ssize_t n)
{
    for (ssize_t i = 0; i < n; i++) {
        sbuf_putc(&x->line, base[i]);
        if (base[i] == '\n' || x->line.len >= INPUT_MAX_LINE) {
            input_route(s, x->line.data, x->line.len);
            sbuf_reset(&x->line);
        }
    }
    if (n <= 0) {
        /* the end of roster's stdin: a last line without its newline still goes */
        if (x->line.len) input_route(s, x->line.data, x->line.len);
        sbuf_reset(&x->line);
        x->ended = true;
        read_stop(x);
    }
}

static void on_input(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct sup *s = st->data;
    if (n != 0) input_feed(s, s->input, buf->base, n);
}

/* A file on stdin (`roster -i ... < lines.txt`, as concurrently takes it): libuv streams can't
 * read a regular file, and a read of one does not wait on anybody, so one chunk is read each
 * loop turn. */
static void on_file(uv_idle_t *h)
{
    struct sup *s = h->data;
    char buf[16384];
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return;
    input_feed(s, s->input, buf, n);
}

static void read_start(struct sup *s, struct sup_input *x)
{
    /* tried once: a stdin that cannot be read now never can (and a handle that failed may
     * still be closing) */
    x->ended = true;
    uv_handle_type t = uv_guess_handle(0);
    int rc = -1;
    if (t == UV_FILE) {
        x->is_file = true;
        if ((rc = uv_idle_init(s->loop, &x->in.file)) < 0) return;
        x->in.h.data = s;
        uv_unref(&x->in.h);
        uv_idle_start(&x->in.file, on_file);
        x->reading = true;
        x->ended = false;
        return;
    }
    if (t == UV_TTY)
        rc = uv_tty_init(s->loop, &x->in.tty, 0, 1);
    else if (t == UV_NAMED_PIPE && (rc = uv_pipe_init(s->loop, &x->in.pipe, 0)) == 0 &&
             (rc = uv_pipe_open(&x->in.pipe, 0)) < 0)
        uv_close(&x->in.h, NULL);
    if (rc < 0) return;
    x->in.h.data = s;
    /* reading stdin is no reason to keep the loop running */
    uv_unref(&x->in.h);
    if (uv_read_start(&x->in.s, input_alloc, on_input) < 0) {
        uv_close(&x->in.h, NULL);
        return;
    }
    x->reading = true;
    x->ended = false;
}

static void on_winch(uv_signal_t *h, int sig)
{
    (void)sig;
    input_resized(h->data);
}

void input_resized(struct sup *s)
{
    struct pty_size size = pty_term_size();
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        if (role_cfg(in->role)->tty && in->stdin_fd >= 0) pty_resize(in->stdin_fd, size);
}

void input_start(struct sup *s)
{
    struct sup_input *x = s->input = xcalloc(1, sizeof *x);
    sbuf_init(&x->line);
    if (s->plan->cfg.input) read_start(s, x);
    if (uv_signal_init(s->loop, &x->winch) == 0) {
        x->winch.data = s;
        if (uv_signal_start(&x->winch, on_winch, SIGWINCH) == 0) uv_unref((uv_handle_t *)&x->winch);
        x->winching = true;
    }
}

void input_plan_changed(struct sup *s)
{
    struct sup_input *x = s->input;
    if (x && s->plan->cfg.input && !x->reading && !x->ended && !s->shutting_down) read_start(s, x);
}

void input_stop(struct sup *s)
{
    struct sup_input *x = s->input;
    if (!x) return;
    read_stop(x);
    if (x->winching) uv_close((uv_handle_t *)&x->winch, NULL);
    x->winching = false;
}

void input_free(struct sup *s)
{
    if (!s->input) return;
    sbuf_free(&s->input->line);
    free(s->input);
    s->input = NULL;
}
