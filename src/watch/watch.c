/* watch.c — file events that restart roles. See watch.h.
 *
 * Each watched role has its own list of directories (one uv_fs_event each; libuv shares one
 * inotify descriptor among them and the kernel one watch per directory) and a debounce timer.
 * An event's path is checked against the role's ignore list and patterns (pathmatch.c); the
 * first match opens the window, and when it closes the role is restarted once, whatever came
 * meanwhile. A directory that appears is watched at once and scanned, so files written into it
 * before its watch existed still count.
 *
 * Scans (opendir, readdir, lstat) run on libuv's thread pool, never on the loop: a big tree or
 * a slow disk does not stall /livez. A directory is watched before it is scanned (nothing made
 * in between is missed); at most WATCH_SCANS_IN_FLIGHT scans run at once (the pool is shared
 * with address lookups, memory samples and reloads), the others wait in a queue, and each
 * finished scan's subdirectories are watched and queued on the loop. */
#include "watch/watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "supervise/observer.h"
#include "watch/pathmatch.h"

struct wrole;

/* Scans running on the pool at once, all roles together. */
#define WATCH_SCANS_IN_FLIGHT 2
/* The most entries one scan reports; a directory holding more is watched without the rest
 * (a warning says so). */
#define WATCH_SCAN_MAX_ENTRIES 65536

/* Buckets of a role's directory lookup (chains stay short up to WATCH_MAX_DIRS). */
#define WATCH_HASH_BUCKETS 1024

/* One watched directory. Freed when its handle has closed and no scan refers to it. */
struct wdir {
    struct wrole *r;
    char *path;
    int depth; /* levels below it that are watched too; -1: all */
    uv_fs_event_t ev;
    int refs;    /* its handle, and each scan of it queued or running */
    bool closed; /* no longer watched: a scan of it that ends is dropped */
    struct wdir *next;
    struct wdir *hnext; /* in its role's hash chain (while watched) */
};

/* One directory's scan: the pool fills names (and isdir) with what is in it. */
struct scan {
    uv_work_t work;
    struct wdir *d;
    char *path;     /* d->path, for the pool (d is the loop's) */
    int depth;      /* d->depth when it was queued */
    bool fresh;     /* d has just appeared: its files are changes (so they are listed) */
    strvec names;   /* entries' names (subdirectories only, unless fresh) */
    bool *isdir;    /* parallel to names */
    bool truncated; /* past WATCH_SCAN_MAX_ENTRIES */
    struct scan *next;
};

/* What one role watches. Freed when its last handle has closed after wrole_close. */
struct wrole {
    struct watch *w;
    char *name;
    strvec pats;    /* absolute patterns a change must match */
    strvec ignores; /* node_modules, .git, then the role's watch_ignore */
    uint64_t debounce_ms;
    bool dependents;
    uv_timer_t timer;
    struct wdir *dirs;
    /* the same directories by path: a finished scan looks up each subdirectory (it may have
     * been watched meanwhile, by an event or an overlapping root) */
    struct wdir *hash[WATCH_HASH_BUCKETS];
    char *first;      /* the first change of the window */
    unsigned changes; /* changes in the window */
    unsigned scans;   /* its directories' scans queued or running: a window stays open until
                         they are done, so a tree that appears is one restart, as it was when
                         it was listed in one loop turn */
    int handles;      /* open handles: the timer and each directory */
    bool closing;
    bool unwatched_told; /* said that inotify is not available */
    struct wrole *next;
};

struct watch {
    struct sup *s;
    int slot;
    struct wrole *roles;
    size_t ndirs; /* directories watched, all roles together */
    bool full_logged;
    struct scan *queue, **queue_tail; /* scans waiting for the pool, oldest first */
    int in_flight;
    int unavailable; /* why inotify cannot be used here (a libuv error), or 0 */
};

/* inotify itself refused, not one directory: a sandbox without it (gVisor has a partial one,
 * seccomp profiles answer ENOSYS or EPERM) or a kernel built without it. Said once per role,
 * not once per directory, and nothing more is tried. */
static bool inotify_unavailable(struct wrole *r, int rc)
{
    struct watch *w = r->w;
    if (rc == UV_ENOSYS || rc == UV_EINVAL || rc == UV_EPERM) w->unavailable = rc;
    if (!w->unavailable) return false;
    if (!r->unwatched_told)
        logmux_event(&w->s->log, "warning", r->name, 0, NULL,
                     "%s: watch: files are not watched, inotify is not available here (%s); %s "
                     "runs without watch:",
                     r->name, uv_strerror(w->unavailable), r->name);
    r->unwatched_told = true;
    return true;
}

