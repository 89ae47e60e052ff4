/* test_pgurl.c — Postgres URLs: parsing, query parameters, stripping what libpq rejects,
 * formatting back (redaction is test_redact's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pgurl.h"
#include "t.h"

static const char *or_null(const char *s)
{
    return s ? s : "(null)";
}

static void test_parse(void)
{
    struct pgurl u;
    char err[128] = "";
    CHECK_INT(pgurl_parse("postgres://app%5Fuser:pa%40ss@db.example.com:5433/my%20db"
                          "?sslmode=require&connection_limit=5",
                          &u, err, sizeof err),
              0);
    CHECK_STR(u.base, "postgres://app%5Fuser:pa%40ss@db.example.com:5433/my%20db");
    CHECK_STR(or_null(u.user), "app_user");
    CHECK_STR(or_null(u.host), "db.example.com");
    CHECK_INT(u.port, 5433);
    CHECK_STR(or_null(u.dbname), "my db");
    CHECK_INT(u.keys.n, 2);
    CHECK_STR(or_null(pgurl_get_param(&u, "sslmode")), "require");
    CHECK_STR(or_null(pgurl_get_param(&u, "connection_limit")), "5");
    CHECK(pgurl_get_param(&u, "nope") == NULL);
    pgurl_free(&u);
    CHECK(u.base == NULL);

    CHECK_INT(pgurl_parse("postgresql://localhost/app", &u, err, sizeof err), 0);
    CHECK(u.user == NULL);
    CHECK_STR(or_null(u.host), "localhost");
    CHECK_INT(u.port, 0);
    CHECK_STR(or_null(u.dbname), "app");
    CHECK_INT(u.keys.n, 0);
    pgurl_free(&u);

    /* IPv6 */
    CHECK_INT(pgurl_parse("postgres://[::1]:5432/app", &u, err, sizeof err), 0);
    CHECK_STR(or_null(u.host), "::1");
    CHECK_INT(u.port, 5432);
    pgurl_free(&u);
    CHECK_INT(pgurl_parse("postgres://u@[2001:db8::1]/d?x=1", &u, err, sizeof err), 0);
    CHECK_STR(or_null(u.user), "u");
    CHECK_STR(or_null(u.host), "2001:db8::1");
    CHECK_INT(u.port, 0);
    CHECK_STR(or_null(u.dbname), "d");
    pgurl_free(&u);

    /* empty brackets decode to an empty (terminated) host */
    CHECK_INT(pgurl_parse("postgres://[]:5432/db", &u, err, sizeof err), 0);
    CHECK_STR(or_null(u.host), "");
    CHECK_INT(u.port, 5432);
    pgurl_free(&u);

    /* a unix socket: no host in the authority */
    CHECK_INT(pgurl_parse("postgres:///app?host=/var/run/postgresql", &u, err, sizeof err), 0);
    CHECK(u.host == NULL);
    CHECK_STR(or_null(u.dbname), "app");
    CHECK_STR(or_null(pgurl_get_param(&u, "host")), "/var/run/postgresql");
    pgurl_free(&u);

    /* several hosts: the first one */
    CHECK_INT(pgurl_parse("postgres://h1:5432,h2:5433/db", &u, err, sizeof err), 0);
    CHECK_STR(or_null(u.host), "h1");
    CHECK_INT(u.port, 5432);
    pgurl_free(&u);

    /* no path, no database */
    CHECK_INT(pgurl_parse("postgres://us%65r:x@h", &u, err, sizeof err), 0);
    CHECK_STR(or_null(u.user), "user");
    CHECK(u.dbname == NULL);
    pgurl_free(&u);

    /* a password holding '@' and ':' (unencoded): the last '@' ends the userinfo */
    CHECK_INT(pgurl_parse("postgres://u:p@ss:w@h:1/db", &u, err, sizeof err), 0);
    CHECK_STR(or_null(u.user), "u");
    CHECK_STR(or_null(u.host), "h");
    CHECK_INT(u.port, 1);
    pgurl_free(&u);

    /* a password holding '?' and '#' (libpq connects with it): the query string starts after
     * the userinfo, so a parameter set on the URL keeps the password whole (issue 10 item 2) */
    CHECK_INT(pgurl_parse("postgres://u:p?w#d@h:2/db?sslmode=require", &u, err, sizeof err), 0);
    char parsed[256];
    snprintf(parsed, sizeof parsed, "%s %s %s %d %s %zu", u.base, or_null(u.user),
             or_null(u.host), u.port, or_null(u.dbname), u.keys.n);
    CHECK_STR(parsed, "postgres://u:p?w#d@h:2/db u h 2 db 1");
    pgurl_set_param(&u, "connection_limit", "5");
    char *f = pgurl_format(&u);
    CHECK_STR(f, "postgres://u:p?w#d@h:2/db?sslmode=require&connection_limit=5");
    free(f);
    pgurl_free(&u);
    /* an '@' in the query string after a path is not a userinfo */
    CHECK_INT(pgurl_parse("postgres://h/db?application_name=a@b", &u, err, sizeof err), 0);
    CHECK(u.user == NULL);
    CHECK_STR(or_null(u.host), "h");
    pgurl_free(&u);

    /* odd query strings */
    CHECK_INT(pgurl_parse("postgres://h/db?a=1&&b=&flag&c=x=y", &u, err, sizeof err), 0);
    CHECK_INT(u.keys.n, 4);
    CHECK_STR(or_null(pgurl_get_param(&u, "a")), "1");
    CHECK_STR(or_null(pgurl_get_param(&u, "b")), "");
    CHECK_STR(or_null(pgurl_get_param(&u, "flag")), "");
    CHECK_STR(or_null(pgurl_get_param(&u, "c")), "x=y");
    pgurl_free(&u);
    CHECK_INT(pgurl_parse("postgres://h/db?", &u, err, sizeof err), 0);
    CHECK_INT(u.keys.n, 0);
    CHECK_STR(u.base, "postgres://h/db");
    pgurl_free(&u);
}

