/* test_os.c — the os layer's Linux-specific calls and their fallbacks: /proc/PID/stat parsing
 * (command names with spaces and parentheses), closing descriptors by each method, close-on-exec
 * pipes, unix socket addresses (paths and the abstract namespace), senders' credentials and
 * passed descriptors, the child subreaper, proc_scan (children not known, with the role their
 * environment names), and proc_spawn's fd 3 (a builtin role's status channel). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/proc.h"
#include "os/sys.h"
#include "t.h"

/* What follows "pid (comm) state ppid pgrp session" in a real line: tty_nr ... rss (field 24,
 * 321 pages) ... The kernel writes comm as is, unescaped, so a name may hold ") (". */
#define STAT_TAIL                                                                                  \
    " 0 -1 4194560 130 0 0 0 0 0 0 0 20 0 1 0 123456 4509696 321 18446744073709551615 1 1 0 0 "    \
    "0 0 0 0 0 0 0 0 17 3 0 0 0 0 0"

static void test_stat_parse(void)
{
    /* the name runs from the first '(' to the last ')', whatever it holds */
    static const struct {
        const char *head; /* "pid (comm) state ppid pgrp session" */
        const char *comm;
        char state;
        int pid, ppid, pgrp;
    } good[] = {
        {"4242 (sleep) S 1 4242 4242", "sleep", 'S', 4242, 1, 4242},
        {"77 (a) b (c) R 5 70 70", "a) b (c", 'R', 77, 5, 70},
        {"78 () Z 5 9 9", "", 'Z', 78, 5, 9},
        {"79 ( ) ) ) S 5 -3 9", " ) ) ", 'S', 79, 5, -3},
    };
    struct os_proc_stat st;
    char line[512];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(line, sizeof line, "%s%s\n", good[i].head, STAT_TAIL);
        CHECK_INT(os_proc_stat_parse(line, &st), 0);
        CHECK_INT(st.pid, good[i].pid);
        CHECK_STR(st.comm, good[i].comm);
        CHECK_INT(st.state, good[i].state);
        CHECK_INT(st.ppid, good[i].ppid);
        CHECK_INT(st.pgrp, good[i].pgrp);
        CHECK_INT(st.rss_pages, 321);
        CHECK_INT(st.start_ticks, 123456);
    }
    CHECK_INT(os_proc_stat_parse("4242 (sleep) S 1 4242 4243" STAT_TAIL, &st), 0);
    CHECK_INT(st.session, 4243);

    /* not a stat line */
    CHECK_INT(os_proc_stat_parse("", &st), -EINVAL);
    CHECK_INT(os_proc_stat_parse("garbage", &st), -EINVAL);
    CHECK_INT(os_proc_stat_parse("12 sleep S 1 2 3" STAT_TAIL, &st), -EINVAL);
    CHECK_INT(os_proc_stat_parse("12 (sleep S 1 2 3" STAT_TAIL, &st), -EINVAL);
    CHECK_INT(os_proc_stat_parse("12 (sleep)", &st), -EINVAL);
    CHECK_INT(os_proc_stat_parse("12 (sleep) S 1 2", &st), -EINVAL);
    /* cut before the rss field */
    CHECK_INT(os_proc_stat_parse("12 (sleep) S 1 2 3 0 -1 4194560 130 0", &st), -EINVAL);
    CHECK_INT(st.pid, 0); /* nothing half-filled is left to misread */
}

static void test_stat_self(void)
{
    struct os_proc_stat st;
    int rc = os_proc_stat(getpid(), &st);
    if (rc == -ENOENT) {
        printf("SKIP os_proc_stat: no /proc here\n");
        return;
    }
    CHECK_INT(rc, 0);
    CHECK_INT(st.pid, getpid());
    CHECK_INT(st.ppid, getppid());
    CHECK_INT(st.pgrp, getpgrp());
    CHECK_INT(st.state, 'R');
    CHECK(st.rss_pages > 0);
    CHECK_INT(st.session, getsid(0));
    CHECK(st.start_ticks > 0);
    CHECK_STR(st.comm, "test_os");
    /* a pid that cannot exist */
    CHECK_INT(os_proc_stat(0x7ffffff0, &st), -ENOENT);
}

