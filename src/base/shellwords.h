/* shellwords.h — deciding whether a command string needs a shell, and splitting it when it does
 * not. A string command such as `node dist/index.js --port 3000` is exec'd as its words, as
 * foreman (Ruby's Process.spawn) does, so the role's pid is the program's: it gets the stop signal
 * itself, its own exit status is reported, and no /bin/sh lingers beside it. Anything a shell
 * would interpret is left to /bin/sh -c. */
#ifndef ROSTER_SHELLWORDS_H
#define ROSTER_SHELLWORDS_H

#include <stdbool.h>

#include "base/util.h"

/* Splits cmd into words when no shell is needed: words separated by blanks, each optionally
 * made of '...' parts (taken literally) and "..." parts without $, `, \ or " inside. Returns
 * false, leaving out untouched, when the string holds anything a shell would interpret: ; & | <
 * > ( ) $ ` \ * ? [ ] { } ~ # ! newline, an unquoted = in the first word (VAR=value cmd), a first
 * word that is a shell keyword or builtin (cd, export, exec, if, ...), an unterminated quote, or no
 * words at all. On true, out holds the words (owned by out; the caller frees it). */
bool shellwords_split(const char *cmd, strvec *out);

#endif
