/* test_concur.c — concurrently's command line (cli/concur.c) and its shortcuts and wildcards
 * (cli/pkgscripts.c). The parsing-level expectations of concurrently 9's bin/concurrently.spec.ts,
 * the command-parser specs, src/prefix-color-selector.spec.ts and src/concurrently.spec.ts are
 * ported here (named after the spec case they come from); then yargs's reading of argv and
 * CONCURRENTLY_*, the lockfile rule, and the errors, with their exact text. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/concur.h"
#include "cli/pkgscripts.h"
#include "supervise/flow.h"
#include "t.h"

static struct concur_opts o;
static char err[512];

/* ---- temporary project directories, removed at the end ---- */

static char *made_dirs[64], *made_files[256];
static size_t ndirs, nfiles;

static const char *new_dir(void)
{
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *d = xasprintf("%s/test_concur.XXXXXX", tmp);
    if (!mkdtemp(d) || ndirs == ARRAY_SIZE(made_dirs)) {
        fprintf(stderr, "mkdtemp %s: %s\n", d, strerror(errno));
        exit(1);
    }
    made_dirs[ndirs++] = d;
    return d;
}

static void put(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || nfiles == ARRAY_SIZE(made_files)) {
        fprintf(stderr, "writing %s: %s\n", path, strerror(errno));
        exit(1);
    }
    made_files[nfiles++] = path;
}

static void clean_dirs(void)
{
    for (size_t i = 0; i < nfiles; i++) {
        unlink(made_files[i]);
        free(made_files[i]);
    }
    while (ndirs) {
        rmdir(made_dirs[--ndirs]);
        free(made_dirs[ndirs]);
    }
}

/* ---- parsing ---- */

static const char *empty_dir;

static int parse_in(const char *dir, char **env, const char *const *args)
{
    int argc = 0;
    while (args[argc])
        argc++;
    concur_free(&o);
    err[0] = '\0';
    return concur_parse(argc, (char **)args, env, dir ? dir : empty_dir, &o, err, sizeof err);
}

#define ARGS(...)         ((const char *const[]){__VA_ARGS__, NULL})
#define ENV(...)          ((char *[]){__VA_ARGS__, NULL})
#define PARSE(...)        parse_in(NULL, NULL, ARGS(__VA_ARGS__))
#define PARSE_ENV(e, ...) parse_in(NULL, e, ARGS(__VA_ARGS__))
#define PARSE_DIR(d, ...) parse_in(d, NULL, ARGS(__VA_ARGS__))
#define CHECK_ERR(msg, ...)                                                                        \
    do {                                                                                           \
        CHECK_INT(PARSE(__VA_ARGS__), -1);                                                         \
        CHECK_STR(err, msg);                                                                       \
        CHECK_INT(o.ncmds, 0);                                                                     \
    } while (0)

/* The commands as "name=command" joined by " | ", to compare lists in one line. */
static const char *cmds(void)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < o.ncmds && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%s", i ? " | " : "", o.cmds[i].name,
                              o.cmds[i].command);
    return buf;
}

/* ---- bin/concurrently.spec.ts (the parsing half of each case) ---- */

/* How many of o's commands run at once: -m as it reaches the run, through the config keys
 * (max_processes) that supervise/flow.c reads. */
static size_t max_procs(const struct concur_opts *op, int ncpus)
{
    struct roster_config cfg = {.max_processes = op->max_processes,
                                .max_processes_percent = op->max_percent};
    return flow_max_processes(&cfg, op->ncmds, ncpus);
}

static void test_help_and_version(void)
{
    /* has help command; prints help when no arguments are passed */
    CHECK_INT(PARSE("--help"), 0);
    CHECK_INT(o.action, CONCUR_HELP);
    CHECK_INT(PARSE("-h"), 0);
    CHECK_INT(o.action, CONCUR_HELP);
    CHECK_INT(parse_in(NULL, NULL, (const char *const[]){NULL}), 0);
    CHECK_INT(o.action, CONCUR_HELP);
    CHECK_INT(o.ncmds, 0);
    /* has version command: --version, -V, -v */
    const char *v[] = {"--version", "-V", "-v"};
    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        CHECK_INT(PARSE(v[i]), 0);
        CHECK_INT(o.action, CONCUR_VERSION);
    }
    CHECK(strstr(concur_usage(), "--kill-others-on-fail") != NULL);
}

static void test_defaults(void)
{
    /* is of success by default when running successful commands */
    CHECK_INT(PARSE("echo foo", "echo bar"), 0);
    CHECK_INT(o.action, CONCUR_RUN);
    CHECK_STR(cmds(), "=echo foo | =echo bar");
    CHECK_INT(o.cmds[1].index, 1);
    CHECK_INT(o.success, CONCUR_SUCCESS_ALL);
    CHECK(o.success_target == NULL);
    CHECK_INT(o.prefix, CONCUR_PREFIX_DEFAULT);
    CHECK(o.prefix_template == NULL);
    CHECK_INT(o.prefix_length, 10);
    CHECK_STR(o.timestamp_format, "yyyy-MM-dd HH:mm:ss.SSS");
    CHECK(!o.raw && !o.group && !o.timings && !o.pad_prefix && !o.handle_input);
    CHECK(!o.kill_others && !o.kill_others_on_fail && !o.passthrough && !o.to_yaml);
    CHECK_INT(o.color, CONCUR_COLOR_AUTO);
    CHECK_INT(o.kill_signal, SIGTERM);
    CHECK_INT(o.kill_timeout_ms, -1);
    CHECK_INT(o.restart_tries, 0);
    CHECK_INT(o.restart_after_ms, 0);
    CHECK(!o.restart_exponential);
    CHECK_STR(o.default_input_target, "0");
    CHECK_INT(o.teardown.n, 0);
    CHECK(o.cwd == NULL);
    CHECK_STR(o.cmds[0].color, "reset");
    CHECK_STR(o.cmds[1].color, "reset");
    CHECK(!o.cmds[0].hidden && !o.cmds[1].hidden);
    CHECK_INT(o.warnings.n, 0);
    CHECK_INT(max_procs(&o, 8), 2);
}

static void test_success(void)
{
    CHECK_INT(PARSE("--success=first", "echo foo", "exit 1"), 0);
    CHECK_INT(o.success, CONCUR_SUCCESS_FIRST);
    const char *last[][2] = {{"--success=last", NULL}, {"-s", "last"}};
    for (size_t i = 0; i < ARRAY_SIZE(last); i++) {
        if (last[i][1])
            CHECK_INT(PARSE(last[i][0], last[i][1], "exit 1", "echo foo"), 0);
        else
            CHECK_INT(PARSE(last[i][0], "exit 1", "echo foo"), 0);
        CHECK_INT(o.success, CONCUR_SUCCESS_LAST);
        CHECK_INT(o.ncmds, 2);
    }
    CHECK_INT(PARSE("-s", "all", "a", "b"), 0);
    CHECK_INT(o.success, CONCUR_SUCCESS_ALL);
    /* command-{name|index}; not a typo: names need not be unique */
    CHECK_INT(PARSE("-n", "api,e2e,e2e", "-s", "command-e2e", "a", "b", "c"), 0);
    CHECK_INT(o.success, CONCUR_SUCCESS_COMMAND);
    CHECK_STR(o.success_target, "e2e");
    CHECK(!concur_success_targets(&o, &o.cmds[0]));
    CHECK(concur_success_targets(&o, &o.cmds[1]) && concur_success_targets(&o, &o.cmds[2]));
    CHECK_INT(PARSE("-s", "!command-1", "a", "b"), 0);
    CHECK_INT(o.success, CONCUR_SUCCESS_NOT_COMMAND);
    CHECK_STR(o.success_target, "1");
    CHECK(!concur_success_targets(&o, &o.cmds[0]) && concur_success_targets(&o, &o.cmds[1]));
    /* index === Number(x): " 1 " and "1.0" are 1 in JavaScript */
    CHECK_INT(PARSE("-s", "command- 1.0", "a", "b"), 0);
    CHECK(concur_success_targets(&o, &o.cmds[1]));
    /* the -k -s first "serve" "test:e2e" shape of issue 9 */
    CHECK_INT(PARSE("-k", "-s", "first", "serve", "test:e2e"), 0);
    CHECK(o.kill_others);
    CHECK_INT(o.success, CONCUR_SUCCESS_FIRST);
}

