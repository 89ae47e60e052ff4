/* pkgscripts.h — concurrently's command shortcuts and script wildcards: `npm:NAME`, `yarn:`,
 * `pnpm:`, `bun:`, `node:`, `deno:` (and roster's `run:`, whose package manager comes from the
 * project's lockfile), `npm:dev:*` expanded against package.json's scripts (deno.json's tasks for
 * `deno task`), with exclusions `npm:dev:*(!web)`. It follows concurrently 9's
 * src/command-parser/expand-shortcut.ts and expand-wildcard.ts; the few places where it differs
 * are said below. Pure apart from reading package.json, deno.json(c) and lockfiles. */
#ifndef ROSTER_PKGSCRIPTS_H
#define ROSTER_PKGSCRIPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* package.json and deno.json(c) larger than this are an error rather than read. */
#define PKG_MAX_FILE (16u << 20)

enum pkg_manager { PKG_NPM, PKG_YARN, PKG_PNPM, PKG_BUN };

/* "npm", "yarn", "pnpm" or "bun". */
const char *pkg_manager_name(enum pkg_manager pm);

/* The package manager of the project in dir, for the shortcut that leaves it open (`run:NAME`).
 * The rule: the first of these lockfiles present in dir itself wins — bun.lock, bun.lockb,
 * pnpm-lock.yaml, yarn.lock, package-lock.json, npm-shrinkwrap.json (the order of
 * package-manager-detector, which ni and others use); without one, package.json's corepack field
 * ("packageManager": "pnpm@9.1.0"); else npm. Parent directories are not searched: in a
 * workspace, run roster from the root or name the manager (`pnpm:`). */
enum pkg_manager pkg_manager_detect(const char *dir);

/* The scripts of one project directory, each file read at most once (concurrently caches them
 * the same way). Owns everything it holds. */
struct pkg_project {
    char *dir;
    bool pkg_read, deno_read;
    int pm;         /* enum pkg_manager once detected, else -1 */
    char *pkg_pm;   /* package.json's "packageManager", when it has one */
    strvec scripts; /* package.json "scripts" keys, in JavaScript's Object.keys order */
    strvec tasks;   /* deno.json(c) "tasks" keys followed by the scripts, as concurrently lists
                       them for `deno task` (deno falls back to package.json scripts) */
};

/* dir is copied; NULL means the current directory. */
void pkg_project_init(struct pkg_project *p, const char *dir);
void pkg_project_free(struct pkg_project *p);

/* One command after expansion; both strings owned by the list. */
struct pkg_cmd {
    char *name;
    char *command;
};

/* A list with a ceiling: pkg_expand fails rather than grow it past max. */
struct pkg_cmds {
    struct pkg_cmd *v;
    size_t n, cap, max;
};

void pkg_cmds_init(struct pkg_cmds *l, size_t max);
void pkg_cmds_free(struct pkg_cmds *l);

/* Expands one command (its quotes already stripped) with its name ("" when none) and appends
 * the result to out: the command itself when it is neither a shortcut nor a wildcard, one
 * command for a shortcut, and as many as there are matching scripts for a wildcard (possibly
 * none: concurrently then runs nothing, and a warning saying so is pushed on warnings).
 *
 * Shortcut: `npm:foo -- bar` becomes `npm run foo -- bar` named "foo" unless a name was given
 * (`node:` gives `node --run`, `deno:` gives `deno task`, `run:` the detected manager's `run`).
 * Wildcard: the first `npm run`, `yarn run`, `pnpm run`, `bun run`, `node --run` or `deno task`
 * followed by a script with a `*` is matched against the project's scripts; each match is named
 * by what the `*` matched, after the given name if one was given (-n w: npm:watch-* gives w:js);
 * `(!RE)` in the script drops the scripts RE matches (a POSIX extended regular expression here,
 * a JavaScript one in concurrently: the same for words and `|`). Unlike concurrently, the text
 * before that `npm run` and from the first `&` after it is kept, not dropped, so
 * `cd web && npm run dev:*` still changes directory.
 *
 * Returns 0, or -1 with a message in err: package.json or deno.json unreadable, not JSON or
 * too large (concurrently treats those as having no scripts), a bad exclusion pattern, or more
 * commands than out->max. A missing file has no scripts, as in concurrently. */
int pkg_expand(struct pkg_project *p, const char *command, const char *name, struct pkg_cmds *out,
               strvec *warnings, char *err, size_t errlen);

#endif
