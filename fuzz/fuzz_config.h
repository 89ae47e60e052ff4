/* fuzz_config.h — what the harnesses of the two config loaders share: a config prepared as
 * config_load prepares one, in a directory that does not exist (so no env_file or .env that the
 * input names relative to it is read), and the properties of any load: it succeeds or says why,
 * and every role it accepts has a name and a command. */
#ifndef ROSTER_FUZZ_CONFIG_H
#define ROSTER_FUZZ_CONFIG_H

#include "config/config.h"
#include "fuzz.h"

typedef int (*fuzz_loader)(const char *path, const char *text, size_t len, const envmap *vars,
                           struct roster_config *cfg, diags *d);

/* Loads the input (an exactly-sized copy) as the file named file, with vars as the
 * environment, and checks the outcome. */
static inline void fuzz_config_load(fuzz_loader load, const char *file, const uint8_t *data,
                                    size_t size, const envmap *vars)
{
    char *text = fuzz_copy(data, size);
    struct roster_config cfg;
    diags d = {0};
    config_defaults(&cfg);
    cfg.path = xstrdup(file);
    cfg.dir = xstrdup("/nonexistent/roster-fuzz");
    if (load(cfg.path, text, size, vars, &cfg, &d) < 0) {
        FUZZ_CHECK(diags_count(&d) > 0);
    } else {
        for (size_t i = 0; i < cfg.nroles; i++) {
            FUZZ_CHECK(cfg.roles[i].name && cfg.roles[i].name[0]);
            FUZZ_CHECK(cfg.roles[i].shell || cfg.roles[i].argv.n);
        }
    }
    config_free(&cfg);
    diags_free(&d);
    free(text);
}

#endif
