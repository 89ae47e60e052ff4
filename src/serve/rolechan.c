/* rolechan.c — the status channel of builtin roles, roster's side. See rolechan.h. */
#include "serve/rolechan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "serve/metrics.h"
#include "supervise/observer.h"

const char *rolechan_strerror(enum rolechan_err e)
{
    switch (e) {
    case ROLECHAN_OK: return "ok";
    case ROLECHAN_TOO_BIG: return "a message longer than 4096 bytes";
    case ROLECHAN_NOT_JSON: return "a message that is not a JSON object";
    case ROLECHAN_UNKNOWN: return "a message with none of component, metric or record";
    case ROLECHAN_BAD_FIELD: return "a message with a bad member";
    case ROLECHAN_TOO_MANY: return "more than roster keeps";
    }
    return "?";
}

/* ---- applying messages (pure) ------------------------------------------------------------- */

static bool name_ok(const char *s, size_t max, bool colon)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9') || (colon && c == ':');
        if (!ok) return false;
    }
    return true;
}

/* A component's or record's key: printable, no quotes or backslashes, at most 128 bytes. */
static bool key_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == '"' || s[i] == '\\' || s[i] == 0x7f)
            return false;
    return true;
}

/* roster's own families, which a builtin may not report. */
static bool family_reserved(const char *f)
{
    static const char *const own[] = {"roster_role_",  "roster_log_",        "roster_postgres_",
                                      "roster_redis_", "roster_info",        "roster_start_time",
                                      "roster_reloads", "roster_orphans",    "roster_stdout",
                                      "roster_status_messages"};
    for (size_t i = 0; i < ARRAY_SIZE(own); i++)
        if (!strncmp(f, own[i], strlen(own[i]))) return true;
    return strncmp(f, "roster_", 7) != 0;
}

static void escape_label(sbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            sbuf_puts(b, "\\\\");
        else if (*v == '"')
            sbuf_puts(b, "\\\"");
        else if (*v == '\n')
            sbuf_puts(b, "\\n");
        else
            sbuf_putc(b, *v);
    }
}

/* Room for one more of n entries of size bytes in *p (capacity *cap, doubled as needed). */
static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return p;
    size_t c = *cap ? *cap * 2 : 8;
    p = xrealloc(p, c * size);
    memset((char *)p + *cap * size, 0, (c - *cap) * size);
    *cap = c;
    return p;
}

static enum rolechan_err bad(char *why, size_t n, const char *fmt, const char *arg)
{
    snprintf(why, n, fmt, arg);
    return ROLECHAN_BAD_FIELD;
}

static enum rolechan_err apply_component(struct rolechan_state *st, cJSON *root, char *why,
                                         size_t n)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "component"));
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "status"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "type"));
    cJSON *detail = cJSON_GetObjectItemCaseSensitive(root, "detail");
    if (!name || !key_ok(name)) return bad(why, n, "%s", "component: not a name");
    enum health_level lvl;
    if (status && (!strcmp(status, "ok") || !strcmp(status, "pass")))
        lvl = HEALTH_PASS;
    else if (status && !strcmp(status, "warn"))
        lvl = HEALTH_WARN;
    else if (status && !strcmp(status, "fail"))
        lvl = HEALTH_FAIL;
    else
        return bad(why, n, "%s", "status: not ok, warn or fail");
    if (type && !name_ok(type, 32, false)) return bad(why, n, "%s", "type: not a word");
    if (detail && !cJSON_IsObject(detail)) return bad(why, n, "%s", "detail: not an object");
    struct rolechan_component *c;
    size_t ix;
    if (strmap_get(&st->comp_ix, name, &ix)) {
        c = &st->comp[ix];
    } else {
        if (st->ncomp == ROLECHAN_MAX_COMPONENTS) {
            snprintf(why, n, "more than %d components", ROLECHAN_MAX_COMPONENTS);
            return ROLECHAN_TOO_MANY;
        }
        st->comp = grow(st->comp, &st->capcomp, st->ncomp, sizeof *st->comp);
        c = &st->comp[st->ncomp];
        c->name = xstrdup(name);
        strmap_put(&st->comp_ix, c->name, st->ncomp++);
    }
    free(c->type);
    c->type = xstrdup(type ? type : "component");
    c->level = lvl;
    cJSON_Delete(c->detail);
    c->detail = detail ? cJSON_DetachItemViaPointer(root, detail) : NULL;
    return ROLECHAN_OK;
}

