/* lifecycle.c — the instance lifecycle table and the restart decision. See lifecycle.h. */
#include "supervise/lifecycle.h"

#include <stddef.h>
#include <string.h>

#include "base/backoff.h"

#define T(st, act)  {st, act}
#define IGN         {ST__COUNT, ACT_IGNORE}
#define DECIDE      {ST__COUNT, ACT_DECIDE}
#define STAY(st)    {st, ACT_NONE}

/* One row per state, one column per event (the order of enum inst_event):
 *   START  GATES_OPEN  SPAWNED  READY  FAIL  STOP  RESTART  LEADER_GONE  GROUP_GONE  TIMER */
static const struct inst_transition table[ST__COUNT][EV__COUNT] = {
    [ST_DOWN] = {T(ST_STARTING, ACT_CHECK_GATES), IGN, IGN, IGN, IGN, IGN, STAY(ST_DOWN), IGN,
                 IGN, IGN},
    [ST_STARTING] = {IGN, T(ST_STARTING, ACT_SPAWN), STAY(ST_RUNNING), IGN, IGN,
                     T(ST_DOWN, ACT_CANCEL), T(ST_DOWN, ACT_CANCEL), IGN, DECIDE, IGN},
    [ST_RUNNING] = {IGN, IGN, IGN, STAY(ST_READY), T(ST_FAILING, ACT_SIGNAL_STOP),
                    T(ST_STOPPING, ACT_SIGNAL_STOP), T(ST_RESTARTING, ACT_SIGNAL_STOP),
                    T(ST_EXITING, ACT_SIGNAL_STOP), DECIDE, IGN},
    [ST_READY] = {IGN, IGN, IGN, IGN, T(ST_FAILING, ACT_SIGNAL_STOP),
                  T(ST_STOPPING, ACT_SIGNAL_STOP), T(ST_RESTARTING, ACT_SIGNAL_STOP),
                  T(ST_EXITING, ACT_SIGNAL_STOP), DECIDE, IGN},
    [ST_STOPPING] = {IGN, IGN, IGN, IGN, IGN, IGN, STAY(ST_RESTARTING), IGN, DECIDE,
                     T(ST_STOPPING, ACT_KILL)},
    [ST_RESTARTING] = {IGN, IGN, IGN, IGN, IGN, STAY(ST_STOPPING), IGN, IGN, DECIDE,
                       T(ST_RESTARTING, ACT_KILL)},
    [ST_FAILING] = {IGN, IGN, IGN, IGN, IGN, STAY(ST_STOPPING), STAY(ST_RESTARTING), IGN, DECIDE,
                    T(ST_FAILING, ACT_KILL)},
    [ST_EXITING] = {IGN, IGN, IGN, IGN, IGN, STAY(ST_STOPPING), STAY(ST_RESTARTING), IGN, DECIDE,
                    T(ST_EXITING, ACT_KILL)},
    [ST_BACKOFF] = {IGN, IGN, IGN, IGN, IGN, T(ST_DOWN, ACT_CANCEL), T(ST_DOWN, ACT_CANCEL), IGN,
                    IGN, STAY(ST_DOWN)},
    [ST_EXITED] = {IGN, IGN, IGN, IGN, IGN, IGN, STAY(ST_DOWN), IGN, IGN, IGN},
    [ST_FAILED] = {IGN, IGN, IGN, IGN, IGN, IGN, STAY(ST_DOWN), IGN, IGN, IGN},
    [ST_GIVEN_UP] = {IGN, IGN, IGN, IGN, IGN, IGN, STAY(ST_DOWN), IGN, IGN, IGN},
};

struct inst_transition lifecycle_step(enum inst_state st, enum inst_event ev)
{
    if ((unsigned)st >= ST__COUNT || (unsigned)ev >= EV__COUNT)
        return (struct inst_transition)IGN;
    return table[st][ev];
}

const char *inst_state_name(enum inst_state s)
{
    /* The names /health, /metrics and `roster status` show: the four ways of stopping are one
     * "stopping" there, and a failed end is "exited" with a failing status. */
    switch (s) {
    case ST_DOWN: return "stopped";
    case ST_STARTING: return "starting";
    case ST_RUNNING: return "running";
    case ST_READY: return "ready";
    case ST_STOPPING:
    case ST_RESTARTING:
    case ST_FAILING:
    case ST_EXITING: return "stopping";
    case ST_BACKOFF: return "backoff";
    case ST_EXITED:
    case ST_FAILED: return "exited";
    case ST_GIVEN_UP: return "given_up";
    case ST__COUNT: break;
    }
    return "?";
}