static void wrole_unref(struct wrole *r)
{
    if (--r->handles > 0 || !r->closing) return;
    free(r->name);
    strvec_free(&r->pats);
    strvec_free(&r->ignores);
    free(r->first);
    free(r);
}

static void dir_unref(struct wdir *d)
{
    if (--d->refs > 0) return;
    struct wrole *r = d->r;
    free(d->path);
    free(d);
    wrole_unref(r);
}

static void on_dir_closed(uv_handle_t *h)
{
    dir_unref(h->data);
}

static size_t path_bucket(const char *path)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % WATCH_HASH_BUCKETS;
}

static void dir_close(struct wdir *d)
{
    struct wdir **p = &d->r->hash[path_bucket(d->path)];
    while (*p != d)
        p = &(*p)->hnext;
    *p = d->hnext;
    d->r->w->ndirs--;
    d->closed = true;
    uv_close((uv_handle_t *)&d->ev, on_dir_closed);
}

static bool ignored(const struct wrole *r, const char *path)
{
    return pathmatch_ignored((const char *const *)r->ignores.v, r->ignores.n, path);
}

static struct wdir *find_dir(const struct wrole *r, const char *path)
{
    for (struct wdir *d = r->hash[path_bucket(path)]; d; d = d->hnext)
        if (!strcmp(d->path, path)) return d;
    return NULL;
}

static void on_debounce(uv_timer_t *t);

/* A path matched: the first one opens the debounce window. */
static void note_change(struct wrole *r, const char *path)
{
    if (r->closing || ignored(r, path)) return;
    bool hit = false;
    for (size_t i = 0; i < r->pats.n && !hit; i++)
        hit = pathmatch(r->pats.v[i], path);
    if (!hit) return;
    r->changes++;
    if (!r->first) r->first = xstrdup(path);
    if (!uv_is_active((uv_handle_t *)&r->timer))
        uv_timer_start(&r->timer, on_debounce, r->debounce_ms, 0);
}

static void join_path(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", strcmp(dir, "/") ? dir : "", name);
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status);

/* Starts watching path; NULL when it cannot be (logged). */
static struct wdir *dir_open(struct wrole *r, const char *path, int depth)
{
    struct watch *w = r->w;
    struct sup *s = w->s;
    if (inotify_unavailable(r, 0)) return NULL;
    if (w->ndirs >= WATCH_MAX_DIRS) {
        if (!w->full_logged)
            logmux_event(&s->log, "warning", r->name, 0, NULL,
                         "%s: watch: more than %d directories; %s and the rest are not watched "
                         "(narrow watch: or add watch_ignore:)",
                         r->name, WATCH_MAX_DIRS, path);
        w->full_logged = true;
        return NULL;
    }
    struct wdir *d = xcalloc(1, sizeof *d);
    d->r = r;
    d->path = xstrdup(path);
    d->depth = depth;
    d->refs = 1;
    size_t b = path_bucket(path);
    d->hnext = r->hash[b];
    r->hash[b] = d;
    uv_fs_event_init(s->loop, &d->ev);
    d->ev.data = d;
    r->handles++;
    w->ndirs++;
    int rc = uv_fs_event_start(&d->ev, on_event, path, 0);
    if (rc < 0 && inotify_unavailable(r, rc)) {
        dir_close(d);
        return NULL;
    }
    if (rc < 0) {
        logmux_event(&s->log, "warning", r->name, 0, NULL, "%s: watch: cannot watch %s: %s%s",
                     r->name, path, uv_strerror(rc),
                     rc == UV_ENOSPC ? " (the system's inotify watches are used up: raise "
                                       "/proc/sys/fs/inotify/max_user_watches)"
                                     : "");
        dir_close(d);
        return NULL;
    }
    d->next = r->dirs;
    r->dirs = d;
    return d;
}

static void add_tree(struct wrole *r, const char *path, int depth, bool fresh);
static void scan_next(struct watch *w);

static void scan_free(struct scan *sc)
{
    free(sc->path);
    strvec_free(&sc->names);
    free(sc->isdir);
    free(sc);
}

