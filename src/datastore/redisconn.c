/* redisconn.c — hiredis async on the uv loop with our own adapter. */
#include "datastore/redisconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/redisurl.h"
#include "base/util.h"

#ifdef ROSTER_HAVE_REDIS_TLS
#include <hiredis/hiredis_ssl.h>
#endif

enum r_state { R_IDLE, R_RESOLVING, R_CONNECTING, R_HANDSHAKE, R_UP, R_RETRY, R_CLOSED };

struct r_poll {
    uv_poll_t h; /* first: the handle is the struct */
    struct redisconn *r;
    int events; /* what hiredis wants */
    int active; /* what the poll handle watches */
    bool dead;  /* hiredis freed the context */
};

struct r_gai {
    uv_getaddrinfo_t req;
    struct redisconn *r;
};

/* A command in flight: answered by on_reply, or failed by the connection going down. */
struct r_cmd {
    struct redisconn *r;
    redisconn_reply_cb cb;
    void *ud;
    uint64_t deadline; /* uv_now */
    struct r_cmd *prev, *next;
};

struct redisconn {
    uv_loop_t *loop;
    struct redis_target t;
    uint64_t connect_timeout_ms, command_timeout_ms, ping_every_ms;
    struct retry_backoff backoff; /* the wait before each retry */
    redisconn_state_cb cb;
    void *ud;
    enum r_state st;
    redisAsyncContext *ac;
    struct r_poll *poll;
    uv_timer_t timer; /* connect/command timeout, or the wait before a retry */
    uv_timer_t ping_timer;
    uv_timer_t cmd_timer; /* the earliest deadline of the commands in flight */
    uint64_t cmd_timer_at; /* when cmd_timer fires; 0: not armed */
    struct r_cmd *cmds;    /* in flight, oldest first */
    struct r_cmd *cmds_tail;
    size_t ncmds;
    struct r_gai *gai;
    char ip[INET6_ADDRSTRLEN];
    char err[256];
    double latency;
    uint64_t ping_sent;
    int handshake_left; /* AUTH/SELECT replies still awaited before the first PING */
    int handles;
    char *sub_channel; /* redisconn_subscribe: the channel, sent again after each reconnect */
    redisconn_message_cb sub_cb;
    void *sub_ud;
#ifdef ROSTER_HAVE_REDIS_TLS
    redisSSLContext *ssl;
#endif
};

static void begin(struct redisconn *r);
static void go_down(struct redisconn *r, const char *why);

static void maybe_free(struct redisconn *r)
{
    if (r->st != R_CLOSED || r->handles > 0) return;
#ifdef ROSTER_HAVE_REDIS_TLS
    if (r->ssl) redisFreeSSLContext(r->ssl);
#endif
    redisurl_free(&r->t);
    free(r->sub_channel);
    free(r);
}

static void handle_closed(uv_handle_t *h)
{
    struct redisconn *r;
    if (h->type == UV_POLL) {
        struct r_poll *p = (struct r_poll *)h;
        r = p->r;
        free(p);
    } else {
        r = h->data;
    }
    r->handles--;
    maybe_free(r);
}

/* ---- the adapter: hiredis asks, we watch the socket --------------------------------------- */

static void on_io(uv_poll_t *h, int status, int events)
{
    struct redisconn *r = ((struct r_poll *)h)->r;
    if (!r->ac) return;
    redisAsyncContext *ac = r->ac;
    /* An error on the socket (a refused connect) comes as status < 0: let hiredis look at the
     * socket itself, which reports the failure to the connect callback. This is the case the
     * 0.14 libuv adapter drops. */
    struct r_poll *p = (struct r_poll *)h;
    if (status < 0) events = UV_READABLE | UV_WRITABLE;
    if (events & UV_WRITABLE) redisAsyncHandleWrite(ac);
    if (r->ac == ac && !p->dead && (events & UV_READABLE)) redisAsyncHandleRead(ac);
    if (p->dead && r->ac == ac) {
        /* freed by hiredis without a callback telling us */
        r->ac = NULL;
        go_down(r, "connection closed");
    }
}

/* Restarts the poll only when the wanted events change: hiredis asks for reads again after
 * every read, and a uv_poll_start from inside the handle's own callback would re-register the
 * descriptor for nothing. */
static void update(struct r_poll *p)
{
    if (p->events == p->active) return;
    p->active = p->events;
    if (p->events)
        uv_poll_start(&p->h, p->events, on_io);
    else
        uv_poll_stop(&p->h);
}

static void add_read(void *d)
{
    struct r_poll *p = d;
    p->events |= UV_READABLE;
    update(p);
}

