/* concur_run.h — what concurrently's command line adds to a run beyond its config (issue 9 §1):
 * -i/--handle-input, roster's stdin routed to the commands, as one supervisor observer. Its -m,
 * -g, --timings and --teardown are config keys (max_processes, output.group, output.timings,
 * teardown) that supervise/flow.c carries out for every run. */
#ifndef ROSTER_CONCUR_RUN_H
#define ROSTER_CONCUR_RUN_H

#include "cli/concur.h"
#include "supervise/supervisor.h"

struct concur_run;

/* Attaches the observer to s when o asks for -i. Returns NULL when nothing is needed. o must
 * outlive the run; free with concur_run_free after sup_free. */
struct concur_run *concur_run_attach(struct sup *s, const struct concur_opts *o);
void concur_run_free(struct concur_run *r);

#endif
