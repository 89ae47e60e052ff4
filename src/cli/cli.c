/* cli.c — argument parsing. Options may come before or after the command word. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static const struct {
    const char *name;
    enum cli_cmd cmd;
    int nargs; /* -1: optional one */
} commands[] = {
    {"run", CMD_RUN, 0},         {"check", CMD_CHECK, 0},     {"budget", CMD_BUDGET, 0},
    {"status", CMD_STATUS, 0},   {"restart", CMD_RESTART, 1}, {"stop", CMD_STOP, 1},
    {"start", CMD_START, 1},     {"reload", CMD_RELOAD, 0},   {"health", CMD_HEALTH, -1},
    {"version", CMD_VERSION, 0}, {"help", CMD_HELP, 0},       {"cron", CMD_CRON, 1},
    {"schedules", CMD_SCHEDULES, 0}, {"role", CMD_ROLE, 1}, {"enqueue", CMD_ENQUEUE, 3},
};

const char *cli_usage(void)
{
    return "usage:\n"
           "  roster [run] [-c FILE] [-r|--role ROLES] [-f|--procfile FILE] [--env-file FILE]\n"
           "               [-e|--env FILE,...] [-m|--formation all=1,web=2]\n"
           "               [--log-format text|json] [--timestamps] [--no-color|--color] [--dev]\n"
           "  roster check  [-c FILE] [--role ROLES] [--max-connections N] [-m ...] [--dev]\n"
           "                                            validate; print the resolved plan\n"
           "  roster budget [-c FILE] [--max-connections N] [--instances ROLE=N,...]\n"
           "  roster status [--json] | restart ROLE[.N] | stop ROLE | start ROLE | reload\n"
           "                [-c FILE] [--socket PATH]   talk to a running roster\n"
           "  roster health [URL]                       exit 0 if /livez answers 200\n"
           "  roster cron EXPR [--tz ZONE] [--from TIME] [--count N]\n"
           "                                            print the next N (5) fire times\n"
           "  roster schedules [-c FILE] [--from TIME] [--count N]\n"
           "  roster role NAME [-c FILE]    (a builtin role's process; roster run starts it)\n"
           "                                            each schedule's next fire times\n"
           "  roster enqueue QUEUE TYPE [JSON|-] [--delay D] [--at TIME] [--unique KEY]\n"
           "                [--max-attempts N] [-c FILE]  put a job on the queue; print its id\n"
           "  roster version | --help\n"
           "  roster [concurrently's options] COMMAND...  run commands as concurrently 9 does\n"
           "               (-n, -c, -p, -k, -s, --restart-tries, npm:dev:*, ...; `roster --` forces\n"
           "               this form; --to-yaml prints the equivalent roster.yaml)\n"
           "\n"
           "Config: -c FILE, else $ROSTER_CONFIG, ./roster.yaml, ./config/roster.yaml, "
           "./Procfile.\n"
           "ROLES is a comma list (also $ROSTER_ROLES); without it every role runs.\n"
           "--dev (also ROSTER_DEV=1): a role that keeps crashing gives up sooner and stays down\n"
           "while the others run on; a crash repeated with the same output is shown once.\n"
           "Exit codes: 0 clean shutdown (SIGTERM) or every oneshot succeeded; a role that gave up\n"
           "or a failed oneshot: that role's own status (its code, or 128+N for signal N; exit:\n"
           "in the config says whose status counts); 1 roster itself failed; 2 usage or config\n"
           "error.\n";
}

/* roster's options that take a value as the next word. */
static const char *const value_opts[] = {
    "-c",           "--config",          "-r",          "--role",  "--roles", "--procfile",
    "-f",           "--env-file",        "-e",          "--env",   "-m",      "--formation",
    "--log-format", "--max-connections", "--instances", "--socket",  "--tz",    "--from",
    "--count",      "--delay",           "--at",        "--unique", "--max-attempts"};

