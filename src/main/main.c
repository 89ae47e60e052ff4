/* main.c — roster's entry point: parse the command line and run the command. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/concur.h"
#include "cli/concur_config.h"
#include "cli/plan_inputs.h"
#include "config/config.h"
#include "os/lazylib.h"
#include "checks/checks.h"
#include "datastore/services.h"
#include "plan/libs.h"
#include "base/envmap.h"
#include "plan/plan.h"
#include "roles/api.h"
#include "roles/scheduler.h"
#include "roles/worker.h"
#include "serve/serve.h"
#include "supervise/flow.h"
#include "supervise/supervisor.h"
#include "watch/watch.h"

extern char **environ;

#if UV_VERSION_HEX < 0x012c00
/* libuv before 1.44 (Debian 11's, which the portable package is built with) lacks
 * uv_available_parallelism: the CPUs this process may run on, counted the way it counts them. */
static unsigned int uv_available_parallelism(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned int)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned int)n : 1;
}
#endif

/* Builds the plan of a loaded config (which it takes over) and loads the optional libraries it
 * needs; plan_only: to print, not to run (roster check). Returns 0 with *out, or 2 with the
 * errors printed. */
static int build_plan(struct roster_config *cfg, diags *d, struct plan_inputs *in,
                      const char *roles, struct plan **out, int max_connections, bool plan_only)
{
    struct plan_opts po = plan_inputs_opts(in, roles, max_connections);
    po.plan_only = plan_only;
    struct plan *p = plan_build(cfg, &po, d);
    if (!p) {
        diags_print(d, stderr);
        diags_free(d);
        return 2;
    }
    diags_free(d);
    /* Every optional library the plan calls is loaded now, whole: a missing one, or one without
     * a function roster calls, stops `roster run` and `roster check` here with the package to
     * install, instead of aborting when a probe or a server first calls into it. */
    char err[640];
    if (lazylib_require(plan_libs(p), err, sizeof err) < 0) {
        fprintf(stderr, "roster: %s\n", err);
        plan_unref(p);
        return 2;
    }
    *out = p;
    return 0;
}

static int load_plan(const struct cli *c, struct plan_inputs *in, struct plan **out,
                     int max_connections, bool plan_only)
{
    struct roster_config cfg;
    diags d = {0};
    if (cli_load_config(c, environ, &cfg) < 0) return 2;
    return build_plan(&cfg, &d, in, c->roles, out, max_connections, plan_only);
}

/* Runs plan p (taken over) under a supervisor with its observers until roster is done, then the
 * config's teardown. concurrently's options are in the config by now (-i is its input:). */
static int supervise(struct plan *p, const struct sup_opts *so)
{
    struct sup s;
    uv_loop_t loop;
    uv_loop_init(&loop);
    sup_init(&s, &loop, p, so);
    /* What watches and gates the roles, and what serves their state, attach to the supervisor:
     * probes and sd_notify, Postgres and Redis, the servers that read both, file watching. */
    struct checks *ck = checks_attach(&s);
    struct services *svc = services_attach(&s);
    struct serve *sv = serve_attach(&s, ck, svc);
    struct watch *wt = watch_attach(&s);
    struct flow *fl = flow_attach(&s, (int)uv_available_parallelism());
    int rc = sup_run(&s);
    sup_free(&s);
    serve_free(sv);
    services_free(svc);
    checks_free(ck);
    watch_free(wt);
    if (uv_loop_close(&loop) != 0) fprintf(stderr, "roster: event loop closed with handles open\n");
    /* teardown runs once every role has ended, whatever the result (concurrently's way) */
    if (flow_teardown(fl, so->environ_) && rc == 0) rc = 1;
    flow_free(fl);
    return rc;
}

static int cmd_run(const struct cli *c)
{
    struct plan *p;
    struct plan_inputs in;
    plan_inputs_init(&in, environ);
    int rc = load_plan(c, &in, &p, 0, false);
    if (rc) {
        plan_inputs_free(&in);
        return rc;
    }
    struct sup_opts so = {
        .copts = cli_config_opts(c, environ),
        .roles = c->roles,
        .environ_ = environ,
        .force_color = c->force_color,
        .no_color = c->no_color,
        .log_format = c->log_format,
        .timestamps = c->timestamps,
        .plan_opts = plan_inputs_opts(&in, c->roles, 0),
    };
    rc = supervise(p, &so);
    plan_inputs_free(&in);
    return rc;
}

static int cmd_version(void);

/* roster role NAME: a builtin role as its own process, which the supervisor starts (plan.c
 * gives the role this command line), so that a fault in it never touches roster itself. */
static int cmd_role(const struct cli *c)
{
    struct roster_config cfg;
    /* the config is read with roster's PORT, as roster read it (plan.c passes it on) */
    envmap env = {0};
    envmap_from_environ(&env, environ);
    const char *own_port = envmap_get(&env, ROSTER_CONFIG_PORT_VAR);
    if (own_port)
        envmap_set(&env, "PORT", own_port);
    else
        envmap_unset(&env, "PORT");
    char **envp = envmap_to_envp(&env);
    int loaded = cli_load_config(c, envp, &cfg);
    envp_free(envp);
    envmap_free(&env);
    if (loaded < 0) return 2;
    const struct role_config *r = config_find_role(&cfg, c->arg);
    int rc = !r                              ? scheduler_main(&cfg, c->arg, environ)
             : r->builtin == BUILTIN_WORKER ? worker_main(&cfg, c->arg, environ)
             : r->builtin == BUILTIN_API    ? api_main(&cfg, c->arg, environ)
                                            : scheduler_main(&cfg, c->arg, environ);
    config_free(&cfg);
    return rc;
}

