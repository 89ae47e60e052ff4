/* concur.c — concurrently's command line: an option table read the way yargs reads it (argv,
 * then CONCURRENTLY_* for what argv left unset), then each value checked and converted, then
 * the commands built (names, quotes, shortcuts and wildcards, passthrough, colors, --hide). */
#include "cli/concur.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/textstyle.h"
#include "cli/pkgscripts.h"

enum opt_type { T_BOOL, T_VALUE, T_ARRAY };

enum opt_id {
    O_MAX_PROCESSES,
    O_NAMES,
    O_NAME_SEPARATOR,
    O_SUCCESS,
    O_RAW,
    O_COLOR,
    O_HIDE,
    O_GROUP,
    O_TIMINGS,
    O_PASSTHROUGH,
    O_TEARDOWN,
    O_KILL_OTHERS,
    O_KILL_OTHERS_ON_FAIL,
    O_KILL_SIGNAL,
    O_KILL_TIMEOUT,
    O_PREFIX,
    O_PREFIX_COLORS,
    O_PREFIX_LENGTH,
    O_PAD_PREFIX,
    O_TIMESTAMP_FORMAT,
    O_RESTART_TRIES,
    O_RESTART_AFTER,
    O_HANDLE_INPUT,
    O_DEFAULT_INPUT_TARGET,
    O_CWD,
    O_TO_YAML,
    O_SOCKET,
    O_HELP,
    O_VERSION,
    O_COUNT
};

/* bin/concurrently.ts's options: long name, aliases (one letter ones cluster, longer ones take
 * two dashes, as in yargs), type, concurrently's default, and whether CONCURRENTLY_* sets it. */
static const struct option {
    const char *name;
    const char *alias[2];
    enum opt_type type;
    const char *def;
    bool env;
} options[O_COUNT] = {
    [O_MAX_PROCESSES] = {"max-processes", {"m"}, T_VALUE, "0", true},
    [O_NAMES] = {"names", {"n"}, T_VALUE, "", true},
    [O_NAME_SEPARATOR] = {"name-separator", {0}, T_VALUE, ",", true},
    [O_SUCCESS] = {"success", {"s"}, T_VALUE, "all", true},
    [O_RAW] = {"raw", {"r"}, T_BOOL, "false", true},
    /* --no-color is the negation of this one, as yargs reads it and chalk obeys it. */
    [O_COLOR] = {"color", {0}, T_BOOL, NULL, true},
    [O_HIDE] = {"hide", {0}, T_VALUE, "", true},
    [O_GROUP] = {"group", {"g"}, T_BOOL, "false", true},
    [O_TIMINGS] = {"timings", {0}, T_BOOL, "false", true},
    [O_PASSTHROUGH] = {"passthrough-arguments", {"P"}, T_BOOL, "false", true},
    [O_TEARDOWN] = {"teardown", {0}, T_ARRAY, NULL, true},
    [O_KILL_OTHERS] = {"kill-others", {"k"}, T_BOOL, "false", true},
    [O_KILL_OTHERS_ON_FAIL] = {"kill-others-on-fail", {0}, T_BOOL, "false", true},
    [O_KILL_SIGNAL] = {"kill-signal", {"ks"}, T_VALUE, "SIGTERM", true},
    [O_KILL_TIMEOUT] = {"kill-timeout", {0}, T_VALUE, NULL, true},
    [O_PREFIX] = {"prefix", {"p"}, T_VALUE, "", true},
    [O_PREFIX_COLORS] = {"prefix-colors", {"c"}, T_VALUE, "reset", true},
    [O_PREFIX_LENGTH] = {"prefix-length", {"l"}, T_VALUE, "10", true},
    [O_PAD_PREFIX] = {"pad-prefix", {0}, T_BOOL, "false", true},
    [O_TIMESTAMP_FORMAT] = {"timestamp-format", {"t"}, T_VALUE, "yyyy-MM-dd HH:mm:ss.SSS", true},
    [O_RESTART_TRIES] = {"restart-tries", {0}, T_VALUE, "0", true},
    [O_RESTART_AFTER] = {"restart-after", {0}, T_VALUE, "0", true},
    [O_HANDLE_INPUT] = {"handle-input", {"i"}, T_BOOL, "false", true},
    [O_DEFAULT_INPUT_TARGET] = {"default-input-target", {0}, T_VALUE, "0", true},
    [O_CWD] = {"cwd", {0}, T_VALUE, NULL, true},
    [O_TO_YAML] = {"to-yaml", {0}, T_BOOL, "false", false},
    [O_SOCKET] = {"socket", {0}, T_VALUE, NULL, false},
    [O_HELP] = {"help", {"h"}, T_BOOL, "false", false},
    [O_VERSION] = {"version", {"v", "V"}, T_BOOL, "false", false},
};

/* One option's value as found: borrowed from argv or environ, or from the pool. */
struct raw {
    const char *val;
    char spelling[48];   /* how the user wrote it, for messages: -s, --success, CONCURRENTLY_... */
    const char *cluster; /* the short cluster it came from (-ks), else NULL */
    bool set;
};

