/* lifecycle.h — the life of one role instance as a state × event table, and the decision made
 * when its process has ended. Pure: no loop, no processes; supervisor.c dispatches events
 * through lifecycle_step() and runs the entry action of the state it lands in.
 *
 *              want up, deps met                gates open          ready
 *   down ───────────────────────> starting ────────────────> running ─────> ready
 *    ^  ^                            │ stop                    │  │           │
 *    │  └────────────────────────────┘                         │  │ leader    │ (same edges
 *    │          stop/restart/fail: stopping, restarting, failing   │ gone      │  as running)
 *    │                                      │                    v
 *    │                                      │                 exiting (group still alive)
 *    │              group empty             v                    │
 *    └──── down <─── (decide: restart_decide) <─────────────────┘
 *                          ├──> backoff ──timer──> down
 *                          └──> exited | failed | given_up
 *
 * What the operator wants (up or down) is not a state: it is the role's goal, kept by the
 * supervisor and read by reconcile, which sends EV_START or EV_STOP. Why an instance is stopping
 * is a state of its own (stopping: goal down; restarting: an operator restart; failing: a failed
 * probe, memory, readiness timeout; exiting: its main process ended and its group is stopped). */
#ifndef ROSTER_LIFECYCLE_H
#define ROSTER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

enum inst_state {
    ST_DOWN,       /* not running and not about to: before its start, or stopped on purpose */
    ST_STARTING,   /* dependencies met; waiting on gates (services, budget, lock) to spawn */
    ST_RUNNING,    /* process alive, not (yet) ready */
    ST_READY,      /* process alive and ready */
    ST_STOPPING,   /* stop signal sent because the goal is down (stop, shutdown, reload) */
    ST_RESTARTING, /* stop signal sent for an operator restart: back up once the group is gone */
    ST_FAILING,    /* stop signal sent because it failed (liveness, memory, ready timeout) */
    ST_EXITING,    /* its main process ended; the rest of its group got the stop signal */
    ST_BACKOFF,    /* crashed; a restart is scheduled */
    ST_EXITED,     /* ended successfully and will not be restarted (a oneshot's normal end) */
    ST_FAILED,     /* ended unsuccessfully and will not be restarted */
    ST_GIVEN_UP,   /* crashed too often; left down */
    ST__COUNT
};

enum inst_event {
    EV_START,       /* reconcile: the goal is up and the dependencies are met */
    EV_GATES_OPEN,  /* every start gate is open: spawn */
    EV_SPAWNED,     /* the process runs */
    EV_READY,       /* a probe passed, READY=1 came, or there is no ready check */
    EV_FAIL,        /* a liveness check, the watchdog, max_memory or the ready timeout failed */
    EV_STOP,        /* the goal went down (operator stop, shutdown, reload) */
    EV_RESTART,     /* an operator restart */
    EV_LEADER_GONE, /* the main process was reaped but its process group lives on */
    EV_GROUP_GONE,  /* the main process was reaped and its group is empty: the process ended */
    EV_TIMER,       /* the instance's timer fired: backoff over, or stop.timeout passed */
    EV__COUNT
};

/* What the supervisor does on a transition, besides entering the new state. */
enum inst_action {
    ACT_NONE,
    ACT_CHECK_GATES, /* ask the gates; EV_GATES_OPEN when all are open */
    ACT_SPAWN,       /* fork/exec; EV_SPAWNED or EV_GROUP_GONE (exec failed) follows */
    ACT_SIGNAL_STOP, /* the role's stop signal to the group, SIGKILL after stop.timeout */
    ACT_KILL,        /* SIGKILL to the group (stop.timeout passed) */
    ACT_CANCEL,      /* forget a pending start: stop the timer, release the gates */
    ACT_DECIDE,      /* the process ended: restart_decide() picks the next state */
    ACT_IGNORE,      /* the event means nothing in this state */
};

struct inst_transition {
    enum inst_state next; /* ST__COUNT: decided by the action (ACT_DECIDE, ACT_SPAWN) */
    enum inst_action action;
};

/* The table: what event ev does in state st. */
struct inst_transition lifecycle_step(enum inst_state st, enum inst_event ev);

const char *inst_state_name(enum inst_state s);
const char *inst_event_name(enum inst_event e);
/* A process exists (running, ready, or being stopped). */
bool inst_state_alive(enum inst_state s);
/* Stopping in one of its four ways. */
bool inst_state_stopping(enum inst_state s);
/* Ended for good until the operator starts it again. */
bool inst_state_ended(enum inst_state s);

/* ---- the decision after a process ended ------------------------------------------------- */

struct restart_input {
    enum inst_state from; /* the state the instance was in when its group emptied */
    bool oneshot;
    enum restart_policy policy; /* RESTART_ALWAYS, RESTART_ON_FAILURE or RESTART_NEVER */
    bool success;       /* the process exited with code 0 */
    bool shutting_down; /* roster is stopping everything */
    uint64_t uptime_ms; /* how long the process ran */
    unsigned consecutive; /* consecutive crash restarts so far */
    unsigned recent;      /* crash restarts within give_up.within, before this one */
    unsigned give_up_after;
    uint64_t backoff_initial_ms, backoff_max_ms, backoff_reset_ms;
    double r01; /* in [0, 1): picks the jitter */
};

enum restart_verdict {
    RV_DOWN,          /* stopped on purpose: down */
    RV_RESTART,       /* operator restart: down, and reconcile starts it (not a crash) */
    RV_RESTART_NOW,   /* a crash, restarted at once (through reconcile) */
    RV_RESTART_LATER, /* a crash, restarted after delay_ms (backoff) */
    RV_GIVE_UP,       /* crashed too often */
    RV_EXITED,        /* done, successfully */
    RV_FAILED,        /* done, unsuccessfully, not restarted */
};

struct restart_output {
    enum restart_verdict verdict;
    uint64_t delay_ms;    /* RV_RESTART_LATER: the backoff delay */
    unsigned consecutive; /* the new count of consecutive crash restarts */
};

/* What happens to an instance whose process (group) has ended. Pure. */
struct restart_output restart_decide(const struct restart_input *in);
/* The state a verdict leads to. */
enum inst_state restart_verdict_state(enum restart_verdict v);
/* Whether a verdict counts as a crash for backoff and give_up. */
bool restart_verdict_is_crash(enum restart_verdict v);
const char *restart_verdict_name(enum restart_verdict v);

/* ---- the run's exit code ---------------------------------------------------------------- */

/* The last end of one instance that ended on its own (not stopped by roster: a stop for a
 * shutdown, an operator stop or restart does not count, nor does a role killed because another
 * ended, which is concurrently #187). */
struct run_end {
    const char *role; /* the role's name */
    int status;       /* shell-style: 0, the exit code, or 128 + the signal; never 0 for a
                         failure */
    uint64_t seq;     /* the order of the ends, from 1 */
};

/* The run's exit code as rule->success reads these ends (given in any order), concurrently's
 * --success with the failing role's own status instead of 1: all: 0, or the status of the
 * first failure; first/last: the status of the first/last end (0 with none); ROLE: the first
 * failure among its ends, 1 when it has none (it never ended on its own); !ROLE: the first
 * failure among the other roles' ends. Pure. */
int run_exit_code(const struct run_end *ends, size_t n, const struct exit_config *rule);

#endif
