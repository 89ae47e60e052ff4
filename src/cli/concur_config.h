/* concur_config.h — concurrently's command line as a roster config (issue 9 §1): each command a
 * service role named as concurrently names it (its name, else its index), restarts from
 * --restart-tries and --restart-after, and the run's end from -k, --kill-others-on-fail and -s in
 * the exit: keys of roster.yaml (exit_on_end, exit.success, exit.interrupted: success,
 * give_up.then: continue), so a command line and a config mean the same; --to-yaml prints that
 * config. Built in memory, as a Procfile is (config/procfile.c). Pure. */
#ifndef ROSTER_CONCUR_CONFIG_H
#define ROSTER_CONCUR_CONFIG_H

#include <stdio.h>

#include "cli/concur.h"
#include "config/config.h"

/* Builds cfg from o (which it does not keep): dir is where roster runs (the config's dir, for
 * app's default name), environ_ roster's environment (for the control socket's directory).
 * Returns 0, or -1 with a message in err (a success condition naming commands that became
 * several roles). On success the caller frees cfg with config_free; on failure it is freed. */
int concur_config(const struct concur_opts *o, const char *dir, char **environ_,
                  struct roster_config *cfg, char *err, size_t errlen);

/* Prints cfg (as concur_config built it from o) as the roster.yaml that says the same, with a
 * comment naming o's options that no roster.yaml key says. */
void concur_print_yaml(const struct roster_config *cfg, const struct concur_opts *o, FILE *out);

#endif
