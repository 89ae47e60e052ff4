/* pkgscripts.c — shortcuts (npm:NAME ...) and wildcards (npm:dev:*(!web)) as concurrently expands
 * them, package.json / deno.json(c) read with cJSON, and the package manager from the lockfile. */
#include "cli/pkgscripts.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const pm_names[] = {"npm", "yarn", "pnpm", "bun"};

const char *pkg_manager_name(enum pkg_manager pm)
{
    return (size_t)pm < ARRAY_SIZE(pm_names) ? pm_names[pm] : "npm";
}

/* JavaScript's \s, restricted to ASCII: script names and commands are rarely anything else. */
static bool js_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char *path_in(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir ? dir : ".", name);
}

/* Copies the JSON string starting at **r (its opening quote) to *w, escapes and all. */
static void copy_string(char **r, char **w)
{
    *(*w)++ = *(*r)++;
    while (**r && **r != '"') {
        if (**r == '\\' && (*r)[1]) *(*w)++ = *(*r)++;
        *(*w)++ = *(*r)++;
    }
    if (**r) *(*w)++ = *(*r)++;
}

/* Removes // and block comments, then commas before ] or }, outside strings: what concurrently's
 * copy of tiny-jsonc does to read deno.jsonc. Works in place. */
static void jsonc_strip(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (*r == '"') {
            copy_string(&r, &w);
        } else if (r[0] == '/' && r[1] == '/') {
            while (*r && *r != '\n')
                r++;
        } else if (r[0] == '/' && r[1] == '*') {
            char *end = strstr(r + 2, "*/");
            r = end ? end + 2 : r + strlen(r);
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    w = s;
    for (char *r = s; *r;) {
        const char *n = r + 1;
        while (*r == ',' && js_space(*n))
            n++;
        if (*r == '"')
            copy_string(&r, &w);
        else if (*r == ',' && (*n == ']' || *n == '}'))
            r = (char *)n;
        else
            *w++ = *r++;
    }
    *w = '\0';
}

/* Reads dir/name as JSON (JSONC when jsonc). A missing file gives *out NULL and 0. */
static int read_json(const char *dir, const char *name, bool jsonc, cJSON **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    char *path = path_in(dir, name);
    char *text = NULL;
    size_t len;
    int r = read_file(path, PKG_MAX_FILE, &text, &len);
    if (r == -ENOENT) {
        free(path);
        return 0;
    }
    if (r < 0) {
        if (r == -EFBIG)
            snprintf(err, errlen, "%s: larger than %u MiB", path, PKG_MAX_FILE >> 20);
        else
            snprintf(err, errlen, "%s: %s", path, strerror(-r));
        free(path);
        return -1;
    }
    if (jsonc) jsonc_strip(text);
    *out = cJSON_Parse(text);
    free(text);
    if (!*out) {
        snprintf(err, errlen, "%s: not valid JSON", path);
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

/* JavaScript's Object.keys puts keys that are array indices ("0", "17", not "07") first, in
 * numeric order, then the others in the order written. */
static bool js_array_index(const char *s, unsigned long long *v)
{
    if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 10) return false;
    unsigned long long n = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        n = n * 10 + (unsigned)(*p - '0');
    }
    *v = n;
    return n < 4294967295ull;
}

/* Appends the keys of obj (when it is an object) to keys, as JavaScript would list them. A key
 * written twice is listed once, where it first appeared. */
static void object_keys(const cJSON *obj, strvec *keys)
{
    if (!cJSON_IsObject(obj)) return;
    size_t first = keys->n;
    for (const cJSON *it = obj->child; it; it = it->next) {
        if (!it->string) continue;
        bool dup = false;
        for (size_t i = first; i < keys->n && !dup; i++)
            dup = strcmp(keys->v[i], it->string) == 0;
        if (!dup) strvec_pushdup(keys, it->string);
    }
    /* A stable insertion sort of the index keys to the front: script lists are short. */
    size_t nidx = first;
    for (size_t i = first; i < keys->n; i++) {
        unsigned long long v, w;
        if (!js_array_index(keys->v[i], &v)) continue;
        char *k = keys->v[i];
        size_t j = i;
        while (j > nidx && !(js_array_index(keys->v[j - 1], &w) && w < v)) {
            keys->v[j] = keys->v[j - 1];
            j--;
        }
        keys->v[j] = k;
        nidx++;
    }
}

void pkg_project_init(struct pkg_project *p, const char *dir)
{
    memset(p, 0, sizeof *p);
    p->dir = xstrdup(dir ? dir : ".");
    p->pm = -1;
}

void pkg_project_free(struct pkg_project *p)
{
    free(p->dir);
    free(p->pkg_pm);
    strvec_free(&p->scripts);
    strvec_free(&p->tasks);
    memset(p, 0, sizeof *p);
    p->pm = -1;
}

static int read_package(struct pkg_project *p, char *err, size_t errlen)
{
    if (p->pkg_read) return 0;
    cJSON *pkg;
    if (read_json(p->dir, "package.json", false, &pkg, err, errlen) < 0) return -1;
    p->pkg_read = true;
    if (!pkg) return 0;
    object_keys(cJSON_GetObjectItemCaseSensitive(pkg, "scripts"), &p->scripts);
    const cJSON *pm = cJSON_GetObjectItemCaseSensitive(pkg, "packageManager");
    if (cJSON_IsString(pm)) p->pkg_pm = xstrdup(pm->valuestring);
    cJSON_Delete(pkg);
    return 0;
}

static int read_deno(struct pkg_project *p, char *err, size_t errlen)
{
    if (p->deno_read) return 0;
    if (read_package(p, err, errlen) < 0) return -1;
    /* deno.json wins over deno.jsonc when both exist, as in concurrently. */
    char *json = path_in(p->dir, "deno.json");
    bool plain = access(json, F_OK) == 0;
    free(json);
    cJSON *deno;
    if (read_json(p->dir, plain ? "deno.json" : "deno.jsonc", true, &deno, err, errlen) < 0)
        return -1;
    p->deno_read = true;
    if (deno) object_keys(cJSON_GetObjectItemCaseSensitive(deno, "tasks"), &p->tasks);
    cJSON_Delete(deno);
    for (size_t i = 0; i < p->scripts.n; i++)
        strvec_pushdup(&p->tasks, p->scripts.v[i]);
    return 0;
}

enum pkg_manager pkg_manager_detect(const char *dir)
{
    static const struct {
        const char *file;
        enum pkg_manager pm;
    } locks[] = {
        {"bun.lock", PKG_BUN},   {"bun.lockb", PKG_BUN},         {"pnpm-lock.yaml", PKG_PNPM},
        {"yarn.lock", PKG_YARN}, {"package-lock.json", PKG_NPM}, {"npm-shrinkwrap.json", PKG_NPM},
    };
    for (size_t i = 0; i < ARRAY_SIZE(locks); i++) {
        char *path = path_in(dir, locks[i].file);
        bool there = access(path, F_OK) == 0;
        free(path);
        if (there) return locks[i].pm;
    }
    struct pkg_project p;
    pkg_project_init(&p, dir);
    char err[8];
    enum pkg_manager pm = PKG_NPM;
    if (read_package(&p, err, sizeof err) == 0 && p.pkg_pm) {
        for (size_t i = 0; i < ARRAY_SIZE(pm_names); i++) {
            size_t n = strlen(pm_names[i]);
            if (!strncmp(p.pkg_pm, pm_names[i], n) && (p.pkg_pm[n] == '@' || !p.pkg_pm[n]))
                pm = (enum pkg_manager)i;
        }
    }
    pkg_project_free(&p);
    return pm;
}

void pkg_cmds_init(struct pkg_cmds *l, size_t max)
{
    memset(l, 0, sizeof *l);
    l->max = max;
}

void pkg_cmds_free(struct pkg_cmds *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].command);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Takes both strings. */
static int cmds_push(struct pkg_cmds *l, char *name, char *command, char *err, size_t errlen)
{
    if (l->n >= l->max) {
        snprintf(err, errlen, "more than %zu commands", l->max);
        free(name);
        free(command);
        return -1;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].name = name;
    l->v[l->n].command = command;
    l->n++;
    return 0;
}

