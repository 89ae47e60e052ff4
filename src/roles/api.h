/* api.h — the built-in jobs API role (SPEC §9, issue 13): `roster role NAME` runs a role with
 * builtin: api as its own process, a JSON HTTP API on the role's port over the job store
 * (jobs/store.h) and the schedules of the config's scheduler roles. */
#ifndef ROSTER_API_H
#define ROSTER_API_H

#include "config/config.h"

/* Serves role `role` of cfg until SIGTERM or SIGINT. The bearer token is ROSTER_API_TOKEN of
 * environ_. Returns the exit code: 0 after a signal, 1 when the port cannot be listened on, 2
 * when the role is no api role, no token is set or the config has no redis:. */
int api_main(const struct roster_config *cfg, const char *role, char **environ_);

#endif