static enum rolechan_err apply_metric(struct rolechan_state *st, cJSON *root, char *why, size_t n)
{
    const char *family = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "metric"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "type"));
    const char *help = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "help"));
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
    if (!family || !name_ok(family, 100, true) || family_reserved(family))
        return bad(why, n, "%s", "metric: not a name of roster_* that roster leaves to builtins");
    bool hist = type && !strcmp(type, "histogram");
    if (!type || (!hist && strcmp(type, "counter") && strcmp(type, "gauge")))
        return bad(why, n, "%s", "type: not counter, gauge or histogram");
    bool help_ok = !help || strlen(help) <= 200;
    for (const char *c = help; help_ok && c && *c; c++)
        help_ok = (unsigned char)*c >= 0x20 && *c != '\\'; /* one line, nothing to escape */
    if (!help_ok) return bad(why, n, "%s", "help: not one line of at most 200 bytes without '\\'");
    if (labels && !cJSON_IsObject(labels)) return bad(why, n, "%s", "labels: not an object");
    sbuf lb;
    sbuf_init(&lb);
    int nl = 0;
    cJSON *l;
    cJSON_ArrayForEach(l, labels)
    {
        const char *v = cJSON_GetStringValue(l);
        if (++nl > ROLECHAN_MAX_LABELS || !name_ok(l->string, 64, false) || !v ||
            strlen(v) > 128 || !strncmp(l->string, "__", 2) || !strcmp(l->string, "role") ||
            !strcmp(l->string, "instance") || !strcmp(l->string, "le")) {
            sbuf_free(&lb);
            return bad(why, n, "labels: '%.64s' is no label roster takes (at most 8 of name: "
                               "string, not role, instance or le)",
                       l->string);
        }
        sbuf_printf(&lb, "%s%s=\"", lb.len ? "," : "", l->string);
        escape_label(&lb, v);
        sbuf_putc(&lb, '"');
    }
    struct rolechan_series tmp = {0};
    if (hist) {
        cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "buckets");
        cJSON *sum = cJSON_GetObjectItemCaseSensitive(root, "sum");
        cJSON *count = cJSON_GetObjectItemCaseSensitive(root, "count");
        bool ok = cJSON_IsArray(b) && cJSON_IsNumber(sum) && cJSON_IsNumber(count) &&
                  cJSON_GetArraySize(b) <= ROLECHAN_MAX_BUCKETS;
        cJSON *e;
        cJSON *list = ok ? b : NULL;
        cJSON_ArrayForEach(e, list)
        {
            cJSON *le = cJSON_GetArrayItem(e, 0), *cnt = cJSON_GetArrayItem(e, 1);
            if (!cJSON_IsArray(e) || !cJSON_IsNumber(le) || !cJSON_IsNumber(cnt) ||
                (tmp.nbuckets && le->valuedouble <= tmp.le[tmp.nbuckets - 1])) {
                ok = false;
                break;
            }
            tmp.le[tmp.nbuckets] = le->valuedouble;
            tmp.bucket[tmp.nbuckets++] = cnt->valuedouble;
        }
        if (!ok) {
            sbuf_free(&lb);
            return bad(why, n, "%s",
                       "a histogram needs buckets ([[le, count], ...] rising, at most 16), sum "
                       "and count");
        }
        tmp.sum = sum->valuedouble;
        tmp.count = count->valuedouble;
    } else {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "value");
        if (!cJSON_IsNumber(v)) {
            sbuf_free(&lb);
            return bad(why, n, "%s", "value: not a number");
        }
        tmp.value = v->valuedouble;
    }
    const char *lbs = lb.data ? lb.data : "";
    size_t ix;
    if (strmap_get(&st->family_ix, family, &ix) && strcmp(st->series[ix].type, type)) {
        sbuf_free(&lb);
        return bad(why, n, "metric: '%s' was reported with another type", family);
    }
    char *key = xasprintf("%s{%s}", family, lbs);
    struct rolechan_series *s;
    if (strmap_get(&st->series_ix, key, &ix)) {
        s = &st->series[ix];
        free(key);
    } else {
        if (st->nseries == ROLECHAN_MAX_SERIES) {
            sbuf_free(&lb);
            free(key);
            snprintf(why, n, "more than %d series", ROLECHAN_MAX_SERIES);
            return ROLECHAN_TOO_MANY;
        }
        st->series = grow(st->series, &st->capseries, st->nseries, sizeof *st->series);
        s = &st->series[st->nseries];
        s->key = key;
        s->family = xstrdup(family);
        s->type = xstrdup(type);
        s->labels = xstrdup(lbs);
        strmap_put(&st->series_ix, s->key, st->nseries);
        if (!strmap_get(&st->family_ix, s->family, NULL))
            strmap_put(&st->family_ix, s->family, st->nseries);
        st->nseries++;
    }
    free(s->help);
    s->help = help ? xstrdup(help) : NULL;
    tmp.key = s->key;
    tmp.family = s->family;
    tmp.type = s->type;
    tmp.help = s->help;
    tmp.labels = s->labels;
    *s = tmp;
    sbuf_free(&lb);
    return ROLECHAN_OK;
}