/* The shortcuts of expand-shortcut.ts, and roster's run: (NULL: the detected manager). */
static const struct {
    const char *prefix, *runs;
} shortcuts[] = {
    {"npm", "npm run"},     {"yarn", "yarn run"},  {"pnpm", "pnpm run"}, {"bun", "bun run"},
    {"node", "node --run"}, {"deno", "deno task"}, {"run", NULL},
};

/* `npm:foo -- bar` -> `npm run foo -- bar`, named foo unless named. Returns false when command
 * is no shortcut. concurrently's regex stops its (.*) at a line break and drops the rest; here
 * the rest is kept. */
static bool expand_shortcut(struct pkg_project *p, const char *command, const char *name,
                            char **cmd_out, char **name_out)
{
    for (size_t i = 0; i < ARRAY_SIZE(shortcuts); i++) {
        size_t n = strlen(shortcuts[i].prefix);
        if (strncmp(command, shortcuts[i].prefix, n) || command[n] != ':') continue;
        const char *script = command + n + 1;
        size_t slen = 0;
        while (script[slen] && !js_space(script[slen]))
            slen++;
        if (!slen) return false;
        const char *runs = shortcuts[i].runs;
        if (!runs) {
            if (p->pm < 0) p->pm = (int)pkg_manager_detect(p->dir);
            runs = p->pm == PKG_NPM    ? "npm run"
                   : p->pm == PKG_YARN ? "yarn run"
                   : p->pm == PKG_PNPM ? "pnpm run"
                                       : "bun run";
        }
        *cmd_out = xasprintf("%s %s", runs, script);
        *name_out = *name ? xstrdup(name) : xstrndup(script, slen);
        return true;
    }
    return false;
}

