/* redact.c — secret masking. */
#include "base/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/pgurl.h"
#include "base/util.h"

bool redact_is_secret_name(const char *name)
{
    static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY"};
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (str_icontains(name, words[i])) return true;
    return false;
}

char *redact_text(const char *text)
{
    sbuf b;
    sbuf_init(&b);
    const char *p = text;
    for (;;) {
        const char *sep = strstr(p, "://");
        if (!sep) {
            sbuf_puts(&b, p);
            break;
        }
        /* back up to the scheme's start */
        const char *start = sep;
        while (start > p && (isalnum((unsigned char)start[-1]) || start[-1] == '+' ||
                             start[-1] == '-' || start[-1] == '.'))
            start--;
        const char *end = sep + 3;
        while (*end && !isspace((unsigned char)*end) && *end != '"' && *end != '\'')
            end++;
        sbuf_append(&b, p, (size_t)(start - p));
        char *url = xstrndup(start, (size_t)(end - start));
        char *red = url_redact(url);
        sbuf_puts(&b, red);
        free(red);
        free(url);
        p = end;
    }
    return sbuf_detach(&b);
}

char *redact_value(const char *name, const char *value)
{
    if (redact_is_secret_name(name)) return xstrdup(*value ? "****" : "");
    return redact_text(value);
}
