/* hooks.h — the seam between the supervisor core and what watches or gates it: readiness and
 * liveness probes, sd_notify sockets, the health and control servers, the Postgres and Redis
 * clients. The supervisor calls these at fixed points of an instance's life; hooks.c routes
 * each to the modules concerned, so supervisor.c knows none of them. */
#ifndef ROSTER_HOOKS_H
#define ROSTER_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "supervise/supervisor.h"

/* Loop-wide services: started before the first role, stopped after the last. -1: cannot run. */
int hooks_start(struct sup *s);
void hooks_stop(struct sup *s);
/* A new plan is about to replace the running one (reload): carry over what was learnt at run
 * time (the server's connection limit) and report what does not fit into d. */
void hooks_plan_prepare(struct sup *s, struct plan *np, diags *d);
void hooks_plan_swapped(struct sup *s, struct plan *old);

/* An instance's environment is being built for its spawn. */
void hooks_env(struct instance *in, envmap *env);
/* Whether a starting instance may spawn now (wait_for, budget, lock); false means "not yet",
 * and the hook calls sup_gates_changed when that changes. */
bool hooks_gates_open(struct instance *in);
void hooks_cancel_start(struct instance *in);
void hooks_spawned(struct instance *in);
void hooks_line(struct instance *in, const char *line, size_t len);
void hooks_state(struct instance *in, enum inst_state old, enum inst_state now);
void hooks_stopping(struct instance *in);
void hooks_exited(struct instance *in);
/* The instance is being freed: close the handles the hooks gave it. */
void hooks_release(struct instance *in);
/* A child that is not a role's main process was reaped; true if a hook owned it. */
bool hooks_reaped(struct sup *s, pid_t pid, int status);
void hooks_kill_all(struct sup *s);
void hooks_shutdown(struct sup *s);
void hooks_reconciled(struct sup *s);

#endif