static void del_read(void *d)
{
    struct r_poll *p = d;
    p->events &= ~UV_READABLE;
    update(p);
}

static void add_write(void *d)
{
    struct r_poll *p = d;
    p->events |= UV_WRITABLE;
    update(p);
}

static void del_write(void *d)
{
    struct r_poll *p = d;
    p->events &= ~UV_WRITABLE;
    update(p);
}

/* hiredis is freeing the context: close its poll handle. hiredis 0.14 calls this before the
 * disconnect callback, so the context is forgotten there (or in on_io, as a last resort), not
 * here: on_disconnect must still recognise it. */
static void cleanup(void *d)
{
    struct r_poll *p = d;
    struct redisconn *r = p->r;
    p->events = 0;
    p->dead = true;
    uv_poll_stop(&p->h);
    uv_close((uv_handle_t *)&p->h, handle_closed);
    if (r->poll == p) r->poll = NULL;
}

static int attach(struct redisconn *r, redisAsyncContext *ac)
{
    struct r_poll *p = xcalloc(1, sizeof *p);
    p->r = r;
    if (uv_poll_init(r->loop, &p->h, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    r->handles++;
    r->poll = p;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return 0;
}

/* ---- connection life ---------------------------------------------------------------------- */

static void on_retry(uv_timer_t *t)
{
    begin(t->data);
}

static void go_down(struct redisconn *r, const char *why)
{
    bool was_up = r->st == R_UP;
    (void)was_up;
    snprintf(r->err, sizeof r->err, "%s", why && *why ? why : "connection lost");
    uv_timer_stop(&r->timer);
    uv_timer_stop(&r->ping_timer);
    uv_timer_stop(&r->cmd_timer);
    r->cmd_timer_at = 0;
    if (r->gai) {
        r->gai->r = NULL;
        uv_cancel((uv_req_t *)&r->gai->req);
        r->gai = NULL;
    }
    r->st = R_RETRY;
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        /* frees the context now; pending callbacks get a NULL reply and see R_RETRY */
        redisAsyncFree(ac);
        r->ac = NULL;
    }
    /* one of those callbacks may have closed the connection: its owner hears no more */
    if (r->st != R_RETRY) return;
    r->cb(r->ud, false, r->err);
    if (r->st != R_RETRY) return;
    uv_timer_start(&r->timer, on_retry, retry_backoff_next(&r->backoff), 0);
}

static void on_timeout(uv_timer_t *t)
{
    struct redisconn *r = t->data;
    char why[96];
    snprintf(why, sizeof why, "%s timed out",
             r->st == R_UP          ? "PING"
             : r->st == R_HANDSHAKE ? "AUTH/SELECT"
                                    : "connect");
    go_down(r, why);
}

static void send_ping(struct redisconn *r);
static void send_subscribe(struct redisconn *r);

static void on_ping_timer(uv_timer_t *t)
{
    struct redisconn *r = t->data;
    /* Commands in flight prove the connection (each has its deadline), and a PING queued behind
     * a blocking command would time out for nothing. */
    if (r->ncmds > 0) {
        uv_timer_start(&r->ping_timer, on_ping_timer, r->ping_every_ms, 0);
        return;
    }
    send_ping(r);
}

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redisconn *r = priv;
    (void)ac;
    if (r->st != R_UP && r->st != R_HANDSHAKE) return; /* freed or closing */
    redisReply *rep = reply;
    if (!rep) return;
    uv_timer_stop(&r->timer);
    if (rep->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "PING: %s", rep->str);
        go_down(r, why);
        return;
    }
    r->latency = (double)(now_us() - r->ping_sent) / 1e6;
    if (r->st == R_HANDSHAKE) {
        r->st = R_UP;
        r->err[0] = '\0';
        retry_backoff_reset(&r->backoff);
        r->cb(r->ud, true, NULL);
        if (r->st != R_UP) return;
        if (r->sub_channel) {
            /* subscribed from now on: no more PINGs (see redisconn_subscribe) */
            send_subscribe(r);
            return;
        }
    }
    if (r->sub_channel) return; /* a PING sent before redisconn_subscribe: the last one */
    uv_timer_start(&r->ping_timer, on_ping_timer, r->ping_every_ms, 0);
}

/* Called by hiredis for the SUBSCRIBE's answer and every message after it, with NULL when the
 * context is freed (a reconnect sends SUBSCRIBE again on the new one). */
