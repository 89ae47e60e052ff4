/* hostport.c — host:port splitting and port numbers. See hostport.h. */
#include "base/hostport.h"

#include <stdio.h>
#include <string.h>

const char *hostport_strerror(enum hostport_err e)
{
    switch (e) {
    case HOSTPORT_OK: return "no error";
    case HOSTPORT_EBRACKET: return "unterminated IPv6 address";
    case HOSTPORT_ECOLONS: return "too many colons (an IPv6 address goes in brackets: [::1]:port)";
    case HOSTPORT_EPORT: return "invalid port";
    case HOSTPORT_ENOPORT: return "missing port";
    case HOSTPORT_ELONG: return "host name too long";
    }
    return "invalid address";
}

enum hostport_err hostport_port(const char *s, size_t len, unsigned flags, int *port)
{
    /* Digits only: strtol would also take " 80", "+80" and "0x50". */
    if (len == 0 || len > 5) return HOSTPORT_EPORT;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return HOSTPORT_EPORT;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535 || (v == 0 && !(flags & HOSTPORT_ZERO_PORT))) return HOSTPORT_EPORT;
    *port = v;
    return HOSTPORT_OK;
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return len > 0;
}

enum hostport_err hostport_parse(const char *s, size_t len, unsigned flags, struct hostport *out)
{
    memset(out, 0, sizeof *out);
    const char *end = s + len, *h = s, *he, *portp = NULL;
    if (len && *s == '[') {
        const char *close = memchr(s, ']', len);
        if (!close) return HOSTPORT_EBRACKET;
        h = s + 1;
        he = close;
        out->bracketed = true;
        if (close + 1 < end) {
            if (close[1] != ':') return HOSTPORT_EPORT;
            portp = close + 2;
        }
    } else if ((flags & HOSTPORT_BARE_PORT) && all_digits(s, len)) {
        he = h; /* no host */
        portp = s;
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) return HOSTPORT_ECOLONS;
        he = colon ? colon : end;
        if (colon) portp = colon + 1;
    }
    if ((size_t)(he - h) >= sizeof out->host) return HOSTPORT_ELONG;
    memcpy(out->host, h, (size_t)(he - h));
    out->host[he - h] = '\0';
    if (!portp) return flags & HOSTPORT_NEED_PORT ? HOSTPORT_ENOPORT : HOSTPORT_OK;
    enum hostport_err e = hostport_port(portp, (size_t)(end - portp), flags, &out->port);
    if (e != HOSTPORT_OK) return e;
    out->has_port = true;
    return HOSTPORT_OK;
}

void hostport_format(const char *host, int port, char *buf, size_t size)
{
    snprintf(buf, size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}
