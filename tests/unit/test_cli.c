/* test_cli.c — the command line: commands and options in any order, role selection from
 * --role or ROSTER_ROLES, value checks and the usage errors. */
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "t.h"

static char err[256];
static struct cli c;

/* Parses a NULL-terminated argument list (argv[0] is added) with environ_ env. */
static int parse_env(char **env, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "roster";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    err[0] = '\0';
    cli_free(&c);
    return cli_parse(argc, argv, env, &c, err, sizeof err);
}

#define ARGS(...)  ((const char *const[]){__VA_ARGS__, NULL})
#define PARSE(...) parse_env(NULL, ARGS(__VA_ARGS__))
#define PARSE0()   parse_env(NULL, (const char *const[]){NULL})

static void test_defaults(void)
{
    CHECK_INT(PARSE0(), 0);
    CHECK_INT(c.cmd, CMD_RUN);
    CHECK(c.config == NULL);
    CHECK(c.roles == NULL);
    CHECK(c.procfile == NULL);
    CHECK_INT(c.env_files.n, 0);
    CHECK_INT(c.log_format, -1);
    CHECK_INT(c.timestamps, -1);
    CHECK(!c.no_color && !c.force_color);
    CHECK(c.arg == NULL);
    CHECK_INT(c.max_connections, 0);
    CHECK(c.instances == NULL && c.socket == NULL);
    CHECK(!c.json);
}

static void test_commands(void)
{
    static const struct {
        const char *word;
        enum cli_cmd cmd;
    } words[] = {
        {"run", CMD_RUN},         {"check", CMD_CHECK},   {"budget", CMD_BUDGET},
        {"status", CMD_STATUS},   {"reload", CMD_RELOAD}, {"health", CMD_HEALTH},
        {"version", CMD_VERSION}, {"help", CMD_HELP},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        CHECK_INT(PARSE(words[i].word), 0);
        CHECK_INT(c.cmd, words[i].cmd);
    }
    CHECK_INT(PARSE("restart", "api"), 0);
    CHECK_INT(c.cmd, CMD_RESTART);
    CHECK_STR(c.arg, "api");
    CHECK_INT(PARSE("stop", "worker"), 0);
    CHECK_INT(c.cmd, CMD_STOP);
    CHECK_STR(c.arg, "worker");
    CHECK_INT(PARSE("start", "worker"), 0);
    CHECK_INT(c.cmd, CMD_START);
    CHECK_INT(PARSE("-h"), 0);
    CHECK_INT(c.cmd, CMD_HELP);
    CHECK_INT(PARSE("check", "--help"), 0);
    CHECK_INT(c.cmd, CMD_HELP);
    CHECK_INT(PARSE("--version"), 0);
    CHECK_INT(c.cmd, CMD_VERSION);
    CHECK_INT(PARSE("-V"), 0);
    CHECK_INT(c.cmd, CMD_VERSION);
    CHECK(strstr(cli_usage(), "usage:") != NULL);
    CHECK(strstr(cli_usage(), "roster health [URL]") != NULL);
}