struct parse {
    struct raw raw[O_COUNT];
    strvec teardown, positional, after, pool;
    char *err;
    size_t errlen;
};

/* Writes the message for a usage error; returns -1 to pass on. */
ROSTER_PRINTF(2, 3) static int fail(struct parse *P, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err, P->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* kebab "kill-others" against camel "killOthers", the alias yargs adds for every dashed name. */
static bool camel_eq(const char *kebab, const char *s)
{
    while (*kebab) {
        if (kebab[0] == '-' && kebab[1]) {
            if (*s != toupper((unsigned char)kebab[1])) return false;
            kebab += 2;
        } else {
            if (*s != *kebab) return false;
            kebab++;
        }
        s++;
    }
    return !*s;
}

static int lookup(const char *name)
{
    for (int i = 0; i < O_COUNT; i++) {
        const struct option *op = &options[i];
        if (!strcmp(name, op->name) || camel_eq(op->name, name)) return i;
        for (size_t k = 0; k < ARRAY_SIZE(op->alias); k++)
            if (op->alias[k] && !strcmp(name, op->alias[k])) return i;
    }
    return -1;
}

static int unknown(struct parse *P, const char *spelling, const char *cluster)
{
    const char *best = NULL;
    int bestd = 3;
    const char *name = spelling + strspn(spelling, "-");
    /* name may be empty: a spelling cut to its buffer can be all dashes */
    for (int i = 0; name[0] && name[1] && i < O_COUNT; i++) {
        int d = str_distance(name, options[i].name, 2);
        if (d < bestd) bestd = d, best = options[i].name;
    }
    if (best) return fail(P, "%s: unknown option (did you mean --%s?)", spelling, best);
    if (cluster && strlen(cluster) > 2)
        return fail(P, "%s: unknown option (in %s)", spelling, cluster);
    return fail(P, "%s: unknown option", spelling);
}

static bool is_bool_text(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "false"));
}

/* Records a value. Flags take true or false (negated when neg: --no-color=true); --teardown
 * collects; any other option may be given once, on the command line or in the environment. */
static int set_opt(struct parse *P, int id, const char *spelling, const char *cluster,
                   const char *val, bool neg)
{
    const struct option *op = &options[id];
    if (op->type == T_BOOL) {
        if (!is_bool_text(val))
            return fail(P, "%s: expects true or false, not '%s'", spelling, val ? val : "");
        if (neg) val = strcmp(val, "true") ? "true" : "false";
    } else if (op->type == T_ARRAY) {
        strvec_pushdup(&P->teardown, val);
        return 0;
    } else if (P->raw[id].set) {
        return fail(P, "%s: given more than once", spelling);
    }
    struct raw *r = &P->raw[id];
    r->val = val;
    r->cluster = cluster;
    r->set = true;
    snprintf(r->spelling, sizeof r->spelling, "%s", spelling);
    return 0;
}

/* yargs's negative number: -1, -1.5, -.5 are values and positionals, not options. */
static bool is_negative(const char *s)
{
    if (s[0] != '-') return false;
    s++;
    size_t d = strspn(s, "0123456789");
    if (s[d] == '.') {
        size_t f = strspn(s + d + 1, "0123456789");
        return f && !s[d + 1 + f];
    }
    return d && !s[d];
}

/* yargs's /^-?\d+(\.\d*)?(e-?\d+)?$/: what may follow a letter directly (-l5, -m2). */
static bool is_attached_number(const char *s)
{
    if (*s == '-') s++;
    size_t d = strspn(s, "0123456789");
    if (!d) return false;
    s += d;
    if (*s == '.') s += 1 + strspn(s + 1, "0123456789");
    if (*s == 'e') {
        s++;
        if (*s == '-') s++;
        d = strspn(s, "0123456789");
        if (!d) return false;
        s += d;
    }
    return !*s;
}

/* yargs strips one pair of matching quotes from an --opt=value value. */
static const char *strip_value_quotes(struct parse *P, const char *v)
{
    size_t n = strlen(v);
    if (n && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        strvec_push(&P->pool, n > 1 ? xstrndup(v + 1, n - 2) : xstrdup(""));
        return P->pool.v[P->pool.n - 1];
    }
    return v;
}

/* An option with its value in the next word: a flag takes a following true or false; another
 * option takes the next word unless it looks like an option (long: starts with -; short, as
 * yargs tests: matches ^(-|--)[^-]), a negative number being a value. */
static int take_next(struct parse *P, int id, const char *spelling, const char *cluster, int argc,
                     char **argv, int *i, bool short_rule)
{
    const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (options[id].type == T_BOOL) {
        if (is_bool_text(next)) {
            ++*i;
            return set_opt(P, id, spelling, cluster, next, false);
        }
        return set_opt(P, id, spelling, cluster, "true", false);
    }
    bool looks_like_option =
        next && (short_rule ? (next[0] == '-' && ((next[1] && next[1] != '-') ||
                                                  (next[1] == '-' && next[2] && next[2] != '-')))
                            : next[0] == '-');
    if (!next || (looks_like_option && !is_negative(next)))
        return fail(P, "%s: needs a value", spelling);
    ++*i;
    return set_opt(P, id, spelling, cluster, next, false);
}

