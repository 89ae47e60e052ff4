/* concur_config.c — a roster config from concurrently's options, and that config as YAML. */
#include "cli/concur_config.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/units.h"

/* A window no run outlasts: --restart-tries counts every failure of a run, not those of a minute
 * as give_up.within does by default, and --restart-after exponential never settles back. */
#define FOREVER_MS (3650ull * 24 * 3600 * 1000)
/* give_up.after's largest value: --restart-tries -1 (forever). */
#define TRIES_FOREVER 1000000

/* A role name from a command's name: what a role name allows (letters, digits, '-', '_', at most
 * 64, starting with a letter or digit) kept, anything else made '-'; the index when nothing is
 * left; "-INDEX" added when another command took the name (concurrently allows duplicates). */
static char *role_name(const struct roster_config *cfg, const struct concur_cmd *c)
{
    sbuf b;
    sbuf_init(&b);
    for (const char *p = c->name; *p && b.len < 48; p++)
        sbuf_putc(&b, isalnum((unsigned char)*p) || *p == '-' || *p == '_' ? *p : '-');
    char *name = sbuf_detach(&b);
    if (!name || !isalnum((unsigned char)name[0])) {
        free(name);
        name = xasprintf("%zu", c->index);
    }
    if (config_find_role(cfg, name) || !strcmp(name, "roster")) {
        char *n2 = xasprintf("%s-%zu", name, c->index);
        free(name);
        name = n2;
    }
    return name;
}

/* -s's target as a role: the one role every command it names became. */
static int success_role(const struct concur_opts *o, struct roster_config *cfg, char *err,
                        size_t errlen)
{
    const char *role = NULL;
    for (size_t i = 0; i < o->ncmds; i++) {
        if (!concur_success_targets(o, &o->cmds[i])) continue;
        if (role && strcmp(role, cfg->roles[i].name)) {
            snprintf(err, errlen,
                     "-s %scommand-%s names several commands (%s, %s): not supported yet",
                     o->success == CONCUR_SUCCESS_NOT_COMMAND ? "!" : "", o->success_target, role,
                     cfg->roles[i].name);
            return -1;
        }
        role = cfg->roles[i].name;
    }
    cfg->exit.role = xstrdup(role ? role : o->success_target);
    cfg->exit.success =
        o->success == CONCUR_SUCCESS_COMMAND ? EXIT_SUCCESS_ROLE : EXIT_SUCCESS_NOT_ROLE;
    return 0;
}