static void test_options_any_order(void)
{
    CHECK_INT(PARSE("run", "-c", "roster.yml", "--role", "api,worker"), 0);
    CHECK_INT(c.cmd, CMD_RUN);
    CHECK_STR(c.config, "roster.yml");
    CHECK_STR(c.roles, "api,worker");

    CHECK_INT(PARSE("-c", "config/roster.yaml", "check"), 0);
    CHECK_INT(c.cmd, CMD_CHECK);
    CHECK_STR(c.config, "config/roster.yaml");

    CHECK_INT(PARSE("--role", "api", "check", "--config", "x.yaml"), 0);
    CHECK_INT(c.cmd, CMD_CHECK);
    CHECK_STR(c.roles, "api");
    CHECK_STR(c.config, "x.yaml");

    /* --opt=value forms */
    CHECK_INT(PARSE("check", "--config=a.yaml", "--role=web", "--log-format=json"), 0);
    CHECK_STR(c.config, "a.yaml");
    CHECK_STR(c.roles, "web");
    CHECK_INT(c.log_format, LOG_JSON);
    CHECK_INT(PARSE("--config="), 0);
    CHECK_STR(c.config, "");

    CHECK_INT(PARSE("-r", "worker"), 0);
    CHECK_STR(c.roles, "worker");
    CHECK_INT(PARSE("--roles", "a,b"), 0);
    CHECK_STR(c.roles, "a,b");
    /* the last one wins */
    CHECK_INT(PARSE("-r", "a", "-r", "b"), 0);
    CHECK_STR(c.roles, "b");

    CHECK_INT(PARSE("--procfile", "Procfile.dev", "--env-file", ".env", "--env-file=.env.local"),
              0);
    CHECK_STR(c.procfile, "Procfile.dev");
    CHECK_INT(c.env_files.n, 2);
    if (c.env_files.n == 2) {
        CHECK_STR(c.env_files.v[0], ".env");
        CHECK_STR(c.env_files.v[1], ".env.local");
    }

    CHECK_INT(PARSE("--timestamps", "--no-color"), 0);
    CHECK_INT(c.timestamps, 1);
    CHECK(c.no_color);
    CHECK_INT(PARSE("--no-timestamps", "--color"), 0);
    CHECK_INT(c.timestamps, 0);
    CHECK(c.force_color);
    CHECK_INT(PARSE("--log-format", "text"), 0);
    CHECK_INT(c.log_format, LOG_TEXT);

    CHECK_INT(PARSE("budget", "--max-connections", "25", "--instances", "api=2,worker=1"), 0);
    CHECK_INT(c.cmd, CMD_BUDGET);
    CHECK_INT(c.max_connections, 25);
    CHECK_STR(c.instances, "api=2,worker=1");
    CHECK_INT(PARSE("--max-connections=1000000", "budget"), 0);
    CHECK_INT(c.max_connections, 1000000);

    CHECK_INT(PARSE("status", "--json", "--socket", "/tmp/r.sock"), 0);
    CHECK_INT(c.cmd, CMD_STATUS);
    CHECK(c.json);
    CHECK_STR(c.socket, "/tmp/r.sock");
    CHECK_INT(PARSE("--socket=/tmp/s", "restart", "api", "-c", "r.yaml"), 0);
    CHECK_INT(c.cmd, CMD_RESTART);
    CHECK_STR(c.arg, "api");
    CHECK_STR(c.socket, "/tmp/s");
    CHECK_STR(c.config, "r.yaml");
}

/* foreman's -f, -e and -m, beside roster's own spellings. */
static void test_foreman_options(void)
{
    CHECK_INT(PARSE("-f", "Procfile.dev", "-e", ".env,.env.local", "-m", "web=2,worker=1"), 0);
    CHECK_INT(c.cmd, CMD_RUN);
    CHECK_STR(c.procfile, "Procfile.dev");
    CHECK_INT(c.env_files.n, 2);
    if (c.env_files.n == 2) {
        CHECK_STR(c.env_files.v[0], ".env");
        CHECK_STR(c.env_files.v[1], ".env.local");
    }
    CHECK_STR(c.formation, "web=2,worker=1");
    CHECK_INT(PARSE("check", "--formation=all=1,web=0", "--env", "a.env", "--env-file", "b.env"),
              0);
    CHECK_STR(c.formation, "all=1,web=0");
    CHECK_INT(c.env_files.n, 2);
    CHECK_INT(PARSE("-e", ".env,,x"), -1);
    CHECK_STR(err, "--env takes FILE[,FILE...], not '.env,,x'");
    CHECK_INT(PARSE("-m"), -1);
    CHECK_STR(err, "option --formation needs a value");
}

