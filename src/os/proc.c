/* proc.c — vfork/exec with everything prepared beforehand, so the child only makes
 * async-signal-safe calls: the parent may have threads (libuv's pool, libcurl's resolver).
 * vfork, not fork: the child borrows the parent's memory until it execs, so a spawn copies no
 * page tables (500 roles start in about half the time), and the parent is suspended until the
 * exec, which it would wait for anyway to learn whether the exec worked. The child therefore
 * writes nothing the parent reads except through the error pipe, and switches users with the
 * raw system calls: glibc's setuid() would try to switch the parent's threads too. */
#include "os/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "os/sys.h"

struct exec_fail {
    int err;
    int stage; /* what failed, for the message */
};

enum { STAGE_EXEC, STAGE_CWD, STAGE_USER, STAGE_FD };

static void child_report(int fd, int stage)
{
    struct exec_fail f = {errno, stage};
    ssize_t r = write(fd, &f, sizeof f);
    (void)r;
    _exit(127);
}

static const char *env_path(char *const *envp)
{
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, "PATH=", 5)) return *e + 5;
    return PROC_DEFAULT_PATH;
}

void proc_candidates(const char *prog, const char *path, strvec *out)
{
    if (strchr(prog, '/')) {
        strvec_pushdup(out, prog);
        return;
    }
    const char *p = path;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len == 0)
            strvec_push(out, xasprintf("./%s", prog));
        else
            strvec_push(out, xasprintf("%.*s/%s", (int)len, p, prog));
        if (!colon) break;
        p = colon + 1;
    }
}

int proc_spawn(const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen)
{
    /* Candidate paths for argv[0], built before fork. */
    strvec cands = {0};
    const char *prog = o->argv[0];
    proc_candidates(prog, env_path(o->envp), &cands);

    int errpipe[2];
    int prc = os_pipe(errpipe, 0);
    if (prc < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(-prc));
        strvec_free(&cands);
        return prc;
    }
    int devnull = -1;
    if (o->stdin_fd < 0) devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

    sigset_t all, old;
    sigfillset(&all);
    /* Blocked across vfork: a signal must not run libuv's handler in the child (its handlers
     * are reset before anything is unblocked). */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = vfork();
    if (child == 0) {
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        if (o->ctty)
            setsid();
        else if (o->new_group)
            setpgid(0, 0);
        int in = o->stdin_fd >= 0 ? o->stdin_fd : devnull;
        if ((in >= 0 && dup2(in, 0) < 0) || dup2(o->stdout_fd, 1) < 0 || dup2(o->stderr_fd, 2) < 0)
            child_report(errpipe[1], STAGE_FD);
        /* the new session's terminal: isatty() and job control as in a terminal of its own */
        if (o->ctty && ioctl(0, TIOCSCTTY, 0) < 0) child_report(errpipe[1], STAGE_FD);
        /* The error pipe moves out of fd 3's way (a copy of the child's own, which the parent
         * never sees) before fd 3 is given its descriptor. */
        int ep = errpipe[1];
        if (o->fd3 > 0) {
            if (ep == 3 && (ep = fcntl(3, F_DUPFD_CLOEXEC, 4)) < 0)
                child_report(errpipe[1], STAGE_FD);
            if (o->fd3 == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(o->fd3, 3) < 0)
                child_report(ep, STAGE_FD);
        }
        /* ep too: it closes at exec, which tells the parent the exec worked */
        os_close_from(o->fd3 > 0 ? 4 : 3, true);
        if (o->cwd && chdir(o->cwd) < 0) child_report(ep, STAGE_CWD);
        if (o->set_user) {
            if (syscall(SYS_setgroups, (size_t)o->ngroups, o->groups) < 0 ||
                syscall(SYS_setgid, o->gid) < 0 || syscall(SYS_setuid, o->uid) < 0)
                child_report(ep, STAGE_USER);
        }
        sigprocmask(SIG_SETMASK, &none, NULL);
        int first_err = ENOENT;
        for (size_t i = 0; i < cands.n; i++) {
            execve(cands.v[i], o->argv, o->envp);
            /* Keep the most telling error: EACCES beats ENOENT, as execvp does. */
            if (errno != ENOENT && errno != ENOTDIR) first_err = errno;
        }
        errno = first_err;
        child_report(ep, STAGE_EXEC);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errpipe[1]);
    if (devnull >= 0) close(devnull);
    strvec_free(&cands);
    if (child < 0) {
        close(errpipe[0]);
        snprintf(err, errlen, "fork: %s", strerror(fork_errno));
        return -fork_errno;
    }
    /* Also in the parent, so the group exists before we might signal it (a session leader's
     * group exists already: setsid made it before the exec we waited for). */
    if (o->new_group && !o->ctty) setpgid(child, child);

    struct exec_fail f;
    ssize_t n;
    do
        n = read(errpipe[0], &f, sizeof f);
    while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    if (n == (ssize_t)sizeof f) {
        /* The child failed before exec and has exited with 127; the caller reaps it. */
        *pid = child;
        switch (f.stage) {
        case STAGE_CWD:
            snprintf(err, errlen, "cannot enter directory %s: %s", o->cwd, strerror(f.err));
            break;
        case STAGE_USER: snprintf(err, errlen, "cannot switch user: %s", strerror(f.err)); break;
        case STAGE_FD: snprintf(err, errlen, "cannot set up stdio: %s", strerror(f.err)); break;
        default:
            if (f.err == ENOENT)
                snprintf(err, errlen, "command not found: %s", prog);
            else
                snprintf(err, errlen, "cannot execute %s: %s", prog, strerror(f.err));
        }
        return -(f.err ? f.err : EINVAL);
    }
    *pid = child;
    return 0;
}

