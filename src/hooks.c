/* hooks.c — routes supervisor events to probes, sd_notify, servers and clients. */
#include "roster/hooks.h"

int hooks_start(struct sup *s)
{
    (void)s;
    return 0;
}

void hooks_stop(struct sup *s)
{
    (void)s;
}

void hooks_plan_prepare(struct sup *s, struct plan *np, diags *d)
{
    (void)s;
    (void)np;
    (void)d;
}

void hooks_plan_swapped(struct sup *s, struct plan *old)
{
    (void)s;
    (void)old;
}

void hooks_env(struct instance *in, envmap *env)
{
    (void)in;
    (void)env;
}

bool hooks_gates_open(struct instance *in)
{
    (void)in;
    return true;
}

void hooks_cancel_start(struct instance *in)
{
    (void)in;
}

void hooks_spawned(struct instance *in)
{
    inst_became_ready(in, NULL);
}

void hooks_line(struct instance *in, const char *line, size_t len)
{
    (void)in;
    (void)line;
    (void)len;
}

void hooks_state(struct instance *in, enum inst_state old, enum inst_state now)
{
    (void)in;
    (void)old;
    (void)now;
}

void hooks_stopping(struct instance *in)
{
    (void)in;
}

void hooks_exited(struct instance *in)
{
    (void)in;
}

void hooks_release(struct instance *in)
{
    (void)in;
}

bool hooks_reaped(struct sup *s, pid_t pid, int status)
{
    (void)s;
    (void)pid;
    (void)status;
    return false;
}

void hooks_kill_all(struct sup *s)
{
    (void)s;
}

void hooks_shutdown(struct sup *s)
{
    (void)s;
}

void hooks_reconciled(struct sup *s)
{
    (void)s;
}
