/* fuzz_yaml.c — the roster.yaml loader (config_load_yaml: libyaml, the key tables, interpolation,
 * every value parser) on any bytes, unterminated; fuzz_config.h says what is checked. */
#include "fuzz_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    envmap vars = {0};
    envmap_set(&vars, "PORT", "3000");
    envmap_set(&vars, "HOME", "/home/fuzz");
    envmap_set(&vars, "DATABASE_URL", "postgres://app:s3cret@db:5432/app");
    envmap_set(&vars, "EMPTY", "");
    fuzz_config_load(config_load_yaml, "roster.yaml", data, size, &vars);
    envmap_free(&vars);
    return 0;
}
