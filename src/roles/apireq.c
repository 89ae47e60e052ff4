/* apireq.c — the jobs API's input checks (pure): POST /jobs's body, GET /jobs's query, ids in
 * paths, and the JSON of errors and times. */
#include "roles/apireq.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/jsoncheck.h"
#include "base/units.h"
#include "sched/cron.h"

int apireq_fail(struct apireq_error *e, int status, const char *code, const char *field,
                const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}


void apireq_str_json(const char *s, sbuf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    sbuf_putc(out, '"');
    for (size_t i = 0; i < len;) {
        if (p[i] == '"' || p[i] == '\\') {
            sbuf_putc(out, '\\');
            sbuf_putc(out, (char)p[i++]);
        } else if (p[i] < 0x20) {
            sbuf_printf(out, "\\u%04x", p[i++]);
        } else {
            size_t n = utf8_seq_len(p, len, i);
            if (n) {
                sbuf_append(out, p + i, n);
                i += n;
            } else {
                sbuf_puts(out, "\\ufffd");
                i++;
            }
        }
    }
    sbuf_putc(out, '"');
}

void apireq_error_json(const struct apireq_error *e, sbuf *out)
{
    sbuf_puts(out, "{\"error\":{\"code\":");
    apireq_str_json(e->code ? e->code : "error", out);
    sbuf_puts(out, ",\"message\":");
    apireq_str_json(e->message, out);
    if (e->field[0]) {
        sbuf_puts(out, ",\"field\":");
        apireq_str_json(e->field, out);
    }
    sbuf_puts(out, "}}\n");
}

void apireq_time_json(int64_t ms, sbuf *out)
{
    if (ms <= 0) {
        sbuf_puts(out, "null");
        return;
    }
    char iso[40];
    format_iso8601_ms(iso, sizeof iso, ms);
    sbuf_printf(out, "\"%s\"", iso);
}

bool apireq_parse_id(const char *s, size_t len, uint64_t *id)
{
    if (len == 0 || len > 19 || s[0] == '0') return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX) return false; /* the store's ids are int64 */
    *id = v;
    return true;
}


/* Whether the JSON string at raw (its text as written, quotes included) holds the escape \u0000,
 * which cJSON decodes as the end of the string. */
static bool escaped_nul(const char *raw)
{
    for (const char *p = raw; *p; p++) {
        if (*p != '\\') continue;
        if (p[1] == 'u' && !strncmp(p + 2, "0000", 4)) return true;
        if (p[1]) p++;
    }
    return false;
}

/* ---- POST /jobs ---- */

/* The raw text of a valid JSON value at p: where it ends. The document was parsed already, so
 * only strings (whose brackets do not count) and nesting need care. */
static const char *skip_value(const char *p)
{
    int depth = 0;
    do {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1]) p++;
            if (*p) p++;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            depth--;
            p++;
        } else if (depth == 0) {
            while ((unsigned char)*p > ' ' && !strchr(",}]", *p))
                p++;
        } else {
            p++;
        }
    } while (depth > 0 && *p);
    return p;
}

/* Skips what cJSON skips between tokens: every control byte, not JSON's four blanks only. */
static const char *skip_ws(const char *p)
{
    while (*p && (unsigned char)*p <= ' ')
        p++;
    return p;
}

/* The raw text of the n-th member's value of the valid JSON object at text (cJSON keeps the
 * members in their order, and prints numbers back in its own precision, so a payload is taken
 * as it was written, not re-printed). */
static char *member_text(const char *text, int n)
{
    const char *p = skip_ws(text);
    p++; /* { */
    for (int i = 0;; i++) {
        p = skip_ws(p);
        p = skip_value(p); /* the key */
        p = skip_ws(p);
        p++; /* : */
        p = skip_ws(p);
        const char *v = p;
        p = skip_value(p);
        if (i == n) return xstrndup(v, (size_t)(p - v));
        p = skip_ws(p);
        if (*p != ',') return xstrdup("null");
        p++;
    }
}

static const char *const enqueue_fields[] = {"queue", "type",   "payload",     "delay",
                                             "at",    "unique", "max_attempts"};

static const char *json_type(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    return "an object";
}

static int want_string(const cJSON *v, const char *field, struct apireq_error *e)
{
    if (cJSON_IsString(v)) return 0;
    return apireq_fail(e, 400, "invalid_field", field, "%s must be a string, not %s", field,
                       json_type(v));
}

/* What jobs_validate said ("run_at: more than a year ahead") as an error naming the API's
 * field (at, for the store's run_at). */
