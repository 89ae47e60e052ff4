/* health.h — the health server (SPEC §6): /livez, /readyz, /health and /metrics on
 * health.listen. Read-only: nothing served here changes state. */
#ifndef ROSTER_HEALTH_H
#define ROSTER_HEALTH_H

#include "serve/status.h"
#include "supervise/supervisor.h"

struct health;

/* Starts serving on "host:port" on loop, answering from v (copied; what it points to must
 * outlive the server). NULL with err set when the address cannot be bound. */
struct health *health_start(const struct view *v, uv_loop_t *loop, const char *listen,
                           char *err, size_t errlen);
/* The port it listens on (useful with port 0). */
int health_port(const struct health *h);
/* Stops serving and frees the server. NULL is fine. */
void health_stop(struct health *h);
/* The /health document (caller frees) and its overall level. */
char *health_render(const struct view *v, enum health_level *level);

#endif
