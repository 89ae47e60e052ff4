/* test_dotenv.c — the .env format: assignments, quoting, comments, line endings and errors; and
 * what the loaders say when an env file cannot be read. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/dotenv.h"
#include "base/envmap.h"
#include "base/util.h"
#include "t.h"

#define BOM "\xEF\xBB\xBF" /* a UTF-8 byte order mark */

/* Every callback in order, as "KEY=VALUE@LINE" lines, and the resulting map. */
struct seen {
    sbuf log;
    envmap env;
    int calls;
};

static void collect(void *ud, const char *key, const char *value, int line)
{
    struct seen *s = ud;
    sbuf_printf(&s->log, "%s=%s@%d;", key, value, line);
    envmap_set(&s->env, key, value);
    s->calls++;
}

static int parse(const char *text, struct seen *s, struct dotenv_error *err)
{
    memset(s, 0, sizeof *s);
    sbuf_init(&s->log);
    memset(err, 0, sizeof *err);
    return dotenv_parse(text, strlen(text), collect, s, err);
}

static void seen_free(struct seen *s)
{
    sbuf_free(&s->log);
    envmap_free(&s->env);
}

/* Parses text and returns the value of key (in a static copy), or "(unset)"/"(error)". */
static const char *value_of(const char *text, const char *key)
{
    static char buf[256];
    struct seen s;
    struct dotenv_error err;
    if (parse(text, &s, &err) != 0) {
        seen_free(&s);
        return "(error)";
    }
    const char *v = envmap_get(&s.env, key);
    snprintf(buf, sizeof buf, "%s", v ? v : "(unset)");
    seen_free(&s);
    return buf;
}

static void test_basics(void)
{
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("KEY=VALUE\nOTHER=2\n", &s, &err), 0);
    CHECK_STR(s.log.data, "KEY=VALUE@1;OTHER=2@2;");
    seen_free(&s);

    /* no newline at the end of the file */
    CHECK_STR(value_of("A=last", "A"), "last");
    CHECK_STR(value_of("export FOO=bar\n", "FOO"), "bar");
    CHECK_STR(value_of("export\tFOO=tab\n", "FOO"), "tab");
    CHECK_STR(value_of("export=1\n", "export"), "1"); /* a variable called export */
    CHECK_STR(value_of("exportFOO=1\n", "exportFOO"), "1");
    CHECK_STR(value_of("  INDENTED=yes\n", "INDENTED"), "yes");
    CHECK_STR(value_of("A = 1\n", "A"), "1");
    CHECK_STR(value_of("A\t=\t  spaced value  \n", "A"), "spaced value");
    CHECK_STR(value_of("A=b=c\n", "A"), "b=c");
    CHECK_STR(value_of("a.b_C9=x\n", "a.b_C9"), "x");
    CHECK_STR(value_of("_U=x\n", "_U"), "x");
    CHECK_STR(value_of("URL=postgres://u:p@h:5432/db?sslmode=require\n", "URL"),
              "postgres://u:p@h:5432/db?sslmode=require");
    /* values are literal: no ${VAR} expansion */
    CHECK_STR(value_of("A=${HOME}/x $B\n", "A"), "${HOME}/x $B");
}

static void test_empty_values(void)
{
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("E=\nF=''\nG=\"\"\nH=   \n", &s, &err), 0);
    CHECK_STR(s.log.data, "E=@1;F=@2;G=@3;H=@4;");
    CHECK_INT(s.calls, 4);
    seen_free(&s);

    CHECK_INT(parse("", &s, &err), 0);
    CHECK_INT(s.calls, 0);
    seen_free(&s);
    CHECK_INT(parse("\n\n   \n\t\n", &s, &err), 0);
    CHECK_INT(s.calls, 0);
    seen_free(&s);
}

static void test_comments(void)
{
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("# a comment\n  # an indented one\n\nA=1 # inline\nB=x#y\nC=#z\n"
                    "D=2\t# after a tab\nE='q' # after quotes\nF=\"r\"# right after\n",
                    &s, &err),
              0);
    CHECK_STR(s.log.data, "A=1@4;B=x#y@5;C=#z@6;D=2@7;E=q@8;F=r@9;");
    seen_free(&s);
    /* inside quotes a # is part of the value */
    CHECK_STR(value_of("A='x # y'\n", "A"), "x # y");
    CHECK_STR(value_of("A=\"x # y\"\n", "A"), "x # y");
}