static enum rolechan_err apply_record(struct rolechan_state *st, cJSON *root, char *why, size_t n)
{
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "record"));
    cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!key || !key_ok(key)) return bad(why, n, "%s", "record: not a name");
    if (!cJSON_IsObject(data)) return bad(why, n, "%s", "data: not an object");
    struct rolechan_records *r;
    size_t ix;
    if (strmap_get(&st->rec_ix, key, &ix)) {
        r = &st->rec[ix];
    } else {
        if (st->nrec == ROLECHAN_MAX_RECORD_KEYS) {
            snprintf(why, n, "more than %d record names", ROLECHAN_MAX_RECORD_KEYS);
            return ROLECHAN_TOO_MANY;
        }
        st->rec = grow(st->rec, &st->caprec, st->nrec, sizeof *st->rec);
        r = &st->rec[st->nrec];
        r->key = xstrdup(key);
        strmap_put(&st->rec_ix, r->key, st->nrec++);
    }
    cJSON *item = cJSON_DetachItemViaPointer(root, data);
    if (r->n < ROLECHAN_KEEP_RECORDS) {
        r->items[r->n++] = item;
    } else {
        cJSON_Delete(r->items[r->head]);
        r->items[r->head] = item;
        r->head = (r->head + 1) % ROLECHAN_KEEP_RECORDS;
    }
    return ROLECHAN_OK;
}

enum rolechan_err rolechan_apply(struct rolechan_state *st, const char *msg, size_t len, char *why,
                                 size_t whylen)
{
    why[0] = '\0';
    if (len > ROLECHAN_MAX_MSG) return ROLECHAN_TOO_BIG;
    cJSON *root = cJSON_ParseWithLength(msg, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ROLECHAN_NOT_JSON;
    }
    enum rolechan_err e;
    if (cJSON_GetObjectItemCaseSensitive(root, "component"))
        e = apply_component(st, root, why, whylen);
    else if (cJSON_GetObjectItemCaseSensitive(root, "metric"))
        e = apply_metric(st, root, why, whylen);
    else if (cJSON_GetObjectItemCaseSensitive(root, "record"))
        e = apply_record(st, root, why, whylen);
    else
        e = ROLECHAN_UNKNOWN;
    cJSON_Delete(root);
    return e;
}