int concur_config(const struct concur_opts *o, const char *dir, char **environ_,
                  struct roster_config *cfg, char *err, size_t errlen)
{
    config_defaults(cfg);
    cfg->path = xstrdup("(command line)");
    /* concurrently has no control socket, and the library that serves one is half of roster's
     * memory in a small run: a command line has one only when --socket asks for it */
    if (o->socket && strlen(o->socket) > CONFIG_SOCKET_PATH_MAX) {
        snprintf(err, errlen, "--socket: longer than a unix socket's %zu bytes",
                 (size_t)CONFIG_SOCKET_PATH_MAX);
        config_free(cfg);
        return -1;
    }
    cfg->control_socket = o->socket ? xstrdup(o->socket) : NULL;
    cfg->control_off = !o->socket;
    cfg->dir = xstrdup(o->cwd ? o->cwd : dir ? dir : ".");
    cfg->color = o->color == CONCUR_COLOR_ALWAYS  ? COLOR_ALWAYS
                 : o->color == CONCUR_COLOR_NEVER ? COLOR_NEVER
                                                  : COLOR_AUTO;
    /* concurrently's Ctrl-C is a success (its kill-on-signal.ts maps SIGINT's exits to 0) */
    cfg->exit.interrupted = EXIT_INTERRUPTED_SUCCESS;
    /* concurrently's look: -p (its keywords bracketed, its templates as written), -l, -t, -r */
    struct look_config *lk = &cfg->look;
    lk->on = true;
    lk->raw = o->raw;
    lk->pad = o->pad_prefix;
    lk->command_length = o->prefix_length;
    lk->time_format = xstrdup(o->timestamp_format);
    lk->group = o->group;
    lk->timings = o->timings;
    cfg->max_processes = o->max_processes;
    cfg->max_processes_percent = o->max_percent;
    strvec_copy(&cfg->teardown, &o->teardown);
    static const char *const keywords[] = {
        [CONCUR_PREFIX_INDEX] = "{index}", [CONCUR_PREFIX_PID] = "{pid}",
        [CONCUR_PREFIX_TIME] = "{time}",   [CONCUR_PREFIX_COMMAND] = "{command}",
        [CONCUR_PREFIX_NAME] = "{name}",
    };
    switch (o->prefix) {
    case CONCUR_PREFIX_DEFAULT: break;
    case CONCUR_PREFIX_NONE: lk->prefix = xstrdup(""); break;
    case CONCUR_PREFIX_TEMPLATE: lk->prefix = xstrdup(o->prefix_template); break;
    default:
        lk->prefix = xstrdup(keywords[o->prefix]);
        lk->brackets = true;
        break;
    }
    cfg->roles = xcalloc(o->ncmds ? o->ncmds : 1, sizeof *cfg->roles);
    for (size_t i = 0; i < o->ncmds; i++) {
        const struct concur_cmd *c = &o->cmds[i];
        struct role_config *r = &cfg->roles[i];
        config_role_defaults(r);
        r->name = role_name(cfg, c);
        cfg->nroles++;
        r->pos = (src_pos){cfg->path, 0, 0};
        r->command_pos = r->pos;
        r->shell = xstrdup(c->command);
        r->look_name = xstrdup(c->name);
        r->look_color = xstrdup(strcmp(c->color, "reset") ? c->color : "");
        r->look_hidden = c->hidden;
        r->stdin_pipe = o->handle_input;
        if (o->cwd) r->cwd = xstrdup(o->cwd);
        /* a command ends for good unless it failed and has tries left; the others carry on */
        r->give_up_then = GIVEUP_CONTINUE;
        if (o->restart_tries == 0) {
            r->restart = RESTART_NEVER;
        } else {
            r->restart = RESTART_ON_FAILURE;
            r->give_up_after = o->restart_tries < 0 || o->restart_tries > TRIES_FOREVER
                                   ? TRIES_FOREVER
                                   : (int)o->restart_tries;
            r->give_up_within_ms = FOREVER_MS;
            r->backoff_reset_ms = FOREVER_MS;
            r->backoff_initial_ms = o->restart_exponential ? 1000 : (uint64_t)o->restart_after_ms;
            r->backoff_max_ms =
                o->restart_exponential ? 24 * 3600 * 1000ull : r->backoff_initial_ms;
        }
        r->exit_on_end = o->kill_others           ? EXIT_ON_END_ALWAYS
                         : o->kill_others_on_fail ? EXIT_ON_END_FAILURE
                                                  : EXIT_ON_END_NEVER;
        r->stop_signal = o->kill_signal;
        if (o->kill_timeout_ms >= 0) r->stop_timeout_ms = (uint64_t)o->kill_timeout_ms;
    }
    /* -i: the supervisor routes roster's stdin (input.c); --default-input-target as written,
     * a command's name or index, found as concurrently finds it, line by line */
    if (o->handle_input)
        cfg->input = xstrdup(o->default_input_target ? o->default_input_target : "0");
    config_finish_roles(cfg);
    switch (o->success) {
    case CONCUR_SUCCESS_ALL: cfg->exit.success = EXIT_SUCCESS_ALL; break;
    case CONCUR_SUCCESS_FIRST: cfg->exit.success = EXIT_SUCCESS_FIRST; break;
    case CONCUR_SUCCESS_LAST: cfg->exit.success = EXIT_SUCCESS_LAST; break;
    case CONCUR_SUCCESS_COMMAND:
    case CONCUR_SUCCESS_NOT_COMMAND:
        if (success_role(o, cfg, err, errlen) < 0) {
            config_free(cfg);
            return -1;
        }
        break;
    }
    config_finish(cfg, environ_);
    return 0;
}

/* A YAML double-quoted scalar: every string printed is one, so no command needs thought about
 * YAML's plain-scalar rules (a leading '*', ': ', '#', "yes"). A '$' before '{' or '$' is
 * doubled: roster.yaml reads ${VAR} and $$ itself, and the text must reach the shell as
 * written. */
static void yaml_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '$' && (p[1] == '{' || p[1] == '$'))
            fputs("$$", out);
        else if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void yaml_duration(FILE *out, const char *key, uint64_t ms)
{
    char buf[32];
    units_format_duration(ms, buf, sizeof buf);
    fprintf(out, "%s: %s", key, buf);
}

/* -i's target as the role its command became: input: names roles, not commands. */
static void print_input(const struct roster_config *cfg, const struct concur_opts *o, FILE *out)
{
    for (size_t i = 0; i < o->ncmds && i < cfg->nroles; i++) {
        char idx[24];
        snprintf(idx, sizeof idx, "%zu", i);
        if (!strcmp(o->cmds[i].name, cfg->input) || !strcmp(idx, cfg->input)) {
            fprintf(out, "input: ");
            yaml_str(out, cfg->roles[i].name);
            fprintf(out, "\n");
            return;
        }
    }
    fprintf(out, "# Not said here: --default-input-target %s names no command.\n", cfg->input);
}

/* The output: mapping: concurrently's look, as its command line always has it, -g and
 * --timings. */