/* Options a command would ignore are usage errors that name the commands they belong to. */
static void test_option_scope(void)
{
    CHECK_INT(PARSE("--max-connections", "25"), -1);
    CHECK(str_has_prefix(err, "--max-connections is for `roster budget` and `roster check`"));
    CHECK_INT(PARSE("run", "--instances", "api=2"), -1);
    CHECK(str_has_prefix(err, "--instances is for `roster budget`;"));
    CHECK_INT(PARSE("check", "--instances", "api=2"), -1);
    CHECK(str_has_prefix(err, "--instances is for `roster budget`;"));
    CHECK_INT(PARSE("status", "--max-connections", "3"), -1);
    CHECK_INT(PARSE("budget", "-m", "web=1"), -1);
    CHECK_STR(err, "--formation is for `roster run` and `roster check`");
    CHECK_INT(PARSE("check", "--max-connections", "25"), 0);
    CHECK_INT(PARSE("-m", "web=2", "check"), 0);
    CHECK_INT(PARSE("restart", "api", "--dev"), -1);
    CHECK_STR(err, "--dev is for `roster run` and `roster check`");
}

/* --dev, or ROSTER_DEV for run and check (a control command ignores it). */
static void test_dev(void)
{
    CHECK_INT(PARSE("--dev"), 0);
    CHECK(c.dev && c.cmd == CMD_RUN);
    CHECK_INT(PARSE("check"), 0);
    CHECK(!c.dev);
    char *on[] = {"ROSTER_DEV=1", NULL};
    CHECK_INT(parse_env(on, ARGS("check")), 0);
    CHECK(c.dev);
    CHECK_INT(parse_env(on, ARGS("status")), 0);
    CHECK(!c.dev);
    char *off[] = {"ROSTER_DEV=0", NULL};
    CHECK_INT(parse_env(off, ARGS("run")), 0);
    CHECK(!c.dev);
    CHECK_INT(parse_env(off, ARGS("run", "--dev")), 0);
    CHECK(c.dev);
    char *empty[] = {"ROSTER_DEV=", NULL};
    CHECK_INT(parse_env(empty, ARGS("run")), 0);
    CHECK(!c.dev);
    char *bad[] = {"ROSTER_DEV=maybe", NULL};
    CHECK_INT(parse_env(bad, ARGS("run")), -1);
    CHECK_STR(err, "ROSTER_DEV must be 1 or 0 (true/false, yes/no), not 'maybe'");
}

/* What restart, stop and start name is a role (the config's grammar) or ROLE.N: nothing else
 * reaches the control socket's request path. */
static void test_role_targets(void)
{
    CHECK_INT(PARSE("restart", "worker.1"), 0);
    CHECK_STR(c.arg, "worker.1");
    CHECK_INT(PARSE("restart", "api/stop?"), -1);
    CHECK_STR(err, "'api/stop?' is not a role (letters, digits, '-' and '_', starting with a "
                   "letter or digit) nor ROLE.N for one copy");
    CHECK_INT(PARSE("stop", "../../reload#"), -1);
    CHECK_INT(PARSE("start", "a%2Fb"), -1);
    CHECK_INT(PARSE("restart", "api.x"), -1);
}

static void test_roles_from_environment(void)
{
    char *env[] = {"PATH=/bin", "ROSTER_ROLES=worker,scheduler", NULL};
    CHECK_INT(parse_env(env, ARGS("run")), 0);
    CHECK_STR(c.roles, "worker,scheduler");
    /* --role wins over the environment */
    CHECK_INT(parse_env(env, ARGS("--role", "api")), 0);
    CHECK_STR(c.roles, "api");
    /* an empty ROSTER_ROLES selects nothing in particular */
    char *empty[] = {"ROSTER_ROLES=", NULL};
    CHECK_INT(parse_env(empty, ARGS("run")), 0);
    CHECK(c.roles == NULL);
    /* a name that only starts the same is not it */
    char *other[] = {"ROSTER_ROLES_X=a", "XROSTER_ROLES=b", NULL};
    CHECK_INT(parse_env(other, ARGS("run")), 0);
    CHECK(c.roles == NULL);
}

static void test_health(void)
{
    CHECK_INT(PARSE("health"), 0);
    CHECK_INT(c.cmd, CMD_HEALTH);
    CHECK(c.arg == NULL);
    CHECK_INT(PARSE("health", "http://127.0.0.1:9090/livez"), 0);
    CHECK_STR(c.arg, "http://127.0.0.1:9090/livez");
    CHECK_INT(PARSE("health", "http://a/livez", "http://b/livez"), -1);
    CHECK_STR(err, "unexpected argument 'http://b/livez'");
}

