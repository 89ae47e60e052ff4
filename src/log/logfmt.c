/* logfmt.c — line formatting for text and JSON output. */
#include "log/logfmt.h"

#include "log/linebuf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const palette[] = {
    "\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[35m", "\x1b[34m", "\x1b[31m",
    "\x1b[96m", "\x1b[93m", "\x1b[92m", "\x1b[95m", "\x1b[94m", "\x1b[91m",
};
#define RESET        "\x1b[0m"
#define ROSTER_COLOR "\x1b[1;37m"

const char *logfmt_color(size_t n)
{
    return palette[n % ARRAY_SIZE(palette)];
}

const char *logfmt_color_level(const char *term, const char *colorterm)
{
    if (colorterm && (!strcmp(colorterm, "truecolor") || !strcmp(colorterm, "24bit"))) return "3";
    size_t n = term ? strlen(term) : 0;
    if (n >= 8 && !strcmp(term + n - 8, "256color")) return "2";
    return "1";
}

static void put_ts(struct log_style *st, double ts, sbuf *out)
{
    long sec = (long)ts;
    if (sec != st->cached_sec) {
        format_iso8601(st->cached_ts, sizeof st->cached_ts, (double)sec);
        st->cached_sec = sec;
    }
    /* "2026-11-22T10:00:00.000Z": patch the milliseconds into the cached second */
    char buf[32];
    memcpy(buf, st->cached_ts, sizeof buf);
    int ms = (int)((ts - (double)sec) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    buf[20] = (char)('0' + ms / 100);
    buf[21] = (char)('0' + ms / 10 % 10);
    buf[22] = (char)('0' + ms % 10);
    sbuf_append(out, buf, 24);
}

/* The length of the valid UTF-8 sequence at p (2 to 4 bytes: no overlong forms, surrogates or
 * code points past U+10FFFF), 0 when p starts none; *cp is its code point. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    unsigned char c = *p;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, *cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, *cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, *cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) <= need) return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        *cp = (*cp << 6) | (p[i] & 0x3F);
    }
    if ((need == 2 && (*cp < 0x800 || (*cp >= 0xD800 && *cp <= 0xDFFF))) ||
        (need == 3 && (*cp < 0x10000 || *cp > 0x10FFFF)))
        return 0;
    return need + 1;
}

static const char hex[] = "0123456789abcdef";

void json_escape(sbuf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    sbuf_reserve(out, len + 16);
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run) sbuf_append(out, run, (size_t)(p - run));
        if (p >= end) break;
        unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': sbuf_append(out, "\\\"", 2); break;
            case '\\': sbuf_append(out, "\\\\", 2); break;
            case '\n': sbuf_append(out, "\\n", 2); break;
            case '\r': sbuf_append(out, "\\r", 2); break;
            case '\t': sbuf_append(out, "\\t", 2); break;
            default: {
                /* the other C0 controls and DEL, visibly */
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                sbuf_append(out, u, 6);
            }
            }
            p++;
            continue;
        }
        unsigned cp;
        size_t n = utf8_seq(p, end, &cp);
        if (n && cp < 0xA0) {
            /* a C1 control (U+0080..U+009F: U+009B is a CSI to some terminals), visibly */
            char u[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
            sbuf_append(out, u, 6);
            p += n;
        } else if (n) {
            sbuf_append(out, p, n);
            p += n;
        } else {
            sbuf_append(out, "\\ufffd", 6);
            p++;
        }
    }
}

/* ESC [ params m: a color or text attribute (SGR), which cannot move the cursor, set a title
 * or talk back; its length at p, or 0 when p starts any other escape. */
static size_t sgr_len(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 3 || p[0] != 0x1b || p[1] != '[') return 0;
    const unsigned char *q = p + 2;
    while (q < end && ((*q >= '0' && *q <= '9') || *q == ';' || *q == ':'))
        q++;
    return q < end && *q == 'm' ? (size_t)(q + 1 - p) : 0;
}

/* How many bytes from p on are printable ASCII (0x20..0x7e), eight at a time while it can:
 * the common line is all of it, and is then copied whole. */