static void test_raw_hide_group(void)
{
    /* does not log any extra output: --raw, -r */
    CHECK_INT(PARSE("--raw", "echo foo", "echo bar"), 0);
    CHECK(o.raw);
    CHECK_INT(PARSE("-r", "echo foo", "echo bar"), 0);
    CHECK(o.raw);
    CHECK_INT(o.ncmds, 2);
    /* --hide: by index, by name, and both in raw mode */
    CHECK_INT(PARSE("--hide", "1", "echo foo", "echo bar"), 0);
    CHECK(!o.cmds[0].hidden && o.cmds[1].hidden);
    CHECK_INT(PARSE("-n", "foo,bar", "--hide", "bar", "echo foo", "echo bar"), 0);
    CHECK(!o.cmds[0].hidden && o.cmds[1].hidden);
    CHECK_INT(PARSE("--hide", "1", "--raw", "echo foo", "echo bar"), 0);
    CHECK(o.raw && !o.cmds[0].hidden && o.cmds[1].hidden);
    CHECK_INT(PARSE("-n", "foo,bar", "--hide", "bar", "--raw", "echo foo", "echo bar"), 0);
    CHECK(o.raw && !o.cmds[0].hidden && o.cmds[1].hidden);
    /* concurrently's default hide "" would hide every unnamed command (''.split(',') is [''] and
     * an unnamed command's name is ''); an empty item hides nothing here. */
    CHECK_INT(PARSE("--hide", ",", "echo foo"), 0);
    CHECK(!o.cmds[0].hidden);
    /* --group */
    CHECK_INT(PARSE("--group", "echo foo && sleep 1 && echo bar", "echo baz"), 0);
    CHECK(o.group);
    CHECK_STR(o.cmds[0].command, "echo foo && sleep 1 && echo bar");
    CHECK_INT(PARSE("-g", "x"), 0);
    CHECK(o.group);
}

static void test_names(void)
{
    /* --names: prefixes with names (--names, -n) */
    const char *n[] = {"--names", "-n"};
    for (size_t i = 0; i < ARRAY_SIZE(n); i++) {
        CHECK_INT(PARSE(n[i], "foo,bar", "echo foo", "echo bar"), 0);
        CHECK_STR(cmds(), "foo=echo foo | bar=echo bar");
    }
    /* is split using --name-separator arg (deprecated: a warning, as concurrently prints) */
    CHECK_INT(PARSE("--names", "foo|bar", "--name-separator", "|", "echo foo", "echo bar"), 0);
    CHECK_STR(cmds(), "foo=echo foo | bar=echo bar");
    CHECK_INT(o.warnings.n, 1);
    CHECK_STR(o.warnings.v[0],
              "--name-separator is deprecated in concurrently 9: separate --names with commas");
    /* fewer names than commands, and extra names */
    CHECK_INT(PARSE("-n", "a", "x", "y"), 0);
    CHECK_STR(cmds(), "a=x | =y");
    CHECK_INT(PARSE("-n", "a,b,c", "x"), 0);
    CHECK_STR(cmds(), "a=x");
    CHECK_INT(PARSE("-n", "a,,c", "x", "y", "z"), 0);
    CHECK_STR(cmds(), "a=x | =y | c=z");
}

static void test_prefix(void)
{
    /* specifies custom prefix: --prefix, -p */
    const char *p[] = {"--prefix", "-p"};
    for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
        CHECK_INT(PARSE(p[i], "command", "echo foo", "echo bar"), 0);
        CHECK_INT(o.prefix, CONCUR_PREFIX_COMMAND);
    }
    static const struct {
        const char *word;
        enum concur_prefix p;
    } styles[] = {{"index", CONCUR_PREFIX_INDEX}, {"pid", CONCUR_PREFIX_PID},
                  {"time", CONCUR_PREFIX_TIME},   {"command", CONCUR_PREFIX_COMMAND},
                  {"name", CONCUR_PREFIX_NAME},   {"none", CONCUR_PREFIX_NONE},
                  {"", CONCUR_PREFIX_DEFAULT}};
    for (size_t i = 0; i < ARRAY_SIZE(styles); i++) {
        CHECK_INT(PARSE("-p", styles[i].word, "x"), 0);
        CHECK_INT(o.prefix, styles[i].p);
        CHECK(o.prefix_template == NULL);
    }
    CHECK_INT(PARSE("--prefix", "{time}-{pid}", "x"), 0);
    CHECK_INT(o.prefix, CONCUR_PREFIX_TEMPLATE);
    CHECK_STR(o.prefix_template, "{time}-{pid}");
    /* specifies custom prefix length */
    CHECK_INT(PARSE("--prefix", "command", "--prefix-length", "5", "echo foo", "echo bar"), 0);
    CHECK_INT(o.prefix_length, 5);
    CHECK_INT(PARSE("-p", "command", "-l", "5", "echo foo", "echo bar"), 0);
    CHECK_INT(o.prefix_length, 5);
    CHECK_INT(PARSE("-l", "0", "x"), 0); /* commandLength || 10 */
    CHECK_INT(o.prefix_length, 10);
    /* --pad-prefix */
    CHECK_INT(PARSE("--pad-prefix", "-n", "foo,barbaz", "echo foo", "echo bar"), 0);
    CHECK(o.pad_prefix);
    CHECK_STR(cmds(), "foo=echo foo | barbaz=echo bar");
    /* -t: a Unicode pattern with quoted literals */
    CHECK_INT(PARSE("-t", "HH:mm 'o''clock' yy", "x"), 0);
    CHECK_STR(o.timestamp_format, "HH:mm 'o''clock' yy");
}

static void test_restart_kill_input(void)
{
    /* --restart-tries */
    CHECK_INT(PARSE("--restart-tries", "1", "exit 1"), 0);
    CHECK_INT(o.restart_tries, 1);
    CHECK_INT(PARSE("--restart-tries", "-3", "exit 1"), 0);
    CHECK_INT(o.restart_tries, -1); /* negative: forever */
    CHECK_INT(PARSE("--restart-after", "3000", "x"), 0);
    CHECK_INT(o.restart_after_ms, 3000);
    CHECK_INT(PARSE("--restart-after", "exponential", "x"), 0);
    CHECK(o.restart_exponential);
    /* --kill-others: kills on success (--kill-others, -k), on failure */
    CHECK_INT(PARSE("--kill-others", "sleep 10", "exit 0"), 0);
    CHECK(o.kill_others && !o.kill_others_on_fail);
    CHECK_INT(PARSE("-k", "sleep 10", "exit 0"), 0);
    CHECK(o.kill_others);
    /* --kill-others-on-fail */
    CHECK_INT(PARSE("--kill-others-on-fail", "sleep 0.5", "exit 0"), 0);
    CHECK(o.kill_others_on_fail && !o.kill_others);
    CHECK_INT(PARSE("--kill-signal", "SIGKILL", "--kill-timeout", "500", "x"), 0);
    CHECK_INT(o.kill_signal, SIGKILL);
    CHECK_INT(o.kill_timeout_ms, 500);
    CHECK_INT(PARSE("--ks", "SIGINT", "x"), 0);
    CHECK_INT(o.kill_signal, SIGINT);
    /* --handle-input: forwards to the first process by default (--handle-input, -i) */
    CHECK_INT(PARSE("--handle-input", "node read-echo.js"), 0);
    CHECK(o.handle_input);
    CHECK_INT(PARSE("-i", "node read-echo.js"), 0);
    CHECK(o.handle_input);
    CHECK_STR(o.default_input_target, "0");
    /* forwards input to process --default-input-target */
    CHECK_INT(PARSE("-ki", "--default-input-target", "1", "node r.js", "node r.js"), 0);
    CHECK(o.kill_others && o.handle_input);
    CHECK_STR(o.default_input_target, "1");
    /* forwards input to specified process */
    CHECK_INT(PARSE("-ki", "node r.js", "node r.js"), 0);
    CHECK(o.kill_others && o.handle_input);
    CHECK_INT(PARSE("-i", "-n", "js,server", "--default-input-target", "server", "a", "b"), 0);
    CHECK_STR(o.default_input_target, "server");
}