static int long_opt(struct parse *P, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg + 2, '=');
    char spelling[48];
    if (eq && eq > arg + 2) {
        char *key = xstrndup(arg + 2, (size_t)(eq - arg - 2));
        snprintf(spelling, sizeof spelling, "--%s", key);
        int id = lookup(key);
        bool neg = false;
        if (id < 0 && !strncmp(key, "no-", 3) && (id = lookup(key + 3)) >= 0) {
            neg = true;
            if (options[id].type != T_BOOL) id = -1;
        }
        free(key);
        if (id < 0) return unknown(P, spelling, NULL);
        return set_opt(P, id, spelling, NULL, strip_value_quotes(P, eq + 1), neg);
    }
    snprintf(spelling, sizeof spelling, "%s", arg);
    int id = lookup(arg + 2);
    /* --no-FLAG is yargs's negation of any flag. */
    if (id < 0 && !strncmp(arg, "--no-", 5)) {
        int flag = lookup(arg + 5);
        if (flag >= 0 && options[flag].type == T_BOOL)
            return set_opt(P, flag, spelling, NULL, "false", false);
    }
    if (id < 0) return unknown(P, spelling, NULL);
    return take_next(P, id, spelling, NULL, argc, argv, i, false);
}

/* A cluster such as -ki, -l5, -n=a,b or -p{index}, split as yargs splits it: each letter but
 * the last is a flag, unless = follows it, a number follows it, or a non-word character follows
 * it: then the rest of the word is its value. The last letter may take the next word. */
static int short_opts(struct parse *P, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    size_t len = strlen(arg);
    char spelling[3] = {'-', 0, 0};
    for (size_t k = 1; k + 1 < len; k++) {
        spelling[1] = arg[k];
        int id = lookup(spelling + 1);
        if (id < 0) return unknown(P, spelling, arg);
        const char *rest = arg + k + 1;
        bool more = k + 1 < len - 1; /* a letter follows that is not the last character */
        if (more && arg[k + 1] == '=') return set_opt(P, id, spelling, arg, arg + k + 2, false);
        if (!strcmp(rest, "-")) {
            if (set_opt(P, id, spelling, arg, rest, false) < 0) return -1;
            continue;
        }
        if ((isalpha((unsigned char)arg[k]) && is_attached_number(rest)) ||
            (more && !isalnum((unsigned char)arg[k + 1]) && arg[k + 1] != '_'))
            return set_opt(P, id, spelling, arg, rest, false);
        if (options[id].type != T_BOOL) return fail(P, "%s: needs a value", spelling);
        if (set_opt(P, id, spelling, arg, "true", false) < 0) return -1;
    }
    if (arg[len - 1] == '-') return 0;
    spelling[1] = arg[len - 1];
    int id = lookup(spelling + 1);
    if (id < 0) return unknown(P, spelling, arg);
    return take_next(P, id, spelling, len > 2 ? arg : NULL, argc, argv, i, true);
}

static int parse_argv(struct parse *P, int argc, char **argv)
{
    bool after = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (after) {
            strvec_pushdup(&P->after, a);
        } else if (!strcmp(a, "--")) {
            after = true;
        } else if (!strncmp(a, "---", 3) &&
                   (a[3 + strspn(a + 3, "-")] == '\0' || a[3 + strspn(a + 3, "-")] == '=')) {
            strvec_pushdup(&P->positional, a); /* yargs: options without a name are words */
        } else if (!strncmp(a, "--", 2)) {
            if (long_opt(P, argc, argv, &i) < 0) return -1;
        } else if (a[0] == '-' && a[1] && !is_negative(a)) {
            if (short_opts(P, argc, argv, &i) < 0) return -1;
        } else {
            strvec_pushdup(&P->positional, a);
        }
    }
    return 0;
}

/* CONCURRENTLY_KILL_OTHERS=true sets --kill-others unless argv did, as yargs's .env() does:
 * the rest of the name lowercased, _ read as -, or camelCase as written (CONCURRENTLY_killOthers);
 * NO_COLOR negates color. Names with __ are yargs's nested keys, which no option has. */
static int parse_env(struct parse *P, char **env, strvec *warnings)
{
    static const char prefix[] = "CONCURRENTLY_";
    for (; env && *env; env++) {
        const char *e = *env;
        const char *eq = strchr(e, '=');
        if (strncmp(e, prefix, sizeof prefix - 1) || !eq) continue;
        char *var = xstrndup(e, (size_t)(eq - e));
        char *key = xstrdup(var + sizeof prefix - 1);
        bool upper = false, lower = false;
        for (char *c = key; *c; c++)
            upper |= isupper((unsigned char)*c), lower |= islower((unsigned char)*c);
        if (!(upper && lower))
            for (char *c = key; *c; c++)
                *c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
        int id = strstr(var, "__") ? -1 : lookup(key);
        bool neg = false;
        if (id < 0 && !strncmp(key, "no-", 3) && (id = lookup(key + 3)) >= 0) {
            neg = true;
            if (options[id].type != T_BOOL) id = -1;
        }
        int rc = 0;
        if (id < 0 || !options[id].env)
            strvec_push(warnings, xasprintf("%s: not an option of concurrently; ignored", var));
        else if (!P->raw[id].set && !(options[id].type == T_ARRAY && P->teardown.n))
            rc = set_opt(P, id, var, NULL, eq + 1, neg);
        free(key);
        free(var);
        if (rc < 0) return -1;
    }
    return 0;
}

