/* test_logfmt.c — how lines look: padded text prefixes, colors only when asked, timestamps, and
 * JSON lines that parse, with escapes and invalid UTF-8 replaced. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "log/logfmt.h"
#include "t.h"

#define TS 1700000000.25 /* 2023-11-14T22:13:20.250Z */

static struct log_style style(enum log_format f, bool color, bool timestamps, int pad)
{
    struct log_style st;
    memset(&st, 0, sizeof st);
    st.format = f;
    st.color = color;
    st.timestamps = timestamps;
    st.pad = pad;
    return st;
}

static struct log_source source(const char *label, const char *role, int instance, int pid)
{
    struct log_source src;
    memset(&src, 0, sizeof src);
    src.label = label;
    src.role = role;
    src.instance = instance;
    src.pid = pid;
    src.color = "\x1b[36m";
    return src;
}

/* One formatted line as a string (static copy). */
static const char *line(struct log_style *st, struct log_source *src, int stream, const char *msg,
                        size_t len)
{
    static char buf[1024];
    sbuf out;
    sbuf_init(&out);
    logfmt_prepare(st, src);
    logfmt_line(st, src, stream, msg, len, TS, &out);
    snprintf(buf, sizeof buf, "%s", out.data ? out.data : "");
    sbuf_free(&out);
    return buf;
}

static const char *event(struct log_style *st, const char *ev, const char *subject, int inst,
                         const char *extra, const char *msg)
{
    static char buf[1024];
    sbuf out;
    sbuf_init(&out);
    logfmt_event(st, ev, subject, inst, extra, msg, TS, &out);
    snprintf(buf, sizeof buf, "%s", out.data);
    sbuf_free(&out);
    return buf;
}

static const char *esc(const char *s, size_t len)
{
    static char buf[512];
    sbuf out;
    sbuf_init(&out);
    json_escape(&out, s, len);
    snprintf(buf, sizeof buf, "%s", out.data ? out.data : "");
    sbuf_free(&out);
    return buf;
}
#define ESC(lit) esc(lit, sizeof(lit) - 1)

