/* orphans.h — processes that left their role's process group (setsid, setpgid, a daemon's
 * double fork) and came back to roster, the subreaper, when their parent died. Stopping a role
 * signals its group, which they are no longer in, so roster keeps a list of them: each new one
 * is said once while roster runs, and at shutdown, after the roles have stopped, they are
 * stopped too (TERM to the process and its group, SIGKILL after their role's stop.timeout),
 * with one line per role naming what was left behind. When roster is PID 1, whatever is left of
 * its namespace after that gets SIGTERM, then SIGKILL.
 *
 * Which children are roster's own (instances, exec probes) is the supervisor's to say: it
 * hands over only the others. Orphans are found by the /proc scan that samples memory
 * (proc_scan), so this costs no more wake-ups than max_memory does. */
#ifndef ROSTER_ORPHANS_H
#define ROSTER_ORPHANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "os/proc.h"

struct sup;
struct orphan;

/* Tracked while roster runs (more are still found at shutdown), and listed by one look of the
 * sweep at shutdown, which may take ORPHANS_MAX more each round. */
#define ORPHANS_MAX 1024

struct orphans {
    struct orphan *v;
    size_t n, cap;
    uv_timer_t timer; /* the sweep's poll */
    /* Lists roster's children that are not its own, up to max (the sweep's fresh look);
     * returns how many there are. Set by the supervisor. */
    size_t (*rescan)(struct sup *s, struct proc_child *kids, size_t max);
    /* The sweep has ended (the supervisor looks at its shutdown again). */
    void (*done)(struct sup *s);
    unsigned rounds;
    enum { ORPHANS_IDLE, ORPHANS_SWEEPING, ORPHANS_SWEPT } sweep;
    uint64_t seen_total; /* orphans found while running, for the log and tests */
};

/* Sets up the timer (closed by uv_walk with the loop's other handles). */
void orphans_init(struct sup *s, uv_loop_t *loop);
/* Children of roster that are not its own, from a scan: new ones are tracked and said once. */
void orphans_seen(struct sup *s, const struct proc_child *kids, size_t n);
/* How many are tracked, and their pids into out (room for orphans_count): a scan leaves them
 * out. */
size_t orphans_count(const struct sup *s);
size_t orphans_pids(const struct sup *s, pid_t *out);
/* A reaped child that was no instance's: forgets it if it was tracked. */
void orphans_gone(struct sup *s, pid_t pid);
/* At the end of the run, once every role has stopped: stops what is left. true when nothing
 * is (or there is no way to look: no /proc, a fake backend); else false, and o->done is called
 * when the sweep has ended. */
bool orphans_sweep(struct sup *s);
/* SIGKILL to every tracked orphan and its group, now (shutdown_timeout, a second Ctrl-C). */
void orphans_kill(struct sup *s);
/* When roster is PID 1 (and only then): SIGTERM to every process of its namespace, SIGKILL to
 * what is left after grace_ms, reaping meanwhile. Runs after the loop has ended. */
void orphans_end_namespace(struct sup *s, uint64_t grace_ms);
void orphans_free(struct sup *s);

#endif