static void on_sub(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redisconn *r = priv;
    redisReply *rep = reply;
    if (!rep || r->ac != ac || r->st != R_UP || !r->sub_cb) return;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = rep->element[0]->str;
    const redisReply *ch = rep->element[1], *msg = rep->element[2];
    if (!strcmp(kind, "subscribe"))
        r->sub_cb(r->sub_ud, r->sub_channel, NULL, 0);
    else if (!strcmp(kind, "message") && msg->type == REDIS_REPLY_STRING)
        r->sub_cb(r->sub_ud, ch->type == REDIS_REPLY_STRING ? ch->str : r->sub_channel, msg->str,
                  msg->len);
}

static void send_subscribe(struct redisconn *r)
{
    uv_timer_stop(&r->ping_timer);
    /* A peer that vanished without a word is noticed by TCP keepalive, as PING cannot be used. */
    redisEnableKeepAlive(&r->ac->c);
    const char *argv[2] = {"SUBSCRIBE", r->sub_channel};
    if (redisAsyncCommandArgv(r->ac, on_sub, r, 2, argv, NULL) != REDIS_OK)
        go_down(r, "cannot send SUBSCRIBE");
}

int redisconn_subscribe(struct redisconn *r, const char *channel, redisconn_message_cb cb,
                        void *ud)
{
    if (!r || !channel || !*channel || !cb || r->st == R_CLOSED) return -EINVAL;
    if (r->sub_channel || r->ncmds > 0) return -EBUSY;
    r->sub_channel = xstrdup(channel);
    r->sub_cb = cb;
    r->sub_ud = ud;
    if (r->st == R_UP && r->ac) send_subscribe(r);
    return 0;
}

static void send_ping(struct redisconn *r)
{
    if (!r->ac) return;
    r->ping_sent = now_us();
    if (redisAsyncCommand(r->ac, on_pong, r, "PING") != REDIS_OK) {
        go_down(r, "cannot send PING");
        return;
    }
    uv_timer_start(&r->timer, on_timeout, r->command_timeout_ms, 0);
}

static void on_handshake(redisAsyncContext *ac, void *reply, void *priv)
{
    struct redisconn *r = priv;
    (void)ac;
    if (r->st != R_HANDSHAKE) return;
    redisReply *rep = reply;
    if (!rep) return;
    if (rep->type == REDIS_REPLY_ERROR) {
        char why[200];
        snprintf(why, sizeof why, "%s", rep->str);
        go_down(r, why);
        return;
    }
    if (--r->handshake_left == 0) send_ping(r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct redisconn *r = ac->data;
    if (r->st != R_CONNECTING) return;
    if (status != REDIS_OK) {
        char why[200];
        snprintf(why, sizeof why, "connect: %s", ac->errstr ? ac->errstr : "failed");
        r->ac = NULL; /* hiredis frees it after this callback */
        go_down(r, why);
        return;
    }
    r->st = R_HANDSHAKE;
    r->handshake_left = 0;
    if (r->t.password) {
        int rc = r->t.user ? redisAsyncCommand(r->ac, on_handshake, r, "AUTH %s %s", r->t.user,
                                               r->t.password)
                           : redisAsyncCommand(r->ac, on_handshake, r, "AUTH %s", r->t.password);
        if (rc == REDIS_OK) r->handshake_left++;
    }
    if (r->t.db) {
        if (redisAsyncCommand(r->ac, on_handshake, r, "SELECT %d", r->t.db) == REDIS_OK)
            r->handshake_left++;
    }
    if (r->handshake_left == 0)
        send_ping(r);
    else
        uv_timer_start(&r->timer, on_timeout, r->command_timeout_ms, 0);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redisconn *r = ac->data;
    (void)status;
    if (r->ac != ac) return;
    r->ac = NULL; /* hiredis frees it after this callback */
    if (r->st == R_CLOSED || r->st == R_RETRY) return;
    char why[200];
    snprintf(why, sizeof why, "%s", ac->errstr && *ac->errstr ? ac->errstr : "closed");
#ifdef ROSTER_HAVE_REDIS_TLS
    /* hiredis reports a failed TLS handshake (an untrusted certificate, say) as an I/O error with
     * errno 0, "Success": say instead where it failed and what the certificate is checked
     * against. */
    if (r->t.tls && r->st == R_HANDSHAKE) {
        bool said = ac->errstr && *ac->errstr && strcmp(ac->errstr, strerror(0)) != 0;
        snprintf(why, sizeof why,
                 "TLS: connection closed before the first reply%s%s%s; roster verifies the "
                 "server's certificate against the CAs in /etc/ssl/certs",
                 said ? " (" : "", said ? ac->errstr : "", said ? ")" : "");
    }
#endif
    go_down(r, why);
}

static void connect_ip(struct redisconn *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->ip, r->t.port);
    if (!ac) {
        go_down(r, "out of memory");
        return;
    }
    if (ac->err) {
        char why[200];
        snprintf(why, sizeof why, "connect: %s", ac->errstr);
        redisAsyncFree(ac);
        go_down(r, why);
        return;
    }
#ifdef ROSTER_HAVE_REDIS_TLS
    if (r->t.tls && redisInitiateSSLWithContext(&ac->c, r->ssl) != REDIS_OK) {
        char why[200];
        snprintf(why, sizeof why, "TLS: %s", ac->c.errstr);
        redisAsyncFree(ac);
        go_down(r, why);
        return;
    }
#endif
    ac->data = r;
    if (attach(r, ac) < 0) {
        redisAsyncFree(ac);
        go_down(r, "cannot watch the Redis socket");
        return;
    }
    r->ac = ac;
    r->st = R_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    uv_timer_start(&r->timer, on_timeout, r->connect_timeout_ms, 0);
    add_write(r->poll); /* the first writable event completes the connect */
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct r_gai *g = req->data;
    struct redisconn *r = g->r;
    if (r) {
        r->gai = NULL;
        if (status < 0 || !res) {
            char why[200];
            snprintf(why, sizeof why, "cannot resolve %s: %s", r->t.host, uv_strerror(status));
            go_down(r, why);
        } else {
            addr_to_text(res->ai_addr, r->ip, sizeof r->ip);
            connect_ip(r);
        }
    }
    if (res) uv_freeaddrinfo(res);
    free(g);
}

