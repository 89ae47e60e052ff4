/* procfile.c — foreman-compatible Procfile loading: each "name: command" line is a service role
 * run by /bin/sh -c. As foreman does, every process gets a PORT: $PORT (default 5000) for the
 * first, plus 100 for each next one; `.env` beside the Procfile is read when present. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"
#include "config/config.h"
#include "config/dotenv.h"

int config_load_procfile(const char *path, const char *text, size_t len, const envmap *vars,
                         struct roster_config *cfg, diags *d)
{
    (void)path;
    size_t before = diags_count(d);
    /* .env first: PORT may come from it. */
    char *envpath = xasprintf("%s/.env", cfg->dir ? cfg->dir : ".");
    envmap fenv = {0};
    struct dotenv_error de;
    switch (dotenv_load(envpath, &fenv, &de)) {
    case DOTENV_OK: strvec_pushdup(&cfg->env_files, envpath); break;
    case DOTENV_ESYNTAX: diags_add(d, (src_pos){envpath, de.line, de.col}, "%s", de.msg); break;
    case DOTENV_EREAD:
        if (de.sys_errno != ENOENT)
            diags_add(d, (src_pos){envpath, 0, 0}, "cannot read: %s", de.msg);
        break;
    }
    for (size_t j = 0; j < fenv.n; j++)
        if (!envmap_get(vars, fenv.v[j].key))
            envmap_set(&cfg->file_env, fenv.v[j].key, fenv.v[j].val);
    envmap_free(&fenv);
    free(envpath);

    const char *port_s = envmap_get(vars, "PORT");
    if (!port_s) port_s = envmap_get(&cfg->file_env, "PORT");
    int base_port = 5000;
    if (port_s && *port_s && hostport_port(port_s, strlen(port_s), 0, &base_port) != HOSTPORT_OK)
        diags_add(d, (src_pos){cfg->path, 0, 0}, "PORT must be a port number, not '%s'", port_s);

    size_t cap = 8;
    cfg->roles = xcalloc(cap, sizeof *cfg->roles);
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *s = p;
        p = eol < end ? eol + 1 : end;
        const char *e = eol;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        const char *q = s;
        while (q < e && isspace((unsigned char)*q))
            q++;
        if (q == e || *q == '#') continue;
        const char *name = q;
        while (q < e && (isalnum((unsigned char)*q) || *q == '_' || *q == '-'))
            q++;
        if (q == name || q >= e || *q != ':') {
            diags_add(d, (src_pos){cfg->path, line, (int)(q - s) + 1},
                      "expected 'name: command' (names are letters, digits, '-' and '_')");
            continue;
        }
        char *rname = xstrndup(name, (size_t)(q - name));
        q++;
        while (q < e && isspace((unsigned char)*q))
            q++;
        if (q == e) {
            diags_add(d, (src_pos){cfg->path, line, (int)(q - s) + 1},
                      "process '%s' has no command", rname);
            free(rname);
            continue;
        }
        if (config_find_role(cfg, rname)) {
            diags_add(d, (src_pos){cfg->path, line, 1}, "process '%s' is defined twice", rname);
            free(rname);
            continue;
        }
        if (!strcmp(rname, "roster")) {
            diags_add(d, (src_pos){cfg->path, line, 1},
                      "'roster' is reserved for roster's own log lines; rename the process");
            free(rname);
            continue;
        }
        if (cfg->nroles == cap) {
            cap *= 2;
            cfg->roles = xrealloc(cfg->roles, cap * sizeof *cfg->roles);
        }
        struct role_config *ro = &cfg->roles[cfg->nroles];
        config_role_defaults(ro);
        ro->name = rname;
        ro->pos = (src_pos){cfg->path, line, 1};
        ro->command_pos = (src_pos){cfg->path, line, (int)(q - s) + 1};
        ro->shell = xstrndup(q, (size_t)(e - q));
        long port = base_port + 100 * (long)cfg->nroles;
        ro->port = port <= 65535 ? (int)port : -1;
        cfg->nroles++;
    }
    config_finish_roles(cfg);
    if (cfg->nroles == 0 && diags_count(d) == before)
        diags_add(d, (src_pos){cfg->path, 0, 0},
                  "Procfile has no processes (expected 'name: command' lines)");
    return diags_count(d) > before ? -1 : 0;
}
