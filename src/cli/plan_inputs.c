/* plan_inputs.c — the real inputs of a plan. See plan_inputs.h. */
#include "cli/plan_inputs.h"

#include <errno.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/lazylib.h"
#include "os/proc.h"

/* More supplementary groups than Linux's NGROUPS_MAX is not a user we can switch to. */
#define MAX_GROUPS 65536

/* Thread-safe (getpwnam_r, getpwuid_r, getgrouplist): a reload calls it off the loop. */
static int lookup_user(void *ctx, const char *name, struct plan_user *out)
{
    (void)ctx;
    struct passwd pw, *res = NULL;
    char buf[4096];
    char *end;
    long uid = strtol(name, &end, 10);
    int e;
    if (*name && !*end)
        e = getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res);
    else
        e = getpwnam_r(name, &pw, buf, sizeof buf, &res);
    /* getpwnam(3): these are how some user databases say "no such user" */
    if (e == ENOENT || e == ESRCH || e == EBADF || e == EPERM || (!e && !res)) return -ENOENT;
    if (e) return -e;
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    int ng = 64;
    out->groups = xcalloc((size_t)ng, sizeof(gid_t));
    if (getgrouplist(pw.pw_name, pw.pw_gid, out->groups, &ng) < 0) {
        if (ng > MAX_GROUPS) ng = MAX_GROUPS;
        out->groups = xrealloc(out->groups, (size_t)ng * sizeof(gid_t));
        if (getgrouplist(pw.pw_name, pw.pw_gid, out->groups, &ng) < 0) ng = 0;
    }
    out->ngroups = ng;
    return 0;
}

/* A reload calls this on a thread of libuv's pool while the loop runs, so the first read is
 * under a lock. Loading libpq there is safe: lazylib is only ever called from start-up, before
 * the loop, and from the one reload in flight, whose loop half runs after this. */
static const char *const *pq_keywords(void *ctx, char *err, size_t errlen)
{
    struct plan_inputs *in = ctx;
    const char *const *kw = NULL;
    pthread_mutex_lock(&in->pq_lock);
    if (!in->pq_read) {
        /* the error names the library and the package that provides it */
        if (lazylib_require(LAZYLIB_BIT(LAZYLIB_PQ), err, errlen) < 0) goto out;
        PQconninfoOption *opts = PQconndefaults();
        for (PQconninfoOption *o = opts; o && o->keyword; o++)
            strvec_pushdup(&in->pq_keywords, o->keyword);
        PQconninfoFree(opts);
        in->pq_read = true;
    }
    if (!in->pq_keywords.v)
        snprintf(err, errlen, "libpq lists no connection parameters");
    else
        kw = (const char *const *)in->pq_keywords.v;
out:
    pthread_mutex_unlock(&in->pq_lock);
    return kw;
}

static int check_dir(void *ctx, const char *path)
{
    (void)ctx;
    struct stat st;
    if (stat(path, &st) < 0) return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* As proc_spawn will look: each candidate in turn, relative ones from cwd; a file found but not
 * executable is told apart from none found (EACCES beats ENOENT, as execvp says). */
static int find_program(void *ctx, const char *prog, const char *path, const char *cwd)
{
    (void)ctx;
    strvec cands = {0};
    proc_candidates(prog, path, &cands);
    int rc = -ENOENT;
    for (size_t i = 0; i < cands.n && rc != 0; i++) {
        const char *c = cands.v[i];
        char *full = c[0] != '/' && cwd ? xasprintf("%s/%s", cwd, c) : xstrdup(c);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) rc = access(full, X_OK) == 0 ? 0 : -EACCES;
        free(full);
    }
    strvec_free(&cands);
    return rc;
}

void plan_inputs_init(struct plan_inputs *in, char **environ_)
{
    memset(in, 0, sizeof *in);
    envmap_from_environ(&in->env, environ_);
    pthread_mutex_init(&in->pq_lock, NULL);
}

struct plan_opts plan_inputs_opts(struct plan_inputs *in, const char *roles, int max_connections)
{
    return (struct plan_opts){
        .roles = roles,
        .env = &in->env,
        .max_connections = max_connections,
        /* Only root can switch users; for anyone else user: is noted and ignored. */
        .lookup_user = geteuid() == 0 ? lookup_user : NULL,
        .pq_keywords = pq_keywords,
        .pq_ctx = in,
        .check_dir = check_dir,
        .find_program = find_program,
    };
}

void plan_inputs_free(struct plan_inputs *in)
{
    envmap_free(&in->env);
    strvec_free(&in->pq_keywords);
    pthread_mutex_destroy(&in->pq_lock);
}
