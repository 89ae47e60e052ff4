/* input.h — roster's terminal and stdin towards the roles (issue 9 §3): the lines roster reads
 * from its stdin are routed to a role (the config's input:, concurrently's -i and
 * --default-input-target, one implementation for both), and a change of roster's terminal size
 * is passed on to the roles that run under a pseudo-terminal (tty: true).
 *
 * Routing is concurrently's InputHandler: a line "TARGET:text" sends "text" (with its newline)
 * to the instance TARGET names, when it names one; any other line goes whole to the input:
 * role. TARGET is a role's name, its concurrently name, ROLE.N for one copy, or a role's index
 * in the config (concurrently's command index). A role's stdin is a pipe (every role has one
 * when input: is set) or, for a tty role, its pty's master; what does not fit is refused with a
 * note, never waited for. */
#ifndef ROSTER_INPUT_H
#define ROSTER_INPUT_H

#include <stddef.h>

#include "supervise/supervisor.h"

/* Starts reading roster's stdin when the plan has input: and stdin is a terminal, a pipe or a
 * file (`roster -i CMD < lines.txt`, as concurrently takes it; /dev/null ends at once), and
 * watching SIGWINCH. Neither keeps the loop running. */
void input_start(struct sup *s);
/* A reload swapped the plan in: starts reading stdin when the new one has input: and the old
 * had none (its lines go to the current plan's input: role from then on). */
void input_plan_changed(struct sup *s);
/* roster's terminal may have changed size (SIGWINCH, or a resume after Ctrl-Z: a resize while
 * roster was stopped signalled nobody): every tty role's terminal takes roster's size, and the
 * kernel sends SIGWINCH on to the role's foreground group when it changed. */
void input_resized(struct sup *s);
/* Stops both; the handles close on the loop's next turn (input_free frees them after). */
void input_stop(struct sup *s);
void input_free(struct sup *s);
/* The instance a routing target (t, n bytes) names, or NULL. */
struct instance *input_find(const struct sup *s, const char *t, size_t n);
/* Routes one line read from roster's stdin (with its newline, if it had one). */
void input_route(struct sup *s, const char *line, size_t len);

#endif
