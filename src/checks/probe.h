/* probe.h — readiness (ready:) and liveness (live:) checks of a role instance, on the loop:
 * http through curlm, tcp through uv_tcp_connect, exec as a child in its own process group,
 * log as a POSIX extended regex over the instance's output lines (matched on a thread of
 * libuv's pool: the first PROBE_LOG_MATCH_MAX bytes of each line, one batch in flight per
 * probe, at most PROBE_LOG_PENDING lines waiting), notify/watchdog through the
 * instance's sd_notify socket (checks.c feeds probe_notify).
 *
 * A ready probe retries every `every` until it passes (the instance becomes ready) or `timeout`
 * runs out (a failed start: sup_post_fail). A live probe runs every `every` with `timeout` per
 * attempt; `failures` in a row restart the instance through sup_post_fail. */
#ifndef ROSTER_PROBE_H
#define ROSTER_PROBE_H

#include <regex.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "base/util.h"
#include "config/config.h"

struct instance;
struct sup;
struct checks;

enum probe_mode { PROBE_MODE_READY, PROBE_MODE_LIVE };

struct tcp_attempt;
struct gai_attempt;
struct log_job;

/* A line is matched on its first 4 KiB: glibc's regexec is quadratic on some patterns
 * ((a|aa)*c$ takes ~60 ms on 4 KiB of 'a', 2.5 s on 32 KiB). */
#define PROBE_LOG_MATCH_MAX 4096
/* Lines waiting while a match runs; beyond, the oldest are dropped (and counted). */
#define PROBE_LOG_PENDING 64

struct probe {
    struct instance *in;
    struct checks *checks; /* its owner: the shared libcurl handle */
    char **result;         /* where the last outcome is written, for /health (owner's) */
    enum probe_mode mode;
    struct probe_config cfg; /* a copy: the plan may be swapped by a reload meanwhile */
    uv_timer_t timer;        /* next attempt; for watchdogs, the deadline for the next ping */
    uv_timer_t limit;        /* ready: overall timeout; others: one attempt's timeout */
    int handles;
    bool stopped;
    bool in_flight;
    int failures; /* consecutive */
    struct curlm_req *http;
    struct tcp_attempt *tcp;
    struct gai_attempt *gai;
    pid_t exec_pid;
    regex_t re;
    bool re_ok;
    struct log_job *job; /* the batch being matched on the pool, or NULL */
    strvec pending;      /* lines (cut to PROBE_LOG_MATCH_MAX) waiting for the next batch */
    uint64_t dropped;    /* lines dropped from pending while it was full */
    uint64_t attempt_ms; /* this attempt's time limit */
};

/* Starts the instance's ready or live probe (none configured: returns NULL). Outcomes are
 * written to *result (which must outlive the probe's run, until probe_stop). */
struct probe *probe_start(struct instance *in, enum probe_mode mode, struct checks *ck,
                          char **result);
/* Stops a probe; it frees itself once its handles are closed. NULL is fine. */
void probe_stop(struct probe *p);
/* An output line of the instance, for log probes. */
void probe_line(struct probe *p, const char *line, size_t len);
/* An sd_notify message from the instance: READY=1 for notify probes, WATCHDOG=1 for
 * watchdogs. */
void probe_notify(struct probe *p, bool ready, bool watchdog);
/* True while pid is the probe's running exec child. */
bool probe_owns(const struct probe *p, pid_t pid);
/* A reaped child that may be an exec probe's; true if it was. */
bool probe_reaped(struct probe *p, pid_t pid, int status);

#endif