static void test_teardown_timings(void)
{
    /* --teardown: runs teardown commands when input commands exit */
    CHECK_INT(PARSE("--teardown", "echo bye", "echo hey"), 0);
    CHECK_INT(o.teardown.n, 1);
    CHECK_STR(o.teardown.v[0], "echo bye");
    CHECK_STR(cmds(), "=echo hey");
    /* runs multiple teardown commands */
    CHECK_INT(PARSE("--teardown", "echo bye", "--teardown", "echo bye2", "echo hey"), 0);
    CHECK_INT(o.teardown.n, 2);
    CHECK_STR(o.teardown.v[1], "echo bye2");
    CHECK_STR(cmds(), "=echo hey");
    /* --timings */
    CHECK_INT(PARSE("--timings", "sleep 0.5", "exit 0"), 0);
    CHECK(o.timings);
    CHECK_INT(o.ncmds, 2);
}

static void test_passthrough(void)
{
    /* argument placeholders are properly replaced when passthrough-arguments is enabled */
    CHECK_INT(PARSE("--passthrough-arguments", "echo {1}", "--", "echo"), 0);
    CHECK_STR(cmds(), "=echo echo");
    CHECK(o.passthrough);
    CHECK_INT(o.passthrough_args.n, 1);
    /* ... are not replaced when passthrough-arguments is disabled: the words after -- run */
    CHECK_INT(PARSE("echo {1}", "--", "echo"), 0);
    CHECK_STR(cmds(), "=echo {1} | =echo");
    /* src/concurrently.spec.ts: placeholders replaced when additional arguments are passed */
    CHECK_INT(PARSE("-P", "echo {1}", "echo {@}", "echo {*}", "echo \\{@}", "--", "foo", "bar"), 0);
    CHECK_STR(cmds(), "=echo foo | =echo foo bar | =echo 'foo bar' | =echo {@}");
    /* ... and not replaced when none are defined (no -P) */
    CHECK_INT(PARSE("echo {1}", "echo {@}", "echo {*}", "echo \\{@}"), 0);
    CHECK_STR(cmds(), "=echo {1} | =echo {@} | =echo {*} | =echo \\{@}");
    /* -P with nothing after --: concurrently passes [] and the placeholders go */
    CHECK_INT(PARSE("-P", "echo {1}x"), 0);
    CHECK_STR(cmds(), "=echo x");
    /* docs/cli/passthrough-arguments.md: with a shortcut, and options after -- are arguments */
    CHECK_INT(PARSE("-P", "npm:build:client -- {@}", "npm:build:server -- {@}", "--", "--watch",
                    "--noEmit"),
              0);
    CHECK_STR(cmds(), "build:client=npm run build:client -- --watch --noEmit | "
                      "build:server=npm run build:server -- --watch --noEmit");
    CHECK(!o.kill_others);
}

/* ---- src/command-parser/expand-arguments.spec.ts ---- */

static void check_expand(const char *const *args, const char *command, const char *want)
{
    strvec sv = {0};
    for (; *args; args++)
        strvec_pushdup(&sv, *args);
    char *got = concur_expand_args(command, &sv);
    CHECK_STR(got, want);
    free(got);
    strvec_free(&sv);
}

static void test_expand_arguments(void)
{
    const char *const none[] = {NULL};
    /* returns command as is when no placeholders */
    check_expand(ARGS("foo", "bar"), "echo foo", "echo foo");
    /* single argument placeholder is replaced */
    check_expand(ARGS("foo", "bar"), "echo {1}", "echo foo");
    /* argument placeholder is replaced and quoted properly */
    check_expand(ARGS("foo bar"), "echo {1}", "echo 'foo bar'");
    /* multiple single argument placeholders are replaced */
    check_expand(ARGS("foo", "bar"), "echo {2} {1}", "echo bar foo");
    /* empty replacement with single placeholder and not enough passthrough arguments */
    check_expand(ARGS("foo", "bar"), "echo {3}", "echo ");
    /* empty replacement with all placeholder and no passthrough arguments */
    check_expand(none, "echo {@}", "echo ");
    /* empty replacement with combined placeholder and no passthrough arguments */
    check_expand(none, "echo {*}", "echo ");
    /* all arguments placeholder is replaced */
    check_expand(ARGS("foo", "bar"), "echo {@}", "echo foo bar");
    /* combined arguments placeholder is replaced */
    check_expand(ARGS("foo", "bar"), "echo {*}", "echo 'foo bar'");
    /* escaped argument placeholders are not replaced */
    check_expand(ARGS("foo", "bar"), "echo \\{1} \\{@} \\{*}", "echo {1} {@} {*}");

    /* shell-quote 1.8.3's three ways of quoting, and what is not a placeholder */
    check_expand(ARGS("it's here"), "x {1}", "x \"it's here\"");
    check_expand(ARGS("a\"b$c"), "x {1}", "x 'a\"b$c'");
    check_expand(ARGS("it's $HOME!"), "x {1}", "x \"it's \\$HOME\\!\"");
    check_expand(ARGS("a;b*c"), "x {1}", "x a\\;b\\*c");
    check_expand(ARGS("C:*"), "x {1}", "x C:\\*");
    check_expand(ARGS(""), "x {1}", "x ''");
    check_expand(ARGS("a", "b"), "x {0} {01} {x} {12345678901234567890}", "x {0} {01} {x} ");
    check_expand(ARGS("a", "b"), "{2}{1}", "ba");
}

/* ---- src/command-parser/strip-quotes.spec.ts ---- */

static void test_strip_quotes(void)
{
    /* returns command as is if no single/double quote at the beginning */
    CHECK_INT(PARSE("echo foo"), 0);
    CHECK_STR(o.cmds[0].command, "echo foo");
    /* strips single quotes; strips double quotes */
    CHECK_INT(PARSE("'echo foo'", "\"echo foo\""), 0);
    CHECK_STR(cmds(), "=echo foo | =echo foo");
    /* does not remove quotes if they are unbalanced */
    CHECK_INT(PARSE("\"echo foo", "echo foo'", "\"echo foo'"), 0);
    CHECK_STR(cmds(), "=\"echo foo | =echo foo' | =\"echo foo'");
    /* JavaScript's . stops at a line break; "" is too short to strip */
    CHECK_INT(PARSE("'a\nb'", "\"\""), 0);
    CHECK_STR(cmds(), "='a\nb' | =\"\"");
    /* src/concurrently.spec.ts: runs controllers with the commands */
    CHECK_INT(PARSE("echo", "\"echo wrapped\""), 0);
    CHECK_STR(cmds(), "=echo | =echo wrapped");
    CHECK_INT(o.cmds[1].index, 1);
}

