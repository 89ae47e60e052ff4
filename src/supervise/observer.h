/* observer.h — how the modules that watch or gate role instances attach to the supervisor:
 * probes and sd_notify (checks/), roster's own Postgres and Redis connections (datastore/), the
 * health and control servers and roster's own sd_notify (serve/). nginx's module contexts are
 * the model: each observer gets a slot, keeps what it knows of an instance in in->ctx[slot]
 * (inst_ctx/inst_set_ctx), and reads the supervisor's structs without writing them. What it
 * wants done (ready, fail, gates changed) goes through the sup_post_* calls of supervisor.h,
 * which run on the next loop turn.
 *
 * Every callback may be NULL. Callbacks run on the loop, from the supervisor's dispatch, in the
 * order the observers were attached. */
#ifndef ROSTER_OBSERVER_H
#define ROSTER_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/diag.h"
#include "base/envmap.h"
#include "supervise/supervisor.h"

struct sup_observer {
    const char *name;
    /* Loop-wide start, after the supervisor is set up and before the first role starts;
     * -1 stops roster (exit 1), having logged why. */
    int (*start)(void *ud, struct sup *s);
    /* The loop is done: close every handle (after this the loop runs once more to close). */
    void (*stop)(void *ud, struct sup *s);
    /* A reload's new plan np is about to replace the running one. An observer that learnt at run
     * time something the plan holds (the Postgres budget) returns a new plan made from np, which
     * the supervisor runs instead (np is released); NULL keeps np. What does not fit goes into d
     * (which fails the reload). */
    struct plan *(*plan_prepare)(void *ud, struct sup *s, const struct plan *np, diags *d);
    /* The new plan runs (s->plan); old is still valid during the call. */
    void (*plan_swapped)(void *ud, struct sup *s, const struct plan *old);
    /* The instance's environment is being built for a spawn: add to env. */
    void (*env)(void *ud, struct instance *in, envmap *env);
    /* Right after env, for the same spawn: a descriptor to become the child's fd 3 (a builtin
     * role's status channel), handed over to the supervisor, which closes it once the child has
     * it (or the spawn failed); -1: none. The first observer that gives one gives it. */
    int (*child_fd)(void *ud, struct instance *in);
    /* The start gate: whether a starting instance may spawn now. false means not yet; the
     * observer calls sup_post_gates_changed when that may have changed. */
    bool (*gate)(void *ud, struct instance *in);
    /* The instance moved from old to now (entry actions of the observers). */
    void (*state)(void *ud, struct instance *in, enum inst_state old, enum inst_state now);
    /* The instance's process started (state is running). */
    void (*spawned)(void *ud, struct instance *in);
    /* One output line of the instance (without its newline). */
    void (*line)(void *ud, struct instance *in, const char *line, size_t len);
    /* The instance's process group is gone (in->exit says how its main process ended). */
    void (*exited)(void *ud, struct instance *in);
    /* A child that is not a role's main process was collected; true if it was the observer's
     * (an exec probe). */
    bool (*reaped)(void *ud, struct sup *s, pid_t pid, int status);
    /* Whether a child of roster is the observer's own (a running exec probe): else a child
     * that is no instance's is taken for an orphan that left its role's group (orphans.h). */
    bool (*owns)(void *ud, struct sup *s, pid_t pid);
    /* The instance is being freed: drop its context. */
    void (*release)(void *ud, struct instance *in);
    /* roster begins its ordered shutdown. */
    void (*shutdown)(void *ud, struct sup *s);
    /* A loop turn's changes have been applied (every state is settled). */
    void (*settled)(void *ud, struct sup *s);
};

/* Attaches an observer before sup_run; returns its slot (for inst_ctx), or -1 when there are
 * SUP_MAX_OBSERVERS already. ops and ud must outlive the supervisor's run. */
int sup_attach(struct sup *s, const struct sup_observer *ops, void *ud);

static inline void *inst_ctx(const struct instance *in, int slot)
{
    return slot >= 0 ? in->ctx[slot] : NULL;
}

static inline void inst_set_ctx(struct instance *in, int slot, void *ctx)
{
    in->ctx[slot] = ctx;
}

#endif
