/* sys.c — Linux-specific calls and their fallbacks. See sys.h. */
#include "os/sys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#endif

#ifdef SCM_CREDENTIALS
#define CRED_SPACE CMSG_SPACE(sizeof(struct ucred))
#else
#define CRED_SPACE 0
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The rlimit fallback walks at most this many numbers: a container's limit of a million would
 * cost about a second per spawn, and roster never holds anywhere near this many descriptors. */
#define CLOSE_FROM_MAX 65536

int os_set_subreaper(void)
{
    if (getpid() == 1) return 0;
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
    /* A kernel that does not know the option says EINVAL. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return errno == EINVAL ? -ENOSYS : -errno;
    return 0;
#else
    return -ENOSYS;
#endif
}

/* ---- closing descriptors ----------------------------------------------------------------- */

static void close_one(int fd, bool on_exec)
{
    if (!on_exec) {
        close(fd);
        return;
    }
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int os_close_from_rlimit(int lowfd, bool on_exec)
{
    long max = CLOSE_FROM_MAX;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)max)
        max = (long)rl.rlim_cur;
    for (long fd = lowfd; fd < max; fd++)
        close_one((int)fd, on_exec);
    return 0;
}

#ifdef __linux__
/* A getdents64 record; glibc declares no type for the raw system call's. */
struct raw_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};
#endif

int os_close_from_proc(int lowfd, bool on_exec)
{
#ifdef __linux__
    /* opendir() allocates, which a forked child of a threaded parent must not: the raw system
     * call reads the listing into a buffer on the stack. */
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    uint64_t buf[512];
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n < 0) {
            int e = errno;
            close(dfd);
            return -e;
        }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            const struct raw_dirent64 *d = (const struct raw_dirent64 *)((char *)buf + off);
            off += d->d_reclen;
            long fd = 0;
            const char *p = d->d_name;
            if (!*p) continue;
            for (; *p >= '0' && *p <= '9' && fd <= INT_MAX / 10; p++)
                fd = fd * 10 + (*p - '0');
            /* "." and "..", and the listing's own descriptor, are not ours to close */
            if (*p || fd < lowfd || fd == dfd) continue;
            close_one((int)fd, on_exec);
        }
    }
    close(dfd);
    return 0;
#else
    (void)lowfd;
    (void)on_exec;
    return -ENOSYS;
#endif
}

int os_close_from(int lowfd, bool on_exec)
{
#if defined(__linux__) && defined(SYS_close_range)
    /* Any failure falls back: ENOSYS before Linux 5.9, EINVAL for the CLOEXEC flag before 5.11,
     * EPERM from seccomp profiles that do not know the call yet. */
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, on_exec ? CLOSE_RANGE_CLOEXEC : 0U) == 0)
        return 0;
#endif
    if (os_close_from_proc(lowfd, on_exec) == 0) return 0;
    return os_close_from_rlimit(lowfd, on_exec);
}

/* ---- pipes ------------------------------------------------------------------------------- */

int os_pipe_size(int fd, size_t bytes)
{
#ifdef F_SETPIPE_SZ
    int r = fcntl(fd, F_SETPIPE_SZ, bytes > INT_MAX ? INT_MAX : (int)bytes);
    return r < 0 ? -errno : r;
#else
    (void)fd;
    (void)bytes;
    return -ENOSYS;
#endif
}

int os_pipe(int fds[2], size_t size)
{
    int rc = pipe2(fds, O_CLOEXEC);
    if (rc < 0 && errno == ENOSYS) {
        rc = pipe(fds);
        if (rc == 0) {
            fcntl(fds[0], F_SETFD, FD_CLOEXEC);
            fcntl(fds[1], F_SETFD, FD_CLOEXEC);
        }
    }
    if (rc < 0) return -errno;
    /* Best effort: the pipe works at its default size too. */
    if (size) (void)os_pipe_size(fds[0], size);
    return 0;
}

/* ---- /proc/PID/stat ---------------------------------------------------------------------- */

