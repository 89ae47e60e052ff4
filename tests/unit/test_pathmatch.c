/* test_pathmatch.c — watch's globs ('**' included), the directory a pattern is watched from, and
 * ignore lists. */
#include "watch/pathmatch.h"
#include "t.h"

static const struct {
    const char *pat, *path;
    bool match;
} CASES[] = {
    {"/app/src/**", "/app/src/a.js", true},
    {"/app/src/**", "/app/src/x/y/z.ts", true},
    {"/app/src/**", "/app/src", false},
    {"/app/src/**", "/app/srcx/a.js", false},
    {"/app/src/**/*.js", "/app/src/a.js", true},
    {"/app/src/**/*.js", "/app/src/x/y/a.js", true},
    {"/app/src/**/*.js", "/app/src/x/y/a.ts", false},
    {"/app/src/**/*.js", "/app/src/x/a.jsx", false},
    {"/app/**/test/*.js", "/app/test/a.js", true},
    {"/app/**/test/*.js", "/app/a/b/test/a.js", true},
    {"/app/**/test/*.js", "/app/a/b/test/c/a.js", false},
    {"/app/*.js", "/app/a.js", true},
    {"/app/*.js", "/app/sub/a.js", false}, /* '*' does not cross '/' */
    {"/app/*.js", "/app/.hidden.js", true},
    {"/app/a?.js", "/app/ab.js", true},
    {"/app/a?.js", "/app/a/.js", false},
    {"/app/a?.js", "/app/a.js", false},
    {"/app/[abc].js", "/app/b.js", true},
    {"/app/[abc].js", "/app/d.js", false},
    {"/app/[a-c]x", "/app/cx", true},
    {"/app/[!a-c]x", "/app/cx", false},
    {"/app/[!a-c]x", "/app/dx", true},
    {"/app/[^a]x", "/app/bx", true},
    {"/app/[]]x", "/app/]x", true},
    {"/app/[x", "/app/[x", true}, /* no ']': a literal '[' */
    {"/app/\\*.js", "/app/*.js", true},
    {"/app/\\*.js", "/app/a.js", false},
    {"/app/a**b", "/app/axxb", true}, /* '**' inside a segment is '*' */
    {"/app/a**b", "/app/ax/b", false},
    {"/app/config.json", "/app/config.json", true},
    {"/app/config.json", "/app/config.jsonx", false},
    {"/app/config.json", "/app/config.jso", false},
    {"*", "", true},
    {"", "", true},
    {"", "a", false},
};

static void test_match(void)
{
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        bool got = pathmatch(CASES[i].pat, CASES[i].path);
        if (got != CASES[i].match)
            fprintf(stderr, "case %zu: '%s' vs '%s'\n", i, CASES[i].pat, CASES[i].path);
        CHECK(got == CASES[i].match);
    }
}

static void check_root(const char *pat, const char *root, int depth)
{
    int d = -2;
    size_t n = pathmatch_root(pat, &d);
    char got[256];
    snprintf(got, sizeof got, "%.*s", (int)n, pat);
    CHECK_STR(got, root);
    CHECK_INT(d, depth);
}

static void test_root(void)
{
    check_root("/app/src/**", "/app/src", -1);
    check_root("/app/src/**/*.js", "/app/src", -1);
    check_root("/app/*.js", "/app", 0);
    check_root("/app/src/*/index.js", "/app/src", 1);
    check_root("/app/src/*/x/*.js", "/app/src", 2);
    check_root("/app/sr*/x.js", "/app", 1);
    check_root("/app/config.json", "/app", 0); /* a file: its directory */
    check_root("/config.json", "/", 0);
    check_root("/*.js", "/", 0);
    check_root("/**", "/", -1);
    CHECK(pathmatch_has_glob("/a/*.js"));
    CHECK(pathmatch_has_glob("/a/[ab]"));
    CHECK(pathmatch_has_glob("/a/?"));
    CHECK(!pathmatch_has_glob("/a/b.js"));
}

static void test_ignored(void)
{
    const char *defaults[] = {"node_modules", ".git"};
    CHECK(pathmatch_ignored(defaults, 2, "/app/node_modules"));
    CHECK(pathmatch_ignored(defaults, 2, "/app/node_modules/x/index.js"));
    CHECK(pathmatch_ignored(defaults, 2, "/app/web/node_modules/x"));
    CHECK(pathmatch_ignored(defaults, 2, "/app/.git/y"));
    CHECK(!pathmatch_ignored(defaults, 2, "/app/src/git/y"));
    CHECK(!pathmatch_ignored(defaults, 2, "/app/node_modules2/y"));
    CHECK(!pathmatch_ignored(defaults, 2, "/app/src/a.js"));

    const char *mine[] = {"*.log", "/app/tmp", "/app/src/**/*.test.js", "/app/dist/**"};
    CHECK(pathmatch_ignored(mine, 4, "/app/server.log"));
    CHECK(pathmatch_ignored(mine, 4, "/app/logs/x/server.log"));
    CHECK(!pathmatch_ignored(mine, 4, "/app/server.log.js"));
    CHECK(pathmatch_ignored(mine, 4, "/app/tmp"));
    CHECK(pathmatch_ignored(mine, 4, "/app/tmp/a/b.js")); /* under an ignored directory */
    CHECK(!pathmatch_ignored(mine, 4, "/app/tmpx/a.js"));
    CHECK(!pathmatch_ignored(mine, 4, "/other/tmp/a.js")); /* with '/': anchored */
    CHECK(pathmatch_ignored(mine, 4, "/app/src/x/a.test.js"));
    CHECK(!pathmatch_ignored(mine, 4, "/app/src/x/a.js"));
    CHECK(pathmatch_ignored(mine, 4, "/app/dist/bundle.js"));
    CHECK(!pathmatch_ignored(mine, 0, "/app/server.log"));
}

int main(void)
{
    test_match();
    test_root();
    test_ignored();
    return t_done("pathmatch");
}
