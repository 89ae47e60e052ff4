/* metrics.h — the Prometheus text exposition of roster's state (/metrics). */
#ifndef ROSTER_METRICS_H
#define ROSTER_METRICS_H

#include "serve/status.h"

/* Appends every metric family, HELP and TYPE lines included. */
void metrics_render(const struct view *v, sbuf *out);

/* Appends one metric family header. */
void metrics_family(sbuf *out, const char *name, const char *type, const char *help);

#endif
