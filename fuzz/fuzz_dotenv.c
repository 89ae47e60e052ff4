/* fuzz_dotenv.c — the .env parser (config/dotenv.c) on any bytes, unterminated. Properties: every
 * key it hands out is a variable name, and lines are counted forward. */
#include <ctype.h>

#include "config/dotenv.h"
#include "fuzz.h"

struct seen {
    int last_line;
};

static void check_pair(void *ud, const char *key, const char *value, int line)
{
    struct seen *s = ud;
    (void)value;
    FUZZ_CHECK(isalpha((unsigned char)key[0]) || key[0] == '_');
    for (const char *k = key; *k; k++)
        FUZZ_CHECK(isalnum((unsigned char)*k) || *k == '_' || *k == '.');
    FUZZ_CHECK(line >= 1 && line >= s->last_line);
    s->last_line = line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    struct seen s = {0};
    struct dotenv_error err;
    enum dotenv_result r = dotenv_parse(text, size, check_pair, &s, &err);
    FUZZ_CHECK(r == DOTENV_OK || r == DOTENV_ESYNTAX);
    if (r == DOTENV_ESYNTAX) FUZZ_CHECK(err.line >= 1 && err.col >= 1 && err.msg[0]);
    free(text);
    return 0;
}