static void test_single_quotes(void)
{
    CHECK_STR(value_of("A='literal $HOME \\n \\t \"q\"'\n", "A"), "literal $HOME \\n \\t \"q\"");
    CHECK_STR(value_of("A='  keep spaces  '\n", "A"), "  keep spaces  ");
    CHECK_STR(value_of("A='two\nlines'\nB=after\n", "A"), "two\nlines");

    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("A='two\nlines'\nB=after\n", &s, &err), 0);
    CHECK_STR(s.log.data, "A=two\nlines@1;B=after@3;");
    seen_free(&s);
}

static void test_double_quotes(void)
{
    CHECK_STR(value_of("A=\"a\\nb\"\n", "A"), "a\nb");
    CHECK_STR(value_of("A=\"a\\tb\\rc\"\n", "A"), "a\tb\rc");
    CHECK_STR(value_of("A=\"say \\\"hi\\\"\"\n", "A"), "say \"hi\"");
    CHECK_STR(value_of("A=\"back\\\\slash\"\n", "A"), "back\\slash");
    CHECK_STR(value_of("A=\"cost \\$5\"\n", "A"), "cost $5");
    CHECK_STR(value_of("A=\"unknown \\q kept\"\n", "A"), "unknown \\q kept");
    CHECK_STR(value_of("A=\"it's\"\n", "A"), "it's");
    CHECK_STR(value_of("A='say \"hi\"'\n", "A"), "say \"hi\"");
    /* a backslash before a newline joins the lines */
    CHECK_STR(value_of("A=\"joi\\\nned\"\n", "A"), "joined");

    /* multi-line values keep their newlines; the next key has the right line number */
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("KEY=\"-----BEGIN-----\nabc\n-----END-----\"\nNEXT=1\n", &s, &err), 0);
    CHECK_STR(envmap_get(&s.env, "KEY"), "-----BEGIN-----\nabc\n-----END-----");
    CHECK_STR(s.log.data, "KEY=-----BEGIN-----\nabc\n-----END-----@1;NEXT=1@4;");
    seen_free(&s);
}

static void test_later_wins(void)
{
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("A=1\nB=x\nA=2\n", &s, &err), 0);
    CHECK_STR(s.log.data, "A=1@1;B=x@2;A=2@3;");
    CHECK_STR(envmap_get(&s.env, "A"), "2");
    CHECK_INT(s.env.n, 2);
    seen_free(&s);
}

static void test_crlf_and_bom(void)
{
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse("# comment\r\nA=1\r\n\r\nB='two'\r\nC=\"three\"\r\nD=4 # c\r\nexport E=5\r\n",
                    &s, &err),
              0);
    CHECK_STR(s.log.data, "A=1@2;B=two@4;C=three@5;D=4@6;E=5@7;");
    seen_free(&s);

    CHECK_INT(parse(BOM "A=1\nB=2\n", &s, &err), 0);
    CHECK_STR(s.log.data, "A=1@1;B=2@2;");
    seen_free(&s);

    /* a BOM counts for nothing in columns either */
    CHECK_INT(parse(BOM "A\n", &s, &err), DOTENV_ESYNTAX);
    CHECK_INT(err.line, 1);
    CHECK_INT(err.col, 2);
    seen_free(&s);

    /* a BOM anywhere else is not ignored */
    CHECK_INT(parse("A=1\n" BOM "B=2\n", &s, &err), DOTENV_ESYNTAX);
    CHECK_INT(err.line, 2);
    CHECK_INT(err.col, 1);
    seen_free(&s);
}

