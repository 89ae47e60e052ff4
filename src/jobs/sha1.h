/* sha1.h — SHA-1 in hex, to name Lua scripts for EVALSHA (private to src/jobs/; not for
 * anything that needs a secure hash). */
#ifndef ROSTER_JOBS_SHA1_H
#define ROSTER_JOBS_SHA1_H

#include <stddef.h>

/* hex: 41 bytes (40 digits and a NUL). */
void jobs_sha1_hex(const void *data, size_t len, char hex[41]);

#endif
