/* logfmt.h — how one output line looks: "api    | msg" with a colored, padded prefix, an
 * optional ISO-8601 time, or a JSON object per line. Pure; prefixes are built once per source
 * so the hot path is a few memcpys. */
#ifndef ROSTER_LOGFMT_H
#define ROSTER_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "base/util.h"

struct log_style {
    enum log_format format;
    bool timestamps;
    bool color;
    int pad; /* width the labels are padded to */
    /* concurrently's look (config's look_config), when look is set: sources with a template
     * get concurrently's prefix instead of the padded label, roster's event lines give way to
     * concurrently's (logfmt_note, logfmt_global), and raw keeps the output alone */
    bool look;
    bool raw;
    int look_pad;            /* --pad-prefix: prefixes padded to this width, else 0 */
    int command_length;      /* -l: {command} shortened to this */
    const char *time_format; /* -t: for {time} (borrowed) */
    /* log.max_line: the most bytes one written line of a child's output takes, its prefix and
     * newline included (0: no bound); a longer one is written as several, each prefixed */
    size_t max_line;
    /* cache: the formatted time for the current second */
    long cached_sec;
    char cached_ts[32];
};

/* Where a line comes from. Fill label/role/instance/pid/color, then logfmt_prepare. */
struct log_source {
    const char *label; /* "api", "worker.1" */
    const char *role;
    int instance;
    int pid;
    const char *color; /* SGR sequence such as "\x1b[36m" */
    /* concurrently's look (borrowed strings): the prefix template (NULL: no prefix), whether it
     * is bracketed, what {name} and {command} stand for; {pid} is pid. In both looks: the
     * prefix color as a chalk style (in roster's look it replaces color), and hidden (a role's
     * hide:, --hide): its lines are not shown */
    const char *tmpl;
    int look_index; /* {index}: the command's */
    bool brackets;
    const char *name;
    const char *command;
    const char *chalk;
    bool hidden;
    bool time_prefix; /* tmpl has {time}: made for each line (set by logfmt_prepare) */
    char sgr[80];     /* chalk as an SGR sequence (set by logfmt_prepare) */
    sbuf prefix[2];   /* text: padded label; json: fields up to "msg":", per stream */
    /* concurrently's -g: when not NULL, logmux keeps this source's lines and notes here (owned
     * by whoever set it) until logmux_release writes them out, up to LOGMUX_MAX_HELD bytes */
    sbuf *held;
    /* lines of this source logmux did not write: over its cap, or after stdout went away
     * (counted by logmux, read by /metrics; never reset) */
    uint64_t dropped;
    /* A built-in role's task the line being written comes from (log/taskmark.h), set by the
     * caller around one line (borrowed); NULL: the role itself. Text: "label/task |"; JSON:
     * "task":"..." beside "role". */
    const char *task;
    size_t task_len;
};

enum { LOG_STDOUT = 0, LOG_STDERR = 1 };

/* The color for the n-th role. */
const char *logfmt_color(size_t n);
/* The FORCE_COLOR value children get when roster's own output is colored, as concurrently
 * gives it (supports-color's level): "3" for a truecolor terminal (COLORTERM truecolor or
 * 24bit), "2" for a 256-color one (TERM ending in 256color), else "1". Either may be NULL. */
const char *logfmt_color_level(const char *term, const char *colorterm);
/* Builds src's prefixes for style; call again when the pid, label or style changes. */
void logfmt_prepare(struct log_style *st, struct log_source *src);
void logfmt_source_free(struct log_source *src);

/* Appends one formatted line (msg without its newline) to out: several when st->max_line is
 * set and the line would be longer, cut on UTF-8 boundaries, each with the prefix. */
void logfmt_line(struct log_style *st, const struct log_source *src, int stream, const char *msg,
                 size_t len, double ts, sbuf *out);
/* The bytes a line of src takes besides its text, as src is prepared now (prefix, JSON fields,
 * a continuation's mark, newline): what the line reader leaves of st->max_line for the text, so
 * that its pieces come out whole. */
size_t logfmt_overhead(struct log_style *st, const struct log_source *src, int stream);
/* As logfmt_line, for a line that may continue an earlier piece (cont: the line reader cut a
 * longer line and this is not its first piece). In JSON every piece but a line's first carries
 * "continued":true; in text, pieces look like lines. */
void logfmt_piece(struct log_style *st, const struct log_source *src, int stream, const char *msg,
                  size_t len, double ts, bool cont, sbuf *out);
/* Appends one of roster's own event lines. subject may be NULL; json_extra is either NULL or
 * extra JSON members ("code":1) added to the object in JSON format. */
void logfmt_event(struct log_style *st, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *msg, double ts, sbuf *out);
/* concurrently's look: one of its event lines about src ("[1] exit 1 exited with code 1"),
 * nothing when raw or src is hidden. */
void logfmt_note(struct log_style *st, const struct log_source *src, const char *msg, double ts,
                 sbuf *out);
/* concurrently's look: one of its global lines ("--> Sending SIGTERM to other processes.."),
 * nothing when raw. */
void logfmt_global(struct log_style *st, const char *msg, sbuf *out);
/* concurrently's look: how wide src's prefix is inside its brackets, before padding (what
 * --pad-prefix pads every prefix to, the widest). */
int logfmt_look_width(struct log_style *st, const struct log_source *src);
/* A chalk style ("red", "bgBlue.bold", "#23de43.inverse", "greenBright"; "" or "reset" for
 * none) as an SGR sequence, cut short rather than overflow out. Unknown words add nothing. */
void logfmt_chalk_sgr(const char *chalk, char *out, size_t n);
/* Formats wall time ts (local time) with a Unicode date pattern as concurrently's date-format.ts
 * does for the common fields (y M d E a h H m s S, 'quoted text'); others are copied as
 * written. Returns the length written (out always terminated). */
size_t logfmt_date(const char *pattern, double ts, char *out, size_t n);
/* Appends s as the inside of a JSON string; invalid UTF-8 becomes U+FFFD, control characters
 * (C0, DEL, C1) are \u escapes. */
void json_escape(sbuf *out, const char *s, size_t len);

enum {
    LOGFMT_KEEP_SGR = 1, /* colors (ESC [ ... m) pass: the output is a (colored) terminal */
    LOGFMT_KEEP_NL = 2,  /* newlines pass (roster's own multi-line messages) */
};
/* Appends s for a text line with its control characters shown visibly: C0 controls and DEL as
 * \xNN (CR \x0d, ESC \x1b, NUL \x00), C1 controls as \u00NN; TAB, UTF-8 and other bytes pass.
 * flags: LOGFMT_KEEP_*. */
void logfmt_text_escape(sbuf *out, const char *s, size_t len, unsigned flags);

#endif
