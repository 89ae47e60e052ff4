/* test_rolechan.c — roster's side of the builtin roles' status channel (serve/rolechan.c):
 * messages of each kind applied to a copy's state, every kind of bad message refused with the
 * state untouched, the limits, the metric text, and reading a real SOCK_SEQPACKET pair where
 * garbage and oversized datagrams are said once and the good ones between them still count. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/rolechan.h"
#include "t.h"

static enum rolechan_err apply(struct rolechan_state *st, const char *msg)
{
    char why[200];
    return rolechan_apply(st, msg, strlen(msg), why, sizeof why);
}

static void test_component(void)
{
    struct rolechan_state st = {0};
    CHECK_INT(apply(&st, "{\"component\":\"scheduler:a\",\"type\":\"schedule\",\"status\":\"ok\","
                         "\"detail\":{\"nextFire\":\"x\"}}"),
              ROLECHAN_OK);
    CHECK_INT(st.ncomp, 1);
    CHECK_INT(st.comp[0].level, HEALTH_PASS);
    CHECK_STR(st.comp[0].type, "schedule");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(st.comp[0].detail, "nextFire")), "x");
    /* the same name replaces its state */
    CHECK_INT(apply(&st, "{\"component\":\"scheduler:a\",\"status\":\"warn\"}"), ROLECHAN_OK);
    CHECK_INT(st.ncomp, 1);
    CHECK_INT(st.comp[0].level, HEALTH_WARN);
    CHECK(st.comp[0].detail == NULL);
    CHECK_INT(apply(&st, "{\"component\":\"scheduler:a\",\"status\":\"bad\"}"),
              ROLECHAN_BAD_FIELD);
    CHECK_INT(apply(&st, "{\"component\":\"sp ace\",\"status\":\"ok\"}"), ROLECHAN_BAD_FIELD);
    CHECK_INT(apply(&st, "{\"component\":\"b\",\"status\":\"ok\",\"detail\":[1]}"),
              ROLECHAN_BAD_FIELD);
    CHECK_INT(st.comp[0].level, HEALTH_WARN);
    /* at most ROLECHAN_MAX_COMPONENTS */
    for (int i = 1; i < ROLECHAN_MAX_COMPONENTS; i++) {
        char m[100];
        snprintf(m, sizeof m, "{\"component\":\"c%d\",\"status\":\"fail\"}", i);
        CHECK_INT(apply(&st, m), ROLECHAN_OK);
    }
    CHECK_INT(apply(&st, "{\"component\":\"one-more\",\"status\":\"ok\"}"), ROLECHAN_TOO_MANY);
    CHECK_INT(st.ncomp, ROLECHAN_MAX_COMPONENTS);
    rolechan_state_free(&st);
}

