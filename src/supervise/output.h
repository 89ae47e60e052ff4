/* output.h — a running instance's stdout and stderr pipes: read on the loop at most 64 KiB per
 * wakeup (so a flooding child cannot hold the loop), split into whole lines and handed to a
 * sink; reading pauses while logmux says its output is under pressure. */
#ifndef ROSTER_OUTPUT_H
#define ROSTER_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

#include "supervise/supervisor.h"

/* Where an instance's lines go (without their newline); which is LOG_STDOUT or LOG_STDERR. */
/* cont: the line is a piece of a longer one, and not its first (the reader cuts lines longer
 * than it holds). */
typedef void (*output_line_cb)(struct instance *in, int which, const char *line, size_t len,
                               bool cont);
/* Called when a pipe's poll handle has closed (the instance counts its open handles). */
typedef void (*output_closed_cb)(struct instance *in);

/* Makes fd (the read end of the pipe, owned from now on) in->streams[which]; reads start unless
 * paused. */
void output_open(struct instance *in, int which, int fd, bool paused, output_line_cb line,
                 output_closed_cb closed);
/* A tty role's one stream: fd is its pty's master (owned from now on), read as LOG_STDOUT. The
 * CR the terminal puts before each newline is dropped, and EIO (the slave side closed) is its
 * end of file. */
void output_open_pty(struct instance *in, int fd, bool paused, output_line_cb line,
                     output_closed_cb closed);
/* The process group is gone: reads what the pipes still hold (bounded by their size), flushes
 * an unterminated last line and closes them. */
void output_finish(struct instance *in);
/* Pauses or resumes reading every instance's pipes (logmux's pressure). */
void output_pause_all(struct sup *s, bool paused);
/* For the end of sup_run: closes the descriptors (the handles are closed by the loop walk). */
void output_close_fds(struct instance *in);
/* For sup_free: frees what the closed handles left. */
void output_free(struct instance *in);

#endif
