/* schedjobs.h — the scheduler's enqueue action: a job put on the app's queue in Redis through
 * the job store (src/jobs), on the scheduler process's one Redis connection (schedfleet's). Kept
 * apart from scheduler.c, whose schedules are its own `struct job`. */
#ifndef ROSTER_SCHEDJOBS_H
#define ROSTER_SCHEDJOBS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "datastore/redisconn.h"

struct schedjobs;

/* The outcome of one enqueue: the new job's id, or err saying why there is none. */
typedef void (*schedjobs_cb)(void *ud, uint64_t id, const char *err);

/* The job store of app on conn (not owned: its owner closes it before schedjobs_free). NULL
 * with err set when there is no connection (no redis: configured) or app is empty. */
struct schedjobs *schedjobs_new(uv_loop_t *loop, struct redisconn *conn, const char *app,
                                char *err, size_t errlen);
/* Puts e's job on its queue: 0 and cb later, exactly once; or -1 with err set (Redis is down,
 * the job is refused) and cb not called. */
int schedjobs_enqueue(struct schedjobs *sj, const struct schedule_enqueue *e, schedjobs_cb cb,
                      void *ud, char *err, size_t errlen);
/* Frees the store. Close the connection first: that calls the callbacks of enqueues in flight
 * (with an error). */
void schedjobs_free(struct schedjobs *sj);

#endif
