/* logfmt.c — line formatting for text and JSON output. */
#include "log/logfmt.h"

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

void json_escape(sbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    sbuf_reserve(out, len + 16);
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
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
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                sbuf_append(out, u, 6);
            }
            }
            p++;
            continue;
        }
        /* validate one UTF-8 sequence */
        size_t need;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07;
        else
            need = 0, cp = 0;
        bool ok = need > 0 && (size_t)(end - p) > need;
        for (size_t i = 1; ok && i <= need; i++) {
            if ((p[i] & 0xC0) != 0x80)
                ok = false;
            else
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (ok && ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                   (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))))
            ok = false;
        if (ok) {
            sbuf_append(out, p, need + 1);
            p += need + 1;
        } else {
            sbuf_append(out, "\\ufffd", 6);
            p++;
        }
    }
}

void logfmt_prepare(struct log_style *st, struct log_source *src)
{
    for (int s = 0; s < 2; s++) {
        sbuf *b = &src->prefix[s];
        sbuf_reset(b);
        if (st->format == LOG_JSON) {
            sbuf_puts(b, "\"role\":\"");
            json_escape(b, src->role, strlen(src->role));
            sbuf_printf(b, "\",\"instance\":%d,\"pid\":%d,\"stream\":\"%s\",\"msg\":\"",
                        src->instance, src->pid, s == LOG_STDOUT ? "stdout" : "stderr");
        } else {
            if (st->color) sbuf_puts(b, src->color);
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

void logfmt_line(struct log_style *st, const struct log_source *src, int stream, const char *msg,
                 size_t len, double ts, sbuf *out)
{
    const sbuf *pre = &src->prefix[stream ? 1 : 0];
    if (st->format == LOG_JSON) {
        sbuf_append(out, "{\"ts\":\"", 7);
        put_ts(st, ts, out);
        sbuf_append(out, "\",", 2);
        sbuf_append(out, pre->data, pre->len);
        json_escape(out, msg, len);
        sbuf_append(out, "\"}\n", 3);
        return;
    }
    sbuf_reserve(out, len + pre->len + 32);
    if (st->timestamps) {
        put_ts(st, ts, out);
        sbuf_putc(out, ' ');
    }
    sbuf_append(out, pre->data, pre->len);
    sbuf_append(out, msg, len);
    sbuf_putc(out, '\n');
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
    if (st->timestamps) {
        put_ts(st, ts, out);
        sbuf_putc(out, ' ');
    }
    if (st->color) sbuf_puts(out, ROSTER_COLOR);
    sbuf_printf(out, "%-*s |", st->pad, "roster");
    if (st->color) sbuf_puts(out, RESET);
    sbuf_putc(out, ' ');
    sbuf_puts(out, msg);
    sbuf_putc(out, '\n');
}
