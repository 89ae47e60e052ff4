/* logmux.c — the output buffer, its writer thread and its backpressure. */
#include "log/logmux.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/redact.h"

static void set_paused(struct logmux *m, bool paused)
{
    if (m->paused == paused) return;
    m->paused = paused;
    if (m->on_pressure) m->on_pressure(m->ud, paused);
}

/* ---- the writer thread -------------------------------------------------------------------- */

static void write_all(struct logmux *m, const char *p, size_t n)
{
    while (n && !m->broken) {
        ssize_t w = write(m->fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* an inherited non-blocking stdout: wait until it takes more */
            struct pollfd pfd = {.fd = m->fd, .events = POLLOUT};
            poll(&pfd, 1, 1000);
        } else {
            /* EPIPE, EIO (a hung-up terminal) and the like: nobody reads our output any more.
             * The owner hears of it (on_gone) and decides; from here output is discarded. */
            m->broken_errno = w < 0 ? errno : EIO;
            m->broken = true;
        }
    }
    /* What is left is lost: counted by its lines, said once at the end (logmux_stop). */
    for (const char *nl; n && (nl = memchr(p, '\n', n)); n -= (size_t)(nl + 1 - p), p = nl + 1)
        m->lost_lines++;
}

static void *writer(void *arg)
{
    struct logmux *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->busy && !m->quit)
            pthread_cond_wait(&m->cv, &m->mu);
        if (!m->busy && m->quit) break;
        pthread_mutex_unlock(&m->mu);
        write_all(m, m->wbuf.data, m->wbuf.len);
        pthread_mutex_lock(&m->mu);
        m->wbuf.len = 0;
        m->busy = false;
        m->gone = m->broken;
        m->lost_shared = m->lost_lines;
        pthread_cond_broadcast(&m->idle);
        if (!m->quit) uv_async_send(&m->done); /* after quit the loop handles may be gone */
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- the loop side ------------------------------------------------------------------------ */

static void queued(struct logmux *m);

/* Gives what the loop has formatted to the writer, when the writer is free, and notes what the
 * writer holds. */
static void hand_over(struct logmux *m)
{
    if (!m->thread_ok) {
        /* no writer thread could be started: write here, blocking */
        if (m->buf.len == 0) return;
        write_all(m, m->buf.data, m->buf.len);
        sbuf_reset(&m->buf);
        return;
    }
    pthread_mutex_lock(&m->mu);
    if (!m->busy && m->buf.len) {
        sbuf t = m->wbuf;
        m->wbuf = m->buf;
        m->buf = t;
        sbuf_reset(&m->buf);
        /* A buffer grown past the high-water mark held a burst (an exited role's pipes): give
         * its pages back rather than keep them for the next one. */
        if (m->buf.cap > 2 * LOGMUX_HIGH_WATER) sbuf_free(&m->buf);
        m->busy = true;
        pthread_cond_signal(&m->cv);
    }
    /* Until the loop looks again this may count bytes already written: the cap errs on the
     * safe side. */
    m->inflight = m->busy ? m->wbuf.len : 0;
    pthread_mutex_unlock(&m->mu);
}

/* Bytes queued and not known to be written, without taking the lock (loop side). */
static size_t queued_bytes(const struct logmux *m)
{
    return m->buf.len + m->inflight;
}

static void append_event(struct logmux *m, const char *event, const char *subject,
                         const char *json_extra, const char *msg)
{
    logfmt_event(&m->style, event, subject, 0, json_extra, msg, wall_time(), &m->buf);
}

static void count_drop(struct logmux *m, struct log_source *src)
{
    const char *role = src->role ? src->role : src->label;
    src->dropped++;
    if (m->gone_seen) {
        m->gone_dropped++; /* no report: nobody would read it (stderr says it at exit) */
        return;
    }
    for (size_t i = 0; i < m->ndrops; i++)
        if (!strcmp(m->drops[i].role, role)) {
            m->drops[i].lines++;
            return;
        }
    if (m->ndrops < LOGMUX_DROP_ROLES) {
        m->drops[m->ndrops].role = xstrdup(role);
        m->drops[m->ndrops++].lines = 1;
    } else {
        m->drops_other++;
    }
}

/* Says what was dropped since the last report: one event per role, in the order of their first
 * dropped line. These few lines go past the cap: they are what explains the gap. */
