/* commands.c — the client commands: status, restart, stop, start and reload talk to a running
 * roster over its control socket; health asks /livez; budget prints the connection plan. They
 * run outside the supervisor, so blocking libcurl calls are fine here. cron prints an
 * expression's next fire times. */
#include "cli/commands.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/hostport.h"
#include "base/redact.h"
#include "cli/plan_inputs.h"
#include "config/config.h"
#include "os/lazylib.h"
#include "os/private.h"
#include "plan/plan.h"
#include "sched/cron.h"

#include <libpq-fe.h>

struct config_opts cli_config_opts(const struct cli *c, char **environ_)
{
    struct config_opts co = {.path = c->config,
                             .procfile = c->procfile,
                             .formation = c->formation,
                             .environ_ = environ_,
                             .dev = c->dev};
    co.env_files = c->env_files;
    return co;
}

int cli_load_config(const struct cli *c, char **environ_, struct roster_config *cfg)
{
    struct config_opts co = cli_config_opts(c, environ_);
    diags d = {0};
    int rc = config_load(&co, cfg, &d);
    if (rc < 0) {
        config_free(cfg);
        diags_print(&d, stderr);
    }
    diags_free(&d);
    return rc < 0 ? -1 : 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    sbuf *b = ud;
    if (b->len + size * n > (4u << 20)) return 0; /* an answer this large is not ours */
    sbuf_append(b, p, size * n);
    return size * n;
}

/* The process listening on a control socket, as the kernel saw it at listen(): checked on the
 * connected socket before curl sends anything, which closes the window between the owner
 * checks on the file (socket_trusted) and the connect. curl makes the socket through
 * open_socket, so its descriptor is known, and asks check_peer once it is connected. (Handing
 * curl a socket connected here would be simpler, but curl 7.88, Debian 12's, connects it again
 * all the same: curl issue 10626.) */
struct peer_check {
    int fd;
    bool refused;
    unsigned long uid; /* the listener's, when refused */
};

#if LIBCURL_VERSION_NUM >= 0x075000
#define CHECK_OK CURL_PREREQFUNC_OK
#define CHECK_ABORT CURL_PREREQFUNC_ABORT
#else
#define CHECK_OK 0
#define CHECK_ABORT 1
static int check_peer_fd(struct peer_check *pc);
#endif

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct peer_check *pc = ud;
    (void)purpose;
    pc->fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#if LIBCURL_VERSION_NUM < 0x075000
    /* curl before 7.80 (Debian 11's, which the portable package is built with) has no
     * CURLOPT_PREREQFUNCTION to look at the connected socket before the request is sent: connect
     * here (a Unix socket connects at once), check the listener, and tell curl the socket is
     * connected (already_connected below). */
    if (pc->fd >= 0 && (connect(pc->fd, &a->addr, a->addrlen) < 0 || check_peer_fd(pc))) {
        close(pc->fd);
        pc->fd = -1;
    }
#endif
    return pc->fd < 0 ? CURL_SOCKET_BAD : pc->fd;
}

#if LIBCURL_VERSION_NUM < 0x075000
static int already_connected(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    (void)ud;
    (void)fd;
    (void)purpose;
    return CURL_SOCKOPT_ALREADY_CONNECTED;
}

static int check_peer_fd(struct peer_check *pc)
#else
static int check_peer(void *ud, char *ip, char *local_ip, int port, int local_port)
#endif
{
#if LIBCURL_VERSION_NUM >= 0x075000
    struct peer_check *pc = ud;
    (void)ip;
    (void)local_ip;
    (void)port;
    (void)local_port;
#endif
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (pc->fd < 0 || getsockopt(pc->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
        pc->refused = true;
        pc->uid = (unsigned long)-1;
        return CHECK_ABORT;
    }
    if (cr.uid != geteuid() && cr.uid != 0) {
        pc->refused = true;
        pc->uid = (unsigned long)cr.uid;
        return CHECK_ABORT;
    }
    return CHECK_OK;
}

/* One HTTP request; returns the status (0 when there was no answer, with err set). */
static long http_call(const char *unix_path, const char *url, const char *method, sbuf *body,
                      long timeout_ms, char *err, size_t errlen)
{
    if (lazylib_load(LAZYLIB_CURL, err, errlen) < 0) return 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return 0;
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    struct peer_check pc = {.fd = -1};
    if (unix_path) {
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &pc);
#if LIBCURL_VERSION_NUM >= 0x075000
        curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, check_peer);
        curl_easy_setopt(c, CURLOPT_PREREQDATA, &pc);
#else
        curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, already_connected);