static int store_refused(const char *err, struct apireq_error *e)
{
    const char *colon = strchr(err, ':');
    char field[48];
    snprintf(field, sizeof field, "%.*s", colon ? (int)(colon - err) : 0, err);
    const char *msg = colon ? colon + 1 : err;
    while (*msg == ' ')
        msg++;
    if (!strcmp(field, "run_at")) snprintf(field, sizeof field, "at");
    return apireq_fail(e, 400, "invalid_field", field, "%s: %s", field, msg);
}

static int enqueue_fill(const char *text, cJSON *root, int64_t now_ms, struct apireq_enqueue *out,
                        struct apireq_error *e)
{
    const cJSON *seen[ARRAY_SIZE(enqueue_fields)] = {0};
    int pos[ARRAY_SIZE(enqueue_fields)] = {0};
    int idx = 0;
    for (const cJSON *m = root->child; m; m = m->next, idx++) {
        size_t f = 0;
        while (f < ARRAY_SIZE(enqueue_fields) && strcmp(m->string, enqueue_fields[f]))
            f++;
        if (f == ARRAY_SIZE(enqueue_fields))
            return apireq_fail(e, 400, "unknown_field", m->string,
                               "unknown field '%.64s' (known: queue, type, payload, delay, at, "
                               "unique, max_attempts)",
                               m->string);
        if (seen[f])
            return apireq_fail(e, 400, "invalid_field", m->string, "field '%s' is given twice",
                               m->string);
        seen[f] = m;
        pos[f] = idx;
        if (f == 2) {
            free(out->payload);
            out->payload = member_text(text, idx);
        }
    }
    const cJSON *q = seen[0], *t = seen[1], *d = seen[3], *at = seen[4], *u = seen[5],
                *ma = seen[6];
    if (!q) return apireq_fail(e, 400, "missing_field", "queue", "queue is required");
    if (!t) return apireq_fail(e, 400, "missing_field", "type", "type is required");
    if (want_string(q, "queue", e) < 0 || want_string(t, "type", e) < 0) return -1;
    /* cJSON ends a string at \u0000: "q\u0000x" would be taken as q, silently */
    static const size_t named[] = {0, 1, 5};
    for (size_t k = 0; k < ARRAY_SIZE(named); k++) {
        if (!cJSON_IsString(seen[named[k]])) continue;
        char *raw = member_text(text, pos[named[k]]);
        bool nul = escaped_nul(raw);
        free(raw);
        if (nul)
            return apireq_fail(e, 400, "invalid_field", enqueue_fields[named[k]],
                               "%s: holds a NUL (\\u0000)", enqueue_fields[named[k]]);
    }
    out->queue = xstrdup(q->valuestring);
    out->type = xstrdup(t->valuestring);
    struct job_new *j = &out->job;
    j->queue = out->queue;
    j->type = out->type;
    j->payload = out->payload ? out->payload : "null";
    j->payload_len = strlen(j->payload);
    if (d && at) return apireq_fail(e, 400, "invalid_field", "at", "give delay or at, not both");
    if (d) {
        if (want_string(d, "delay", e) < 0) return -1;
        uint64_t ms;
        const char *why;
        if (units_parse_duration(d->valuestring, &ms, &why) < 0)
            return apireq_fail(e, 400, "invalid_field", "delay",
                               "delay: '%.40s' is no duration like \"30s\" or \"5m\" (%s)",
                               d->valuestring, why);
        if (ms > (uint64_t)JOBS_AHEAD_MAX_MS)
            return apireq_fail(e, 400, "invalid_field", "delay", "delay: more than a year");
        j->delay_ms = (int64_t)ms;
    }
    if (at) {
        if (want_string(at, "at", e) < 0) return -1;
        int64_t s;
        if (cron_parse_time(at->valuestring, &s) < 0)
            return apireq_fail(e, 400, "invalid_field", "at",
                               "at: '%.40s' is no ISO-8601 time with Z or an offset "
                               "(2026-03-08T03:30:00Z)",
                               at->valuestring);
        j->run_at_ms = s * 1000;
    }
    if (u && !cJSON_IsNull(u)) {
        if (want_string(u, "unique", e) < 0) return -1;
        out->unique = xstrdup(u->valuestring);
        j->unique = out->unique;
    }
    if (ma) {
        double v = cJSON_IsNumber(ma) ? ma->valuedouble : -1;
        /* in range before the cast: a double past int's range converts to undefined behaviour */
        if (!cJSON_IsNumber(ma) || !(v >= 1 && v <= JOBS_MAX_ATTEMPTS_MAX) || v != (double)(int)v)
            return apireq_fail(e, 400, "invalid_field", "max_attempts",
                               "max_attempts must be a whole number from 1 to %d",
                               JOBS_MAX_ATTEMPTS_MAX);
        j->max_attempts = (int)v;
    }
    char err[256];
    if (jobs_validate(j, now_ms, err, sizeof err) != JOBS_OK) return store_refused(err, e);
    return 0;
}