static void yaml_output(FILE *out, const struct look_config *lk)
{
    fprintf(out, "output:\n  prefix: ");
    if (!lk->prefix)
        /* concurrently's default, [name] or else [index]: a command without a name became a
         * role named by its index */
        fprintf(out, "name");
    else if (!*lk->prefix)
        fprintf(out, "none");
    else if (lk->brackets)
        fprintf(out, "%.*s", (int)strlen(lk->prefix) - 2, lk->prefix + 1);
    else
        yaml_str(out, lk->prefix);
    fprintf(out, "\n");
    if (lk->command_length != 10) fprintf(out, "  prefix_length: %d\n", lk->command_length);
    if (lk->pad) fprintf(out, "  pad_prefix: true\n");
    if (lk->time_format && strcmp(lk->time_format, "yyyy-MM-dd HH:mm:ss.SSS")) {
        fprintf(out, "  timestamp_format: ");
        yaml_str(out, lk->time_format);
        fprintf(out, "\n");
    }
    if (lk->raw) fprintf(out, "  raw: true\n");
    if (lk->group) fprintf(out, "  group: true\n");
    if (lk->timings) fprintf(out, "  timings: true\n");
}

void concur_print_yaml(const struct roster_config *cfg, const struct concur_opts *o, FILE *out)
{
    fprintf(out, "# roster.yaml: the same run as the command line (roster --to-yaml)\n");
    bool renamed = false;
    for (size_t i = 0; i < cfg->nroles; i++) {
        const struct role_config *r = &cfg->roles[i];
        renamed |= *r->look_name ? strcmp(r->look_name, r->name) != 0
                                 : cfg->look.prefix && strstr(cfg->look.prefix, "{name}");
    }
    if (renamed)
        fprintf(out, "# A prefix's name (and the timings' name column) is the role's name here: "
                     "a command\n# without a name, or whose name a role cannot take, shows it "
                     "differently.\n");
    if (cfg->color != COLOR_AUTO)
        fprintf(out, "log: {color: %s}\n", cfg->color == COLOR_ALWAYS ? "always" : "never");
    yaml_output(out, &cfg->look);
    if (cfg->max_processes > 0) {
        if (cfg->max_processes_percent)
            fprintf(out, "max_processes: \"%g%%\"\n", cfg->max_processes);
        else
            fprintf(out, "max_processes: %.0f\n", cfg->max_processes);
    }
    if (cfg->teardown.n) fprintf(out, "teardown:\n");
    for (size_t i = 0; i < cfg->teardown.n; i++) {
        fprintf(out, "  - ");
        yaml_str(out, cfg->teardown.v[i]);
        fprintf(out, "\n");
    }
    char *success = exit_success_text(&cfg->exit);
    fprintf(out, "exit:\n  success: ");
    yaml_str(out, success);
    free(success);
    fprintf(out, "\n  interrupted: %s\n",
            cfg->exit.interrupted == EXIT_INTERRUPTED_SUCCESS ? "success" : "status");
    if (cfg->input) print_input(cfg, o, out);
    fprintf(out, "roles:\n");
    for (size_t i = 0; i < cfg->nroles; i++) {
        const struct role_config *r = &cfg->roles[i];
        fprintf(out, "  ");
        yaml_str(out, r->name);
        fprintf(out, ":\n    command: ");
        yaml_str(out, r->shell);
        fprintf(out, "\n");
        if (r->look_color && *r->look_color) {
            fprintf(out, "    color: ");
            yaml_str(out, r->look_color);
            fprintf(out, "\n");
        }
        if (r->look_hidden) fprintf(out, "    hide: true\n");
        if (r->cwd) {
            fprintf(out, "    cwd: ");
            yaml_str(out, r->cwd);
            fprintf(out, "\n");
        }
        fprintf(out, "    restart: %s\n", restart_policy_name(r->restart));
        if (r->restart != RESTART_NEVER) {
            fprintf(out, "    backoff: {");
            yaml_duration(out, "initial", r->backoff_initial_ms);
            fprintf(out, ", ");
            yaml_duration(out, "max", r->backoff_max_ms);
            fprintf(out, ", ");
            yaml_duration(out, "reset_after", r->backoff_reset_ms);
            fprintf(out, "}\n    give_up: {after: %d, ", r->give_up_after);
            yaml_duration(out, "within", r->give_up_within_ms);
            fprintf(out, ", then: %s}\n", give_up_then_name(r->give_up_then));
        } else {
            fprintf(out, "    give_up: {then: %s}\n", give_up_then_name(r->give_up_then));
        }
        if (r->exit_on_end != EXIT_ON_END_NEVER)
            fprintf(out, "    exit_on_end: %s\n", exit_on_end_name(r->exit_on_end));
        fprintf(out, "    stop: {signal: %s, ", signal_name(r->stop_signal));
        yaml_duration(out, "timeout", r->stop_timeout_ms);
        fprintf(out, "}\n");
    }
}
