/* fuzz_concur_args.c — concurrently's command line (cli/concur.c). The input, split at NUL
 * bytes, is argv; it runs in a temporary project with a package.json of scripts and a lockfile,
 * so npm:/yarn: shortcuts and wildcards have something to expand. Properties: it parses or says
 * why; what it accepts keeps its own bounds (commands, command length, indexes in order, a
 * color and a name on each); and the -P expansion of the first command against the remaining
 * words stays within its bound. */
#include <stdbool.h>
#include <unistd.h>

#include "cli/concur.h"
#include "fuzz.h"

static char project[] = "/tmp/roster-fuzz-concur.XXXXXX";

static void put(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", project, name);
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

static void remove_project(void)
{
    char path[128];
    static const char *const files[] = {"package.json", "package-lock.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", project, files[i]);
        unlink(path);
    }
    rmdir(project);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(project)) abort();
    put("package.json", "{\"name\": \"app\", \"scripts\": {\"dev:api\": \"node api.js\", "
                        "\"dev:web\": \"vite\", \"test\": \"jest\", \"lint:js\": \"eslint .\"}}\n");
    put("package-lock.json", "{}\n");
    atexit(remove_project);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *text = fuzz_cstr(data, size);
    /* argv: the NUL-separated words (a last empty word is dropped) */
    char *argv[64];
    int argc = 0;
    for (char *p = text; p < text + size && argc < 64; p += strlen(p) + 1)
        argv[argc++] = p;
    struct concur_opts o;
    char err[256];
    if (concur_parse(argc, argv, NULL, project, &o, err, sizeof err) == 0) {
        FUZZ_CHECK(o.ncmds <= CONCUR_MAX_COMMANDS);
        for (size_t i = 0; i < o.ncmds; i++) {
            FUZZ_CHECK(o.cmds[i].index == i);
            FUZZ_CHECK(o.cmds[i].name && o.cmds[i].color && o.cmds[i].command);
            FUZZ_CHECK(strlen(o.cmds[i].command) <= CONCUR_MAX_COMMAND_LEN);
        }
        FUZZ_CHECK(o.max_processes >= 0);
        concur_free(&o);
    } else {
        FUZZ_CHECK(err[0]);
    }
    if (argc > 0) {
        strvec args = {0};
        for (int i = 1; i < argc; i++)
            strvec_pushdup(&args, argv[i]);
        char *x = concur_expand_args(argv[0], &args);
        FUZZ_CHECK(x && strlen(x) <= CONCUR_MAX_COMMAND_LEN + 4096 * 4 + 16);
        free(x);
        strvec_free(&args);
    }
    free(text);
    return 0;
}
