/* commands.h — the commands that talk to something else: a running roster over its control
 * socket (status, restart, stop, start, reload), the health endpoint (health), and the Postgres
 * server (budget). Each returns the process exit code. */
#ifndef ROSTER_COMMANDS_H
#define ROSTER_COMMANDS_H

#include "cli/cli.h"
#include "config/config.h"

/* How the command line says to find and read the config (-c, --procfile, --env-file). The
 * result borrows from c and environ_. */
struct config_opts cli_config_opts(const struct cli *c, char **environ_);
/* Loads the config the command line names into cfg (the caller frees it). Returns 0, or -1 with
 * the errors printed to stderr and cfg freed (a config error: exit 2). */
int cli_load_config(const struct cli *c, char **environ_, struct roster_config *cfg);

int commands_control(const struct cli *c, char **environ_);
int commands_health(const struct cli *c, char **environ_);
int commands_budget(const struct cli *c, char **environ_);
/* roster cron EXPR: the next fire times, in the zone --tz, else TZ of environ_, else UTC. */
int commands_cron(const struct cli *c, char **environ_);
/* roster schedules: each schedule of the config's scheduler roles with its next fire times. */
int commands_schedules(const struct cli *c, char **environ_);
/* roster enqueue QUEUE TYPE [JSON]: a job on the config's Redis (cli/enqueue.c). */
int commands_enqueue(const struct cli *c, char **environ_);

#endif