static size_t printable_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        /* a byte below 0x20, or one of 0x7f and up: either sets its high bit here */
        uint64_t low = (x - 0x2020202020202020ull) & ~x & 0x8080808080808080ull;
        uint64_t high = ((x + 0x0101010101010101ull) | x) & 0x8080808080808080ull;
        if (low | high) break;
    }
    while (i < n && p[i] >= 0x20 && p[i] < 0x7f)
        i++;
    return i;
}

/* Appends "\xNN" for byte c, or "\u00NN" for a C1 code point. */
static void put_escaped(sbuf *out, unsigned c, bool unicode)
{
    char e[6] = {'\\', 'u', '0', '0', hex[(c >> 4) & 15], hex[c & 15]};
    if (unicode)
        sbuf_append(out, e, 6);
    else
        sbuf_append(out, (char[4]){'\\', 'x', e[4], e[5]}, 4);
}

void logfmt_text_escape(sbuf *out, const char *s, size_t len, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
    sbuf_reserve(out, len + 16);
    while (p < end) {
        p += printable_run(p, (size_t)(end - p));
        if (p >= end) break;
        unsigned char c = *p;
        size_t n = 0;
        unsigned cp = 0;
        if (c == '\t') {
            p++;
            continue;
        }
        if (c >= 0x80) {
            n = utf8_seq(p, end, &cp);
            /* UTF-8 past the C1 controls, and bytes that are not UTF-8 but no C1 control either
             * (Latin-1 text...), pass as they are */
            if ((n && cp >= 0xA0) || (!n && c >= 0xA0)) {
                p += n ? n : 1;
                continue;
            }
        }
        /* from here the byte (or sequence) at p is not copied as it is */
        sbuf_append(out, run, (size_t)(p - run));
        size_t sgr;
        if (c == 0x1b && (flags & LOGFMT_KEEP_SGR) && (sgr = sgr_len(p, end))) {
            sbuf_append(out, p, sgr);
            p += sgr;
        } else if (c == '\n' && (flags & LOGFMT_KEEP_NL)) {
            sbuf_putc(out, '\n');
            p++;
        } else if (n) {
            put_escaped(out, cp, true); /* a C1 control encoded as UTF-8 */
            p += n;
        } else {
            /* C0 controls and DEL (CR \x0d, ESC \x1b, NUL \x00, BEL \x07), and a lone byte
             * that is a C1 control to an 8-bit terminal */
            put_escaped(out, c, false);
            p++;
        }
        run = p;
    }
    sbuf_append(out, run, (size_t)(p - run));
}

static void look_prefix(struct log_style *st, const struct log_source *src, double ts, sbuf *out);

void logfmt_prepare(struct log_style *st, struct log_source *src)
{
    if (st->look && st->format == LOG_TEXT) {
        logfmt_chalk_sgr(src->chalk, src->sgr, sizeof src->sgr);
        src->time_prefix = src->tmpl && strstr(src->tmpl, "{time}");
        for (int s = 0; s < 2; s++) {
            sbuf_reset(&src->prefix[s]);
            if (!src->time_prefix) look_prefix(st, src, 0, &src->prefix[s]);
        }
        return;
    }
    /* a role's color: (a chalk style) in place of the palette's */
    logfmt_chalk_sgr(src->chalk, src->sgr, sizeof src->sgr);
    const char *color = src->sgr[0] ? src->sgr : src->color;
    for (int s = 0; s < 2; s++) {
        sbuf *b = &src->prefix[s];
        sbuf_reset(b);
        if (st->format == LOG_JSON) {
            sbuf_puts(b, "\"role\":\"");
            json_escape(b, src->role, strlen(src->role));
            sbuf_printf(b, "\",\"instance\":%d,\"pid\":%d,\"stream\":\"%s\",\"msg\":\"",
                        src->instance, src->pid, s == LOG_STDOUT ? "stdout" : "stderr");
        } else {
            if (st->color && color) sbuf_puts(b, color);
            sbuf_printf(b, "%-*s |", st->pad, src->label);
            if (st->color) sbuf_puts(b, RESET);
            sbuf_putc(b, ' ');
        }
    }
}