/* ---- values ---- */

static const char *val(const struct parse *P, int id)
{
    return P->raw[id].set ? P->raw[id].val : options[id].def;
}

static const char *spell(const struct parse *P, int id, char *buf, size_t n)
{
    if (P->raw[id].set) return P->raw[id].spelling;
    snprintf(buf, n, "--%s", options[id].name);
    return buf;
}

static bool flag(const struct parse *P, int id)
{
    const char *v = val(P, id);
    return v && !strcmp(v, "true");
}

/* A whole number, with an optional sign and nothing else. */
static bool parse_long(const char *s, long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s)) return false;
    long v = strtol(s, &end, 10);
    if (*end || end == s) return false;
    *out = v;
    return true;
}

static int number(struct parse *P, int id, long min, long *out)
{
    char sp[48];
    const char *v = val(P, id);
    if (!parse_long(v, out) || *out < min) {
        if (min == 0)
            return fail(P, "%s: expects a whole number of 0 or more, not '%s'",
                        spell(P, id, sp, sizeof sp), v);
        return fail(P, "%s: expects a whole number, not '%s'", spell(P, id, sp, sizeof sp), v);
    }
    return 0;
}

/* What concurrently would throw at its first timestamp, said before anything runs. */
static int check_timestamp(struct parse *P, const char *sp, const char *fmt)
{
    char err[256];
    if (textstyle_check_date(fmt, err, sizeof err) < 0) return fail(P, "%s: %s", sp, err);
    return 0;
}

/* "", "auto", or a dotted path of chalk styles whose first step may be #RGB or #RRGGBB. */
static int check_color(struct parse *P, const char *sp, const char *c)
{
    char err[320];
    if (textstyle_check_color(c, err, sizeof err) < 0) return fail(P, "%s: %s", sp, err);
    return 0;
}

/* JavaScript's "a,b".split(sep): an empty separator splits every character. */
static void js_split(const char *s, const char *sep, strvec *out)
{
    size_t sl = strlen(sep);
    if (!sl) {
        for (; *s; s++)
            strvec_push(out, xstrndup(s, 1));
        return;
    }
    for (;;) {
        const char *at = strstr(s, sep);
        if (!at) {
            strvec_pushdup(out, s);
            return;
        }
        strvec_push(out, xstrndup(s, (size_t)(at - s)));
        s = at + sl;
    }
}

/* concurrently's StripQuotes: one pair of quotes around the whole command, nothing between
 * them but something other than a line break. */
static char *strip_quotes(const char *c)
{
    size_t n = strlen(c);
    if (n >= 3 && (c[0] == '"' || c[0] == '\'') && c[n - 1] == c[0] && !strpbrk(c + 1, "\n\r"))
        return xstrndup(c + 1, n - 2);
    return xstrdup(c);
}

static const char *const concurrently_colors[] = {
    "cyan",      "yellow",        "greenBright", "blueBright", "magentaBright", "white",
    "grey",      "red",           "bgCyan",      "bgYellow",   "bgGreenBright", "bgBlueBright",
    "bgMagenta", "bgWhiteBright", "bgGrey",      "bgRed",
};

static bool same_but_bright(const char *acceptable, const char *custom)
{
    size_t n = strlen(acceptable);
    if (n > 6 && !strcmp(acceptable + n - 6, "Bright")) n -= 6;
    return strlen(custom) == n && !strncmp(acceptable, custom, n);
}

void concur_pick_colors(const char *const *custom, size_t ncustom, const char *const *acceptable,
                        size_t nacceptable, size_t n, const char **out)
{
    if (!acceptable) {
        acceptable = concurrently_colors;
        nacceptable = ARRAY_SIZE(concurrently_colors);
    }
    /* The automatic colors still to give, first without those the user picked. */
    const char **queue = xcalloc(nacceptable + 1, sizeof *queue);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < nacceptable; i++) {
        bool used = false;
        for (size_t k = 0; k < ncustom && !used; k++)
            used = same_but_bright(acceptable[i], custom[k]);
        if (!used) queue[tail++] = acceptable[i];
    }
    size_t got = 0;
    const char *last = NULL;
    for (size_t k = 0; k < ncustom && got < n; k++) {
        const char *cur = custom[k];
        /* A color given is used as given; an "auto" is not the color just before it. */
        bool pick = !strcmp(cur, "auto");
        while (pick && (!strcmp(cur, "auto") || (last && !strcmp(last, cur)))) {
            if (head == tail) {
                head = tail = 0;
                for (size_t i = 0; i < nacceptable; i++)
                    queue[tail++] = acceptable[i];
            }
            cur = queue[head++];
        }
        out[got++] = cur;
        last = cur;
    }
    const char *last_custom = ncustom ? custom[ncustom - 1] : "";
    if (strcmp(last_custom, "auto")) {
        while (got < n)
            out[got++] = last_custom;
    } else {
        while (got < n && head < tail)
            out[got++] = queue[head++];
        for (size_t i = 0; got < n; i++)
            out[got++] = acceptable[i % nacceptable];
    }
    free(queue);
}

