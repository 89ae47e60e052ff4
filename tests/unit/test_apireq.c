/* test_apireq.c — the jobs API's pure input checks (roles/apireq.c): POST /jobs bodies (each
 * refusal's code, field and message; the payload kept as written, numbers and blanks included),
 * GET /jobs queries, ids in paths, and the JSON of errors and times. */
#include <stdlib.h>

#include "base/jsoncheck.h"
#include "roles/apireq.h"
#include "t.h"

#define NOW 1780000000000LL /* 2026-05-28T20:26:40Z */

static struct apireq_enqueue r;
static struct apireq_error e;

static int parse(const char *body)
{
    apireq_enqueue_free(&r);
    memset(&e, 0, sizeof e);
    return apireq_enqueue_parse(body, strlen(body), NOW, &r, &e);
}

/* body is refused 400 with code and field ("" for none), and the message holds part. */
static void refused(const char *body, const char *code, const char *field, const char *part)
{
    CHECK_INT(parse(body), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.code, code);
    CHECK_STR(e.field, field);
    CHECK(strstr(e.message, part) != NULL);
    if (!strstr(e.message, part)) fprintf(stderr, "  body %s: message %s\n", body, e.message);
}

static void enqueue_bodies(void)
{
    CHECK_INT(parse("{\"queue\":\"mail\",\"type\":\"welcome\"}"), 0);
    CHECK_STR(r.job.queue, "mail");
    CHECK_STR(r.job.type, "welcome");
    CHECK_STR(r.job.payload, "null");
    CHECK_INT(r.job.delay_ms, 0);
    CHECK_INT(r.job.run_at_ms, 0);
    CHECK(r.job.unique == NULL);
    /* the payload as written: a 20-digit number is not rounded, blanks inside are kept */
    CHECK_INT(parse("{ \"payload\" : {\"n\": 12345678901234567890, \"s\": \"}]\\\"\"} , "
                    "\"queue\":\"q\",\"type\":\"t\"}"),
              0);
    CHECK_STR(r.job.payload, "{\"n\": 12345678901234567890, \"s\": \"}]\\\"\"}");
    /* JSON's four blanks between tokens are skipped in finding the payload */
    CHECK_INT(parse("{\"queue\":\"q\",\t\"type\":\"t\",\r\n\"payload\" : \n[1]\t}"), 0);
    CHECK_STR(r.job.payload, "[1]");
    /* an escaped NUL and any UTF-8 are JSON: a payload keeps them as written */
    CHECK_INT(
        parse("{\"queue\":\"q\",\"type\":\"t\",\"payload\":\"\\u0000 \xc3\xa9\xf0\x9f\x98\x80\"}"),
        0);
    CHECK_STR(r.job.payload, "\"\\u0000 \xc3\xa9\xf0\x9f\x98\x80\"");
    CHECK_INT(parse("{\"queue\":\"q\",\"type\":\"t\",\"payload\":-1.5e3}"), 0);
    CHECK_STR(r.job.payload, "-1.5e3");
    CHECK_INT(parse("{\"queue\":\"q\",\"type\":\"t\",\"payload\":[true,null]}"), 0);
    CHECK_STR(r.job.payload, "[true,null]");
    CHECK_INT(parse("{\"queue\":\"q\",\"type\":\"t\",\"delay\":\"1m30s\",\"unique\":\"k\","
                    "\"max_attempts\":3}"),
              0);
    CHECK_INT(r.job.delay_ms, 90000);
    CHECK_STR(r.job.unique, "k");
    CHECK_INT(r.job.max_attempts, 3);
    CHECK_INT(parse("{\"queue\":\"q\",\"type\":\"t\",\"at\":\"2026-06-01T02:00:00+02:00\"}"), 0);
    CHECK_INT(r.job.run_at_ms, 1780272000000LL);
    CHECK_INT(parse("{\"queue\":\"q\",\"type\":\"t\",\"unique\":null}"), 0);
    CHECK(r.job.unique == NULL);

    static const struct {
        const char *body, *code, *field, *part;
    } bad[] = {
        {"{\"queue\":\"q\",", "invalid_json", "", "ends early (at byte 13)"},
        {"{\"queue\" \"q\"}", "invalid_json", "", "at byte 9"},
        {"{\"queue\":\"q\",\"type\":\"t\"} x", "invalid_json", "", "at byte"},
        {"", "invalid_json", "", "byte 0"},
        {"\"just a string\"", "invalid_body", "", "a string"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"extra\":1}", "unknown_field", "extra", "extra"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"queue\":\"r\"}", "invalid_field", "queue", "twice"},
        {"{\"type\":\"t\"}", "missing_field", "queue", "required"},
        {"{\"queue\":\"q\"}", "missing_field", "type", "required"},
        {"{\"queue\":[],\"type\":\"t\"}", "invalid_field", "queue", "not an array"},
        {"{\"queue\":\"q\",\"type\":null}", "invalid_field", "type", "not null"},
        {"{\"queue\":\"q q\",\"type\":\"t\"}", "invalid_field", "queue", "character"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"delay\":5}", "invalid_field", "delay", "string"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"delay\":\"5 parsecs\"}", "invalid_field", "delay",
         "duration"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"delay\":\"400d\"}", "invalid_field", "delay", "year"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"at\":\"soon\"}", "invalid_field", "at", "ISO-8601"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"at\":\"2026-05-28T20:00:00Z\"}", "invalid_field", "at",
         "past"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"at\":\"2026-06-01T00:00:00Z\",\"delay\":\"1s\"}",
         "invalid_field", "at", "not both"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"max_attempts\":0}", "invalid_field", "max_attempts",
         "1 to 1000"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"max_attempts\":\"3\"}", "invalid_field", "max_attempts",
         "whole number"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"unique\":7}", "invalid_field", "unique", "string"},
        /* what cJSON takes but is no JSON: the payload, kept as written, would make every answer
         * that shows the job (GET /jobs/{id}, a page of GET /jobs) malformed */
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":01}", "invalid_json", "", "byte 35"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":-01}", "invalid_json", "", "byte 36"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":1.}", "invalid_json", "", "byte 36"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":[1.e5]}", "invalid_json", "", "byte 37"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":\"a\tb\"}", "invalid_json", "", "control"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":\"\xff\"}", "invalid_json", "", "UTF-8"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":\"\xc0\xaf\"}", "invalid_json", "", "UTF-8"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":\"\xed\xa0\x80\"}", "invalid_json", "",
         "UTF-8"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"payload\":\"\xe2\x82\"}", "invalid_json", "", "UTF-8"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"\xff\":1}", "invalid_json", "", "UTF-8"},
        {"{\"queue\":\"q\",\x17\"type\":\"t\"}", "invalid_json", "", "byte 13"},
        /* cJSON ends a string at an escaped NUL: "q\u0000zz" would be queue q, and two unique keys
         * that differ after one would be one */
        {"{\"queue\":\"q\\u0000zz\",\"type\":\"t\"}", "invalid_field", "queue", "NUL"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"unique\":\"a\\u0000b\"}", "invalid_field", "unique",
         "NUL"},
        /* past int: no undefined conversion on the way to the refusal (UBSan) */
        {"{\"queue\":\"q\",\"type\":\"t\",\"max_attempts\":1e10}", "invalid_field", "max_attempts",
         "whole number"},
        {"{\"queue\":\"q\",\"type\":\"t\",\"max_attempts\":-1e400}", "invalid_field",
         "max_attempts", "whole number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        refused(bad[i].body, bad[i].code, bad[i].field, bad[i].part);
    CHECK_INT(apireq_enqueue_parse("{\"queue\":\"q\",\0\"type\":\"t\"}", 24, NOW, &r, &e), -1);
    CHECK(strstr(e.message, "NUL byte at byte 13") != NULL);
    apireq_enqueue_free(&r);
}

static int list(const char *const *kv, size_t n, struct apireq_list *q)
{
    struct httpd_arg args[HTTPD_MAX_ARGS];
    for (size_t i = 0; i < n; i++)
        args[i] = (struct httpd_arg){kv[2 * i], kv[2 * i + 1]};
    memset(&e, 0, sizeof e);
    return apireq_list_parse(args, n, false, q, &e);
}

static void list_queries(void)
{
    struct apireq_list q;
    CHECK_INT(list(NULL, 0, &q), 0);
    CHECK_INT(q.limit, 50);
    CHECK_INT(q.state, JOB_QUEUED);
    CHECK(q.queue == NULL && q.cursor == NULL);
    const char *all[] = {"queue", "mail", "state", "dead", "limit", "1000", "cursor", "abc"};
    CHECK_INT(list(all, 4, &q), 0);
    CHECK_STR(q.queue, "mail");
    CHECK_INT(q.state, JOB_DEAD);
    CHECK_INT(q.limit, 1000);
    CHECK_STR(q.cursor, "abc");
    const char *bad[][2] = {{"limit", "abc"}, {"limit", "0"},   {"limit", "1001"},
                            {"limit", ""},    {"limit", "5x"},  {"state", "cancelled"},
                            {"state", "up"},  {"queue", "a b"}, {"cursor", ""},
                            {"color", "red"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(list(bad[i], 1, &q), -1);
        CHECK_INT(e.status, 400);
        CHECK_STR(e.field, bad[i][0]);
    }
    const char *twice[] = {"limit", "5", "limit", "6"};
    CHECK_INT(list(twice, 2, &q), -1);
    CHECK_STR(e.field, "limit");
    CHECK_INT(apireq_list_parse(NULL, 0, true, &q, &e), -1);
}

static void ids_and_json(void)
{
    uint64_t id = 0;
    CHECK(apireq_parse_id("42", 2, &id) && id == 42);
    CHECK(!apireq_parse_id("", 0, &id));
    CHECK(!apireq_parse_id("007", 3, &id));
    CHECK(!apireq_parse_id("-1", 2, &id));
    CHECK(!apireq_parse_id("12345678901234567890", 20, &id));
    /* the store's ids are int64 (INCR): one past it was taken, and looked up as a negative id */
    CHECK(apireq_parse_id("9223372036854775807", 19, &id) && id == 9223372036854775807ULL);
    CHECK(!apireq_parse_id("9223372036854775808", 19, &id));
    CHECK(!apireq_parse_id("9999999999999999999", 19, &id));
    sbuf o;
    sbuf_init(&o);
    apireq_time_json(1780000000123LL, &o);
    CHECK_STR(o.data, "\"2026-05-28T20:26:40.123Z\"");
    sbuf_reset(&o);
    apireq_time_json(0, &o);
    CHECK_STR(o.data, "null");
    sbuf_reset(&o);
    struct apireq_error err;
    apireq_fail(&err, 400, "invalid_field", "q\"x", "a \"quoted\"\n%s", "line");
    apireq_error_json(&err, &o);
    CHECK_STR(o.data,
              "{\"error\":{\"code\":\"invalid_field\",\"message\":\"a \\\"quoted\\\"\\u000aline\","
              "\"field\":\"q\\\"x\"}}\n");
    sbuf_reset(&o);
    /* bytes that are no UTF-8 (an unknown field's name, a handler's error) are not copied into
     * the JSON, which must be UTF-8: each becomes U+FFFD; UTF-8 is kept */
    apireq_str_json("a\xff\xc3\xa9\xe2\x82\xc0\xafz", &o);
    CHECK_STR(o.data, "\"a\\ufffd\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffdz\"");
    sbuf_reset(&o);
    apireq_fail(&err, 400, "unknown_field", "\xff\xfe", "unknown field '%s'", "\xff");
    apireq_error_json(&err, &o);
    CHECK(json_check(o.data, o.len, NULL, NULL));
    sbuf_reset(&o);
    apireq_fail(&err, 404, "not_found", NULL, "gone");
    apireq_error_json(&err, &o);
    CHECK_STR(o.data, "{\"error\":{\"code\":\"not_found\",\"message\":\"gone\"}}\n");
    sbuf_free(&o);
}

int main(void)
{
    enqueue_bodies();
    list_queries();
    ids_and_json();
    return t_done("apireq");
}
