/* test_supervise.c — the supervisor on a real uv loop with a fake process backend, as libuv
 * tests its loop in-process: spawn records the call and hands out a made-up pid, signal_group
 * records the signal (a stop signal ends the fake process), and ended processes are delivered
 * with sup_reap on a later loop turn, as SIGCHLD would be. Each scenario is a list of steps
 * (wait until a condition holds, then act), driven by a 1 ms timer with a deadline per step.
 * Plans are built from YAML the way test_plan.c builds them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/util.h"
#include "config/config.h"
#include "plan/plan.h"
#include "supervise/input.h"
#include "supervise/observer.h"
#include "supervise/supervisor.h"
#include "t.h"

#define MAX_PROCS        64
#define MAX_SPAWNS       256
#define MAX_SIGNALS      256
#define STEP_DEADLINE_MS 5000
#define MAX_TRAIL        4096

/* ---- the fake process backend ------------------------------------------------------------ */

struct fproc {
    pid_t pid;
    char name[32];
    bool alive;
};

struct fspawn {
    char name[32];
    pid_t pid;
    uint64_t at; /* loop time (ms) */
};

struct fsignal {
    char name[32];
    int sig;
    int alive; /* instances the supervisor still counted as alive when this was sent */
};

struct fake;

struct step {
    const char *what;
    bool (*until)(struct fake *f); /* NULL: at once */
    void (*then)(struct fake *f);  /* NULL: nothing */
    uint64_t deadline_ms;          /* 0: STEP_DEADLINE_MS */
};

struct fake {
    uv_loop_t *loop;
    struct sup *s;
    struct proc_backend be;
    pid_t next_pid;
    struct fproc procs[MAX_PROCS];
    int nprocs;
    struct fspawn spawns[MAX_SPAWNS];
    int nspawns;
    struct fsignal sigs[MAX_SIGNALS];
    int nsigs;
    struct {
        pid_t pid;
        int status;
    } ended[MAX_PROCS]; /* ended processes not yet collected by wait_any */
    int nended;
    uv_timer_t reap_timer; /* delivers ended processes on a later turn, as SIGCHLD does */
    uv_timer_t drive;      /* runs the scenario's steps */
    uv_check_t turn;       /* counts the loop's polls for I/O */
    uint64_t turns;
    const struct step *steps;
    int step;
    uint64_t step_started;
    uint64_t mark;         /* a time a step remembers for a later one */
    char trail[MAX_TRAIL]; /* "api:starting api:running ...": every state entered, in order */
    size_t trail_len;

    /* Bug 9: every spawn fails in roster, at once. */
    bool fail_spawns;
    long tries, target;
    uintptr_t sp_min, sp_max; /* addresses of a local of the fake spawn */
    uint64_t last_turn;
    long same_turn; /* tries with no poll for I/O since the one before */
};

static struct fproc *proc_by_pid(struct fake *f, pid_t pid)
{
    for (int i = 0; i < f->nprocs; i++)
        if (f->procs[i].pid == pid) return &f->procs[i];
    return NULL;
}

static struct fproc *proc_by_name(struct fake *f, const char *name)
{
    struct fproc *last = NULL; /* the newest process of that name */
    for (int i = 0; i < f->nprocs; i++)
        if (!strcmp(f->procs[i].name, name)) last = &f->procs[i];
    return last;
}

static void on_reap_timer(uv_timer_t *t)
{
    struct fake *f = t->data;
    sup_reap(f->s);
}

/* The process ends with a wait status; the supervisor hears of it on a later loop turn. */
static void fake_end(struct fake *f, struct fproc *p, int status)
{
    if (!p || !p->alive) return;
    p->alive = false;
    if (f->nended < MAX_PROCS) {
        f->ended[f->nended].pid = p->pid;
        f->ended[f->nended].status = status;
        f->nended++;
    }
    uv_timer_start(&f->reap_timer, on_reap_timer, 0, 0);
}

