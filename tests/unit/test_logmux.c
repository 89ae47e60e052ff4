/* test_logmux.c — the output buffer's hard cap. With stdout stalled (a pipe nobody reads yet),
 * what is queued stays under LOGMUX_MAX_QUEUED however many lines arrive; the lines over it are
 * dropped and counted per role, and once stdout takes the queue again one event per role says
 * how many; every line not dropped arrives whole and in order, and lines after the report are
 * queued again. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "log/logmux.h"
#include "t.h"

#define LINE_LEN     100
#define API_LINES    80000 /* 8 MB: together with worker's, more than the cap */
#define WORKER_LINES 40000 /* 4 MB */

/* The read end of the pipe, read into `got` by a thread once the test lets it. */
static struct {
    int fd;
    pthread_mutex_t mu;
    sbuf got;
    bool eof;
} rd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *reader(void *arg)
{
    (void)arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(rd.fd, buf, sizeof buf);
        pthread_mutex_lock(&rd.mu);
        if (n <= 0) {
            rd.eof = true;
            pthread_mutex_unlock(&rd.mu);
            return NULL;
        }
        sbuf_append(&rd.got, buf, (size_t)n);
        pthread_mutex_unlock(&rd.mu);
    }
}

static bool got_has(const char *needle)
{
    pthread_mutex_lock(&rd.mu);
    bool yes = rd.got.data && strstr(rd.got.data, needle);
    pthread_mutex_unlock(&rd.mu);
    return yes;
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs the loop until the reader has seen needle; false after 10 s. */
static bool run_until(uv_loop_t *loop, const char *needle)
{
    for (int i = 0; i < 10000; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (got_has(needle)) return true;
        msleep(1);
    }
    return false;
}

static void feed(struct logmux *m, struct log_source *src, const char *tag, int from, int to)
{
    char line[LINE_LEN + 1];
    for (int i = from; i < to; i++) {
        int k = snprintf(line, sizeof line, "%s %d ", tag, i);
        memset(line + k, 'x', (size_t)(LINE_LEN - k));
        logmux_line(m, src, LOG_STDOUT, line, LINE_LEN, false);
    }
}

/* Counts the lines of one role ("api    | api 17 xxx...") and checks their numbers only rise;
 * returns the count, or -1 on a torn or out-of-order line. */
static long count_lines(const char *data, const char *tag)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%-6s | %s ", tag, tag);
    size_t plen = strlen(prefix);
    long n = 0, last = -1;
    for (const char *p = data; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl) return -1;
        if (!strncmp(p, prefix, plen)) {
            long i = strtol(p + plen, NULL, 10);
            if (i <= last || nl - p != 9 + LINE_LEN) return -1; /* "api    | " and the line */
            last = i;
            n++;
        }
        p = nl + 1;
    }
    return n;
}

/* The number in "roster | api: 123 lines dropped (output stalled)", or -1. */
static long reported(const char *data, const char *what)
{
    const char *p = strstr(data, what);
    return p ? strtol(p + strlen(what), NULL, 10) : -1;
}

static void on_alive(uv_timer_t *t)
{
    (void)t;
}

/* stdout closed (EPIPE): the loop hears of it, and from then on every line and event is
 * counted, not formatted; what was on its way when the write failed is counted apart. */
