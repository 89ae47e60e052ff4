/* pgconn.c — asynchronous libpq on the uv loop. See pgconn.h. */
#include "datastore/pgconn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/backoff.h"
#include "base/util.h"

enum pg_state { PG_IDLE, PG_RESOLVING, PG_CONNECTING, PG_UP, PG_RETRY, PG_CLOSED };

struct pq_poll {
    uv_poll_t h; /* first: the handle is the struct */
    struct pgconn *c;
};

struct pq_gai {
    uv_getaddrinfo_t req;
    struct pgconn *c; /* NULL once abandoned */
};

struct pgquery {
    char *sql;
    int n;
    char **params;
    uint64_t timeout_ms;
    pgconn_result_cb cb;
    void *ud;
    struct pgquery *next;
};

struct pgconn {
    uv_loop_t *loop;
    char *url, *appname;
    uint64_t connect_timeout_ms;
    struct retry_backoff backoff; /* the wait before each retry */
    pgconn_state_cb cb;
    bool (*may_try)(void *ud);
    void *ud;
    enum pg_state st;
    PGconn *conn;
    struct pq_poll *poll;
    uv_timer_t timer; /* connect timeout, query timeout, or the wait before a retry */
    struct pq_gai *gai;
    /* The URL's hosts, resolved on the loop one after another: libpq gets them back as host,
     * hostaddr and port lists (hosts that did not resolve left out), so it never calls the
     * blocking getaddrinfo itself, for one host or a list (host=a,b,c failover). */
    strvec hosts, ports;
    size_t next_host;
    strvec ok_hosts, ok_addrs, ok_ports;
    char resolve_err[200];
    char *host_list, *addr_list, *port_list;
    struct pgquery *head, *tail;
    bool in_flight;
    PGresult *last;
    uint64_t q_started;
    char err[256];
    int handles;
};

static void connect_step(struct pgconn *c);
static void begin(struct pgconn *c);

static void maybe_free(struct pgconn *c)
{
    if (c->st == PG_CLOSED && c->handles == 0) {
        strvec *lists[] = {&c->hosts, &c->ports, &c->ok_hosts, &c->ok_addrs, &c->ok_ports};
        for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
            strvec_free(lists[i]);
        free(c->host_list);
        free(c->addr_list);
        free(c->port_list);
        free(c->url);
        free(c->appname);
        free(c);
    }
}

static void poll_closed(uv_handle_t *h)
{
    struct pq_poll *p = (struct pq_poll *)h;
    struct pgconn *c = p->c;
    free(p);
    c->handles--;
    maybe_free(c);
}

static void timer_closed(uv_handle_t *h)
{
    struct pgconn *c = h->data;
    c->handles--;
    maybe_free(c);
}

static void drop_poll(struct pgconn *c)
{
    if (!c->poll) return;
    uv_close((uv_handle_t *)&c->poll->h, poll_closed);
    c->poll = NULL;
}

static void free_query(struct pgquery *q)
{
    for (int i = 0; i < q->n; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q);
}

static void fail_queries(struct pgconn *c, const char *err, bool call)
{
    struct pgquery *q = c->head;
    c->head = c->tail = NULL;
    c->in_flight = false;
    if (c->last) PQclear(c->last);
    c->last = NULL;
    while (q) {
        struct pgquery *next = q->next;
        if (call) q->cb(q->ud, NULL, err, 0);
        free_query(q);
        q = next;
    }
}

/* Lets go of the libpq connection, its poll handle and a lookup under way. */
static void release_conn(struct pgconn *c)
{
    drop_poll(c);
    if (c->conn) PQfinish(c->conn);
    c->conn = NULL;
    if (c->gai) {
        c->gai->c = NULL; /* the resolver's callback frees it */
        uv_cancel((uv_req_t *)&c->gai->req);
        c->gai = NULL;
    }
}

static void on_retry(uv_timer_t *t)
{
    begin(t->data);
}

/* The connection failed or was lost: tidy up, tell the owner, retry after a backoff. */
static void go_down(struct pgconn *c, const char *why)
{
    snprintf(c->err, sizeof c->err, "%s", why);
    /* libpq's messages end with a newline; keep one line */
    for (char *p = c->err; *p; p++)
        if (*p == '\n') *p = (p[1] ? ' ' : '\0');
    release_conn(c);
    c->st = PG_RETRY;
    uv_timer_stop(&c->timer);
    fail_queries(c, c->err, true);
    if (c->st != PG_RETRY) return; /* a callback closed us */
    c->cb(c->ud, false, c->err);
    if (c->st != PG_RETRY) return;
    uv_timer_start(&c->timer, on_retry, retry_backoff_next(&c->backoff), 0);
}

