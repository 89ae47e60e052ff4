/* pathmatch.h — the pure side of watch: glob patterns matched against absolute paths, the
 * directory a pattern can be watched from and how deep below it, and ignore lists. No I/O; the
 * watcher (watch.c) asks these on every file event. */
#ifndef ROSTER_PATHMATCH_H
#define ROSTER_PATHMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Whether path matches the glob pat, as fnmatch(FNM_PATHNAME) does, plus '**': a segment that
 * is exactly '**' matches any number of segments, none too (src, '**' and '*.js' joined by
 * slashes match src/a.js and src/x/y/a.js; src and '**' alone match everything under src).
 * '*' and '?' do not cross '/'; "[a-z]" and "[!x]" are classes; '\' quotes the next character;
 * a '[' without its ']' is literal. */
bool pathmatch(const char *pat, const char *path);

/* Whether s has a glob character ('*', '?', '['). */
bool pathmatch_has_glob(const char *s);

/* Where a pattern can be watched from: the length of its literal directory (the part before the
 * segment holding its first glob character, without the trailing '/'; 0 when that is the root
 * "/" itself, 1 for the root, so "/" keeps its slash), and how many directory levels below it a
 * match can be (-1: any, the pattern has '**'). A pattern without globs is a file: its directory
 * at depth 0. */
size_t pathmatch_root(const char *pat, int *depth);

/* Whether path is ignored: a pattern without '/' matches any one segment of it (node_modules,
 * *.log); a pattern with '/' matches the path or any directory it is under (the pattern is
 * absolute, like path). */
bool pathmatch_ignored(const char *const *pats, size_t n, const char *path);

#endif
