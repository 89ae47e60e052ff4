/* pathmatch.c — glob matching with '**', watch roots and ignore lists. See pathmatch.h. */
#include "watch/pathmatch.h"

#include <string.h>

/* One bracket class at p (after its '['): *matched says whether c is in it; returns the
 * pattern after the ']', or NULL when the class has no ']' (the '[' is then literal). */
static const char *match_class(const char *p, char c, bool *matched)
{
    bool neg = *p == '!' || *p == '^';
    if (neg) p++;
    bool in = false;
    const char *start = p;
    while (*p && (*p != ']' || p == start)) {
        char lo = *p, hi = lo;
        if (p[1] == '-' && p[2] && p[2] != ']') {
            hi = p[2];
            p += 2;
        }
        if (lo <= c && c <= hi) in = true;
        p++;
    }
    if (*p != ']') return NULL;
    *matched = in != neg;
    return p + 1;
}

static bool match_from(const char *pat, const char *p, const char *s)
{
    while (*p) {
        bool seg_start = p == pat || p[-1] == '/';
        if (p[0] == '*' && p[1] == '*' && seg_start && (p[2] == '/' || !p[2])) {
            if (!p[2]) return true; /* "**" at the end: everything below */
            const char *rest = p + 3;
            /* a, '**' and b joined by slashes match a/b: the '**' stands for no segment */
            for (const char *t = s;;) {
                if (match_from(pat, rest, t)) return true;
                t = strchr(t, '/');
                if (!t) return false;
                t++;
            }
        }
        switch (*p) {
        case '*':
            while (*p == '*')
                p++;
            for (const char *t = s;; t++) {
                if (match_from(pat, p, t)) return true;
                if (!*t || *t == '/') return false;
            }
        case '?':
            if (!*s || *s == '/') return false;
            p++;
            s++;
            continue;
        case '[': {
            bool in = false;
            const char *after = match_class(p + 1, *s, &in);
            if (after) {
                if (!*s || *s == '/' || !in) return false;
                p = after;
                s++;
                continue;
            }
            break; /* no ']': a literal '[' */
        }
        case '\\':
            if (p[1]) p++;
            break;
        default: break;
        }
        if (*p != *s) return false;
        p++;
        s++;
    }
    return !*s;
}

bool pathmatch(const char *pat, const char *path)
{
    return match_from(pat, pat, path);
}

bool pathmatch_has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

size_t pathmatch_root(const char *pat, int *depth)
{
    const char *g = strpbrk(pat, "*?[");
    const char *end = g ? g : pat + strlen(pat);
    /* the last '/' before the first glob character (or in the whole path, for a file) */
    const char *slash = NULL;
    for (const char *c = pat; c < end; c++)
        if (*c == '/') slash = c;
    size_t len = slash ? (size_t)(slash - pat) : 0;
    if (slash == pat) len = 1; /* the root directory keeps its '/' */
    if (!g) {
        *depth = 0;
        return len;
    }
    if (strstr(slash ? slash : pat, "**")) {
        *depth = -1;
        return len;
    }
    int levels = 0;
    for (const char *c = slash ? slash + 1 : pat; *c; c++)
        if (*c == '/') levels++;
    *depth = levels;
    return len;
}

/* Whether any one segment of path matches pat (which has no '/'). */
static bool segment_matches(const char *pat, const char *path)
{
    char seg[256];
    for (const char *s = path; *s;) {
        while (*s == '/')
            s++;
        size_t n = strcspn(s, "/");
        if (n && n < sizeof seg) {
            memcpy(seg, s, n);
            seg[n] = '\0';
            if (pathmatch(pat, seg)) return true;
        }
        s += n;
    }
    return false;
}

/* Whether pat matches path or one of the directories above it. */
static bool prefix_matches(const char *pat, const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) return false;
    memcpy(buf, path, n + 1);
    for (;;) {
        if (pathmatch(pat, buf)) return true;
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf) return false;
        *slash = '\0';
    }
}

bool pathmatch_ignored(const char *const *pats, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        bool hit = strchr(pats[i], '/') ? prefix_matches(pats[i], path)
                                        : segment_matches(pats[i], path);
        if (hit) return true;
    }
    return false;
}