int os_proc_stat_parse(const char *line, struct os_proc_stat *out)
{
    memset(out, 0, sizeof *out);
    /* "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so it runs from
     * the first '(' to the last ')' */
    char *end;
    long pid = strtol(line, &end, 10);
    if (end == line || pid <= 0 || strncmp(end, " (", 2) != 0) return -EINVAL;
    const char *lp = end + 1, *rp = strrchr(line, ')');
    if (!rp || rp < lp || rp[1] != ' ') return -EINVAL;
    size_t cl = (size_t)(rp - lp - 1);
    if (cl >= sizeof out->comm) cl = sizeof out->comm - 1;
    memcpy(out->comm, lp + 1, cl);
    out->comm[cl] = '\0';
    int ppid, pgrp, session;
    char state;
    if (sscanf(rp + 2, "%c %d %d %d", &state, &ppid, &pgrp, &session) != 4) return -EINVAL;
    /* the state is field 3, starttime field 22, rss field 24 */
    const char *p = rp + 2, *start = NULL;
    for (int field = 3; field < 24; p++) {
        if (!*p) return -EINVAL;
        if (*p == ' ' && ++field == 22) start = p + 1;
    }
    if (!isdigit((unsigned char)*p) || !isdigit((unsigned char)*start)) return -EINVAL;
    out->pid = (pid_t)pid;
    out->state = state;
    out->ppid = ppid;
    out->pgrp = pgrp;
    out->session = session;
    out->start_ticks = strtoull(start, NULL, 10);
    out->rss_pages = strtoull(p, NULL, 10);
    return 0;
}

int os_proc_stat(pid_t pid, struct os_proc_stat *out)
{
    char path[48], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    buf[n] = '\0';
    return os_proc_stat_parse(buf, out);
}

/* ---- unix sockets ------------------------------------------------------------------------ */

int os_unix_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (n == 0 || (name[0] == '@' && n == 1)) return -EINVAL;
    if (n >= sizeof sa->sun_path) return -ENAMETOOLONG;
    if (name[0] == '@') {
#ifdef __linux__
        /* the abstract namespace: a leading NUL, and the length says where the name ends */
        memcpy(sa->sun_path + 1, name + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        return 0;
#else
        return -EAFNOSUPPORT;
#endif
    }
    memcpy(sa->sun_path, name, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int os_passcred(int fd)
{
#ifdef SO_PASSCRED
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) return -errno;
    return 0;
#else
    (void)fd;
    return -ENOSYS;
#endif
}

ssize_t os_recv_cred(int fd, char *buf, size_t size, pid_t *sender)
{
    *sender = 0;
    if (size == 0) return -EINVAL;
    /* Room for the credentials and a few descriptors; the kernel drops what does not fit. */
    union {
        char b[CRED_SPACE + CMSG_SPACE(8 * sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {buf, size - 1};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof cbuf.b};
    int flags = MSG_DONTWAIT;
#ifdef MSG_CMSG_CLOEXEC
    flags |= MSG_CMSG_CLOEXEC;
#endif
    ssize_t r = recvmsg(fd, &mh, flags);
    if (r < 0) return -errno;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
#ifdef SCM_CREDENTIALS
        if (c->cmsg_type == SCM_CREDENTIALS) {
            struct ucred uc;
            memcpy(&uc, CMSG_DATA(c), sizeof uc);
            *sender = uc.pid;
            continue;
        }
#endif
        if (c->cmsg_type == SCM_RIGHTS) {
            /* nothing here takes descriptors (sd_notify's FDSTORE): close what was passed */
            size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t k = 0; k < nfd; k++) {
                int pfd;
                memcpy(&pfd, CMSG_DATA(c) + k * sizeof(int), sizeof pfd);
                close(pfd);
            }
        }
    }
    buf[r] = '\0';
    return r;
}

int os_alarm_fd(void)
{
#ifdef TFD_TIMER_ABSTIME
    int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
#else
    return -ENOSYS;
#endif
}

int os_alarm_set(int fd, int64_t when_ns)
{
#ifdef TFD_TIMER_ABSTIME
    uint64_t n;
    while (read(fd, &n, sizeof n) == (ssize_t)sizeof n)
        ; /* an expiry not read yet would make the descriptor readable now */
    if (when_ns <= 0) when_ns = 1; /* 0 would disarm it */
    struct itimerspec its = {
        .it_value = {.tv_sec = when_ns / 1000000000, .tv_nsec = when_ns % 1000000000}};
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
#else
    (void)fd;
    (void)when_ns;
    return -ENOSYS;
#endif
}
