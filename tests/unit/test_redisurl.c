/* test_redisurl.c — Redis URLs: parsing redis:// and rediss://, the normalized form roles get,
 * and composing it from REDIS_HOST/REDIS_PORT/REDIS_PASSWORD. */
#include <stdlib.h>
#include <string.h>

#include "base/envmap.h"
#include "base/redisurl.h"
#include "t.h"

static const char *or_null(const char *s)
{
    return s ? s : "(null)";
}

static void test_parse(void)
{
    struct redis_target t;
    char err[160] = "";
    CHECK_INT(redisurl_parse("redis://localhost", &t, err, sizeof err), 0);
    CHECK(!t.tls);
    CHECK(t.user == NULL);
    CHECK(t.password == NULL);
    CHECK_STR(t.host, "localhost");
    CHECK_INT(t.port, 6379);
    CHECK_INT(t.db, 0);
    redisurl_free(&t);
    CHECK(t.host == NULL);

    CHECK_INT(redisurl_parse("redis://:secret@cache.internal:6380/2", &t, err, sizeof err), 0);
    CHECK(t.user == NULL);
    CHECK_STR(or_null(t.password), "secret");
    CHECK_STR(t.host, "cache.internal");
    CHECK_INT(t.port, 6380);
    CHECK_INT(t.db, 2);
    redisurl_free(&t);

    CHECK_INT(redisurl_parse("rediss://default:p%40ss%3Aw@db-redis.example.com:25061", &t, err,
                             sizeof err),
              0);
    CHECK(t.tls);
    CHECK_STR(or_null(t.user), "default");
    CHECK_STR(or_null(t.password), "p@ss:w");
    CHECK_STR(t.host, "db-redis.example.com");
    CHECK_INT(t.port, 25061);
    redisurl_free(&t);

    /* a lone userinfo is the password, as redis-cli reads it */
    CHECK_INT(redisurl_parse("redis://secret@host", &t, err, sizeof err), 0);
    CHECK(t.user == NULL);
    CHECK_STR(or_null(t.password), "secret");
    redisurl_free(&t);
    /* a user with an empty password */
    CHECK_INT(redisurl_parse("redis://user:@host", &t, err, sizeof err), 0);
    CHECK_STR(or_null(t.user), "user");
    CHECK_STR(or_null(t.password), "");
    redisurl_free(&t);

    CHECK_INT(redisurl_parse("redis://[::1]:6380/1", &t, err, sizeof err), 0);
    CHECK_STR(t.host, "::1");
    CHECK_INT(t.port, 6380);
    CHECK_INT(t.db, 1);
    redisurl_free(&t);

    /* an empty host means the local one */
    CHECK_INT(redisurl_parse("redis://", &t, err, sizeof err), 0);
    CHECK_STR(t.host, "127.0.0.1");
    redisurl_free(&t);
    CHECK_INT(redisurl_parse("redis://:pw@:6390", &t, err, sizeof err), 0);
    CHECK_STR(t.host, "127.0.0.1");
    CHECK_INT(t.port, 6390);
    redisurl_free(&t);

    /* paths and queries */
    CHECK_INT(redisurl_parse("redis://h:6379/", &t, err, sizeof err), 0);
    CHECK_INT(t.db, 0);
    redisurl_free(&t);
    CHECK_INT(redisurl_parse("redis://h/3?timeout=5", &t, err, sizeof err), 0);
    CHECK_INT(t.db, 3);
    CHECK_INT(t.port, 6379);
    redisurl_free(&t);
    CHECK_INT(redisurl_parse("redis://h:6400?timeout=5", &t, err, sizeof err), 0);
    CHECK_INT(t.port, 6400);
    redisurl_free(&t);
    /* a password holding '?' and '#' unencoded: the userinfo ends at its '@', not at them */
    CHECK_INT(redisurl_parse("redis://:p?a#ss@cache:6390/1", &t, err, sizeof err), 0);
    CHECK_STR(or_null(t.password), "p?a#ss");
    CHECK_STR(t.host, "cache");
    CHECK_INT(t.port, 6390);
    CHECK_INT(t.db, 1);
    redisurl_free(&t);
}