/* On the pool: lists the directory. Touches nothing but sc. */
static void scan_work(uv_work_t *req)
{
    struct scan *sc = req->data;
    DIR *dir = opendir(sc->path);
    if (!dir) return;
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        bool isdir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            char child[PATH_MAX];
            join_path(child, sizeof child, sc->path, e->d_name);
            struct stat st;
            isdir = lstat(child, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (!isdir && !sc->fresh) continue;
        if (sc->names.n >= WATCH_SCAN_MAX_ENTRIES) {
            sc->truncated = true;
            break;
        }
        if (sc->names.n == cap) {
            cap = cap ? cap * 2 : 16;
            sc->isdir = xrealloc(sc->isdir, cap * sizeof *sc->isdir);
        }
        sc->isdir[sc->names.n] = isdir;
        strvec_pushdup(&sc->names, e->d_name);
    }
    closedir(dir);
}

/* Back on the loop: the subdirectories are watched (and queued in turn), a fresh directory's
 * files count as changes. A directory dropped meanwhile is left alone. */
static void scan_done(uv_work_t *req, int status)
{
    struct scan *sc = req->data;
    struct wdir *d = sc->d;
    struct wrole *r = d->r;
    struct watch *w = r->w;
    w->in_flight--;
    if (status == 0 && !d->closed && !r->closing) {
        if (sc->truncated)
            logmux_event(&w->s->log, "warning", r->name, 0, NULL,
                         "%s: watch: %s holds more than %d entries; the rest are not looked at",
                         r->name, sc->path, WATCH_SCAN_MAX_ENTRIES);
        for (size_t i = 0; i < sc->names.n && !d->closed && !r->closing; i++) {
            char child[PATH_MAX];
            join_path(child, sizeof child, sc->path, sc->names.v[i]);
            if (sc->isdir[i] && sc->depth != 0)
                add_tree(r, child, sc->depth < 0 ? -1 : sc->depth - 1, sc->fresh);
            else if (sc->fresh && !sc->isdir[i])
                note_change(r, child);
        }
    }
    r->scans--; /* after its subdirectories' scans were queued: no gap between them */
    scan_free(sc);
    dir_unref(d);
    scan_next(w);
}

/* Starts queued scans while the pool has room; those of directories closed meanwhile are
 * dropped unstarted. */
static void scan_next(struct watch *w)
{
    while (w->queue && w->in_flight < WATCH_SCANS_IN_FLIGHT) {
        struct scan *sc = w->queue;
        w->queue = sc->next;
        if (!w->queue) w->queue_tail = &w->queue;
        if (sc->d->closed || sc->d->r->closing ||
            uv_queue_work(w->s->loop, &sc->work, scan_work, scan_done) < 0) {
            sc->d->r->scans--;
            dir_unref(sc->d);
            scan_free(sc);
            continue;
        }
        w->in_flight++;
    }
}

/* Queues a scan of d: the directories under it are watched, depth permitting, once it is done.
 * fresh: d has just appeared, so the files already in it are changes. */
static void scan(struct wrole *r, struct wdir *d, bool fresh)
{
    if (d->depth == 0 && !fresh) return; /* nothing under it to watch nor to note */
    struct watch *w = r->w;
    struct scan *sc = xcalloc(1, sizeof *sc);
    sc->work.data = sc;
    sc->d = d;
    sc->path = xstrdup(d->path);
    sc->depth = d->depth;
    sc->fresh = fresh;
    d->refs++;
    r->scans++;
    *w->queue_tail = sc;
    w->queue_tail = &sc->next;
    scan_next(w);
}

/* Watches path and the directories under it, down to depth (-1: all), as its scans come back.
 * A directory watched already (an event, an overlapping root or a scan got there first) is
 * watched deeper when depth asks for more. */
static void add_tree(struct wrole *r, const char *path, int depth, bool fresh)
{
    if (ignored(r, path)) return;
    struct wdir *d = find_dir(r, path);
    if (d) {
        if (d->depth < 0 || (depth >= 0 && d->depth >= depth)) return;
        d->depth = depth;
        scan(r, d, fresh);
        return;
    }
    d = dir_open(r, path, depth);
    if (d) scan(r, d, fresh);
}

