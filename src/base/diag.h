/* diag.h — collects configuration and usage errors as "FILE:LINE:COL: message" lines.
 * Loaders add to a diags list and keep going where they can, so one run shows every mistake. */
#ifndef ROSTER_DIAG_H
#define ROSTER_DIAG_H

#include <stdio.h>

#include "base/util.h"

/* A place in a source file. line and col are 1-based; 0 means "not known". file is borrowed. */
typedef struct src_pos {
    const char *file;
    int line, col;
} src_pos;

typedef struct diags {
    strvec items;
} diags;

#define DIAGS_MAX 50 /* beyond this, further errors are counted but not kept */

void diags_add(diags *d, src_pos pos, const char *fmt, ...) ROSTER_PRINTF(3, 4);
void diags_vadd(diags *d, src_pos pos, const char *fmt, va_list ap);
size_t diags_count(const diags *d);
void diags_print(const diags *d, FILE *out);
void diags_free(diags *d);

#endif
