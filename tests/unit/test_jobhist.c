/* test_jobhist.c — the error column of roster_jobs (roles/jobhist.c): an error cut to its first
 * bytes as valid UTF-8, so that Postgres never refuses a row for its error text (an HTTP answer's
 * first line may hold any bytes): a sequence that does not fit whole is left out, and a byte of
 * an invalid one (stray continuation, overlong form, surrogate, past U+10FFFF) becomes '?'. */
#include <string.h>

#include "roles/jobhist.h"
#include "t.h"

static void clip(const char *in, size_t max, const char *want)
{
    char out[64];
    jobhist_clip_utf8(in, max, out);
    CHECK_STR(out, want);
}

int main(void)
{
    clip("exit 3", 1024, "exit 3");
    clip("", 10, "");
    clip("abcdef", 3, "abc");
    /* é is two bytes, € three, 😀 four: cut before a sequence that does not fit */
    clip("a\xc3\xa9", 2, "a");
    clip("a\xc3\xa9", 3, "a\xc3\xa9");
    clip("\xe2\x82\xac\xe2\x82\xac", 5, "\xe2\x82\xac");
    clip("\xf0\x9f\x98\x80!", 4, "\xf0\x9f\x98\x80");
    /* invalid bytes become '?' one by one */
    clip("HTTP 500: \xff\xfe ok", 1024, "HTTP 500: ?? ok");
    clip("\x80x", 10, "?x");              /* a stray continuation byte */
    clip("\xc0\xaf", 10, "??");           /* an overlong '/' */
    clip("\xed\xa0\x80", 10, "???");      /* a surrogate (U+D800) */
    clip("\xf4\x90\x80\x80", 10, "????"); /* past U+10FFFF */
    clip("\xc3", 10, "?");                /* cut short at the end of the text */
    clip("\xe2\x82x", 10, "??x");
    /* the limit holds with '?' too */
    clip("\xff\xff\xff", 2, "??");
    char big[3000];
    memset(big, 'e', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char out[1025];
    jobhist_clip_utf8(big, 1024, out);
    CHECK_INT((int)strlen(out), 1024);
    return t_done("jobhist");
}