int apireq_enqueue_parse(const char *body, size_t len, int64_t now_ms, struct apireq_enqueue *out,
                         struct apireq_error *e)
{
    memset(out, 0, sizeof *out);
    const char *nul = memchr(body, '\0', len);
    if (nul)
        return apireq_fail(e, 400, "invalid_json", "", "malformed JSON: a NUL byte at byte %zu",
                           (size_t)(nul - body));
    /* cJSON wants the text NUL-terminated to refuse what follows the value */
    char *text = xstrndup(body, len);
    const char *end = NULL, *why = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, true);
    size_t at = 0;
    int rc;
    if (!root) {
        at = end && end >= text ? (size_t)(end - text) : 0;
        rc = apireq_fail(e, 400, "invalid_json", "",
                         at >= len ? "malformed JSON: the body ends early (at byte %zu)"
                                   : "malformed JSON at byte %zu",
                         at);
    } else if (!json_check(text, len, &at, &why)) {
        /* what cJSON takes but JSON is not ("01", a raw control byte, bytes that are no UTF-8):
         * kept as written in a payload, it would make each answer that shows the job malformed */
        rc = apireq_fail(e, 400, "invalid_json", "", "malformed JSON at byte %zu: %s", at, why);
    } else if (!cJSON_IsObject(root)) {
        rc = apireq_fail(e, 400, "invalid_body", "", "the body must be a JSON object, not %s",
                         json_type(root));
    } else {
        rc = enqueue_fill(text, root, now_ms, out, e);
    }
    cJSON_Delete(root);
    free(text);
    if (rc < 0) apireq_enqueue_free(out);
    return rc;
}

void apireq_enqueue_free(struct apireq_enqueue *r)
{
    free(r->queue);
    free(r->type);
    free(r->payload);
    free(r->unique);
    memset(r, 0, sizeof *r);
}

/* ---- GET /jobs ---- */

int apireq_list_parse(const struct httpd_arg *args, size_t nargs, bool overflow,
                      struct apireq_list *out, struct apireq_error *e)
{
    static const char *const names[] = {"queue", "state", "limit", "cursor"};
    *out = (struct apireq_list){.state = JOB_QUEUED, .limit = APIREQ_LIST_DEFAULT};
    if (overflow)
        return apireq_fail(e, 400, "invalid_query", "", "more than %d query parameters",
                           HTTPD_MAX_ARGS);
    bool seen[ARRAY_SIZE(names)] = {0};
    for (size_t i = 0; i < nargs; i++) {
        const char *k = args[i].key, *v = args[i].value;
        size_t n = 0;
        while (n < ARRAY_SIZE(names) && strcmp(k, names[n]))
            n++;
        if (n == ARRAY_SIZE(names))
            return apireq_fail(e, 400, "unknown_parameter", k,
                               "unknown query parameter '%.40s' (known: queue, state, limit, "
                               "cursor)",
                               k);
        if (seen[n])
            return apireq_fail(e, 400, "invalid_parameter", k,
                               "query parameter '%s' is given "
                               "twice",
                               k);
        seen[n] = true;
        if (n == 0) {
            if (!jobs_name_ok(v))
                return apireq_fail(e, 400, "invalid_parameter", "queue",
                                   "queue: '%.64s' is no queue name ([A-Za-z0-9_.:-]{1,64})", v);
            out->queue = v;
        } else if (n == 1) {
            if (!job_state_parse(v, &out->state) || out->state == JOB_CANCELLED)
                return apireq_fail(e, 400, "invalid_parameter", "state",
                                   "state: '%.40s' is not one of queued, delayed, active, done, "
                                   "dead",
                                   v);
        } else if (n == 2) {
            char *endp;
            errno = 0;
            long l = strtol(v, &endp, 10);
            if (!*v || *endp || errno || l < 1 || l > JOBS_LIST_MAX)
                return apireq_fail(e, 400, "invalid_parameter", "limit",
                                   "limit: '%.40s' is not a number from 1 to %d", v, JOBS_LIST_MAX);
            out->limit = (int)l;
        } else {
            if (!*v || strlen(v) > 200)
                return apireq_fail(e, 400, "invalid_parameter", "cursor",
                                   "cursor: empty or longer than 200 bytes (give the "
                                   "next_cursor of the page before)");
            out->cursor = v;
        }
    }
    return 0;
}
