/* exitstatus.h — how a process ended, said one way everywhere: a wait status decoded into an
 * exit code or a signal, the single number a shell would show (128 + the signal), and the words
 * and JSON fields roster's events and probes use. A death by signal is named, never numbered,
 * except where one number is all there is room for (exit codes, metrics). Pure. */
#ifndef ROSTER_EXITSTATUS_H
#define ROSTER_EXITSTATUS_H

#include <stddef.h>

/* Splits a waitpid() status: *code is the exit code (0..255) and *sig 0, or *code is -1 and
 * *sig the signal that killed the process (0 when neither, as for a stopped process). */
void exitstatus_decode(int wstatus, int *code, int *sig);
/* The status as a shell reports it in $?: the code, or 128 + the signal. */
int exitstatus_shell(int code, int sig);

enum exitstatus_words {
    EXITSTATUS_EVENT, /* "code 1" / "signal SIGTERM": a role's exit in roster's events */
    EXITSTATUS_PROBE, /* "exit 1" / "killed by SIGTERM": an exec probe's command */
};
/* Writes the end in words into buf (always terminated). */
void exitstatus_describe(int code, int sig, enum exitstatus_words w, char *buf, size_t size);
/* Writes the JSON member for the end into buf: "code":1 or "signal":"SIGTERM". */
void exitstatus_json(int code, int sig, char *buf, size_t size);

#endif
