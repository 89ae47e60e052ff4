/* test_redact.c — secret masking: a table of URLs (passwords holding '/', '?', '#', '@', ':'),
 * free text holding URLs, and the names whose values are secrets. */
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"
#include "t.h"

struct redact_case {
    const char *in, *out;
};

/* Checks fn(in) == out for each case. */
static void check_table(const struct redact_case *cases, size_t n, char *(*fn)(const char *))
{
    for (size_t i = 0; i < n; i++) {
        char *s = fn(cases[i].in);
        CHECK_STR(s, cases[i].out);
        free(s);
    }
}

static void test_url(void)
{
    static const struct redact_case cases[] = {
        {"postgres://user:secret@db:5432/app", "postgres://user:****@db:5432/app"},
        {"postgresql://user:s%40cret@db/app?sslmode=require",
         "postgresql://user:****@db/app?sslmode=require"},
        {"postgres://u:p@ss@h/db", "postgres://u:****@h/db"},
        /* '?' and '#' in a password: libpq connects with them; they used to end the mask */
        {"postgres://u:pa?ss@h/db", "postgres://u:****@h/db"},
        {"postgres://u:pa#ss@h:5432/db?sslmode=require",
         "postgres://u:****@h:5432/db?sslmode=require"},
        {"postgres://u:a?b#c/d@e:f@h/db", "postgres://u:****@h/db"},
        {"postgres://:only?pw@h", "postgres://:****@h"},
        {"postgres://u:p/ss@h/db", "postgres://u:****@h/db"},
        {"postgres://u:@h/db", "postgres://u:****@h/db"},
        /* '?' and '#' in the user name: libpq takes all before the '@' as userinfo (fuzz_url) */
        {"postgres://us?er:Secret99!@db/app", "postgres://us?er:****@db/app"},
        {"postgres://us#er:Secret99!@db/app", "postgres://us#er:****@db/app"},
        /* a user name alone, or no userinfo at all, stays */
        {"postgres://user@db/app", "postgres://user@db/app"},
        {"postgres://db/app", "postgres://db/app"},
        {"postgres://u@h/db?options=a:b@c", "postgres://u@h/db?options=a:b@c"},
        {"redis://:pw@cache:6379/0", "redis://:****@cache:6379/0"},
        {"redis://pw@cache:6379", "redis://****@cache:6379"},
        {"redis://p/w?x#y@cache:6379", "redis://****@cache:6379"},
        {"rediss://default:p?w@cache:25061", "rediss://default:****@cache:25061"},
        {"https://user:tok@example.com/path?x=1", "https://user:****@example.com/path?x=1"},
        {"amqp://guest:g#u@rabbit:5672/%2f", "amqp://guest:****@rabbit:5672/%2f"},
        /* '@' in a path or query without a password before it */
        {"http://example.com/a@b:c", "http://example.com/a@b:c"},
        {"https://example.com/?q=a@b", "https://example.com/?q=a@b"},
        {"http://localhost:8080/health", "http://localhost:8080/health"},
        /* an '@' after the host hides more than the password, never less */
        {"https://u:tok@example.com/?mail=x@y", "https://u:****@y"},
        /* password= in the query string */
        {"postgres://db/app?user=u&password=secret&sslmode=require",
         "postgres://db/app?user=u&password=****&sslmode=require"},
        {"postgres://db/app?password=secret", "postgres://db/app?password=****"},
        {"postgres://u:a@db/app?password=b", "postgres://u:****@db/app?password=****"},
        {"postgres://db/app?sslpassword=x&password=secret",
         "postgres://db/app?sslpassword=x&password=****"},
        {"postgres://db/app?password=a&password=b",
         "postgres://db/app?password=****&password=****"},
        {"not a url", "not a url"},
        {"", ""},
    };
    check_table(cases, sizeof cases / sizeof cases[0], url_redact);
}

