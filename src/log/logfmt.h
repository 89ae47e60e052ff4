/* logfmt.h — how one output line looks: "api    | msg" with a colored, padded prefix, an
 * optional ISO-8601 time, or a JSON object per line. Pure; prefixes are built once per source
 * so the hot path is a few memcpys. */
#ifndef ROSTER_LOGFMT_H
#define ROSTER_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "base/util.h"

struct log_style {
    enum log_format format;
    bool timestamps;
    bool color;
    int pad; /* width the labels are padded to */
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
    sbuf prefix[2];    /* text: padded label; json: fields up to "msg":", per stream */
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

/* Appends one formatted line (msg without its newline) to out. */
void logfmt_line(struct log_style *st, const struct log_source *src, int stream, const char *msg,
                 size_t len, double ts, sbuf *out);
/* Appends one of roster's own event lines. subject may be NULL; json_extra is either NULL or
 * extra JSON members ("code":1) added to the object in JSON format. */
void logfmt_event(struct log_style *st, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *msg, double ts, sbuf *out);
/* Appends s as the inside of a JSON string; invalid UTF-8 becomes U+FFFD. */
void json_escape(sbuf *out, const char *s, size_t len);

#endif