static void test_gone(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct logmux m;
    logmux_init(&m, &loop, fds[1]);
    struct log_source api = {.label = "api", .role = "api", .color = ""};
    logfmt_prepare(&m.style, &api);
    uv_timer_t alive;
    uv_timer_init(&loop, &alive);
    uv_timer_start(&alive, on_alive, 60000, 60000);
    CHECK(logmux_stdout_up(&m));
    uint64_t fed = 0;
    for (int i = 0; i < 10000 && logmux_stdout_up(&m); i++) {
        feed(&m, &api, "api", 0, 10);
        fed += 10;
        uv_run(&loop, UV_RUN_NOWAIT);
        msleep(1);
    }
    CHECK(!logmux_stdout_up(&m));
    size_t before = logmux_pending(&m);
    uint64_t dropped = api.dropped;
    feed(&m, &api, "api", 0, 1000);
    logmux_event(&m, "test", NULL, 0, NULL, "an event nobody reads");
    CHECK_INT(api.dropped, dropped + 1000);
    CHECK_INT(m.events_dropped_total, 1);
    CHECK(logmux_pending(&m) == before); /* nothing more was queued */
    logmux_flush_sync(&m, 5000);
    uv_run(&loop, UV_RUN_NOWAIT);
    /* every line fed before is either lost with the write or counted as dropped */
    CHECK(logmux_lines_lost(&m) > 0);
    CHECK_INT(logmux_lines_lost(&m) + dropped, fed);
    logmux_close(&m);
    /* what stderr says at the end: every line and event not written, once */
    CHECK_INT(m.lost_lines + m.gone_dropped, fed + 1000 + 1);
    uv_close((uv_handle_t *)&alive, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    logfmt_source_free(&api);
    uv_loop_close(&loop);
    close(fds[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as roster: a closed stdout is EPIPE, not death */
    test_gone();
    int fds[2];
    CHECK(pipe(fds) == 0);
    rd.fd = fds[0];
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct logmux m;
    logmux_init(&m, &loop, fds[1]);
    struct log_source api = {.label = "api", .role = "api", .color = ""};
    struct log_source worker = {.label = "worker", .role = "worker", .color = ""};
    logfmt_prepare(&m.style, &api);
    logfmt_prepare(&m.style, &worker);
    /* logmux's handles do not keep a loop alive (roster's other handles do): this timer does */
    uv_timer_t alive;
    uv_timer_init(&loop, &alive);
    uv_timer_start(&alive, on_alive, 60000, 60000);

    /* stdout stalled: 12 MB of lines and an event, the loop turning now and then */
    for (int i = 0; i < API_LINES; i += 1000) {
        feed(&m, &api, "api", i, i + 1000);
        if (i < WORKER_LINES) feed(&m, &worker, "worker", i, i + 1000);
        uv_run(&loop, UV_RUN_NOWAIT);
        CHECK(logmux_pending(&m) <= LOGMUX_MAX_QUEUED + 256);
    }
    logmux_event(&m, "test", NULL, 0, NULL, "an event over the cap");
    size_t held = logmux_pending(&m);
    CHECK(held <= LOGMUX_MAX_QUEUED + 256);
    CHECK(held >= LOGMUX_MAX_QUEUED - 2 * (LINE_LEN + 16)); /* sentinel: the cap was reached */

    /* stdout takes the queue again: the report comes once it has drained */
    pthread_t th;
    CHECK(pthread_create(&th, NULL, reader, NULL) == 0);
    CHECK(run_until(&loop, "worker: "));
    /* after the report, lines are queued again */
    feed(&m, &api, "api", API_LINES, API_LINES + 10);
    CHECK(run_until(&loop, "api 80009 "));
    logmux_flush_sync(&m, 5000);
    logmux_close(&m);
    uv_close((uv_handle_t *)&alive, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    close(fds[1]);
    pthread_join(th, NULL);

    const char *data = rd.got.data ? rd.got.data : "";
    long api_got = count_lines(data, "api"), worker_got = count_lines(data, "worker");
    long api_dropped = reported(data, "roster | api: ");
    long worker_dropped = reported(data, "roster | worker: ");
    printf("api: %ld written, %ld dropped; worker: %ld written, %ld dropped\n", api_got,
           api_dropped, worker_got, worker_dropped);
    CHECK(api_got > 0 && worker_got > 0);
    CHECK(api_dropped > 0 && worker_dropped > 0);
    CHECK_INT(api_got + api_dropped, API_LINES + 10);
    CHECK_INT(worker_got + worker_dropped, WORKER_LINES);
    CHECK(strstr(data, "roster | api: ") && strstr(data, " lines dropped (output stalled)\n"));
    CHECK(strstr(data, "roster | 1 roster events dropped (output stalled)\n") != NULL);
    CHECK(strstr(data, "an event over the cap") == NULL);
    /* the report comes once, after the gap: nothing is counted twice */
    CHECK(strstr(strstr(data, "roster | api: ") + 1, "roster | api: ") == NULL);
    /* what /metrics reads agrees with the report, and is not reset by it */
    CHECK_INT(api.dropped, api_dropped);
    CHECK_INT(worker.dropped, worker_dropped);
    CHECK_INT(m.events_dropped_total, 1);

    logfmt_source_free(&api);
    logfmt_source_free(&worker);
    uv_loop_close(&loop);
    close(fds[0]);
    sbuf_free(&rd.got);
    return t_done("logmux");
}
