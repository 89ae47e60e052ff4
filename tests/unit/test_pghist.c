/* test_pghist.c — the history writer's bounded queue against a Postgres that is not there (a
 * loopback port nobody listens on, so libpq's real connection attempts fail at once): statements
 * past max_rows are dropped and counted, none is written, the outage is said once however many
 * attempts fail, and closing frees everything with the loop. Writing to a real server is
 * tests/e2e/test_schedhist.py's. Says SKIP (exit 77) without libpq. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "datastore/pghist.h"
#include "os/lazylib.h"
#include "t.h"

static int said;
static char said_line[512];

static void on_log(void *ud, const char *line)
{
    (void)ud;
    said++;
    snprintf(said_line, sizeof said_line, "%s", line);
}

static void on_deadline(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* A loopback port nothing listens on (bound, then let go). */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        return -1;
    close(fd);
    return ntohs(sa.sin_port);
}

int main(void)
{
    char err[256];
    if (lazylib_load(LAZYLIB_PQ, err, sizeof err) < 0) {
        printf("SKIP: %s\n", err);
        return 77;
    }
    int port = dead_port();
    CHECK(port > 0);
    char url[128];
    snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d/postgres", port);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct pghist_opts o = {.url = url,
                            .appname = "test:pghist:0",
                            .table = "t",
                            .ddl = "CREATE TABLE IF NOT EXISTS t (a text)",
                            .max_rows = 8,
                            .log = on_log};
    struct pghist *h = pghist_new(&loop, &o);
    for (int i = 0; i < 20; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *p[1] = {v};
        pghist_queue(h, "INSERT INTO t VALUES ($1)", 1, p);
    }
    CHECK_INT(pghist_dropped(h), 12); /* 8 wait for Postgres */
    /* long enough for several attempts (the backoff starts at a fraction of a second) */
    uv_timer_t deadline;
    uv_timer_init(&loop, &deadline);
    uv_timer_start(&deadline, on_deadline, 2500, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(said, 1);
    CHECK(strstr(said_line, "history: Postgres is unreachable (") == said_line);
    CHECK(strstr(said_line, "up to 8 rows wait for it and more are dropped") != NULL);
    CHECK_INT(pghist_written(h), 0);
    const char *p[1] = {"x"};
    pghist_queue(h, "INSERT INTO t VALUES ($1)", 1, p);
    CHECK_INT(pghist_dropped(h), 13);
    pghist_close(h);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    return t_done("pghist");
}