int proc_signal_group(pid_t pgid, int sig)
{
    if (pgid <= 1) return -EINVAL;
    if (kill(-pgid, sig) < 0) return -errno;
    return 0;
}

bool proc_group_alive(pid_t pgid)
{
    if (pgid <= 1) return false;
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

/* The value of NAME= in a NUL-separated environment block, or NULL. */
static const char *env_block_get(const char *env, size_t len, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < len;) {
        const char *e = env + i;
        size_t el = strnlen(e, len - i);
        if (el > nl && !memcmp(e, name, nl) && e[nl] == '=') return e + nl + 1;
        i += el + 1;
    }
    return NULL;
}

#define ENVIRON_MAX (256u << 10) /* more is read as cut: a marker beyond it is not found */

/* ROSTER_ROLE and ROSTER_INSTANCE from /proc/PID/environ (the environment it started with). */
static void child_role(struct proc_child *k)
{
    char path[48];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)k->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    size_t cap = 16384, len = 0;
    char *buf = xmalloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap >= ENVIRON_MAX) break;
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    const char *role = env_block_get(buf, len, "ROSTER_ROLE");
    const char *inst = env_block_get(buf, len, "ROSTER_INSTANCE");
    if (role) snprintf(k->role, sizeof k->role, "%s", role);
    if (inst && isdigit((unsigned char)*inst)) k->instance = atoi(inst);
    free(buf);
}

static bool pid_known(const pid_t *known, size_t n, pid_t pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (known[mid] == pid) return true;
        if (known[mid] < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* True when /proc shows this process's own PID namespace: in a new one without its own /proc
 * mounted (unshare --pid without --mount-proc), /proc's pids are the host's, and a "child" of
 * pid 1 found there would be one of the host's processes. */
static bool proc_is_ours(void)
{
    char buf[32];
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    if (n <= 0) return false;
    buf[n] = '\0';
    return atoi(buf) == (int)getpid();
}

void proc_scan(struct proc_scan *sc)
{
    static long page;
    if (!page) page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < sc->n; i++)
        sc->rss[i] = 0;
    sc->nkids = 0;
    if (sc->n == 0 && sc->parent <= 0) return;
    /* Without /proc (another Unix, a sandbox that hides it) every group reads as 0 bytes, and
     * max_memory never triggers; no orphan is seen either (they are still reaped, and stopped
     * when roster is PID 1). */
    pid_t parent = sc->parent > 0 && proc_is_ours() ? sc->parent : 0;
    if (sc->n == 0 && parent == 0) return;
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        struct os_proc_stat st;
        if (os_proc_stat((pid_t)atoi(de->d_name), &st) < 0) continue;
        size_t i = 0;
        while (i < sc->n && sc->pgids[i] != st.pgrp)
            i++;
        if (i < sc->n) {
            sc->rss[i] += st.rss_pages * (uint64_t)page;
            continue; /* in a measured group (a role's): not listed as a child either */
        }
        if (parent <= 0 || st.ppid != parent || st.state == 'Z') continue;
        if (pid_known(sc->known, sc->nknown, st.pid)) continue;
        if (sc->nkids < sc->max) {
            struct proc_child *k = &sc->kids[sc->nkids];
            memset(k, 0, sizeof *k);
            k->pid = st.pid;
            k->pgrp = st.pgrp;
            k->session = st.session;
            k->start_ticks = st.start_ticks;
            k->instance = -1;
            snprintf(k->comm, sizeof k->comm, "%s", st.comm);
            child_role(k);
        }
        sc->nkids++;
    }
    closedir(d);
}
