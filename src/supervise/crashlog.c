/* crashlog.c — a repeated identical crash shown once. See crashlog.h. */
#include "supervise/crashlog.h"

#include "supervise/supervisor.h"

void crashlog_init(struct instance *in)
{
    struct crashlog *c = &in->crash;
    dedupe_init(&c->d);
    sbuf_init(&c->held);
    uv_timer_init(in->role->sup->loop, &c->timer);
    c->timer.data = in;
    in->handles++;
}

/* Writes the held lines (in order, with the times they arrived) and stops holding. */
static void release(struct instance *in)
{
    struct crashlog *c = &in->crash;
    uv_timer_stop(&c->timer);
    if (in->src.held == &c->held) logmux_release(&in->role->sup->log, &in->src);
    sbuf_free(&c->held);
}

static void on_hold_timeout(uv_timer_t *t)
{
    struct instance *in = t->data;
    dedupe_stop_holding(&in->crash.d);
    release(in);
}

void crashlog_start(struct instance *in)
{
    struct crashlog *c = &in->crash;
    struct sup *s = in->role->sup;
    const struct log_style *st = &s->log.style;
    release(in);
    /* output.group holds lines through log_source.held too (flow.c): one holder at a time */
    c->on = s->plan->cfg.dev && st->format == LOG_TEXT && !st->look && !s->plan->cfg.look.group &&
            !in->src.held;
    if (c->on) dedupe_start(&c->d);
}

void crashlog_line(struct instance *in, int which, const char *line, size_t len, bool cont)
{
    struct crashlog *c = &in->crash;
    struct logmux *m = &in->role->sup->log;
    if (c->on && in->src.held && in->src.held != &c->held) {
        /* another holder took the source (a reload turned output.group on): its run streams */
        dedupe_stop_holding(&c->d);
        c->on = false;
    }
    if (c->on) {
        switch (dedupe_line(&c->d, which, line, len)) {
        case DEDUPE_HOLD:
            if (!in->src.held) {
                in->src.held = &c->held;
                uv_timer_start(&c->timer, on_hold_timeout, CRASHLOG_HOLD_MS, 0);
            }
            break;
        case DEDUPE_RELEASE: release(in); break;
        case DEDUPE_PASS: break;
        }
    }
    logmux_line(m, &in->src, which, line, len, cont);
}

void crashlog_release(struct instance *in)
{
    struct crashlog *c = &in->crash;
    if (c->on) dedupe_stop_holding(&c->d);
    release(in);
}

unsigned crashlog_end(struct instance *in, bool crash, int status)
{
    struct crashlog *c = &in->crash;
    if (!c->on) {
        release(in);
        return 0;
    }
    c->on = false;
    unsigned n = dedupe_end(&c->d, crash, status);
    if (n < 2) {
        release(in);
        return 0;
    }
    /* every held line is proven the same as the last crash's: dropped */
    uv_timer_stop(&c->timer);
    if (in->src.held == &c->held) in->src.held = NULL;
    sbuf_free(&c->held);
    return n;
}

void crashlog_close(struct instance *in, uv_close_cb cb)
{
    if (!uv_is_closing((uv_handle_t *)&in->crash.timer))
        uv_close((uv_handle_t *)&in->crash.timer, cb);
}

void crashlog_free(struct instance *in)
{
    dedupe_free(&in->crash.d);
    sbuf_free(&in->crash.held);
}
