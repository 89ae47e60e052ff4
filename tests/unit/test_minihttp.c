/* test_minihttp.c — the control socket's request parsing. */
#include <stdlib.h>

#include "serve/minihttp.h"
#include "t.h"

static int parse(const char *req, const char **m, const char **p, const char **q)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", req);
    return minihttp_parse(buf, m, p, q);
}

int main(void)
{
    const char *m, *p, *q;
    CHECK_INT(parse("GET /roles HTTP/1.1\r\nHost: roster\r\n\r\n", &m, &p, &q), 0);
    CHECK_STR(m, "GET");
    CHECK_STR(p, "/roles");
    CHECK_STR(q, "");
    CHECK_INT(
        parse("POST /roles/api/restart?now=1 HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &m, &p, &q),
        0);
    CHECK_STR(m, "POST");
    CHECK_STR(p, "/roles/api/restart");
    CHECK_STR(q, "now=1");
    /* bodies are refused before they are read */
    CHECK_INT(parse("POST /reload HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &m, &p, &q), 413);
    CHECK_INT(parse("POST /reload HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n", &m, &p, &q),
              413);
    /* malformed request lines */
    CHECK_INT(parse("GET\r\n\r\n", &m, &p, &q), 400);
    CHECK_INT(parse("GET roles HTTP/1.1\r\n\r\n", &m, &p, &q), 400);
    CHECK_INT(parse("get /roles HTTP/1.1\r\n\r\n", &m, &p, &q), 400);
    CHECK_INT(parse("GET  /roles HTTP/1.1\r\n\r\n", &m, &p, &q), 400);
    CHECK_INT(parse("GET /roles SPDY/3\r\n\r\n", &m, &p, &q), 505);
    CHECK_INT(parse("GET /roles HTTP/1.1\r\nno colon here\r\n\r\n", &m, &p, &q), 400);
    return t_done("minihttp");
}