/* concurrently's command line (issue 9 §1): its options and commands as an in-memory config,
 * run as roster runs one (or printed as YAML with --to-yaml). */
static int cmd_concurrently(int argc, char **argv)
{
    struct concur_opts o;
    char err[512];
    char *cwd = getcwd(NULL, 0);
    int rc = 2;
    if (concur_parse(argc - 1, argv + 1, environ, cwd, &o, err, sizeof err) < 0) {
        fprintf(stderr, "roster: %s\n(see roster -- --help)\n", err);
        free(cwd);
        return 2;
    }
    for (size_t i = 0; i < o.warnings.n; i++)
        fprintf(stderr, "roster: warning: %s\n", o.warnings.v[i]);
    struct roster_config cfg;
    if (o.action == CONCUR_HELP) {
        fputs(concur_usage(), stdout);
        rc = 0;
    } else if (o.action == CONCUR_VERSION) {
        rc = cmd_version();
    } else if (concur_config(&o, cwd, environ, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "roster: %s\n", err);
    } else if (o.to_yaml) {
        concur_print_yaml(&cfg, &o, stdout);
        config_free(&cfg);
        rc = 0;
    } else {
        struct plan_inputs in;
        plan_inputs_init(&in, environ);
        struct plan *p;
        diags d = {0};
        rc = build_plan(&cfg, &d, &in, NULL, &p, 0, false);
        if (rc == 0) {
            struct sup_opts so = {
                .environ_ = environ,
                .log_format = -1,
                .timestamps = -1,
                .plan_opts = plan_inputs_opts(&in, NULL, 0),
                .no_reload = true,
            };
            rc = supervise(p, &so);
        }
        plan_inputs_free(&in);
    }
    concur_free(&o);
    free(cwd);
    return rc;
}

static int cmd_check(const struct cli *c)
{
    struct plan *p;
    struct plan_inputs in;
    plan_inputs_init(&in, environ);
    int rc = load_plan(c, &in, &p, c->max_connections, true);
    if (rc == 0) {
        plan_print(p, stdout);
        printf("ok\n");
        plan_unref(p);
    }
    plan_inputs_free(&in);
    return rc;
}

static int cmd_version(void)
{
    char pq[32] = "not installed";
    if (lazylib_load(LAZYLIB_PQ, NULL, 0) == 0) snprintf(pq, sizeof pq, "%d", PQlibVersion());
    printf("roster %s (libuv %s, libpq %s, hiredis %d.%d.%d)\n", ROSTER_VERSION,
           uv_version_string(), pq, HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
    return 0;
}

/* Platforms that hand their run command to the image's ENTRYPOINT as arguments turn
 * `roster --role worker` into `roster roster --role worker` or, when they wrap it in a shell,
 * `roster /bin/bash -c "roster --role worker"`. Both reach the intended roster: a repeated name
 * is dropped, and an absolute path is exec'd with its arguments (the docker-entrypoint habit). */
static void entrypoint_passthrough(int *argc, char ***argv)
{
    if (*argc < 2) return;
    const char *a = (*argv)[1];
    size_t n = strlen(a);
    if (!strcmp(a, "roster") || (n > 7 && !strcmp(a + n - 7, "/roster"))) {
        (*argv)++;
        (*argc)--;
        return;
    }
    if (a[0] == '/') {
        execv(a, *argv + 1);
        fprintf(stderr, "roster: cannot run %s: %s\n", a, strerror(errno));
        exit(127);
    }
}

/* Descriptors 0, 1 and 2 closed by whoever started roster would be handed out to the first files
 * roster opens (the event loop, a child's pipe, a socket), and its log would then be written into
 * them. They are pointed at /dev/null before anything else opens a file. */
static void claim_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd != fd) _exit(1); /* no /dev/null, and nowhere to say so */
    }
}

int main(int argc, char **argv)
{
    claim_std_fds();
    struct cli c;
    entrypoint_passthrough(&argc, &argv);
    if (cli_is_concurrently(argc, argv)) return cmd_concurrently(argc, argv);
    char err[256];
    if (cli_parse(argc, argv, environ, &c, err, sizeof err) < 0) {
        fprintf(stderr, "roster: %s\n(see roster --help)\n", err);
        cli_free(&c);
        return 2;
    }
    int rc;
    switch (c.cmd) {
    case CMD_RUN: rc = cmd_run(&c); break;
    case CMD_CHECK: rc = cmd_check(&c); break;
    case CMD_VERSION: rc = cmd_version(); break;
    case CMD_HELP:
        fputs(cli_usage(), stdout);
        rc = 0;
        break;
    case CMD_BUDGET: rc = commands_budget(&c, environ); break;
    case CMD_HEALTH: rc = commands_health(&c, environ); break;
    case CMD_CRON: rc = commands_cron(&c, environ); break;
    case CMD_SCHEDULES: rc = commands_schedules(&c, environ); break;
    case CMD_ROLE: rc = cmd_role(&c); break;
    case CMD_ENQUEUE: rc = commands_enqueue(&c, environ); break;
    default: rc = commands_control(&c, environ); break;
    }
    cli_free(&c);
    return rc;
}