static void test_text(void)
{
    static const struct redact_case cases[] = {
        {"connecting to postgres://u:pw@db/app and redis://:x@cache:6379 now",
         "connecting to postgres://u:****@db/app and redis://:****@cache:6379 now"},
        {"DATABASE_URL=\"postgres://u:pw@db/app\"", "DATABASE_URL=\"postgres://u:****@db/app\""},
        {"no urls here", "no urls here"},
        /* a quote inside the password does not end the URL early */
        {"url \"postgres://u:it\"s@db/app\" given", "url \"postgres://u:****@db/app\" given"},
        {"url 'postgres://u:it's@db/app' given", "url 'postgres://u:****@db/app' given"},
        {"(postgres://u:p?#@db/app)", "(postgres://u:****@db/app)"},
        {"a://b:c@d e://f:g@h", "a://b:****@d e://f:****@h"},
        {"://x:y@z", "://x:****@z"},
        /* blanks in a password (fuzz_url): the URL runs on to the '@' on its line */
        {"postgres://app:correct horse@db/app", "postgres://app:****@db/app"},
        {"x redis://:correct horse battery@cache:6379 y", "x redis://:****@cache:6379 y"},
        /* ...but not past a '/', a quote, a line's end or another URL */
        {"at http://h:80/x me@y", "at http://h:80/x me@y"},
        {"at http://h:80\nme@y", "at http://h:80\nme@y"},
        {"\"a://h:1\" b@c", "\"a://h:1\" b@c"},
        {"a://h:1 b://c@d", "a://h:1 b://c@d"},
        {"redis://0correct hrso:\"redue@cache:6379", "redis://0correct hrso:****@cache:6379"},
        {"postgres://e t (h2 x:cdue@b@", "postgres://e t (h2 x:****@"},
        {"see http://host and me@x", "see http://host and me@x"},
        {"redis://0correct horse@cache:6379", "redis://****@cache:6379"},
        {"redis://:@cach:correct h orse@cse@cac378", "redis://:****@cac378"},
    };
    check_table(cases, sizeof cases / sizeof cases[0], redact_text);
}

static void test_names(void)
{
    static const char *const secret[] = {
        "DB_PASSWORD", "api_token",      "STRIPE_SECRET",     "AWS_SECRET_ACCESS_KEY", "DB_PASS",
        "MYSQL_PWD",   "GPG_PASSPHRASE", "STRIPE_CREDENTIAL", "PRIVATE_KEY",           "API_AUTH",
        "SENTRY_DSN",  "auth_header",    "Db_Passwd",
    };
    static const char *const plain[] = {"DATABASE_URL", "NODE_ENV", "PORT",
                                        "PWD",          "OLDPWD",   "HOME"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
        CHECK(redact_is_secret_name(secret[i]));
        char *s = redact_value(secret[i], "abc");
        CHECK_STR(s, "****");
        free(s);
    }
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        CHECK(!redact_is_secret_name(plain[i]));
    char *s = redact_value("API_TOKEN", "");
    CHECK_STR(s, "");
    free(s);
    s = redact_value("DATABASE_URL", "postgres://u:pw@h/db");
    CHECK_STR(s, "postgres://u:****@h/db");
    free(s);
    /* any value that is a URL with a password, whatever its name */
    s = redact_value("UPSTREAM", "https://bot:x?y#z@api.example.com/v1");
    CHECK_STR(s, "https://bot:****@api.example.com/v1");
    free(s);
}

/* Values ${VAR} put into a command or a probe target, masked by what their names say. */
static void test_known(void)
{
    envmap vars = {0}, role = {0}, secrets = {0};
    envmap_set(&vars, "DEPLOY_TOKEN", "tok-123456");
    envmap_set(&vars, "AUTH_ENABLED", "true"); /* too short to mask everywhere */
    envmap_set(&vars, "HOME", "/home/app");
    envmap_set(&role, "API_KEY", "k-abcdef");
    envmap_set(&role, "DEPLOY_TOKEN", "tok-other"); /* the same name elsewhere: both masked */
    redact_collect(&secrets, &vars);
    redact_collect(&secrets, &role);
    CHECK_INT(secrets.n, 3);
    char *s = redact_known("deploy --token=tok-123456 --key k-abcdef,k-abcdef --other tok-other "
                           "--auth true --home /home/app postgres://u:pw@h/db",
                           &secrets);
    CHECK_STR(s, "deploy --token=**** --key ****,**** --other **** --auth true --home /home/app "
                 "postgres://u:****@h/db");
    free(s);
    envmap_free(&vars);
    envmap_free(&role);
    envmap_free(&secrets);
}

int main(void)
{
    test_url();
    test_text();
    test_names();
    test_known();
    return t_done("redact");
}
