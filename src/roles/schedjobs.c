/* schedjobs.c — the scheduler's enqueue action. See schedjobs.h. */
#include "roles/schedjobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "datastore/redisconn.h"
#include "jobs/store.h"

struct schedjobs {
    struct redisconn *conn;
    struct jobs_store *store;
};

/* One enqueue in flight: its caller's callback. */
struct pending {
    schedjobs_cb cb;
    void *ud;
};

struct schedjobs *schedjobs_new(uv_loop_t *loop, struct redisconn *conn, const char *app, char *err,
                                size_t errlen)
{
    if (!conn) {
        snprintf(err, errlen, "enqueue needs redis: configured");
        return NULL;
    }
    struct schedjobs *sj = xcalloc(1, sizeof *sj);
    sj->conn = conn;
    sj->store = jobs_store_new(loop, conn, app);
    if (!sj->store) {
        snprintf(err, errlen, "the app's name is empty");
        free(sj);
        return NULL;
    }
    return sj;
}

static void on_enqueued(void *ud, const struct jobs_result *res)
{
    struct pending *p = ud;
    char why[300];
    if (res->err == JOBS_OK) {
        p->cb(p->ud, res->id, NULL);
    } else {
        snprintf(why, sizeof why, "%s%s%.200s", jobs_strerror(res->err),
                 res->detail && *res->detail ? ": " : "", res->detail ? res->detail : "");
        p->cb(p->ud, 0, why);
    }
    free(p);
}

int schedjobs_enqueue(struct schedjobs *sj, const struct schedule_enqueue *e, schedjobs_cb cb,
                      void *ud, char *err, size_t errlen)
{
    if (!redisconn_up(sj->conn)) {
        const char *why = redisconn_error(sj->conn);
        snprintf(err, errlen, "Redis is not reachable%s%.200s", why && *why ? ": " : "",
                 why ? why : "");
        return -1;
    }
    struct job_new j = {.queue = e->queue, .type = e->type, .payload = e->payload};
    struct pending *p = xcalloc(1, sizeof *p);
    p->cb = cb;
    p->ud = ud;
    enum jobs_err rc = jobs_enqueue(sj->store, &j, on_enqueued, p);
    if (rc != JOBS_OK) {
        snprintf(err, errlen, "%s", jobs_strerror(rc));
        free(p);
        return -1;
    }
    return 0;
}

void schedjobs_free(struct schedjobs *sj)
{
    if (!sj) return;
    jobs_store_free(sj->store);
    free(sj);
}
