/* redact.h — keeps secrets out of `roster check`, /health and logs. Pure. */
#ifndef ROSTER_REDACT_H
#define ROSTER_REDACT_H

#include <stdbool.h>

/* True for names that hold secrets: containing PASSWORD, PASSWD, SECRET, TOKEN or KEY. */
bool redact_is_secret_name(const char *name);
/* The value to show for NAME=value: "****" for secret names, else value with passwords inside
 * URLs masked. Caller frees. */
char *redact_value(const char *name, const char *value);
/* A copy of free text with any URL's password masked. Caller frees. */
char *redact_text(const char *text);

#endif