/* Where expand-wildcard.ts's /((?:npm|yarn|pnpm|bun) (?:run)|node --run|deno task) (\S+)([^&]*)/
 * first matches: the runner, the script and the arguments up to the first &. */
struct wild {
    size_t at, runlen, script, scriptlen, args, argslen;
};

static bool find_runner(const char *s, struct wild *w)
{
    static const char *const runners[] = {"npm run", "yarn run",   "pnpm run",
                                          "bun run", "node --run", "deno task"};
    for (size_t i = 0; s[i]; i++) {
        for (size_t k = 0; k < ARRAY_SIZE(runners); k++) {
            size_t n = strlen(runners[k]);
            if (strncmp(s + i, runners[k], n) || s[i + n] != ' ') continue;
            size_t sc = i + n + 1, sl = 0;
            while (s[sc + sl] && !js_space(s[sc + sl]))
                sl++;
            if (!sl) continue;
            size_t a = sc + sl, al = 0;
            while (s[a + al] && s[a + al] != '&')
                al++;
            *w = (struct wild){i, n, sc, sl, a, al};
            return true;
        }
    }
    return false;
}

/* The first (!PATTERN) in glob, as /\(!([^)]+)\)/ finds it: start and length of the whole
 * group, or false. */
static bool find_omission(const char *glob, size_t *at, size_t *len)
{
    for (const char *p = glob; (p = strstr(p, "(!")); p++) {
        const char *close = strchr(p + 2, ')');
        if (!close) return false;
        if (close > p + 2) {
            *at = (size_t)(p - glob);
            *len = (size_t)(close + 1 - p);
            return true;
        }
    }
    return false;
}