static void begin(struct redisconn *r)
{
    if (r->st == R_CLOSED) return;
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, r->t.host, &a4) == 1 || inet_pton(AF_INET6, r->t.host, &a6) == 1) {
        snprintf(r->ip, sizeof r->ip, "%s", r->t.host);
        connect_ip(r);
        return;
    }
    struct r_gai *g = xcalloc(1, sizeof *g);
    g->r = r;
    g->req.data = g;
    r->gai = g;
    r->st = R_RESOLVING;
    uv_timer_start(&r->timer, on_timeout, r->connect_timeout_ms, 0);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(r->loop, &g->req, on_resolved, r->t.host, NULL, &hints);
    if (rc < 0) {
        r->gai = NULL;
        free(g);
        char why[200];
        snprintf(why, sizeof why, "cannot resolve %s: %s", r->t.host, uv_strerror(rc));
        go_down(r, why);
    }
}

struct redisconn *redisconn_new(uv_loop_t *loop, const struct redisconn_opts *o,
                                redisconn_state_cb cb, void *ud, char *err, size_t errlen)
{
    struct redisconn *r = xcalloc(1, sizeof *r);
    if (redisurl_parse(o->url, &r->t, err, errlen) < 0) {
        free(r);
        return NULL;
    }
    if (r->t.tls) {
#ifdef ROSTER_HAVE_REDIS_TLS
        static bool ssl_inited;
        if (!ssl_inited) {
            redisInitOpenSSL();
            ssl_inited = true;
        }
        redisSSLContextError e;
        r->ssl = redisCreateSSLContext(NULL, "/etc/ssl/certs", NULL, NULL, r->t.host, &e);
        if (!r->ssl) {
            snprintf(err, errlen, "rediss://: %s", redisSSLContextGetError(e));
            redisurl_free(&r->t);
            free(r);
            return NULL;
        }
#else
        snprintf(err, errlen,
                 "rediss:// needs roster built against hiredis 1.0 or later with TLS; this build "
                 "has hiredis %d.%d without it",
                 HIREDIS_MAJOR, HIREDIS_MINOR);
        redisurl_free(&r->t);
        free(r);
        return NULL;
#endif
    }
    r->loop = loop;
    r->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 3000;
    r->command_timeout_ms = o->command_timeout_ms ? o->command_timeout_ms : 2000;
    r->ping_every_ms = o->ping_every_ms ? o->ping_every_ms : 5000;
    r->backoff = (struct retry_backoff){.initial_ms = 250,
                                        .max_ms = o->retry_max_ms ? o->retry_max_ms : 10000};
    r->latency = -1;
    r->cb = cb;
    r->ud = ud;
    uv_timer_init(loop, &r->timer);
    uv_timer_init(loop, &r->ping_timer);
    uv_timer_init(loop, &r->cmd_timer);
    r->timer.data = r->ping_timer.data = r->cmd_timer.data = r;
    r->handles = 3;
    return r;
}

