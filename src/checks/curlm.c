/* curlm.c — curl multi + libuv, after curl's multi-uv example: curl says which sockets to watch
 * (socket callback) and when to wake it (timer callback); the loop tells curl what happened. */
#include "checks/curlm.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "os/lazylib.h"
#include "base/util.h"

struct curlm {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    int handles; /* open uv handles: the timer and the socket polls */
    bool closing;
    struct curlm_req *reqs;
};

struct curlm_req {
    struct curlm *m;
    CURL *easy;
    curlm_cb cb;
    void *ud;
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers;
    char *resp; /* the first bytes of the body, up to keep */
    size_t resp_len, keep;
    int64_t retry_after; /* the answer's Retry-After in seconds (curlm_retry_after) */
    struct curlm_req *next;
};

struct sockctx {
    uv_poll_t poll; /* first, so the handle is the context */
    struct curlm *m;
    curl_socket_t fd;
};

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Keeps the body's first r->keep bytes and reads (and drops) the rest. */
static size_t keep_some(char *p, size_t size, size_t n, void *ud)
{
    struct curlm_req *r = ud;
    size_t len = size * n, take = r->keep - r->resp_len;
    if (take > len) take = len;
    if (take) {
        if (!r->resp) r->resp = xmalloc(r->keep);
        memcpy(r->resp + r->resp_len, p, take);
        r->resp_len += take;
    }
    return len;
}

/* Frees what a request owns besides curl's handle. */
static void req_free(struct curlm_req *r)
{
    if (r->headers) curl_slist_free_all(r->headers);
    free(r->resp);
    free(r);
}

static void handle_closed(uv_handle_t *h)
{
    struct curlm *m;
    if (h->type == UV_POLL) {
        struct sockctx *c = (struct sockctx *)h;
        m = c->m;
        free(c);
    } else {
        m = h->data;
    }
    m->handles--;
    if (m->closing && m->handles == 0) free(m);
}

static void unlink_req(struct curlm *m, struct curlm_req *r)
{
    for (struct curlm_req **p = &m->reqs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            return;
        }
    }
}

static void finish_req(struct curlm_req *r, CURLcode res)
{
    struct curlm *m = r->m;
    long status = 0;
    double secs = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
    /* read now: the handle is gone by the time the callback may ask (curlm_retry_after) */
    curl_off_t ra = -1;
    if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK) r->retry_after = ra;
    curl_multi_remove_handle(m->multi, r->easy);
    curl_easy_cleanup(r->easy);
    unlink_req(m, r);
    const char *err = "";
    if (res == CURLE_OPERATION_TIMEDOUT) {
        /* The caller set the limit and words its own timeout: curl's timer and the caller's
         * are due together, and whichever the loop runs first, the user reads one message. */
        status = -ETIMEDOUT;
    } else if (res != CURLE_OK) {
        status = 0;
        err = r->errbuf[0] ? r->errbuf : curl_easy_strerror(res);
    }
    r->cb(r->ud, status, err, secs);
    req_free(r);
}

static void check_done(struct curlm *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct curlm_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish_req(r, msg->data.result);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sockctx *c = (struct sockctx *)h;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    int running;
    struct curlm *m = c->m;
    curl_multi_socket_action(m->multi, c->fd, flags, &running);
    check_done(m);
}

static void on_timer(uv_timer_t *t)
{
    struct curlm *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(m);
}

static int socket_cb(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
    struct curlm *m = userp;
    struct sockctx *c = socketp;
    (void)easy;
    if (action == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            curl_multi_assign(m->multi, s, NULL);
            uv_close((uv_handle_t *)&c->poll, handle_closed);
        }
        return 0;
    }
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->m = m;
        c->fd = s;
        if (uv_poll_init_socket(m->loop, &c->poll, s) != 0) {
            free(c);
            return -1;
        }
        m->handles++;
        curl_multi_assign(m->multi, s, c);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT) ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT) ev |= UV_WRITABLE;
    uv_poll_start(&c->poll, ev, on_poll);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct curlm *m = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

struct curlm *curlm_new(uv_loop_t *loop)
{
    static bool inited;
    if (lazylib_load(LAZYLIB_CURL, NULL, 0) < 0) return NULL;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = true;
    }
    struct curlm *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->multi = curl_multi_init();
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    m->handles = 1;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
}

struct curlm_req *curlm_get(struct curlm *m, const char *url, uint64_t timeout_ms, curlm_cb cb,
                            void *ud)
{
    return curlm_request(m, "GET", url, timeout_ms, cb, ud);
}

struct curlm_req *curlm_request(struct curlm *m, const char *method, const char *url,
                                uint64_t timeout_ms, curlm_cb cb, void *ud)
{
    return curlm_request_opts(m, method, url, timeout_ms, NULL, cb, ud);
}

struct curlm_req *curlm_request_opts(struct curlm *m, const char *method, const char *url,
                                     uint64_t timeout_ms, const struct curlm_opts *o, curlm_cb cb,
                                     void *ud)
{
    static const struct curlm_opts none;
    if (!o) o = &none;
    if (m->closing) return NULL;
    struct curlm_req *r = xcalloc(1, sizeof *r);
    r->m = m;
    r->cb = cb;
    r->ud = ud;
    r->easy = curl_easy_init();
    if (!r->easy) {
        free(r);
        return NULL;
    }
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "roster/" ROSTER_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    /* curl before 7.85 (Debian 11's, which the portable package is built with) has only the
     * bitmask form, deprecated since but still honoured. */
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* Probes want the status, not the body: discard it, but keep a request-sized cap. The
     * scheduler keeps the first bytes, to say what a failed request answered. */
    curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE, 1L << 20);
    r->keep = o->keep;
    if (o->keep) {
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, keep_some);
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    } else {
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard);
    }
    curl_easy_setopt(r->easy, CURLOPT_FORBID_REUSE, o->reuse ? 0L : 1L);
    for (size_t i = 0; i < o->nheaders; i++) {
        struct curl_slist *l = curl_slist_append(r->headers, o->headers[i]);
        if (!l) goto fail;
        r->headers = l;
    }
    if (r->headers) curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(r->easy, CURLOPT_NOBODY, 1L);
    } else if (o->body) {
        /* borrowed, not copied: the caller keeps it until the callback */
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
        if (strcmp(method, "POST")) curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET")) {
        /* an empty body, so that curl sends Content-Length: 0 rather than waiting on stdin */
        if (!strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH"))
            curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
    }
    r->next = m->reqs;
    m->reqs = r;
    if (curl_multi_add_handle(m->multi, r->easy) != CURLM_OK) {
        unlink_req(m, r);
        goto fail;
    }
    return r;
fail:
    curl_easy_cleanup(r->easy);
    req_free(r);
    return NULL;
}

const char *curlm_response(const struct curlm_req *r, size_t *len)
{
    *len = r->resp_len;
    return r->resp;
}

void curlm_cancel(struct curlm_req *r)
{
    struct curlm *m = r->m;
    curl_multi_remove_handle(m->multi, r->easy);
    curl_easy_cleanup(r->easy);
    unlink_req(m, r);
    req_free(r);
}

void curlm_close(struct curlm *m)
{
    while (m->reqs)
        curlm_cancel(m->reqs);
    curl_multi_cleanup(m->multi);
    m->closing = true;
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, handle_closed);
}

int64_t curlm_retry_after(const struct curlm_req *r)
{
    /* curl reads both forms, delay-seconds and an HTTP date (made seconds from now); 0 is also
     * what it says when there was no header: both mean "now", i.e. none */
    return r->retry_after > 0 ? r->retry_after : -1;
}
