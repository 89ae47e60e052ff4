/* fuzz_procfile.c — the Procfile loader (config/procfile.c) on any bytes, unterminated; its .env
 * is looked for in a directory that does not exist; fuzz_config.h says what is checked. */
#include "fuzz_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    envmap vars = {0};
    envmap_set(&vars, "PORT", "5000");
    fuzz_config_load(config_load_procfile, "Procfile", data, size, &vars);
    envmap_free(&vars);
    return 0;
}