static void on_timeout(uv_timer_t *t)
{
    struct pgconn *c = t->data;
    char why[96];
    if (c->st == PG_UP)
        snprintf(why, sizeof why, "query timed out after %llu ms",
                 (unsigned long long)(now_ms() - c->q_started));
    else
        snprintf(why, sizeof why, "connect timed out after %llu ms",
                 (unsigned long long)c->connect_timeout_ms);
    go_down(c, why);
}

static void watch(struct pgconn *c, int events, uv_poll_cb cb, bool fresh)
{
    /* During the connect libpq may close one socket and open another with the same number: a
     * fresh poll handle per step keeps the epoll registration right. */
    if (fresh) drop_poll(c);
    if (!c->poll) {
        struct pq_poll *p = xcalloc(1, sizeof *p);
        p->c = c;
        if (uv_poll_init(c->loop, &p->h, PQsocket(c->conn)) != 0) {
            free(p);
            go_down(c, "cannot watch the connection's socket");
            return;
        }
        c->handles++;
        c->poll = p;
    }
    uv_poll_start(&c->poll->h, events, cb);
}

static void next_query(struct pgconn *c);

static void query_done(struct pgconn *c)
{
    struct pgquery *q = c->head;
    c->head = q->next;
    if (!c->head) c->tail = NULL;
    c->in_flight = false;
    uv_timer_stop(&c->timer);
    double secs = (double)(now_ms() - c->q_started) / 1000.0;
    PGresult *res = c->last;
    c->last = NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        q->cb(q->ud, res, NULL, secs);
    } else {
        char err[256];
        snprintf(err, sizeof err, "%s", res ? PQresultErrorMessage(res) : "no result");
        char *nl = strchr(err, '\n');
        if (nl) *nl = '\0';
        q->cb(q->ud, NULL, err, secs);
    }
    if (res) PQclear(res);
    free_query(q);
    if (c->st == PG_UP) next_query(c);
}

static void on_query_io(uv_poll_t *h, int status, int events)
{
    struct pgconn *c = ((struct pq_poll *)h)->c;
    if (status < 0) {
        go_down(c, PQerrorMessage(c->conn));
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(c->conn);
        if (f < 0) {
            go_down(c, PQerrorMessage(c->conn));
            return;
        }
        if (f == 0) watch(c, UV_READABLE, on_query_io, false);
    }
    if (events & UV_READABLE) {
        if (!PQconsumeInput(c->conn)) {
            go_down(c, PQerrorMessage(c->conn));
            return;
        }
        while (c->in_flight && !PQisBusy(c->conn)) {
            PGresult *r = PQgetResult(c->conn);
            if (!r) {
                query_done(c);
                return;
            }
            if (c->last) PQclear(c->last);
            c->last = r;
        }
        /* Notifications or stray data while idle: nothing to do. */
        PGnotify *n;
        while ((n = PQnotifies(c->conn)))
            PQfreemem(n);
    }
}

static void next_query(struct pgconn *c)
{
    if (c->in_flight || !c->head || c->st != PG_UP) return;
    struct pgquery *q = c->head;
    if (!PQsendQueryParams(c->conn, q->sql, q->n, NULL, (const char *const *)q->params, NULL, NULL,
                           0)) {
        go_down(c, PQerrorMessage(c->conn));
        return;
    }
    c->in_flight = true;
    c->q_started = now_ms();
    if (q->timeout_ms) uv_timer_start(&c->timer, on_timeout, q->timeout_ms, 0);
    int f = PQflush(c->conn);
    if (f < 0) {
        go_down(c, PQerrorMessage(c->conn));
        return;
    }
    watch(c, f ? UV_READABLE | UV_WRITABLE : UV_READABLE, on_query_io, false);
}

static void on_connect_io(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    connect_step(((struct pq_poll *)h)->c);
}

