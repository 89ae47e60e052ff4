/* concur_run.h — what concurrently's command line adds to a run beyond its config (issue 9 §1):
 * -m/--max-processes (a start gate: at most N commands run at once, the rest start in command
 * order as others end), --timings (a line when each command starts and stops, and the table at
 * the end) and -g/--group (each command's output held until the commands before it have ended,
 * as concurrently's output-writer.ts does) as one supervisor observer, and --teardown (commands
 * run one after another once the run is over). Output follows concurrently's
 * flow-control/log-timings.ts and teardown.ts. */
#ifndef ROSTER_CONCUR_RUN_H
#define ROSTER_CONCUR_RUN_H

#include "cli/concur.h"
#include "supervise/supervisor.h"

struct concur_run;

/* Attaches the observer to s when o asks for -m, --timings or -g; ncpus is what -m N% counts.
 * Returns NULL when nothing is needed. o must outlive the run; free with concur_run_free after
 * sup_free. */
struct concur_run *concur_run_attach(struct sup *s, const struct concur_opts *o, int ncpus);
void concur_run_free(struct concur_run *r);

/* Runs o's --teardown commands in order with roster's own stdin, stdout and stderr, each
 * announced and its end said on stdout as concurrently does ("--> Running teardown command
 * "X"", "--> Teardown command "X" exited with code 0"; nothing with -r); a command ended by
 * SIGINT ends the teardown. Roster ignores SIGINT and SIGQUIT meanwhile, as system() does: the
 * terminal's Ctrl-C reaches the command. Returns 0, or 1 when a command could not be started
 * (concurrently's run then fails). */
int concur_teardown(const struct concur_opts *o, char **environ_);

#endif