/* Parses text that must fail and checks where and why. */
static void expect_error(const char *text, int line, int col, const char *msg, int calls_before)
{
    struct seen s;
    struct dotenv_error err;
    CHECK_INT(parse(text, &s, &err), DOTENV_ESYNTAX);
    CHECK_INT(err.line, line);
    CHECK_INT(err.col, col);
    CHECK_STR(err.msg, msg);
    CHECK_INT(s.calls, calls_before); /* nothing after the error is parsed */
    seen_free(&s);
}

static void test_errors(void)
{
    expect_error("A=1\nNOEQUALS\nB=2\n", 2, 9, "expected '=' after the variable name", 1);
    expect_error("NOEQUALS", 1, 9, "expected '=' after the variable name", 0);
    expect_error("A=1\r\nNOEQ\r\n", 2, 5, "expected '=' after the variable name", 1);
    expect_error("NAME VALUE\n", 1, 6, "invalid character in variable name (expected KEY=VALUE)",
                 0);
    expect_error("A-B=x\n", 1, 2, "invalid character in variable name (expected KEY=VALUE)", 0);
    expect_error("1A=x\n", 1, 1,
                 "expected a variable name (letters, digits and _, not starting with a digit)", 0);
    expect_error("A=1\n  =x\n", 2, 3,
                 "expected a variable name (letters, digits and _, not starting with a digit)", 1);
    expect_error("export 9=x\n", 1, 8,
                 "expected a variable name (letters, digits and _, not starting with a digit)", 0);
    expect_error("A=\"abc\nB=2\n", 1, 3, "unterminated double-quoted value", 0);
    expect_error("X=1\nY=2\nA = 'abc\n", 3, 5, "unterminated single-quoted value", 2);
    expect_error("A=\"ends with escape\\\"\n", 1, 3, "unterminated double-quoted value", 0);
    expect_error("A=\"abc\" def\n", 1, 9, "unexpected text after the closing quote", 0);
    expect_error("A='abc'x\n", 1, 8, "unexpected text after the closing quote", 0);
    /* after a multi-line value, the error's line and column are those of the stray text */
    expect_error("A=\"1\n2\" x\n", 2, 4, "unexpected text after the closing quote", 0);
}

/* Issue 10 item 10: "export " at the very end of a buffer that is not NUL-terminated made the
 * parser read the byte after it. The buffer is malloc'd to its exact size, so ASan (the
 * build-asan run of this test) reports the read; the plain build checks the error. */
static void test_export_at_end_unterminated(void)
{
    static const char *const texts[] = {"export ", "A=1\nexport\t", "export  \t"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t len = strlen(texts[i]);
        char *buf = malloc(len);
        memcpy(buf, texts[i], len);
        struct seen s;
        struct dotenv_error err;
        memset(&s, 0, sizeof s);
        sbuf_init(&s.log);
        memset(&err, 0, sizeof err);
        CHECK_INT(dotenv_parse(buf, len, collect, &s, &err), DOTENV_ESYNTAX);
        CHECK_STR(err.msg, "expected a variable name (letters, digits and _, not starting with a "
                           "digit)");
        seen_free(&s);
        free(buf);
    }
}

static void test_load(void)
{
    char path[] = "/tmp/roster-test-dotenv-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *text = "A=1\nexport B='two'\nA=3\n";
    CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);

    envmap env = {0};
    envmap_set(&env, "A", "old");
    struct dotenv_error err;
    CHECK_INT(dotenv_load(path, &env, &err), 0);
    CHECK_STR(envmap_get(&env, "A"), "3");
    CHECK_STR(envmap_get(&env, "B"), "two");
    CHECK_INT(env.n, 2);
    envmap_free(&env);

    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_INT(write(fd, "OK=1\nBAD\n", 9), 9);
        close(fd);
    }
    CHECK_INT(dotenv_load(path, &env, &err), DOTENV_ESYNTAX);
    CHECK_INT(err.line, 2);
    CHECK_INT(err.col, 4);
    CHECK_INT(err.sys_errno, 0);
    envmap_free(&env);
    unlink(path);

    CHECK_INT(dotenv_load(path, &env, &err), DOTENV_EREAD);
    CHECK_INT(err.sys_errno, ENOENT);
    CHECK_STR(err.msg, strerror(ENOENT));
    CHECK_INT(err.line, 0);
    CHECK_INT(env.n, 0);
    envmap_free(&env);
}