static void discard_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void connect_step(struct pgconn *c)
{
    switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_READING: watch(c, UV_READABLE, on_connect_io, true); return;
    case PGRES_POLLING_WRITING: watch(c, UV_WRITABLE, on_connect_io, true); return;
    case PGRES_POLLING_FAILED: go_down(c, PQerrorMessage(c->conn)); return;
    default: break;
    }
    /* connected */
    uv_timer_stop(&c->timer);
    PQsetnonblocking(c->conn, 1);
    PQsetNoticeProcessor(c->conn, discard_notice, NULL);
    c->st = PG_UP;
    c->err[0] = '\0';
    retry_backoff_reset(&c->backoff);
    watch(c, UV_READABLE, on_query_io, true);
    c->cb(c->ud, true, NULL);
    if (c->st == PG_UP) next_query(c);
}

static char *join(const strvec *v)
{
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < v->n; i++)
        sbuf_printf(&b, "%s%s", i ? "," : "", v->v[i]);
    return b.data ? sbuf_detach(&b) : xstrdup("");
}

static void start_libpq(struct pgconn *c)
{
    const char *keys[7], *vals[7];
    int n = 0;
    keys[n] = "dbname";
    vals[n++] = c->url;
    free(c->host_list);
    free(c->addr_list);
    free(c->port_list);
    c->host_list = c->addr_list = c->port_list = NULL;
    if (c->ok_addrs.n) {
        /* later keys override what the URL said (expand_dbname) */
        c->host_list = join(&c->ok_hosts);
        c->addr_list = join(&c->ok_addrs);
        keys[n] = "host";
        vals[n++] = c->host_list;
        keys[n] = "hostaddr";
        vals[n++] = c->addr_list;
        if (c->ok_ports.n) {
            c->port_list = join(&c->ok_ports);
            keys[n] = "port";
            vals[n++] = c->port_list;
        }
    }
    keys[n] = "application_name";
    vals[n++] = c->appname;
    keys[n] = NULL;
    vals[n] = NULL;
    c->conn = PQconnectStartParams(keys, vals, 1);
    if (!c->conn) {
        go_down(c, "out of memory");
        return;
    }
    if (PQstatus(c->conn) == CONNECTION_BAD) {
        go_down(c, PQerrorMessage(c->conn));
        return;
    }
    c->st = PG_CONNECTING;
    uv_timer_start(&c->timer, on_timeout, c->connect_timeout_ms, 0);
    if (PQsocket(c->conn) < 0) {
        go_down(c, PQerrorMessage(c->conn));
        return;
    }
    watch(c, UV_WRITABLE, on_connect_io, true);
}

static void resolve_next(struct pgconn *c);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct pq_gai *g = req->data;
    struct pgconn *c = g->c;
    if (c) {
        c->gai = NULL;
        size_t i = c->next_host++;
        if (status < 0 || !res) {
            snprintf(c->resolve_err, sizeof c->resolve_err,
                     "cannot resolve the database host %s: %s", c->hosts.v[i],
                     uv_strerror(status));
        } else {
            char addr[INET6_ADDRSTRLEN];
            addr_to_text(res->ai_addr, addr, sizeof addr);
            strvec_pushdup(&c->ok_hosts, c->hosts.v[i]);
            strvec_pushdup(&c->ok_addrs, addr);
            if (c->ports.n > 1) strvec_pushdup(&c->ok_ports, c->ports.v[i]);
        }
        resolve_next(c);
    }
    if (res) uv_freeaddrinfo(res);
    free(g);
}

/* Resolves the next host of the list, or hands what resolved to libpq. */
static void resolve_next(struct pgconn *c)
{
    if (c->next_host >= c->hosts.n) {
        if (!c->ok_addrs.n) {
            go_down(c, c->resolve_err);
            return;
        }
        if (c->ports.n == 1) strvec_pushdup(&c->ok_ports, c->ports.v[0]);
        start_libpq(c);
        return;
    }
    const char *host = c->hosts.v[c->next_host];
    if (!*host || host[0] == '/' || host[0] == '@') {
        /* a unix socket needs no resolving: libpq takes it as it is */
        strvec_pushdup(&c->ok_hosts, host);
        strvec_pushdup(&c->ok_addrs, "");
        if (c->ports.n > 1) strvec_pushdup(&c->ok_ports, c->ports.v[c->next_host]);
        c->next_host++;
        resolve_next(c);
        return;
    }
    struct pq_gai *g = xcalloc(1, sizeof *g);
    g->c = c;
    g->req.data = g;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->gai = g;
    int rc = uv_getaddrinfo(c->loop, &g->req, on_resolved, host, NULL, &hints);
    if (rc < 0) {
        c->gai = NULL;
        free(g);
        snprintf(c->resolve_err, sizeof c->resolve_err,
                 "cannot resolve the database host %s: %s", host, uv_strerror(rc));
        c->next_host++;
        resolve_next(c);
    }
}

