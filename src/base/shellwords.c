/* shellwords.c — a command string split into words when no shell is needed (see shellwords.h).
 * The rule is deliberately narrow: a string that might mean something to /bin/sh goes to it. */
#include "base/shellwords.h"

#include <string.h>

/* Characters that make a shell do something when unquoted. */
static const char SHELL_META[] = ";&|<>()$`\\*?[]{}~#!\n\r";

/* The first word of these runs inside the shell itself (or changes its grammar). */
static const char *const SHELL_WORDS[] = {
    ".",     ":",      "alias",  "bg",     "break", "case",   "cd",      "command", "continue",
    "do",    "done",   "elif",   "else",   "esac",  "eval",   "exec",    "exit",    "export",
    "fc",    "fg",     "fi",     "for",    "function", "getopts", "hash", "if",   "in",
    "jobs",  "let",    "local",  "read",   "readonly", "return", "select", "set", "shift",
    "source", "then",  "time",   "times",  "trap",  "type",   "typeset", "ulimit", "umask",
    "unalias", "unset", "until", "wait",   "while",
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool shell_word(const char *w)
{
    for (size_t i = 0; i < ARRAY_SIZE(SHELL_WORDS); i++)
        if (!strcmp(w, SHELL_WORDS[i])) return true;
    return false;
}

bool shellwords_split(const char *cmd, strvec *out)
{
    strvec words = {0};
    sbuf w;
    sbuf_init(&w);
    const char *p = cmd;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p) break;
        bool first = words.n == 0;
        sbuf_reset(&w);
        while (*p && !is_blank(*p)) {
            char c = *p;
            if (c == '\'') {
                const char *end = strchr(p + 1, '\'');
                if (!end) goto shell;
                sbuf_append(&w, p + 1, (size_t)(end - p - 1));
                p = end + 1;
            } else if (c == '"') {
                const char *q = p + 1;
                while (*q && *q != '"') {
                    if (*q == '$' || *q == '`' || *q == '\\') goto shell;
                    q++;
                }
                if (!*q) goto shell;
                sbuf_append(&w, p + 1, (size_t)(q - p - 1));
                p = q + 1;
            } else {
                if (strchr(SHELL_META, c)) goto shell;
                if (c == '=' && first) goto shell; /* VAR=value cmd: an assignment */
                sbuf_putc(&w, c);
                p++;
            }
        }
        if (first && shell_word(w.data ? w.data : "")) goto shell;
        strvec_pushdup(&words, w.data ? w.data : "");
    }
    sbuf_free(&w);
    if (words.n == 0) {
        strvec_free(&words);
        return false;
    }
    *out = words;
    return true;
shell:
    sbuf_free(&w);
    strvec_free(&words);
    return false;
}
