/* test_handler.c — roles/handler's command handler on a real loop with real processes (no
 * Redis): the payload on stdin and ROSTER_JOB_* in the environment; an exit status as a failure;
 * a timeout that kills the whole group (a grandchild too); a polled RSS ceiling; a handler that
 * never reads a large payload does not wedge; handler_stop. Also the pure parts: the signature
 * (checked against Python's hmac) and the retry delay's bounds. */
#include "roles/handler.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "roles/worker.h"
#include "t.h"

extern char **environ;

struct done {
    bool called;
    int calls;
    struct handler_result res;
};

static void on_done(void *ud, const struct handler_result *res)
{
    struct done *d = ud;
    d->called = true;
    d->calls++;
    d->res = *res;
}

static uv_loop_t loop;
static struct handlers *hs;
static char dir[] = "/tmp/test_handler.XXXXXX";

/* Runs one job to its end (the loop's own deadline: the test's ctest timeout). */
static struct handler_result run(struct handler_config *h, const char *payload, size_t len,
                                 bool stop_at_once)
{
    struct done d = {0};
    struct handler_job j = {.id = "42",
                            .type = "mail",
                            .queue = "default",
                            .attempt = 3,
                            .payload = payload,
                            .payload_len = len};
    struct handler_run *r = handler_start(hs, h, &j, on_done, &d);
    if (stop_at_once) handler_stop(r);
    while (!d.called)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(d.calls, 1);
    return d.res;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

int main(void)
{
    /* the pure parts first */
    char sig[128];
    handler_signature("whsec_test", 1700000000, "{\"a\":1}", 7, sig, sizeof sig);
    CHECK_STR(sig,
              "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
    for (int a = 1; a <= 12; a++) {
        uint64_t base = 1000ull << (a - 1);
        if (base > 60000) base = 60000;
        uint64_t lo = worker_retry_delay_ms(1000, 60000, a, 0.0);
        uint64_t hi = worker_retry_delay_ms(1000, 60000, a, 0.999999);
        CHECK(lo >= base * 8 / 10 && lo <= base);
        CHECK(hi >= base && hi <= (base * 12 / 10 < 60000 ? base * 12 / 10 : 60000));
    }

    if (!mkdtemp(dir)) return 1;
    uv_loop_init(&loop);
    hs = handlers_new(&loop, "worker", dir, environ);

    /* payload on stdin, env */
    struct handler_config h = {.type = "mail"};
    h.shell = "cat > in.json; echo \"$ROSTER_JOB_ID $ROSTER_JOB_TYPE $ROSTER_JOB_ATTEMPT "
              "$ROSTER_JOB_QUEUE\" > env.txt";
    struct handler_result r = run(&h, "{\"to\":\"a@b\"}", 13, false);
    CHECK_INT(r.outcome, HANDLER_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/in.json", dir);
    char *s = slurp(path);
    CHECK_STR(s, "{\"to\":\"a@b\"}");
    free(s);
    snprintf(path, sizeof path, "%s/env.txt", dir);
    s = slurp(path);
    CHECK_STR(s, "42 mail 3 default\n");
    free(s);

    /* an exit status is a failure, said as such */
    h.shell = "exit 3";
    r = run(&h, "{}", 2, false);
    CHECK_INT(r.outcome, HANDLER_FAILED);
    CHECK_STR(r.error, "exit 3");

    /* a timeout kills the group: the grandchild (in the background) too */
    h.shell = "sleep 60 & echo $! > gc.pid; sleep 60";
    h.timeout_ms = 300;
    r = run(&h, "{}", 2, false);
    h.timeout_ms = 0;
    CHECK_INT(r.outcome, HANDLER_FAILED);
    CHECK_STR(r.error, "timeout after 300ms");
    CHECK(r.seconds < 5.0); /* SIGTERM sufficed: no wait for the grace */
    snprintf(path, sizeof path, "%s/gc.pid", dir);
    s = slurp(path);
    pid_t gc = (pid_t)atol(s);
    free(s);
    CHECK(gc > 0);
    /* the grandchild was in the group; it is gone (reaped by init) within a short while */
    for (int i = 0; i < 200 && gc > 0 && kill(gc, 0) == 0; i++)
        usleep(10000);
    CHECK(gc > 0 && kill(gc, 0) < 0 && errno == ESRCH);

    /* a polled RSS over max_memory kills the group */
    h.shell = "exec python3 -c 'import time; x = bytearray(120 * 1024 * 1024); time.sleep(60)'";
    h.max_memory = 32u << 20;
    r = run(&h, "{}", 2, false);
    h.max_memory = 0;
    CHECK_INT(r.outcome, HANDLER_FAILED);
    CHECK(strncmp(r.error, "memory limit 32MiB exceeded (RSS ", 33) == 0);
    if (strncmp(r.error, "memory limit", 12)) fprintf(stderr, "got: %s\n", r.error);

    /* a handler that never reads a 1 MiB payload does not wedge the worker */
    size_t big = 1u << 20;
    char *payload = malloc(big + 1);
    memset(payload, 'x', big);
    payload[0] = '"';
    payload[big - 1] = '"';
    payload[big] = '\0';
    h.shell = "sleep 0.2";
    r = run(&h, payload, big, false);
    CHECK_INT(r.outcome, HANDLER_OK);
    free(payload);

    /* a command that cannot be started fails with the reason */
    h.shell = NULL;
    strvec_pushdup(&h.argv, "/nonexistent/handler");
    r = run(&h, "{}", 2, false);
    CHECK_INT(r.outcome, HANDLER_FAILED);
    CHECK(strstr(r.error, "cannot run /nonexistent/handler") != NULL);
    strvec_free(&h.argv);

    /* handler_stop: the job is to be requeued, not failed */
    h.shell = "sleep 60";
    r = run(&h, "{}", 2, true);
    CHECK_INT(r.outcome, HANDLER_STOPPED);
    CHECK_INT(handlers_running(hs), 0);

    handlers_close(hs);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return t_done("test_handler");
}