void redisconn_start(struct redisconn *r)
{
    if (r->st == R_IDLE) begin(r);
}

bool redisconn_up(const struct redisconn *r)
{
    return r && r->st == R_UP;
}

const char *redisconn_error(const struct redisconn *r)
{
    return r ? r->err : "";
}

double redisconn_latency(const struct redisconn *r)
{
    return r ? r->latency : -1;
}

void redisconn_close(struct redisconn *r)
{
    if (!r || r->st == R_CLOSED) return;
    r->st = R_CLOSED;
    if (r->gai) {
        r->gai->r = NULL;
        uv_cancel((uv_req_t *)&r->gai->req);
        r->gai = NULL;
    }
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        redisAsyncFree(ac);
    }
    uv_close((uv_handle_t *)&r->timer, handle_closed);
    uv_close((uv_handle_t *)&r->ping_timer, handle_closed);
    uv_close((uv_handle_t *)&r->cmd_timer, handle_closed);
}

/* ---- commands ----------------------------------------------------------------------------- */

static void arm_cmd_timer(struct redisconn *r);

static void on_cmd_timer(uv_timer_t *t)
{
    struct redisconn *r = t->data;
    r->cmd_timer_at = 0;
    uint64_t now = uv_now(r->loop);
    for (struct r_cmd *c = r->cmds; c; c = c->next) {
        if (c->deadline <= now) {
            /* fails every command in flight through their callbacks (hiredis answers them NULL) */
            go_down(r, "command timed out");
            return;
        }
    }
    arm_cmd_timer(r);
}

/* Arms cmd_timer for the earliest deadline in flight (a scan: commands with different timeouts
 * do not finish in deadline order, and the list is bounded). */
static void arm_cmd_timer(struct redisconn *r)
{
    if (r->st == R_CLOSED) return;
    uint64_t first = 0;
    for (struct r_cmd *c = r->cmds; c; c = c->next)
        if (!first || c->deadline < first) first = c->deadline;
    if (!first) {
        uv_timer_stop(&r->cmd_timer);
        r->cmd_timer_at = 0;
        return;
    }
    if (r->cmd_timer_at && r->cmd_timer_at <= first) return;
    uint64_t now = uv_now(r->loop);
    uv_timer_start(&r->cmd_timer, on_cmd_timer, first > now ? first - now : 0, 0);
    r->cmd_timer_at = first;
}

static void cmd_unlink(struct redisconn *r, struct r_cmd *c)
{
    if (c->prev) c->prev->next = c->next; else r->cmds = c->next;
    if (c->next) c->next->prev = c->prev; else r->cmds_tail = c->prev;
    r->ncmds--;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct r_cmd *c = priv;
    struct redisconn *r = c->r;
    cmd_unlink(r, c);
    const char *err = NULL;
    if (!reply) {
        /* the context is being freed: by go_down (err says why) or by hiredis on a lost
         * connection (its errstr says why, before on_disconnect runs) */
        if (r->st == R_CLOSED)
            err = "connection closed";
        else if (r->st == R_RETRY && r->err[0])
            err = r->err;
        else if (ac && ac->errstr[0])
            err = ac->errstr;
        else
            err = "connection lost";
    }
    redisconn_reply_cb cb = c->cb;
    void *ud = c->ud;
    free(c);
    cb(ud, reply, err);
    if (reply && r->st != R_CLOSED && !r->cmds) arm_cmd_timer(r);
}

int redisconn_command(struct redisconn *r, redisconn_reply_cb cb, void *ud, int argc,
                      const char *const *argv, const size_t *argvlen, uint64_t timeout_ms)
{
    if (!r || !cb || argc < 1 || !argv) return -EINVAL;
    if (r->sub_channel) return -EBUSY;
    if (r->st != R_UP || !r->ac) return -ENOTCONN;
    if (r->ncmds >= REDISCONN_MAX_PENDING) return -ENOBUFS;
    struct r_cmd *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->cb = cb;
    c->ud = ud;
    c->deadline = uv_now(r->loop) + (timeout_ms ? timeout_ms : r->command_timeout_ms);
    if (redisAsyncCommandArgv(r->ac, on_reply, c, argc, (const char **)argv, argvlen) !=
        REDIS_OK) {
        free(c);
        return -ENOTCONN;
    }
    c->prev = r->cmds_tail;
    if (r->cmds_tail) r->cmds_tail->next = c; else r->cmds = c;
    r->cmds_tail = c;
    r->ncmds++;
    arm_cmd_timer(r);
    return 0;
}

size_t redisconn_pending(const struct redisconn *r)
{
    return r ? r->ncmds : 0;
}