void logfmt_source_free(struct log_source *src)
{
    sbuf_free(&src->prefix[0]);
    sbuf_free(&src->prefix[1]);
}

/* The text prefix of a built-in role's task: "label/task |", padded and colored as the
 * label's (made for each line: tasks come and go, and their lines are few). */
static void task_prefix(const struct log_style *st, const struct log_source *src, sbuf *out)
{
    const char *color = src->sgr[0] ? src->sgr : src->color;
    size_t w = strlen(src->label) + 1 + src->task_len;
    if (st->color && color) sbuf_puts(out, color);
    sbuf_printf(out, "%s/%.*s%*s |", src->label, (int)src->task_len, src->task,
                st->pad > (int)w ? st->pad - (int)w : 0, "");
    if (st->color) sbuf_puts(out, RESET);
    sbuf_putc(out, ' ');
}

/* One written line, whatever its length. */
static void line_once(struct log_style *st, const struct log_source *src, int stream,
                      const char *msg, size_t len, double ts, bool cont, sbuf *out)
{
    const sbuf *pre = &src->prefix[stream ? 1 : 0];
    if (st->format == LOG_JSON) {
        sbuf_append(out, "{\"ts\":\"", 7);
        put_ts(st, ts, out);
        sbuf_append(out, "\",", 2);
        if (cont) sbuf_puts(out, "\"continued\":true,");
        if (src->task) {
            sbuf_puts(out, "\"task\":\"");
            json_escape(out, src->task, src->task_len);
            sbuf_append(out, "\",", 2);
        }
        sbuf_append(out, pre->data, pre->len);
        json_escape(out, msg, len);
        sbuf_append(out, "\"}\n", 3);
        return;
    }
    sbuf_reserve(out, len + pre->len + 32);
    /* CRLF (a pseudo-terminal's, a Windows tool's) ends the line: its CR rewrites nothing and
     * is not shown as \x0d; any other CR is */
    size_t shown = len && msg[len - 1] == '\r' ? len - 1 : len;
    if (st->look) {
        if (!st->raw) {
            if (src->time_prefix)
                look_prefix(st, src, ts, out);
            else if (pre->len)
                sbuf_append(out, pre->data, pre->len);
            /* a built-in role's task, after the prefix concurrently's look gives the role */
            if (src->task) sbuf_printf(out, "%.*s | ", (int)src->task_len, src->task);
        }
        /* --raw keeps a child's bytes alone, as concurrently does; with a prefix they are
         * escaped as below */
        if (st->raw)
            sbuf_append(out, msg, len);
        else
            logfmt_text_escape(out, msg, shown, st->color ? LOGFMT_KEEP_SGR : 0);
        sbuf_putc(out, '\n');
        return;
    }
    if (st->timestamps) {
        put_ts(st, ts, out);
        sbuf_putc(out, ' ');
    }
    if (src->task)
        task_prefix(st, src, out);
    else
        sbuf_append(out, pre->data, pre->len);
    /* A child's CR, ESC or NUL after the prefix could rewrite the line, the terminal's title
     * or the cursor: shown escaped instead; colors pass when roster's own output is colored. */
    logfmt_text_escape(out, msg, shown, st->color ? LOGFMT_KEEP_SGR : 0);
    sbuf_putc(out, '\n');
}

/* Bytes of the character at p: a valid UTF-8 sequence's, else one byte. */
static size_t char_len(const char *p, size_t avail)
{
    unsigned cp;
    size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)p + avail, &cp);
    return n ? n : 1;
}

