/* proc.c — fork/exec with everything prepared beforehand, so the child only makes
 * async-signal-safe calls: the parent may have threads (libuv's pool, libcurl's resolver). */
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
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

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

/* Marks every descriptor from 3 up close-on-exec, except keep. */
static void close_others(int keep)
{
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        int fl = fcntl(keep, F_GETFD);
        fcntl(keep, F_SETFD, fl | FD_CLOEXEC);
        return;
    }
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static const char *env_path(char *const *envp)
{
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, "PATH=", 5)) return *e + 5;
    return "/usr/local/bin:/usr/bin:/bin";
}

int proc_spawn(const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen)
{
    /* Candidate paths for argv[0], built before fork. */
    strvec cands = {0};
    const char *prog = o->argv[0];
    if (strchr(prog, '/')) {
        strvec_pushdup(&cands, prog);
    } else {
        const char *path = env_path(o->envp);
        const char *p = path;
        for (;;) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            if (len == 0)
                strvec_push(&cands, xasprintf("./%s", prog));
            else
                strvec_push(&cands, xasprintf("%.*s/%s", (int)len, p, prog));
            if (!colon) break;
            p = colon + 1;
        }
    }

    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) < 0) {
        int e = errno;
        snprintf(err, errlen, "pipe: %s", strerror(e));
        strvec_free(&cands);
        return -e;
    }
    int devnull = -1;
    if (o->stdin_fd < 0) devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

    sigset_t all, old;
    sigfillset(&all);
    /* Blocked across fork: a signal must not run libuv's handler in the child. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0) {
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        if (o->new_group) setpgid(0, 0);
        int in = o->stdin_fd >= 0 ? o->stdin_fd : devnull;
        if ((in >= 0 && dup2(in, 0) < 0) || dup2(o->stdout_fd, 1) < 0 || dup2(o->stderr_fd, 2) < 0)
            child_report(errpipe[1], STAGE_FD);
        close_others(errpipe[1]);
        if (o->cwd && chdir(o->cwd) < 0) child_report(errpipe[1], STAGE_CWD);
        if (o->set_user) {
            if (setgroups((size_t)o->ngroups, o->groups) < 0 || setgid(o->gid) < 0 ||
                setuid(o->uid) < 0)
                child_report(errpipe[1], STAGE_USER);
        }
        sigprocmask(SIG_SETMASK, &none, NULL);
        int first_err = ENOENT;
        for (size_t i = 0; i < cands.n; i++) {
            execve(cands.v[i], o->argv, o->envp);
            /* Keep the most telling error: EACCES beats ENOENT, as execvp does. */
            if (errno != ENOENT && errno != ENOTDIR) first_err = errno;
        }
        errno = first_err;
        child_report(errpipe[1], STAGE_EXEC);
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
    /* Also in the parent, so the group exists before we might signal it. */
    if (o->new_group) setpgid(child, child);

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

void proc_groups_rss(const pid_t *pgids, uint64_t *rss, size_t n)
{
    static long page;
    if (!page) page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < n; i++)
        rss[i] = 0;
    if (n == 0) return;
    DIR *d = opendir("/proc");
    if (!d) return;
    struct dirent *de;
    char path[300], buf[512];
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = '\0';
        /* pid (comm) state ppid pgrp ... ; comm may hold spaces and parens */
        char *rp = strrchr(buf, ')');
        if (!rp) continue;
        char state;
        int ppid, pgrp;
        if (sscanf(rp + 2, "%c %d %d", &state, &ppid, &pgrp) != 3) continue;
        size_t i = 0;
        while (i < n && pgids[i] != pgrp)
            i++;
        if (i == n) continue;
        /* field 24 (rss, in pages): skip 21 more fields after pgrp */
        char *p = rp + 2;
        int field = 3;
        while (*p && field < 24) {
            if (*p == ' ') field++;
            p++;
        }
        rss[i] += strtoull(p, NULL, 10) * (uint64_t)page;
    }
    closedir(d);
}

int proc_become_subreaper(void)
{
    if (getpid() == 1) return 0;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return -errno;
    return 0;
}