#endif
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "POST")) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "roster/" ROSTER_VERSION);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else if (pc.refused && pc.uid == (unsigned long)-1)
        snprintf(err, errlen, "cannot tell who listens there: nothing sent");
    else if (pc.refused)
        snprintf(err, errlen,
                 "the process listening there runs as uid %lu, not as this user (uid %lu) or "
                 "root: nothing sent",
                 pc.uid, (unsigned long)geteuid());
    else
        snprintf(err, errlen, "%s", ebuf[0] ? ebuf : curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    return status;
}

/* The socket path: --socket, else the config's control.socket (or its per-directory default).
 * Only app: and control.socket make the path, so a config that fails elsewhere (a ${VAR} set in
 * the server's environment and not in this shell) still names it; when the path itself is in
 * doubt, the errors are printed and the client stops rather than guess. */
static char *socket_path(const struct cli *c, char **environ_)
{
    if (c->socket) return xstrdup(c->socket);
    struct config_opts co = cli_config_opts(c, environ_);
    struct roster_config cfg;
    diags d = {0};
    char *path = NULL;
    if (config_load(&co, &cfg, &d) == 0 || (cfg.control_socket && !cfg.socket_unsure)) {
        path = xstrdup(cfg.control_socket);
    } else {
        fprintf(stderr, "roster: cannot tell the control socket from the config (or give "
                        "--socket PATH):\n");
        diags_print(&d, stderr);
    }
    config_free(&cfg);
    diags_free(&d);
    return path;
}

static void fmt_duration(double secs, char *buf, size_t n)
{
    long s = (long)secs;
    if (s < 60)
        snprintf(buf, n, "%lds", s);
    else if (s < 3600)
        snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, n, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, n, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

static int print_status(const char *json)
{
    cJSON *root = cJSON_Parse(json);
    cJSON *roles = root ? cJSON_GetObjectItemCaseSensitive(root, "roles") : NULL;
    if (!cJSON_IsArray(roles)) {
        fprintf(stderr, "roster: the control socket answered something unexpected\n");
        cJSON_Delete(root);
        return 1;
    }
    cJSON *app = cJSON_GetObjectItemCaseSensitive(root, "app");
    cJSON *pid = cJSON_GetObjectItemCaseSensitive(root, "pid");
    cJSON *up = cJSON_GetObjectItemCaseSensitive(root, "uptime");
    char ubuf[32];
    fmt_duration(cJSON_IsNumber(up) ? up->valuedouble : 0, ubuf, sizeof ubuf);
    printf("app %s, roster pid %d, up %s%s\n", cJSON_IsString(app) ? app->valuestring : "?",
           cJSON_IsNumber(pid) ? pid->valueint : 0, ubuf,
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "shutting_down")) ? ", shutting down"
                                                                                 : "");
    int w = 4;
    cJSON *r;
    cJSON_ArrayForEach(r, roles)
    {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "role");
        if (cJSON_IsString(n) && (int)strlen(n->valuestring) > w) w = (int)strlen(n->valuestring);
    }
    printf("%-*s  %-8s  %-8s  %-7s  %-8s  %-8s  %s\n", w, "ROLE", "INSTANCE", "STATE", "PID",
           "UPTIME", "RESTARTS", "LAST EXIT");
    cJSON_ArrayForEach(r, roles)
    {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "role");
        cJSON *i = cJSON_GetObjectItemCaseSensitive(r, "instance");
        cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "state");
        cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "pid");
        cJSON *u = cJSON_GetObjectItemCaseSensitive(r, "uptime");
        cJSON *rs = cJSON_GetObjectItemCaseSensitive(r, "restarts");
        cJSON *le = cJSON_GetObjectItemCaseSensitive(r, "last_exit");
        char pidb[16] = "-", upb[32] = "-", exitb[64] = "-";
        if (cJSON_IsNumber(p) && p->valueint > 0) snprintf(pidb, sizeof pidb, "%d", p->valueint);
        if (cJSON_IsNumber(u) && u->valuedouble > 0) fmt_duration(u->valuedouble, upb, sizeof upb);
        if (cJSON_IsObject(le)) {
            cJSON *code = cJSON_GetObjectItemCaseSensitive(le, "code");
            cJSON *sig = cJSON_GetObjectItemCaseSensitive(le, "signal");
            cJSON *ago = cJSON_GetObjectItemCaseSensitive(le, "ago");
            char agob[32];
            fmt_duration(cJSON_IsNumber(ago) ? ago->valuedouble : 0, agob, sizeof agob);
            if (cJSON_IsNumber(code))
                snprintf(exitb, sizeof exitb, "code %d, %s ago", code->valueint, agob);
            else if (cJSON_IsString(sig))
                snprintf(exitb, sizeof exitb, "%s, %s ago", sig->valuestring, agob);
        }
        printf("%-*s  %-8d  %-8s  %-7s  %-8s  %-8d  %s\n", w,
               cJSON_IsString(n) ? n->valuestring : "?", cJSON_IsNumber(i) ? i->valueint : 0,
               cJSON_IsString(st) ? st->valuestring : "?", pidb, upb,
               cJSON_IsNumber(rs) ? rs->valueint : 0, exitb);
    }
    cJSON_Delete(root);
    return 0;
}

