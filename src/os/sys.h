/* sys.h — the Linux-specific calls roster makes, in one place: prctl, close_range, /proc,
 * F_SETPIPE_SZ, pipe2, abstract unix sockets and SCM_CREDENTIALS. Each has a fallback for where
 * the call is missing (an older kernel, a seccomp profile, gVisor, another Unix), so a port or a
 * sandbox touches this file only. Errors are negative errno; -ENOSYS means "not here". */
#ifndef ROSTER_SYS_H
#define ROSTER_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Makes this process a child subreaper (orphans of its descendants are reparented to it, so it
 * can reap them). 0 when done or when this is PID 1 (which is the reaper anyway); -ENOSYS where
 * there is no such thing (kernels before 3.4, other systems), or another -errno. */
int os_set_subreaper(void);

/* Closes every descriptor from lowfd up, or with on_exec marks them close-on-exec (so a
 * descriptor still needed until exec, such as a pipe that reports exec failures, stays open).
 * close_range(2) first; where it is missing (-ENOSYS, or -EINVAL for CLOSE_RANGE_CLOEXEC before
 * Linux 5.11) the descriptors listed in /proc/self/fd; without /proc, each number up to the
 * open-file limit. Async-signal-safe: it runs in a forked child of a threaded parent. 0 or
 * -errno. */
int os_close_from(int lowfd, bool on_exec);
/* The two fallbacks on their own, so tests can run each where close_range exists. */
int os_close_from_proc(int lowfd, bool on_exec);
int os_close_from_rlimit(int lowfd, bool on_exec);

/* A pipe with both ends close-on-exec (pipe2, else pipe then FD_CLOEXEC: not atomic against a
 * concurrent fork, which roster's own forks tolerate since they mark everything close-on-exec).
 * With size > 0, its buffer is grown to about size bytes where pipes can be resized; a pipe
 * that cannot grow still works, only with more wake-ups. 0 or -errno. */
int os_pipe(int fds[2], size_t size);
/* Sets the pipe's buffer to at least bytes: the size it now has, or -errno (-ENOSYS where pipe
 * buffers cannot be resized; -EPERM beyond /proc/sys/fs/pipe-max-size). */
int os_pipe_size(int fd, size_t bytes);

/* What roster reads of a process from /proc/PID/stat. */
struct os_proc_stat {
    pid_t pid;
    char comm[64]; /* the command name, which may hold spaces and parentheses */
    char state;    /* R, S, D, Z, T ... */
    pid_t ppid, pgrp, session;
    uint64_t start_ticks; /* when it started, in clock ticks after boot: with pid, names one
                             process (a pid alone may be reused) */
    uint64_t rss_pages;   /* resident set, in pages */
};

/* Parses one /proc/PID/stat line: 0, or -EINVAL when it is not one. */
int os_proc_stat_parse(const char *line, struct os_proc_stat *out);
/* Reads and parses /proc/PID/stat: 0, or -errno (-ENOENT: no such process, or no /proc). */
int os_proc_stat(pid_t pid, struct os_proc_stat *out);

/* Fills *sa and *len for a unix socket name: a file path, or "@name" for Linux's abstract
 * namespace (no file; gone with the last descriptor). 0, -EINVAL for an empty name,
 * -ENAMETOOLONG when it does not fit sun_path (107 bytes), -EAFNOSUPPORT for "@name" where
 * there is no abstract namespace (the caller falls back to a path). */
int os_unix_addr(const char *name, struct sockaddr_un *sa, socklen_t *len);
/* Asks the kernel to attach each sender's credentials to datagrams on fd (SO_PASSCRED).
 * 0, or -errno (-ENOSYS where senders cannot be known: os_recv_cred then reports none). */
int os_passcred(int fd);
/* Receives one datagram without blocking into buf (NUL-terminated, so at most size - 1 bytes),
 * with the sending process in *sender (0 when the kernel did not say). Descriptors passed along
 * with it are closed. The length, or -errno (-EAGAIN: nothing waiting). */
ssize_t os_recv_cred(int fd, char *buf, size_t size, pid_t *sender);

/* A descriptor that becomes readable at a wall-clock instant (timerfd on CLOCK_REALTIME), for
 * timers finer than the loop's milliseconds; non-blocking and close-on-exec. The descriptor, or
 * -errno (-ENOSYS where there is none: the caller keeps to its loop timer). */
int os_alarm_fd(void);
/* Sets fd to become readable once the wall clock reaches when_ns (nanoseconds since the epoch;
 * right away when that has passed), and drains a previous expiry. 0 or -errno. */
int os_alarm_set(int fd, int64_t when_ns);

#endif