/* shell-quote 1.8.3's quote() of one argument (ASCII whitespace for JavaScript's \s). */
static void shell_quote(sbuf *b, const char *s)
{
    if (!*s) {
        sbuf_puts(b, "''");
        return;
    }
    bool space = false, dq = strchr(s, '"'), sq = strchr(s, '\''), bs = strchr(s, '\\');
    for (const char *p = s; *p; p++)
        space |= isspace((unsigned char)*p) != 0;
    if ((dq || space || bs) && !sq) {
        sbuf_putc(b, '\'');
        sbuf_puts(b, s);
        sbuf_putc(b, '\'');
    } else if (dq || sq || space) {
        sbuf_putc(b, '"');
        for (const char *p = s; *p; p++) {
            if (strchr("\"\\$`!", *p)) sbuf_putc(b, '\\');
            sbuf_putc(b, *p);
        }
        sbuf_putc(b, '"');
    } else {
        static const char special[] = "#!\"$&'()*,:;<=>?@[\\]^`{|}";
        for (const char *p = s; *p; p++) {
            /* ([A-Za-z]:)?(special): a drive letter's colon before a special stays. */
            if (isalpha((unsigned char)p[0]) && p[1] == ':' && p[2] && strchr(special, p[2])) {
                sbuf_putc(b, p[0]);
                sbuf_puts(b, ":\\");
                sbuf_putc(b, p[2]);
                p += 2;
                continue;
            }
            if (strchr(special, *p)) sbuf_putc(b, '\\');
            sbuf_putc(b, *p);
        }
    }
}

/* The placeholder at s ({1} {@} {*}, a number without leading zero): its length, else 0. */
static size_t placeholder(const char *s)
{
    if (s[0] != '{') return 0;
    if ((s[1] == '@' || s[1] == '*') && s[2] == '}') return 3;
    if (s[1] < '1' || s[1] > '9') return 0;
    size_t d = 1 + strspn(s + 2, "0123456789");
    return s[1 + d] == '}' ? d + 2 : 0;
}

char *concur_expand_args(const char *command, const strvec *args)
{
    sbuf b;
    sbuf_init(&b);
    /* Past the longest command the caller accepts, the rest does not matter: it stops there
     * rather than grow without end ({@}{@}{@}... with long arguments). */
    for (const char *p = command; *p && b.len <= CONCUR_MAX_COMMAND_LEN;) {
        size_t n;
        if (p[0] == '\\' && (n = placeholder(p + 1))) { /* escaped: kept, without the \ */
            sbuf_append(&b, p + 1, n);
            p += 1 + n;
            continue;
        }
        if (!(n = placeholder(p))) {
            sbuf_putc(&b, *p++);
            continue;
        }
        if (args->n && p[1] == '@') {
            for (size_t i = 0; i < args->n; i++) {
                if (i) sbuf_putc(&b, ' ');
                shell_quote(&b, args->v[i]);
            }
        } else if (args->n && p[1] == '*') {
            sbuf all;
            sbuf_init(&all);
            for (size_t i = 0; i < args->n; i++) {
                if (i) sbuf_putc(&all, ' ');
                sbuf_puts(&all, args->v[i]);
            }
            char *joined = sbuf_detach(&all);
            shell_quote(&b, joined);
            free(joined);
        } else if (args->n && p[1] != '@' && p[1] != '*') {
            /* {N} beyond the arguments (or too large to count) gives "". */
            char *end;
            unsigned long long k = strtoull(p + 1, &end, 10);
            if (k <= args->n) shell_quote(&b, args->v[k - 1]);
        }
        p += n;
    }
    return sbuf_detach(&b);
}

/* ---- the whole ---- */

void concur_free(struct concur_opts *o)
{
    for (size_t i = 0; i < o->ncmds; i++) {
        free(o->cmds[i].name);
        free(o->cmds[i].command);
        free(o->cmds[i].color);
    }
    free(o->cmds);
    free(o->prefix_template);
    free(o->timestamp_format);
    free(o->success_target);
    free(o->default_input_target);
    free(o->cwd);
    free(o->socket);
    strvec_free(&o->teardown);
    strvec_free(&o->passthrough_args);
    strvec_free(&o->warnings);
    memset(o, 0, sizeof *o);
}

static void parse_free(struct parse *P)
{
    strvec_free(&P->teardown);
    strvec_free(&P->positional);
    strvec_free(&P->after);
    strvec_free(&P->pool);
}

