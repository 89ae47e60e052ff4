/* textstyle.c — chalk color styles and Unicode date patterns, checked. */
#include "base/textstyle.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"

/* chalk 4's styles, which concurrently's -c reaches as a dotted path: each between blanks. */
static const char chalk_styles[] =
    " reset bold dim italic underline inverse hidden strikethrough visible black red "
    " green yellow blue magenta cyan white gray grey blackBright redBright "
    " greenBright yellowBright blueBright magentaBright cyanBright whiteBright "
    " bgBlack bgRed bgGreen bgYellow bgBlue bgMagenta bgCyan bgWhite bgGray bgGrey "
    " bgBlackBright bgRedBright bgGreenBright bgYellowBright bgBlueBright "
    " bgMagentaBright bgCyanBright bgWhiteBright ";

static bool is_hex_color(const char *s, size_t n)
{
    if (n != 4 && n != 7) return false;
    for (size_t i = 1; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return s[0] == '#';
}

int textstyle_check_color(const char *c, char *err, size_t errlen)
{
    if (!*c || !strcmp(c, "auto")) return 0;
    for (const char *seg = c;;) {
        size_t n = strcspn(seg, ".");
        bool ok = seg == c && is_hex_color(seg, n);
        if (!ok && n && n < 32 && !memchr(seg, ' ', n)) {
            char word[36];
            snprintf(word, sizeof word, " %.*s ", (int)n, seg);
            ok = strstr(chalk_styles, word) != NULL;
        }
        if (!ok) {
            snprintf(err, errlen,
                     "unknown color '%.*s' in '%s' (a color such as red, redBright, bgRed, "
                     "#23de43 or auto, then modifiers: .bold .dim .italic .underline .inverse "
                     ".hidden .strikethrough)",
                     (int)n, seg, c);
            return -1;
        }
        if (!seg[n]) return 0;
        seg += n + 1;
    }
}

/* The lengths concurrently's date-format.ts supports for each pattern letter (bit L-1 for
 * length L); a letter that is absent is invalid, a length whose bit is clear unsupported. */
static const struct {
    char letter;
    unsigned char lengths;
} date_tokens[] = {
    {'G', 0x1f}, {'y', 0x1f}, {'Y', 0x1f}, {'u', 0x00}, {'U', 0x01}, {'r', 0x01}, {'Q', 0x13},
    {'q', 0x13}, {'M', 0x1f}, {'L', 0x1f}, {'l', 0x01}, {'w', 0x03}, {'W', 0x01}, {'d', 0x03},
    {'D', 0x07}, {'F', 0x01}, {'g', 0x00}, {'E', 0x0f}, {'e', 0x0c}, {'c', 0x00}, {'a', 0x07},
    {'b', 0x00}, {'B', 0x0f}, {'h', 0x03}, {'H', 0x03}, {'K', 0x03}, {'k', 0x03}, {'j', 0x00},
    {'J', 0x00}, {'C', 0x00}, {'m', 0x03}, {'s', 0x03}, {'S', 0x07}, {'A', 0x00}, {'z', 0x0f},
    {'Z', 0x08}, {'O', 0x09}, {'v', 0x09}, {'V', 0x00}, {'X', 0x00}, {'x', 0x00},
};

int textstyle_check_date(const char *fmt, char *err, size_t errlen)
{
    for (size_t i = 0; fmt[i];) {
        char c = fmt[i];
        if (c == '\'') { /* a literal: 'text', with '' for a quote */
            for (i++; fmt[i]; i++) {
                if (fmt[i] == '\'' && fmt[i + 1] != '\'') {
                    i++;
                    break;
                }
                if (fmt[i] == '\'') i++;
            }
        } else if (isalpha((unsigned char)c)) {
            size_t n = strspn(fmt + i, (char[]){c, 0});
            int lengths = -1;
            for (size_t k = 0; k < ARRAY_SIZE(date_tokens); k++)
                if (date_tokens[k].letter == c) lengths = date_tokens[k].lengths;
            if (lengths < 0) {
                snprintf(err, errlen, "formatting token \"%c\" is invalid (in '%s')", c, fmt);
                return -1;
            }
            if (n > 5 || !(lengths & (1 << (n - 1)))) {
                snprintf(err, errlen, "formatting token \"%.*s\" is unsupported (in '%s')",
                         (int)n, fmt + i, fmt);
                return -1;
            }
            i += n;
        } else {
            i++;
        }
    }
    return 0;
}
