/* scheduler.h — the built-in scheduler role (SPEC §9, issue 12): `roster role NAME` runs a role
 * with builtin: scheduler as its own process, under the supervisor like any role, so that a fault
 * in it never touches roster's PID 1. */
#ifndef ROSTER_SCHEDULER_H
#define ROSTER_SCHEDULER_H

#include "config/config.h"

/* Runs the schedules of role `role` of cfg until SIGTERM or SIGINT: each fires at its cron
 * times, runs its command or http request, and logs the run to stdout. Returns the exit code
 * (0 after a signal, 2 when the role is no scheduler or a schedule cannot be read). */
int scheduler_main(const struct roster_config *cfg, const char *role, char **environ_);

#endif