static void split_list(strvec *out, const char *list)
{
    strvec_free(out);
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        strvec_push(out, xstrndup(p, n));
        if (!comma) break;
        p = comma + 1;
    }
}

/* Resolves the hosts through the loop when libpq would otherwise do it with blocking calls. */
static void begin(struct pgconn *c)
{
    if (c->st == PG_CLOSED) return;
    if (c->may_try && !c->may_try(c->ud)) {
        c->st = PG_RETRY;
        uv_timer_start(&c->timer, on_retry, PGCONN_HOLD_MS, 0);
        return;
    }
    strvec_free(&c->ok_hosts);
    strvec_free(&c->ok_addrs);
    strvec_free(&c->ok_ports);
    strvec_free(&c->hosts);
    strvec_free(&c->ports);
    c->next_host = 0;
    c->resolve_err[0] = '\0';
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(c->url, &errmsg);
    if (!opts) {
        char why[256];
        snprintf(why, sizeof why, "invalid connection URL: %s", errmsg ? errmsg : "?");
        PQfreemem(errmsg);
        go_down(c, why);
        return;
    }
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!strcmp(o->keyword, "host")) host = o->val;
        if (!strcmp(o->keyword, "hostaddr")) hostaddr = o->val;
        if (!strcmp(o->keyword, "port")) port = o->val;
    }
    bool resolve = host && *host && !(hostaddr && *hostaddr);
    if (resolve) {
        split_list(&c->hosts, host);
        resolve = false; /* only names need resolving, not sockets */
        for (size_t i = 0; i < c->hosts.n; i++)
            resolve |= c->hosts.v[i][0] && c->hosts.v[i][0] != '/' && c->hosts.v[i][0] != '@';
    }
    if (!resolve) {
        PQconninfoFree(opts);
        start_libpq(c);
        return;
    }
    if (port && *port) split_list(&c->ports, port);
    PQconninfoFree(opts);
    if (c->ports.n > 1 && c->ports.n != c->hosts.n) {
        go_down(c, "invalid connection URL: the port list does not match the host list");
        return;
    }
    c->st = PG_RESOLVING;
    uv_timer_start(&c->timer, on_timeout, c->connect_timeout_ms, 0);
    resolve_next(c);
}

struct pgconn *pgconn_new(uv_loop_t *loop, const struct pgconn_opts *o, pgconn_state_cb cb,
                          void *ud)
{
    struct pgconn *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->url = xstrdup(o->url);
    c->appname = xstrdup(o->appname ? o->appname : "roster");
    c->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
    c->backoff = (struct retry_backoff){.initial_ms = 250,
                                        .max_ms = o->retry_max_ms ? o->retry_max_ms : 10000};
    c->cb = cb;
    c->ud = ud;
    c->may_try = o->may_try;
    c->st = PG_IDLE;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->handles = 1;
    return c;
}

void pgconn_start(struct pgconn *c)
{
    if (c->st == PG_IDLE) begin(c);
}

bool pgconn_up(const struct pgconn *c)
{
    return c && c->st == PG_UP;
}

const char *pgconn_error(const struct pgconn *c)
{
    return c ? c->err : "";
}

int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
                 uint64_t timeout_ms, pgconn_result_cb cb, void *ud)
{
    if (c->st != PG_UP) return -1;
    struct pgquery *q = xcalloc(1, sizeof *q);
    q->sql = xstrdup(sql);
    q->n = nparams;
    q->params = xcalloc((size_t)(nparams ? nparams : 1), sizeof(char *));
    for (int i = 0; i < nparams; i++)
        q->params[i] = xstrdup(params[i]);
    q->timeout_ms = timeout_ms;
    q->cb = cb;
    q->ud = ud;
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    next_query(c);
    return 0;
}

void pgconn_close(struct pgconn *c)
{
    if (!c || c->st == PG_CLOSED) return;
    c->st = PG_CLOSED;
    fail_queries(c, "closed", false);
    release_conn(c);
    uv_close((uv_handle_t *)&c->timer, timer_closed);
}