/* ---- src/command-parser/expand-shortcut.spec.ts ---- */

static void test_expand_shortcut(void)
{
    /* returns same command if no prefix is present */
    CHECK_INT(PARSE("echo foo"), 0);
    CHECK_STR(cmds(), "=echo foo");
    static const char *const table[][2] = {
        {"npm", "npm run"}, {"yarn", "yarn run"},   {"pnpm", "pnpm run"},
        {"bun", "bun run"}, {"node", "node --run"}, {"deno", "deno task"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
        char in[64], want[128];
        snprintf(in, sizeof in, "%s:foo -- bar", table[i][0]);
        /* expands to "<command> <script> <args>" (keeping a given name) */
        CHECK_INT(PARSE("-n", "echo", in), 0);
        snprintf(want, sizeof want, "echo=%s foo -- bar", table[i][1]);
        CHECK_STR(cmds(), want);
        /* sets name to script name if none */
        CHECK_INT(PARSE(in), 0);
        snprintf(want, sizeof want, "foo=%s foo -- bar", table[i][1]);
        CHECK_STR(cmds(), want);
    }
    /* docs/cli/shortcuts.md: pnpm:lint:js is -n lint:js 'pnpm run lint:js' */
    CHECK_INT(PARSE("pnpm:lint:js"), 0);
    CHECK_STR(cmds(), "lint:js=pnpm run lint:js");
    /* not shortcuts: no script, unknown manager, quotes stripped first */
    CHECK_INT(PARSE("npm: foo", "npx:foo", "'npm:foo'"), 0);
    CHECK_STR(cmds(), "=npm: foo | =npx:foo | foo=npm run foo");
}

/* ---- src/command-parser/expand-wildcard.spec.ts (readPackage / readDeno mocked there; real
 * files in a temporary directory here) ---- */

static int expand(struct pkg_project *p, const char *command, const char *name, struct pkg_cmds *l)
{
    pkg_cmds_free(l);
    pkg_cmds_init(l, 100);
    err[0] = '\0';
    return pkg_expand(p, command, name, l, NULL, err, sizeof err);
}

static const char *listed(const struct pkg_cmds *l)
{
    static char buf[2048];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->n && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s=%s", i ? " | " : "", l->v[i].name,
                              l->v[i].command);
    return buf;
}

static void test_read_files(void)
{
    struct pkg_project p;
    struct pkg_cmds l = {0};
    /* readDeno: can read deno.json; can read deno.jsonc (comments, trailing commas) */
    const char *d = new_dir();
    put(d, "deno.json", "{\"name\": \"deno\", \"tasks\": {\"watch-a\": \"\"}}");
    pkg_project_init(&p, d);
    CHECK_INT(expand(&p, "deno task watch-*", "", &l), 0);
    CHECK_STR(listed(&l), "a=deno task watch-a");
    pkg_project_free(&p);
    d = new_dir();
    put(d, "deno.jsonc",
        "/* comment */ {\"tasks\": {// a task\n \"watch-b\": \"echo // not a comment\",}, "
        "\"x\": \"a \\\" /* ,} \\\\\", \"y\": [1, /* c */ ] }");
    pkg_project_init(&p, d);
    CHECK_INT(expand(&p, "deno task watch-*", "", &l), 0);
    CHECK_STR(listed(&l), "b=deno task watch-b");
    pkg_project_free(&p);
    /* prefers deno.json over deno.jsonc */
    d = new_dir();
    put(d, "deno.json", "{\"tasks\": {\"watch-json\": \"\"}}");
    put(d, "deno.jsonc", "{\"tasks\": {\"watch-jsonc\": \"\"}}");
    pkg_project_init(&p, d);
    CHECK_INT(expand(&p, "deno task watch-*", "", &l), 0);
    CHECK_STR(listed(&l), "json=deno task watch-json");
    pkg_project_free(&p);
    /* can handle errors reading deno / package: concurrently reads them as {}; a file that is
     * there but broken is an error here (a missing one has no scripts, as there) */
    d = new_dir();
    put(d, "deno.json", "{\"tasks\": ");
    pkg_project_init(&p, d);
    CHECK_INT(expand(&p, "deno task watch-*", "", &l), -1);
    char want[512];
    snprintf(want, sizeof want, "%s/deno.json: not valid JSON", d);
    CHECK_STR(err, want);
    pkg_project_free(&p);
    d = new_dir();
    put(d, "package.json", "{\"scripts\": {\"a\": 1,,}}");
    pkg_project_init(&p, d);
    CHECK_INT(expand(&p, "npm run w*", "", &l), -1);
    snprintf(want, sizeof want, "%s/package.json: not valid JSON", d);
    CHECK_STR(err, want);
    pkg_project_free(&p);
    pkg_project_init(&p, empty_dir);
    CHECK_INT(expand(&p, "npm run w*", "", &l), 0);
    CHECK_INT(l.n, 0);
    pkg_project_free(&p);
    /* a directory named package.json cannot be read */
    d = new_dir();
    char *sub = xasprintf("%s/package.json", d);
    CHECK_INT(mkdir(sub, 0700), 0);
    pkg_project_init(&p, d);
    CHECK_INT(expand(&p, "npm run w*", "", &l), -1);
    snprintf(want, sizeof want, "%s: %s", sub, strerror(EISDIR));
    CHECK_STR(err, want);
    pkg_project_free(&p);
    rmdir(sub);
    free(sub);
    pkg_cmds_free(&l);
}

