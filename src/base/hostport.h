/* hostport.h — "host:port" read one way for every address roster takes: health.listen, tcp
 * probe targets, the hosts of postgres:// and redis:// URLs, and port numbers from the
 * environment. An IPv6 address goes in brackets ([::1]:9090), as in URLs and Go's
 * net.SplitHostPort: its own colons would make the port ambiguous. Pure. */
#ifndef ROSTER_HOSTPORT_H
#define ROSTER_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

enum hostport_err {
    HOSTPORT_OK = 0,
    HOSTPORT_EBRACKET, /* "[" with no "]" */
    HOSTPORT_ECOLONS,  /* more than one ':' outside brackets */
    HOSTPORT_EPORT,    /* not a number in range, or something after "]" other than ":port" */
    HOSTPORT_ENOPORT,  /* no port where one is needed */
    HOSTPORT_ELONG,    /* a host longer than a DNS name can be */
};

/* Words for an error, such as "invalid port"; callers add where it was. */
const char *hostport_strerror(enum hostport_err e);

enum hostport_flags {
    HOSTPORT_NEED_PORT = 1u << 0, /* "host" alone is HOSTPORT_ENOPORT */
    HOSTPORT_ZERO_PORT = 1u << 1, /* port 0 is allowed (listen on any free port) */
    HOSTPORT_BARE_PORT = 1u << 2, /* digits alone ("9090") are a port, not a host */
    /* A listen address (health.listen): the port required, 0 meaning any free one. */
    HOSTPORT_LISTEN = HOSTPORT_NEED_PORT | HOSTPORT_ZERO_PORT,
};

struct hostport {
    char host[256]; /* brackets removed, not decoded; "" when there is none */
    bool bracketed; /* it was written [host] */
    bool has_port;
    int port; /* when has_port; the caller picks a default otherwise */
};

/* Splits host[:port] or [host][:port] in s[0..len). */
enum hostport_err hostport_parse(const char *s, size_t len, unsigned flags, struct hostport *out);
/* A port number alone, s[0..len): digits only, 1..65535 (0 too with HOSTPORT_ZERO_PORT). */
enum hostport_err hostport_port(const char *s, size_t len, unsigned flags, int *port);
/* Writes host:port into buf, bracketing a host that holds a ':' (an IPv6 address). */
void hostport_format(const char *host, int port, char *buf, size_t size);

#endif
