/* test_shellwords.c — which command strings are exec'd as words and which go to /bin/sh. */
#include "base/shellwords.h"
#include "t.h"

/* words: the expected words joined by '|', or NULL when a shell is needed */
static const struct {
    const char *cmd, *words;
} CASES[] = {
    {"node dist/index.js", "node|dist/index.js"},
    {"  node   api.js  --port 3000 ", "node|api.js|--port|3000"},
    {"npx prisma migrate deploy", "npx|prisma|migrate|deploy"},
    {"node --max-old-space-size=400 worker.js", "node|--max-old-space-size=400|worker.js"},
    {"node -e 'console.log(1); process.exit(0)'", "node|-e|console.log(1); process.exit(0)"},
    {"echo \"hello world\"", "echo|hello world"},
    {"echo it''s \"\"", "echo|its|"},
    {"python3 -m http.server 8000", "python3|-m|http.server|8000"},
    {"bundle exec puma -C config/puma.rb", "bundle|exec|puma|-C|config/puma.rb"},
    {"./bin/server", "./bin/server"},
    {"a\tb", "a|b"},
    /* what a shell interprets */
    {"node a.js && node b.js", NULL},
    {"node a.js; node b.js", NULL},
    {"node a.js | tee log", NULL},
    {"node a.js > out.log", NULL},
    {"node a.js 2>&1", NULL},
    {"node $APP", NULL},
    {"node ${APP:-a.js}", NULL},
    {"echo \"$HOME\"", NULL},
    {"echo `date`", NULL},
    {"ls *.js", NULL},
    {"ls a?.js", NULL},
    {"echo {a,b}", NULL},
    {"cd app", NULL},
    {"cd app && npm start", NULL},
    {"exec node a.js", NULL},
    {"export A=1", NULL},
    {"NODE_ENV=production node a.js", NULL},
    {"(node a.js)", NULL},
    {"node a.js &", NULL},
    {"node a.js # comment", NULL},
    {"cat ~/x", NULL},
    {"echo 'unterminated", NULL},
    {"echo \"unterminated", NULL},
    {"echo \"back\\slash\"", NULL},
    {"echo a\\ b", NULL},
    {"node a.js\nnode b.js", NULL},
    {"! false", NULL},
    {"if true; then x; fi", NULL},
    {"", NULL},
    {"   ", NULL},
};

int main(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(CASES); i++) {
        strvec sv = {0};
        bool ok = shellwords_split(CASES[i].cmd, &sv);
        if (!CASES[i].words) {
            CHECK(!ok);
            if (ok) fprintf(stderr, "  needs a shell: %s\n", CASES[i].cmd);
            CHECK(sv.n == 0);
            continue;
        }
        CHECK(ok);
        sbuf j;
        sbuf_init(&j);
        for (size_t k = 0; k < sv.n; k++)
            sbuf_printf(&j, "%s%s", k ? "|" : "", sv.v[k]);
        CHECK_STR(j.data ? j.data : "", CASES[i].words);
        CHECK(ok && sv.v[sv.n] == NULL);
        sbuf_free(&j);
        strvec_free(&sv);
    }
    return t_done("shellwords");
}