static void test_expand_wildcard(void)
{
    struct pkg_project p;
    struct pkg_cmds l = {0};
    const char *d = new_dir();
    put(d, "package.json",
        "{\"scripts\": {\"foo-bar-baz\": \"\", \"foo--baz\": \"\", \"watch-js\": \"\", "
        "\"watch-css\": \"\", \"lint:js\": \"\", \"lint:ts\": \"\", \"lint:fix:js\": \"\", "
        "\"lint:fix:ts\": \"\"}}");
    put(d, "deno.json", "broken: never read for npm");
    pkg_project_init(&p, d);
    /* returns same command if not an npm run command / not a deno task command / no wildcard */
    CHECK_INT(expand(&p, "npm test", "", &l), 0);
    CHECK_STR(listed(&l), "=npm test");
    CHECK_INT(expand(&p, "deno run", "", &l), 0);
    CHECK_STR(listed(&l), "=deno run");
    CHECK_INT(expand(&p, "npm run foo bar", "", &l), 0);
    CHECK_STR(listed(&l), "=npm run foo bar");
    CHECK(!p.pkg_read);

    static const char *const runners[] = {"npm run", "yarn run", "pnpm run", "bun run",
                                          "node --run"};
    for (size_t i = 0; i < ARRAY_SIZE(runners); i++) {
        const char *r = runners[i];
        char in[128], want[512];
        /* expands to all scripts matching pattern */
        snprintf(in, sizeof in, "%s foo-*-baz qux", r);
        CHECK_INT(expand(&p, in, "", &l), 0);
        snprintf(want, sizeof want, "bar=%s foo-bar-baz qux | =%s foo--baz qux", r, r);
        CHECK_STR(listed(&l), want);
        /* uses wildcard match of script as command name */
        snprintf(in, sizeof in, "%s watch-*", r);
        CHECK_INT(expand(&p, in, "watch-*", &l), 0);
        snprintf(want, sizeof want, "js=%s watch-js | css=%s watch-css", r, r);
        CHECK_STR(listed(&l), want);
        /* uses existing command name as prefix to the wildcard match */
        CHECK_INT(expand(&p, in, "w:", &l), 0);
        snprintf(want, sizeof want, "w:js=%s watch-js | w:css=%s watch-css", r, r);
        CHECK_STR(listed(&l), want);
        /* allows negation */
        snprintf(in, sizeof in, "%s lint:*(!fix)", r);
        CHECK_INT(expand(&p, in, "", &l), 0);
        snprintf(want, sizeof want, "js=%s lint:js | ts=%s lint:ts", r, r);
        CHECK_STR(listed(&l), want);
        /* doesn't read Deno config (the broken deno.json would be an error) */
        CHECK(!p.deno_read);
    }
    /* caches scripts upon calls: the file changing under it is not read again */
    put(d, "package.json", "{\"scripts\": {\"foo-new-baz\": \"\"}}");
    CHECK_INT(expand(&p, "npm run foo-*-baz", "", &l), 0);
    CHECK_INT(l.n, 2);
    pkg_project_free(&p);
    /* expands to nothing if no scripts exist in package.json */
    pkg_project_init(&p, empty_dir);
    CHECK_INT(expand(&p, "npm run foo-*-baz qux", "", &l), 0);
    CHECK_INT(l.n, 0);
    /* ... nor tasks in the Deno config nor scripts in the NodeJS config */
    CHECK_INT(expand(&p, "deno task foo-*-baz qux", "", &l), 0);
    CHECK_INT(l.n, 0);
    pkg_project_free(&p);

    /* with a 'deno task' prefix: tasks, then scripts (deno falls back to them) */
    d = new_dir();
    put(d, "deno.json",
        "{\"tasks\": {\"foo-bar-baz\": \"\", \"foo--baz\": \"\", \"watch-sass\": \"\", "
        "\"lint:sass\": \"\", \"lint:fix:sass\": \"\"}}");
    put(d, "package.json",
        "{\"scripts\": {\"foo-foo-baz\": \"\", \"watch-js\": \"\", \"watch-css\": \"\", "
        "\"lint:js\": \"\", \"lint:ts\": \"\", \"lint:fix:js\": \"\", \"lint:fix:ts\": \"\"}}");
    pkg_project_init(&p, d);
    /* expands to all scripts matching pattern */
    CHECK_INT(expand(&p, "deno task foo-*-baz qux", "", &l), 0);
    CHECK_STR(listed(&l), "bar=deno task foo-bar-baz qux | =deno task foo--baz qux | "
                          "foo=deno task foo-foo-baz qux");
    /* uses wildcard match of script as command name */
    CHECK_INT(expand(&p, "deno task watch-*", "", &l), 0);
    CHECK_STR(listed(&l),
              "sass=deno task watch-sass | js=deno task watch-js | css=deno task watch-css");
    /* uses existing command name as prefix to the wildcard match */
    CHECK_INT(expand(&p, "deno task watch-*", "w:", &l), 0);
    CHECK_STR(listed(&l),
              "w:sass=deno task watch-sass | w:js=deno task watch-js | w:css=deno task watch-css");
    /* allows negation */
    CHECK_INT(expand(&p, "deno task lint:*(!fix)", "", &l), 0);
    CHECK_STR(listed(&l), "sass=deno task lint:sass | js=deno task lint:js | ts=deno task lint:ts");
    /* caches scripts upon calls */
    put(d, "deno.json", "{}");
    CHECK_INT(expand(&p, "deno task watch-*", "", &l), 0);
    CHECK_INT(l.n, 3);
    pkg_project_free(&p);
    pkg_cmds_free(&l);
}

/* The same through the command line, with the shortcut in front and what concurrently does
 * beyond its spec: Object.keys order, a regex exclusion, text around the runner kept. */
static void test_wildcards_from_argv(void)
{
    const char *d = new_dir();
    put(d, "package.json",
        "{\"scripts\": {\"dev:web\": \"vite\", \"dev:api\": \"node api\", \"build\": \"tsc\", "
        "\"2\": \"\", \"dev:web\": \"vite --host\", \"10\": \"\", \"dev:\": \"\", "
        "\"lint:fix:js\": \"\", \"lint:fix:ts\": \"\", \"lint:fix:css\": \"\"}, "
        "\"packageManager\": \"yarn@4.1.0\"}");
    /* docs/cli/shortcuts.md */
    CHECK_INT(PARSE_DIR(d, "npm:lint:fix:*"), 0);
    CHECK_STR(cmds(), "js=npm run lint:fix:js | ts=npm run lint:fix:ts | css=npm run lint:fix:css");
    CHECK_INT(PARSE_DIR(d, "-n", "fix:", "npm:lint:fix:*"), 0);
    CHECK_STR(
        cmds(),
        "fix:js=npm run lint:fix:js | fix:ts=npm run lint:fix:ts | fix:css=npm run lint:fix:css");
    CHECK_INT(PARSE_DIR(d, "yarn:lint:fix:*(!css|ts)"), 0);
    CHECK_STR(cmds(), "js=yarn run lint:fix:js");
    /* names follow the expansion; indexes and --hide count expanded commands; a duplicate key is
     * listed once; the empty match of dev: gives an empty name */
    CHECK_INT(PARSE_DIR(d, "--hide", "api", "npm:dev:*", "echo done"), 0);
    CHECK_STR(cmds(), "web=npm run dev:web | api=npm run dev:api | =npm run dev: | =echo done");
    CHECK(!o.cmds[0].hidden && o.cmds[1].hidden && !o.cmds[2].hidden);
    CHECK_INT(o.cmds[3].index, 3);
    /* Object.keys: array-index keys first, in numeric order */
    CHECK_INT(PARSE_DIR(d, "npm:*(!:)"), 0);
    CHECK_STR(cmds(), "2=npm run 2 | 10=npm run 10 | build=npm run build");
    /* arguments after the glob stay; text around the runner is kept (concurrently drops it);
     * the name is what * matched, not the script's last word */
    CHECK_INT(PARSE_DIR(d, "npm:dev:w* --port 3 && echo ok", "cd . && npm run dev:a*"), 0);
    CHECK_STR(cmds(), "eb=npm run dev:web --port 3 && echo ok | pi=cd . && npm run dev:api");
    /* a wildcard that matches nothing runs nothing, as in concurrently, and says so */
    CHECK_INT(PARSE_DIR(d, "npm:nope:*", "echo x"), 0);
    CHECK_STR(cmds(), "=echo x");
    CHECK_INT(o.warnings.n, 1);
    CHECK_STR(o.warnings.v[0],
              "npm run nope:*: no script of package.json matches nope:*; nothing to run for it");
    /* --cwd moves where package.json is read */
    CHECK_INT(PARSE("--cwd", d, "npm:dev:a*"), 0);
    CHECK_STR(cmds(), "pi=npm run dev:api");
    CHECK_STR(o.cwd, d);
    /* -P expands after the wildcard */
    CHECK_INT(PARSE_DIR(d, "-P", "npm:dev:a* -- {1}", "--", "--inspect"), 0);
    CHECK_STR(cmds(), "pi=npm run dev:api -- --inspect");
    /* a bad exclusion pattern */
    CHECK_INT(PARSE_DIR(d, "npm:dev:*(!a[)"), -1);
    CHECK_STR(err, "dev:*(!a[): bad exclusion pattern 'a['");
}

static void test_too_many_commands(void)
{
    const char *d = new_dir();
    sbuf b;
    sbuf_init(&b);
    sbuf_puts(&b, "{\"scripts\": {");
    for (int i = 0; i < CONCUR_MAX_COMMANDS + 1; i++)
        sbuf_printf(&b, "%s\"w:%d\": \"\"", i ? ", " : "", i);
    sbuf_puts(&b, "}}");
    put(d, "package.json", b.data);
    sbuf_free(&b);
    CHECK_INT(PARSE_DIR(d, "npm:w:*"), -1);
    CHECK_STR(err, "more than 1024 commands");
    CHECK_INT(PARSE_DIR(d, "npm:w:*(!1000)"), 0);
    CHECK_INT(o.ncmds, CONCUR_MAX_COMMANDS);
}

