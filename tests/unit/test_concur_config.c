/* test_concur_config.c — concurrently's options as a roster config (cli/concur_config.c): an
 * options struct in, the config's roles and top-level keys out; and the YAML --to-yaml prints
 * for it, loaded back, says the same. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/concur.h"
#include "cli/concur_config.h"
#include "t.h"

static char *environ_none[] = {NULL};

/* Options with concurrently's defaults and n commands "cmd I" (named by names[i] when given). */
static void opts_init(struct concur_opts *o, size_t n, const char *const *names)
{
    memset(o, 0, sizeof *o);
    o->action = CONCUR_RUN;
    o->prefix = CONCUR_PREFIX_DEFAULT;
    o->prefix_length = 10;
    o->timestamp_format = xstrdup("yyyy-MM-dd HH:mm:ss.SSS");
    o->kill_signal = SIGTERM;
    o->kill_timeout_ms = -1;
    o->cmds = xcalloc(n, sizeof *o->cmds);
    for (size_t i = 0; i < n; i++) {
        struct concur_cmd *c = &o->cmds[o->ncmds++];
        c->index = i;
        c->name = xstrdup(names && names[i] ? names[i] : "");
        c->command = xasprintf("cmd %zu", i);
        c->color = xstrdup("reset");
    }
}

/* The YAML --to-yaml prints for cfg, loaded back as a roster.yaml. */
static int reload(const struct roster_config *cfg, const struct concur_opts *o,
                  struct roster_config *back, char **yaml)
{
    size_t len = 0;
    FILE *f = open_memstream(yaml, &len);
    concur_print_yaml(cfg, o, f);
    fclose(f);
    envmap vars = {0};
    diags d = {0};
    config_defaults(back);
    back->path = xstrdup("roster.yaml");
    back->dir = xstrdup("/tmp");
    int rc = config_load_yaml(back->path, *yaml, len, &vars, back, &d);
    if (rc < 0) diags_print(&d, stderr);
    diags_free(&d);
    return rc;
}

/* The defaults: every command a role named by its name or index, concurrently's look with its
 * default prefix, nothing held, no limit, no teardown. */
static void test_defaults(void)
{
    struct concur_opts o;
    const char *const names[] = {"api", NULL, "api"};
    opts_init(&o, 3, names);
    struct roster_config cfg, back;
    char err[256] = "";
    CHECK_INT(concur_config(&o, "/tmp", environ_none, &cfg, err, sizeof err), 0);
    CHECK_INT(cfg.nroles, 3);
    CHECK_STR(cfg.roles[0].name, "api");
    CHECK_STR(cfg.roles[1].name, "1");
    CHECK_STR(cfg.roles[2].name, "api-2"); /* concurrently allows the same name twice */
    CHECK_STR(cfg.roles[0].look_name, "api");
    CHECK_STR(cfg.roles[1].look_name, "");
    CHECK_STR(cfg.roles[0].shell, "cmd 0");
    CHECK_STR(cfg.roles[0].look_color, ""); /* "reset": no color */
    CHECK(!cfg.roles[0].look_hidden);
    CHECK_INT(cfg.roles[0].restart, RESTART_NEVER);
    CHECK_INT(cfg.roles[0].give_up_then, GIVEUP_CONTINUE);
    CHECK_INT(cfg.roles[0].exit_on_end, EXIT_ON_END_NEVER);
    CHECK_INT(cfg.roles[0].stop_signal, SIGTERM);
    CHECK(cfg.look.on && cfg.look.prefix == NULL && !cfg.look.raw && !cfg.look.pad);
    CHECK(!cfg.look.group && !cfg.look.timings);
    CHECK_INT(cfg.look.command_length, 10);
    CHECK(cfg.max_processes == 0);
    CHECK_INT(cfg.teardown.n, 0);
    CHECK_INT(cfg.exit.interrupted, EXIT_INTERRUPTED_SUCCESS);
    CHECK(cfg.control_off && cfg.control_socket == NULL);
    char *yaml = NULL;
    CHECK_INT(reload(&cfg, &o, &back, &yaml), 0);
    /* concurrently's default prefix, [name] or else [index]: the role's name, which is its
     * index when the command has no name */
    CHECK(back.look.on && back.look.brackets);
    CHECK_STR(back.look.prefix, "{name}");
    CHECK(strstr(yaml, "is the role's name here") != NULL); /* api-2 shows as [api-2] */
    CHECK(!back.look.group && !back.look.timings && back.max_processes == 0);
    CHECK_INT(back.teardown.n, 0);
    CHECK_INT(back.nroles, 3);
    CHECK(back.roles[0].look_color == NULL);
    free(yaml);
    config_free(&back);
    config_free(&cfg);
    concur_free(&o);
}

/* Every output and flow option: -p template, -l, --pad-prefix, -t, -r, -g, --timings, -m,
 * --teardown, -c, --hide. */
