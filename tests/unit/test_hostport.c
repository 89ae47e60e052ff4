/* test_hostport.c — host:port as every address in roster is read: names, IPv4, bracketed IPv6,
 * optional, required, zero and bare ports, and each error with its words. */
#include <string.h>

#include "base/hostport.h"
#include "t.h"

static enum hostport_err parse(const char *s, unsigned flags, struct hostport *hp)
{
    return hostport_parse(s, strlen(s), flags, hp);
}

static void test_forms(void)
{
    struct hostport hp;
    CHECK_INT(parse("db.internal:5432", 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "db.internal");
    CHECK(hp.has_port && !hp.bracketed);
    CHECK_INT(hp.port, 5432);
    CHECK_INT(parse("127.0.0.1:1", HOSTPORT_NEED_PORT, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "127.0.0.1");
    CHECK_INT(hp.port, 1);
    CHECK_INT(parse("h:65535", 0, &hp), HOSTPORT_OK);
    CHECK_INT(hp.port, 65535);
    /* no port: the caller's default applies */
    CHECK_INT(parse("cache", 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "cache");
    CHECK(!hp.has_port);
    CHECK_INT(parse("", 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "");
    CHECK(!hp.has_port && !hp.bracketed);
    /* an empty host is the caller's to read (127.0.0.1 for a probe, any address to listen) */
    CHECK_INT(parse(":6379", HOSTPORT_NEED_PORT, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "");
    CHECK_INT(hp.port, 6379);
    /* IPv6 in brackets, with and without a port */
    CHECK_INT(parse("[::1]:9090", HOSTPORT_NEED_PORT, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "::1");
    CHECK(hp.bracketed && hp.has_port);
    CHECK_INT(hp.port, 9090);
    CHECK_INT(parse("[2001:db8::1]", 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "2001:db8::1");
    CHECK(hp.bracketed && !hp.has_port);
    CHECK_INT(parse("[]:5432", 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "");
    CHECK(hp.bracketed);
    /* only len bytes are read: a URL's authority ends before its path */
    const char *url = "h:5432/db";
    CHECK_INT(hostport_parse(url, 6, 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "h");
    CHECK_INT(hp.port, 5432);
    /* port 0 and bare ports only when asked for */
    CHECK_INT(parse("0.0.0.0:0", HOSTPORT_LISTEN, &hp), HOSTPORT_OK);
    CHECK_INT(hp.port, 0);
    CHECK(hp.has_port);
    CHECK_INT(parse("9090", HOSTPORT_LISTEN | HOSTPORT_BARE_PORT, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "");
    CHECK_INT(hp.port, 9090);
    CHECK_INT(parse("9090", 0, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "9090"); /* without the flag, digits are a host name */
    CHECK(!hp.has_port);
}

static void test_errors(void)
{
    static const struct {
        const char *in;
        unsigned flags;
        enum hostport_err want;
    } bad[] = {
        {"[::1", 0, HOSTPORT_EBRACKET},
        {"[::1]x", 0, HOSTPORT_EPORT},
        {"[::1]:", 0, HOSTPORT_EPORT},
        {"[::1]:x", 0, HOSTPORT_EPORT},
        {"::1:9090", HOSTPORT_LISTEN, HOSTPORT_ECOLONS},
        {"h:1:2", 0, HOSTPORT_ECOLONS},
        {"h:", 0, HOSTPORT_EPORT},
        {"h:0", 0, HOSTPORT_EPORT},
        {"h:65536", 0, HOSTPORT_EPORT},
        {"h:99999", 0, HOSTPORT_EPORT},
        {"h:123456", HOSTPORT_ZERO_PORT, HOSTPORT_EPORT},
        {"h:5x", 0, HOSTPORT_EPORT},
        {"h:+80", 0, HOSTPORT_EPORT},
        {"h: 80", 0, HOSTPORT_EPORT},
        {"h:-1", 0, HOSTPORT_EPORT},
        {"localhost", HOSTPORT_NEED_PORT, HOSTPORT_ENOPORT},
        {"[::1]", HOSTPORT_NEED_PORT, HOSTPORT_ENOPORT},
    };
    struct hostport hp;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum hostport_err e = parse(bad[i].in, bad[i].flags, &hp);
        if (e != bad[i].want) fprintf(stderr, "'%s':\n", bad[i].in);
        CHECK_INT(e, bad[i].want);
    }
    char longhost[300];
    memset(longhost, 'a', 256);
    strcpy(longhost + 256, ":80");
    CHECK_INT(parse(longhost, 0, &hp), HOSTPORT_ELONG);
    memset(longhost, 'a', 255);
    strcpy(longhost + 255, ":80");
    CHECK_INT(parse(longhost, 0, &hp), HOSTPORT_OK);
    CHECK_INT(strlen(hp.host), 255);

    CHECK_STR(hostport_strerror(HOSTPORT_EPORT), "invalid port");
    CHECK_STR(hostport_strerror(HOSTPORT_EBRACKET), "unterminated IPv6 address");
    CHECK_STR(hostport_strerror(HOSTPORT_ENOPORT), "missing port");
    CHECK(strstr(hostport_strerror(HOSTPORT_ECOLONS), "[::1]:port") != NULL);
}

static void test_port(void)
{
    int port = 7;
    CHECK_INT(hostport_port("6380", 4, 0, &port), HOSTPORT_OK);
    CHECK_INT(port, 6380);
    port = 7;
    CHECK_INT(hostport_port("0", 1, 0, &port), HOSTPORT_EPORT);
    CHECK_INT(port, 7); /* untouched on error: the caller's default stands */
    CHECK_INT(hostport_port("0", 1, HOSTPORT_ZERO_PORT, &port), HOSTPORT_OK);
    CHECK_INT(port, 0);
    CHECK_INT(hostport_port("", 0, 0, &port), HOSTPORT_EPORT);
    CHECK_INT(hostport_port("80a", 3, 0, &port), HOSTPORT_EPORT);
    CHECK_INT(hostport_port("65536", 5, 0, &port), HOSTPORT_EPORT);
    CHECK_INT(hostport_port("0x50", 4, 0, &port), HOSTPORT_EPORT);
}

static void test_format(void)
{
    char buf[64];
    hostport_format("127.0.0.1", 9090, buf, sizeof buf);
    CHECK_STR(buf, "127.0.0.1:9090");
    hostport_format("::1", 9090, buf, sizeof buf);
    CHECK_STR(buf, "[::1]:9090");
    hostport_format("cache.internal", 6379, buf, sizeof buf);
    CHECK_STR(buf, "cache.internal:6379");
    /* what format writes, parse reads back */
    struct hostport hp;
    hostport_format("2001:db8::7", 443, buf, sizeof buf);
    CHECK_INT(parse(buf, HOSTPORT_NEED_PORT, &hp), HOSTPORT_OK);
    CHECK_STR(hp.host, "2001:db8::7");
    CHECK_INT(hp.port, 443);
}

int main(void)
{
    test_forms();
    test_errors();
    test_port();
    test_format();
    return t_done("hostport");
}
