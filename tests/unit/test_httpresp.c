/* test_httpresp.c — the plain-http client's answer parser (checks/httpresp.c): Content-Length,
 * chunked and close-delimited bodies, fed whole and a byte at a time; bounds; keep-alive,
 * Retry-After and the bytes past an answer's end. */
#include "checks/httpresp.h"

#include <stdlib.h>

#include "t.h"

static struct httpresp R;

/* Feeds s (whole, or a byte at a time) then, when eof, the close; the outcome. */
static enum httpresp_rc feed(const char *s, size_t len, bool bytewise, bool eof, size_t keep)
{
    httpresp_free(&R);
    httpresp_init(&R, false, keep);
    enum httpresp_rc rc = HTTPRESP_MORE;
    if (bytewise)
        for (size_t i = 0; i < len; i++)
            rc = httpresp_feed(&R, s + i, 1);
    else
        rc = httpresp_feed(&R, s, len);
    return eof ? httpresp_eof(&R) : rc;
}
#define FEED(s, bw, eof) feed(s, sizeof(s) - 1, bw, eof, 64)

static bool kept_is(const char *want)
{
    return R.kept_len == strlen(want) && (!R.kept_len || !memcmp(R.kept, want, R.kept_len));
}

static void test_framings(void)
{
    for (int bw = 0; bw < 2; bw++) {
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", bw, false),
                  HTTPRESP_DONE);
        CHECK_INT(R.status, 200);
        CHECK(kept_is("hello"));
        CHECK_INT(FEED("HTTP/1.1 201 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5;a=b\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n",
                       bw, false),
                  HTTPRESP_DONE);
        CHECK_INT(R.status, 201);
        CHECK(kept_is("hello!"));
        CHECK_INT(FEED("HTTP/1.0 500 Oops\r\n\r\nbroken", bw, false), HTTPRESP_MORE);
        CHECK_INT(httpresp_eof(&R), HTTPRESP_DONE);
        CHECK(kept_is("broken"));
        CHECK_INT(FEED("HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n", bw, false),
                  HTTPRESP_DONE);
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", bw, true),
                  HTTPRESP_ERR);
        CHECK_INT(FEED("nonsense\r\n\r\n", bw, false), HTTPRESP_ERR);
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\n", bw, true), HTTPRESP_ERR);
    }
}

/* Memory is bounded whatever comes: the head to 16 KiB, the body to keep; a chunk size past 2^60
 * is refused. */
static void test_bounds(void)
{
    size_t n = 64 << 10;
    char *big = malloc(n);
    memset(big, 'x', n);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    CHECK_INT(feed(big, n, false, false, 64), HTTPRESP_ERR);
    CHECK_INT(feed("HTTP/1.1 200 OK\r\n\r\n", 19, false, false, 16), HTTPRESP_MORE);
    memset(big, 'y', n);
    for (int i = 0; i < 64; i++)
        CHECK_INT(httpresp_feed(&R, big, n), HTTPRESP_MORE);
    CHECK_INT(R.kept_len, 16);
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "10000000000000000\r\n",
                   false, false),
              HTTPRESP_ERR);
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "FFFFFFFFFFFFFFF\r\n",
                   false, false),
              HTTPRESP_MORE);
    free(big);
}

/* Content-Length is digits on its own line: an empty value was read past the line's end (strtoll
 * skips the CRLFs as white space), so the length came from the body, or from whatever the head
 * buffer held past what was read; a negative one made the body run to the close. */
static void test_content_length(void)
{
    for (int bw = 0; bw < 2; bw++) {
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n3\r\nabcdef", bw, false),
                  HTTPRESP_ERR);
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc", bw, true), HTTPRESP_ERR);
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc", bw, false),
                  HTTPRESP_ERR);
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: \t 3 \r\n\r\nabc", bw, false),
                  HTTPRESP_DONE);
        CHECK(kept_is("abc"));
    }
}

