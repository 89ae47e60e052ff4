/* fuzz_yaml.c — the roster.yaml loader (config_load_yaml: libyaml, the key tables, interpolation,
 * every value parser) on any bytes, unterminated. Properties: it succeeds or says why, and a
 * config it accepts has named roles. Relative env_file paths resolve in a directory that does not
 * exist, so what the input names is not read. */
#include "config/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    envmap vars = {0};
    envmap_set(&vars, "PORT", "3000");
    envmap_set(&vars, "HOME", "/home/fuzz");
    envmap_set(&vars, "DATABASE_URL", "postgres://app:s3cret@db:5432/app");
    envmap_set(&vars, "EMPTY", "");
    struct roster_config cfg;
    diags d = {0};
    config_defaults(&cfg);
    cfg.path = xstrdup("roster.yaml");
    cfg.dir = xstrdup("/nonexistent/roster-fuzz");
    int rc = config_load_yaml(cfg.path, text, size, &vars, &cfg, &d);
    if (rc < 0) {
        FUZZ_CHECK(diags_count(&d) > 0);
    } else {
        for (size_t i = 0; i < cfg.nroles; i++)
            FUZZ_CHECK(cfg.roles[i].name && cfg.roles[i].name[0]);
    }
    config_free(&cfg);
    diags_free(&d);
    envmap_free(&vars);
    free(text);
    return 0;
}
