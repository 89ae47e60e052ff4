/* fuzz_control.c — how the control socket reads a request (control_route in serve/control.c).
 * The input is "METHOD\nPATH". Properties: an operator action names a valid ROLE or ROLE.N and
 * only with POST; its target never holds '/', '?' or '#' (so no path can turn one action into
 * another, issue 10 item 6); and the request rebuilt from what was read routes the same way. */
#include "config/config.h"
#include "fuzz.h"
#include "serve/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    char *nl = strchr(in, '\n');
    const char *method = nl ? in : "POST";
    const char *path = nl ? nl + 1 : in;
    if (nl) *nl = '\0';
    struct control_route r;
    control_route(method, path, &r);
    switch (r.op) {
    case CONTROL_RESTART:
    case CONTROL_STOP:
    case CONTROL_START: {
        FUZZ_CHECK(!strcmp(method, "POST"));
        FUZZ_CHECK(config_role_name_valid(r.role));
        FUZZ_CHECK(!strpbrk(r.target, "/?#"));
        FUZZ_CHECK(!strncmp(r.target, r.role, strlen(r.role)));
        char again[128];
        snprintf(again, sizeof again, "/roles/%s/%s", r.target, r.action);
        FUZZ_CHECK(!strcmp(again, path));
        struct control_route r2;
        control_route("POST", again, &r2);
        FUZZ_CHECK(r2.op == r.op && !strcmp(r2.target, r.target) && r2.instance == r.instance);
        break;
    }
    case CONTROL_LIST:
    case CONTROL_HEALTH: FUZZ_CHECK(!strcmp(method, "GET")); break;
    case CONTROL_SCHEDULES:
        FUZZ_CHECK(!strcmp(method, "GET") && !strcmp(path, "/schedules"));
        break;
    case CONTROL_RELOAD: FUZZ_CHECK(!strcmp(method, "POST") && !strcmp(path, "/reload")); break;
    case CONTROL_BAD_METHOD: FUZZ_CHECK(r.allow && r.hint && strcmp(method, r.allow)); break;
    case CONTROL_BAD_TARGET:
    case CONTROL_NOT_FOUND: FUZZ_CHECK(!r.target[0]); break;
    }
    free(in);
    return 0;
}
