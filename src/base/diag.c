/* diag.c — error collection for loaders. */
#include "base/diag.h"

#include <stdlib.h>

#include "base/redact.h"

void diags_vadd(diags *d, src_pos pos, const char *fmt, va_list ap)
{
    if (d->items.n >= DIAGS_MAX) return;
    sbuf b;
    sbuf_init(&b);
    if (pos.file && pos.line > 0 && pos.col > 0)
        sbuf_printf(&b, "%s:%d:%d: ", pos.file, pos.line, pos.col);
    else if (pos.file && pos.line > 0)
        sbuf_printf(&b, "%s:%d: ", pos.file, pos.line);
    else if (pos.file)
        sbuf_printf(&b, "%s: ", pos.file);
    sbuf_vprintf(&b, fmt, ap);
    strvec_push(&d->items, sbuf_detach(&b));
}

void diags_add(diags *d, src_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diags_vadd(d, pos, fmt, ap);
    va_end(ap);
}

size_t diags_count(const diags *d)
{
    return d->items.n;
}

void diags_print(const diags *d, FILE *out)
{
    /* a config error may quote a value that holds a URL: its password is not printed */
    for (size_t i = 0; i < d->items.n; i++) {
        char *r = redact_text(d->items.v[i]);
        fprintf(out, "%s\n", r);
        free(r);
    }
}

void diags_free(diags *d)
{
    strvec_free(&d->items);
}