static void test_output_and_flow(void)
{
    struct concur_opts o;
    const char *const names[] = {"web", "worker"};
    opts_init(&o, 2, names);
    o.prefix = CONCUR_PREFIX_TEMPLATE;
    o.prefix_template = xstrdup("{time} ${x} {name}");
    o.prefix_length = 6;
    o.pad_prefix = true;
    free(o.timestamp_format);
    o.timestamp_format = xstrdup("HH:mm:ss");
    o.raw = true;
    o.group = true;
    o.timings = true;
    o.max_processes = 50;
    o.max_percent = true;
    strvec_pushdup(&o.teardown, "echo bye");
    strvec_pushdup(&o.teardown, "rm -f $$.pid");
    free(o.cmds[0].color);
    o.cmds[0].color = xstrdup("bgBlue.bold");
    o.cmds[1].hidden = true;
    o.kill_others = true;
    struct roster_config cfg, back;
    char err[256] = "";
    CHECK_INT(concur_config(&o, "/tmp", environ_none, &cfg, err, sizeof err), 0);
    CHECK_STR(cfg.look.prefix, "{time} ${x} {name}");
    CHECK(!cfg.look.brackets && cfg.look.raw && cfg.look.pad);
    CHECK_INT(cfg.look.command_length, 6);
    CHECK_STR(cfg.look.time_format, "HH:mm:ss");
    CHECK(cfg.look.group && cfg.look.timings);
    CHECK(cfg.max_processes == 50 && cfg.max_processes_percent);
    CHECK_INT(cfg.teardown.n, 2);
    CHECK_STR(cfg.teardown.v[1], "rm -f $$.pid");
    CHECK_STR(cfg.roles[0].look_color, "bgBlue.bold");
    CHECK(!cfg.roles[0].look_hidden && cfg.roles[1].look_hidden);
    CHECK_INT(cfg.roles[1].exit_on_end, EXIT_ON_END_ALWAYS);

    char *yaml = NULL;
    CHECK_INT(reload(&cfg, &o, &back, &yaml), 0);
    CHECK(strstr(yaml, "Not said here") == NULL);
    CHECK(back.look.on && !back.look.brackets && back.look.raw && back.look.pad);
    /* the template's ${x} and the teardown's $$ reach roster as written, not interpolated */
    CHECK_STR(back.look.prefix, "{time} ${x} {name}");
    CHECK_INT(back.look.command_length, 6);
    CHECK_STR(back.look.time_format, "HH:mm:ss");
    CHECK(back.look.group && back.look.timings);
    CHECK(back.max_processes == 50 && back.max_processes_percent);
    CHECK_INT(back.teardown.n, 2);
    CHECK_STR(back.teardown.v[0], "echo bye");
    CHECK_STR(back.teardown.v[1], "rm -f $$.pid");
    CHECK_STR(back.roles[0].look_color, "bgBlue.bold");
    CHECK(!back.roles[0].look_hidden && back.roles[1].look_hidden);
    CHECK(back.roles[1].look_color == NULL);
    CHECK_INT(back.roles[1].exit_on_end, EXIT_ON_END_ALWAYS);
    CHECK(strstr(yaml, "is the role's name here") == NULL); /* names kept as written */
    free(yaml);
    config_free(&back);
    config_free(&cfg);

    /* -p's keywords stay keywords (bracketed), none stays none, a count stays a count */
    static const struct {
        enum concur_prefix p;
        const char *want;
    } kw[] = {
        {CONCUR_PREFIX_INDEX, "{index}"}, {CONCUR_PREFIX_PID, "{pid}"},
        {CONCUR_PREFIX_TIME, "{time}"},   {CONCUR_PREFIX_COMMAND, "{command}"},
        {CONCUR_PREFIX_NAME, "{name}"},   {CONCUR_PREFIX_NONE, ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(kw); i++) {
        free(o.prefix_template);
        o.prefix_template = NULL;
        o.prefix = kw[i].p;
        o.raw = false;
        o.max_processes = 3;
        o.max_percent = false;
        CHECK_INT(concur_config(&o, "/tmp", environ_none, &cfg, err, sizeof err), 0);
        CHECK_STR(cfg.look.prefix, kw[i].want);
        CHECK(cfg.look.brackets == (kw[i].p != CONCUR_PREFIX_NONE));
        CHECK_INT(reload(&cfg, &o, &back, &yaml), 0);
        CHECK_STR(back.look.prefix, kw[i].want);
        CHECK(back.look.brackets == cfg.look.brackets && back.look.on);
        CHECK(back.max_processes == 3 && !back.max_processes_percent);
        free(yaml);
        config_free(&back);
        config_free(&cfg);
    }
    concur_free(&o);
}

int main(void)
{
    test_defaults();
    test_output_and_flow();
    return t_done("concur_config");
}
