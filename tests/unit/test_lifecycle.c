/* test_lifecycle.c — the instance lifecycle table and the restart decision, both pure. The
 * expected table is written out here cell by cell, from what each transition means, not copied
 * from lifecycle.c: a changed cell in the code fails until someone changes it here too, on
 * purpose. */
#include <stdio.h>
#include <string.h>

#include "supervise/lifecycle.h"
#include "t.h"

/* ---- the state × event table ------------------------------------------------------------- */

/* "decided": the next state is picked by the action (restart_decide after the group emptied). */
#define DECIDED ST__COUNT

struct cell {
    enum inst_state st;
    enum inst_event ev;
    enum inst_state next;
    enum inst_action act;
};

/* Every cell that does something; every other cell of the table is ignored. */
static const struct cell expected[] = {
    /* down: a start (goal up, dependencies met) asks the gates; an operator restart of a
     * stopped instance leaves it down for reconcile to start. */
    {ST_DOWN, EV_START, ST_STARTING, ACT_CHECK_GATES},
    {ST_DOWN, EV_RESTART, ST_DOWN, ACT_NONE},
    /* starting: gates open → spawn; the spawn reports running, or the group gone at once (a
     * spawn that failed in roster); stop and restart forget the pending start. */
    {ST_STARTING, EV_GATES_OPEN, ST_STARTING, ACT_SPAWN},
    {ST_STARTING, EV_SPAWNED, ST_RUNNING, ACT_NONE},
    {ST_STARTING, EV_STOP, ST_DOWN, ACT_CANCEL},
    {ST_STARTING, EV_RESTART, ST_DOWN, ACT_CANCEL},
    {ST_STARTING, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    /* running and ready: each way of stopping is a state of its own and sends the stop signal */
    {ST_RUNNING, EV_READY, ST_READY, ACT_NONE},
    {ST_RUNNING, EV_FAIL, ST_FAILING, ACT_SIGNAL_STOP},
    {ST_RUNNING, EV_STOP, ST_STOPPING, ACT_SIGNAL_STOP},
    {ST_RUNNING, EV_RESTART, ST_RESTARTING, ACT_SIGNAL_STOP},
    {ST_RUNNING, EV_LEADER_GONE, ST_EXITING, ACT_SIGNAL_STOP},
    {ST_RUNNING, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    {ST_READY, EV_FAIL, ST_FAILING, ACT_SIGNAL_STOP},
    {ST_READY, EV_STOP, ST_STOPPING, ACT_SIGNAL_STOP},
    {ST_READY, EV_RESTART, ST_RESTARTING, ACT_SIGNAL_STOP},
    {ST_READY, EV_LEADER_GONE, ST_EXITING, ACT_SIGNAL_STOP},
    {ST_READY, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    /* stopping for the goal: a restart turns it into an operator restart; no second signal */
    {ST_STOPPING, EV_RESTART, ST_RESTARTING, ACT_NONE},
    {ST_STOPPING, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    {ST_STOPPING, EV_TIMER, ST_STOPPING, ACT_KILL},
    /* an operator restart under way: a stop makes the goal win */
    {ST_RESTARTING, EV_STOP, ST_STOPPING, ACT_NONE},
    {ST_RESTARTING, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    {ST_RESTARTING, EV_TIMER, ST_RESTARTING, ACT_KILL},
    /* failing (a failed check) and exiting (leader gone): stop and restart take over */
    {ST_FAILING, EV_STOP, ST_STOPPING, ACT_NONE},
    {ST_FAILING, EV_RESTART, ST_RESTARTING, ACT_NONE},
    {ST_FAILING, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    {ST_FAILING, EV_TIMER, ST_FAILING, ACT_KILL},
    {ST_EXITING, EV_STOP, ST_STOPPING, ACT_NONE},
    {ST_EXITING, EV_RESTART, ST_RESTARTING, ACT_NONE},
    {ST_EXITING, EV_GROUP_GONE, DECIDED, ACT_DECIDE},
    {ST_EXITING, EV_TIMER, ST_EXITING, ACT_KILL},
    /* backoff: the timer puts it down, where reconcile starts it through the dependency gate */
    {ST_BACKOFF, EV_STOP, ST_DOWN, ACT_CANCEL},
    {ST_BACKOFF, EV_RESTART, ST_DOWN, ACT_CANCEL},
    {ST_BACKOFF, EV_TIMER, ST_DOWN, ACT_NONE},
    /* ended for good: only an operator restart (or start) brings it back */
    {ST_EXITED, EV_RESTART, ST_DOWN, ACT_NONE},
    {ST_FAILED, EV_RESTART, ST_DOWN, ACT_NONE},
    {ST_GIVEN_UP, EV_RESTART, ST_DOWN, ACT_NONE},
};

static const char *action_name(enum inst_action a)
{
    static const char *const names[] = {"none", "check_gates", "spawn",  "signal_stop",
                                        "kill", "cancel",      "decide", "ignore"};
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

static void test_table(void)
{
    int cells = 0, acting = 0;
    for (int st = 0; st < ST__COUNT; st++)
        for (int ev = 0; ev < EV__COUNT; ev++) {
            struct cell want = {st, ev, ST__COUNT, ACT_IGNORE};
            int found = 0;
            for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
                if ((int)expected[i].st == st && (int)expected[i].ev == ev) {
                    want = expected[i];
                    found++;
                }
            CHECK(found <= 1); /* the expected list names a cell once */
            acting += found;
            cells++;
            struct inst_transition got = lifecycle_step(st, ev);
            if (got.next != want.next || got.action != want.act)
                fprintf(stderr, "  %s + %s: got %s/%s, expected %s/%s\n", inst_state_name(st),
                        inst_event_name(ev),
                        got.next == ST__COUNT ? "-" : inst_state_name(got.next),
                        action_name(got.action),
                        want.next == ST__COUNT ? "-" : inst_state_name(want.next),
                        action_name(want.act));
            CHECK_INT(got.next, want.next);
            CHECK_INT(got.action, want.act);
        }
    CHECK_INT(cells, 12 * 10); /* every state × every event was looked at */
    CHECK_INT(acting, (int)(sizeof expected / sizeof expected[0]));
    /* out of range: ignored, never read past the table */
    struct inst_transition t = lifecycle_step(ST__COUNT, EV_START);
    CHECK_INT(t.action, ACT_IGNORE);
    t = lifecycle_step(ST_DOWN, EV__COUNT);
    CHECK_INT(t.action, ACT_IGNORE);
    t = lifecycle_step((enum inst_state)(-1), EV_START);
    CHECK_INT(t.action, ACT_IGNORE);
}

/* The four ways of stopping and the three ends, as /health and status name them. */
static void test_state_classes(void)
{
    static const struct {
        enum inst_state st;
        const char *name;
        bool alive, stopping, ended;
    } want[] = {
        {ST_DOWN, "stopped", false, false, false},
        {ST_STARTING, "starting", false, false, false},
        {ST_RUNNING, "running", true, false, false},
        {ST_READY, "ready", true, false, false},
        {ST_STOPPING, "stopping", true, true, false},
        {ST_RESTARTING, "stopping", true, true, false},
        {ST_FAILING, "stopping", true, true, false},
        {ST_EXITING, "stopping", true, true, false},
        {ST_BACKOFF, "backoff", false, false, false},
        {ST_EXITED, "exited", false, false, true},
        {ST_FAILED, "exited", false, false, true},
        {ST_GIVEN_UP, "given_up", false, false, true},
    };
    CHECK_INT(sizeof want / sizeof want[0], ST__COUNT);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_STR(inst_state_name(want[i].st), want[i].name);
        CHECK_INT(inst_state_alive(want[i].st), want[i].alive);
        CHECK_INT(inst_state_stopping(want[i].st), want[i].stopping);
        CHECK_INT(inst_state_ended(want[i].st), want[i].ended);
    }
    CHECK_STR(inst_event_name(EV_GROUP_GONE), "group_gone");
    CHECK_STR(inst_event_name(EV__COUNT), "?");
}

/* ---- restart_decide ---------------------------------------------------------------------- */

/* The defaults of a role: backoff 100ms..30s, reset after 30s of uptime, give up after 10
 * restarts. A case changes what it is about. */
static struct restart_input base_input(void)
{
    return (struct restart_input){
        .from = ST_RUNNING,
        .policy = RESTART_ALWAYS,
        .uptime_ms = 1000,
        .give_up_after = 10,
        .backoff_initial_ms = 100,
        .backoff_max_ms = 30000,
        .backoff_reset_ms = 30000,
        .r01 = 0.5, /* no jitter: the factor is 0.8 + 0.4 × 0.5 = 1 */
    };
}

/* The fields of the input a case changes. */
enum field {
    F_NONE,
    F_FROM,
    F_ONESHOT,
    F_POLICY,
    F_SUCCESS,
    F_SHUTDOWN,
    F_UPTIME,
    F_CONSEC,
    F_RECENT,
    F_GIVE_UP,
    F_INITIAL,
    F_MAX,
    F_R01
};

struct change {
    enum field f;
    double v;
};

struct decide_case {
    const char *name;
    struct change ch[4];
    enum restart_verdict verdict;
    unsigned long long delay_min, delay_max; /* RV_RESTART_LATER: the delay's bounds */
    unsigned consecutive;
};

static void apply(struct restart_input *in, const struct change *c)
{
    switch (c->f) {
    case F_NONE: break;
    case F_FROM: in->from = (enum inst_state)c->v; break;
    case F_ONESHOT: in->oneshot = c->v != 0; break;
    case F_POLICY: in->policy = (enum restart_policy)c->v; break;
    case F_SUCCESS: in->success = c->v != 0; break;
    case F_SHUTDOWN: in->shutting_down = c->v != 0; break;
    case F_UPTIME: in->uptime_ms = (uint64_t)c->v; break;
    case F_CONSEC: in->consecutive = (unsigned)c->v; break;
    case F_RECENT: in->recent = (unsigned)c->v; break;
    case F_GIVE_UP: in->give_up_after = (unsigned)c->v; break;
    case F_INITIAL: in->backoff_initial_ms = (uint64_t)c->v; break;
    case F_MAX: in->backoff_max_ms = (uint64_t)c->v; break;
    case F_R01: in->r01 = c->v; break;
    }
}

#define EXIT0                                                                                      \
    {                                                                                              \
        F_SUCCESS, 1                                                                               \
    }
#define FROM(s)                                                                                    \
    {                                                                                              \
        F_FROM, s                                                                                  \
    }
#define POLICY(p)                                                                                  \
    {                                                                                              \
        F_POLICY, p                                                                                \
    }
#define CONSEC(n)                                                                                  \
    {                                                                                              \
        F_CONSEC, n                                                                                \
    }

static const struct decide_case cases[] = {
    /* restart: always — a service restarts whatever its exit; the first restart is at once */
    {"always, exit 0", {EXIT0}, RV_RESTART_NOW, 0, 0, 1},
    {"always, exit 1", {{F_NONE, 0}}, RV_RESTART_NOW, 0, 0, 1},
    /* killed by a signal: not a success (the supervisor passes success = code 0) */
    {"always, killed by a signal", {{F_SUCCESS, 0}}, RV_RESTART_NOW, 0, 0, 1},
    /* backoff grows: initial × 2^(n-2) for the n-th consecutive restart */
    {"second crash waits initial", {CONSEC(1)}, RV_RESTART_LATER, 100, 100, 2},
    {"third crash waits 2 × initial", {CONSEC(2)}, RV_RESTART_LATER, 200, 200, 3},
    {"fourth crash waits 4 × initial", {CONSEC(3)}, RV_RESTART_LATER, 400, 400, 4},
    {"tenth crash waits 256 × initial", {CONSEC(9)}, RV_RESTART_LATER, 25600, 25600, 10},
    /* ... and is capped at max */
    {"eleventh crash is capped", {CONSEC(10)}, RV_RESTART_LATER, 30000, 30000, 11},
    {"the cap holds far out", {CONSEC(1000)}, RV_RESTART_LATER, 30000, 30000, 1001},
    {"a small max caps early", {CONSEC(3), {F_MAX, 250}}, RV_RESTART_LATER, 250, 250, 4},
    /* jitter keeps the delay within ±20% */
    {"jitter low", {CONSEC(2), {F_R01, 0}}, RV_RESTART_LATER, 160, 160, 3},
    {"jitter high", {CONSEC(2), {F_R01, 0.999}}, RV_RESTART_LATER, 230, 240, 3},
    {"jitter out of range is clamped", {CONSEC(2), {F_R01, 7}}, RV_RESTART_LATER, 230, 240, 3},
    /* backoff.initial: 0ms retries at once however often it crashed (bug 9's config) */
    {"initial 0: always at once",
     {CONSEC(5000), {F_INITIAL, 0}, {F_GIVE_UP, 100000}},
     RV_RESTART_NOW,
     0,
     0,
     5001},
    /* a run longer than reset_after forgets the earlier crashes */
    {"long run resets backoff", {CONSEC(7), {F_UPTIME, 30000}}, RV_RESTART_NOW, 0, 0, 1},
    {"a run just short of reset keeps it",
     {CONSEC(7), {F_UPTIME, 29999}},
     RV_RESTART_LATER,
     6400,
     6400,
     8},
    /* give_up: more than after restarts within the window */
    {"the after-th restart still happens", {{F_RECENT, 9}}, RV_RESTART_NOW, 0, 0, 1},
    {"one more gives up", {{F_RECENT, 10}}, RV_GIVE_UP, 0, 0, 1},
    {"give_up.after 0 gives up at once", {{F_GIVE_UP, 0}}, RV_GIVE_UP, 0, 0, 1},
    {"a clean exit under always counts too", {EXIT0, {F_RECENT, 10}}, RV_GIVE_UP, 0, 0, 1},
    /* restart: on-failure */
    {"on-failure, exit 0", {POLICY(RESTART_ON_FAILURE), EXIT0}, RV_EXITED, 0, 0, 0},
    {"on-failure, exit 1", {POLICY(RESTART_ON_FAILURE)}, RV_RESTART_NOW, 0, 0, 1},
    {"on-failure, backoff", {POLICY(RESTART_ON_FAILURE), CONSEC(1)}, RV_RESTART_LATER, 100, 100, 2},
    {"on-failure, gives up", {POLICY(RESTART_ON_FAILURE), {F_RECENT, 10}}, RV_GIVE_UP, 0, 0, 1},
    /* restart: never */
    {"never, exit 0", {POLICY(RESTART_NEVER), EXIT0}, RV_EXITED, 0, 0, 0},
    {"never, exit 1", {POLICY(RESTART_NEVER)}, RV_FAILED, 0, 0, 0},
    {"never keeps the count", {POLICY(RESTART_NEVER), CONSEC(4)}, RV_FAILED, 0, 0, 4},
    /* a oneshot that succeeded is done whatever the policy */
    {"oneshot, always, exit 0", {{F_ONESHOT, 1}, EXIT0}, RV_EXITED, 0, 0, 0},
    {"oneshot, always, exit 1", {{F_ONESHOT, 1}}, RV_RESTART_NOW, 0, 0, 1},
    {"oneshot, never, exit 1", {{F_ONESHOT, 1}, POLICY(RESTART_NEVER)}, RV_FAILED, 0, 0, 0},
    {"oneshot, on-failure, exit 1",
     {{F_ONESHOT, 1}, POLICY(RESTART_ON_FAILURE)},
     RV_RESTART_NOW,
     0,
     0,
     1},
    /* failing (a liveness check, memory, ready timeout): a failure even when it exits 0 */
    {"failing, on-failure, exit 0",
     {FROM(ST_FAILING), POLICY(RESTART_ON_FAILURE), EXIT0},
     RV_RESTART_NOW,
     0,
     0,
     1},
    {"failing, never, exit 0",
     {FROM(ST_FAILING), POLICY(RESTART_NEVER), EXIT0},
     RV_FAILED,
     0,
     0,
     0},
    {"failing oneshot, exit 0", {FROM(ST_FAILING), {F_ONESHOT, 1}, EXIT0}, RV_RESTART_NOW, 0, 0, 1},
    /* exiting (the leader ended, its group was stopped): its exit decides, as from running */
    {"exiting, on-failure, exit 0",
     {FROM(ST_EXITING), POLICY(RESTART_ON_FAILURE), EXIT0},
     RV_EXITED,
     0,
     0,
     0},
    {"exiting, exit 1", {FROM(ST_EXITING), CONSEC(1)}, RV_RESTART_LATER, 100, 100, 2},
    {"ready, exit 1", {FROM(ST_READY)}, RV_RESTART_NOW, 0, 0, 1},
    /* operator stop: down, whatever the exit or policy; not a crash */
    {"operator stop", {FROM(ST_STOPPING), CONSEC(3)}, RV_DOWN, 0, 0, 3},
    {"operator stop, exit 0", {FROM(ST_STOPPING), EXIT0, {F_RECENT, 50}}, RV_DOWN, 0, 0, 0},
    {"operator stop of a never role", {FROM(ST_STOPPING), POLICY(RESTART_NEVER)}, RV_DOWN, 0, 0, 0},
    /* roster shutting down: down, even from running with a failure */
    {"shutdown", {{F_SHUTDOWN, 1}, CONSEC(2)}, RV_DOWN, 0, 0, 2},
    {"shutdown of a oneshot", {{F_SHUTDOWN, 1}, {F_ONESHOT, 1}}, RV_DOWN, 0, 0, 0},
    {"shutdown during an operator restart",
     {{F_SHUTDOWN, 1}, FROM(ST_RESTARTING)},
     RV_DOWN,
     0,
     0,
     0},
    /* operator restart: back up, not a crash, backoff starts over */
    {"operator restart", {FROM(ST_RESTARTING), CONSEC(6)}, RV_RESTART, 0, 0, 0},
    {"operator restart of a never role",
     {FROM(ST_RESTARTING), POLICY(RESTART_NEVER)},
     RV_RESTART,
     0,
     0,
     0},
    {"operator restart after many crashes",
     {FROM(ST_RESTARTING), {F_RECENT, 50}},
     RV_RESTART,
     0,
     0,
     0},
};

static void test_restart_decide(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct decide_case *c = &cases[i];
        struct restart_input in = base_input();
        for (size_t k = 0; k < sizeof c->ch / sizeof c->ch[0]; k++)
            apply(&in, &c->ch[k]);
        struct restart_output out = restart_decide(&in);
        int before = t_failures;
        CHECK_STR(restart_verdict_name(out.verdict), restart_verdict_name(c->verdict));
        CHECK_INT(out.consecutive, c->consecutive);
        if (c->verdict == RV_RESTART_LATER) {
            CHECK(out.delay_ms >= c->delay_min);
            CHECK(out.delay_ms <= c->delay_max);
        } else if (c->verdict == RV_RESTART_NOW) {
            CHECK_INT(out.delay_ms, 0);
        }
        if (t_failures != before)
            fprintf(stderr, "  (case \"%s\": delay %llu)\n", c->name,
                    (unsigned long long)out.delay_ms);
    }
}

/* What each verdict leads to, and which count as crashes for backoff and give_up. */
static void test_verdicts(void)
{
    static const struct {
        enum restart_verdict v;
        enum inst_state st;
        bool crash;
        const char *name;
    } want[] = {
        {RV_DOWN, ST_DOWN, false, "down"},
        {RV_RESTART, ST_DOWN, false, "restart"},
        /* down, not straight to starting: reconcile starts it through the dependency gate */
        {RV_RESTART_NOW, ST_DOWN, true, "restart_now"},
        {RV_RESTART_LATER, ST_BACKOFF, true, "restart_later"},
        {RV_GIVE_UP, ST_GIVEN_UP, true, "give_up"},
        {RV_EXITED, ST_EXITED, false, "exited"},
        {RV_FAILED, ST_FAILED, false, "failed"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK_INT(restart_verdict_state(want[i].v), want[i].st);
        CHECK_INT(restart_verdict_is_crash(want[i].v), want[i].crash);
        CHECK_STR(restart_verdict_name(want[i].v), want[i].name);
    }
    CHECK_STR(restart_verdict_name((enum restart_verdict)99), "?");
}

/* The run's exit code from the ends of its own (issue 9 §2, concurrently's --success). */
static void test_run_exit_code(void)
{
    /* api crashed (3) first, web ended well, job failed (2) last */
    const struct run_end ends[] = {{"web", 0, 2}, {"job", 2, 3}, {"api", 3, 1}};
    struct exit_config rule = {.success = EXIT_SUCCESS_ALL};
    CHECK_INT(run_exit_code(ends, 3, &rule), 3);
    CHECK_INT(run_exit_code(ends, 1, &rule), 0);
    CHECK_INT(run_exit_code(NULL, 0, &rule), 0); /* every role stopped by roster */
    rule.success = EXIT_SUCCESS_FIRST;
    CHECK_INT(run_exit_code(ends, 3, &rule), 3);
    CHECK_INT(run_exit_code(ends, 2, &rule), 0);
    CHECK_INT(run_exit_code(NULL, 0, &rule), 0);
    rule.success = EXIT_SUCCESS_LAST;
    CHECK_INT(run_exit_code(ends, 3, &rule), 2);
    CHECK_INT(run_exit_code(ends, 1, &rule), 0);
    rule.success = EXIT_SUCCESS_ROLE;
    rule.role = "web";
    CHECK_INT(run_exit_code(ends, 3, &rule), 0);
    rule.role = "job";
    CHECK_INT(run_exit_code(ends, 3, &rule), 2);
    rule.role = "nope"; /* the role never ended on its own: as concurrently, a failure */
    CHECK_INT(run_exit_code(ends, 3, &rule), 1);
    rule.success = EXIT_SUCCESS_NOT_ROLE;
    rule.role = "api";
    CHECK_INT(run_exit_code(ends, 3, &rule), 2);
    rule.role = "job";
    CHECK_INT(run_exit_code(ends, 3, &rule), 3);
    /* two copies of a role: every one counts */
    const struct run_end copies[] = {{"w", 0, 1}, {"w", 137, 2}};
    rule.success = EXIT_SUCCESS_ROLE;
    rule.role = "w";
    CHECK_INT(run_exit_code(copies, 2, &rule), 137);
}

int main(void)
{
    test_run_exit_code();
    test_table();
    test_state_classes();
    test_restart_decide();
    test_verdicts();
    return t_done("lifecycle");
}
