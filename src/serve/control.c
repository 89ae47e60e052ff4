/* control.c — the control socket's server side. */
#include "serve/control.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "os/lazylib.h"
#include "os/private.h"
#include "serve/health.h"
#include "serve/httpd.h"
#include "serve/rolechan.h"
#include "serve/status.h"

struct control {
    struct sup *s; /* for the operator actions, which it posts */
    struct view v; /* what it reads */
    struct httpd *http;
    char *path;
    dev_t dev;
    ino_t ino;
};

static void json_reply(struct httpd_req *req, int status, cJSON *o)
{
    char *txt = cJSON_PrintUnformatted(o);
    req->status = status;
    req->content_type = "application/json";
    sbuf_puts(&req->body, txt);
    sbuf_putc(&req->body, '\n');
    free(txt);
    cJSON_Delete(o);
}

static void error_reply(struct httpd_req *req, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    json_reply(req, status, o);
}

struct list_ctx {
    const struct view *v;
    cJSON *arr;
    double now;
};

static void list_one(void *ud, const struct instance *in)
{
    struct list_ctx *lc = ud;
    cJSON *o = cJSON_CreateObject();
    const char *why;
    enum health_level lvl = status_instance(lc->v, in, lc->now, &why);
    cJSON_AddStringToObject(o, "role", role_cfg(in->role)->name);
    cJSON_AddNumberToObject(o, "instance", in->index);
    cJSON_AddStringToObject(o, "label", in->label);
    cJSON_AddStringToObject(o, "state", inst_state_name(in->state));
    cJSON_AddStringToObject(o, "health", health_level_name(lvl));
    if (why) cJSON_AddStringToObject(o, "why", why);
    cJSON_AddNumberToObject(o, "pid", in->pid);
    cJSON_AddNumberToObject(o, "uptime", status_uptime(in, lc->now));
    cJSON_AddNumberToObject(o, "restarts", in->restarts);
    cJSON *e = status_add_exit(o, "last_exit", in);
    if (e) cJSON_AddNumberToObject(e, "ago", lc->now - in->exit.wall);
    cJSON_AddItemToArray(lc->arr, o);
}

static void list_roles(const struct view *v, struct httpd_req *req)
{
    const struct sup *s = v->s;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "app", s->plan->cfg.app);
    cJSON_AddNumberToObject(o, "pid", getpid());
    struct list_ctx lc = {.v = v, .arr = cJSON_AddArrayToObject(o, "roles"), .now = wall_time()};
    cJSON_AddNumberToObject(o, "uptime", lc.now - s->started_wall);
    cJSON_AddBoolToObject(o, "shutting_down", s->shutting_down);
    status_each(s, list_one, &lc);
    json_reply(req, 200, o);
}

/* The end of a reload asked for by POST /reload (sup_reload_cb). */
static void reload_answered(void *ud, int rc, const char *err)
{
    struct httpd_req ans = {0};
    sbuf_init(&ans.body);
    if (rc < 0) {
        error_reply(&ans, 422, err ? err : "reload failed");
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", 1);
        cJSON_AddStringToObject(o, "message", "config reloaded");
        json_reply(&ans, 200, o);
    }
    httpd_answer(ud, &ans);
    sbuf_free(&ans.body);
}

void control_route(const char *method, const char *path, struct control_route *r)
{
    memset(r, 0, sizeof *r);
    r->instance = -1;
    bool get = !strcmp(method, "GET");
    bool post = !strcmp(method, "POST");
    static const struct {
        const char *path, *method, *hint;
        enum control_op op;
    } fixed[] = {
        {"/roles", "GET", "use GET /roles", CONTROL_LIST},
        {"/health", "GET", "use GET /health", CONTROL_HEALTH},
        {"/reload", "POST", "use POST /reload", CONTROL_RELOAD},
        {"/schedules", "GET", "use GET /schedules", CONTROL_SCHEDULES},
    };
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
        if (strcmp(path, fixed[i].path)) continue;
        bool ok = fixed[i].method[0] == 'G' ? get : post;
        r->op = ok ? fixed[i].op : CONTROL_BAD_METHOD;
        r->allow = fixed[i].method;
        r->hint = fixed[i].hint;
        return;
    }
    r->op = CONTROL_NOT_FOUND;
    /* /roles/NAME/ACTION */
    if (strncmp(path, "/roles/", 7)) return;
    const char *name = path + 7;
    const char *slash = strchr(name, '/');
    if (!slash || slash == name || strlen(slash + 1) == 0 || strlen(slash + 1) >= 16) return;
    /* ROLE or ROLE.N, in the config's grammar; anything else names no role */
    size_t n = (size_t)(slash - name);
    bool ok = n < sizeof r->target;
    if (ok) {
        memcpy(r->target, name, n);
        r->target[n] = '\0';
        ok = config_parse_target(r->target, r->role, &r->instance) == 0;
    }
    if (!ok) {
        r->target[0] = r->role[0] = '\0';
        r->op = CONTROL_BAD_TARGET;
        return;
    }
    static const struct {
        const char *action;
        enum control_op op;
    } actions[] = {
        {"restart", CONTROL_RESTART},
        {"stop", CONTROL_STOP},
        {"start", CONTROL_START},
    };
    for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
        if (strcmp(slash + 1, actions[i].action)) continue;
        r->action = actions[i].action;
        r->op = post ? actions[i].op : CONTROL_BAD_METHOD;
        r->allow = "POST";
        r->hint = "use POST";
        return;
    }
    r->target[0] = r->role[0] = '\0';
    r->instance = -1;
}

