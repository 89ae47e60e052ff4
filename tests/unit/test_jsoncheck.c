/* test_jsoncheck.c — the strict JSON check (RFC 8259 grammar, UTF-8 only, depth bound) that the
 * job store and the jobs API run on payloads, and its UTF-8 sequence lengths. */
#include <string.h>

#include "base/jsoncheck.h"
#include "t.h"

static bool ok(const char *s)
{
    return json_check(s, strlen(s), NULL, NULL);
}

/* The offset json_check stops at for s (which must be no JSON), and its reason is set. */
static size_t bad_at(const char *s, size_t len)
{
    size_t at = 9999;
    const char *why = NULL;
    CHECK(!json_check(s, len, &at, &why));
    CHECK(why && *why);
    return at;
}

static void test_values(void)
{
    const char *good[] = {"null", "true", "false", "0", "-0", "1.5e-3", "12E+2", "\"a\\u00e9\\n\"",
                          "[]", "{}", " [1, {\"a\": [true, null]}] \n", "\"\xc3\xa9\xe2\x82\xac\"",
                          "\"\xf0\x9f\x98\x80\""};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(ok(good[i]));
    /* what cJSON takes but RFC 8259 does not */
    const char *bad[] = {"",       "01",        "1.",       ".5",          "+1",       "[1,]",
                         "{\"a\"}", "{a:1}",    "'a'",      "\"a\tb\"",    "nul",      "[1] [2]",
                         "\"\\x\"", "\"\\u12\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
                         "[\x01]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!ok(bad[i]));
    CHECK_INT((long)bad_at("01", 2), 1);
    CHECK_INT((long)bad_at("{\"a\":1,}", 8), 7);
    CHECK_INT((long)bad_at("[1,2", 4), 4);
    /* a NUL byte inside the given length is no JSON */
    CHECK(!json_check("\"a\0b\"", 5, NULL, NULL));
}

static void test_depth(void)
{
    char deep[2100];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    CHECK(json_check(deep, 2000, NULL, NULL)); /* 1000 deep: the bound */
    memset(deep, '[', 1001);
    memset(deep + 1001, ']', 1001);
    CHECK(!json_check(deep, 2002, NULL, NULL));
}

static void test_utf8_lengths(void)
{
    const unsigned char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x80\xc0\xaf";
    size_t n = sizeof s - 1;
    CHECK_INT((long)utf8_seq_len(s, n, 0), 1);
    CHECK_INT((long)utf8_seq_len(s, n, 1), 2);
    CHECK_INT((long)utf8_seq_len(s, n, 3), 3);
    CHECK_INT((long)utf8_seq_len(s, n, 6), 4);
    CHECK_INT((long)utf8_seq_len(s, n, 10), 0);  /* a stray continuation */
    CHECK_INT((long)utf8_seq_len(s, n, 11), 0);  /* an overlong form */
    CHECK_INT((long)utf8_seq_len(s, 8, 6), 0);   /* cut short */
}

int main(void)
{
    test_values();
    test_depth();
    test_utf8_lengths();
    return t_done("jsoncheck");
}
