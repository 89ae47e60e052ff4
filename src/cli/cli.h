/* cli.h — the command line (SPEC §2), parsed into a struct. Pure. */
#ifndef ROSTER_CLI_H
#define ROSTER_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

enum cli_cmd {
    CMD_RUN,
    CMD_CHECK,
    CMD_BUDGET,
    CMD_STATUS,
    CMD_RESTART,
    CMD_STOP,
    CMD_START,
    CMD_RELOAD,
    CMD_HEALTH,
    CMD_CRON,
    CMD_SCHEDULES,
    CMD_ROLE,
    CMD_ENQUEUE,
    CMD_VERSION,
    CMD_HELP,
};

struct cli {
    enum cli_cmd cmd;
    const char *config; /* -c */
    const char *roles;  /* --role, else $ROSTER_ROLES */
    const char *procfile;  /* --procfile, -f (foreman's) */
    strvec env_files;      /* --env-file, and -e/--env FILE,... (foreman's) */
    const char *formation; /* -m/--formation NAME=N,... (foreman's; Procfile mode) */
    int log_format; /* -1 unset, else enum log_format */
    int timestamps; /* -1 unset, 0/1 */
    bool no_color, force_color;
    const char *arg;       /* ROLE or ROLE.N for restart/stop/start (validated), URL for health,
                            EXPR for cron */
    int max_connections;   /* budget --max-connections */
    const char *instances; /* budget --instances ROLE=N,... */
    const char *socket;    /* --socket for the control commands */
    bool json;             /* status --json */
    bool dev;              /* --dev, or $ROSTER_DEV=1: the dev profile (run and check) */
    const char *tz;        /* cron --tz ZONE */
    const char *from;      /* cron and schedules --from TIME */
    int count;             /* cron and schedules --count N (0: unset) */
    /* enqueue QUEUE TYPE [JSON] --delay D --at TIME --unique KEY --max-attempts N */
    const char *enq_queue, *enq_type, *enq_json; /* enq_json NULL: none given */
    const char *delay, *at, *unique, *max_attempts;
};

/* Parses argv. Returns 0, or -1 with a message in err (a usage error: exit 2). The struct
 * borrows from argv and environ_. */
int cli_parse(int argc, char **argv, char **environ_, struct cli *c, char *err, size_t errlen);
void cli_free(struct cli *c);
/* Whether argv (the whole of it, program name first) is concurrently's command line rather
 * than roster's (SPEC §2, issue 9 §1): `--` first forces it; otherwise it is when the first
 * word that is not an option (nor the value of one of roster's options: -c FILE, -r ROLES, ...)
 * is not a roster subcommand. So `roster -c red "npm start"` and `roster -r "a" "b"` are
 * concurrently's (-c colors, -r raw), `roster -c roster.yaml` and `roster -r web` roster's; a
 * command that is a subcommand's word is run with `roster -- check`. Likewise foreman's
 * `roster -m web=2` is roster's (a formation) and `roster -m 2 "a" "b"` concurrently's. */
bool cli_is_concurrently(int argc, char **argv);
/* The text of roster --help. */
const char *cli_usage(void);

#endif