/* The subcommand a word is a typo of ("stauts"), or NULL: a lone word within two edits of a
 * subcommand is taken as roster's own line (and refused with a suggestion), not as a program to
 * run; `roster -- WORD` runs such a program. */
static const char *near_command(const char *a)
{
    if (strpbrk(a, " /=") || strlen(a) < 4) return NULL; /* top, bun: programs */
    for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
        if (str_distance(a, commands[k].name, 2) <= 2) return commands[k].name;
    return NULL;
}

bool cli_is_concurrently(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--")) return true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) return true; /* roster's own line has no "--" */
        if (a[0] == '-' && a[1]) {
            for (size_t k = 0; k < ARRAY_SIZE(value_opts); k++)
                if (!strcmp(a, value_opts[k])) i++;
            continue;
        }
        for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
            if (!strcmp(a, commands[k].name)) return false;
        if (i == argc - 1 && near_command(a)) return false;
        return true;
    }
    return false;
}

static int need_value(int argc, char **argv, int *i, const char *opt, const char **out, char *err,
                      size_t errlen)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq && !strncmp(argv[*i], "--", 2)) {
        *out = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc) {
        snprintf(err, errlen, "option %s needs a value", opt);
        return -1;
    }
    *out = argv[++*i];
    return 0;
}

static bool opt_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(arg, name, n) && (arg[n] == '\0' || (arg[n] == '=' && name[1] == '-'));
}

/* Pushes each item of a comma list; an empty item is an error. */
static int push_list(strvec *out, const char *list, const char *opt, char *err, size_t errlen)
{
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0) {
            snprintf(err, errlen, "%s takes FILE[,FILE...], not '%s'", opt, list);
            return -1;
        }
        strvec_push(out, xstrndup(p, n));
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* Options that only some commands act on are refused by the others, never ignored. */
static int check_scope(const struct cli *c, char *err, size_t errlen)
{
    bool planning = c->cmd == CMD_BUDGET || c->cmd == CMD_CHECK;
    if (c->max_connections && !planning) {
        snprintf(err, errlen,
                 "--max-connections is for `roster budget` and `roster check` (a plan without "
                 "a server); a running roster reads the server's max_connections, or set "
                 "postgres.budget: N");
        return -1;
    }
    if (c->instances && c->cmd != CMD_BUDGET) {
        snprintf(err, errlen,
                 "--instances is for `roster budget`; a running roster's fleet copies are "
                 "postgres.instances: in the config (copies inside it: instances: per role)");
        return -1;
    }
    if (c->dev && c->cmd != CMD_RUN && c->cmd != CMD_CHECK) {
        snprintf(err, errlen, "--dev is for `roster run` and `roster check`");
        return -1;
    }
    if (c->tz && c->cmd != CMD_CRON) {
        snprintf(err, errlen, "--tz is for `roster cron` (a schedule's zone is its tz:)");
        return -1;
    }
    if ((c->from || c->count) && c->cmd != CMD_CRON && c->cmd != CMD_SCHEDULES) {
        snprintf(err, errlen, "--from and --count are for `roster cron` and `roster schedules`");
        return -1;
    }
    if ((c->delay || c->at || c->unique || c->max_attempts) && c->cmd != CMD_ENQUEUE) {
        snprintf(err, errlen, "--delay, --at, --unique and --max-attempts are for `roster enqueue`");
        return -1;
    }
    if (c->delay && c->at) {
        snprintf(err, errlen, "--delay and --at both say when the job runs: give one");
        return -1;
    }
    if (c->formation && c->cmd != CMD_RUN && c->cmd != CMD_CHECK) {
        snprintf(err, errlen, "--formation is for `roster run` and `roster check`");
        return -1;
    }
    return 0;
}

/* ROSTER_DEV turns the dev profile on as --dev does, for run and check (a package.json script
 * or a shell profile can set it once); 1/true/yes and 0/false/no or empty, anything else is a
 * usage error rather than a guess. */
