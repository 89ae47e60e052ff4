/* validate.c — the checks a job must pass before it is stored (pure: no I/O), shared by
 * jobs_enqueue, `roster enqueue` and the api role's POST /jobs. */
#include <stdio.h>
#include <string.h>

#include "base/jsoncheck.h"
#include "jobs/store.h"

/* s is 1..max characters of [A-Za-z0-9_.:-]. */
static bool chars_ok(const char *s, size_t max)
{
    if (!s) return false;
    size_t n = strlen(s);
    if (n < 1 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool jobs_name_ok(const char *s)
{
    return chars_ok(s, JOBS_NAME_MAX);
}

bool jobs_worker_ok(const char *s)
{
    return chars_ok(s, JOBS_WORKER_MAX);
}

static enum jobs_err bad(char *err, size_t errlen, const char *fmt, const char *a)
{
    if (err && errlen) snprintf(err, errlen, fmt, a);
    return JOBS_E_INVALID;
}

static enum jobs_err name_check(const char *field, const char *s, char *err, size_t errlen)
{
    if (jobs_name_ok(s)) return JOBS_OK;
    if (!s || !*s) return bad(err, errlen, "%s: missing (a name is required)", field);
    if (strlen(s) > JOBS_NAME_MAX)
        return bad(err, errlen, "%s: longer than 64 characters", field);
    char msg[160];
    snprintf(msg, sizeof msg, "%s: '%.64s' has a character outside A-Z a-z 0-9 _ . : -", field, s);
    return bad(err, errlen, "%s", msg);
}

enum jobs_err jobs_validate(const struct job_new *j, int64_t now_ms, char *err, size_t errlen)
{
    if (err && errlen) err[0] = '\0';
    if (!j) return bad(err, errlen, "%s", "job: missing");
    enum jobs_err e = name_check("queue", j->queue, err, errlen);
    if (e == JOBS_OK) e = name_check("type", j->type, err, errlen);
    if (e != JOBS_OK) return e;
    if (j->payload) {
        size_t n = j->payload_len ? j->payload_len : strlen(j->payload);
        if (n > JOBS_PAYLOAD_MAX)
            return bad(err, errlen, "%s", "payload: larger than 1 MiB");
        if (memchr(j->payload, '\0', n))
            return bad(err, errlen, "%s", "payload: contains a NUL byte (not JSON text)");
        /* strict (RFC 8259, UTF-8): what cJSON would also take ("01", raw control bytes, bytes
         * that are not UTF-8) would make every answer that shows the job invalid JSON */
        size_t at = 0;
        const char *why = NULL;
        if (!json_check(j->payload, n, &at, &why)) {
            char msg[160];
            snprintf(msg, sizeof msg, "%zu: %s", at, why ? why : "malformed");
            return bad(err, errlen, "payload: not valid JSON at byte %s", msg);
        }
    }
    if (j->unique && strlen(j->unique) > JOBS_UNIQUE_MAX)
        return bad(err, errlen, "%s", "unique: longer than 200 bytes");
    if (j->max_attempts < 0 || j->max_attempts > JOBS_MAX_ATTEMPTS_MAX)
        return bad(err, errlen, "%s", "max_attempts: must be 0 (the worker's setting) to 1000");
    if (j->run_at_ms) {
        if (j->run_at_ms < now_ms - JOBS_PAST_MAX_MS)
            return bad(err, errlen, "%s", "run_at: more than a minute in the past");
        if (j->run_at_ms > now_ms + JOBS_AHEAD_MAX_MS)
            return bad(err, errlen, "%s", "run_at: more than a year ahead");
    } else if (j->delay_ms) {
        if (j->delay_ms < 0) return bad(err, errlen, "%s", "delay: negative");
        if (j->delay_ms > JOBS_AHEAD_MAX_MS)
            return bad(err, errlen, "%s", "delay: more than a year");
    }
    return JOBS_OK;
}