void logfmt_piece(struct log_style *st, const struct log_source *src, int stream, const char *msg,
                  size_t len, double ts, bool cont, sbuf *out)
{
    if (src->hidden) return; /* hide: the role's lines, never roster's events about it */
    size_t mark = out->len;
    line_once(st, src, stream, msg, len, ts, cont, out);
    if (!st->max_line || out->len - mark <= st->max_line) return;
    /* Too long once formatted (the prefix, escapes and JSON fields count too): written again
     * in pieces. A piece is first guessed at max_line bytes of text, then shortened by what
     * its formatted form is over, until it fits: each byte of text is at least one written
     * byte, so every retry fits or shortens. One character always goes, whatever the prefix,
     * so the loop ends. */
    out->len = mark;
    size_t off = 0;
    while (off < len) {
        size_t rest = len - off;
        size_t take = rest > st->max_line ? linebuf_cut(msg + off, st->max_line) : rest;
        for (;;) {
            size_t at = out->len;
            line_once(st, src, stream, msg + off, take, ts, cont, out);
            size_t got = out->len - at;
            if (got <= st->max_line) break;
            size_t over = got - st->max_line;
            size_t one = char_len(msg + off, rest);
            if (take <= one) break; /* the prefix leaves no room: one character per line */
            out->len = at;
            take = take > over + one ? linebuf_cut(msg + off, take - over) : one;
        }
        off += take;
        cont = true;
    }
}

size_t logfmt_overhead(struct log_style *st, const struct log_source *src, int stream)
{
    sbuf b;
    sbuf_init(&b);
    line_once(st, src, stream, "", 0, 0, true, &b);
    size_t n = b.len;
    sbuf_free(&b);
    return n;
}

void logfmt_line(struct log_style *st, const struct log_source *src, int stream, const char *msg,
                 size_t len, double ts, sbuf *out)
{
    logfmt_piece(st, src, stream, msg, len, ts, false, out);
}

void logfmt_event(struct log_style *st, const char *event, const char *subject, int instance,
                  const char *json_extra, const char *msg, double ts, sbuf *out)
{
    if (st->format == LOG_JSON) {
        sbuf_append(out, "{\"ts\":\"", 7);
        put_ts(st, ts, out);
        sbuf_puts(out, "\",\"role\":\"roster\",\"event\":\"");
        json_escape(out, event, strlen(event));
        sbuf_putc(out, '"');
        if (subject) {
            sbuf_puts(out, ",\"subject\":\"");
            json_escape(out, subject, strlen(subject));
            sbuf_printf(out, "\",\"instance\":%d", instance);
        }
        if (json_extra && *json_extra) {
            sbuf_putc(out, ',');
            sbuf_puts(out, json_extra);
        }
        sbuf_puts(out, ",\"msg\":\"");
        json_escape(out, msg, strlen(msg));
        sbuf_puts(out, "\"}\n");
        return;
    }
    if (st->look) return; /* concurrently's own lines are logfmt_note's and logfmt_global's */
    if (st->timestamps) {
        put_ts(st, ts, out);
        sbuf_putc(out, ' ');
    }
    if (st->color) sbuf_puts(out, ROSTER_COLOR);
    sbuf_printf(out, "%-*s |", st->pad, "roster");
    if (st->color) sbuf_puts(out, RESET);
    sbuf_putc(out, ' ');
    /* an event may quote a child (a probe's output, STATUS=): escaped as its lines are */
    logfmt_text_escape(out, msg, strlen(msg), LOGFMT_KEEP_NL);
    sbuf_putc(out, '\n');
}

/* ---- concurrently's look ----------------------------------------------------------------- */

static const struct {
    const char *name;
    int code;
} chalk_codes[] = {
    {"reset", 0},
    {"bold", 1},
    {"dim", 2},
    {"italic", 3},
    {"underline", 4},
    {"inverse", 7},
    {"hidden", 8},
    {"strikethrough", 9},
    {"black", 30},
    {"red", 31},
    {"green", 32},
    {"yellow", 33},
    {"blue", 34},
    {"magenta", 35},
    {"cyan", 36},
    {"white", 37},
    {"gray", 90},
    {"grey", 90},
    {"blackBright", 90},
    {"redBright", 91},
    {"greenBright", 92},
    {"yellowBright", 93},
    {"blueBright", 94},
    {"magentaBright", 95},
    {"cyanBright", 96},
    {"whiteBright", 97},
    {"bgBlack", 40},
    {"bgRed", 41},
    {"bgGreen", 42},
    {"bgYellow", 43},
    {"bgBlue", 44},
    {"bgMagenta", 45},
    {"bgCyan", 46},
    {"bgWhite", 47},
    {"bgGray", 100},
    {"bgGrey", 100},
    {"bgBlackBright", 100},
    {"bgRedBright", 101},
    {"bgGreenBright", 102},
    {"bgYellowBright", 103},
    {"bgBlueBright", 104},
    {"bgMagentaBright", 105},
    {"bgCyanBright", 106},
    {"bgWhiteBright", 107},
};

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