static int convert(struct parse *P, struct concur_opts *o, const char *dir)
{
    char sp[48];
    const char *v;

    v = val(P, O_SUCCESS);
    if (!strcmp(v, "all") || !strcmp(v, "first") || !strcmp(v, "last")) {
        o->success = v[0] == 'a'   ? CONCUR_SUCCESS_ALL
                     : v[0] == 'f' ? CONCUR_SUCCESS_FIRST
                                   : CONCUR_SUCCESS_LAST;
    } else if (!strncmp(v + (v[0] == '!'), "command-", 8) && v[(v[0] == '!') + 8]) {
        o->success = v[0] == '!' ? CONCUR_SUCCESS_NOT_COMMAND : CONCUR_SUCCESS_COMMAND;
        o->success_target = xstrdup(v + (v[0] == '!') + 8);
    } else {
        const char *cl = P->raw[O_SUCCESS].cluster;
        return fail(P,
                    "%s: unknown value '%s' (all, first, last, command-NAME, command-INDEX, "
                    "!command-...)%s",
                    spell(P, O_SUCCESS, sp, sizeof sp), v,
                    cl && signal_from_name(v) > 0 ? "; -ks reads as -k -s, as in concurrently: "
                                                    "the kill signal is --ks or --kill-signal"
                                                  : "");
    }

    v = val(P, O_PREFIX);
    static const char *const prefixes[] = {"", "index", "pid", "time", "command", "name", "none"};
    o->prefix = CONCUR_PREFIX_TEMPLATE;
    for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
        if (!strcmp(v, prefixes[i])) o->prefix = (enum concur_prefix)i;
    if (o->prefix == CONCUR_PREFIX_TEMPLATE) o->prefix_template = xstrdup(v);

    long n;
    if (number(P, O_PREFIX_LENGTH, 0, &n) < 0) return -1;
    /* It becomes an int, and no terminal is that wide. */
    if (n > 100000) return fail(P, "%s: at most 100000", spell(P, O_PREFIX_LENGTH, sp, sizeof sp));
    o->prefix_length = n ? (int)n : 10;

    v = val(P, O_TIMESTAMP_FORMAT);
    if (check_timestamp(P, spell(P, O_TIMESTAMP_FORMAT, sp, sizeof sp), v) < 0) return -1;
    o->timestamp_format = xstrdup(v);

    o->pad_prefix = flag(P, O_PAD_PREFIX);
    o->raw = flag(P, O_RAW);
    o->group = flag(P, O_GROUP);
    o->timings = flag(P, O_TIMINGS);
    o->color = !P->raw[O_COLOR].set ? CONCUR_COLOR_AUTO
               : flag(P, O_COLOR)   ? CONCUR_COLOR_ALWAYS
                                    : CONCUR_COLOR_NEVER;
    o->kill_others = flag(P, O_KILL_OTHERS);
    o->kill_others_on_fail = flag(P, O_KILL_OTHERS_ON_FAIL);
    o->handle_input = flag(P, O_HANDLE_INPUT);
    o->passthrough = flag(P, O_PASSTHROUGH);
    o->to_yaml = flag(P, O_TO_YAML);

    v = val(P, O_KILL_SIGNAL);
    o->kill_signal = signal_from_name(v);
    if (o->kill_signal <= 0)
        return fail(P, "%s: unknown signal '%s'", spell(P, O_KILL_SIGNAL, sp, sizeof sp), v);

    o->kill_timeout_ms = -1;
    if (P->raw[O_KILL_TIMEOUT].set && number(P, O_KILL_TIMEOUT, 0, &o->kill_timeout_ms) < 0)
        return -1;
    if (number(P, O_RESTART_TRIES, LONG_MIN, &o->restart_tries) < 0) return -1;
    if (o->restart_tries < 0) o->restart_tries = -1;

    v = val(P, O_RESTART_AFTER);
    if (!strcmp(v, "exponential"))
        o->restart_exponential = true;
    else if (!parse_long(v, &o->restart_after_ms) || o->restart_after_ms < 0)
        return fail(P, "%s: expects milliseconds or 'exponential', not '%s'",
                    spell(P, O_RESTART_AFTER, sp, sizeof sp), v);

    v = val(P, O_MAX_PROCESSES);
    size_t len = strlen(v);
    long count;
    bool ok;
    if (len > 1 && v[len - 1] == '%') {
        char *end;
        o->max_percent = true;
        o->max_processes = strtod(v, &end);
        ok = end == v + len - 1 && isfinite(o->max_processes) && o->max_processes >= 0 &&
             !isspace((unsigned char)*v);
    } else {
        ok = parse_long(v, &count) && count >= 0;
        o->max_processes = ok ? (double)count : 0;
    }
    if (!ok)
        return fail(P, "%s: expects a number of processes or a percentage of CPUs (50%%), not '%s'",
                    spell(P, O_MAX_PROCESSES, sp, sizeof sp), v);

    o->default_input_target = xstrdup(val(P, O_DEFAULT_INPUT_TARGET));
    if (P->raw[O_SOCKET].set) {
        v = val(P, O_SOCKET);
        if (!*v) return fail(P, "%s: needs a path", spell(P, O_SOCKET, sp, sizeof sp));
        o->socket = v[0] == '/' || !dir ? xstrdup(v) : xasprintf("%s/%s", dir, v);
    }
    if (P->raw[O_CWD].set) {
        v = val(P, O_CWD);
        if (!*v) return fail(P, "%s: needs a directory", spell(P, O_CWD, sp, sizeof sp));
        o->cwd = v[0] == '/' || !dir ? xstrdup(v) : xasprintf("%s/%s", dir, v);
    }
    if (strcmp(val(P, O_NAME_SEPARATOR), ","))
        strvec_pushdup(&o->warnings, "--name-separator is deprecated in concurrently 9: "
                                     "separate --names with commas");
    strvec_copy(&o->teardown, &P->teardown);
    return 0;
}