static int exited_status(int code)
{
    return (code & 0xff) << 8;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int fake_spawn(void *ud, const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen)
{
    struct fake *f = ud;
    volatile char here = 0; /* its address tells how deep the stack is */
    uintptr_t sp = (uintptr_t)&here;
    if (f->fail_spawns) {
        f->tries++;
        if (!f->sp_min || sp < f->sp_min) f->sp_min = sp;
        if (sp > f->sp_max) f->sp_max = sp;
        /* The first try runs in sup_run before the loop, the second on the loop's first turn,
         * before its first poll; from then on each must follow a poll. */
        if (f->tries > 2 && f->turns == f->last_turn) f->same_turn++;
        f->last_turn = f->turns;
        /* Enough: called here, not from the step timer, so a loop that never turns between
         * tries still ends (and the test fails on same_turn rather than hanging). */
        if (f->tries == f->target) sup_shutdown(f->s, 0, "enough tries");
        snprintf(err, errlen, "fake: cannot start");
        *pid = 0;
        return -ENOENT;
    }
    if (f->nprocs == MAX_PROCS || f->nspawns == MAX_SPAWNS) {
        snprintf(err, errlen, "fake: too many processes");
        return -EAGAIN;
    }
    struct fproc *p = &f->procs[f->nprocs++];
    p->pid = f->next_pid++;
    snprintf(p->name, sizeof p->name, "%s", base_name(o->argv[0]));
    p->alive = true;
    struct fspawn *sp_rec = &f->spawns[f->nspawns++];
    memcpy(sp_rec->name, p->name, sizeof sp_rec->name);
    sp_rec->pid = p->pid;
    sp_rec->at = uv_now(f->loop);
    *pid = p->pid;
    return 0;
}

static int alive_instances(struct fake *f)
{
    int n = 0;
    struct inst_iter it = {.s = f->s};
    for (struct instance *in; (in = sup_next_instance(&it));)
        n += inst_alive(in);
    return n;
}

static int fake_signal_group(void *ud, pid_t pgid, int sig)
{
    struct fake *f = ud;
    struct fproc *p = proc_by_pid(f, pgid);
    if (!p) return -ESRCH;
    if (sig != SIGCONT && f->nsigs < MAX_SIGNALS) {
        struct fsignal *r = &f->sigs[f->nsigs++];
        memcpy(r->name, p->name, sizeof r->name);
        r->sig = sig;
        r->alive = alive_instances(f);
    }
    if (sig == SIGTERM || sig == SIGKILL || sig == SIGINT) fake_end(f, p, sig);
    return 0;
}

static bool fake_group_alive(void *ud, pid_t pgid)
{
    struct fproc *p = proc_by_pid(ud, pgid);
    return p && p->alive;
}

static pid_t fake_wait_any(void *ud, int *status)
{
    struct fake *f = ud;
    if (f->nended == 0) return 0;
    pid_t pid = f->ended[0].pid;
    *status = f->ended[0].status;
    memmove(&f->ended[0], &f->ended[1], (size_t)(f->nended - 1) * sizeof f->ended[0]);
    f->nended--;
    return pid;
}

/* ---- scenario helpers -------------------------------------------------------------------- */

static int spawns_of(struct fake *f, const char *name)
{
    int n = 0;
    for (int i = 0; i < f->nspawns; i++)
        n += !strcmp(f->spawns[i].name, name);
    return n;
}

/* The spawn order as "a,b,c". */
static void spawn_order(struct fake *f, char *buf, size_t n)
{
    buf[0] = 0;
    size_t len = 0;
    for (int i = 0; i < f->nspawns && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", f->spawns[i].name);
}

/* The stop signals in order, each with how many instances were alive: "web@3,api@2". */
static void signal_order(struct fake *f, int sig, char *buf, size_t n)
{
    buf[0] = 0;
    size_t len = 0;
    for (int i = 0; i < f->nsigs && len < n; i++)
        if (f->sigs[i].sig == sig)
            len += (size_t)snprintf(buf + len, n - len, "%s%s@%d", len ? "," : "", f->sigs[i].name,
                                    f->sigs[i].alive);
}

static struct instance *inst_of(struct fake *f, const char *role)
{
    struct role *r = sup_find_role(f->s, role);
    return r && r->ninst ? r->inst[0] : NULL;
}

static enum inst_state state_of(struct fake *f, const char *role)
{
    struct instance *in = inst_of(f, role);
    return in ? in->state : ST__COUNT;
}

static uint64_t in_step_ms(struct fake *f)
{
    return uv_now(f->loop) - f->step_started;
}

static void end_proc(struct fake *f, const char *name, int code)
{
    struct fproc *p = proc_by_name(f, name);
    CHECK(p && p->alive);
    fake_end(f, p, exited_status(code));
}

static void shutdown_now(struct fake *f)
{
    sup_shutdown(f->s, 0, "test done");
}

/* An observer that notes every state an instance enters (the lifecycle as it ran). */
static void on_state(void *ud, struct instance *in, enum inst_state old, enum inst_state now)
{
    struct fake *f = ud;
    (void)old;
    size_t room = sizeof f->trail - f->trail_len;
    int n = snprintf(f->trail + f->trail_len, room, "%s%s:%s", f->trail_len ? " " : "",
                     role_cfg(in->role)->name, inst_state_name(now));
    if (n > 0 && (size_t)n < room)
        f->trail_len += (size_t)n; /* full: the rest is left out */
    else
        f->trail[f->trail_len] = 0;
}

static const struct sup_observer trail_observer = {.name = "trail", .state = on_state};

static void on_turn(uv_check_t *h)
{
    struct fake *f = h->data;
    f->turns++;
}

static void on_drive(uv_timer_t *t)
{
    struct fake *f = t->data;
    while (f->steps[f->step].what) {
        const struct step *st = &f->steps[f->step];
        uint64_t now = uv_now(f->loop);
        if (!st->until || st->until(f)) {
            if (st->then) st->then(f);
            f->step++;
            f->step_started = now;
            continue;
        }
        if (now - f->step_started > (st->deadline_ms ? st->deadline_ms : STEP_DEADLINE_MS)) {
            t_failures++;
            fprintf(stderr, "step %d (%s) timed out\n", f->step + 1, st->what);
            uv_timer_stop(t);
            sup_shutdown(f->s, 1, "a test step timed out");
        }
        return;
    }
    uv_timer_stop(t); /* every step done */
}

static char dir[64];

/* Builds a plan from yaml as roster does, runs the supervisor with the fake backend through
 * the steps, and returns sup_run's exit code (-1 when the plan failed). */
static int run_scenario(struct fake *f, const char *yaml, const struct step *steps)
{
    char *path = xasprintf("%s/roster.yaml", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (!fp) return -1;
    fputs(yaml, fp);
    fclose(fp);
    struct config_opts co = {.path = path};
    struct roster_config cfg;
    diags d = {0};
    struct plan *p = NULL;
    if (config_load(&co, &cfg, &d) == 0) {
        struct plan_opts po = {0};
        p = plan_build(&cfg, &po, &d);
    } else {
        config_free(&cfg);
    }
    for (size_t i = 0; i < d.items.n; i++)
        fprintf(stderr, "config: %s\n", d.items.v[i]);
    diags_free(&d);
    free(path);
    CHECK(p != NULL);
    if (!p) return -1;

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct sup s;
    f->loop = &loop;
    f->s = &s;
    f->next_pid = 4000000; /* above any real pid: a signal that escaped would find nothing */
    f->be = (struct proc_backend){
        .spawn = fake_spawn,
        .signal_group = fake_signal_group,
        .group_alive = fake_group_alive,
        .wait_any = fake_wait_any,
        .uses_sigchld = false,
        .ud = f,
    };
    f->steps = steps;
    struct sup_opts so = {.log_format = -1, .timestamps = -1, .no_color = true, .backend = &f->be};
    sup_init(&s, &loop, p, &so);
    CHECK(sup_attach(&s, &trail_observer, f) >= 0);
    uv_timer_init(&loop, &f->reap_timer);
    f->reap_timer.data = f;
    uv_timer_init(&loop, &f->drive);
    f->drive.data = f;
    uv_timer_start(&f->drive, on_drive, 1, 1);
    uv_check_init(&loop, &f->turn);
    f->turn.data = f;
    uv_check_start(&f->turn, on_turn);
    f->step_started = uv_now(&loop);
    /* sup_run closes every handle of the loop when it is done, ours too */
    int rc = sup_run(&s);
    /* The run may end before the step timer saw the last condition hold (roster stopped on its
     * own): that step counts when it holds now and has nothing left to do. */
    const struct step *last = &f->steps[f->step];
    if (last->what && !last->then && last->until && last->until(f)) f->step++;
    if (f->steps[f->step].what) {
        t_failures++;
        fprintf(stderr, "scenario ended at step %d (%s)\n", f->step + 1, f->steps[f->step].what);
    }
    sup_free(&s);
    CHECK_INT(uv_loop_close(&loop), 0);
    return rc;
}

/* ---- start order by depends_on, stop in reverse ------------------------------------------ */

static const char order_yaml[] =
    "app: t\n"
    "roles:\n"
    "  web: {command: [web], depends_on: {api: ready}}\n"
    "  api:\n"
    "    command: [api]\n"
    "    depends_on: {db: started, migrate: completed}\n"
    "  migrate: {kind: oneshot, command: [migrate], depends_on: [db]}\n"
    "  db: {command: [db]}\n";

static bool migrate_spawned(struct fake *f)
{
    return spawns_of(f, "migrate") == 1;
}

static void migrate_finishes(struct fake *f)
{
    char order[256];
    spawn_order(f, order, sizeof order);
    /* api waits for migrate to complete, web for api */
    CHECK_STR(order, "db,migrate");
    end_proc(f, "migrate", 0);
}

static bool web_spawned(struct fake *f)
{
    return spawns_of(f, "web") == 1;
}

static void check_start_order(struct fake *f)
{
    char order[256];
    spawn_order(f, order, sizeof order);
    CHECK_STR(order, "db,migrate,api,web");
    CHECK_INT(state_of(f, "migrate"), ST_EXITED);
    CHECK_INT(state_of(f, "db"), ST_READY);
    CHECK_INT(state_of(f, "web"), ST_READY);
    shutdown_now(f);
}

static void test_start_order_and_reverse_stop(void)
{
    static const struct step steps[] = {
        {"db and migrate start", migrate_spawned, migrate_finishes, 0},
        {"api and web start", web_spawned, check_start_order, 0},
        {0},
    };
    struct fake f = {0};
    int rc = run_scenario(&f, order_yaml, steps);
    CHECK_INT(rc, 0);
    char sigs[256];
    signal_order(&f, SIGTERM, sigs, sizeof sigs);
    /* each role is stopped once every role depending on it is gone (migrate had ended) */
    CHECK_STR(sigs, "web@3,api@2,db@1");
    CHECK_INT(f.nspawns, 4);
}

/* ---- crash → backoff → restart, and give_up --------------------------------------------- */

static const char crash_yaml[] = "app: t\n"
                                 "roles:\n"
                                 "  api:\n"
                                 "    command: [api]\n"
                                 "    backoff: {initial: 50ms, max: 1s}\n"
                                 "    give_up: {after: 2, within: 1m, then: stay}\n";

static bool api_spawned_1(struct fake *f)
{
    return spawns_of(f, "api") == 1 && state_of(f, "api") == ST_READY;
}

static void api_crashes(struct fake *f)
{
    end_proc(f, "api", 3);
}

static bool api_spawned_2(struct fake *f)
{
    return spawns_of(f, "api") == 2 && state_of(f, "api") == ST_READY;
}

static void api_crashes_again(struct fake *f)
{
    struct instance *in = inst_of(f, "api");
    /* the first restart of a run is immediate (no backoff: see the trail), and counted */
    CHECK_INT(in->restarts, 1);
    CHECK_INT(in->exit.code, 3);
    end_proc(f, "api", 3);
}

static bool api_in_backoff(struct fake *f)
{
    return state_of(f, "api") == ST_BACKOFF;
}

static void note_backoff(struct fake *f)
{
    f->mark = uv_now(f->loop);
    CHECK_INT(spawns_of(f, "api"), 2);
}

static bool api_spawned_3(struct fake *f)
{
    return spawns_of(f, "api") == 3 && state_of(f, "api") == ST_READY;
}

static void api_crashes_for_good(struct fake *f)
{
    /* backoff.initial 50ms with ±20% jitter: the third start came 40..60 ms after the crash
     * (more on a loaded machine, never less) */
    uint64_t waited = f->spawns[2].at - f->spawns[1].at;
    CHECK(waited >= 40);
    CHECK(waited < 2000);
    CHECK_INT(inst_of(f, "api")->restarts, 2);
    end_proc(f, "api", 3);
}

static bool api_given_up(struct fake *f)
{
    return state_of(f, "api") == ST_GIVEN_UP;
}

static bool a_while(struct fake *f)
{
    return in_step_ms(f) >= 150;
}

static void still_given_up(struct fake *f)
{
    /* give_up.after 2: the third crash within the minute leaves it down (then: stay) */
    CHECK_INT(spawns_of(f, "api"), 3);
    CHECK_INT(state_of(f, "api"), ST_GIVEN_UP);
    CHECK(!f->s->finished);
    shutdown_now(f);
}

static void test_crash_backoff_restart(void)
{
    static const struct step steps[] = {
        {"api starts", api_spawned_1, api_crashes, 0},
        {"api restarts at once", api_spawned_2, api_crashes_again, 0},
        {"api waits in backoff", api_in_backoff, note_backoff, 0},
        {"api restarts after backoff", api_spawned_3, api_crashes_for_good, 0},
        {"api gives up", api_given_up, NULL, 0},
        {"api stays down", a_while, still_given_up, 0},
        {0},
    };
    struct fake f = {0};
    /* ended with api given up: the run carries api's status (issue 9 §2) */
    CHECK_INT(run_scenario(&f, crash_yaml, steps), 3);
    /* down at once after the first crash, through backoff after the second, given up after
     * the third; each way back up goes through starting */
    CHECK_STR(f.trail, "api:starting api:running api:ready "
                       "api:stopped api:starting api:running api:ready "
                       "api:backoff api:stopped api:starting api:running api:ready "
                       "api:given_up");
}

/* ---- bug 1: every (re)start passes the dependency gate ----------------------------------- */

/* After `roster stop db`, api (depends_on: {db: started}) crashed: the first restart ignored
 * the dependency and api ran without db. Both ways back up are tried: the immediate restart
 * (first crash) and the one after a backoff (second crash). */
static const char dep_yaml[] = "app: t\n"
                               "roles:\n"
                               "  db: {command: [db]}\n"
                               "  api:\n"
                               "    command: [api]\n"
                               "    depends_on: {db: started}\n"
                               "    backoff: {initial: 30ms, max: 30ms}\n";

static bool both_up(struct fake *f)
{
    return state_of(f, "db") == ST_READY && state_of(f, "api") == ST_READY;
}

static void stop_db(struct fake *f)
{
    sbuf err;
    sbuf_init(&err);
    CHECK_INT(sup_role_stop(f->s, "db", &err), 0);
    sbuf_free(&err);
}

static bool db_stopped(struct fake *f)
{
    return state_of(f, "db") == ST_DOWN;
}

static void crash_api(struct fake *f)
{
    /* stopping db leaves api alone */
    CHECK_INT(state_of(f, "api"), ST_READY);
    end_proc(f, "api", 1);
}

static bool api_down_a_while(struct fake *f)
{
    return in_step_ms(f) >= 200;
}

static void api_waited_then_start_db(struct fake *f, int api_spawns, unsigned restarts)
{
    struct instance *in = inst_of(f, "api");
    /* the crash was seen and a restart decided, but api waits for db: down, not started */
    CHECK_INT(in->restarts, restarts);
    CHECK_INT(spawns_of(f, "api"), api_spawns);
    CHECK_INT(in->state, ST_DOWN);
    CHECK_INT(state_of(f, "db"), ST_DOWN);
    sbuf err;
    sbuf_init(&err);
    CHECK_INT(sup_role_start(f->s, "db", &err), 0);
    sbuf_free(&err);
}

static void api_waited_1(struct fake *f)
{
    api_waited_then_start_db(f, 1, 1);
}

static void api_waited_2(struct fake *f)
{
    api_waited_then_start_db(f, 2, 2);
}

static void db_came_first(struct fake *f)
{
    char order[256];
    spawn_order(f, order, sizeof order);
    CHECK_STR(order, "db,api,db,api");
    stop_db(f);
}

static void db_came_first_again(struct fake *f)
{
    char order[256];
    spawn_order(f, order, sizeof order);
    CHECK_STR(order, "db,api,db,api,db,api");
    shutdown_now(f);
}

/* Each negative check ("api does not start") has its sentinel in the step after it: once db
 * runs again, api does start. */
static void test_restart_waits_for_dependencies(void)
{
    static const struct step steps[] = {
        {"db and api start", both_up, stop_db, 0},
        {"db stops", db_stopped, crash_api, 0},
        {"api does not start without db (immediate restart)", api_down_a_while, api_waited_1, 0},
        {"api starts once db runs", api_spawned_2, db_came_first, 0},
        {"db stops again", db_stopped, crash_api, 0},
        {"api does not start without db (after backoff)", api_down_a_while, api_waited_2, 0},
        {"api starts once db runs again", api_spawned_3, db_came_first_again, 0},
        {0},
    };
    struct fake f = {0};
    CHECK_INT(run_scenario(&f, dep_yaml, steps), 0);
}

/* ---- bug 9: immediate retries go through the loop ---------------------------------------- */

/* A spawn that failed at once with backoff.initial 0ms recursed spawn → exit → decision →
 * spawn on one stack until SIGSEGV (~9,000 tries). 20,000 tries must run at one stack depth,
 * each on a loop turn of its own. */
static const char retry_yaml[] = "app: t\n"
                                 "roles:\n"
                                 "  flaky:\n"
                                 "    command: [flaky]\n"
                                 "    backoff: {initial: 0ms}\n"
                                 "    give_up: {after: 1000000, within: 10s}\n";

static bool enough_tries(struct fake *f)
{
    return f->s->shutting_down;
}

static void test_immediate_retries_through_the_loop(void)
{
    static const struct step steps[] = {
        {"20,000 failed spawns", enough_tries, NULL, 60000},
        {0},
    };
    struct fake f = {.fail_spawns = true, .target = 20000};
    /* three log lines a try: not into the test's output */
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    CHECK(saved >= 0 && null >= 0);
    dup2(null, 1);
    close(null);
    int rc = run_scenario(&f, retry_yaml, steps);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECK_INT(rc, 0);
    CHECK_INT(f.tries, f.target);
    /* one depth for every try (the first comes from sup_run, a little apart) */
    unsigned long span = (unsigned long)(f.sp_max - f.sp_min);
    printf("retries: %ld tries over %llu polls of the loop, stack span %lu bytes, %ld with no "
           "poll since the try before\n",
           f.tries, (unsigned long long)f.turns, span, f.same_turn);
    CHECK(span < 8192);
    CHECK_INT(f.same_turn, 0);
    CHECK(f.turns >= (uint64_t)f.target - 2);
}

/* ---- input: what a "TARGET:text" line names --------------------------------------------- */

/* No input: here: the test's own stdin (a terminal, maybe) is not read. */
static const char targets_yaml[] = "app: t\n"
                                   "roles:\n"
                                   "  api: {command: [api]}\n"
                                   "  worker: {command: [worker], instances: 2}\n"
                                   "  \"7\": {command: [seven]}\n";

static bool all_spawned(struct fake *f)
{
    return f->nspawns == 4;
}

static void check_targets(struct fake *f)
{
    struct sup *s = f->s;
    struct role *api = sup_find_role(s, "api"), *worker = sup_find_role(s, "worker"),
                *seven = sup_find_role(s, "7");
    static const struct {
        const char *t;
        int role; /* 0 api, 1 worker, 2 "7"; -1 none */
        int copy;
    } cases[] = {
        {"api", 0, 0},   {"worker", 1, 0}, {"worker.1", 1, 1},   {"worker.2", -1, 0}, {"0", 0, 0},
        {"1", 1, 0},     {"2", 2, 0},      {"7", 2, 0},          {"3", -1, 0},        {"", -1, 0},
        {"api.0", 0, 0}, {"nope", -1, 0},  {"worker.01", -1, 0},
    };
    struct role *roles[] = {api, worker, seven};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct instance *want =
            cases[i].role < 0 ? NULL : roles[cases[i].role]->inst[cases[i].copy];
        struct instance *got = input_find(s, cases[i].t, strlen(cases[i].t));
        if (got != want) fprintf(stderr, "input target '%s'\n", cases[i].t);
        CHECK(got == want);
    }
    /* a target is the bytes before the ':', not a C string */
    CHECK(input_find(s, "api:x", 3) == api->inst[0]);
    shutdown_now(f);
}

static void test_input_targets(void)
{
    static const struct step steps[] = {
        {"every copy started", all_spawned, check_targets, 0},
        {0},
    };
    struct fake f = {0};
    CHECK_INT(run_scenario(&f, targets_yaml, steps), 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/roster-sup-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_start_order_and_reverse_stop();
    test_crash_backoff_restart();
    test_restart_waits_for_dependencies();
    test_immediate_retries_through_the_loop();
    test_input_targets();
    char *path = xasprintf("%s/roster.yaml", dir);
    unlink(path);
    free(path);
    rmdir(dir);
    return t_done("supervise");
}
