/* procfile.c — foreman-compatible Procfile loading: each "name: command" line is a service role
 * run by /bin/sh -c. As foreman does, every process gets a PORT: $PORT (default 5000) for the
 * first, plus 100 for each next one; `.env` beside the Procfile is read when present; a
 * formation (-m web=2,worker=1) sets how many copies of each run. */
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
        if (cfg->nroles == CONFIG_MAX_ROLES) {
            diags_add(d, (src_pos){cfg->path, line, 1},
                      "more than %d processes, roster's limit for a Procfile", CONFIG_MAX_ROLES);
            free(rname);
            break;
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
        ro->port_pos = ro->pos;
        cfg->nroles++;
    }
    config_finish_roles(cfg);
    if (cfg->nroles == 0 && diags_count(d) == before)
        diags_add(d, (src_pos){cfg->path, 0, 0},
                  "Procfile has no processes (expected 'name: command' lines)");
    return diags_count(d) > before ? -1 : 0;
}

/* One NAME=N of a formation. */
struct formation_entry {
    char name[CONFIG_ROLE_NAME_MAX + 1];
    int copies;
};

/* The most copies of a role (as instances: allows). */
#define FORMATION_MAX_COPIES 1000

int config_apply_formation(struct roster_config *cfg, const char *spec, diags *d)
{
    size_t before = diags_count(d);
    const src_pos at = {"--formation", 0, 0};
    /* foreman drops every blank before it splits */
    sbuf b;
    sbuf_init(&b);
    for (const char *c = spec; *c; c++)
        if (!isspace((unsigned char)*c)) sbuf_putc(&b, *c);
    char *copy = sbuf_detach(&b);
    int all = 0; /* foreman's default for what -m leaves unnamed */
    struct formation_entry *ents = NULL;
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *end = NULL;
        long v = eq ? strtol(eq + 1, &end, 10) : -1;
        if (!eq || eq == tok || end == eq + 1 || *end || v < 0 || v > FORMATION_MAX_COPIES) {
            diags_add(d, at, "takes NAME=N,... (N from 0 to %d), not '%s'", FORMATION_MAX_COPIES,
                      tok);
            continue;
        }
        *eq = '\0';
        if (!strcmp(tok, "all")) {
            all = (int)v;
            continue;
        }
        if (!config_find_role(cfg, tok)) {
            diags_add(d, at, "names '%s', which the Procfile does not define", tok);
            continue;
        }
        ents = xrealloc(ents, (n + 1) * sizeof *ents);
        snprintf(ents[n].name, sizeof ents[n].name, "%s", tok);
        ents[n].copies = (int)v;
        n++;
    }
    free(copy);
    if (diags_count(d) > before) {
        free(ents);
        return -1;
    }
    /* Dropped processes leave their PORT behind: foreman numbers by the Procfile's order. */
    size_t kept = 0;
    for (size_t i = 0; i < cfg->nroles; i++) {
        int copies = all;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(ents[j].name, cfg->roles[i].name)) copies = ents[j].copies;
        if (copies == 0) {
            config_role_free(&cfg->roles[i]);
            continue;
        }
        cfg->roles[i].instances = copies;
        cfg->roles[kept++] = cfg->roles[i];
    }
    cfg->nroles = kept;
    free(ents);
    if (kept == 0) {
        diags_add(d, at, "'%s' runs no process", spec);
        return -1;
    }
    return config_check_copies(cfg, d);
}
