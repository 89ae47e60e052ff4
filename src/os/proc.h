/* proc.h — starting children and handling their process groups. roster forks and execs itself
 * rather than using uv_spawn, because it reaps with waitpid(-1) (orphans included) and libuv's
 * SIGCHLD handling would only reap its own children. */
#ifndef ROSTER_PROC_H
#define ROSTER_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"

struct spawn_opts {
    char *const *argv; /* argv[0] is found along the PATH of envp unless it has a '/' */
    char *const *envp;
    const char *cwd; /* or NULL */
    bool set_user;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    int stdin_fd; /* -1: /dev/null */
    int stdout_fd, stderr_fd;
    bool new_group; /* its own process group (roles); probes share it too */
    /* A session of its own (setsid: also a process group whose id is the pid) with stdin_fd, a
     * pty slave, as its controlling terminal (tty: true). */
    bool ctty;
    /* A descriptor that becomes the child's fd 3 (a builtin role's status channel,
     * ROSTER_STATUS_FD), or 0 for none; every other descriptor above 2 is closed at exec. */
    int fd3;
};

/* The PATH a child without one in its environment searches. */
#define PROC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* Where proc_spawn looks for prog, in order: prog itself when it has a '/', else prog in each
 * directory of path ($PATH's syntax; an empty entry is the working directory, "./prog").
 * Appends to out (the caller frees). Relative candidates are relative to the child's cwd. */
void proc_candidates(const char *prog, const char *path, strvec *out);
/* Forks and execs. Returns 0 with *pid set, or -errno with a message in err (the exec's own
 * failure, such as "command not found: foo", is reported here, not as an exit). */
int proc_spawn(const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen);
/* Sends sig to every process in the group; 0 or -errno (-ESRCH: the group is empty). */
int proc_signal_group(pid_t pgid, int sig);
/* True while any process of the group exists. */
bool proc_group_alive(pid_t pgid);
/* A child of roster found by proc_scan: a process reparented to it (an orphan), or one it
 * spawned meanwhile. */
struct proc_child {
    pid_t pid, pgrp, session;
    uint64_t start_ticks; /* with pid, names one process */
    char comm[64];
    char role[64]; /* ROSTER_ROLE in its environment (inherited from a role), or "" */
    int instance;  /* ROSTER_INSTANCE, or -1 */
};

/* What proc_scan looks for, and finds. */
struct proc_scan {
    const pid_t *pgids; /* in: groups to measure */
    uint64_t *rss;      /* out: resident memory of each, in bytes (0 where there is no /proc) */
    size_t n;
    pid_t parent;       /* in: whose children to list (0: none) */
    const pid_t *known; /* in: children not to list (its own instances), sorted ascending;
                           nor is one in a group of pgids */
    size_t nknown;
    struct proc_child *kids; /* out: up to max children of parent not in known */
    size_t max;
    size_t nkids; /* how many there are, which may be more than max */
};

/* One pass over /proc for both: memory per group and the children of sc->parent. A listed
 * child's environment is read (its own user's or root's processes only) for the role it
 * came from. No children are listed when /proc is another PID namespace's. */
void proc_scan(struct proc_scan *sc);

#endif