/* A directory went away: it and everything under it are no longer watched. */
static void drop_tree(struct wrole *r, const char *path)
{
    size_t n = strlen(path);
    for (struct wdir **p = &r->dirs; *p;) {
        struct wdir *d = *p;
        if (!strncmp(d->path, path, n) && (d->path[n] == '\0' || d->path[n] == '/')) {
            *p = d->next;
            dir_close(d);
        } else {
            p = &d->next;
        }
    }
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    struct wdir *d = h->data;
    struct wrole *r = d->r;
    if (r->closing) return;
    if (status < 0) {
        logmux_event(&r->w->s->log, "warning", r->name, 0, NULL, "%s: watch: %s: %s", r->name,
                     d->path, uv_strerror(status));
        return;
    }
    if (!filename) return;
    char full[PATH_MAX];
    join_path(full, sizeof full, d->path, filename);
    if (events & UV_RENAME) {
        /* created, deleted or moved: a new directory is watched, a gone one dropped */
        struct stat st;
        if (lstat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode) && d->depth != 0)
                add_tree(r, full, d->depth < 0 ? -1 : d->depth - 1, true);
        } else if (errno == ENOENT) {
            drop_tree(r, full);
        }
    }
    note_change(r, full);
}

/* Restarts every selected role that depends on the role named, directly or through others. */
static void restart_dependents(struct sup *s, const char *name)
{
    const struct plan *p = s->plan;
    bool *hit = xcalloc(p->nroles ? p->nroles : 1, sizeof *hit);
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t j = 0; j < p->nroles; j++) {
            const struct role_config *c = p->roles[j].cfg;
            for (size_t k = 0; k < c->ndeps && !hit[j]; k++) {
                const char *dep = c->deps[k].role;
                bool on = !strcmp(dep, name);
                for (size_t i = 0; i < p->nroles && !on; i++)
                    on = hit[i] && !strcmp(dep, p->roles[i].cfg->name);
                if (on) hit[j] = grew = true;
            }
        }
    }
    for (size_t j = 0; j < p->nroles; j++) {
        struct role *ro = hit[j] ? sup_find_role(s, p->roles[j].cfg->name) : NULL;
        if (!ro || !sup_role_selected(ro) || ro->goal == GOAL_DOWN) continue;
        sbuf err;
        sbuf_init(&err);
        if (sup_role_restart(s, p->roles[j].cfg->name, &err) < 0)
            logmux_event(&s->log, "warning", p->roles[j].cfg->name, 0, NULL, "%s: %s",
                         p->roles[j].cfg->name, err.data);
        sbuf_free(&err);
    }
    free(hit);
}

/* The window closed: one restart for all it saw. A role the operator stopped stays stopped. */
static void on_debounce(uv_timer_t *t)
{
    struct wrole *r = t->data;
    struct sup *s = r->w->s;
    if (r->scans && !r->closing) {
        uv_timer_start(&r->timer, on_debounce, r->debounce_ms, 0);
        return;
    }
    struct role *ro = sup_find_role(s, r->name);
    if (ro && !s->shutting_down && ro->goal == GOAL_UP) {
        char more[48] = "";
        if (r->changes > 1) snprintf(more, sizeof more, " (%u file events)", r->changes);
        logmux_event(&s->log, "watch_changed", r->name, 0, NULL, "%s: %s changed%s; restarting%s",
                     r->name, r->first, more, r->dependents ? " it and its dependents" : "");
        sbuf err;
        sbuf_init(&err);
        if (sup_role_restart(s, r->name, &err) < 0)
            logmux_event(&s->log, "warning", r->name, 0, NULL, "%s: %s", r->name, err.data);
        sbuf_free(&err);
        if (r->dependents) restart_dependents(s, r->name);
    }
    free(r->first);
    r->first = NULL;
    r->changes = 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    wrole_unref(h->data);
}