static void test_text(void)
{
    struct log_style st = style(LOG_TEXT, false, false, 6);
    struct log_source api = source("api", "api", 0, 123);
    struct log_source w1 = source("worker.1", "worker", 1, 124);
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hello", 5), "api    | hello\n");
    CHECK_STR(line(&st, &api, LOG_STDERR, "oops", 4), "api    | oops\n");
    CHECK_STR(line(&st, &api, LOG_STDOUT, "", 0), "api    | \n");
    /* a label longer than the pad is not cut */
    CHECK_STR(line(&st, &w1, LOG_STDOUT, "x", 1), "worker.1 | x\n");
    /* a child's control characters are shown escaped: to a file, colors too (issue 10 item 11) */
    CHECK_STR(line(&st, &api, LOG_STDOUT, "\x1b[31mred\x1b[0m \xff \"q\"", 18),
              "api    | \\x1b[31mred\\x1b[0m \xff \"q\"\n");
    /* only len bytes of msg are used */
    CHECK_STR(line(&st, &api, LOG_STDOUT, "abcdef", 3), "api    | abc\n");

    st.pad = 8;
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hi", 2), "api      | hi\n");

    /* colors: only when on, around the prefix */
    st = style(LOG_TEXT, true, false, 6);
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hello", 5), "\x1b[36mapi    |\x1b[0m hello\n");
    st.color = false;
    const char *plain = line(&st, &api, LOG_STDOUT, "hello", 5);
    CHECK(strchr(plain, '\x1b') == NULL);

    /* timestamps come first */
    st = style(LOG_TEXT, false, true, 6);
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hello", 5), "2023-11-14T22:13:20.250Z api    | hello\n");
    st.color = true;
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hello", 5),
              "2023-11-14T22:13:20.250Z \x1b[36mapi    |\x1b[0m hello\n");

    /* the time cache follows the clock */
    st = style(LOG_TEXT, false, true, 3);
    sbuf out;
    sbuf_init(&out);
    logfmt_prepare(&st, &api);
    logfmt_line(&st, &api, 0, "a", 1, 1700000000.5, &out);
    logfmt_line(&st, &api, 0, "b", 1, 1700000000.75, &out);
    logfmt_line(&st, &api, 0, "c", 1, 1700000061.0, &out);
    CHECK_STR(out.data, "2023-11-14T22:13:20.500Z api | a\n"
                        "2023-11-14T22:13:20.750Z api | b\n"
                        "2023-11-14T22:14:21.000Z api | c\n");
    sbuf_free(&out);

    logfmt_source_free(&api);
    logfmt_source_free(&w1);
}

static const char *txt(const char *s, size_t len, unsigned flags)
{
    static char buf[512];
    sbuf out;
    sbuf_init(&out);
    logfmt_text_escape(&out, s, len, flags);
    snprintf(buf, sizeof buf, "%s", out.data ? out.data : "");
    sbuf_free(&out);
    return buf;
}
#define TXT(lit, flags) txt(lit, sizeof(lit) - 1, flags)

/* A child's control characters in text lines (issue 10 item 11): what could rewrite the line
 * (CR, backspace), the title (OSC), the cursor or the screen (CSI other than m) is escaped;
 * colors pass only to a colored output; TAB and UTF-8 are left alone. */
static void test_text_escape(void)
{
    static const struct {
        const char *in;
        size_t len;
        unsigned flags;
        const char *out;
    } cases[] = {
#define C(lit, flags, out) {lit, sizeof(lit) - 1, flags, out}
        C("plain\ttext", 0, "plain\ttext"),
        C("progress 10%\rprogress 99%", 0, "progress 10%\\x0dprogress 99%"),
        C("nul\0byte", 0, "nul\\x00byte"),
        C("bell\a back\b del\x7f", 0, "bell\\x07 back\\x08 del\\x7f"),
        C("\x1b]0;pwned\x07title", 0, "\\x1b]0;pwned\\x07title"),
        C("\x1b]0;pwned\x07title", LOGFMT_KEEP_SGR, "\\x1b]0;pwned\\x07title"),
        C("\x1b[31mred\x1b[0m", 0, "\\x1b[31mred\\x1b[0m"),
        C("\x1b[31mred\x1b[0m", LOGFMT_KEEP_SGR, "\x1b[31mred\x1b[0m"),
        C("\x1b[38;2;1;2;3mrgb\x1b[m", LOGFMT_KEEP_SGR, "\x1b[38;2;1;2;3mrgb\x1b[m"),
        C("\x1b[2J\x1b[H\x1b[?25l", LOGFMT_KEEP_SGR, "\\x1b[2J\\x1b[H\\x1b[?25l"),
        C("\x1b[31", LOGFMT_KEEP_SGR, "\\x1b[31"),
        C("\x1b", LOGFMT_KEEP_SGR, "\\x1b"),
        C("\033c reset", LOGFMT_KEEP_SGR, "\\x1bc reset"),
        C("a\nb", 0, "a\\x0ab"),
        C("a\nb", LOGFMT_KEEP_NL, "a\nb"),
        C("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 0,
          "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
        C("C1 \xC2\2332J", LOGFMT_KEEP_SGR, "C1 \\u009b2J"),
        C("8-bit \2332J", 0, "8-bit \\x9b2J"),
        C("latin-1 caf\xE9", 0, "latin-1 caf\xE9"),
        C("cut \xE2\x82", 0, "cut \xE2\\x82"),
#undef C
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(txt(cases[i].in, cases[i].len, cases[i].flags), cases[i].out);
    CHECK_STR(TXT("", 0), "");

    /* in a line: to a file everything is escaped, to a colored terminal colors pass */
    struct log_style st = style(LOG_TEXT, false, false, 3);
    struct log_source api = source("api", "api", 0, 123);
    const char evil[] = "ok\r\x1b]0;t\x07\x1b[32mgreen\x1b[0m\0";
    CHECK_STR(line(&st, &api, LOG_STDOUT, evil, sizeof evil - 1),
              "api | ok\\x0d\\x1b]0;t\\x07\\x1b[32mgreen\\x1b[0m\\x00\n");
    st.color = true;
    logfmt_prepare(&st, &api);
    CHECK_STR(line(&st, &api, LOG_STDOUT, evil, sizeof evil - 1),
              "\x1b[36mapi |\x1b[0m ok\\x0d\\x1b]0;t\\x07\x1b[32mgreen\x1b[0m\\x00\n");
    /* CRLF: the CR that ends a line is a line ending, not shown; one before it is */
    st.color = false;
    CHECK_STR(line(&st, &api, LOG_STDOUT, "crlf\r", 5), "api | crlf\n");
    CHECK_STR(line(&st, &api, LOG_STDOUT, "a\rb\r\r", 5), "api | a\\x0db\\x0d\n");
    CHECK_STR(line(&st, &api, LOG_STDOUT, "\r", 1), "api | \n");
    /* roster's own events: escaped too, their newlines kept */
    st.color = false;
    CHECK_STR(event(&st, "warning", NULL, 0, NULL, "status: a\rb\nc"),
              "roster | status: a\\x0db\nc\n");
    logfmt_source_free(&api);
}

static void test_colors(void)
{
    CHECK_STR(logfmt_color(0), "\x1b[36m");
    CHECK(strcmp(logfmt_color(0), logfmt_color(1)) != 0);
    CHECK_STR(logfmt_color(12), logfmt_color(0)); /* the palette repeats */
    for (size_t i = 0; i < 30; i++)
        CHECK(logfmt_color(i)[0] == '\x1b');
}

static void test_json_escape(void)
{
    CHECK_STR(ESC("plain text"), "plain text");
    CHECK_STR(ESC("say \"hi\""), "say \\\"hi\\\"");
    CHECK_STR(ESC("C:\\dir\\"), "C:\\\\dir\\\\");
    CHECK_STR(ESC("a\nb\rc\td"), "a\\nb\\rc\\td");
    CHECK_STR(ESC("\x01\x1f\x1b[0m"), "\\u0001\\u001f\\u001b[0m");
    CHECK_STR(ESC("nul\0byte"), "nul\\u0000byte");
    CHECK_STR(ESC("\x7f"), "\\u007f");
    CHECK_STR(ESC("C1 \xC2\2332J \xC2\xA0"), "C1 \\u009b2J \xC2\xA0");
    /* valid multi-byte UTF-8 is kept */
    CHECK_STR(ESC("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF");
    /* invalid UTF-8 becomes U+FFFD, one per bad byte */
    CHECK_STR(ESC("a\xff-b"), "a\\ufffd-b");
    CHECK_STR(ESC("\xC3("), "\\ufffd(");
    CHECK_STR(ESC("end\xC3"), "end\\ufffd");
    CHECK_STR(ESC("\xE2\x82"), "\\ufffd\\ufffd");
    CHECK_STR(ESC("\x80"), "\\ufffd");
    CHECK_STR(ESC("\xC0\xAF"), "\\ufffd\\ufffd");            /* overlong '/' */
    CHECK_STR(ESC("\xE0\x80\xAF"), "\\ufffd\\ufffd\\ufffd"); /* overlong, 3 bytes */
    CHECK_STR(ESC("\xED\xA0\x80"), "\\ufffd\\ufffd\\ufffd"); /* a UTF-16 surrogate */
    CHECK_STR(ESC("\xF0\x80\x80\xAF"), "\\ufffd\\ufffd\\ufffd\\ufffd");
    CHECK_STR(ESC("\xF4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd"); /* past U+10FFFF */
    CHECK_STR(ESC("\xF5\x80"), "\\ufffd\\ufffd");
}

/* Parses a JSON line (one object and a trailing newline) and checks its fields. */
static cJSON *parse_line(const char *s)
{
    size_t n = strlen(s);
    CHECK(n > 0 && s[n - 1] == '\n');
    CHECK(memchr(s, '\n', n - 1) == NULL);
    cJSON *j = cJSON_Parse(s);
    CHECK(j != NULL && cJSON_IsObject(j));
    return j;
}

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : "(missing)";
}

static double jnum(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -999;
}

static void test_json_lines(void)
{
    struct log_style st = style(LOG_JSON, true, false, 6);
    struct log_source api = source("api", "api", 0, 123);
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hello", 5),
              "{\"ts\":\"2023-11-14T22:13:20.250Z\",\"role\":\"api\",\"instance\":0,\"pid\":123,"
              "\"stream\":\"stdout\",\"msg\":\"hello\"}\n");
    /* JSON has no colors, even when color is on */
    CHECK(strchr(line(&st, &api, LOG_STDERR, "x", 1), '\x1b') == NULL);

    struct log_source w = source("worker.2", "wor\"ker", 2, 77);
    const char msg[] = "tab\there \"quoted\" back\\slash \x01 caf\xC3\xA9 \xff end";
    cJSON *j = parse_line(line(&st, &w, LOG_STDERR, msg, sizeof msg - 1));
    if (j) {
        CHECK_STR(jstr(j, "role"), "wor\"ker");
        CHECK_STR(jstr(j, "stream"), "stderr");
        CHECK_INT(jnum(j, "instance"), 2);
        CHECK_INT(jnum(j, "pid"), 77);
        CHECK_STR(jstr(j, "ts"), "2023-11-14T22:13:20.250Z");
        CHECK_STR(jstr(j, "msg"),
                  "tab\there \"quoted\" back\\slash \x01 caf\xC3\xA9 \xEF\xBF\xBD end");
        cJSON_Delete(j);
    }
    /* the pid changes after a restart: prepare again */
    w.pid = 78;
    j = parse_line(line(&st, &w, LOG_STDOUT, "", 0));
    if (j) {
        CHECK_INT(jnum(j, "pid"), 78);
        CHECK_STR(jstr(j, "msg"), "");
        cJSON_Delete(j);
    }
    logfmt_source_free(&api);
    logfmt_source_free(&w);
}

static void test_events(void)
{
    struct log_style st = style(LOG_TEXT, false, false, 6);
    CHECK_STR(event(&st, "exit", "api", 0, "\"code\":1", "api exited with code 1"),
              "roster | api exited with code 1\n");
    st.pad = 8;
    CHECK_STR(event(&st, "start", NULL, 0, NULL, "starting 3 roles"),
              "roster   | starting 3 roles\n");
    st.pad = 2;
    CHECK_STR(event(&st, "start", NULL, 0, NULL, "x"), "roster | x\n");
    st = style(LOG_TEXT, true, true, 6);
    CHECK_STR(event(&st, "start", NULL, 0, NULL, "up"),
              "2023-11-14T22:13:20.250Z \x1b[1;37mroster |\x1b[0m up\n");

    st = style(LOG_JSON, false, false, 6);
    CHECK_STR(
        event(&st, "exit", "api", 1, "\"code\":1", "api.1 exited with code 1"),
        "{\"ts\":\"2023-11-14T22:13:20.250Z\",\"role\":\"roster\",\"event\":\"exit\","
        "\"subject\":\"api\",\"instance\":1,\"code\":1,\"msg\":\"api.1 exited with code 1\"}\n");
    CHECK_STR(event(&st, "start", NULL, 0, NULL, "up"),
              "{\"ts\":\"2023-11-14T22:13:20.250Z\",\"role\":\"roster\",\"event\":\"start\","
              "\"msg\":\"up\"}\n");
    CHECK_STR(event(&st, "start", NULL, 0, "", "up"),
              "{\"ts\":\"2023-11-14T22:13:20.250Z\",\"role\":\"roster\",\"event\":\"start\","
              "\"msg\":\"up\"}\n");
    cJSON *j = parse_line(event(&st, "config \"error\"", "we\\b", 0, "\"signal\":\"SIGKILL\"",
                                "bad \"value\"\nnext line \xC3"));
    if (j) {
        CHECK_STR(jstr(j, "role"), "roster");
        CHECK_STR(jstr(j, "event"), "config \"error\"");
        CHECK_STR(jstr(j, "subject"), "we\\b");
        CHECK_STR(jstr(j, "signal"), "SIGKILL");
        CHECK_STR(jstr(j, "msg"), "bad \"value\"\nnext line \xEF\xBF\xBD");
        cJSON_Delete(j);
    }
}

/* FORCE_COLOR for children: supports-color's levels, as concurrently passes them on. */
static void test_color_level(void)
{
    CHECK_STR(logfmt_color_level(NULL, NULL), "1");
    CHECK_STR(logfmt_color_level("xterm", NULL), "1");
    CHECK_STR(logfmt_color_level("xterm-256color", NULL), "2");
    CHECK_STR(logfmt_color_level("screen-256color", "truecolor"), "3");
    CHECK_STR(logfmt_color_level("xterm", "24bit"), "3");
    CHECK_STR(logfmt_color_level("256color", "yes"), "2");
    CHECK_STR(logfmt_color_level("vt100", ""), "1");
}

/* issue 9 §3: concurrently's look: prefixes from -p's templates, -l, --pad-prefix, -r, --hide,
 * its colors, its event lines; roster's own events give way to them. */
static char *look_line(struct log_style *st, struct log_source *src, const char *msg)
{
    sbuf out;
    sbuf_init(&out);
    logfmt_prepare(st, src);
    logfmt_line(st, src, LOG_STDOUT, msg, strlen(msg), TS, &out);
    logfmt_source_free(src);
    return out.data ? sbuf_detach(&out) : xstrdup("");
}

static void test_look(void)
{
    struct log_style st = style(LOG_TEXT, false, false, 6);
    st.look = true;
    st.command_length = 10;
    struct log_source src = source("0", "0", 0, 4242);
    src.tmpl = "{index}";
    src.brackets = true;
    src.look_index = 1;
    src.command = "echo foo";
    src.name = "api";
    char *l = look_line(&st, &src, "hello");
    CHECK_STR(l, "[1] hello\n");
    free(l);
    src.tmpl = "{name}";
    l = look_line(&st, &src, "x");
    CHECK_STR(l, "[api] x\n");
    free(l);
    /* -p command -l 5: concurrently's shortenText */
    st.command_length = 5;
    src.tmpl = "{command}";
    l = look_line(&st, &src, "foo");
    CHECK_STR(l, "[ec..o] foo\n");
    free(l);
    st.command_length = 10;
    l = look_line(&st, &src, "foo");
    CHECK_STR(l, "[echo foo] foo\n");
    free(l);
    /* a template: no brackets, unknown fields kept */
    src.tmpl = "{pid}:{name}{x}";
    src.brackets = false;
    l = look_line(&st, &src, "m");
    CHECK_STR(l, "4242:api{x} m\n");
    free(l);
    /* --pad-prefix pads the content inside the brackets */
    src.tmpl = "{name}";
    src.brackets = true;
    CHECK_INT(logfmt_look_width(&st, &src), 3);
    st.look_pad = 6;
    l = look_line(&st, &src, "m");
    CHECK_STR(l, "[api   ] m\n");
    free(l);
    st.look_pad = 0;
    /* -p none: nothing before the line */
    src.tmpl = NULL;
    l = look_line(&st, &src, "m");
    CHECK_STR(l, "m\n");
    free(l);
    /* colors: the prefix only, from the chalk style */
    st.color = true;
    src.tmpl = "{index}";
    src.chalk = "bgBlue.bold";
    l = look_line(&st, &src, "m");
    CHECK_STR(l, "\x1b[44m\x1b[1m[1]\x1b[0m m\n");
    free(l);
    src.chalk = "";
    l = look_line(&st, &src, "m");
    CHECK_STR(l, "[1] m\n");
    free(l);
    st.color = false;
    /* -r: the output alone; --hide: nothing */
    st.raw = true;
    l = look_line(&st, &src, "raw");
    CHECK_STR(l, "raw\n");
    free(l);
    st.raw = false;
    src.hidden = true;
    l = look_line(&st, &src, "hidden");
    CHECK_STR(l, "");
    free(l);
    src.hidden = false;
    /* event lines: concurrently's, not roster's */
    sbuf out;
    sbuf_init(&out);
    logfmt_prepare(&st, &src);
    logfmt_event(&st, "exited", "0", 0, NULL, "0 exited (code 1)", TS, &out);
    CHECK_INT(out.len, 0);
    logfmt_note(&st, &src, "exit 1 exited with code 1", TS, &out);
    logfmt_global(&st, "Sending SIGTERM to other processes..", &out);
    CHECK_STR(out.data,
              "[1] exit 1 exited with code 1\n--> Sending SIGTERM to other processes..\n");
    sbuf_reset(&out);
    st.raw = true;
    logfmt_note(&st, &src, "x", TS, &out);
    logfmt_global(&st, "x", &out);
    CHECK_INT(out.len, 0);
    sbuf_free(&out);
    logfmt_source_free(&src);
}

static void test_chalk_and_dates(void)
{
    char b[80];
    logfmt_chalk_sgr("red", b, sizeof b);
    CHECK_STR(b, "\x1b[31m");
    logfmt_chalk_sgr("reset", b, sizeof b);
    CHECK_STR(b, "");
    logfmt_chalk_sgr("#23de43.inverse", b, sizeof b);
    CHECK_STR(b, "\x1b[38;2;35;222;67m\x1b[7m");
    logfmt_chalk_sgr("#fff", b, sizeof b);
    CHECK_STR(b, "\x1b[38;2;255;255;255m");
    logfmt_chalk_sgr("greenBright.bgWhiteBright.underline", b, sizeof b);
    CHECK_STR(b, "\x1b[92m\x1b[107m\x1b[4m");
    logfmt_chalk_sgr("red.bold", b, 8); /* cut short, never overflowed */
    CHECK_STR(b, "\x1b[31m");
    /* dates in local time: UTC here */
    setenv("TZ", "UTC", 1);
    logfmt_date("yyyy-MM-dd HH:mm:ss.SSS", TS, b, sizeof b);
    CHECK_STR(b, "2023-11-14 22:13:20.250");
    logfmt_date("yy/M/d h:mm a EEE MMM 'at' ''S''", TS, b, sizeof b);
    CHECK_STR(b, "23/11/14 10:13 PM Tue Nov at '2'");
    logfmt_date("EEEE MMMM", TS, b, sizeof b);
    CHECK_STR(b, "Tuesday November");
    CHECK_INT(logfmt_date("yyyy-MM-dd", TS, b, 5), 4);
    CHECK_STR(b, "2023");
}

/* A role's color: and hide: in roster's look: the chalk style replaces the palette's color, and
 * a hidden role's lines are dropped in text and JSON while roster's events stay. */
static void test_role_color_and_hide(void)
{
    struct log_style st = style(LOG_TEXT, true, false, 6);
    struct log_source api = source("api", "api", 0, 123);
    api.chalk = "bgBlue.bold";
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hi", 2), "\x1b[44m\x1b[1mapi    |\x1b[0m hi\n");
    api.chalk = "";
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hi", 2), "\x1b[36mapi    |\x1b[0m hi\n");
    st.color = false;
    api.chalk = "red";
    CHECK_STR(line(&st, &api, LOG_STDOUT, "hi", 2), "api    | hi\n");

    api.hidden = true;
    CHECK_STR(line(&st, &api, LOG_STDOUT, "secret", 6), "");
    CHECK_STR(event(&st, "exited", "api", 0, NULL, "api exited (code 0)"),
              "roster | api exited (code 0)\n");
    st = style(LOG_JSON, false, false, 6);
    CHECK_STR(line(&st, &api, LOG_STDOUT, "secret", 6), "");
    api.hidden = false;
    CHECK(strstr(line(&st, &api, LOG_STDOUT, "shown", 5), "\"msg\":\"shown\"") != NULL);
    logfmt_source_free(&api);
}

/* Whether s is whole UTF-8 characters (no sequence cut at either end). */
static bool whole_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80) return false;
        i += k;
    }
    return true;
}

/* log.max_line: a long line comes out as several, each at most max_line bytes with its
 * prefix and newline, each with the prefix, cut between characters, and together the line. */
static void test_max_line(void)
{
    /* text whose 2-, 3- and 4-byte characters fall on every cut point as max_line moves */
    sbuf msg;
    sbuf_init(&msg);
    for (int i = 0; i < 40; i++)
        sbuf_puts(&msg, i % 4 == 0   ? "a\xc3\xa9"
                        : i % 4 == 1 ? "\xe2\x82\xac"
                        : i % 4 == 2 ? "\xf0\x9f\x98\x80"
                                     : "\"q\"");
    for (int fmt = 0; fmt < 2; fmt++) {
        /* from just past the prefix (a JSON line's fields take about 120 bytes) */
        for (size_t max = fmt ? 130 : 16; max <= (fmt ? 230u : 116u); max++) {
            struct log_style st = style(fmt ? LOG_JSON : LOG_TEXT, false, false, 6);
            st.max_line = max;
            struct log_source api = source("api", "api", 0, 42);
            logfmt_prepare(&st, &api);
            sbuf out, joined;
            sbuf_init(&out);
            sbuf_init(&joined);
            logfmt_piece(&st, &api, LOG_STDOUT, msg.data, msg.len, TS, false, &out);
            int pieces = 0;
            bool ok = true;
            for (char *p = out.data, *nl; p < out.data + out.len; p = nl + 1) {
                nl = memchr(p, '\n', (size_t)(out.data + out.len - p));
                if (!nl) {
                    ok = false;
                    break;
                }
                size_t n = (size_t)(nl - p) + 1;
                if (n > max) ok = false;
                if (fmt == 0) {
                    if (strncmp(p, "api    | ", 9) != 0) ok = false;
                    if (!whole_utf8(p + 9, n - 10)) ok = false;
                    sbuf_append(&joined, p + 9, n - 10);
                } else {
                    cJSON *j = cJSON_ParseWithLength(p, n - 1);
                    const cJSON *m = cJSON_GetObjectItem(j, "msg");
                    const cJSON *role = cJSON_GetObjectItem(j, "role");
                    const cJSON *cont = cJSON_GetObjectItem(j, "continued");
                    if (!cJSON_IsString(m) || !cJSON_IsString(role) ||
                        strcmp(role->valuestring, "api"))
                        ok = false;
                    else if (!whole_utf8(m->valuestring, strlen(m->valuestring)))
                        ok = false;
                    else
                        sbuf_puts(&joined, m->valuestring);
                    if (pieces == 0 ? cont != NULL : !cJSON_IsTrue(cont)) ok = false;
                    cJSON_Delete(j);
                }
                pieces++;
            }
            if (!ok || joined.len != msg.len || memcmp(joined.data, msg.data, msg.len) != 0 ||
                pieces < 2) {
                fprintf(stderr, "max_line %zu (%s): %d pieces, ok %d, joined %zu of %zu\n%s", max,
                        fmt ? "json" : "text", pieces, ok, joined.len, msg.len, out.data);
                CHECK(0);
            }
            sbuf_free(&out);
            sbuf_free(&joined);
            logfmt_source_free(&api);
        }
    }

    struct log_style st = style(LOG_JSON, false, false, 6);
    struct log_source api = source("api", "api", 0, 42);
    /* a line that fits is left alone; a piece the reader cut says it continues */
    st.max_line = 4096;
    CHECK(strstr(line(&st, &api, LOG_STDOUT, msg.data, msg.len), "continued") == NULL);
    sbuf out;
    sbuf_init(&out);
    logfmt_piece(&st, &api, LOG_STDOUT, "tail", 4, TS, true, &out);
    CHECK(strstr(out.data, "{\"ts\":\"2023-11-14T22:13:20.250Z\",\"continued\":true,") == out.data);
    sbuf_free(&out);
    /* no bound: one line whatever its length */
    st.max_line = 0;
    const char *one = line(&st, &api, LOG_STDOUT, msg.data, msg.len);
    CHECK(strchr(one, '\n') == one + strlen(one) - 1);
    /* a prefix wider than the bound: one character a line, and the loop ends */
    st = style(LOG_TEXT, false, false, 30);
    st.max_line = 8;
    sbuf_init(&out);
    logfmt_prepare(&st, &api);
    logfmt_piece(&st, &api, LOG_STDOUT, "a\xc3\xa9z", 4, TS, false, &out);
    CHECK_STR(out.data, "api                            | a\n"
                        "api                            | \xc3\xa9\n"
                        "api                            | z\n");
    sbuf_free(&out);
    logfmt_source_free(&api);
    sbuf_free(&msg);
}

int main(void)
{
    test_max_line();
    test_look();
    test_chalk_and_dates();
    test_color_level();
    test_text();
    test_role_color_and_hide();
    test_colors();
    test_json_escape();
    test_text_escape();
    test_json_lines();
    test_events();
    return t_done("logfmt");
}