static void handle(void *ud, struct httpd_req *req)
{
    struct control *c = ud;
    struct sup *s = c->s;
    struct control_route r;
    control_route(req->method, req->path, &r);
    int (*fn)(struct sup *, const char *, sbuf *) = NULL;
    switch (r.op) {
    case CONTROL_BAD_METHOD:
        req->allow = r.allow;
        error_reply(req, 405, r.hint);
        return;
    case CONTROL_BAD_TARGET:
        error_reply(req, 400,
                    "a role is letters, digits, '-' and '_' (at most 64), or ROLE.N "
                    "for one copy");
        return;
    case CONTROL_LIST: list_roles(&c->v, req); return;
    case CONTROL_SCHEDULES: {
        /* what the scheduler roles' copies said of each schedule: state and last runs */
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "app", s->plan->cfg.app);
        cJSON_AddItemToObject(o, "schedules", rolechan_json(c->v.chan, s, "scheduler:"));
        json_reply(req, 200, o);
        return;
    }
    case CONTROL_HEALTH: {
        enum health_level lvl;
        char *doc = health_render(&c->v, &lvl);
        req->status = lvl == HEALTH_FAIL ? 503 : 200;
        req->content_type = "application/health+json";
        sbuf_puts(&req->body, doc);
        free(doc);
        return;
    }
    case CONTROL_RELOAD:
        if (s->shutting_down) {
            error_reply(req, 422, "roster is shutting down");
            return;
        }
        if (s->opts.no_reload) {
            error_reply(req, 422,
                        "nothing to reload: this roster runs a command line, not a config");
            return;
        }
        /* The reload reads the config off the loop; the answer waits for its end. */
        sup_reload(s, reload_answered, httpd_defer(req));
        return;
    case CONTROL_RESTART: fn = sup_role_restart; break;
    case CONTROL_STOP: fn = sup_role_stop; break;
    case CONTROL_START: fn = sup_role_start; break;
    case CONTROL_NOT_FOUND:
        error_reply(req, 404,
                    "unknown request: GET /roles, GET /health, GET /schedules, POST /reload, "
                    "POST /roles/NAME/restart|stop|start");
        return;
    }
    sbuf err;
    sbuf_init(&err);
    if (fn(s, r.target, &err) < 0) {
        int code = sup_find_role(s, r.role) ? 409 : 404;
        error_reply(req, code, err.data);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", 1);
        char msg[160];
        snprintf(msg, sizeof msg, "%s: %s requested", r.target, r.action);
        cJSON_AddStringToObject(o, "message", msg);
        json_reply(req, 200, o);
    }
    sbuf_free(&err);
}

/* A leftover socket file from a roster that died is removed; a live one is left alone. */
static int claim_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; not touching it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "another roster is serving %s", path);
        return -1;
    }
    unlink(path);
    return 0;
}

/* Makes the default socket's directory, or refuses one that is not ours alone. */
static int own_dir(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    char *dir = xasprintf("%.*s", (int)(slash - path), path);
    struct stat st;
    enum private_check pc = private_dir(dir, geteuid(), true, &st);
    if (pc == PRIVATE_ERROR)
        snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
    else if (pc != PRIVATE_OK)
        snprintf(err, errlen,
                 "%s %s (owner uid %lu, mode %04o), not a directory of this user's (uid %lu) "
                 "with mode 0700, so the socket in it could be another user's: remove it, or "
                 "set control.socket",
                 dir, private_strerror(pc), (unsigned long)st.st_uid,
                 (unsigned)(st.st_mode & 07777), (unsigned long)geteuid());
    free(dir);
    return pc == PRIVATE_OK ? 0 : -1;
}

struct control *control_start(struct sup *s, const struct view *v, const char *path,
                              bool default_dir, char *err, size_t errlen)
{
    /* The same server as the health port's, libmicrohttpd, which start-up has loaded with
     * whatever else the plan needs (plan_libs); here a library that is not there is this
     * error, never an abort. */
    if (lazylib_load(LAZYLIB_MHD, err, errlen) < 0) return NULL;
    if (default_dir && own_dir(path, err, errlen) < 0) return NULL;
    if (claim_path(path, err, errlen) < 0) {
        if (!err[0]) snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    int fd = httpd_listen_unix(path, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-fd));
        return NULL;
    }
    struct control *c = xcalloc(1, sizeof *c);
    c->s = s;
    c->v = *v;
    c->path = xstrdup(path);
    struct stat st;
    if (stat(path, &st) == 0) {
        c->dev = st.st_dev;
        c->ino = st.st_ino;
    }
    /* Only its owner can connect (it is created 0600), so none of the health server's guards
     * against slow clients (header deadline, per-client limit, room kept). */
    struct httpd_limits lim = {.connections = 32, .timeout_s = 10, .memory = 16 * 1024};
    c->http = httpd_start(s->loop, fd, &lim, handle, c, err, errlen);
    if (!c->http) {
        unlink(path);
        free(c->path);
        free(c);
        return NULL;
    }
    return c;
}

void control_stop(struct control *c)
{
    if (!c) return;
    httpd_stop(c->http);
    struct stat st;
    if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino) unlink(c->path);
    free(c->path);
    free(c);
}
