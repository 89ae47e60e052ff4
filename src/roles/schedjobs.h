/* schedjobs.h — the scheduler's enqueue action: a job put on the app's queue in Redis through
 * the job store (src/jobs), on a Redis connection the scheduler process opens for it. Kept apart
 * from scheduler.c, whose schedules are its own `struct job`. */
#ifndef ROSTER_SCHEDJOBS_H
#define ROSTER_SCHEDJOBS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

struct schedjobs;

/* The outcome of one enqueue: the new job's id, or err saying why there is none. */
typedef void (*schedjobs_cb)(void *ud, uint64_t id, const char *err);

/* Connects (in the background, retried with backoff) to cfg's Redis for app cfg->app. NULL with
 * err set when the URL cannot be used. */
struct schedjobs *schedjobs_new(uv_loop_t *loop, const struct roster_config *cfg, char *err,
                                size_t errlen);
/* Puts e's job on its queue: 0 and cb later, exactly once; or -1 with err set (Redis is down,
 * the job is refused) and cb not called. */
int schedjobs_enqueue(struct schedjobs *sj, const struct schedule_enqueue *e, schedjobs_cb cb,
                      void *ud, char *err, size_t errlen);
/* Closes the connection; the callbacks of enqueues in flight are called (with an error) first. */
void schedjobs_free(struct schedjobs *sj);

#endif
