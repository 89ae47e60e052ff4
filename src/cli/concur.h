/* concur.h — concurrently 9's command line, parsed into a struct (SPEC §2, issue 9 §1): the
 * options, with concurrently's meanings and defaults, from argv and from CONCURRENTLY_*
 * variables, and the commands after names, shortcuts, wildcards, passthrough arguments, colors
 * and --hide are applied. Pure apart from reading package.json, deno.json(c) and lockfiles.
 *
 * Where concurrently's parser (yargs) lets a mistake through silently, this one says so:
 * an unknown option is an error (yargs takes it, and the word after it, as an unused option), an
 * option that needs a value and has none is an error (yargs uses the default), so is a value
 * that concurrently would silently read as its default (`-s frist` meaning all, a color chalk
 * does not know, `--restart-after soon`), a flag given something other than true or false, and
 * a value option given twice (which makes concurrently crash or misbehave); numbers are whole
 * decimal numbers (JavaScript's Number() also takes 1e3, 0x10 or 1.5). Anything yargs
 * reads correctly is read the same way: `--opt=value` and `--opt value`, camelCase spellings
 * (`--killOthers`), `--no-FLAG`, `--FLAG true|false`, short clusters as yargs splits them
 * (`-ki`, `-l5`, `-n=a,b`, `-p{index}`; `-ks first` is -k -s first, so the kill-signal alias is
 * only `--ks`), a value taken from the next word unless it looks like an option, and everything
 * after `--` as more commands (or, with -P, as the passthrough arguments). */
#ifndef ROSTER_CONCUR_H
#define ROSTER_CONCUR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* More commands than this, after wildcards, is an error. */
#define CONCUR_MAX_COMMANDS 1024
/* A command longer than this is an error: Linux passes no longer argument to sh -c
 * (MAX_ARG_STRLEN). */
#define CONCUR_MAX_COMMAND_LEN 131072

enum concur_action {
    CONCUR_RUN,
    CONCUR_HELP,    /* -h/--help, or no command at all (concurrently prints help, exits 0) */
    CONCUR_VERSION, /* -v/-V/--version */
};

/* -p/--prefix. DEFAULT is concurrently's: the name when the command has one, else the index. */
enum concur_prefix {
    CONCUR_PREFIX_DEFAULT,
    CONCUR_PREFIX_INDEX,
    CONCUR_PREFIX_PID,
    CONCUR_PREFIX_TIME,
    CONCUR_PREFIX_COMMAND,
    CONCUR_PREFIX_NAME,
    CONCUR_PREFIX_NONE,
    CONCUR_PREFIX_TEMPLATE, /* prefix_template holds it: {index} {pid} {time} {command} {name}
                               are replaced, unknown {words} kept; no brackets are added */
};

/* -s/--success: which exits make the run succeed. */
enum concur_success {
    CONCUR_SUCCESS_ALL,         /* every command exits 0 (default) */
    CONCUR_SUCCESS_FIRST,       /* the first command to exit does */
    CONCUR_SUCCESS_LAST,        /* the last command to exit does */
    CONCUR_SUCCESS_COMMAND,     /* command-X: every command named X, or numbered X, does */
    CONCUR_SUCCESS_NOT_COMMAND, /* !command-X: every command but those does */
};

/* --color / --no-color (concurrently gets both through chalk's supports-color). */
enum concur_color { CONCUR_COLOR_AUTO, CONCUR_COLOR_ALWAYS, CONCUR_COLOR_NEVER };

/* One command to run. Every string is owned by the concur_opts it belongs to. */
struct concur_cmd {
    size_t index;  /* 0-based, after wildcard expansion: the [0] of the prefix */
    char *name;    /* "" when it has none (the prefix then shows the index) */
    char *command; /* the shell command: quotes stripped, shortcuts, wildcards and passthrough
                      placeholders expanded */
    char *color;   /* chalk style, validated: "reset" (the default: no color), "red",
                      "bgBlue.bold", "#23de43.inverse", "greenBright"; "auto" already resolved;
                      "" for none. Cycled as concurrently does: the last color is repeated, and
                      after a trailing "auto" the automatic colors go on cycling */
    bool hidden;   /* --hide names its name or index: its output is not shown */
};

struct concur_opts {
    enum concur_action action;
    struct concur_cmd *cmds;
    size_t ncmds;