/* Opens /dev/null at each of fds[0..n). */
static void open_at(const int *fds, size_t n)
{
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(dup2(fd, fds[i]), fds[i]);
    close(fd);
}

static void test_close_from(void)
{
    static const char *const names[] = {"best", "proc", "rlimit"};
    int (*const fns[])(int, bool) = {os_close_from, os_close_from_proc, os_close_from_rlimit};
    /* 199 is the sentinel below the range: it must stay as it was */
    static const int fds[] = {199, 200, 201, 250, 1000};
    struct rlimit rl;
    CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur <= 1000) {
        printf("SKIP close_from: the open-file limit %llu is too low for the test\n",
               (unsigned long long)rl.rlim_cur);
        return;
    }
    for (size_t m = 0; m < 3; m++) {
        open_at(fds, 5);
        int rc = fns[m](200, true);
        if (rc == -ENOSYS) {
            printf("SKIP close_from (%s): not here\n", names[m]);
            for (size_t i = 0; i < 5; i++)
                close(fds[i]);
            continue;
        }
        CHECK_INT(rc, 0);
        /* on_exec: still open, now close-on-exec */
        CHECK_INT(fcntl(199, F_GETFD), 0);
        for (size_t i = 1; i < 5; i++)
            CHECK_INT(fcntl(fds[i], F_GETFD), FD_CLOEXEC);
        /* closing */
        CHECK_INT(fns[m](200, false), 0);
        CHECK_INT(fcntl(199, F_GETFD), 0);
        int closed = 0;
        for (size_t i = 1; i < 5; i++)
            closed += fcntl(fds[i], F_GETFD) < 0 && errno == EBADF;
        if (closed != 4) fprintf(stderr, "close_from (%s) left %d open\n", names[m], 4 - closed);
        CHECK_INT(closed, 4);
        close(199);
    }
}