/* ---- the package manager from the lockfile (roster's run: shortcut) ---- */

static void test_lockfiles(void)
{
    static const struct {
        const char *file;
        enum pkg_manager pm;
    } locks[] = {
        {"bun.lock", PKG_BUN},   {"bun.lockb", PKG_BUN},         {"pnpm-lock.yaml", PKG_PNPM},
        {"yarn.lock", PKG_YARN}, {"package-lock.json", PKG_NPM}, {"npm-shrinkwrap.json", PKG_NPM},
    };
    for (size_t i = 0; i < ARRAY_SIZE(locks); i++) {
        const char *d = new_dir();
        put(d, locks[i].file, "");
        CHECK_INT(pkg_manager_detect(d), locks[i].pm);
    }
    /* nothing: npm */
    CHECK_INT(pkg_manager_detect(empty_dir), PKG_NPM);
    CHECK_STR(pkg_manager_name(PKG_PNPM), "pnpm");
    /* two lockfiles: the first in the order wins */
    const char *d = new_dir();
    put(d, "package-lock.json", "{}");
    put(d, "yarn.lock", "");
    CHECK_INT(pkg_manager_detect(d), PKG_YARN);
    put(d, "pnpm-lock.yaml", "");
    CHECK_INT(pkg_manager_detect(d), PKG_PNPM);
    /* no lockfile: corepack's packageManager field; a lockfile beats it */
    d = new_dir();
    put(d, "package.json",
        "{\"packageManager\": \"pnpm@9.1.0+sha256.abc\", "
        "\"scripts\": {\"dev:a\": \"\", \"dev:b\": \"\"}}");
    CHECK_INT(pkg_manager_detect(d), PKG_PNPM);
    CHECK_INT(PARSE_DIR(d, "run:dev:*", "run:build --watch"), 0);
    CHECK_STR(cmds(), "a=pnpm run dev:a | b=pnpm run dev:b | build=pnpm run build --watch");
    put(d, "bun.lockb", "");
    CHECK_INT(pkg_manager_detect(d), PKG_BUN);
    d = new_dir();
    put(d, "package.json", "{\"packageManager\": \"pnpmx@1\"}");
    CHECK_INT(pkg_manager_detect(d), PKG_NPM);
    d = new_dir();
    put(d, "yarn.lock", "");
    CHECK_INT(PARSE_DIR(d, "-n", "web", "run:dev"), 0);
    CHECK_STR(cmds(), "web=yarn run dev");
}

/* ---- src/prefix-color-selector.spec.ts and -c ---- */

static void check_colors(const char *const *acceptable, size_t nacc, const char *const *custom,
                         size_t ncustom, const char *const *want, size_t n)
{
    const char *got[64];
    concur_pick_colors(custom, ncustom, acceptable, nacc, n, got);
    for (size_t i = 0; i < n; i++)
        CHECK_STR(got[i], want[i]);
}

#define LIST(...)                                                                                  \
    ((const char *const[]){__VA_ARGS__}), ARRAY_SIZE(((const char *const[]){__VA_ARGS__}))

static void test_color_selector(void)
{
    /* does not produce a color if prefixColors empty / undefined */
    check_colors(NULL, 0, NULL, 0, LIST("", "", ""));
    /* uses user defined prefix colors only, if no auto is used (the last one repeats) */
    check_colors(NULL, 0, LIST("red", "green", "blue"),
                 LIST("red", "green", "blue", "blue", "blue", "blue"));
    /* accepts a string value for customColors */
    check_colors(NULL, 0, LIST("red"), LIST("red", "red"));
    /* picks varying colors when user defines an auto color */
    check_colors(
        LIST("green", "blue"),
        LIST("red", "green", "auto", "green", "auto", "green", "auto", "blue", "auto", "orange"),
        LIST("red", "green", "blue", "green", "blue", "green", "blue", "blue", "green", "orange",
             "orange", "orange", "orange"));
    /* uses user defined colors then recurring auto colors without repeating consecutive colors */
    check_colors(LIST("green", "blue"), LIST("red", "green", "auto"),
                 LIST("red", "green", "blue", "green", "blue", "green"));
    /* can sometimes produce consecutive colors */
    check_colors(LIST("green", "blue"), LIST("blue", "auto"),
                 LIST("blue", "green", "green", "blue", "green", "blue", "green", "blue"));
    /* considers the Bright variants of colors equal to the normal colors */
    check_colors(
        LIST("greenBright", "blueBright", "green", "blue", "magenta"),
        LIST("green", "blue", "auto"),
        LIST("green", "blue", "magenta", "greenBright", "blueBright", "green", "blue", "magenta"));
    /* does not repeat consecutive colors when last prefixColor is auto; handles more individual
     * auto prefixColors than acceptable console colors: two rounds of the palette either way */
    static const char *const palette[] = {
        "cyan",      "yellow",        "greenBright", "blueBright", "magentaBright", "white",
        "grey",      "red",           "bgCyan",      "bgYellow",   "bgGreenBright", "bgBlueBright",
        "bgMagenta", "bgWhiteBright", "bgGrey",      "bgRed"};
    const char *two[32], *autos[32];
    for (size_t i = 0; i < 32; i++)
        two[i] = palette[i % 16], autos[i] = "auto";
    check_colors(NULL, 0, LIST("auto"), two, 32);
    check_colors(NULL, 0, autos, 32, two, 32);

    /* through -c: src/concurrently.spec.ts "runs commands with a list of colors" */
    CHECK_INT(PARSE("-c", "red", "echo", "kill"), 0);
    CHECK_STR(o.cmds[0].color, "red");
    CHECK_STR(o.cmds[1].color, "red");
    /* docs/cli/prefixing.md's examples validate */
    CHECK_INT(PARSE("-c", "#23de43.inverse,bold.blue.dim,bgGray,red.bgBlack,auto", "a", "b", "c",
                    "d", "e", "f"),
              0);
    CHECK_STR(o.cmds[0].color, "#23de43.inverse");
    CHECK_STR(o.cmds[1].color, "bold.blue.dim");
    CHECK_STR(o.cmds[3].color, "red.bgBlack");
    CHECK_STR(o.cmds[4].color, "cyan");
    CHECK_STR(o.cmds[5].color, "yellow");
    CHECK_INT(PARSE("--prefix-colors=bgBlue.bold,#fff,", "a", "b", "c", "d"), 0);
    CHECK_STR(o.cmds[1].color, "#fff");
    CHECK_STR(o.cmds[3].color, "");
    CHECK_INT(PARSE("--no-color", "-c", "red", "a"), 0);
    CHECK_INT(o.color, CONCUR_COLOR_NEVER);
    CHECK_STR(o.cmds[0].color, "red");
    CHECK_INT(PARSE("--color", "a"), 0);
    CHECK_INT(o.color, CONCUR_COLOR_ALWAYS);
}

/* ---- src/concurrently.spec.ts: spawns commands up to configured / percent based limit ---- */