/* Percent-encodes all but RFC 3986's unreserved characters. Allocated. */
static char *url_escape(const char *s)
{
    sbuf b;
    sbuf_init(&b);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
            sbuf_putc(&b, (char)ch);
        else
            sbuf_printf(&b, "%%%02X", ch);
    }
    return sbuf_detach(&b);
}

/* status --json passes the answer through, once it is the JSON object it should be (an
 * empty or foreign answer is an error, never a crash). */
static int print_json(const char *body)
{
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    if (!cJSON_IsObject(root)) {
        fprintf(stderr, "roster: the control socket answered %s\n",
                body && *body ? "something that is not a JSON object" : "nothing");
        cJSON_Delete(root);
        return 1;
    }
    cJSON_Delete(root);
    fputs(body, stdout);
    return 0;
}

/* Whether the socket at path may be sent a request: nothing is sent to a socket another user
 * could have put in roster's place (one not ours or root's, or in a directory others may write
 * to); says why not on stderr. */
static bool socket_trusted(const char *path)
{
    struct stat st;
    char which;
    enum private_check pc = private_socket(path, geteuid(), &st, &which);
    if (pc == PRIVATE_OK) return true;
    if (pc == PRIVATE_MISSING || (pc == PRIVATE_ERROR && which == 's')) {
        fprintf(stderr, "roster: no roster is running here (no control socket at %s: %s)\n", path,
                pc == PRIVATE_MISSING ? strerror(ENOENT) : strerror(errno));
        return false;
    }
    const char *slash = strrchr(path, '/');
    int dlen = !slash ? 1 : slash == path ? 1 : (int)(slash - path);
    const char *dname = !slash ? "." : slash == path ? "/" : path;
    if (pc == PRIVATE_ERROR)
        fprintf(stderr, "roster: cannot check the control socket's directory %.*s: %s\n", dlen,
                dname, strerror(errno));
    else if (which == 'd')
        fprintf(stderr,
                "roster: not talking to the control socket %s: its directory %.*s %s (owner uid "
                "%lu, mode %04o), so the socket could be another user's\n",
                path, dlen, dname, private_strerror(pc), (unsigned long)st.st_uid,
                (unsigned)(st.st_mode & 07777));
    else
        fprintf(stderr,
                "roster: not talking to the control socket %s: it %s (owner uid %lu, mode %04o); "
                "only a socket of this user's (uid %lu) or root's is trusted\n",
                path, private_strerror(pc), (unsigned long)st.st_uid,
                (unsigned)(st.st_mode & 07777), (unsigned long)geteuid());
    return false;
}

