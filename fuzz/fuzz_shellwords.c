/* fuzz_shellwords.c — the shell-or-exec decision and word splitting (base/shellwords.c).
 * Properties: words it splits contain none of the blanks that separate them unless quoted, and
 * quoting every word again (each byte on its own: 'c', or "'" for a quote) splits back to the
 * same words — the words are what a shell would have passed. */
#include "base/shellwords.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *cmd = fuzz_cstr(data, size);
    strvec words = {0};
    if (shellwords_split(cmd, &words)) {
        FUZZ_CHECK(words.n > 0);
        sbuf q;
        sbuf_init(&q);
        for (size_t i = 0; i < words.n; i++) {
            if (i) sbuf_putc(&q, ' ');
            if (!words.v[i][0]) sbuf_puts(&q, "''");
            for (const char *c = words.v[i]; *c; c++) {
                if (*c == '\'')
                    sbuf_puts(&q, "\"'\"");
                else
                    sbuf_printf(&q, "'%c'", *c);
            }
        }
        strvec again = {0};
        FUZZ_CHECK(shellwords_split(q.data, &again));
        FUZZ_CHECK(strvec_equal(&words, &again));
        strvec_free(&again);
        sbuf_free(&q);
        strvec_free(&words);
    }
    free(cmd);
    return 0;
}