static void report_drops(struct logmux *m)
{
    char msg[256], extra[64];
    for (size_t i = 0; i < m->ndrops; i++) {
        snprintf(msg, sizeof msg, "%s: %" PRIu64 " lines dropped (output stalled)",
                 m->drops[i].role, m->drops[i].lines);
        snprintf(extra, sizeof extra, "\"lines\":%" PRIu64, m->drops[i].lines);
        append_event(m, "dropped", m->drops[i].role, extra, msg);
        free(m->drops[i].role);
    }
    if (m->drops_other) {
        snprintf(msg, sizeof msg, "%" PRIu64 " lines of other roles dropped (output stalled)",
                 m->drops_other);
        snprintf(extra, sizeof extra, "\"lines\":%" PRIu64, m->drops_other);
        append_event(m, "dropped", NULL, extra, msg);
    }
    if (m->drops_events) {
        snprintf(msg, sizeof msg, "%" PRIu64 " roster events dropped (output stalled)",
                 m->drops_events);
        snprintf(extra, sizeof extra, "\"events\":%" PRIu64, m->drops_events);
        append_event(m, "dropped", NULL, extra, msg);
    }
    m->ndrops = 0;
    m->drops_other = m->drops_events = 0;
}

static bool has_drops(const struct logmux *m)
{
    return m->ndrops || m->drops_other || m->drops_events;
}

size_t logmux_pending(struct logmux *m)
{
    size_t n = m->buf.len;
    if (m->thread_ok) {
        pthread_mutex_lock(&m->mu);
        if (m->busy) n += m->wbuf.len;
        pthread_mutex_unlock(&m->mu);
    }
    return n;
}

/* Notes on the loop whether stdout went away and how many lines the writer lost with it, and
 * tells the owner once (loop side). */
static void check_gone(struct logmux *m)
{
    if (m->thread_ok) {
        pthread_mutex_lock(&m->mu);
        m->gone_seen = m->gone;
        m->lost_seen = m->lost_shared;
        pthread_mutex_unlock(&m->mu);
    } else {
        m->gone_seen = m->broken; /* written here, on the loop */
        m->lost_seen = m->lost_lines;
    }
    if (!m->gone_seen || m->gone_told || !m->on_gone) return;
    m->gone_told = true;
    m->on_gone(m->gone_ud);
}

bool logmux_stdout_up(const struct logmux *m)
{
    return !m->gone_seen;
}

uint64_t logmux_lines_lost(const struct logmux *m)
{
    return m->lost_seen;
}

static void on_done(uv_async_t *h)
{
    struct logmux *m = h->data;
    check_gone(m);
    hand_over(m);
    if (has_drops(m) && queued_bytes(m) <= LOGMUX_LOW_WATER) {
        report_drops(m);
        queued(m);
    }
    if (m->paused && logmux_pending(m) <= LOGMUX_LOW_WATER) set_paused(m, false);
}

