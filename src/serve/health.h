/* health.h — the health server (SPEC §6): /livez, /readyz, /health and /metrics on
 * health.listen. Read-only: nothing served here changes state. */
#ifndef ROSTER_HEALTH_H
#define ROSTER_HEALTH_H

#include "serve/status.h"
#include "supervise/supervisor.h"

struct httpd;

/* Starts serving on "host:port". NULL with err set when the address cannot be bound. */
struct httpd *health_start(struct sup *s, const char *listen, char *err, size_t errlen);
/* Frees the rendered answers kept for /health and /metrics. */
void health_cache_free(struct sup *s);
/* The /health document (caller frees) and its overall level. */
char *health_render(struct sup *s, enum health_level *level);

#endif