static void test_metrics(void)
{
    struct rolechan_state st = {0};
    CHECK_INT(apply(&st, "{\"metric\":\"roster_schedule_runs_total\",\"type\":\"counter\","
                         "\"help\":\"Runs.\",\"labels\":{\"schedule\":\"a\\\"b\",\"outcome\":"
                         "\"ok\"},\"value\":3}"),
              ROLECHAN_OK);
    CHECK_INT(apply(&st, "{\"metric\":\"roster_schedule_runs_total\",\"type\":\"counter\","
                         "\"labels\":{\"schedule\":\"a\\\"b\",\"outcome\":\"ok\"},\"value\":4}"),
              ROLECHAN_OK);
    CHECK_INT(st.nseries, 1); /* the same labels: the value replaced */
    CHECK_INT(apply(&st, "{\"metric\":\"roster_d\",\"type\":\"histogram\",\"buckets\":[[0.5,1],"
                         "[2,3]],\"sum\":2.5,\"count\":4}"),
              ROLECHAN_OK);
    sbuf out;
    sbuf_init(&out);
    rolechan_series_render(&st, "roster_schedule_runs_total", "role=\"s\",instance=\"0\"", &out);
    rolechan_series_render(&st, "roster_d", "", &out);
    CHECK_STR(out.data,
              "roster_schedule_runs_total{role=\"s\",instance=\"0\",schedule=\"a\\\"b\","
              "outcome=\"ok\"} 4\n"
              "roster_d_bucket{le=\"0.5\"} 1\nroster_d_bucket{le=\"2\"} 3\n"
              "roster_d_bucket{le=\"+Inf\"} 4\nroster_d_sum 2.5\nroster_d_count 4\n");
    sbuf_free(&out);
    /* refused: roster's own families, names outside roster_, bad labels and types, another
     * type for a known family, buckets that do not rise */
    const char *bad[] = {
        "{\"metric\":\"roster_role_up\",\"type\":\"gauge\",\"value\":1}",
        "{\"metric\":\"other_total\",\"type\":\"counter\",\"value\":1}",
        "{\"metric\":\"roster_x\",\"type\":\"summary\",\"value\":1}",
        "{\"metric\":\"roster_x\",\"type\":\"gauge\",\"value\":\"1\"}",
        "{\"metric\":\"roster_x\",\"type\":\"gauge\",\"labels\":{\"role\":\"x\"},\"value\":1}",
        "{\"metric\":\"roster_x\",\"type\":\"gauge\",\"labels\":{\"a-b\":\"x\"},\"value\":1}",
        "{\"metric\":\"roster_x\",\"type\":\"gauge\",\"labels\":{\"a\":1},\"value\":1}",
        "{\"metric\":\"roster_schedule_runs_total\",\"type\":\"gauge\",\"value\":1}",
        "{\"metric\":\"roster_h\",\"type\":\"histogram\",\"buckets\":[[2,1],[1,3]],\"sum\":1,"
        "\"count\":1}",
        "{\"metric\":\"bad name\",\"type\":\"gauge\",\"value\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(apply(&st, bad[i]), ROLECHAN_BAD_FIELD);
    CHECK_INT(st.nseries, 2);
    rolechan_state_clear_live(&st);
    CHECK_INT(st.nseries, 0);
    rolechan_state_free(&st);
}

static void test_records(void)
{
    struct rolechan_state st = {0};
    for (int i = 0; i < ROLECHAN_KEEP_RECORDS + 5; i++) {
        char m[100];
        snprintf(m, sizeof m, "{\"record\":\"scheduler:a\",\"data\":{\"n\":%d}}", i);
        CHECK_INT(apply(&st, m), ROLECHAN_OK);
    }
    CHECK_INT(st.nrec, 1);
    CHECK_INT(st.rec[0].n, ROLECHAN_KEEP_RECORDS);
    /* the oldest kept is the sixth (5), the newest the last */
    const struct rolechan_records *r = &st.rec[0];
    CHECK_INT(cJSON_GetObjectItem(r->items[r->head], "n")->valueint, 5);
    CHECK_INT(cJSON_GetObjectItem(r->items[(r->head + ROLECHAN_KEEP_RECORDS - 1) %
                                           ROLECHAN_KEEP_RECORDS],
                                  "n")
                  ->valueint,
              ROLECHAN_KEEP_RECORDS + 4);
    CHECK_INT(apply(&st, "{\"record\":\"scheduler:a\",\"data\":3}"), ROLECHAN_BAD_FIELD);
    /* records outlive the process's live state */
    rolechan_state_clear_live(&st);
    CHECK_INT(st.rec[0].n, ROLECHAN_KEEP_RECORDS);
    rolechan_state_free(&st);
}

static int said_count;
static char said_what[400];

static void said(void *ud, const char *what)
{
    (void)ud;
    said_count++;
    snprintf(said_what, sizeof said_what, "%s", what);
}

static void test_drain(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) == 0);
    struct rolechan_state st = {0};
    CHECK_INT(rolechan_drain(sv[0], &st, said, NULL), 0); /* nothing waiting */
    char big[ROLECHAN_MAX_MSG + 100];
    memset(big, ' ', sizeof big);
    memcpy(big, "{\"component\":\"x\",\"status\":\"ok\"}", 32); /* valid JSON, then too long */
    const char *msgs[] = {"not json at all", "{\"component\":\"good\",\"status\":\"ok\"}", "[1,2]",
                          "{\"what\":1}", "\xff\xfe", "{\"component\":\"good2\",\"status\":\"fail\"}"};
    CHECK(send(sv[1], msgs[0], strlen(msgs[0]), 0) > 0);
    CHECK(send(sv[1], big, sizeof big, 0) == (ssize_t)sizeof big);
    for (size_t i = 1; i < sizeof msgs / sizeof *msgs; i++)
        CHECK(send(sv[1], msgs[i], strlen(msgs[i]), 0) > 0);
    CHECK(send(sv[1], big, sizeof big, 0) == (ssize_t)sizeof big);
    CHECK_INT(rolechan_drain(sv[0], &st, said, NULL), 8);
    CHECK_INT(said_count, 1); /* said once, for the first */
    CHECK(strstr(said_what, "not a JSON object") != NULL);
    CHECK_INT(st.bad, 6);
    CHECK_INT(st.messages, 2);
    CHECK_INT(st.ncomp, 2);
    CHECK_STR(st.comp[0].name, "good");
    CHECK_STR(st.comp[1].name, "good2");
    /* a batch at most per call: the rest waits for the next */
    for (int i = 0; i < ROLECHAN_READ_BATCH + 3; i++)
        CHECK(send(sv[1], msgs[1], strlen(msgs[1]), 0) > 0);
    CHECK_INT(rolechan_drain(sv[0], &st, said, NULL), ROLECHAN_READ_BATCH);
    CHECK_INT(rolechan_drain(sv[0], &st, said, NULL), 3);
    close(sv[1]);
    CHECK_INT(rolechan_drain(sv[0], &st, said, NULL), -1); /* the other end closed */
    CHECK_INT(said_count, 1);
    close(sv[0]);
    rolechan_state_free(&st);
}

int main(void)
{
    test_component();
    test_metrics();
    test_records();
    test_drain();
    return t_done("rolechan");
}
