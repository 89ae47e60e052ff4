/* plan_inputs.h — what a plan is built from besides its config, taken from the system: roster's
 * environment as it was at start, the user database (getpwnam_r, getgrouplist) and libpq's
 * connection keywords (PQconndefaults, loading libpq the first time a config needs it). The plan
 * itself stays pure; its unit test passes fakes instead. Both lookups may run on a thread of
 * libuv's pool (a reload builds its plan there), so they are thread-safe. */
#ifndef ROSTER_PLAN_INPUTS_H
#define ROSTER_PLAN_INPUTS_H

#include <pthread.h>
#include <stdbool.h>

#include "base/envmap.h"
#include "base/util.h"
#include "plan/plan.h"

struct plan_inputs {
    envmap env;         /* roster's environment */
    strvec pq_keywords; /* libpq's keywords, read once on first need */
    bool pq_read;
    pthread_mutex_t pq_lock; /* guards the two above: a reload reads them off the loop */
};

/* Takes a copy of environ_. */
void plan_inputs_init(struct plan_inputs *in, char **environ_);
/* plan_opts that build with the real inputs of in, which must outlive every plan_build given
 * them (a running supervisor's reloads included). */
struct plan_opts plan_inputs_opts(struct plan_inputs *in, const char *roles, int max_connections);
void plan_inputs_free(struct plan_inputs *in);

#endif
