/* flow.h — what a run's config adds around the supervisor beyond each role's own life
 * (roster.yaml's max_processes, output.group, output.timings and teardown; concurrently's -m,
 * -g, --timings and --teardown, which its command line turns into the same config keys): a
 * start gate (at most N instances run at once, the rest start in order as others end), each
 * instance's output held until the instances before it have ended (concurrently's
 * output-writer.ts), a line when each instance starts and stops and a table of the ends at the
 * end (flow-control/log-timings.ts), all as one supervisor observer; and the teardown commands,
 * run one after another once the run is over (teardown.ts). Instances are ordered as the config
 * lists the roles, copies by number. */
#ifndef ROSTER_FLOW_H
#define ROSTER_FLOW_H

#include <stddef.h>

#include "config/config.h"
#include "supervise/supervisor.h"

struct flow;

/* Attaches the observer to s (before sup_run); ncpus is what a max_processes percentage counts.
 * The keys are read from the running plan as they are used, so a reload may turn them on or off.
 * Returns NULL when s has no observer slot left. Free with flow_free after sup_free (and after
 * flow_teardown). */
struct flow *flow_attach(struct sup *s, int ncpus);
void flow_free(struct flow *f);

/* How many of n instances run at once under cfg's max_processes, as concurrently counts -m: all
 * when it is 0, at least 1, a percentage rounded to the nearest of ncpus. Pure. */
size_t flow_max_processes(const struct roster_config *cfg, size_t n, int ncpus);

/* Runs the teardown commands of the config the run ended with, in order, in the config's
 * directory, with roster's own stdin, stdout and stderr; each is announced and its end said on
 * stdout as concurrently does ("--> Running teardown command "X"", "--> Teardown command "X"
 * exited with code 0"; nothing with output.raw), or as roster's own event lines in roster's
 * look. A command ended by SIGINT ends the teardown. Roster ignores SIGINT and SIGQUIT
 * meanwhile, as system() does: the terminal's Ctrl-C reaches the command. Call after sup_run
 * (f may be NULL: nothing to do). Returns 0, or 1 when a command could not be started
 * (concurrently's run then fails). */
int flow_teardown(struct flow *f, char **environ_);

#endif