int commands_control(const struct cli *c, char **environ_)
{
    char *path = socket_path(c, environ_);
    if (!path) return 2;
    if (!socket_trusted(path)) {
        free(path);
        return 1;
    }
    char url[256];
    const char *method = "POST";
    /* cli_parse let through only ROLE or ROLE.N, which need no escaping; the role is escaped
     * all the same, so nothing it holds can ever change the request's path or query */
    char *role = c->arg ? url_escape(c->arg) : NULL;
    switch (c->cmd) {
    case CMD_STATUS:
        snprintf(url, sizeof url, "http://roster/roles");
        method = "GET";
        break;
    case CMD_RELOAD: snprintf(url, sizeof url, "http://roster/reload"); break;
    case CMD_RESTART: snprintf(url, sizeof url, "http://roster/roles/%s/restart", role); break;
    case CMD_STOP: snprintf(url, sizeof url, "http://roster/roles/%s/stop", role); break;
    default: snprintf(url, sizeof url, "http://roster/roles/%s/start", role); break;
    }
    free(role);
    sbuf body;
    sbuf_init(&body);
    char err[256];
    long status = http_call(path, url, method, &body, 30000, err, sizeof err);
    int rc;
    if (status == 0) {
        fprintf(stderr, "roster: no roster answers on %s (%s)\n", path, err);
        rc = 1;
    } else if (status != 200) {
        cJSON *o = cJSON_Parse(body.data ? body.data : "");
        cJSON *e = o ? cJSON_GetObjectItemCaseSensitive(o, "error") : NULL;
        fprintf(stderr, "roster: %s\n", cJSON_IsString(e) ? e->valuestring : "request refused");
        cJSON_Delete(o);
        rc = 1;
    } else if (c->cmd == CMD_STATUS) {
        rc = c->json ? print_json(body.data) : print_status(body.data ? body.data : "");
    } else {
        cJSON *o = cJSON_Parse(body.data ? body.data : "");
        cJSON *m = o ? cJSON_GetObjectItemCaseSensitive(o, "message") : NULL;
        printf("%s\n", cJSON_IsString(m) ? m->valuestring : "ok");
        cJSON_Delete(o);
        rc = 0;
    }
    sbuf_free(&body);
    free(path);
    return rc;
}

/* The /livez URL: the argument; else the config's health.listen; else 127.0.0.1:9090. */
static char *health_url(const struct cli *c, char **environ_)
{
    if (c->arg) {
        const char *scheme = strstr(c->arg, "://");
        const char *rest = scheme ? scheme + 3 : c->arg;
        bool has_path = strchr(rest, '/') != NULL;
        return xasprintf("%s%s%s", scheme ? "" : "http://", c->arg, has_path ? "" : "/livez");
    }
    struct config_opts co = cli_config_opts(c, environ_);
    struct roster_config cfg;
    diags d = {0};
    char *url = NULL;
    struct hostport hp;
    if (config_load(&co, &cfg, &d) == 0 && cfg.health_listen &&
        hostport_parse(cfg.health_listen, strlen(cfg.health_listen), HOSTPORT_LISTEN, &hp) ==
            HOSTPORT_OK) {
        /* a listen address for every interface is reached on the loopback one */
        const char *h = hp.host;
        if (!*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "*")) h = "127.0.0.1";
        if (!strcmp(h, "::")) h = "::1";
        char addr[300];
        hostport_format(h, hp.port, addr, sizeof addr);
        url = xasprintf("http://%s/livez", addr);
    }
    config_free(&cfg);
    diags_free(&d);
    if (url) return url;
    const char *port = NULL;
    for (char **e = environ_; e && *e; e++)
        if (!strncmp(*e, "ROSTER_HEALTH_PORT=", 19) && (*e)[19]) port = *e + 19;
    return xasprintf("http://127.0.0.1:%s/livez", port ? port : "9090");
}

int commands_health(const struct cli *c, char **environ_)
{
    char *url = health_url(c, environ_);
    sbuf body;
    sbuf_init(&body);
    char err[256];
    long status = http_call(NULL, url, "GET", &body, 5000, err, sizeof err);
    int rc = status == 200 ? 0 : 1;
    char *shown = redact_text(url); /* a URL given with a password: said without it */
    if (status == 0)
        fprintf(stderr, "roster health: %s: %s\n", shown, err);
    else if (status != 200)
        fprintf(stderr, "roster health: %s answered %ld\n", shown, status);
    free(shown);
    sbuf_free(&body);
    free(url);
    return rc;
}

