/* taskmark.h — a built-in role's output on behalf of one of its tasks (a schedule's command, a
 * job): the line is shown as `scheduler/nightly | text` (JSON: "task":"nightly" beside
 * "role":"scheduler") instead of `scheduler | text`.
 *
 * The mechanism: a built-in role (`roster role NAME`, roster's own program) writes such a line
 * to its stdout or stderr as RS NAME US TEXT ("\x1e" "nightly" "\x1f" "text"). Roster reads
 * that mark only on the lines of a role with builtin: set (supervisor.c's line sink), strips it
 * and hands the line to the log with the task's name (log_source.task). A task's own output
 * cannot forge another's: the built-in role marks every line it relays, so a mark inside the
 * task's output comes after the role's own and is shown as text (escaped, as any control
 * character); a user's command (no builtin) never has its marks read at all. */
#ifndef ROSTER_TASKMARK_H
#define ROSTER_TASKMARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TASKMARK_START '\x1e'
#define TASKMARK_END   '\x1f'
/* The longest task name a mark may carry: "lighthouse#<id>" for a job fits. */
#define TASKMARK_MAX_NAME 64

/* Whether name (len bytes) may be a task's name: 1 to TASKMARK_MAX_NAME printable ASCII
 * characters other than space and '|'. */
bool taskmark_name_ok(const char *name, size_t len);

/* A line of a built-in role's output: when it starts with a mark whose name is valid, points
 * name (name_len bytes) at the name and text (text_len bytes) after the mark, returns true;
 * otherwise returns false (the line is the role's own, shown whole). */
bool taskmark_split(const char *line, size_t len, const char **name, size_t *name_len,
                    const char **text, size_t *text_len);

/* Writes one line of task `name` (text without its newline) to f, marked, and the newline.
 * A name taskmark_name_ok refuses is written as the role's own line "name | text". */
void taskmark_write(FILE *f, const char *name, const char *text, size_t len);

#endif
