/* test_cmdrun.c — roles/cmdrun on a real loop with real processes: stdout and stderr relayed line
 * by line with the task's mark; a line longer than max_line in pieces; an unterminated tail
 * flushed; output written just before exit drained; a grandchild that keeps the pipes open does
 * not hold the run past the drain; a start that fails still ends; terminate kills the group. */
#include "roles/cmdrun.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"

extern char **environ;

static uv_loop_t loop;

struct done {
    int exits, dones;
    uint64_t done_at;
};

static void on_exit_(void *ud, struct cmdrun *cr)
{
    (void)cr;
    ((struct done *)ud)->exits++;
}

static void on_done(void *ud, struct cmdrun *cr)
{
    struct done *d = ud;
    (void)cr;
    d->dones++;
    d->done_at = uv_now(&loop);
}

static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    return s;
}

/* Runs `sh -c script` to its end; out and err get what it relayed. Returns the start's code;
 * *ms: how long the run took. */
static int run(struct cmdrun *cr, const char *script, size_t max_line, char **out, char **err,
               uint64_t *ms, bool terminate)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    FILE *fo = tmpfile(), *fe = tmpfile();
    struct done d = {0};
    memset(cr, 0, sizeof *cr);
    struct cmdrun_opts o = {.argv = argv,
                            .env = environ,
                            .mark = "nightly",
                            .out = fo,
                            .err = fe,
                            .max_line = max_line,
                            .drain_ms = 300,
                            .grace_ms = 300,
                            .on_exit = on_exit_,
                            .on_done = on_done,
                            .ud = &d};
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    int rc = cmdrun_start(cr, &loop, &o);
    if (terminate) {
        usleep(100000); /* the shell sets its trap */
        cmdrun_terminate(cr);
    }
    while (!d.dones)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(d.dones, 1);
    CHECK_INT(d.exits, rc == 0 ? 1 : 0);
    *ms = d.done_at - t0;
    *out = slurp(fo);
    *err = slurp(fe);
    fclose(fo);
    fclose(fe);
    return rc;
}

int main(void)
{
    uv_loop_init(&loop);
    struct cmdrun cr;
    char *out, *err;
    uint64_t ms;

    /* each line marked, each on its own stream; the tail without a newline flushed */
    CHECK_INT(run(&cr, "printf 'one\\ntwo\\n'; printf 'oops\\n' >&2; printf tail", 64, &out, &err,
                  &ms, false),
              0);
    CHECK_STR(out, "\x1enightly\x1fone\n\x1enightly\x1ftwo\n\x1enightly\x1ftail\n");
    CHECK_STR(err, "\x1enightly\x1foops\n");
    CHECK(cr.exited);
    CHECK_INT(cr.exit_status, 0);
    CHECK_INT(cr.term_signal, 0);
    CHECK(ms < 300); /* both pipes ended: no wait for the drain */
    free(out);
    free(err);

    /* a line longer than max_line goes out in pieces, each marked */
    CHECK_INT(run(&cr, "printf 'abcdefghij\\nxy\\n'; exit 3", 4, &out, &err, &ms, false), 0);
    CHECK_STR(out, "\x1enightly\x1f"
                   "abcd\n\x1enightly\x1f"
                   "efgh\n\x1enightly\x1f"
                   "ij\n\x1enightly\x1fxy\n");
    CHECK_INT(cr.exit_status, 3);
    free(out);
    free(err);

    /* a grandchild holds the pipes open: what came before the exit is relayed, and the run ends
     * after the drain, not when the grandchild does */
    CHECK_INT(
        run(&cr, "printf 'last words\\n'; sleep 3 & printf 'and '", 64, &out, &err, &ms, false), 0);
    CHECK_STR(out, "\x1enightly\x1flast words\n\x1enightly\x1f"
                   "and \n");
    CHECK(ms >= 250 && ms < 2000);
    free(out);
    free(err);
    kill(-cr.pid, SIGKILL); /* the sleep, in the command's group */

    /* terminate: SIGTERM to the group; a command that ignores it gets SIGKILL after the grace */
    CHECK_INT(run(&cr, "trap '' TERM; echo up; sleep 5", 64, &out, &err, &ms, true), 0);
    CHECK_INT(cr.term_signal, SIGKILL);
    CHECK(ms >= 250 && ms < 3000);
    CHECK_STR(out, "\x1enightly\x1fup\n");
    free(out);
    free(err);

    /* a command that cannot start ends all the same, with nothing run */
    char *argv[] = {"/nonexistent/cmd", NULL};
    struct done d = {0};
    memset(&cr, 0, sizeof cr);
    struct cmdrun_opts o = {.argv = argv,
                            .env = environ,
                            .mark = "nightly",
                            .max_line = 64,
                            .drain_ms = 300,
                            .grace_ms = 300,
                            .on_exit = on_exit_,
                            .on_done = on_done,
                            .ud = &d};
    CHECK(cmdrun_start(&cr, &loop, &o) < 0);
    cmdrun_terminate(&cr); /* nothing to signal */
    while (!d.dones)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(d.dones, 1);
    CHECK_INT(d.exits, 0);
    CHECK_INT(cr.pid, 0);

    /* the words of a command */
    strvec words = {0}, av = {0};
    strvec_pushdup(&words, "echo");
    strvec_pushdup(&words, "a b");
    cmdrun_argv(NULL, &words, &av);
    CHECK_INT(av.n, 2);
    CHECK_STR(av.v[1], "a b");
    strvec_free(&av);
    cmdrun_argv("echo hi", &words, &av);
    CHECK_STR(av.v[0], "echo");
    strvec_free(&av);
    cmdrun_argv("echo $HOME | wc", &words, &av);
    CHECK_INT(av.n, 3);
    CHECK_STR(av.v[0], "/bin/sh");
    CHECK_STR(av.v[2], "echo $HOME | wc");
    strvec_free(&av);
    strvec_free(&words);

    CHECK_INT(uv_loop_close(&loop), 0);
    return t_done("test_cmdrun");
}