static void on_flush(uv_prepare_t *h)
{
    struct logmux *m = h->data;
    m->ts_valid = false; /* the next turn reads the clock again */
    hand_over(m);
    if (!m->thread_ok) check_gone(m);
    if (m->buf.len == 0) {
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
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    pthread_cond_init(&m->idle, NULL);
    uv_async_init(loop, &m->done, on_done);
    m->done.data = m;
    uv_unref((uv_handle_t *)&m->done);
    uv_prepare_init(loop, &m->flush);
    m->flush.data = m;
    uv_unref((uv_handle_t *)&m->flush);
    /* The writer gets no signals: they are the loop's (libuv turns them into events). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    m->thread_ok = pthread_create(&m->thread, NULL, writer, m) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void logmux_set_pressure_cb(struct logmux *m, logmux_pressure_cb cb, void *ud)
{
    m->on_pressure = cb;
    m->ud = ud;
}

void logmux_set_gone_cb(struct logmux *m, logmux_gone_cb cb, void *ud)
{
    m->on_gone = cb;
    m->gone_ud = ud;
}

static void queued(struct logmux *m)
{
    if (!m->flush_active && !m->closing) {
        uv_prepare_start(&m->flush, on_flush);
        m->flush_active = true;
    }
    if (!m->paused && m->buf.len >= LOGMUX_HIGH_WATER) {
        hand_over(m);
        if (logmux_pending(m) >= LOGMUX_HIGH_WATER) set_paused(m, true);
    }
}

/* The time for a line: read once per loop turn, and only when the format shows it. */
static double line_time(struct logmux *m, const struct log_source *src)
{
    if (m->style.format != LOG_JSON && !m->style.timestamps && !src->time_prefix) return 0;
    if (!m->ts_valid) {
        m->ts = wall_time();
        m->ts_valid = true;
    }
    return m->ts;
}

void logmux_line(struct logmux *m, struct log_source *src, int stream, const char *msg, size_t len,
                 bool cont)
{
    /* once stdout is gone, a line is only counted: formatting it would be work thrown away */
    if (m->gone_seen || queued_bytes(m) >= LOGMUX_MAX_QUEUED) {
        count_drop(m, src);
        return;
    }
    if (src->held) {
        /* -g: kept whole until its turn; past the cap a line is dropped and counted */
        if (src->held->len >= LOGMUX_MAX_HELD)
            count_drop(m, src);
        else
            logfmt_piece(&m->style, src, stream, msg, len, line_time(m, src), cont, src->held);
        return;
    }
    logfmt_piece(&m->style, src, stream, msg, len, line_time(m, src), cont, &m->buf);
    queued(m);
}

/* An event's text, or NULL when the queue is over its hard cap (the event is counted). */
static char *event_text(struct logmux *m, const char *fmt, va_list ap)
{
    if (m->gone_seen || queued_bytes(m) >= LOGMUX_MAX_QUEUED) {
        m->events_dropped_total++;
        if (m->gone_seen)
            m->gone_dropped++;
        else
            m->drops_events++;
        return NULL;
    }
    sbuf msg;
    sbuf_init(&msg);
    sbuf_vprintf(&msg, fmt, ap);
    /* Every event passes here, whatever put a URL or an error text into it (a driver's message,
     * a probe target, a config error on reload): its passwords are masked in one place. */
    char *red = redact_text(msg.data ? msg.data : "");
    sbuf_free(&msg);
    return red;
}

void logmux_event(struct logmux *m, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = event_text(m, fmt, ap);
    va_end(ap);
    if (!msg) return;
    logfmt_event(&m->style, event, subject, instance, json_extra, msg, wall_time(), &m->buf);
    free(msg);
    queued(m);
}

void logmux_note(struct logmux *m, const struct log_source *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = event_text(m, fmt, ap);
    va_end(ap);
    if (!msg) return;
    if (src && src->held) {
        if (src->held->len < LOGMUX_MAX_HELD) {
            logfmt_note(&m->style, src, msg, wall_time(), src->held);
        } else {
            m->drops_events++;
            m->events_dropped_total++;
        }
        free(msg);
        return;
    }
    if (src)
        logfmt_note(&m->style, src, msg, wall_time(), &m->buf);
    else
        logfmt_global(&m->style, msg, &m->buf);
    free(msg);
    queued(m);
}

void logmux_release(struct logmux *m, struct log_source *src)
{
    sbuf *held = src->held;
    if (!held) return;
    src->held = NULL;
    if (!held->len) return;
    sbuf_append(&m->buf, held->data, held->len);
    sbuf_free(held);
    queued(m);
}

void logmux_flush_sync(struct logmux *m, uint64_t timeout_ms)
{
    if (has_drops(m)) report_drops(m);
    if (!m->thread_ok) {
        hand_over(m);
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (;;) {
        hand_over(m);
        pthread_mutex_lock(&m->mu);
        while (m->busy) {
            if (pthread_cond_timedwait(&m->idle, &m->mu, &deadline) == ETIMEDOUT) {
                pthread_mutex_unlock(&m->mu);
                return; /* stdout is stuck: give up, the output is lost with the process */
            }
        }
        pthread_mutex_unlock(&m->mu);
        if (m->buf.len == 0) return;
    }
}

/* Says once on stderr that stdout went away and how many lines were lost with it: nobody may
 * be reading stdout, and a silent gap in a log is worse than a line in another one. */
static void say_lost(struct logmux *m)
{
    if (!m->broken || m->lost_said) return;
    m->lost_said = true;
    fprintf(stderr, "roster: stdout closed (%s): %" PRIu64 " lines not written\n",
            strerror(m->broken_errno), m->lost_lines + m->gone_dropped);
}

void logmux_stop(struct logmux *m)
{
    m->closing = true;
    if (!m->thread_ok) say_lost(m);
    if (!m->thread_ok || m->stopped) return;
    m->stopped = true;
    pthread_mutex_lock(&m->mu);
    m->stuck = m->busy;
    m->quit = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->stuck) {
        pthread_detach(m->thread); /* blocked on a stdout nobody reads: leave it */
    } else {
        pthread_join(m->thread, NULL);
        say_lost(m);
    }
}

void logmux_close(struct logmux *m)
{
    logmux_stop(m);
    if (!uv_is_closing((uv_handle_t *)&m->done)) uv_close((uv_handle_t *)&m->done, NULL);
    if (!uv_is_closing((uv_handle_t *)&m->flush)) uv_close((uv_handle_t *)&m->flush, NULL);
    sbuf_free(&m->buf);
    if (!m->stuck) sbuf_free(&m->wbuf); /* a stuck writer still uses it */
    for (size_t i = 0; i < m->ndrops; i++)
        free(m->drops[i].role);
    m->ndrops = 0;
}