/* Builds o->cmds from the positional words: names, quotes, shortcuts and wildcards, passthrough
 * arguments, then index, color and --hide in the final order. */
static int build_commands(struct parse *P, struct concur_opts *o, const strvec *words,
                          const char *dir)
{
    char sp[48];
    strvec names = {0}, colors = {0}, hide = {0};
    struct pkg_cmds list;
    struct pkg_project proj;
    pkg_cmds_init(&list, CONCUR_MAX_COMMANDS);
    pkg_project_init(&proj, o->cwd ? o->cwd : dir);
    const char **picked = NULL;
    int rc = -1;

    js_split(val(P, O_NAMES), val(P, O_NAME_SEPARATOR), &names);
    for (size_t i = 0; i < words->n; i++) {
        if (!*words->v[i]) {
            fail(P, "command %zu of %zu is empty", i + 1, words->n);
            goto out;
        }
        char *cmd = strip_quotes(words->v[i]);
        int r = pkg_expand(&proj, cmd, i < names.n ? names.v[i] : "", &list, &o->warnings, P->err,
                           P->errlen);
        free(cmd);
        if (r < 0) goto out;
    }

    js_split(val(P, O_PREFIX_COLORS), ",", &colors);
    for (size_t i = 0; i < colors.n; i++)
        if (check_color(P, spell(P, O_PREFIX_COLORS, sp, sizeof sp), colors.v[i]) < 0) goto out;
    picked = xcalloc(list.n + 1, sizeof *picked);
    concur_pick_colors((const char *const *)colors.v, colors.n, NULL, 0, list.n, picked);
    js_split(val(P, O_HIDE), ",", &hide);

    o->cmds = xcalloc(list.n + 1, sizeof *o->cmds);
    for (size_t i = 0; i < list.n; i++) {
        struct concur_cmd *c = &o->cmds[o->ncmds++];
        c->index = i;
        c->name = xstrdup(list.v[i].name);
        c->command = o->passthrough ? concur_expand_args(list.v[i].command, &o->passthrough_args)
                                    : xstrdup(list.v[i].command);
        c->color = xstrdup(picked[i]);
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        /* concurrently's "".split(',') hides every unnamed command; empty items hide nothing */
        for (size_t k = 0; k < hide.n && !c->hidden; k++)
            c->hidden = *hide.v[k] && (!strcmp(hide.v[k], c->name) || !strcmp(hide.v[k], idx));
        if (strlen(c->command) > CONCUR_MAX_COMMAND_LEN) {
            fail(P, "command %zu (%.40s...) is longer than %d bytes", i, c->command,
                 CONCUR_MAX_COMMAND_LEN);
            goto out;
        }
    }
    rc = 0;
out:
    free(picked);
    strvec_free(&names);
    strvec_free(&colors);
    strvec_free(&hide);
    pkg_cmds_free(&list);
    pkg_project_free(&proj);
    return rc;
}

/* concurrently's `command.name === x || index === Number(x)`: Number() ignores surrounding
 * blanks and reads all blanks as 0. */
static bool targets(const char *x, const struct concur_cmd *cmd)
{
    if (!strcmp(cmd->name, x)) return true;
    while (isspace((unsigned char)*x))
        x++;
    char *end;
    double d = *x ? strtod(x, &end) : 0;
    if (*x) {
        while (isspace((unsigned char)*end))
            end++;
        if (*end || end == x) return false;
    }
    return d == (double)cmd->index;
}

/* What concurrently would only find out at the end (a success condition or an input target
 * naming no command) is said at the start. The input handler looks names and indexes up as
 * written; the success condition reads numbers as JavaScript does. */
static bool names_a_command(const struct concur_opts *o, const char *x, bool js_number)
{
    for (size_t i = 0; i < o->ncmds; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        if (!strcmp(o->cmds[i].name, x) || !strcmp(idx, x)) return true;
        if (js_number && targets(x, &o->cmds[i])) return true;
    }
    return false;
}