const char *inst_event_name(enum inst_event e)
{
    static const char *const names[EV__COUNT] = {
        "start", "gates_open", "spawned", "ready", "fail",
        "stop", "restart", "leader_gone", "group_gone", "timer",
    };
    return (unsigned)e < EV__COUNT ? names[e] : "?";
}

bool inst_state_alive(enum inst_state s)
{
    return s == ST_RUNNING || s == ST_READY || inst_state_stopping(s);
}

bool inst_state_stopping(enum inst_state s)
{
    return s == ST_STOPPING || s == ST_RESTARTING || s == ST_FAILING || s == ST_EXITING;
}

bool inst_state_ended(enum inst_state s)
{
    return s == ST_EXITED || s == ST_FAILED || s == ST_GIVEN_UP;
}

struct restart_output restart_decide(const struct restart_input *in)
{
    struct restart_output out = {.consecutive = in->consecutive};
    if (in->shutting_down || in->from == ST_STOPPING) {
        out.verdict = RV_DOWN;
        return out;
    }
    if (in->from == ST_RESTARTING) {
        /* asked for by the operator: not a crash, so backoff starts over */
        out.verdict = RV_RESTART;
        out.consecutive = 0;
        return out;
    }
    bool success = in->success && in->from != ST_FAILING;
    bool restart = in->policy == RESTART_ALWAYS || (in->policy == RESTART_ON_FAILURE && !success);
    if (in->oneshot && success) restart = false;
    if (!restart) {
        out.verdict = success ? RV_EXITED : RV_FAILED;
        return out;
    }
    /* a crash: a run longer than backoff.reset_after forgets the earlier ones */
    out.consecutive = (in->uptime_ms >= in->backoff_reset_ms ? 0 : in->consecutive) + 1;
    if (in->recent + 1 > in->give_up_after) {
        out.verdict = RV_GIVE_UP;
        return out;
    }
    out.delay_ms =
        backoff_delay_ms(in->backoff_initial_ms, in->backoff_max_ms, out.consecutive, in->r01);
    out.verdict = out.delay_ms ? RV_RESTART_LATER : RV_RESTART_NOW;
    return out;
}

enum inst_state restart_verdict_state(enum restart_verdict v)
{
    switch (v) {
    case RV_DOWN:
    case RV_RESTART:
    case RV_RESTART_NOW: return ST_DOWN;
    case RV_RESTART_LATER: return ST_BACKOFF;
    case RV_GIVE_UP: return ST_GIVEN_UP;
    case RV_EXITED: return ST_EXITED;
    case RV_FAILED: return ST_FAILED;
    }
    return ST_DOWN;
}

bool restart_verdict_is_crash(enum restart_verdict v)
{
    return v == RV_RESTART_NOW || v == RV_RESTART_LATER || v == RV_GIVE_UP;
}

const char *restart_verdict_name(enum restart_verdict v)
{
    static const char *const names[] = {"down",    "restart",  "restart_now", "restart_later",
                                        "give_up", "exited",   "failed"};
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "?";
}

/* The first failure, by order of ending, among the ends that are (or, with skip, are not) the
 * role's; 0 when there is none. */
static int first_failure(const struct run_end *ends, size_t n, const char *role, bool skip)
{
    const struct run_end *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (role && (strcmp(ends[i].role, role) == 0) == skip) continue;
        if (ends[i].status != 0 && (!first || ends[i].seq < first->seq)) first = &ends[i];
    }
    return first ? first->status : 0;
}

int run_exit_code(const struct run_end *ends, size_t n, const struct exit_config *rule)
{
    switch (rule->success) {
    case EXIT_SUCCESS_ALL: return first_failure(ends, n, NULL, false);
    case EXIT_SUCCESS_FIRST:
    case EXIT_SUCCESS_LAST: {
        const struct run_end *pick = NULL;
        bool first = rule->success == EXIT_SUCCESS_FIRST;
        for (size_t i = 0; i < n; i++)
            if (!pick || (first ? ends[i].seq < pick->seq : ends[i].seq > pick->seq))
                pick = &ends[i];
        return pick ? pick->status : 0;
    }
    case EXIT_SUCCESS_ROLE: {
        bool ended = false;
        for (size_t i = 0; i < n; i++)
            ended |= strcmp(ends[i].role, rule->role) == 0;
        return ended ? first_failure(ends, n, rule->role, false) : 1;
    }
    case EXIT_SUCCESS_NOT_ROLE: return first_failure(ends, n, rule->role, true);
    }
    return 1;
}