int rolechan_drain(int fd, struct rolechan_state *st, rolechan_said_fn said, void *ud)
{
    char buf[ROLECHAN_MAX_MSG + 1];
    int got = 0;
    for (int i = 0; i < ROLECHAN_READ_BATCH; i++) {
        /* MSG_TRUNC: the datagram's whole length, though only the buffer's worth is copied */
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? got : -1;
        if (r == 0) return -1; /* SOCK_SEQPACKET: the other end closed */
        got++;
        char why[200];
        enum rolechan_err e = rolechan_apply(st, buf, (size_t)r, why, sizeof why);
        if (e == ROLECHAN_OK) {
            st->messages++;
            continue;
        }
        if (st->bad++ == 0 && said) {
            char what[320];
            snprintf(what, sizeof what, "%s%s%s", rolechan_strerror(e), why[0] ? ": " : "", why);
            said(ud, what);
        }
    }
    return got;
}

void rolechan_state_clear_live(struct rolechan_state *st)
{
    for (size_t i = 0; i < st->ncomp; i++) {
        free(st->comp[i].name);
        free(st->comp[i].type);
        cJSON_Delete(st->comp[i].detail);
    }
    free(st->comp);
    st->comp = NULL;
    st->ncomp = st->capcomp = 0;
    strmap_free(&st->comp_ix);
    for (size_t i = 0; i < st->nseries; i++) {
        free(st->series[i].key);
        free(st->series[i].family);
        free(st->series[i].type);
        free(st->series[i].help);
        free(st->series[i].labels);
    }
    free(st->series);
    st->series = NULL;
    st->nseries = st->capseries = 0;
    strmap_free(&st->series_ix);
    strmap_free(&st->family_ix);
}

void rolechan_state_free(struct rolechan_state *st)
{
    rolechan_state_clear_live(st);
    for (size_t i = 0; i < st->nrec; i++) {
        for (size_t k = 0; k < st->rec[i].n; k++)
            cJSON_Delete(st->rec[i].items[k]);
        free(st->rec[i].key);
    }
    free(st->rec);
    st->rec = NULL;
    st->nrec = st->caprec = 0;
    strmap_free(&st->rec_ix);
}

static void num(sbuf *out, double v)
{
    if (isinf(v))
        sbuf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        sbuf_printf(out, "%.0f", v);
    else if (fabs(v) >= 1e6) /* a Unix time keeps its milliseconds */
        sbuf_printf(out, "%.3f", v);
    else
        sbuf_printf(out, "%.9g", v);
}

static void sample(sbuf *out, const char *name, const char *suffix, const char *extra,
                   const char *labels, const char *le, double v)
{
    sbuf_printf(out, "%s%s", name, suffix);
    bool any = extra[0] || labels[0] || le;
    if (any) {
        sbuf_printf(out, "{%s%s%s", extra, extra[0] && labels[0] ? "," : "", labels);
        if (le) sbuf_printf(out, "%sle=\"%s\"", extra[0] || labels[0] ? "," : "", le);
        sbuf_putc(out, '}');
    }
    sbuf_putc(out, ' ');
    num(out, v);
    sbuf_putc(out, '\n');
}

void rolechan_series_render(const struct rolechan_state *st, const char *family,
                            const char *extra, sbuf *out)
{
    for (size_t i = 0; i < st->nseries; i++) {
        const struct rolechan_series *s = &st->series[i];
        if (strcmp(s->family, family)) continue;
        if (strcmp(s->type, "histogram")) {
            sample(out, s->family, "", extra, s->labels, NULL, s->value);
            continue;
        }
        for (size_t b = 0; b < s->nbuckets; b++) {
            sbuf le;
            sbuf_init(&le);
            num(&le, s->le[b]);
            sample(out, s->family, "_bucket", extra, s->labels, le.data, s->bucket[b]);
            sbuf_free(&le);
        }
        sample(out, s->family, "_bucket", extra, s->labels, "+Inf", s->count);
        sample(out, s->family, "_sum", extra, s->labels, NULL, s->sum);
        sample(out, s->family, "_count", extra, s->labels, NULL, s->count);
    }
}

/* ---- the observer ------------------------------------------------------------------------- */

struct rolechan {
    struct sup *s;
    int slot;
};

