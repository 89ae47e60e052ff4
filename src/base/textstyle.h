/* textstyle.h — the checks of concurrently's output look that both its command line (-c, -t)
 * and roster.yaml (a role's color:, output.timestamp_format) make before anything runs: a chalk
 * color style, and a Unicode date pattern as concurrently's date-format.ts takes it. Pure. */
#ifndef ROSTER_TEXTSTYLE_H
#define ROSTER_TEXTSTYLE_H

#include <stddef.h>

/* Whether c is "", "auto", or a dotted path of chalk 4 styles whose first step may be #RGB or
 * #RRGGBB ("red", "bgBlue.bold", "#23de43.inverse"). Returns 0, or -1 with a message in err
 * naming the unknown word ("unknown color 'bleu' in 'bleu.bold' (...)"). */
int textstyle_check_color(const char *c, char *err, size_t errlen);

/* Whether fmt is a date pattern concurrently formats without throwing: every letter run a
 * field it supports at that length ('quoted text' is literal). Returns 0, or -1 with a message
 * in err ("formatting token \"Q\" is invalid (in 'Q')"). */
int textstyle_check_date(const char *fmt, char *err, size_t errlen);

#endif
