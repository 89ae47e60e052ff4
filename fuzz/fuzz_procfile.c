/* fuzz_procfile.c — the Procfile loader (config/procfile.c) on any bytes, unterminated. Its .env
 * is looked for in a directory that does not exist. Properties: it succeeds or says why, and
 * every process it accepts has a name and a command. */
#include "config/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    envmap vars = {0};
    envmap_set(&vars, "PORT", "5000");
    struct roster_config cfg;
    diags d = {0};
    config_defaults(&cfg);
    cfg.path = xstrdup("Procfile");
    cfg.dir = xstrdup("/nonexistent/roster-fuzz");
    int rc = config_load_procfile(cfg.path, text, size, &vars, &cfg, &d);
    if (rc < 0) {
        FUZZ_CHECK(diags_count(&d) > 0);
    } else {
        for (size_t i = 0; i < cfg.nroles; i++) {
            FUZZ_CHECK(cfg.roles[i].name && cfg.roles[i].name[0]);
            FUZZ_CHECK(cfg.roles[i].shell || cfg.roles[i].argv.n);
        }
    }
    config_free(&cfg);
    diags_free(&d);
    envmap_free(&vars);
    free(text);
    return 0;
}
