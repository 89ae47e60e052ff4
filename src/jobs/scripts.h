/* scripts.h — the job store's Lua scripts (scripts.c), private to src/jobs/. */
#ifndef ROSTER_JOBS_SCRIPTS_H
#define ROSTER_JOBS_SCRIPTS_H

enum jobs_script_id {
    JS_ENQUEUE, JS_FETCH, JS_DONE, JS_FAIL, JS_HEARTBEAT, JS_REAP, JS_REQUEUE, JS_PROMOTE,
    JS_RETRY, JS_CANCEL, JS_QUEUES, JS_LIST, JS_COUNT
};

struct jobs_script {
    const char *name;
    const char *lua;
};

extern const struct jobs_script jobs_scripts[JS_COUNT];

#endif