/* Applies --instances ROLE=N,... over postgres.instances. */
static int override_instances(struct roster_config *cfg, const char *spec)
{
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *end = NULL;
        long n = eq ? strtol(eq + 1, &end, 10) : -1;
        if (!eq || eq == tok || !end || *end || n < 0 || n > 10000) {
            fprintf(stderr, "roster budget: --instances takes ROLE=N,..., not '%s'\n", tok);
            rc = -1;
            continue;
        }
        *eq = '\0';
        if (!config_find_role(cfg, tok)) {
            fprintf(stderr, "roster budget: --instances names unknown role '%s'\n", tok);
            rc = -1;
            continue;
        }
        bool found = false;
        for (size_t i = 0; i < cfg->pg.ninstances; i++)
            if (!strcmp(cfg->pg.instances[i].role, tok)) {
                cfg->pg.instances[i].copies = (int)n;
                found = true;
            }
        if (!found) {
            cfg->pg.instances =
                xrealloc(cfg->pg.instances, (cfg->pg.ninstances + 1) * sizeof *cfg->pg.instances);
            cfg->pg.instances[cfg->pg.ninstances].role = xstrdup(tok);
            cfg->pg.instances[cfg->pg.ninstances].copies = (int)n;
            cfg->pg.instances[cfg->pg.ninstances].pos = (src_pos){0};
            cfg->pg.ninstances++;
        }
    }
    free(copy);
    return rc;
}

