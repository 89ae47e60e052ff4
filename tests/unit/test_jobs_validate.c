/* test_jobs_validate.c — jobs_validate, the pure check of a job before it is stored: every
 * field's error names the field; the limits are inclusive where the header says so. Also the
 * SHA-1 the store names its scripts by (a wrong one would only show as NOSCRIPT every call). */
#include <stdlib.h>

#include "jobs/sha1.h"
#include "jobs/store.h"
#include "t.h"

#define NOW 1800000000000LL

static char err[256];

static enum jobs_err v(const struct job_new *j)
{
    return jobs_validate(j, NOW, err, sizeof err);
}

/* e is JOBS_E_INVALID and the message starts with field. */
#define BAD(j, field)                                                                              \
    do {                                                                                           \
        CHECK_INT(v(j), JOBS_E_INVALID);                                                           \
        CHECK(strncmp(err, field ": ", strlen(field) + 2) == 0);                                   \
        if (strncmp(err, field ": ", strlen(field) + 2) != 0) fprintf(stderr, "  err: %s\n", err); \
    } while (0)

int main(void)
{
    struct job_new ok = {.queue = "default", .type = "email.send", .payload = "{\"to\":\"a@b\"}"};
    CHECK_INT(v(&ok), JOBS_OK);
    CHECK_STR(err, "");

    struct job_new j = ok;
    j.payload = NULL; /* "null" is sent */
    CHECK_INT(v(&j), JOBS_OK);
    const char *good_payloads[] = {"1", "\"s\"", "[1,2]", " {} \n", "null", "true"};
    for (size_t i = 0; i < sizeof good_payloads / sizeof *good_payloads; i++) {
        j = ok;
        j.payload = good_payloads[i];
        CHECK_INT(v(&j), JOBS_OK);
    }

    /* names */
    j = ok, j.queue = NULL;
    BAD(&j, "queue");
    j = ok, j.queue = "";
    BAD(&j, "queue");
    j = ok, j.queue = "has space";
    BAD(&j, "queue");
    CHECK(strstr(err, "'has space'") != NULL);
    j = ok, j.type = "a/b";
    BAD(&j, "type");
    j = ok, j.type = "é";
    BAD(&j, "type");
    char name[80];
    memset(name, 'q', 64), name[64] = '\0';
    j = ok, j.queue = name;
    CHECK_INT(v(&j), JOBS_OK);
    memset(name, 'q', 65), name[65] = '\0';
    j.queue = name;
    BAD(&j, "queue");
    CHECK(jobs_name_ok("A-z_0.9:x"));
    CHECK(!jobs_name_ok(NULL));
    /* worker ids: up to 128 (a 2-character one was refused once: the check read past its end) */
    CHECK(jobs_worker_ok("w1"));
    char wid[140];
    memset(wid, 'w', 128), wid[128] = '\0';
    CHECK(jobs_worker_ok(wid));
    memset(wid, 'w', 129), wid[129] = '\0';
    CHECK(!jobs_worker_ok(wid));
    CHECK(!jobs_worker_ok("a b"));
    CHECK(!jobs_worker_ok(""));

    /* payload */
    /* ...and what cJSON would take but is not JSON (a number with a leading zero or a bare
     * point, a raw tab in a string, a byte that is not UTF-8): the api would show it as is */
    const char *bad_payloads[] = {"{", "{} x", "'a'", "{\"a\":}", "", "nul",
                                  "01", "1.", "\"a\tb\"", "\"\xff\"", "[1,]"};
    for (size_t i = 0; i < sizeof bad_payloads / sizeof *bad_payloads; i++) {
        j = ok;
        j.payload = bad_payloads[i];
        BAD(&j, "payload");
    }
    j = ok, j.payload = "{}\0{}", j.payload_len = 5;
    BAD(&j, "payload");
    CHECK(strstr(err, "NUL") != NULL);
    size_t big = JOBS_PAYLOAD_MAX + 1;
    char *p = malloc(big + 1);
    memset(p, ' ', big);
    p[0] = '1', p[big] = '\0';
    j = ok, j.payload = p;
    BAD(&j, "payload");
    CHECK(strstr(err, "1 MiB") != NULL);
    p[big - 1] = '\0'; /* exactly the limit */
    CHECK_INT(v(&j), JOBS_OK);
    free(p);

    /* unique */
    char u[256];
    memset(u, 'u', 200), u[200] = '\0';
    j = ok, j.unique = u;
    CHECK_INT(v(&j), JOBS_OK);
    memset(u, 'u', 201), u[201] = '\0';
    BAD(&j, "unique");

    /* max_attempts */
    j = ok, j.max_attempts = -1;
    BAD(&j, "max_attempts");
    j.max_attempts = 1001;
    BAD(&j, "max_attempts");
    j.max_attempts = 1000;
    CHECK_INT(v(&j), JOBS_OK);

    /* delay and run_at */
    j = ok, j.delay_ms = -5;
    BAD(&j, "delay");
    j.delay_ms = JOBS_AHEAD_MAX_MS + 1;
    BAD(&j, "delay");
    j.delay_ms = JOBS_AHEAD_MAX_MS;
    CHECK_INT(v(&j), JOBS_OK);
    j = ok, j.run_at_ms = NOW - JOBS_PAST_MAX_MS - 1;
    BAD(&j, "run_at");
    CHECK(strstr(err, "past") != NULL);
    j.run_at_ms = NOW - JOBS_PAST_MAX_MS;
    CHECK_INT(v(&j), JOBS_OK);
    j.run_at_ms = NOW + JOBS_AHEAD_MAX_MS + 1;
    BAD(&j, "run_at");
    j.delay_ms = -5; /* run_at wins: delay is not looked at */
    j.run_at_ms = NOW + 1000;
    CHECK_INT(v(&j), JOBS_OK);

    CHECK_INT(v(NULL), JOBS_E_INVALID);

    /* states and errors have names */
    enum job_state s;
    CHECK(job_state_parse("dead", &s) && s == JOB_DEAD);
    CHECK(!job_state_parse("Dead", &s));
    CHECK_STR(job_state_name(JOB_CANCELLED), "cancelled");
    CHECK_STR(jobs_strerror(JOBS_E_UNIQUE), "unique key taken");

    /* SHA-1: FIPS 180 examples, and lengths around the padding's block boundary */
    char hex[41];
    jobs_sha1_hex("abc", 3, hex);
    CHECK_STR(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    jobs_sha1_hex("", 0, hex);
    CHECK_STR(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    jobs_sha1_hex(m, strlen(m), hex);
    CHECK_STR(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char a[1000];
    memset(a, 'a', sizeof a);
    jobs_sha1_hex(a, 64, hex);
    CHECK_STR(hex, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
    jobs_sha1_hex(a, 1000, hex);
    CHECK_STR(hex, "291e9a6c66994949b57ba5e650361e98fc36b1ba");
    return t_done("jobs_validate");
}