struct chan_poll {
    uv_poll_t h; /* first: the handle is the struct */
    int fd;
};

/* One copy's channel. */
struct chan {
    struct rolechan *rc;
    struct instance *in;
    int child;             /* the child's end between env and child_fd, else -1 */
    int fd;                /* roster's end, while open, else -1 */
    struct chan_poll *poll; /* reading roster's end, or NULL */
    struct rolechan_state st;
};

static void poll_closed(uv_handle_t *h)
{
    struct chan_poll *p = (struct chan_poll *)h;
    close(p->fd);
    free(p);
}

/* Closes roster's end (and the child's, when it was not handed over). */
static void chan_close(struct chan *c)
{
    if (c->child >= 0) close(c->child);
    c->child = -1;
    if (c->poll) {
        uv_close((uv_handle_t *)&c->poll->h, poll_closed);
        c->poll = NULL;
    } else if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
}

static void said(void *ud, const char *what)
{
    struct chan *c = ud;
    struct sup *s = c->rc->s;
    logmux_event(&s->log, "warning", role_cfg(c->in->role)->name, c->in->index, NULL,
                 "%s: its status channel (fd 3) sent %s; roster ignores such messages (said "
                 "once)",
                 c->in->label, what);
}

static void drain(struct chan *c)
{
    int n = rolechan_drain(c->fd, &c->st, said, c);
    if (n != 0) sup_changed(c->rc->s);
    if (n < 0) chan_close(c); /* the process closed its end (or exited) */
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct chan *c = h->data;
    (void)events;
    if (status < 0) {
        chan_close(c);
        return;
    }
    drain(c);
}

static struct chan *chan_of(struct rolechan *rc, struct instance *in)
{
    return inst_ctx(in, rc->slot);
}

static void on_env(void *ud, struct instance *in, envmap *env)
{
    struct rolechan *rc = ud;
    if (role_cfg(in->role)->builtin == BUILTIN_NONE) return;
    struct chan *c = chan_of(rc, in);
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->rc = rc;
        c->in = in;
        c->fd = c->child = -1;
        inst_set_ctx(in, rc->slot, c);
    }
    chan_close(c);
    rolechan_state_clear_live(&c->st);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
        logmux_event(&rc->s->log, "warning", role_cfg(in->role)->name, in->index, NULL,
                     "%s: no status channel (%s): its health and metrics are not shown",
                     in->label, strerror(errno));
        return;
    }
    c->fd = sv[0];
    c->child = sv[1];
    envmap_set(env, "ROSTER_STATUS_FD", "3");
}

static int on_child_fd(void *ud, struct instance *in)
{
    struct chan *c = chan_of(ud, in);
    if (!c || c->child < 0) return -1;
    int fd = c->child;
    c->child = -1;
    return fd;
}

static void on_spawned(void *ud, struct instance *in)
{
    struct rolechan *rc = ud;
    struct chan *c = chan_of(rc, in);
    if (!c || c->fd < 0 || c->poll) return;
    struct chan_poll *p = xcalloc(1, sizeof *p);
    p->fd = c->fd;
    if (uv_poll_init(rc->s->loop, &p->h, c->fd) < 0) {
        free(p);
        chan_close(c);
        return;
    }
    p->h.data = c;
    c->poll = p;
    uv_poll_start(&p->h, UV_READABLE, on_readable);
}

static void on_exited(void *ud, struct instance *in)
{
    struct chan *c = chan_of(ud, in);
    if (!c) return;
    /* what it wrote before it ended still counts (its last run's record) */
    if (c->fd >= 0) rolechan_drain(c->fd, &c->st, said, c);
    chan_close(c);
    rolechan_state_clear_live(&c->st);
    sup_changed(c->rc->s);
}

static void on_release(void *ud, struct instance *in)
{
    struct rolechan *rc = ud;
    struct chan *c = chan_of(rc, in);
    if (!c) return;
    chan_close(c);
    rolechan_state_free(&c->st);
    free(c);
    inst_set_ctx(in, rc->slot, NULL);
}