/* Reads max_connections and the reserved counts from the server (blocking: this is the CLI). */
static int read_server_limits(const char *url, int *max, int *su, int *reserved, char *err,
                              size_t errlen)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "10", "roster-budget", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(conn));
        PQfinish(conn);
        return -1;
    }
    PGresult *res = PQexec(conn, "SELECT name, setting FROM pg_settings WHERE name IN "
                                 "('max_connections', 'superuser_reserved_connections', "
                                 "'reserved_connections')");
    int rc = 0;
    *max = *su = *reserved = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
        rc = -1;
    } else {
        for (int i = 0; i < PQntuples(res); i++) {
            const char *name = PQgetvalue(res, i, 0);
            int v = atoi(PQgetvalue(res, i, 1));
            if (!strcmp(name, "max_connections")) *max = v;
            if (!strcmp(name, "superuser_reserved_connections")) *su = v;
            if (!strcmp(name, "reserved_connections")) *reserved = v;
        }
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int commands_budget(const struct cli *c, char **environ_)
{
    struct roster_config cfg;
    diags d = {0};
    if (cli_load_config(c, environ_, &cfg) < 0) return 2;
    if (!cfg.pg.enabled) {
        fprintf(stderr, "roster budget: %s has no postgres: section\n", cfg.path);
        config_free(&cfg);
        return 2;
    }
    if (c->instances && override_instances(&cfg, c->instances) < 0) {
        config_free(&cfg);
        return 2;
    }
    bool fixed = !cfg.pg.budget_auto;
    /* The fleet's budget: a role given 0 copies runs nowhere, so it is not one this command
     * plans to run (which the plan would call an error) */
    sbuf runs;
    sbuf_init(&runs);
    for (size_t i = 0; i < cfg.nroles; i++) {
        bool none = false;
        for (size_t j = 0; j < cfg.pg.ninstances; j++)
            if (!strcmp(cfg.pg.instances[j].role, cfg.roles[i].name))
                none = cfg.pg.instances[j].copies == 0;
        if (!none) sbuf_printf(&runs, "%s%s", runs.len ? "," : "", cfg.roles[i].name);
    }
    if (!runs.len && cfg.nroles) {
        /* no selection would mean "every role", which then runs with 0 copies */
        fprintf(stderr, "roster budget: every role has 0 copies (postgres.instances or "
                        "--instances): the fleet has no Postgres budget to plan\n");
        sbuf_free(&runs);
        config_free(&cfg);
        diags_free(&d);
        return 2;
    }
    struct plan_inputs in;
    plan_inputs_init(&in, environ_);
    struct plan_opts po = plan_inputs_opts(&in, runs.len ? runs.data : NULL, c->max_connections);
    po.plan_only = true; /* counted, not run: a builtin role has its share too */
    struct plan *p = plan_build(&cfg, &po, &d);
    plan_inputs_free(&in);
    sbuf_free(&runs);
    if (!p) {
        diags_print(&d, stderr);
        diags_free(&d);
        return 2;
    }
    char lerr[640];
    if (lazylib_require(LAZYLIB_BIT(LAZYLIB_PQ), lerr, sizeof lerr) < 0) {
        fprintf(stderr, "roster: %s\n", lerr);
        plan_unref(p);
        diags_free(&d);
        return 2;
    }
    const char *source;
    char srcbuf[256];
    if (fixed) {
        source = "budget set in the config";
    } else if (c->max_connections) {
        snprintf(srcbuf, sizeof srcbuf,
                 "from --max-connections %d - %d reserved for superusers - headroom %d",
                 c->max_connections, PG_DEFAULT_SUPERUSER_RESERVED, p->cfg.pg.headroom);
        source = srcbuf;
    } else {
        int max, su, reserved;
        char err[512];
        if (read_server_limits(p->pg_own_url, &max, &su, &reserved, err, sizeof err) < 0) {
            fprintf(stderr,
                    "roster budget: cannot read the server's limits: %s(use --max-connections N "
                    "to plan without a server)\n",
                    err);
            plan_unref(p);
            diags_free(&d);
            return 1;
        }
        struct plan *bp =
            plan_with_budget(p, budget_usable(max, su, reserved, p->cfg.pg.headroom), &d);
        if (!bp) {
            diags_print(&d, stderr);
            plan_unref(p);
            diags_free(&d);
            return 2;
        }
        plan_unref(p);
        p = bp;
        snprintf(srcbuf, sizeof srcbuf,
                 "from the server: max_connections %d - superuser_reserved %d - reserved %d - "
                 "headroom %d",
                 max, su, reserved, p->cfg.pg.headroom);
        source = srcbuf;
    }
    printf("postgres budget for %s: %d usable (%s)\n", p->cfg.app, p->budget.usable, source);
    budget_print(&p->budget, stdout);
    plan_unref(p);
    diags_free(&d);
    return 0;
}

/* The zone named (by --tz or a schedule's tz:), else by TZ in the environment, else UTC; TZDIR
 * moves the tzdata as it does for the C library. */
static int cron_zone(const char *cmd, const char *named, char **environ_, struct tz *z)
{
    const char *name = named, *dir = NULL;
    for (char **e = environ_; e && *e; e++) {
        if (!named && !strncmp(*e, "TZ=", 3) && (*e)[3]) name = *e + 3;
        if (!strncmp(*e, "TZDIR=", 6)) dir = *e + 6;
    }
    if (!name) name = "UTC";
    enum tz_err e = tz_load(name, dir, z);
    if (e) {
        char msg[320];
        tz_error_format(e, dir, msg, sizeof msg);
        fprintf(stderr, "roster %s: time zone '%.80s': %s\n", cmd, name, msg);
        return -1;
    }
    return 0;
}

/* --from, else now. */
static int cron_from(const char *cmd, const struct cli *c, int64_t *t)
{
    *t = (int64_t)time(NULL);
    if (!c->from || cron_parse_time(c->from, t) == 0) return 0;
    fprintf(stderr,
            "roster %s: --from '%.80s' is not an ISO-8601 time with an offset "
            "(2026-03-08T01:00:00-05:00 or 2026-03-08T06:00:00Z)\n",
            cmd, c->from);
    return -1;
}

/* The next n fire times of c in z after t, one a line, each after indent. */
static void print_fires(const struct cron *c, const struct tz *z, int64_t t, int n,
                        const char *indent)
{
    for (int i = 0; i < n; i++) {
        if (!cron_next(c, z, t, &t)) break;
        char buf[64];
        cron_format_time(z, t, buf, sizeof buf);
        printf("%s%s\n", indent, buf);
    }
}

int commands_cron(const struct cli *c, char **environ_)
{
    struct cron cr;
    struct cron_error ce;
    if (cron_parse(c->arg, &cr, &ce)) {
        char msg[256];
        cron_error_format(&ce, msg, sizeof msg);
        fprintf(stderr, "roster cron: column %zu: %s\n  %s\n  %*s^\n", ce.col, msg, c->arg,
                (int)ce.col - 1, "");
        return 2;
    }
    int64_t t;
    if (cron_from("cron", c, &t) < 0) return 2;
    struct tz z;
    if (cron_zone("cron", c->tz, environ_, &z) < 0) return 2;
    print_fires(&cr, &z, t, c->count ? c->count : 5, "");
    tz_free(&z);
    return 0;
}

/* The running roster's GET /schedules (its schedulers' state and last runs), or NULL when no
 * roster answers for this config: then the listing is the config's alone, said quietly. */
static cJSON *live_schedules(const struct cli *c, char **environ_)
{
    char *path = socket_path(c, environ_);
    struct stat st;
    char which;
    cJSON *root = NULL;
    if (path && private_socket(path, geteuid(), &st, &which) == PRIVATE_OK) {
        sbuf body;
        sbuf_init(&body);
        char err[256];
        long status =
            http_call(path, "http://roster/schedules", "GET", &body, 10000, err, sizeof err);
        if (status == 200 && body.data) root = cJSON_Parse(body.data);
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "schedules"))) {
            cJSON_Delete(root);
            root = NULL;
        }
        sbuf_free(&body);
    }
    free(path);
    return root;
}

