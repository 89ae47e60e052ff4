/* redact.h — keeps secrets out of `roster check`, /health, /metrics, `status` and roster's own
 * log lines: the one place that decides what a secret looks like. Pure. */
#ifndef ROSTER_REDACT_H
#define ROSTER_REDACT_H

#include <stdbool.h>

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
/* A copy of a URL (postgres, redis, http ...) with its password replaced by "****": everything
 * from the ':' after the user name to the last '@' of the URL, so that a password holding '/',
 * '?', '#', '@' or ':' unencoded (libpq and others accept some of them) is hidden whole; an '@'
 * later in the path or query hides more than the password, never less. Also the value of every
 * password= query parameter, and a lone redis://secret@host userinfo. Caller frees. */
char *url_redact(const char *url);

#endif
