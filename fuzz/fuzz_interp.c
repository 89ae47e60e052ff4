/* fuzz_interp.c — ${VAR} interpolation (config/interp.c). Properties: it expands or says where it
 * failed (an offset inside the input); text without '$' comes out unchanged; "$$" is one '$'. */
#include "config/interp.h"
#include "fuzz.h"

static const char *lookup(void *ud, const char *name)
{
    (void)ud;
    if (!strcmp(name, "PORT")) return "3000";
    if (!strcmp(name, "EMPTY")) return "";
    if (!strcmp(name, "NESTED")) return "${PORT}"; /* values are not expanded again */
    if (!strcmp(name, "A")) return "a";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_cstr(data, size);
    char *out = NULL;
    struct interp_error err;
    if (interp_expand(in, lookup, NULL, &out, &err) == 0) {
        FUZZ_CHECK(out != NULL);
        if (!strchr(in, '$')) FUZZ_CHECK(strcmp(in, out) == 0);
        free(out);
    } else {
        FUZZ_CHECK(err.offset < strlen(in) && err.msg[0]);
        FUZZ_CHECK(in[err.offset] == '$');
    }
    free(in);
    return 0;
}
