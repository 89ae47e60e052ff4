/* taskmark.c — a built-in role's lines on behalf of its tasks. See taskmark.h. */
#include "log/taskmark.h"

#include <string.h>

bool taskmark_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > TASKMARK_MAX_NAME) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= ' ' || c >= 0x7f || c == '|') return false;
    }
    return true;
}

bool taskmark_split(const char *line, size_t len, const char **name, size_t *name_len,
                    const char **text, size_t *text_len)
{
    if (len < 3 || line[0] != TASKMARK_START) return false;
    size_t max = len - 1 < TASKMARK_MAX_NAME + 1 ? len - 1 : TASKMARK_MAX_NAME + 1;
    const char *end = memchr(line + 1, TASKMARK_END, max);
    if (!end || !taskmark_name_ok(line + 1, (size_t)(end - line - 1))) return false;
    *name = line + 1;
    *name_len = (size_t)(end - line - 1);
    *text = end + 1;
    *text_len = len - (size_t)(end + 1 - line);
    return true;
}

void taskmark_write(FILE *f, const char *name, const char *text, size_t len)
{
    size_t n = strlen(name);
    if (taskmark_name_ok(name, n))
        fprintf(f, "%c%s%c%.*s\n", TASKMARK_START, name, TASKMARK_END, (int)len, text);
    else
        fprintf(f, "%.*s | %.*s\n", TASKMARK_MAX_NAME, name, (int)len, text);
}