/* The loop is done: every channel still open closes (release is not called for them). */
static void on_stop(void *ud, struct sup *s)
{
    struct inst_iter it = {.s = s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        on_release(ud, in);
}

static const struct sup_observer rolechan_observer = {
    .name = "rolechan",
    .stop = on_stop,
    .env = on_env,
    .child_fd = on_child_fd,
    .spawned = on_spawned,
    .exited = on_exited,
    .release = on_release,
};

struct rolechan *rolechan_attach(struct sup *s)
{
    struct rolechan *rc = xcalloc(1, sizeof *rc);
    rc->s = s;
    rc->slot = sup_attach(s, &rolechan_observer, rc);
    if (rc->slot < 0) {
        free(rc);
        return NULL;
    }
    return rc;
}

void rolechan_free(struct rolechan *rc)
{
    free(rc);
}

const struct rolechan_state *rolechan_of(const struct rolechan *rc, const struct instance *in)
{
    if (!rc) return NULL;
    const struct chan *c = inst_ctx(in, rc->slot);
    return c ? &c->st : NULL;
}

/* ---- what the outputs read ---------------------------------------------------------------- */

struct health_ctx {
    const struct rolechan *rc;
    cJSON *checks;
    const char *now;
    int *level;
};

static void health_one(void *ud, const struct instance *in)
{
    struct health_ctx *h = ud;
    const struct rolechan_state *st = rolechan_of(h->rc, in);
    for (size_t i = 0; st && i < st->ncomp; i++) {
        const struct rolechan_component *c = &st->comp[i];
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(h->checks, c->name);
        if (!arr) arr = cJSON_AddArrayToObject(h->checks, c->name);
        /* a key of roster's own (a role named scheduler has scheduler:uptime) is left alone */
        const char *type = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "componentType"));
        if (!cJSON_IsArray(arr) || (type && strcmp(type, c->type))) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "componentId", in->label);
        cJSON_AddStringToObject(o, "componentType", c->type);
        cJSON_AddStringToObject(o, "status", health_level_name(c->level));
        cJSON *d;
        cJSON_ArrayForEach(d, c->detail)
        {
            if (!cJSON_GetObjectItemCaseSensitive(o, d->string))
                cJSON_AddItemToObject(o, d->string, cJSON_Duplicate(d, true));
        }
        cJSON_AddStringToObject(o, "time", h->now);
        cJSON_AddItemToArray(arr, o);
        if ((int)c->level > *h->level) *h->level = (int)c->level;
    }
}

void rolechan_health(const struct rolechan *rc, const struct sup *s, cJSON *checks,
                     const char *now, int *level)
{
    if (!rc) return;
    struct health_ctx h = {.rc = rc, .checks = checks, .now = now, .level = level};
    status_each(s, health_one, &h);
}

struct metrics_ctx {
    const struct rolechan *rc;
    sbuf *out;
    strvec families;
    const char *family; /* rendering this one; NULL: collecting */
    int counts;         /* 1, 2: the channel's own counts instead */
    bool any;           /* some copy has a channel */
};

static void metrics_one(void *ud, const struct instance *in)
{
    struct metrics_ctx *m = ud;
    const struct rolechan_state *st = rolechan_of(m->rc, in);
    if (!st) return;
    if (m->counts) {
        sbuf_printf(m->out, "roster_status_messages%s_total{role=\"%s\",instance=\"%d\"} %llu\n",
                    m->counts == 1 ? "" : "_ignored", role_cfg(in->role)->name, in->index,
                    (unsigned long long)(m->counts == 1 ? st->messages : st->bad));
        return;
    }
    if (m->family) {
        char extra[160];
        snprintf(extra, sizeof extra, "role=\"%s\",instance=\"%d\"", role_cfg(in->role)->name,
                 in->index);
        rolechan_series_render(st, m->family, extra, m->out);
        return;
    }
    m->any = true;
    for (size_t i = 0; i < st->nseries; i++) {
        bool seen = false;
        for (size_t k = 0; k < m->families.n && !seen; k++)
            seen = !strcmp(m->families.v[k], st->series[i].family);
        if (!seen) strvec_pushdup(&m->families, st->series[i].family);
    }
}

