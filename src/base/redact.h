/* redact.h — keeps secrets out of `roster check`, /health, /metrics, `status` and roster's own
 * log lines: the one place that decides what a secret looks like. Pure. */
#ifndef ROSTER_REDACT_H
#define ROSTER_REDACT_H

#include <stdbool.h>

#include "base/envmap.h"

/* True for names that hold secrets: containing PASS (PASSWORD, PASSWD, PASSPHRASE), PWD,
 * SECRET, TOKEN, KEY, CREDENTIAL, PRIVATE, AUTH or DSN, in any case. PWD and OLDPWD themselves
 * are the shell's working directories, not secrets. */
bool redact_is_secret_name(const char *name);
/* The value to show for NAME=value: "****" for secret names, else value with any URL's
 * userinfo password masked (redact_text). Caller frees. */
char *redact_value(const char *name, const char *value);
/* A copy of free text with the password of every URL in it masked (url_redact on each
 * whitespace-separated scheme://... word). Caller frees. */
char *redact_text(const char *text);
/* The values of m's secret-named variables (redact_is_secret_name) of REDACT_MIN_VALUE
 * characters or more are added to secrets (keyed by the value itself; the caller frees it). */
#define REDACT_MIN_VALUE 6
void redact_collect(envmap *secrets, const envmap *m);
/* A copy of text with every occurrence of a value in secrets replaced by "****", then
 * redact_text: for a command line or a probe target that ${VAR} filled in. Caller frees. */
char *redact_known(const char *text, const envmap *secrets);
/* A copy of a URL (postgres, redis, http ...) with its password replaced by "****": everything
 * from the ':' after the user name to the last '@' of the URL, so that a password holding '/',
 * '?', '#', '@' or ':' unencoded (libpq and others accept some of them) is hidden whole; an '@'
 * later in the path or query hides more than the password, never less. Also the value of every
 * password= query parameter, and a lone redis://secret@host userinfo. Caller frees. */
char *url_redact(const char *url);

#endif
