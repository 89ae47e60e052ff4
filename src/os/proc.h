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
/* Resident memory of each process group in pgids[0..n), in bytes: one pass over /proc (all 0
 * where there is no /proc). */
void proc_groups_rss(const pid_t *pgids, uint64_t *rss, size_t n);

#endif