static void test_pipe(void)
{
    int p[2];
    CHECK_INT(os_pipe(p, 0), 0);
    CHECK_INT(fcntl(p[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    CHECK_INT(fcntl(p[1], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    int sz = os_pipe_size(p[0], 256 << 10);
    if (sz == -ENOSYS || sz == -EPERM)
        printf("SKIP os_pipe_size: pipes cannot grow here (%d)\n", sz);
    else
        CHECK(sz >= 256 << 10);
    close(p[0]);
    close(p[1]);
    CHECK_INT(os_pipe_size(0x7fff, 4096) < 0, 1);
}

static void test_unix_addr(void)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    CHECK_INT(os_unix_addr("/run/x.sock", &sa, &len), 0);
    CHECK_STR(sa.sun_path, "/run/x.sock");
    CHECK_INT(len, offsetof(struct sockaddr_un, sun_path) + 12);
    CHECK_INT(os_unix_addr("@roster-1-1", &sa, &len), 0);
    CHECK_INT(sa.sun_path[0], 0);
    CHECK(memcmp(sa.sun_path + 1, "roster-1-1", 10) == 0);
    CHECK_INT(len, offsetof(struct sockaddr_un, sun_path) + 11);
    CHECK_INT(os_unix_addr("", &sa, &len), -EINVAL);
    CHECK_INT(os_unix_addr("@", &sa, &len), -EINVAL);
    char name[200];
    memset(name, 'a', sizeof name);
    name[0] = '/';
    name[sizeof sa.sun_path - 1] = '\0'; /* 107 bytes: the most that fits */
    CHECK_INT(os_unix_addr(name, &sa, &len), 0);
    name[sizeof sa.sun_path - 1] = 'a';
    name[sizeof sa.sun_path] = '\0';
    CHECK_INT(os_unix_addr(name, &sa, &len), -ENAMETOOLONG);
}

static void test_credentials(void)
{
    int sv[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    int rc = os_passcred(sv[0]);
    char buf[64];
    pid_t sender = -1;
    CHECK_INT(os_recv_cred(sv[0], buf, sizeof buf, &sender), -EAGAIN);
    CHECK_INT(sender, 0);
    CHECK_INT(send(sv[1], "READY=1", 7, 0), 7);
    CHECK_INT(os_recv_cred(sv[0], buf, sizeof buf, &sender), 7);
    CHECK_STR(buf, "READY=1");
    if (rc == -ENOSYS)
        printf("SKIP os_recv_cred: senders are not known here\n");
    else
        CHECK_INT(sender, getpid());

    /* a descriptor passed along is closed: once ours goes too, the pipe's reader sees EOF */
    int p[2];
    CHECK_INT(pipe(p), 0);
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = {"WATCHDOG=1", 10};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b, .msg_controllen = sizeof cbuf.b};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    CHECK_INT(sendmsg(sv[1], &mh, 0), 10);
    CHECK_INT(os_recv_cred(sv[0], buf, sizeof buf, &sender), 10);
    CHECK_STR(buf, "WATCHDOG=1");
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char ch;
    ssize_t r = read(p[0], &ch, 1);
    /* -1 with EAGAIN would mean a write end is still open somewhere: the passed one leaked */
    CHECK_INT(r, 0);
    close(p[0]);

    /* a message longer than the buffer is cut, and still terminated */
    CHECK_INT(send(sv[1], "STATUS=0123456789", 17, 0), 17);
    char small[8];
    CHECK_INT(os_recv_cred(sv[0], small, sizeof small, &sender), 7);
    CHECK_STR(small, "STATUS=");
    close(sv[0]);
    close(sv[1]);
}

/* In a child: become a subreaper, then orphan a grandchild; it must be reparented to us. */
static void test_subreaper(void)
{
    int rep[2];
    CHECK_INT(pipe(rep), 0);
    pid_t child = fork();
    if (child == 0) {
        int rc = os_set_subreaper();
        if (rc < 0) {
            int code = rc == -ENOSYS ? 3 : 4;
            _exit(code);
        }
        pid_t mid = fork();
        if (mid == 0) {
            pid_t parent = getpid(); /* before the fork: it may be gone before the child runs */
            if (fork() == 0) {
                /* the grandchild: once its parent is gone, say who adopted it (5 s at most) */
                pid_t pp = getppid();
                for (int i = 0; i < 500 && pp == parent; i++) {
                    usleep(10000);
                    pp = getppid();
                }
                ssize_t w = write(rep[1], &pp, sizeof pp);
                _exit(w == (ssize_t)sizeof pp ? 0 : 1);
            }
            _exit(0);
        }
        waitpid(mid, NULL, 0);
        /* reap the adopted grandchild, as roster would */
        int st;
        while (wait(&st) > 0) {
        }
        _exit(0);
    }
    close(rep[1]);
    pid_t adopted = 0;
    ssize_t n = read(rep[0], &adopted, sizeof adopted);
    close(rep[0]);
    int st = 0;
    CHECK_INT(waitpid(child, &st, 0), child);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
        printf("SKIP os_set_subreaper: not here\n");
        return;
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(n, sizeof adopted);
    CHECK_INT(adopted, child);
}

/* proc_scan lists this process's children that are not known, with ROSTER_ROLE and
 * ROSTER_INSTANCE from their environment, and measures groups. */
static void test_scan(void)
{
    pid_t kid = fork();
    if (kid == 0) {
        char *argv[] = {"sleep", "31", NULL};
        char *envp[] = {"A=1", "ROSTER_ROLE=web", "ROSTER_INSTANCE=2", NULL};
        setpgid(0, 0);
        execve("/bin/sleep", argv, envp);
        _exit(127);
    }
    CHECK(kid > 0);
    setpgid(kid, kid);
    pid_t pgids[1] = {kid};
    uint64_t rss[1];
    struct proc_child kids[8];
    struct proc_scan sc = {.pgids = pgids, .rss = rss, .n = 0, .parent = getpid(), .kids = kids,
                           .max = 8};
    /* until the child has exec'd, its environment is ours */
    bool seen = false;
    for (int i = 0; i < 500 && !seen; i++) {
        proc_scan(&sc);
        for (size_t k = 0; k < sc.nkids && k < sc.max; k++)
            seen |= kids[k].pid == kid && !strcmp(kids[k].role, "web");
        if (!seen) usleep(10000);
    }
    if (!seen && sc.nkids == 0) {
        printf("SKIP proc_scan: no /proc of this PID namespace here\n");
    } else {
        CHECK(seen);
        CHECK_INT(sc.nkids, 1);
        CHECK_INT(kids[0].pid, kid);
        CHECK_INT(kids[0].pgrp, kid);
        CHECK_INT(kids[0].instance, 2);
        CHECK_STR(kids[0].comm, "sleep");
        CHECK(kids[0].start_ticks > 0);
        /* known: not listed */
        pid_t known[1] = {kid};
        sc.known = known;
        sc.nknown = 1;
        proc_scan(&sc);
        CHECK_INT(sc.nkids, 0);
        /* in a measured group: not listed either */
        sc.nknown = 0;
        sc.n = 1;
        proc_scan(&sc);
        CHECK_INT(sc.nkids, 0);
        CHECK(rss[0] > 0);
        /* no room: still counted */
        sc.n = 0;
        sc.max = 0;
        proc_scan(&sc);
        CHECK_INT(sc.nkids, 1);
    }
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
}

/* Spawns sh -c script with fd3 as the child's fd 3; returns its exit status (or -1 with err). */
static int spawn_wait(const char *script, int fd3, char *err, size_t errlen)
{
    char *const argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)script, NULL};
    char *const envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
    struct spawn_opts o = {.argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = 2,
                           .stderr_fd = 2, .fd3 = fd3};
    pid_t pid;
    int rc = proc_spawn(&o, &pid, err, errlen);
    int st = 0;
    if (pid > 0) waitpid(pid, &st, 0);
    return rc < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_spawn_fd3(void)
{
    /* whatever holds fd 3 here (an earlier test's descriptor) steps aside for the test */
    int held = fcntl(3, F_DUPFD_CLOEXEC, 20);
    if (held >= 0) close(3);
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    /* fd 3 left free, so that proc_spawn's error pipe lands on it in the child too */
    int mine = fcntl(sv[0], F_DUPFD_CLOEXEC, 10);
    int child = fcntl(sv[1], F_DUPFD_CLOEXEC, 11);
    int stray = fcntl(sv[1], F_DUPFD, 12); /* not close-on-exec: the child must not get it */
    close(sv[0]);
    close(sv[1]);
    CHECK(fcntl(3, F_GETFD) < 0);
    char err[256] = "", script[200];
    snprintf(script, sizeof script, "printf ok >&3 && test ! -e /proc/$$/fd/%d && test ! -e "
                                    "/proc/$$/fd/%d", child, stray);
    CHECK_INT(spawn_wait(script, child, err, sizeof err), 0);
    char buf[16] = "";
    CHECK_INT(recv(mine, buf, sizeof buf, MSG_DONTWAIT), 2);
    CHECK_STR(buf, "ok");
    /* an exec that fails is still reported, through the moved error pipe */
    char *const argv[] = {(char *)"no-such-command-here", NULL};
    char *const envp[] = {(char *)"PATH=/nonexistent", NULL};
    struct spawn_opts o = {.argv = argv, .envp = envp, .stdin_fd = -1, .stdout_fd = 2,
                           .stderr_fd = 2, .fd3 = child};
    pid_t pid = 0;
    CHECK(fcntl(3, F_GETFD) < 0);
    CHECK_INT(proc_spawn(&o, &pid, err, sizeof err), -ENOENT);
    CHECK_STR(err, "command not found: no-such-command-here");
    if (pid > 0) waitpid(pid, NULL, 0);
    /* without fd3, the child has no fd 3 */
    CHECK_INT(spawn_wait("test ! -e /proc/$$/fd/3", 0, err, sizeof err), 0);
    close(mine);
    close(child);
    close(stray);
    if (held >= 0) {
        dup2(held, 3);
        close(held);
    }
}

int main(void)
{
    test_stat_parse();
    test_stat_self();
    test_close_from();
    test_pipe();
    test_unix_addr();
    test_credentials();
    test_subreaper();
    test_scan();
    test_spawn_fd3();
    return t_done("os");
}