void logfmt_chalk_sgr(const char *chalk, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *seg = chalk ? chalk : ""; *seg;) {
        size_t k = strcspn(seg, ".");
        char code[32] = "";
        if (seg[0] == '#' && (k == 4 || k == 7)) {
            int r, g, b;
            if (k == 4) {
                r = hexval(seg[1]) * 17, g = hexval(seg[2]) * 17, b = hexval(seg[3]) * 17;
            } else {
                r = hexval(seg[1]) * 16 + hexval(seg[2]);
                g = hexval(seg[3]) * 16 + hexval(seg[4]);
                b = hexval(seg[5]) * 16 + hexval(seg[6]);
            }
            snprintf(code, sizeof code, "\x1b[38;2;%d;%d;%dm", r, g, b);
        } else {
            for (size_t i = 0; i < ARRAY_SIZE(chalk_codes); i++)
                if (strlen(chalk_codes[i].name) == k && !strncmp(chalk_codes[i].name, seg, k) &&
                    chalk_codes[i].code != 0)
                    snprintf(code, sizeof code, "\x1b[%dm", chalk_codes[i].code);
        }
        size_t cl = strlen(code);
        if (len + cl < n) {
            memcpy(out + len, code, cl + 1);
            len += cl;
        }
        seg += k;
        if (*seg) seg++;
    }
}

static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                   "Thursday", "Friday", "Saturday"};

size_t logfmt_date(const char *pattern, double ts, char *out, size_t n)
{
    time_t sec = (time_t)ts;
    struct tm tm;
    localtime_r(&sec, &tm);
    int ms = (int)((ts - (double)sec) * 1000.0);
    if (ms < 0) ms = 0;
    if (ms > 999) ms = 999;
    sbuf b;
    sbuf_init(&b);
    for (const char *p = pattern; *p;) {
        if (*p == '\'') { /* 'literal', '' for a quote */
            p++;
            if (*p == '\'') {
                sbuf_putc(&b, '\'');
                p++;
                continue;
            }
            while (*p && !(*p == '\'' && p[1] != '\'')) {
                if (*p == '\'') p++;
                sbuf_putc(&b, *p++);
            }
            if (*p) p++;
            continue;
        }
        char c = *p;
        size_t k = 1;
        while (p[k] == c)
            k++;
        int w = (int)k;
        switch (c) {
        case 'y':
            if (k == 2)
                sbuf_printf(&b, "%02d", (tm.tm_year + 1900) % 100);
            else
                sbuf_printf(&b, "%0*d", w, tm.tm_year + 1900);
            break;
        case 'M':
        case 'L':
            if (k <= 2)
                sbuf_printf(&b, "%0*d", w, tm.tm_mon + 1);
            else if (k == 3)
                sbuf_printf(&b, "%.3s", months[tm.tm_mon]);
            else if (k == 4)
                sbuf_puts(&b, months[tm.tm_mon]);
            else
                sbuf_putc(&b, months[tm.tm_mon][0]);
            break;
        case 'd': sbuf_printf(&b, "%0*d", w, tm.tm_mday); break;
        case 'E':
            if (k <= 3)
                sbuf_printf(&b, "%.3s", days[tm.tm_wday]);
            else if (k == 4)
                sbuf_puts(&b, days[tm.tm_wday]);
            else
                sbuf_putc(&b, days[tm.tm_wday][0]);
            break;
        case 'a': sbuf_puts(&b, tm.tm_hour < 12 ? "AM" : "PM"); break;
        case 'h': sbuf_printf(&b, "%0*d", w, tm.tm_hour % 12 ? tm.tm_hour % 12 : 12); break;
        case 'H': sbuf_printf(&b, "%0*d", w, tm.tm_hour); break;
        case 'm': sbuf_printf(&b, "%0*d", w, tm.tm_min); break;
        case 's': sbuf_printf(&b, "%0*d", w, tm.tm_sec); break;
        case 'S': { /* fractions of the second, to k digits */
            char f[8];
            snprintf(f, sizeof f, "%03d000", ms);
            sbuf_append(&b, f, k < 6 ? k : 6);
            break;
        }
        default: sbuf_append(&b, p, k); break;
        }
        p += k;
    }
    size_t len = b.len < n ? b.len : n - 1;
    if (b.data) memcpy(out, b.data, len);
    out[len] = '\0';
    sbuf_free(&b);
    return len;
}