static int dev_from_env(struct cli *c, char **environ_, char *err, size_t errlen)
{
    const char *v = NULL;
    for (char **e = environ_; e && *e; e++)
        if (!strncmp(*e, "ROSTER_DEV=", 11)) v = *e + 11;
    if (!v || (c->cmd != CMD_RUN && c->cmd != CMD_CHECK)) return 0;
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        c->dev = true;
    else if (*v && strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "no")) {
        snprintf(err, errlen, "ROSTER_DEV must be 1 or 0 (true/false, yes/no), not '%.40s'", v);
        return -1;
    }
    return 0;
}

int cli_parse(int argc, char **argv, char **environ_, struct cli *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cmd = CMD_RUN;
    c->log_format = -1;
    c->timestamps = -1;
    bool have_cmd = false;
    int positional = 0;
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        if (!strcmp(a, "--")) {
            snprintf(err, errlen, "unexpected '--'");
            return -1;
        } else if (a[0] == '-' && a[1]) {
            if (opt_is(a, "-c") || opt_is(a, "--config")) {
                if (need_value(argc, argv, &i, "--config", &c->config, err, errlen) < 0) return -1;
            } else if (opt_is(a, "-r") || opt_is(a, "--role") || opt_is(a, "--roles")) {
                if (need_value(argc, argv, &i, "--role", &c->roles, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--procfile") || opt_is(a, "-f")) {
                if (need_value(argc, argv, &i, "--procfile", &c->procfile, err, errlen) < 0)
                    return -1;
            } else if (opt_is(a, "--env-file")) {
                if (need_value(argc, argv, &i, "--env-file", &v, err, errlen) < 0) return -1;
                strvec_pushdup(&c->env_files, v);
            } else if (opt_is(a, "-e") || opt_is(a, "--env")) {
                /* foreman's: a comma list of env files */
                if (need_value(argc, argv, &i, "--env", &v, err, errlen) < 0) return -1;
                if (push_list(&c->env_files, v, "--env", err, errlen) < 0) return -1;
            } else if (opt_is(a, "-m") || opt_is(a, "--formation")) {
                if (need_value(argc, argv, &i, "--formation", &c->formation, err, errlen) < 0)
                    return -1;
            } else if (opt_is(a, "--log-format")) {
                if (need_value(argc, argv, &i, "--log-format", &v, err, errlen) < 0) return -1;
                if (!strcmp(v, "text"))
                    c->log_format = 0;
                else if (!strcmp(v, "json"))
                    c->log_format = 1;
                else {
                    snprintf(err, errlen, "--log-format must be text or json, not '%s'", v);
                    return -1;
                }
            } else if (!strcmp(a, "--timestamps")) {
                c->timestamps = 1;
            } else if (!strcmp(a, "--no-timestamps")) {
                c->timestamps = 0;
            } else if (!strcmp(a, "--no-color")) {
                c->no_color = true;
            } else if (!strcmp(a, "--color")) {
                c->force_color = true;
            } else if (opt_is(a, "--max-connections")) {
                if (need_value(argc, argv, &i, "--max-connections", &v, err, errlen) < 0) return -1;
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > 1000000) {
                    snprintf(err, errlen, "--max-connections must be a positive number, not '%s'",
                             v);
                    return -1;
                }
                c->max_connections = (int)n;
            } else if (opt_is(a, "--instances")) {
                if (need_value(argc, argv, &i, "--instances", &c->instances, err, errlen) < 0)
                    return -1;
            } else if (opt_is(a, "--socket")) {
                if (need_value(argc, argv, &i, "--socket", &c->socket, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--tz")) {
                if (need_value(argc, argv, &i, "--tz", &c->tz, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--from")) {
                if (need_value(argc, argv, &i, "--from", &c->from, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--count")) {
                if (need_value(argc, argv, &i, "--count", &v, err, errlen) < 0) return -1;
                char *end;
                long n = strtol(v, &end, 10);
                if (!*v || *end || n < 1 || n > 1000) {
                    snprintf(err, errlen, "--count must be a number from 1 to 1000, not '%s'", v);
                    return -1;
                }
                c->count = (int)n;
            } else if (opt_is(a, "--delay")) {
                if (need_value(argc, argv, &i, "--delay", &c->delay, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--at")) {
                if (need_value(argc, argv, &i, "--at", &c->at, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--unique")) {
                if (need_value(argc, argv, &i, "--unique", &c->unique, err, errlen) < 0) return -1;
            } else if (opt_is(a, "--max-attempts")) {
                if (need_value(argc, argv, &i, "--max-attempts", &c->max_attempts, err, errlen) < 0)
                    return -1;
            } else if (!strcmp(a, "--dev")) {
                c->dev = true;
            } else if (!strcmp(a, "--json")) {
                c->json = true;
            } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                c->cmd = CMD_HELP;
                return 0;
            } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
                c->cmd = CMD_VERSION;
                return 0;
            } else {
                snprintf(err, errlen, "unknown option '%s'", a);
                return -1;
            }
            continue;
        }
        if (!have_cmd) {
            bool found = false;
            for (size_t k = 0; k < ARRAY_SIZE(commands); k++) {
                if (!strcmp(a, commands[k].name)) {
                    c->cmd = commands[k].cmd;
                    nargs = commands[k].nargs;
                    found = true;
                }
            }
            if (!found) {
                const char *near = near_command(a);
                if (near)
                    snprintf(err, errlen,
                             "unknown command '%s' (did you mean '%s'? `roster -- %s` runs a "
                             "program of that name)",
                             a, near, a);
                else
                    snprintf(err, errlen, "unknown command '%s'", a);
                return -1;
            }
            have_cmd = true;
            continue;
        }
        if (positional >= (nargs < 0 ? 1 : nargs)) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return -1;
        }
        if (c->cmd == CMD_ENQUEUE)
            *(positional == 0 ? &c->enq_queue : positional == 1 ? &c->enq_type : &c->enq_json) = a;
        else
            c->arg = a;
        positional++;
    }
    if (c->cmd == CMD_ENQUEUE && positional < 2) {
        snprintf(err, errlen, "'enqueue' needs a queue and a job type: roster enqueue QUEUE TYPE "
                              "[JSON]");
        return -1;
    }
    if (c->cmd == CMD_CRON && positional < 1) {
        snprintf(err, errlen, "'cron' needs an expression, such as \"*/15 * * * *\"");
        return -1;
    }
    if (nargs > 0 && positional < nargs && c->cmd != CMD_ENQUEUE) {
        snprintf(err, errlen, "'%s' needs a role name",
                 c->cmd == CMD_RESTART ? "restart"
                 : c->cmd == CMD_STOP  ? "stop"
                 : c->cmd == CMD_ROLE  ? "role"
                                       : "start");
        return -1;
    }
    char name[CONFIG_ROLE_NAME_MAX + 1];
    int instance;
    if (nargs > 0 && c->cmd != CMD_CRON && c->cmd != CMD_ENQUEUE && config_parse_target(c->arg, name, &instance) < 0) {
        /* only names of the config's grammar reach the control socket's request path */
        snprintf(err, errlen,
                 "'%.80s' is not a role (letters, digits, '-' and '_', starting with a letter or "
                 "digit) nor ROLE.N for one copy",
                 c->arg);
        return -1;
    }
    if (check_scope(c, err, errlen) < 0) return -1;
    if (dev_from_env(c, environ_, err, errlen) < 0) return -1;
    if (!c->roles) {
        for (char **e = environ_; e && *e; e++)
            if (!strncmp(*e, "ROSTER_ROLES=", 13) && (*e)[13]) c->roles = *e + 13;
    }
    return 0;
}

void cli_free(struct cli *c)
{
    strvec_free(&c->env_files);
}