static void test_errors(void)
{
    CHECK_INT(PARSE("restart"), -1);
    CHECK_STR(err, "'restart' needs a role name");
    CHECK_INT(PARSE("stop"), -1);
    CHECK_STR(err, "'stop' needs a role name");
    CHECK_INT(PARSE("start", "--json"), -1);
    CHECK_STR(err, "'start' needs a role name");
    CHECK_INT(PARSE("restart", "api", "web"), -1);
    CHECK_STR(err, "unexpected argument 'web'");
    CHECK_INT(PARSE("check", "extra"), -1);
    CHECK_STR(err, "unexpected argument 'extra'");
    CHECK_INT(PARSE("frobnicate"), -1);
    CHECK_STR(err, "unknown command 'frobnicate'");
    CHECK_INT(PARSE("stauts"), -1);
    CHECK_STR(err, "unknown command 'stauts' (did you mean 'status'? `roster -- stauts` runs a "
                   "program of that name)");
    CHECK_INT(PARSE("-"), -1);
    CHECK_STR(err, "unknown command '-'");
    CHECK_INT(PARSE("--frob"), -1);
    CHECK_STR(err, "unknown option '--frob'");
    CHECK_INT(PARSE("-c=roster.yaml"), -1);
    CHECK_STR(err, "unknown option '-c=roster.yaml'");
    CHECK_INT(PARSE("--timestamps=yes"), -1);
    CHECK_STR(err, "unknown option '--timestamps=yes'");
    CHECK_INT(PARSE("--configx", "a"), -1);
    CHECK_STR(err, "unknown option '--configx'");
    CHECK_INT(PARSE("--"), -1);
    CHECK_STR(err, "unexpected '--'");
    CHECK_INT(PARSE("--log-format", "xml"), -1);
    CHECK_STR(err, "--log-format must be text or json, not 'xml'");
    CHECK_INT(PARSE("--log-format=JSON"), -1);
    CHECK_STR(err, "--log-format must be text or json, not 'JSON'");
    CHECK_INT(PARSE("--log-format"), -1);
    CHECK_STR(err, "option --log-format needs a value");
    CHECK_INT(PARSE("check", "-c"), -1);
    CHECK_STR(err, "option --config needs a value");
    CHECK_INT(PARSE("--role"), -1);
    CHECK_STR(err, "option --role needs a value");
    CHECK_INT(PARSE("--env-file", "a", "--env-file"), -1);
    CHECK_STR(err, "option --env-file needs a value");
    CHECK_INT(PARSE("budget", "--max-connections", "0"), -1);
    CHECK_STR(err, "--max-connections must be a positive number, not '0'");
    CHECK_INT(PARSE("budget", "--max-connections", "25x"), -1);
    CHECK_STR(err, "--max-connections must be a positive number, not '25x'");
    CHECK_INT(PARSE("budget", "--max-connections=-5"), -1);
    CHECK_STR(err, "--max-connections must be a positive number, not '-5'");
}