/* The HELP and TYPE of a family: the first copy's that says them. */
static void family_header(const struct rolechan *rc, const struct sup *s, const char *family,
                          sbuf *out)
{
    const char *help = NULL, *type = NULL;
    struct inst_iter it = {.s = s};
    for (struct instance *in; !help && (in = sup_next_instance(&it));) {
        const struct rolechan_state *st = rolechan_of(rc, in);
        for (size_t i = 0; st && i < st->nseries && !help; i++)
            if (!strcmp(st->series[i].family, family)) {
                type = st->series[i].type;
                help = st->series[i].help;
            }
    }
    metrics_family(out, family, type ? type : "untyped", help ? help : "Reported by a builtin role.");
}

void rolechan_metrics(const struct rolechan *rc, const struct sup *s, sbuf *out)
{
    if (!rc) return;
    struct metrics_ctx m = {.rc = rc, .out = out};
    status_each(s, metrics_one, &m);
    for (size_t f = 0; f < m.families.n; f++) {
        family_header(rc, s, m.families.v[f], out);
        m.family = m.families.v[f];
        status_each(s, metrics_one, &m);
    }
    strvec_free(&m.families);
    if (!m.any) return;
    metrics_family(out, "roster_status_messages_total", "counter",
                   "Status channel messages roster took from the copy of a builtin role.");
    m.counts = 1;
    status_each(s, metrics_one, &m);
    metrics_family(out, "roster_status_messages_ignored_total", "counter",
                   "Status channel messages roster ignored (not understood, too big, past a "
                   "limit); the first is said in its log.");
    m.counts = 2;
    status_each(s, metrics_one, &m);
}

struct json_ctx {
    const struct rolechan *rc;
    const char *prefix;
    cJSON *arr;
};

static cJSON *entry_for(struct json_ctx *j, const struct instance *in, const char *name)
{
    cJSON *e;
    cJSON_ArrayForEach(e, j->arr)
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        cJSON *i = cJSON_GetObjectItemCaseSensitive(e, "label");
        if (n && !strcmp(n, name) && !strcmp(cJSON_GetStringValue(i), in->label)) return e;
    }
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "role", role_cfg(in->role)->name);
    cJSON_AddNumberToObject(e, "instance", in->index);
    cJSON_AddStringToObject(e, "label", in->label);
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddItemToArray(j->arr, e);
    return e;
}

static void json_one(void *ud, const struct instance *in)
{
    struct json_ctx *j = ud;
    const struct rolechan_state *st = rolechan_of(j->rc, in);
    size_t pl = strlen(j->prefix);
    for (size_t i = 0; st && i < st->ncomp; i++) {
        const struct rolechan_component *c = &st->comp[i];
        if (strncmp(c->name, j->prefix, pl)) continue;
        cJSON *e = entry_for(j, in, c->name + pl);
        cJSON_AddStringToObject(e, "status", health_level_name(c->level));
        if (c->detail) cJSON_AddItemToObject(e, "detail", cJSON_Duplicate(c->detail, true));
    }
    for (size_t i = 0; st && i < st->nrec; i++) {
        const struct rolechan_records *r = &st->rec[i];
        if (strncmp(r->key, j->prefix, pl)) continue;
        cJSON *e = entry_for(j, in, r->key + pl);
        cJSON *arr = cJSON_AddArrayToObject(e, "records");
        for (size_t k = 0; k < r->n; k++)
            cJSON_AddItemToArray(arr,
                                 cJSON_Duplicate(r->items[(r->head + k) % ROLECHAN_KEEP_RECORDS],
                                                 true));
    }
}

cJSON *rolechan_json(const struct rolechan *rc, const struct sup *s, const char *prefix)
{
    struct json_ctx j = {.rc = rc, .prefix = prefix, .arr = cJSON_CreateArray()};
    if (rc) status_each(s, json_one, &j);
    return j.arr;
}