int concur_parse(int argc, char **argv, char **environ_, const char *dir, struct concur_opts *o,
                 char *err, size_t errlen)
{
    struct parse P = {.err = err, .errlen = errlen};
    char sp[48];
    memset(o, 0, sizeof *o);
    err[0] = '\0';
    if (parse_argv(&P, argc, argv) < 0 || parse_env(&P, environ_, &o->warnings) < 0) goto fail;
    if (flag(&P, O_HELP) || flag(&P, O_VERSION)) {
        o->action = flag(&P, O_HELP) ? CONCUR_HELP : CONCUR_VERSION;
        parse_free(&P);
        return 0;
    }
    if (convert(&P, o, dir) < 0) goto fail;

    /* Without -P, the words after -- are more commands. */
    strvec words = {0};
    strvec_copy(&words, &P.positional);
    if (o->passthrough)
        strvec_copy(&o->passthrough_args, &P.after);
    else
        for (size_t i = 0; i < P.after.n; i++)
            strvec_pushdup(&words, P.after.v[i]);
    if (!words.n) {
        strvec_free(&words);
        o->action = CONCUR_HELP;
        parse_free(&P);
        return 0;
    }
    int rc = build_commands(&P, o, &words, dir);
    strvec_free(&words);
    if (rc < 0) goto fail;

    if (o->ncmds && o->success_target && !names_a_command(o, o->success_target, true)) {
        fail(&P, "%s: no command is named or numbered '%s'", spell(&P, O_SUCCESS, sp, sizeof sp),
             o->success_target);
        goto fail;
    }
    if (o->ncmds && o->handle_input && !names_a_command(o, o->default_input_target, false)) {
        fail(&P, "%s: no command is named or numbered '%s'",
             spell(&P, O_DEFAULT_INPUT_TARGET, sp, sizeof sp), o->default_input_target);
        goto fail;
    }
    parse_free(&P);
    return 0;
fail:
    parse_free(&P);
    concur_free(o);
    return -1;
}

bool concur_success_targets(const struct concur_opts *o, const struct concur_cmd *cmd)
{
    return o->success_target && targets(o->success_target, cmd);
}

const char *concur_usage(void)
{
    return "usage: roster [options] COMMAND...     (concurrently's command line)\n"
           "\n"
           "General\n"
           "  -m, --max-processes N|N%      how many commands run at once (a number, or a\n"
           "                                percentage of the CPUs)\n"
           "  -n, --names A,B,...           names for the commands, used in prefixes\n"
           "      --name-separator C        what separates --names (deprecated)    [default: ,]\n"
           "  -s, --success WHICH           which must exit 0 for roster to: all, first, last,\n"
           "                                command-NAME, command-INDEX, !command-...\n"
           "                                                                   [default: all]\n"
           "  -r, --raw                     output only the commands' output\n"
           "      --no-color                no colors\n"
           "      --hide A,B,...            hide the output of these commands (names or indexes)\n"
           "  -g, --group                   keep each command's output together, in order\n"
           "      --timings                 show when each command started and stopped\n"
           "  -P, --passthrough-arguments   the arguments after -- fill {1} {@} {*} in commands\n"
           "      --teardown COMMAND        run COMMAND after all commands end (repeatable)\n"
           "      --cwd DIR                 run the commands in DIR\n"
           "      --to-yaml                 print the equivalent roster.yaml\n"
           "      --socket PATH             serve roster's control socket there (roster status,\n"
           "                                restart ...; none without it)\n"
           "\n"
           "Prefix styling\n"
           "  -p, --prefix STYLE            index, pid, time, command, name, none, or a template\n"
           "                                such as \"{time}-{pid}\"   [default: index or name]\n"
           "  -c, --prefix-colors C,C,...   chalk colors: red, bgBlue.bold, #23de43, auto, ...;\n"
           "                                the last one repeats                 [default: reset]\n"
           "  -l, --prefix-length N         longest command prefix                 [default: 10]\n"
           "      --pad-prefix              pad prefixes to the same length\n"
           "  -t, --timestamp-format FMT    Unicode date pattern [default: yyyy-MM-dd "
           "HH:mm:ss.SSS]\n"
           "\n"
           "Input handling\n"
           "  -i, --handle-input            send roster's stdin to a command (\"1:text\", "
           "\"name:text\")\n"
           "      --default-input-target T  index or name of the command input goes to\n"
           "                                                                     [default: 0]\n"
           "\n"
           "Killing other processes\n"
           "  -k, --kill-others             stop the others when one exits\n"
           "      --kill-others-on-fail     stop the others when one exits non-zero\n"
           "      --ks, --kill-signal SIG   signal that stops them             [default: SIGTERM]\n"
           "      --kill-timeout MS         then SIGKILL after MS milliseconds\n"
           "\n"
           "Restarting\n"
           "      --restart-tries N         restarts of a failed command (negative: forever)\n"
           "                                                                     [default: 0]\n"
           "      --restart-after MS        delay before restarting, or exponential  [default: 0]\n"
           "\n"
           "  -h, --help                    this help\n"
           "  -v, -V, --version             roster's version\n"
           "\n"
           "Commands may be shortcuts: npm:NAME, yarn:, pnpm:, bun:, node:, deno: (and run:,\n"
           "with the package manager of the project's lockfile); npm:dev:* runs every matching\n"
           "script, named by what * matched, and npm:dev:*(!web) leaves out those matching web.\n"
           "Every option can also be set as CONCURRENTLY_NAME (CONCURRENTLY_KILL_OTHERS=true).\n";
}