/* The last runs of role/schedule that the running roster keeps, newest first, at most n, for
 * each copy of the role. */
static void print_last_runs(const cJSON *live, const char *role, const char *name, int n)
{
    const cJSON *e;
    bool any = false;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(live, "schedules"))
    {
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "role"));
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        const char *label = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "label"));
        if (!r || !s || strcmp(r, role) || strcmp(s, name)) continue;
        const cJSON *recs = cJSON_GetObjectItemCaseSensitive(e, "records");
        int nrec = cJSON_GetArraySize(recs);
        any = true;
        if (nrec == 0) {
            printf("  last runs (%s): none yet\n", label ? label : role);
            continue;
        }
        printf("  last runs (%s), newest first:\n", label ? label : role);
        for (int i = nrec - 1; i >= 0 && i >= nrec - n; i--) {
            const cJSON *x = cJSON_GetArrayItem(recs, i);
            const char *fin = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "finishedAt"));
            const char *out = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "outcome"));
            const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "detail"));
            const cJSON *ms = cJSON_GetObjectItemCaseSensitive(x, "durationMs");
            char dur[32] = "?";
            if (cJSON_IsNumber(ms) && ms->valuedouble < 1000)
                snprintf(dur, sizeof dur, "%.0fms", ms->valuedouble);
            else if (cJSON_IsNumber(ms))
                snprintf(dur, sizeof dur, "%.1fs", ms->valuedouble / 1000);
            printf("    %s  %-7s  %s in %s\n", fin ? fin : "?", out ? out : "?", det ? det : "",
                   dur);
        }
    }
    if (!any) printf("  last runs: none reported (is the role running?)\n");
}

int commands_schedules(const struct cli *c, char **environ_)
{
    int64_t t;
    if (cron_from("schedules", c, &t) < 0) return 2;
    struct roster_config cfg;
    if (cli_load_config(c, environ_, &cfg) < 0) return 2;
    int rc = 0, shown = 0;
    cJSON *live = NULL;
    for (size_t i = 0; i < cfg.nroles && !live; i++)
        if (cfg.roles[i].nschedules) live = live_schedules(c, environ_);
    for (size_t i = 0; i < cfg.nroles && rc == 0; i++) {
        const struct role_config *r = &cfg.roles[i];
        for (size_t k = 0; k < r->nschedules && rc == 0; k++) {
            const struct schedule_config *s = &r->schedules[k];
            struct cron cr;
            struct cron_error ce;
            struct tz z;
            /* the loader accepted both; TZ of this shell may still name no zone */
            if (cron_parse(s->cron, &cr, &ce) || cron_zone("schedules", s->tz, environ_, &z)) {
                rc = 2;
                break;
            }
            sbuf b; /* the action as written: "METHOD URL", or the command's words */
            sbuf_init(&b);
            sbuf_puts(&b, s->http ? s->http : s->shell ? s->shell : "");
            for (size_t a = 0; a < s->argv.n; a++)
                sbuf_printf(&b, "%s%s", a ? " " : "", s->argv.v[a]);
            if (s->enq.pos.line) sbuf_printf(&b, "%s %s", s->enq.queue, s->enq.type);
            char *action = redact_text(b.data ? b.data : "");
            printf("%s/%s: \"%s\" in %s, %s %s\n", r->name, s->name, s->cron, z.name,
                   s->http           ? "http"
                   : s->enq.pos.line ? "enqueue"
                                     : "command",
                   action);
            free(action);
            sbuf_free(&b);
            print_fires(&cr, &z, t, c->count ? c->count : 5, "  ");
            if (live) print_last_runs(live, r->name, s->name, c->count ? c->count : 5);
            tz_free(&z);
            shown++;
        }
    }
    if (rc == 0 && !shown) printf("no schedules (a role with builtin: scheduler has them)\n");
    /* on stderr: stdout stays the listing, the same whether a roster runs or not */
    if (rc == 0 && shown && !live)
        fprintf(stderr, "roster schedules: no roster is running for this config: the last runs "
                        "are not shown\n");
    cJSON_Delete(live);
    config_free(&cfg);
    return rc;
}