/* ---- an env file that cannot be opened ----
 * EPERM is what a seccomp sandbox or an LSM answers an open with; root (which runs these tests)
 * is never refused by file modes, so the link wraps read_file (tests/CMakeLists.txt): a path
 * under EPERM_DIR fails with EPERM, and dotenv_load and the config loaders take their real
 * error path. EPERM is 1: as -EPERM it was -1, dotenv's old syntax-error code. */

#define EPERM_DIR "/roster-test-eperm"

int __real_read_file(const char *path, size_t max, char **out, size_t *len);
int __wrap_read_file(const char *path, size_t max, char **out, size_t *len);

int __wrap_read_file(const char *path, size_t max, char **out, size_t *len)
{
    if (str_has_prefix(path, EPERM_DIR "/")) return -EPERM;
    return __real_read_file(path, max, out, len);
}

static char *diags_text(const diags *d)
{
    sbuf b;
    sbuf_init(&b);
    for (size_t i = 0; i < d->items.n; i++)
        sbuf_printf(&b, "%s%s", i ? "\n" : "", d->items.v[i]);
    return sbuf_detach(&b);
}

static void test_open_refused(void)
{
    /* the loader itself: a read error, never a syntax error */
    envmap env = {0};
    struct dotenv_error err;
    CHECK_INT(dotenv_load(EPERM_DIR "/x.env", &env, &err), DOTENV_EREAD);
    CHECK_INT(err.sys_errno, EPERM);
    CHECK_STR(err.msg, "Operation not permitted");
    CHECK_INT(env.n, 0);
    envmap_free(&env);

    /* the config's env_file (required or not: only a missing optional file is skipped), a role's
     * env_file and --env-file each say the file and the errno's words */
    char dir[] = "/tmp/roster-test-dotenv-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *cfgpath = xasprintf("%s/roster.yaml", dir);
    FILE *f = fopen(cfgpath, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("env_file: " EPERM_DIR "/top.env\n"
              "roles:\n"
              "  web:\n"
              "    command: x\n"
              "    env_file: [{path: " EPERM_DIR "/role.env, required: false}]\n",
              f);
        fclose(f);
    }
    char *none[] = {NULL};
    struct config_opts opts = {.path = cfgpath, .environ_ = none};
    strvec_pushdup(&opts.env_files, EPERM_DIR "/cli.env");
    struct roster_config cfg;
    diags d = {0};
    CHECK_INT(config_load(&opts, &cfg, &d), -1);
    char *got = diags_text(&d);
    char *want =
        xasprintf(EPERM_DIR "/cli.env: --env-file: cannot read: Operation not permitted\n"
                            "%s:1:11: env_file: cannot read '" EPERM_DIR "/top.env': Operation "
                            "not permitted\n"
                            "%s:5:23: env_file: cannot read '" EPERM_DIR "/role.env': Operation "
                            "not permitted",
                  cfgpath, cfgpath);
    CHECK_STR(got, want);
    free(got);
    free(want);
    config_free(&cfg);
    diags_free(&d);
    strvec_free(&opts.env_files);
    unlink(cfgpath);
    free(cfgpath);
    rmdir(dir);

    /* the .env beside a Procfile */
    envmap vars = {0};
    config_defaults(&cfg);
    cfg.path = xstrdup("Procfile");
    cfg.dir = xstrdup(EPERM_DIR);
    cfg.procfile = true;
    d = (diags){0};
    CHECK_INT(config_load_procfile(cfg.path, "web: x\n", 7, &vars, &cfg, &d), -1);
    got = diags_text(&d);
    CHECK_STR(got, EPERM_DIR "/.env: cannot read: Operation not permitted");
    free(got);
    config_free(&cfg);
    diags_free(&d);
}

int main(void)
{
    test_basics();
    test_empty_values();
    test_comments();
    test_single_quotes();
    test_double_quotes();
    test_later_wins();
    test_crlf_and_bom();
    test_errors();
    test_export_at_end_unterminated();
    test_load();
    test_open_refused();
    return t_done("dotenv");
}