/* ^pre(.*?)post$ on script, with JavaScript's . (no line breaks). */
static bool glob_match(const char *script, const char *pre, const char *post, const char **mid,
                       size_t *midlen)
{
    size_t sl = strlen(script), pl = strlen(pre), ql = strlen(post);
    if (sl < pl + ql || strncmp(script, pre, pl) || strcmp(script + sl - ql, post)) return false;
    for (size_t i = pl; i < sl - ql; i++)
        if (script[i] == '\n' || script[i] == '\r') return false;
    *mid = script + pl;
    *midlen = sl - ql - pl;
    return true;
}

static int expand_wildcard(struct pkg_project *p, const char *command, const char *name,
                           struct pkg_cmds *out, strvec *warnings, char *err, size_t errlen)
{
    struct wild w;
    char *glob = NULL;
    if (!find_runner(command, &w) ||
        !memchr(command + w.script, '*', w.scriptlen)) /* nothing to expand */
        return cmds_push(out, xstrdup(name), xstrdup(command), err, errlen);

    glob = xstrndup(command + w.script, w.scriptlen);
    const char *runner = command + w.at;
    bool deno = !strncmp(runner, "deno task", w.runlen);
    if ((deno ? read_deno(p, err, errlen) : read_package(p, err, errlen)) < 0) goto fail;
    const strvec *scripts = deno ? &p->tasks : &p->scripts;

    /* The * is found in the glob with its exclusion, and the glob is cut without it, as
     * concurrently does (which only matters when the exclusion comes first). */
    size_t star = (size_t)(strchr(glob, '*') - glob);
    size_t oat = 0, olen = 0;
    bool omit = find_omission(glob, &oat, &olen);
    char *sans = xstrdup(glob);
    regex_t re;
    if (omit) {
        memmove(sans + oat, sans + oat + olen, strlen(sans + oat + olen) + 1);
        char *pat = xstrndup(glob + oat + 2, olen - 3);
        int rc = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            snprintf(err, errlen, "%s: bad exclusion pattern '%s'", glob, pat);
            free(pat);
            free(sans);
            goto fail;
        }
        free(pat);
    }
    size_t sanslen = strlen(sans);
    char *pre = xstrndup(sans, star < sanslen ? star : sanslen);
    const char *post = star + 1 < sanslen ? sans + star + 1 : "";
    /* A name that is not the glob itself (-n w: npm:watch-*) prefixes every match. */
    const char *prefix = strcmp(name, glob) ? name : "";
    size_t before = out->n;
    int rc = 0;
    for (size_t i = 0; i < scripts->n && rc == 0; i++) {
        const char *s = scripts->v[i];
        const char *mid;
        size_t midlen;
        if (omit && regexec(&re, s, 0, NULL, 0) == 0) continue;
        if (!glob_match(s, pre, post, &mid, &midlen)) continue;
        char *cmd = xasprintf("%.*s%.*s %s%.*s%s", (int)w.at, command, (int)w.runlen, runner, s,
                              (int)w.argslen, command + w.args, command + w.args + w.argslen);
        rc = cmds_push(out, xasprintf("%s%.*s", prefix, (int)midlen, mid), cmd, err, errlen);
    }
    if (rc == 0 && out->n == before && warnings)
        strvec_push(warnings,
                    xasprintf("%s: no script of %s matches %s; nothing to run for it", command,
                              deno ? "deno.json or package.json" : "package.json", glob));
    if (omit) regfree(&re);
    free(pre);
    free(sans);
    free(glob);
    return rc;
fail:
    free(glob);
    return -1;
}

int pkg_expand(struct pkg_project *p, const char *command, const char *name, struct pkg_cmds *out,
               strvec *warnings, char *err, size_t errlen)
{
    char *cmd = NULL, *nm = NULL;
    if (!name) name = "";
    if (expand_shortcut(p, command, name, &cmd, &nm)) {
        int rc = expand_wildcard(p, cmd, nm, out, warnings, err, errlen);
        free(cmd);
        free(nm);
        return rc;
    }
    return expand_wildcard(p, command, name, out, warnings, err, errlen);
}