/* issue 9 §1: which command lines are concurrently's */
#define CONCUR(...) cli_is_concurrently(ARGC(__VA_ARGS__), (char *[]){"roster", __VA_ARGS__, NULL})
#define ARGC(...)   (int)(sizeof((char *[]){"roster", __VA_ARGS__}) / sizeof(char *))
static void test_concurrently_mode(void)
{
    CHECK(!cli_is_concurrently(1, (char *[]){"roster", NULL}));
    CHECK(CONCUR("echo a", "echo b"));
    CHECK(CONCUR("npm:dev:*"));
    CHECK(CONCUR("-k", "-n", "api,web", "node api.js", "vite"));
    CHECK(CONCUR("--", "check"));        /* -- forces it, even for a subcommand's word */
    CHECK(CONCUR("-k", "--", "a", "b")); /* roster's own line has no -- */
    CHECK(!CONCUR("check"));
    CHECK(!CONCUR("-c", "roster.yaml"));
    CHECK(!CONCUR("-c", "roster.yaml", "check"));
    CHECK(!CONCUR("--role", "web"));
    CHECK(!CONCUR("-r", "web"));
    CHECK(!CONCUR("restart", "api"));
    CHECK(!CONCUR("--help"));
    CHECK(!CONCUR("--log-format", "json", "run"));
    /* concurrently's -c colors and -r raw: a command after them makes the line concurrently's */
    CHECK(CONCUR("-c", "red,blue", "echo a", "echo b"));
    CHECK(CONCUR("-r", "echo a", "echo b"));
    CHECK(CONCUR("--config=x.yaml", "echo a"));
    /* a lone word two edits from a subcommand is its typo, refused with a suggestion */
    CHECK(!CONCUR("stauts"));
    CHECK(!CONCUR("--socket", "s", "restrat"));
    CHECK(CONCUR("stauts", "echo b")); /* beside another command it is a command */
    CHECK(CONCUR("vite"));             /* far from every subcommand: a program */
    CHECK(CONCUR("top"));              /* shorter than four letters: a program */
    CHECK(CONCUR("./check"));          /* a path is a program */
    CHECK(CONCUR("--", "stauts"));
    /* foreman's -m formation, -f and -e take a value; concurrently's -m N then commands */
    CHECK(!CONCUR("-m", "web=2,worker=1"));
    CHECK(!CONCUR("-f", "Procfile.dev", "-e", ".env.dev", "-m", "all=1"));
    CHECK(!CONCUR("--formation", "web=2", "--env", ".env", "check"));
    CHECK(CONCUR("-m", "2", "echo a", "echo b"));
}

/* roster enqueue QUEUE TYPE [JSON] and its options, which no other command takes. */
static void test_enqueue(void)
{
    CHECK_INT(PARSE("enqueue", "mail", "email.send", "{}", "--delay", "5m", "--unique", "k",
                    "--max-attempts", "3", "-c", "r.yaml"),
              0);
    CHECK_INT(c.cmd, CMD_ENQUEUE);
    CHECK_STR(c.enq_queue, "mail");
    CHECK_STR(c.enq_type, "email.send");
    CHECK_STR(c.enq_json, "{}");
    CHECK_STR(c.delay, "5m");
    CHECK_STR(c.unique, "k");
    CHECK_STR(c.max_attempts, "3");
    CHECK_STR(c.config, "r.yaml");
    CHECK_INT(PARSE("--at", "2030-01-01T00:00:00Z", "enqueue", "q", "t"), 0);
    CHECK(c.enq_json == NULL && c.arg == NULL);
    CHECK_STR(c.at, "2030-01-01T00:00:00Z");
    CHECK_INT(PARSE("enqueue", "q", "t", "-"), 0);
    CHECK_STR(c.enq_json, "-");
    CHECK_INT(PARSE("enqueue", "q"), -1);
    CHECK(strstr(err, "needs a queue and a job type") != NULL);
    CHECK_INT(PARSE("enqueue", "q", "t", "{}", "more"), -1);
    CHECK(strstr(err, "unexpected argument 'more'") != NULL);
    CHECK_INT(PARSE("enqueue", "q", "t", "--delay", "1s", "--at", "2030-01-01T00:00:00Z"), -1);
    CHECK(strstr(err, "--delay and --at") != NULL);
    CHECK_INT(PARSE("check", "--unique", "k"), -1);
    CHECK(strstr(err, "for `roster enqueue`") != NULL);
    CHECK_INT(PARSE("enqueu"), -1);
    CHECK(strstr(err, "did you mean 'enqueue'") != NULL);
    CHECK(!CONCUR("enqueue", "q", "t", "--delay", "5m"));
}

int main(void)
{
    test_concurrently_mode();
    test_defaults();
    test_commands();
    test_options_any_order();
    test_foreman_options();
    test_option_scope();
    test_dev();
    test_role_targets();
    test_roles_from_environment();
    test_health();
    test_errors();
    test_enqueue();
    cli_free(&c);
    return t_done("cli");
}