static void test_parse_errors(void)
{
    struct pgurl u;
    char err[128];
    CHECK_INT(pgurl_parse("mysql://h/db", &u, err, sizeof err), -1);
    CHECK_STR(err, "not a postgres:// or postgresql:// URL");
    CHECK_INT(pgurl_parse("", &u, err, sizeof err), -1);
    CHECK_STR(err, "not a postgres:// or postgresql:// URL");
    CHECK_INT(pgurl_parse("postgres://[::1/db", &u, err, sizeof err), -1);
    CHECK_STR(err, "unterminated IPv6 address in URL");
    CHECK_INT(pgurl_parse("postgres://h:99999/db", &u, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in URL");
    CHECK_INT(pgurl_parse("postgres://h:5x/db", &u, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in URL");
    CHECK_INT(pgurl_parse("postgres://h:0/db", &u, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in URL");
    CHECK_INT(pgurl_parse("postgres://[::1]:x/db", &u, err, sizeof err), -1);
    CHECK_STR(err, "invalid port in URL");
}

static const char *const known_to_libpq[] = {"sslmode", "application_name", "connect_timeout",
                                             "host", NULL};

static void test_params(void)
{
    struct pgurl u;
    char err[128];
    char *s;
    CHECK_INT(pgurl_parse("postgres://u:p@h:5432/db?sslmode=require&connection_limit=5", &u, err,
                          sizeof err),
              0);
    /* replace keeps the place; add appends */
    pgurl_set_param(&u, "connection_limit", "7");
    pgurl_set_param(&u, "pool_max_conns", "3");
    pgurl_set_param(&u, "connect_timeout", "10");
    s = pgurl_format(&u);
    CHECK_STR(s, "postgres://u:p@h:5432/db?sslmode=require&connection_limit=7&pool_max_conns=3"
                 "&connect_timeout=10");
    free(s);

    sbuf removed;
    sbuf_init(&removed);
    CHECK_INT(pgurl_strip_unknown(&u, known_to_libpq, &removed), 2);
    CHECK_STR(removed.data, "connection_limit, pool_max_conns");
    sbuf_free(&removed);
    s = pgurl_format(&u);
    CHECK_STR(s, "postgres://u:p@h:5432/db?sslmode=require&connect_timeout=10");
    free(s);
    CHECK_INT(u.keys.n, 2);
    CHECK(u.keys.v[2] == NULL && u.vals.v[2] == NULL);
    /* nothing left to strip */
    CHECK_INT(pgurl_strip_unknown(&u, known_to_libpq, NULL), 0);
    pgurl_free(&u);

    /* every parameter stripped: the bare URL */
    CHECK_INT(pgurl_parse("postgres://h/db?connection_limit=1&pgbouncer=true", &u, err, sizeof err),
              0);
    CHECK_INT(pgurl_strip_unknown(&u, known_to_libpq, NULL), 2);
    s = pgurl_format(&u);
    CHECK_STR(s, "postgres://h/db");
    free(s);
    pgurl_set_param(&u, "sslmode", "disable");
    s = pgurl_format(&u);
    CHECK_STR(s, "postgres://h/db?sslmode=disable");
    free(s);
    pgurl_free(&u);

    /* a URL without parameters gets its first one */
    CHECK_INT(pgurl_parse("postgresql://h", &u, err, sizeof err), 0);
    pgurl_set_param(&u, "connection_limit", "4");
    s = pgurl_format(&u);
    CHECK_STR(s, "postgresql://h?connection_limit=4");
    free(s);
    pgurl_free(&u);
}

static void test_round_trip(void)
{
    static const char *const urls[] = {
        "postgres://h/db",
        "postgresql://u:p%40ss@db.example.com:25060/defaultdb?sslmode=require",
        "postgres://[::1]:5432/app?application_name=x&connect_timeout=5",
        "postgres:///app?host=%2Fvar%2Frun%2Fpostgresql",
        "postgres://h1:5432,h2:5433/db?target_session_attrs=read-write",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        struct pgurl u;
        char err[128];
        CHECK_INT(pgurl_parse(urls[i], &u, err, sizeof err), 0);
        char *s = pgurl_format(&u);
        CHECK_STR(s, urls[i]);
        free(s);
        pgurl_free(&u);
    }
}

static void test_coding(void)
{
    char *s = url_decode("%41%62c%2", 9);
    CHECK_STR(s, "Abc%2");
    free(s);
    s = url_decode("%zz%4", 5);
    CHECK_STR(s, "%zz%4");
    free(s);
    s = url_decode("a+b%20c%c3%a9", 13);
    CHECK_STR(s, "a+b c\xC3\xA9");
    free(s);
    s = url_decode("abc", 0);
    CHECK_STR(s, "");
    free(s);
    s = url_encode_userinfo("p@ss:w/rd \xC3\xA9-._~!$&'()*+,;=");
    CHECK_STR(s, "p%40ss%3Aw%2Frd%20%C3%A9-._~!$&'()*+,;=");
    free(s);
    /* encoding then decoding gives the text back */
    const char *pw = "a b:c@d/e?f#g%h";
    s = url_encode_userinfo(pw);
    char *back = url_decode(s, strlen(s));
    CHECK_STR(back, pw);
    free(back);
    free(s);
}

int main(void)
{
    test_parse();
    test_parse_errors();
    test_params();
    test_round_trip();
    test_coding();
    return t_done("pgurl");
}