static void test_max_processes(void)
{
    CHECK_INT(PARSE("-m", "2", "foo", "bar", "baz", "qux"), 0);
    CHECK_INT(max_procs(&o, 4), 2);
    CHECK_INT(PARSE("--max-processes", "50%", "foo", "bar", "baz", "qux"), 0);
    CHECK(o.max_percent);
    CHECK_INT(max_procs(&o, 4), 2);
    CHECK_INT(max_procs(&o, 3), 2); /* Math.round(1.5) */
    /* 0, or a percentage that rounds to 0, means all at once, as Number(x) || length does */
    CHECK_INT(PARSE("-m", "1%", "a", "b", "c"), 0);
    CHECK_INT(max_procs(&o, 4), 3);
    CHECK_INT(PARSE("-m", "0", "a", "b"), 0);
    CHECK_INT(max_procs(&o, 4), 2);
    CHECK_INT(PARSE("-m1", "a", "b"), 0);
    CHECK_INT(max_procs(&o, 4), 1);
    CHECK_INT(PARSE("-m", "12.5%", "a", "b"), 0);
    CHECK_INT(max_procs(&o, 8), 1);
}

/* ---- yargs's reading of argv ---- */

static void test_yargs_syntax(void)
{
    /* --opt=value, quotes stripped there only; camelCase spellings; aliases with -- */
    CHECK_INT(PARSE("--names='a,b'", "--killOthers", "--k", "x", "y"), 0);
    CHECK_STR(cmds(), "a=x | b=y");
    CHECK(o.kill_others);
    CHECK_INT(PARSE("--prefixColors", "red", "--restartTries=2", "x"), 0);
    CHECK_STR(o.cmds[0].color, "red");
    CHECK_INT(o.restart_tries, 2);
    /* flags: --no-FLAG, and a following true/false is their value, not a command */
    CHECK_INT(PARSE("--raw", "false", "--group", "true", "--no-timings", "x"), 0);
    CHECK(!o.raw && o.group && !o.timings);
    CHECK_STR(cmds(), "=x");
    CHECK_INT(PARSE("--raw=true", "-k", "false", "x"), 0);
    CHECK(o.raw && !o.kill_others);
    CHECK_INT(PARSE("--no-raw=true", "x"), 0);
    CHECK(!o.raw);
    /* options may come after the commands */
    CHECK_INT(PARSE("x", "-k", "y", "-n", "a,b"), 0);
    CHECK_STR(cmds(), "a=x | b=y");
    CHECK(o.kill_others);
    /* clusters: flags, then a letter with its value attached or in the next word */
    CHECK_INT(PARSE("-kirg", "x"), 0);
    CHECK(o.kill_others && o.handle_input && o.raw && o.group);
    CHECK_INT(PARSE("-kl5", "-n=a,b", "-p{index}-{name}", "-c#fff", "x", "y"), 0);
    CHECK(o.kill_others);
    CHECK_INT(o.prefix_length, 5);
    CHECK_STR(cmds(), "a=x | b=y");
    CHECK_STR(o.prefix_template, "{index}-{name}");
    CHECK_STR(o.cmds[0].color, "#fff");
    CHECK_INT(PARSE("-ks", "first", "serve", "test"), 0);
    CHECK(o.kill_others);
    CHECK_INT(o.success, CONCUR_SUCCESS_FIRST);
    CHECK_INT(PARSE("-s!command-0", "x"), 0);
    CHECK_INT(o.success, CONCUR_SUCCESS_NOT_COMMAND);
    CHECK_INT(PARSE("-kn", "a", "x"), 0);
    CHECK_STR(cmds(), "a=x");
    /* negative numbers are values and words, - is a word */
    CHECK_INT(PARSE("--restart-tries", "-1", "-", "-2"), 0);
    CHECK_INT(o.restart_tries, -1);
    CHECK_STR(cmds(), "=- | =-2");
    /* a short option's next word is taken unless it matches ^(-|--)[^-], as yargs tests */
    CHECK_INT(PARSE("-n", "--", "x"), 0);
    CHECK_STR(cmds(), "--=x");
    /* the first -- ends the options; later ones are words */
    CHECK_INT(PARSE("-k", "--", "-n", "--", "x"), 0);
    CHECK_STR(cmds(), "=-n | =-- | =x");
    CHECK_INT(PARSE("---", "x"), 0);
    CHECK_STR(cmds(), "=--- | =x");
    /* --to-yaml and --cwd (roster's additions), resolved against the directory */
    CHECK_INT(parse_in("/srv/app", NULL, ARGS("--to-yaml", "--cwd", "web", "x")), 0);
    CHECK(o.to_yaml);
    CHECK_STR(o.cwd, "/srv/app/web");
    CHECK_INT(parse_in("/srv/app", NULL, ARGS("--cwd=/abs", "x")), 0);
    CHECK_STR(o.cwd, "/abs");
    /* --help wins over everything else */
    CHECK_INT(PARSE("-s", "frist", "--help", "x"), 0);
    CHECK_INT(o.action, CONCUR_HELP);
    CHECK_INT(o.ncmds, 0);
}

/* ---- CONCURRENTLY_* (docs/cli/configuration.md) ---- */

static void test_env(void)
{
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_KILL_OTHERS=true", "CONCURRENTLY_HANDLE_INPUT=true",
                            "PATH=/bin"),
                        "nodemon", "echo hey"),
              0);
    CHECK(o.kill_others && o.handle_input);
    CHECK_INT(o.warnings.n, 0);
    /* argv wins over the environment */
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_NAMES=a,b", "CONCURRENTLY_SUCCESS=last"), "-n", "x,y",
                        "1", "2"),
              0);
    CHECK_STR(cmds(), "x=1 | y=2");
    CHECK_INT(o.success, CONCUR_SUCCESS_LAST);
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_KILL_OTHERS=true"), "--kill-others=false", "x"), 0);
    CHECK(!o.kill_others);
    /* camelCase as written, aliases, NO_COLOR, a teardown, values taken as they are */
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_killOthers=true", "CONCURRENTLY_R=true",
                            "CONCURRENTLY_NO_COLOR=true", "CONCURRENTLY_TEARDOWN=echo bye",
                            "CONCURRENTLY_PREFIX=-{pid}-", "CONCURRENTLY_MAX_PROCESSES=-1%x"),
                        "x"),
              -1);
    CHECK_STR(err, "CONCURRENTLY_MAX_PROCESSES: expects a number of processes or a percentage "
                   "of CPUs (50%), not '-1%x'");
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_killOthers=true", "CONCURRENTLY_R=true",
                            "CONCURRENTLY_NO_COLOR=true", "CONCURRENTLY_TEARDOWN=echo bye",
                            "CONCURRENTLY_PREFIX=-{pid}-"),
                        "x"),
              0);
    CHECK(o.kill_others && o.raw);
    CHECK_INT(o.color, CONCUR_COLOR_NEVER);
    CHECK_INT(o.teardown.n, 1);
    CHECK_STR(o.teardown.v[0], "echo bye");
    CHECK_STR(o.prefix_template, "-{pid}-");
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_TEARDOWN=echo env"), "--teardown", "echo argv", "x"), 0);
    CHECK_INT(o.teardown.n, 1);
    CHECK_STR(o.teardown.v[0], "echo argv");
    /* unknown and argv-only names are said and ignored */
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_KILL_OTHER=true", "CONCURRENTLY_HELP=true",
                            "CONCURRENTLY_A__B=1"),
                        "x"),
              0);
    CHECK_INT(o.action, CONCUR_RUN);
    CHECK_INT(o.warnings.n, 3);
    CHECK_STR(o.warnings.v[0], "CONCURRENTLY_KILL_OTHER: not an option of concurrently; ignored");
    CHECK_STR(o.warnings.v[1], "CONCURRENTLY_HELP: not an option of concurrently; ignored");
    /* a flag takes true or false (yargs would read "1" as false) */
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_RAW=1"), "x"), -1);
    CHECK_STR(err, "CONCURRENTLY_RAW: expects true or false, not '1'");
    CHECK_INT(PARSE_ENV(ENV("CONCURRENTLY_SUCCESS=frist"), "x"), -1);
    CHECK_STR(err, "CONCURRENTLY_SUCCESS: unknown value 'frist' (all, first, last, command-NAME, "
                   "command-INDEX, !command-...)");
}