    /* Output. */
    enum concur_prefix prefix;
    char *prefix_template;  /* CONCUR_PREFIX_TEMPLATE only, else NULL */
    int prefix_length;      /* -l: longest `command` prefix, shortened with "..": default 10
                               (0 also means 10, as in concurrently) */
    bool pad_prefix;        /* --pad-prefix: pad prefixes to the longest */
    char *timestamp_format; /* -t: Unicode date pattern, checked; default yyyy-MM-dd HH:mm:ss.SSS */
    bool raw;               /* -r: output only, no prefixes, no event lines */
    bool group;             /* -g: each command's output kept together, in command order */
    bool timings;           /* --timings: start/stop lines and a table at the end */
    enum concur_color color;

    /* Ending. */
    enum concur_success success;
    char *success_target;     /* the X of command-X / !command-X, else NULL */
    bool kill_others;         /* -k: the first command to exit stops the others */
    bool kill_others_on_fail; /* only when it exits non-zero */
    int kill_signal;          /* --kill-signal, default SIGTERM */
    long kill_timeout_ms;     /* --kill-timeout: then SIGKILL; -1 when not given (never) */
    long restart_tries;       /* --restart-tries: restarts of a failed command; -1 forever
                                 (concurrently's negative numbers); default 0 */
    bool restart_exponential; /* --restart-after exponential: 2^N seconds before restart N */
    long restart_after_ms;    /* --restart-after N, default 0 */
    strvec teardown;          /* --teardown, in order: run after all commands end */

    /* Input. */
    bool handle_input;          /* -i: roster's stdin goes to the commands; "N:text" or
                                   "name:text" targets one */
    char *default_input_target; /* --default-input-target: index or name, default "0" */

    /* Commands. */
    bool passthrough; /* -P: the arguments after -- fill {1} {@} {*} instead of being commands */
    strvec passthrough_args;
    double max_processes; /* -m: how many run at once; 0 all (roster.yaml's max_processes) */
    bool max_percent;     /* -m N%: max_processes is a percentage of the CPUs */
    char *cwd;            /* --cwd (concurrently's API option, not in its CLI): where the
                             commands run and package.json is read; NULL: the current dir */
    bool to_yaml;         /* --to-yaml (roster's): print the equivalent roster.yaml */
    char *socket;         /* --socket PATH (roster's): the control socket, resolved against the
                             dir; NULL: none (concurrently has none) */

    /* Things to print on stderr before running: --name-separator's deprecation, ignored
     * CONCURRENTLY_* variables, wildcards that matched nothing. */
    strvec warnings;
};

/* Parses concurrently's command line: argv holds the argc arguments after the program name,
 * environ_ the environment (for CONCURRENTLY_*; NULL for none), and dir the directory roster
 * runs in (NULL: the current one), against which --cwd is resolved and where package.json,
 * deno.json(c) and lockfiles are read.
 *
 * Returns 0, or -1 with a message in err naming the bad argument, for example
 * "-s: unknown value 'frist' (all, first, last, command-NAME, command-INDEX, !command-...)",
 * to be printed after "roster: " as a usage error (exit 2); 256 bytes hold any message but
 * the longest values. o is overwritten, not freed: free an earlier result first. On success
 * the caller frees o with concur_free; on failure it is already empty (concur_free is harmless
 * on it). Nothing in o points into argv or environ_. */
int concur_parse(int argc, char **argv, char **environ_, const char *dir, struct concur_opts *o,
                 char *err, size_t errlen);
void concur_free(struct concur_opts *o);

/* Whether the success condition's command-X / !command-X names cmd: by name, or by index when
 * X is a number (concurrently's Number(X) === index). */
bool concur_success_targets(const struct concur_opts *o, const struct concur_cmd *cmd);

/* The colors concurrently's PrefixColorSelector gives n commands from custom, the -c items
 * ("auto" picks the next of the automatic colors not used by custom and not the last one
 * given; after the list, the last item repeats, or automatic colors cycle after an "auto").
 * acceptable is the automatic palette, NULL for concurrently's. Writes n pointers into out;
 * they point into custom, acceptable or static strings. */
void concur_pick_colors(const char *const *custom, size_t ncustom, const char *const *acceptable,
                        size_t nacceptable, size_t n, const char **out);

/* Expands passthrough placeholders in command as concurrently's -P does: {N} the Nth argument,
 * {@} all of them, {*} all of them as one, each quoted for the shell as shell-quote 1.8.3 does;
 * a missing argument gives ""; \{1} is left as {1}. Returns an owned string, cut short once it
 * is longer than CONCUR_MAX_COMMAND_LEN (which concur_parse then reports). */
char *concur_expand_args(const char *command, const strvec *args);

/* The text of the concurrently-mode help. */
const char *concur_usage(void);

#endif