/* Interim answers (1xx but 101: 100 Continue to a request sent with Expect: 100-continue, as
 * a schedule's headers may ask; 103 Early Hints) come before the final one, which is the
 * answer: the 100 was taken as the final status. */
static void test_interim(void)
{
    for (int bw = 0; bw < 2; bw++) {
        CHECK_INT(FEED("HTTP/1.1 100 Continue\r\n\r\n"
                       "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                       "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
                       bw, false),
                  HTTPRESP_DONE);
        CHECK_INT(R.status, 201);
        CHECK(kept_is("ok"));
        CHECK_INT(FEED("HTTP/1.1 101 Switching Protocols\r\n\r\nxyz", bw, false), HTTPRESP_DONE);
        CHECK_INT(R.status, 101);
    }
}

/* Bytes after a Content-Length body (a server that sends more) are not the body: they were
 * kept when they came in the same read (found by fuzz_httpc). */
static void test_past_length(void)
{
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA", false, false),
              HTTPRESP_DONE);
    CHECK(kept_is("ab"));
    CHECK_INT(R.got, 2);
    CHECK_INT(R.past, 5);
    /* past the end of a chunked answer, of one without a body, and fed after the end */
    for (int bw = 0; bw < 2; bw++) {
        CHECK_INT(FEED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\nab\r\n0\r\n\r\nHTTP",
                       bw, false),
                  HTTPRESP_DONE);
        CHECK(kept_is("ab"));
        CHECK_INT(R.past, 4);
        CHECK_INT(FEED("HTTP/1.1 204 No\r\n\r\nHTTP/1.1", bw, false), HTTPRESP_DONE);
        CHECK_INT(R.past, 8);
    }
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", false, false), HTTPRESP_DONE);
    CHECK_INT(R.past, 0);
    CHECK_INT(httpresp_feed(&R, "x", 1), HTTPRESP_DONE);
    CHECK_INT(R.past, 1);
}

/* Whether the connection stays open after the answer, and Retry-After as written. */
static void test_keep_alive_retry_after(void)
{
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false), HTTPRESP_DONE);
    CHECK(R.keep_alive);
    CHECK_STR(R.retry_after, "");
    CHECK_INT(FEED("HTTP/1.1 503 X\r\nConnection: Close\r\nRetry-After:  120 \r\n"
                   "Content-Length: 0\r\n\r\n",
                   true, false),
              HTTPRESP_DONE);
    CHECK(!R.keep_alive);
    CHECK_STR(R.retry_after, "120");
    CHECK_INT(FEED("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, false), HTTPRESP_DONE);
    CHECK(!R.keep_alive);
    CHECK_INT(FEED("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false,
                   false),
              HTTPRESP_DONE);
    CHECK(R.keep_alive);
    /* a body ended by the close leaves nothing to reuse */
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\n\r\nbody", false, true), HTTPRESP_DONE);
    CHECK(!R.keep_alive);
    CHECK_INT(FEED("HTTP/1.1 429 X\r\nRetry-After: Wed, 21 Oct 2065 07:28:00 GMT\r\n"
                   "Content-Length: 0\r\n\r\n",
                   false, false),
              HTTPRESP_DONE);
    CHECK_STR(R.retry_after, "Wed, 21 Oct 2065 07:28:00 GMT");
}

/* Transfer-Encoding: chunked overrides Content-Length (RFC 9112 6.3): with Content-Length: 0
 * beside it, the answer was taken as ended at its head. */
static void test_chunked_over_length(void)
{
    CHECK_INT(FEED("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
                   false, false),
              HTTPRESP_MORE);
    CHECK_INT(httpresp_feed(&R, "3\r\nabc\r\n0\r\n\r\n", 15), HTTPRESP_DONE);
    CHECK(kept_is("abc"));
}

int main(void)
{
    test_chunked_over_length();
    test_past_length();
    test_keep_alive_retry_after();
    test_interim();
    test_content_length();
    test_framings();
    test_bounds();
    httpresp_free(&R);
    return t_done("test_httpresp");
}
