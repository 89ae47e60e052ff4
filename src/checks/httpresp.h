/* httpresp.h — the answer to an HTTP/1.1 request, parsed as its bytes come (pure: no I/O), for
 * httpc: the status line, the headers that say where the body ends (Content-Length, chunked, or
 * the server's close), whether the connection may carry the next request (Connection, the
 * version), Retry-After as written, and the body's first bytes. An answer ends exactly at its
 * length: bytes fed past its end are not its own (counted in past: on a kept-alive connection
 * they would be an answer to no request, so the connection is not reused). Memory stays bounded
 * whatever the server sends: the head is kept up to HTTPRESP_MAX_HEAD, the body up to keep bytes;
 * an endless answer is the caller's timeout's to end. Interim answers (1xx but 101) are skipped. */
#ifndef ROSTER_HTTPRESP_H
#define ROSTER_HTTPRESP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPRESP_MAX_HEAD        (16u << 10) /* the answer's status line and headers */
#define HTTPRESP_MAX_RETRY_AFTER 40          /* Retry-After's value, as written, kept up to this */

enum httpresp_rc { HTTPRESP_MORE, HTTPRESP_DONE, HTTPRESP_ERR };

struct httpresp {
    char head[HTTPRESP_MAX_HEAD];
    size_t head_len;
    bool in_body, chunked, no_body, head_request;
    long status;
    long long length; /* Content-Length, or -1 */
    long long got;    /* body bytes read */
    /* the final answer's: whether the server keeps the connection open after it (HTTP/1.1
     * without "Connection: close", or HTTP/1.0 with "Connection: keep-alive"), and its
     * Retry-After value as written ("" when none) */
    bool keep_alive;
    char retry_after[HTTPRESP_MAX_RETRY_AFTER];
    size_t past; /* bytes fed after the answer ended (DONE): not the answer's */
    char *kept;  /* the body's first bytes (malloc'd, owned) */
    size_t kept_len, keep;
    /* chunked: where the decoder is (a size line, its extensions, its data, the CRLF after
     * it, the trailer after the last chunk), the chunk's size or what is left of it, and
     * whether the trailer line being read is empty so far */
    enum { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_END, CH_TRAILER } ch;
    unsigned long long ch_left;
    bool ch_digits, ch_blank;
    enum httpresp_rc rc; /* once DONE or ERR, further bytes are ignored */
    const char *err;     /* why ERR: a static sentence */
};

/* Starts r for the answer to a request (head_request: a HEAD's, which has no body), keeping up
 * to keep bytes of the body. */
void httpresp_init(struct httpresp *r, bool head_request, size_t keep);
/* Takes the next n bytes of the answer. HTTPRESP_DONE once it is complete (r->status, and the
 * body's first bytes in r->kept; bytes of p after the end are counted in r->past, as are all
 * bytes fed once DONE), HTTPRESP_MORE for more, HTTPRESP_ERR when it is malformed (r->err says
 * why). */
enum httpresp_rc httpresp_feed(struct httpresp *r, const char *p, size_t n);
/* The server closed the connection: DONE when that ends the answer (a body delimited by the
 * close), ERR otherwise. */
enum httpresp_rc httpresp_eof(struct httpresp *r);
/* Frees what r holds (not r). */
void httpresp_free(struct httpresp *r);

#endif
