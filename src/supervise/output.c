/* output.c — instances' output pipes into whole lines. See output.h. */
#include "supervise/output.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define STREAM_READ_SIZE (64u << 10) /* the most one wakeup reads: keeps loop turns short */

struct stream_ext {
    struct stream st;
    output_line_cb line;
    output_closed_cb closed;
    bool pty;  /* a pseudo-terminal's master: lines end in "\r\n" */
    bool cont; /* the last line handed out was a piece: the next one continues it */
};

static void on_line(void *ud, const char *line, size_t len, int kind)
{
    struct stream_ext *x = ud;
    bool cont = x->cont;
    x->cont = kind == LINE_PIECE;
    /* the terminal's output processing (ONLCR) wrote "\r\n" for the child's "\n" */
    if (x->pty && len && line[len - 1] == '\r') len--;
    x->line(x->st.inst, x->st.which, line, len, cont);
}

/* Reads what the pipe holds now: one read per wakeup. With drain, reads until the pipe is empty
 * regardless of pressure (bounded by the pipe's size): used once the process group is gone. */
static void stream_read(struct stream_ext *x, bool drain)
{
    struct stream *st = &x->st;
    struct sup *s = st->inst->role->sup;
    for (int rounds = 0; rounds < (drain ? 64 : 1); rounds++) {
        size_t avail;
        char *p = linebuf_space(&st->lb, &avail);
        ssize_t n = read(st->fd, p, avail);
        if (n > 0) {
            linebuf_commit(&st->lb, (size_t)n, on_line, x);
            if (!drain && s->log.paused) break;
            continue;
        }
        if (n == 0) {
            st->eof = true;
            break;
        }
        if (errno == EINTR) continue;
        /* a pty's master once no process holds its slave open: the end, as a pipe's EOF */
        if (errno == EIO && x->pty) st->eof = true;
        break; /* EAGAIN, or an error: nothing more now */
    }
    if (st->eof) linebuf_flush(&st->lb, on_line, x);
}

static void stream_closed(uv_handle_t *h)
{
    struct stream_ext *x = h->data;
    struct instance *in = x->st.inst;
    output_closed_cb closed = x->closed;
    linebuf_free(&x->st.lb);
    free(x);
    closed(in);
}

static void stream_close(struct stream_ext *x)
{
    struct stream *st = &x->st;
    st->inst->streams[st->which] = NULL;
    if (st->polling) uv_poll_stop(&st->poll);
    st->polling = false;
    close(st->fd);
    uv_close((uv_handle_t *)&st->poll, stream_closed);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct stream_ext *x = h->data;
    (void)events;
    if (status < 0)
        x->st.eof = true;
    else
        stream_read(x, false);
    if (x->st.eof) {
        linebuf_flush(&x->st.lb, on_line, x);
        stream_close(x);
    }
}

static void stream_poll(struct stream *st, bool on)
{
    if (on && !st->polling && !st->eof) {
        uv_poll_start(&st->poll, UV_READABLE | UV_DISCONNECT, on_readable);
        st->polling = true;
    } else if (!on && st->polling) {
        uv_poll_stop(&st->poll);
        st->polling = false;
    }
}

void output_open(struct instance *in, int which, int fd, bool paused, output_line_cb line,
                 output_closed_cb closed)
{
    struct stream_ext *x = xcalloc(1, sizeof *x);
    struct stream *st = &x->st;
    x->line = line;
    x->closed = closed;
    st->inst = in;
    st->which = which;
    st->fd = fd;
    /* Pieces of a longer line are cut here at what log.max_line leaves for the text, so that
     * each is one written line (logfmt cuts again only what escapes made longer). */
    struct log_style *style = &in->role->sup->log.style;
    size_t text = style->max_line ? style->max_line : LINEBUF_MAX_LINE;
    size_t over = style->max_line ? logfmt_overhead(style, &in->src, which) : 0;
    linebuf_init(&st->lb, over < text / 2 ? text - over : text / 2, STREAM_READ_SIZE);
    uv_poll_init(in->role->sup->loop, &st->poll, fd);
    st->poll.data = x;
    in->handles++;
    in->streams[which] = st;
    if (!paused) stream_poll(st, true);
}

void output_open_pty(struct instance *in, int fd, bool paused, output_line_cb line,
                     output_closed_cb closed)
{
    output_open(in, LOG_STDOUT, fd, paused, line, closed);
    ((struct stream_ext *)in->streams[LOG_STDOUT])->pty = true;
}

void output_finish(struct instance *in)
{
    for (int w = 0; w < 2; w++) {
        struct stream *st = in->streams[w];
        if (!st) continue;
        struct stream_ext *x = (struct stream_ext *)st;
        stream_read(x, true);
        linebuf_flush(&st->lb, on_line, x);
        stream_close(x);
    }
}

void output_pause_all(struct sup *s, bool paused)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        for (int w = 0; w < 2; w++)
            if (in->streams[w]) stream_poll(in->streams[w], !paused);
}

void output_close_fds(struct instance *in)
{
    for (int w = 0; w < 2; w++)
        if (in->streams[w] && in->streams[w]->fd >= 0) {
            close(in->streams[w]->fd);
            in->streams[w]->fd = -1;
        }
}

void output_free(struct instance *in)
{
    for (int w = 0; w < 2; w++)
        if (in->streams[w]) {
            linebuf_free(&in->streams[w]->lb);
            free(in->streams[w]);
            in->streams[w] = NULL;
        }
}