static void wrole_close(struct wrole *r)
{
    r->closing = true;
    while (r->dirs) {
        struct wdir *d = r->dirs;
        r->dirs = d->next;
        dir_close(d);
    }
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

/* A role's watch: entries become patterns (a directory stands for everything under it) and
 * their roots are watched, shortest first, so a root inside another one's tree is watched once. */
static void wrole_open(struct watch *w, const struct role_config *c)
{
    struct sup *s = w->s;
    struct wrole *r = xcalloc(1, sizeof *r);
    r->w = w;
    r->name = xstrdup(c->name);
    r->debounce_ms = c->watch_debounce_ms;
    r->dependents = c->watch_restart == WATCH_RESTART_DEPENDENTS;
    strvec_pushdup(&r->ignores, "node_modules");
    strvec_pushdup(&r->ignores, ".git");
    for (size_t i = 0; i < c->watch_ignore.n; i++)
        strvec_pushdup(&r->ignores, c->watch_ignore.v[i]);
    uv_timer_init(s->loop, &r->timer);
    r->timer.data = r;
    r->handles = 1;
    r->next = w->roles;
    w->roles = r;
    for (size_t i = 0; i < c->watch.n; i++) {
        const char *e = c->watch.v[i];
        struct stat st;
        if (!pathmatch_has_glob(e) && stat(e, &st) == 0 && S_ISDIR(st.st_mode))
            strvec_push(&r->pats, xasprintf("%s/**", strcmp(e, "/") ? e : ""));
        else
            strvec_pushdup(&r->pats, e);
    }
    /* roots shortest first: each pass opens the shortest root not opened yet */
    bool *done = xcalloc(r->pats.n ? r->pats.n : 1, sizeof *done);
    for (size_t pass = 0; pass < r->pats.n; pass++) {
        size_t best = r->pats.n, best_len = 0;
        int depth = 0;
        for (size_t i = 0; i < r->pats.n; i++) {
            int dp;
            size_t len = pathmatch_root(r->pats.v[i], &dp);
            if (!done[i] && (best == r->pats.n || len < best_len)) {
                best = i;
                best_len = len;
                depth = dp;
            }
        }
        done[best] = true;
        char *root = xstrndup(r->pats.v[best], best_len);
        struct stat st;
        if (!best_len || stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
            logmux_event(&s->log, "warning", r->name, 0, NULL,
                         "%s: watch: %s is not a directory; %s is not watched", r->name,
                         best_len ? root : "(none)", c->watch.v[best]);
        else
            add_tree(r, root, depth, false);
        free(root);
    }
    free(done);
}

static struct wrole *find_wrole(struct watch *w, const char *name)
{
    for (struct wrole *r = w->roles; r; r = r->next)
        if (!strcmp(r->name, name)) return r;
    return NULL;
}

static void close_all(struct watch *w)
{
    while (w->roles) {
        struct wrole *r = w->roles;
        w->roles = r->next;
        wrole_close(r);
    }
}

static void open_all(struct watch *w)
{
    const struct plan *p = w->s->plan;
    for (size_t i = 0; i < p->nroles; i++)
        if (p->roles[i].selected && p->roles[i].cfg->watch.n) wrole_open(w, p->roles[i].cfg);
}

/* ---- the observer ------------------------------------------------------------------------ */

static int on_start(void *ud, struct sup *s)
{
    (void)s;
    open_all(ud);
    return 0;
}

static void on_stop(void *ud, struct sup *s)
{
    (void)s;
    close_all(ud);
}

/* A reload may change what is watched: everything is watched anew from the new plan. */
static void on_plan_swapped(void *ud, struct sup *s, const struct plan *old)
{
    (void)s;
    (void)old;
    close_all(ud);
    open_all(ud);
}

/* A watched role that crashed for good waits for the next change (nodemon's words). */
static void on_state(void *ud, struct instance *in, enum inst_state old, enum inst_state now)
{
    struct watch *w = ud;
    const struct role_config *c = role_cfg(in->role);
    (void)old;
    if (now != ST_GIVEN_UP && now != ST_FAILED) return;
    if (w->s->shutting_down || c->give_up_then == GIVEUP_EXIT || !find_wrole(w, c->name)) return;
    logmux_event(&w->s->log, "watch_waiting", c->name, in->index, NULL,
                 "%s crashed — waiting for file changes", in->label);
}

static const struct sup_observer watch_observer = {
    .name = "watch",
    .start = on_start,
    .stop = on_stop,
    .plan_swapped = on_plan_swapped,
    .state = on_state,
    .shutdown = on_stop,
};

struct watch *watch_attach(struct sup *s)
{
    struct watch *w = xcalloc(1, sizeof *w);
    w->s = s;
    w->queue_tail = &w->queue;
    w->slot = sup_attach(s, &watch_observer, w);
    if (w->slot < 0) {
        free(w);
        return NULL;
    }
    return w;
}

void watch_free(struct watch *w)
{
    free(w);
}