static void test_parse_errors(void)
{
    struct redis_target t;
    char err[160];
    CHECK_INT(redisurl_parse("http://cache:6379", &t, err, sizeof err), -1);
    CHECK_STR(err, "a Redis URL starts with redis:// or rediss://, not http://");
    CHECK_INT(redisurl_parse("cache:6379", &t, err, sizeof err), -1);
    CHECK_STR(err, "a Redis URL starts with redis:// or rediss:// (this one has no scheme)");
    /* the wrong scheme's URL is not echoed: it may carry a password (issue 10 item 2) */
    CHECK_INT(redisurl_parse("http://:hunter2@cache:6379", &t, err, sizeof err), -1);
    CHECK_STR(err, "a Redis URL starts with redis:// or rediss://, not http://");
    CHECK_INT(redisurl_parse("hunter2@cache:6379", &t, err, sizeof err), -1);
    CHECK(!strstr(err, "hunter2"));
    CHECK_INT(redisurl_parse("x:hunter2@h://y", &t, err, sizeof err), -1);
    CHECK(!strstr(err, "hunter2"));
    CHECK_INT(redisurl_parse("redis://h:99999", &t, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in the Redis URL");
    CHECK_INT(redisurl_parse("redis://h:abc/0", &t, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in the Redis URL");
    CHECK_INT(redisurl_parse("redis://h:", &t, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in the Redis URL");
    CHECK_INT(redisurl_parse("redis://h/abc", &t, err, sizeof err), -1);
    CHECK_STR(err, "the Redis URL's path must be a database number");
    CHECK_INT(redisurl_parse("redis://h/-1", &t, err, sizeof err), -1);
    CHECK_STR(err, "the Redis URL's path must be a database number");
    CHECK_INT(redisurl_parse("redis://[::1/0", &t, err, sizeof err), -1);
    CHECK_STR(err, "unterminated IPv6 address in the Redis URL");
    CHECK_INT(redisurl_parse("memcached://a-very-long-host-name.example.com:11211/extra", &t, err,
                             sizeof err),
              -1);
    CHECK_STR(err, "a Redis URL starts with redis:// or rediss://, not memcached://");
}

static void test_format(void)
{
    static const char *const same[] = {
        "redis://cache:6379",
        "redis://:secret@cache:6380/2",
        "rediss://default:p%40ss@db.example.com:25061",
        "redis://[::1]:6379/1",
        "redis://user:@host:6379",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        struct redis_target t;
        char err[160];
        CHECK_INT(redisurl_parse(same[i], &t, err, sizeof err), 0);
        char *s = redisurl_format(&t);
        CHECK_STR(s, same[i]);
        free(s);
        redisurl_free(&t);
    }
    /* normalization: port made explicit, db 0 dropped, the lone password written as one */
    static const char *const norm[][2] = {
        {"redis://cache", "redis://cache:6379"},
        {"redis://cache:6379/0", "redis://cache:6379"},
        {"redis://secret@cache", "redis://:secret@cache:6379"},
        {"redis://:p@ss@cache", "redis://:p%40ss@cache:6379"},
        {"rediss://h/5?x=1", "rediss://h:6379/5"},
    };
    for (size_t i = 0; i < sizeof norm / sizeof norm[0]; i++) {
        char err[160] = "";
        char *s = redisurl_resolve(norm[i][0], NULL, err, sizeof err);
        CHECK_STR(s, norm[i][1]);
        free(s);
    }
    /* Found by fuzz_url: a host with an encoded '@', '#' or '%' was written decoded, so the
     * normalized URL roles get read as another target (here with "evil" as the password). */
    static const char *const hosts[][2] = {
        {"redis://evil%40cache:6380/1", "evil@cache"},
        {"redis://a%23b", "a#b"},
        {"redis://a%2541", "a%41"},
        {"redis://a%2Fb", "a/b"},
    };
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        struct redis_target t, again;
        char err[160] = "";
        CHECK_INT(redisurl_parse(hosts[i][0], &t, err, sizeof err), 0);
        CHECK_STR(t.host, hosts[i][1]);
        char *s = redisurl_format(&t);
        CHECK_INT(redisurl_parse(s, &again, err, sizeof err), 0);
        CHECK_STR(again.host, hosts[i][1]);
        CHECK(again.password == NULL);
        CHECK_INT(again.port, t.port);
        free(s);
        redisurl_free(&again);
        redisurl_free(&t);
    }
    /* and a host that fits as written but not once encoded is refused */
    char long_host[300] = "redis://";
    for (int i = 0; i < 100; i++)
        strcat(long_host, "\x01");
    struct redis_target t;
    char err[160] = "";
    CHECK_INT(redisurl_parse(long_host, &t, err, sizeof err), -1);
    CHECK_STR(err, "the Redis URL's host is too long");
}

static const char *resolve(const char *url, const char *const *kv)
{
    static char buf[256];
    envmap env = {0};
    for (; kv && *kv; kv += 2)
        envmap_set(&env, kv[0], kv[1]);
    char err[200] = "";
    char *s = redisurl_resolve(url, &env, err, sizeof err);
    snprintf(buf, sizeof buf, "%s%s", s ? "" : "ERROR: ", s ? s : err);
    free(s);
    envmap_free(&env);
    return buf;
}
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_resolve(void)
{
    /* a url wins over the variables */
    CHECK_STR(resolve("redis://:pw@cache:6379/0", ENV("REDIS_HOST", "other")),
              "redis://:pw@cache:6379");
    /* an empty url falls back to them */
    CHECK_STR(
        resolve("", ENV("REDIS_HOST", "cache", "REDIS_PORT", "6380", "REDIS_PASSWORD", "p@ss w")),
        "redis://:p%40ss%20w@cache:6380");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache")), "redis://cache:6379");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_PORT", "", "REDIS_PASSWORD", "")),
              "redis://cache:6379");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_USERNAME", "default",
                                "REDIS_PASSWORD", "x", "REDIS_DB", "3", "REDIS_TLS", "true")),
              "rediss://default:x@cache:6379/3");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_TLS", "1")), "rediss://cache:6379");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_TLS", "no")), "redis://cache:6379");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "::1")), "redis://[::1]:6379");

    /* errors */
    CHECK_STR(
        resolve(NULL, NULL),
        "ERROR: no Redis URL: set redis.url (e.g. ${REDIS_URL}) or REDIS_HOST and REDIS_PORT");
    CHECK_STR(
        resolve("", ENV("REDIS_HOST", "", "REDIS_PORT", "6379")),
        "ERROR: no Redis URL: set redis.url (e.g. ${REDIS_URL}) or REDIS_HOST and REDIS_PORT");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_PORT", "abc")),
              "ERROR: REDIS_PORT must be a port number, not 'abc'");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_PORT", "0")),
              "ERROR: REDIS_PORT must be a port number, not '0'");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_DB", "two")),
              "ERROR: REDIS_DB must be a database number, not 'two'");
    CHECK_STR(resolve(NULL, ENV("REDIS_HOST", "cache", "REDIS_DB", "-1")),
              "ERROR: REDIS_DB must be a database number, not '-1'");
    CHECK_STR(resolve("redis://h:70000", NULL), "ERROR: invalid port in the Redis URL");
    CHECK_STR(resolve("cache:6379", ENV("REDIS_HOST", "cache")),
              "ERROR: a Redis URL starts with redis:// or rediss:// (this one has no scheme)");
}

int main(void)
{
    test_parse();
    test_parse_errors();
    test_format();
    test_resolve();
    return t_done("redisurl");
}