/* ---- bad input, with the exact text ---- */

static void test_errors(void)
{
    CHECK_ERR("-s: unknown value 'frist' (all, first, last, command-NAME, command-INDEX, "
              "!command-...)",
              "-s", "frist", "x");
    CHECK_ERR("--success: unknown value 'command-' (all, first, last, command-NAME, "
              "command-INDEX, !command-...)",
              "--success=command-", "x");
    CHECK_ERR("-s: unknown value 'SIGKILL' (all, first, last, command-NAME, command-INDEX, "
              "!command-...); -ks reads as -k -s, as in concurrently: the kill signal is --ks or "
              "--kill-signal",
              "-ks", "SIGKILL", "x");
    CHECK_ERR("-s: no command is named or numbered 'web'", "-s", "command-web", "-n", "api", "x");
    CHECK_ERR("-s: no command is named or numbered '2'", "-s", "!command-2", "x", "y");
    CHECK_ERR("--default-input-target: no command is named or numbered 'web'", "-i",
              "--default-input-target", "web", "x");
    /* unknown options: yargs would take them (and the word after) silently */
    CHECK_ERR("--kill-other: unknown option (did you mean --kill-others?)", "--kill-other", "x");
    CHECK_ERR("--restart_tries: unknown option (did you mean --restart-tries?)", "--restart_tries",
              "1", "x");
    CHECK_ERR("--foo: unknown option", "--foo", "x");
    CHECK_ERR("--no-names: unknown option", "--no-names", "x");
    /* Found by fuzz_concur_args: an option whose first 47 bytes, all the 48-byte spelling
     * holds, are dashes made the did-you-mean read past the spelling (ASan in build-asan). */
    CHECK_ERR("-----------------------------------------------: unknown option",
              "------------------------------------------------x", "y");
    CHECK_ERR("-----------------------------------------------: unknown option",
              "------------------------------------------------x=1", "y");
    CHECK_ERR("--prefix-colour: unknown option (did you mean --prefix-colors?)",
              "--prefix-colour=red", "x");
    CHECK_ERR("-x: unknown option (in -kx)", "-kx", "y");
    CHECK_ERR("-x: unknown option", "-x", "y");
    CHECK_ERR("-K: unknown option", "-K", "y");
    /* missing values: yargs would use the default */
    CHECK_ERR("-n: needs a value", "-n");
    CHECK_ERR("--names: needs a value", "x", "--names");
    CHECK_ERR("--names: needs a value", "--names", "-k", "x");
    CHECK_ERR("-n: needs a value", "-n", "-k", "x");
    CHECK_ERR("-n: needs a value", "-nk", "x");
    CHECK_ERR("--teardown: needs a value", "--teardown", "--raw", "x");
    /* values */
    CHECK_ERR("--restart-tries: expects a whole number, not 'abc'", "--restart-tries", "abc", "x");
    CHECK_ERR("--restart-tries: expects a whole number, not '1.5'", "--restart-tries=1.5", "x");
    CHECK_ERR("-l: expects a whole number of 0 or more, not '-1'", "-l", "-1", "x");
    CHECK_ERR("--kill-timeout: expects a whole number of 0 or more, not '5s'", "--kill-timeout",
              "5s", "x");
    CHECK_ERR("--restart-after: expects milliseconds or 'exponential', not 'soon'",
              "--restart-after", "soon", "x");
    CHECK_ERR("-m: expects a number of processes or a percentage of CPUs (50%), not 'half'", "-m",
              "half", "x");
    CHECK_ERR("-m: expects a number of processes or a percentage of CPUs (50%), not '%'", "-m", "%",
              "x");
    CHECK_ERR("--kill-signal: unknown signal 'SIGFOO'", "--kill-signal", "SIGFOO", "x");
    CHECK_ERR("--raw: expects true or false, not 'yes'", "--raw=yes", "x");
    CHECK_ERR("-k: expects true or false, not '-'", "-k-", "x");
    CHECK_ERR("-t: formatting token \"f\" is invalid (in 'yyyy-ff')", "-t", "yyyy-ff", "x");
    CHECK_ERR("-t: formatting token \"SSSS\" is unsupported (in 'ss.SSSS')", "-t", "ss.SSSS", "x");
    CHECK_ERR("-t: formatting token \"u\" is unsupported (in 'u')", "-t", "u", "x");
    CHECK_ERR("-c: unknown color 'purple' in 'purple' (a color such as red, redBright, bgRed, "
              "#23de43 or auto, then modifiers: .bold .dim .italic .underline .inverse .hidden "
              ".strikethrough)",
              "-c", "red,purple", "x");
    CHECK_ERR("-c: unknown color 'blod' in 'red.blod' (a color such as red, redBright, bgRed, "
              "#23de43 or auto, then modifiers: .bold .dim .italic .underline .inverse .hidden "
              ".strikethrough)",
              "-c", "red.blod", "x");
    CHECK_INT(PARSE("-c", "bold.#fff", "x"), -1);
    CHECK_INT(PARSE("-c", "#ffff", "x"), -1);
    CHECK_INT(PARSE("-c", "auto.bold", "x"), -1);
    CHECK_INT(PARSE("-c", "red.", "x"), -1);
    /* twice */
    CHECK_ERR("-n: given more than once", "--names", "a", "-n", "b", "x");
    CHECK_ERR("--cwd: needs a directory", "--cwd=", "x");
    /* commands */
    CHECK_ERR("command 2 of 3 is empty", "a", "", "c");
    char *big = xmalloc(CONCUR_MAX_COMMAND_LEN + 2);
    memset(big, 'e', CONCUR_MAX_COMMAND_LEN + 1);
    big[CONCUR_MAX_COMMAND_LEN + 1] = '\0';
    CHECK_INT(PARSE("x", big), -1);
    CHECK(strstr(err, "command 1 (eeee") == err);
    CHECK(strstr(err, "is longer than 131072 bytes") != NULL);
    free(big);
    /* -P cannot make a command grow without end */
    char *arg = xmalloc(2001), *many = xmalloc(3 * 100 + 1);
    memset(arg, 'a', 2000);
    arg[2000] = '\0';
    for (int i = 0; i < 100; i++)
        memcpy(many + 3 * i, "{@}", 3);
    many[300] = '\0';
    CHECK_INT(PARSE("-P", many, "--", arg), -1);
    CHECK(strstr(err, "command 0 (aaaa") == err);
    CHECK(strstr(err, "is longer than 131072 bytes") != NULL);
    free(arg);
    free(many);
    /* the error buffer is honoured when small */
    char small[8];
    concur_free(&o);
    CHECK_INT(concur_parse(2, (char *[]){"-s", "frist", NULL}, NULL, NULL, &o, small, sizeof small),
              -1);
    CHECK_STR(small, "-s: unk");
}

int main(void)
{
    empty_dir = new_dir();
    test_help_and_version();
    test_defaults();
    test_success();
    test_raw_hide_group();
    test_names();
    test_prefix();
    test_restart_kill_input();
    test_teardown_timings();
    test_passthrough();
    test_expand_arguments();
    test_strip_quotes();
    test_expand_shortcut();
    test_read_files();
    test_expand_wildcard();
    test_wildcards_from_argv();
    test_too_many_commands();
    test_lockfiles();
    test_color_selector();
    test_max_processes();
    test_yargs_syntax();
    test_env();
    test_errors();
    concur_free(&o);
    clean_dirs();
    return t_done("concur");
}
