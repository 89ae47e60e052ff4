/* cmdrun.h — a built-in role's command on the loop, as the scheduler (a schedule's command) and
 * the worker (a job's command handler) run one: a process group of its own (setsid), its stdout
 * and stderr split into lines and relayed, each marked with the task's name (log/taskmark.h), to
 * the same stream of this process; a line longer than max_line goes out in pieces. Once the
 * process exits its pipes are read for a drain period more (a grandchild that keeps them open does
 * not hold the run); terminating it sends the group SIGTERM, then SIGKILL after a grace. The
 * caller keeps its own timeout and says what the outcome is; this module only runs and relays. */
#ifndef ROSTER_CMDRUN_H
#define ROSTER_CMDRUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

#include "base/util.h"
#include "log/linebuf.h"

struct cmdrun;

/* The process exited (cr->exit_status, cr->term_signal are set); the drain has begun. */
typedef void (*cmdrun_exit_cb)(void *ud, struct cmdrun *cr);
/* The run's handles are all closed (after the drain, or after a start that failed); cr may be
 * freed from here on. */
typedef void (*cmdrun_done_cb)(void *ud, struct cmdrun *cr);

struct cmdrun_opts {
    char **argv, **env; /* NULL-terminated; borrowed for the call */
    const char *cwd;    /* NULL: this process's */
    const char *mark;   /* the task's name its lines carry (copied) */
    /* the child's stdin: a pipe the caller initialized (made readable for the child), or NULL for
     * none */
    uv_pipe_t *in;
    FILE *out, *err; /* where its lines go; NULL: stdout, stderr */
    size_t max_line; /* a line is relayed in pieces of at most this many bytes */
    uint64_t drain_ms, grace_ms;
    /* at exit, SIGKILL to what is left of the group (a job's leftovers die with it); otherwise
     * the group is killed at exit only when it was being terminated */
    bool kill_at_exit;
    cmdrun_exit_cb on_exit;
    cmdrun_done_cb on_done;
    void *ud;
};

/* One output stream of the command. */
struct cmdrun_stream {
    uv_pipe_t pipe;
    struct linebuf lb;
    struct cmdrun *cr;
    FILE *out;
    bool open;
};

struct cmdrun {
    uv_process_t proc;
    pid_t pid; /* the command's, also its group's id; 0: not started */
    bool exited;
    int64_t exit_status;
    int term_signal;
    /* private */
    struct cmdrun_stream out, err;
    uv_timer_t timer; /* the kill grace, then the drain */
    enum { CMDRUN_RUNNING, CMDRUN_GRACE, CMDRUN_DRAIN } phase;
    int pending; /* handles still to close */
    char *mark;
    bool kill_at_exit;
    uint64_t drain_ms, grace_ms;
    cmdrun_exit_cb on_exit;
    cmdrun_done_cb on_done;
    void *ud;
};

/* Spawns the command. Returns 0, or a negative uv error (the command did not start: on_done is
 * still called, on the loop, once the handles are closed; on_exit is not). */
int cmdrun_start(struct cmdrun *cr, uv_loop_t *loop, const struct cmdrun_opts *o);
/* SIGTERM to the group, SIGKILL after the grace; nothing once it exited or when it is already
 * being terminated, or when it never started. */
void cmdrun_terminate(struct cmdrun *cr);
/* The command's words into argv: words as written when shell is NULL; else shell split when it
 * needs no shell, or /bin/sh -c shell (as roster runs a role's command). */
void cmdrun_argv(const char *shell, const strvec *words, strvec *argv);
/* Sends sig to the command's group (nothing when it never started). */
void cmdrun_kill(struct cmdrun *cr, int sig);

#endif
