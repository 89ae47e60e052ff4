/* services.c — Postgres and Redis as roster sees them. */
#include "roster/services.h"

int services_start(struct sup *s)
{
    (void)s;
    return 0;
}

void services_stop(struct sup *s)
{
    (void)s;
}

bool services_gate(struct instance *in)
{
    (void)in;
    return true;
}

void services_cancel(struct instance *in)
{
    (void)in;
}

void services_exited(struct instance *in)
{
    (void)in;
}

void services_health(struct sup *s, cJSON *checks, const char *now, int *level)
{
    (void)s;
    (void)checks;
    (void)now;
    (void)level;
}

bool services_ready(struct sup *s, sbuf *not_ready)
{
    (void)s;
    (void)not_ready;
    return true;
}

void services_metrics(struct sup *s, sbuf *out)
{
    (void)s;
    (void)out;
}

void services_plan_prepare(struct sup *s, struct plan *np, diags *d)
{
    (void)s;
    (void)np;
    (void)d;
}

void services_plan_swapped(struct sup *s)
{
    (void)s;
}
