/* libs.c — the optional libraries a plan needs. See libs.h. */
#include "plan/libs.h"

#include "os/lazylib.h"

unsigned plan_libs(const struct plan *p)
{
    unsigned libs = 0;
    if (p->cfg.pg.enabled) libs |= LAZYLIB_BIT(LAZYLIB_PQ);
    for (size_t i = 0; i < p->nroles; i++) {
        const struct role_config *rc = p->roles[i].cfg;
        if (p->roles[i].selected && (rc->ready.kind == PROBE_HTTP || rc->live.kind == PROBE_HTTP))
            libs |= LAZYLIB_BIT(LAZYLIB_CURL);
    }
    /* libmicrohttpd serves the health port and the control socket alike, and the jobs API
     * (its own process, which loads it again: checked here, before anything runs) */
    if (p->cfg.health_listen || p->cfg.control_socket) libs |= LAZYLIB_BIT(LAZYLIB_MHD);
    for (size_t i = 0; i < p->nroles; i++)
        if (p->roles[i].selected && p->roles[i].cfg->builtin == BUILTIN_API)
            libs |= LAZYLIB_BIT(LAZYLIB_MHD);
    return libs;
}
