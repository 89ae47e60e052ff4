/* checks.h — readiness and liveness checks and roles' sd_notify sockets, attached to the
 * supervisor as one observer: per instance it keeps the running probes, the notify socket, the
 * last probe outcome and the last STATUS= (read by the health and control servers). */
#ifndef ROSTER_CHECKS_H
#define ROSTER_CHECKS_H

#include "supervise/supervisor.h"

struct checks;
struct curlm;

/* Attaches the checks to s (before sup_run). Owned by the caller; free after sup_run. NULL
 * when no observer slot is left. */
struct checks *checks_attach(struct sup *s);
void checks_free(struct checks *ck);
/* The shared libcurl multi handle, made on first use; NULL when libcurl cannot be loaded. */
struct curlm *checks_curl(struct checks *ck);
/* The last probe outcome of an instance ("ready http: 200 in 3 ms"), or NULL. */
const char *checks_probe_result(const struct checks *ck, const struct instance *in);
/* The last STATUS= the instance sent over sd_notify, or NULL. */
const char *checks_status_text(const struct checks *ck, const struct instance *in);

#endif
