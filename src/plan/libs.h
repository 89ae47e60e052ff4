/* libs.h — which of the optional libraries (os/lazylib.h) a plan needs, so start-up, `roster
 * check` and a reload load them all before anything runs. Pure. */
#ifndef ROSTER_PLAN_LIBS_H
#define ROSTER_PLAN_LIBS_H

#include "plan/plan.h"

/* The libraries the plan's roles and servers call, as a set of LAZYLIB_BIT values: libpq with a
 * postgres: section, libcurl with an http probe on a selected role, libmicrohttpd for the health
 * server and the control socket. */
unsigned plan_libs(const struct plan *p);

#endif
