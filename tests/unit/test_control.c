/* test_control.c — how the control socket reads a request's method and path (control_route):
 * the fixed requests, the operator actions on ROLE or ROLE.N, and what names no role. */
#include "serve/control.h"
#include "t.h"

static struct control_route route(const char *method, const char *path)
{
    struct control_route r;
    control_route(method, path, &r);
    return r;
}

/* Checks that method and path name a request that wants another method. */
static void check_bad_method(const char *method, const char *path, const char *allow,
                             const char *hint)
{
    struct control_route r = route(method, path);
    CHECK_INT(r.op, CONTROL_BAD_METHOD);
    CHECK_STR(r.allow, allow);
    CHECK_STR(r.hint, hint);
}

static void test_fixed(void)
{
    CHECK_INT(route("GET", "/roles").op, CONTROL_LIST);
    CHECK_INT(route("GET", "/health").op, CONTROL_HEALTH);
    CHECK_INT(route("POST", "/reload").op, CONTROL_RELOAD);
    CHECK_INT(route("GET", "/schedules").op, CONTROL_SCHEDULES);
    check_bad_method("POST", "/schedules", "GET", "use GET /schedules");
    check_bad_method("POST", "/roles", "GET", "use GET /roles");
    check_bad_method("PUT", "/health", "GET", "use GET /health");
    check_bad_method("GET", "/reload", "POST", "use POST /reload");
    CHECK_INT(route("GET", "/roles/").op, CONTROL_NOT_FOUND);
    CHECK_INT(route("GET", "/").op, CONTROL_NOT_FOUND);
    CHECK_INT(route("GET", "/healthz").op, CONTROL_NOT_FOUND);
}

static void test_actions(void)
{
    struct control_route r = route("POST", "/roles/api/restart");
    CHECK_INT(r.op, CONTROL_RESTART);
    CHECK_STR(r.target, "api");
    CHECK_STR(r.role, "api");
    CHECK_INT(r.instance, -1);
    CHECK_STR(r.action, "restart");
    r = route("POST", "/roles/worker.2/stop");
    CHECK_INT(r.op, CONTROL_STOP);
    CHECK_STR(r.target, "worker.2");
    CHECK_STR(r.role, "worker");
    CHECK_INT(r.instance, 2);
    CHECK_INT(route("POST", "/roles/web/start").op, CONTROL_START);
    check_bad_method("GET", "/roles/api/restart", "POST", "use POST");
    /* an unknown action on a valid role names no request */
    r = route("POST", "/roles/api/kill");
    CHECK_INT(r.op, CONTROL_NOT_FOUND);
    CHECK_STR(r.target, "");
}

static void test_bad_targets(void)
{
    /* what is no ROLE or ROLE.N is refused, never cut into another request (issue 10 item 6) */
    CHECK_INT(route("POST", "/roles/api/stop?/restart").op, CONTROL_NOT_FOUND);
    CHECK_INT(route("POST", "/roles/../../reload").op, CONTROL_BAD_TARGET);
    CHECK_INT(route("POST", "/roles/a.b.c/stop").op, CONTROL_BAD_TARGET);
    CHECK_INT(route("POST", "/roles/-api/stop").op, CONTROL_BAD_TARGET);
    CHECK_INT(route("POST",
                    "/roles/"
                    "a123456789012345678901234567890123456789012345678901234567890123456789012345"
                    "67890/stop")
                  .op,
              CONTROL_BAD_TARGET);
    /* an empty name or action, or an action of 16 bytes or more, is no request at all */
    CHECK_INT(route("POST", "/roles//stop").op, CONTROL_NOT_FOUND);
    CHECK_INT(route("POST", "/roles/api/").op, CONTROL_NOT_FOUND);
    CHECK_INT(route("POST", "/roles/api/restartrestartxyz").op, CONTROL_NOT_FOUND);
}

int main(void)
{
    test_fixed();
    test_actions();
    test_bad_targets();
    return t_done("control");
}
