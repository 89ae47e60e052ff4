/* logmux.c — the output queue and its backpressure. */
#include "roster/logmux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void try_write(struct logmux *m);

static void set_paused(struct logmux *m, bool paused)
{
    if (m->paused == paused) return;
    m->paused = paused;
    if (m->on_pressure) m->on_pressure(m->ud, paused);
}

static void compact(struct logmux *m)
{
    if (m->head == m->buf.len) {
        m->head = 0;
        sbuf_reset(&m->buf);
    } else if (m->head > (64u << 10) && m->head > m->buf.len / 2) {
        sbuf_consume(&m->buf, m->head);
        m->head = 0;
    }
}

static void on_writable(uv_poll_t *h, int status, int events)
{
    struct logmux *m = h->data;
    (void)status;
    (void)events;
    try_write(m);
}

static void try_write(struct logmux *m)
{
    while (m->head < m->buf.len) {
        if (m->broken) {
            m->head = m->buf.len;
            break;
        }
        ssize_t n = write(m->fd, m->buf.data + m->head, m->buf.len - m->head);
        if (n > 0) {
            m->head += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && m->pollable) {
            if (!m->poll_active && !m->closing) {
                uv_poll_start(&m->poll, UV_WRITABLE, on_writable);
                m->poll_active = true;
            }
            break;
        }
        /* EPIPE and the like: nobody reads our output any more; keep supervising. */
        m->broken = true;
    }
    if (m->head == m->buf.len && m->poll_active) {
        uv_poll_stop(&m->poll);
        m->poll_active = false;
    }
    compact(m);
    size_t pending = m->buf.len - m->head;
    if (m->paused && pending <= LOGMUX_LOW_WATER) set_paused(m, false);
}

static void on_flush(uv_prepare_t *h)
{
    struct logmux *m = h->data;
    m->ts_valid = false; /* the next turn reads the clock again */
    if (!m->poll_active) try_write(m);
    if (m->head == m->buf.len) {
        uv_prepare_stop(&m->flush);
        m->flush_active = false;
    }
}

void logmux_init(struct logmux *m, uv_loop_t *loop, int fd)
{
    memset(m, 0, sizeof *m);
    m->loop = loop;
    m->fd = fd;
    m->style.cached_sec = -1;
    m->style.pad = 6;
    struct stat st;
    if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(fd))) {
        /* A file description of our own, so O_NONBLOCK does not leak to whoever shares fd 1
         * (the shell, the next program on the terminal). Sockets cannot be reopened: for them
         * we set the flag on fd 1 itself and restore it at exit. */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int own = S_ISSOCK(st.st_mode) ? -1 : open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (own >= 0) {
            m->fd = own;
        } else {
            m->orig_flags = fcntl(fd, F_GETFL);
            if (m->orig_flags >= 0 && fcntl(fd, F_SETFL, m->orig_flags | O_NONBLOCK) == 0)
                m->restore_flags = true;
        }
        if ((fcntl(m->fd, F_GETFL) & O_NONBLOCK) && uv_poll_init(loop, &m->poll, m->fd) == 0) {
            m->pollable = true;
            m->poll.data = m;
        }
    }
    uv_prepare_init(loop, &m->flush);
    m->flush.data = m;
    uv_unref((uv_handle_t *)&m->flush);
}

void logmux_set_pressure_cb(struct logmux *m, logmux_pressure_cb cb, void *ud)
{
    m->on_pressure = cb;
    m->ud = ud;
}

static void queued(struct logmux *m)
{
    m->lines_out++;
    if (!m->flush_active && !m->closing) {
        uv_prepare_start(&m->flush, on_flush);
        m->flush_active = true;
    }
    if (!m->paused && m->buf.len - m->head >= LOGMUX_HIGH_WATER) {
        try_write(m);
        if (m->buf.len - m->head >= LOGMUX_HIGH_WATER) set_paused(m, true);
    }
}

/* The time for a line: read once per loop turn, and only when the format shows it. */
static double line_time(struct logmux *m)
{
    if (m->style.format != LOG_JSON && !m->style.timestamps) return 0;
    if (!m->ts_valid) {
        m->ts = wall_time();
        m->ts_valid = true;
    }
    return m->ts;
}

void logmux_line(struct logmux *m, const struct log_source *src, int stream, const char *msg,
                 size_t len)
{
    logfmt_line(&m->style, src, stream, msg, len, line_time(m), &m->buf);
    queued(m);
}

void logmux_event(struct logmux *m, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *fmt, ...)
{
    sbuf msg;
    sbuf_init(&msg);
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    logfmt_event(&m->style, event, subject, instance, json_extra, msg.data ? msg.data : "",
                 wall_time(), &m->buf);
    sbuf_free(&msg);
    queued(m);
}

size_t logmux_pending(const struct logmux *m)
{
    return m->buf.len - m->head;
}

void logmux_flush_sync(struct logmux *m, uint64_t timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    while (m->head < m->buf.len && !m->broken) {
        ssize_t n = write(m->fd, m->buf.data + m->head, m->buf.len - m->head);
        if (n > 0) {
            m->head += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            uint64_t now = now_ms();
            if (now >= deadline) break;
            struct pollfd pfd = {.fd = m->fd, .events = POLLOUT};
            poll(&pfd, 1, (int)(deadline - now));
            continue;
        }
        m->broken = true;
    }
    compact(m);
}

void logmux_close(struct logmux *m)
{
    m->closing = true;
    if (m->pollable && !uv_is_closing((uv_handle_t *)&m->poll))
        uv_close((uv_handle_t *)&m->poll, NULL);
    if (!uv_is_closing((uv_handle_t *)&m->flush)) uv_close((uv_handle_t *)&m->flush, NULL);
    if (m->restore_flags) fcntl(1, F_SETFL, m->orig_flags);
    if (m->fd != 1) close(m->fd);
    sbuf_free(&m->buf);
}
