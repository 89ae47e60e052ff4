/* serve.h — what roster serves to the outside, attached to the supervisor as one observer: the
 * health server (health.listen), the control socket (control.socket) and roster's own sd_notify
 * to systemd (READY=1 once every role is ready, STOPPING=1, WATCHDOG=1 when asked for). All of
 * it reads the supervisor and the other observers through a struct view. */
#ifndef ROSTER_SERVE_H
#define ROSTER_SERVE_H

#include "serve/status.h"
#include "supervise/supervisor.h"

struct serve;

/* Attaches to s (before sup_run); the servers start when the run starts. ck and svc may be
 * NULL; they must outlive the run. Free with serve_free after sup_run. NULL when no observer
 * slot is left. */
struct serve *serve_attach(struct sup *s, const struct checks *ck, const struct services *svc);
void serve_free(struct serve *sv);

#endif