/* concurrently's shortenText: the first and last characters of text around "..". */
static void put_shortened(sbuf *out, const char *text, int max)
{
    size_t len = strlen(text);
    if (max < 3 || len <= (size_t)max) {
        sbuf_puts(out, text);
        return;
    }
    size_t keep = (size_t)max - 2, end = keep / 2, begin = keep - end;
    sbuf_append(out, text, begin);
    sbuf_puts(out, "..");
    sbuf_append(out, text + len - end, end);
}

/* The prefix's content: the template with its fields replaced, padded to --pad-prefix's
 * width. */
static void look_content(struct log_style *st, const struct log_source *src, double ts, sbuf *out)
{
    size_t start = out->len;
    for (const char *p = src->tmpl; *p;) {
        static const char *const fields[] = {"{index}", "{pid}", "{time}", "{command}", "{name}"};
        size_t f = ARRAY_SIZE(fields);
        for (size_t i = 0; i < ARRAY_SIZE(fields) && f == ARRAY_SIZE(fields); i++)
            if (!strncmp(p, fields[i], strlen(fields[i]))) f = i;
        if (f == ARRAY_SIZE(fields)) {
            sbuf_putc(out, *p++);
            continue;
        }
        char t[128];
        switch (f) {
        case 0: sbuf_printf(out, "%d", src->look_index); break;
        case 1:
            if (src->pid > 0) sbuf_printf(out, "%d", src->pid);
            break;
        case 2:
            logfmt_date(st->time_format ? st->time_format : "yyyy-MM-dd HH:mm:ss.SSS", ts, t,
                        sizeof t);
            sbuf_puts(out, t);
            break;
        case 3: put_shortened(out, src->command ? src->command : "", st->command_length); break;
        case 4: sbuf_puts(out, src->name ? src->name : ""); break;
        }
        p += strlen(fields[f]);
    }
    while ((int)(out->len - start) < st->look_pad)
        sbuf_putc(out, ' ');
}

int logfmt_look_width(struct log_style *st, const struct log_source *src)
{
    if (!src->tmpl) return 0;
    int pad = st->look_pad;
    st->look_pad = 0;
    sbuf b;
    sbuf_init(&b);
    look_content(st, src, wall_time(), &b);
    int w = (int)b.len;
    sbuf_free(&b);
    st->look_pad = pad;
    return w;
}

/* "[content] " colored, or nothing without a template. */
static void look_prefix(struct log_style *st, const struct log_source *src, double ts, sbuf *out)
{
    if (!src->tmpl) return;
    bool color = st->color && src->sgr[0];
    if (color) sbuf_puts(out, src->sgr);
    if (src->brackets) sbuf_putc(out, '[');
    look_content(st, src, ts, out);
    if (src->brackets) sbuf_putc(out, ']');
    if (color) sbuf_puts(out, RESET);
    sbuf_putc(out, ' ');
}

void logfmt_note(struct log_style *st, const struct log_source *src, const char *msg, double ts,
                 sbuf *out)
{
    /* JSON has roster's events instead (logfmt_event) */
    if (st->raw || src->hidden || st->format == LOG_JSON) return;
    look_prefix(st, src, ts, out);
    sbuf_puts(out, msg);
    sbuf_putc(out, '\n');
}

void logfmt_global(struct log_style *st, const char *msg, sbuf *out)
{
    if (st->raw || st->format == LOG_JSON) return;
    sbuf_puts(out, "--> ");
    sbuf_puts(out, msg);
    sbuf_putc(out, '\n');
}
