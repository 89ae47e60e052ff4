/* handler.h — runs one job with its type's handler (issue 13), apart from Redis: a command (a
 * fresh process per job, in a process group of its own, the payload on its stdin, a timeout and
 * a memory ceiling that kill the group) or an http request (the payload POSTed to the app,
 * signed with the handler's secret). The worker (worker.c) fetches jobs and records results;
 * this module only runs them and says how each ended. */
#ifndef ROSTER_HANDLER_H
#define ROSTER_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

/* A command's group gets SIGKILL this long after SIGTERM (its timeout, or a drain). */
#define HANDLER_KILL_GRACE_MS 5000
/* How often the RSS of groups with max_memory is read. */
#define HANDLER_MEMORY_POLL_MS 250
/* A line of a command's output is framed in pieces of at most this many bytes. */
#define HANDLER_MAX_LINE 16384

/* What the runs of one worker share: the loop, libcurl, httpc's pool, and the memory poll. */
struct handlers;

/* The job as the handler sees it; the strings are copied by handler_start. */
struct handler_job {
    const char *id, *type, *queue;
    int attempt; /* 1 for the first run */
    const char *payload;
    size_t payload_len;
};

enum handler_outcome {
    HANDLER_OK,      /* exit 0, or a 2xx answer */
    HANDLER_FAILED,  /* anything else: error says what */
    HANDLER_LATER,   /* 429 or 503 with Retry-After: retry_after_s says when */
    HANDLER_STOPPED, /* handler_stop ended it: the job is to be requeued, not failed */
};

struct handler_result {
    enum handler_outcome outcome;
    char error[256];
    int64_t retry_after_s;
    double seconds;
    int exit_code;   /* a command's exit status; -1: none (a signal, no start, or http) */
    int http_status; /* an http handler's answer; 0: none (a command, or no answer) */
};

/* Called once per run, on the loop; the run is freed after it returns. */
typedef void (*handler_cb)(void *ud, const struct handler_result *res);

struct handler_run;

/* role: the worker role's name; cwd: its cwd (NULL: this process's); environ_: what commands
 * inherit. All borrowed for the life of the handlers. */
struct handlers *handlers_new(uv_loop_t *loop, const char *role, const char *cwd, char **environ_);
/* Starts job j with handler h; cb is called once when it ends. Never NULL: a run that cannot
 * start ends (asynchronously) as a failure saying why. */
struct handler_run *handler_start(struct handlers *hs, const struct handler_config *h,
                                  const struct handler_job *j, handler_cb cb, void *ud);
/* Ends a run early (a drain that ran out of time): a command's group gets SIGTERM, then SIGKILL
 * after the grace; a request is aborted. Its result is HANDLER_STOPPED. */
void handler_stop(struct handler_run *r);
/* The most runs the worker starts at once: the bound of the http handlers' kept-alive
 * connections (1 when not said). */
void handlers_set_concurrency(struct handlers *hs, size_t n);
/* Runs still going. */
size_t handlers_running(const struct handlers *hs);
/* Closes the loop handles of hs (no run may be going); frees hs once they are closed. */
void handlers_close(struct handlers *hs);

/* The Roster-Signature header's value for body at unix time t: "t=<t>,v1=<hex HMAC-SHA256 of
 * secret over "<t>.<body>">". Pure. Returns the bytes written (out needs 96). */
size_t handler_signature(const char *secret, int64_t t, const char *body, size_t len, char *out,
                         size_t outlen);

#endif
