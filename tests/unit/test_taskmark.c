/* test_taskmark.c — a built-in role's lines on behalf of its tasks: the mark a role writes, what
 * roster reads of it (and what it refuses), and how the line looks in text and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/logfmt.h"
#include "log/taskmark.h"
#include "t.h"

/* What taskmark_write wrote for (name, text), as a string. */
static char *written(const char *name, const char *text)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    taskmark_write(f, name, text, strlen(text));
    fclose(f);
    return buf;
}

/* "name|text" as split, or "-" when the line is the role's own. */
static const char *split(const char *line)
{
    static char out[256];
    const char *name, *text;
    size_t nl, tl;
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n') len--;
    if (!taskmark_split(line, len, &name, &nl, &text, &tl)) return "-";
    snprintf(out, sizeof out, "%.*s|%.*s", (int)nl, name, (int)tl, text);
    return out;
}

static void test_round_trip(void)
{
    char *w = written("nightly", "hello | world");
    CHECK_STR(w, "\x1enightly\x1fhello | world\n");
    CHECK_STR(split(w), "nightly|hello | world");
    free(w);
    w = written("lighthouse#1234567890abcdef", "");
    CHECK_STR(split(w), "lighthouse#1234567890abcdef|");
    free(w);
    /* a name no mark may carry is written as the role's own line, never as a broken mark */
    w = written("a b", "x");
    CHECK_STR(w, "a b | x\n");
    CHECK_STR(split(w), "-");
    free(w);
    /* a task's output that holds a mark stays its text: only the first mark is read */
    w = written("mine", "\x1eother\x1f"
                        "forged");
    CHECK_STR(split(w), "mine|\x1eother\x1f"
                        "forged");
    free(w);
}

static void test_refused(void)
{
    CHECK_STR(split("plain line"), "-");
    CHECK_STR(split("\x1e\x1f"
                    "empty name"),
              "-");
    CHECK_STR(split("\x1e"
                    "never ends"),
              "-");
    CHECK_STR(split("\x1e"
                    "a|b\x1f"
                    "bar in the name"),
              "-");
    CHECK_STR(split("\x1e"
                    "a\x1b"
                    "\x1f"
                    "escape in the name"),
              "-");
    char longname[80];
    memset(longname, 'n', sizeof longname);
    longname[0] = '\x1e';
    longname[TASKMARK_MAX_NAME + 1] = '\x1f';
    snprintf(longname + TASKMARK_MAX_NAME + 2, sizeof longname - TASKMARK_MAX_NAME - 2, "t");
    CHECK(strcmp(split(longname), "-") != 0); /* 64 bytes: the most */
    memset(longname, 'n', sizeof longname);
    longname[0] = '\x1e';
    longname[TASKMARK_MAX_NAME + 2] = '\x1f';
    snprintf(longname + TASKMARK_MAX_NAME + 3, sizeof longname - TASKMARK_MAX_NAME - 3, "t");
    CHECK_STR(split(longname), "-"); /* 65: too long */
}

/* How a task's line looks: "label/task |" padded and colored as the label; "task" in JSON. */
static void test_format(void)
{
    struct log_style st;
    memset(&st, 0, sizeof st);
    st.pad = 20;
    struct log_source src;
    memset(&src, 0, sizeof src);
    src.label = "scheduler";
    src.role = "scheduler";
    src.pid = 42;
    src.color = "\x1b[36m";
    sbuf out;
    sbuf_init(&out);
    logfmt_prepare(&st, &src);
    src.task = "nightly";
    src.task_len = 7;
    logfmt_line(&st, &src, LOG_STDOUT, "done\x1b", 5, 0, &out);
    src.task = NULL;
    logfmt_line(&st, &src, LOG_STDOUT, "own", 3, 0, &out);
    CHECK_STR(out.data, "scheduler/nightly    | done\\x1b\nscheduler            | own\n");
    sbuf_reset(&out);
    st.color = true;
    logfmt_prepare(&st, &src);
    src.task = "nightly";
    logfmt_line(&st, &src, LOG_STDERR, "x", 1, 0, &out);
    CHECK_STR(out.data, "\x1b[36mscheduler/nightly    |\x1b[0m x\n");
    sbuf_reset(&out);
    st.color = false;
    st.format = LOG_JSON;
    logfmt_prepare(&st, &src);
    logfmt_line(&st, &src, LOG_STDOUT, "x", 1, 1700000000.25, &out);
    CHECK(strstr(out.data, ",\"task\":\"nightly\",\"role\":\"scheduler\",\"instance\":0,") != NULL);
    sbuf_free(&out);
    logfmt_source_free(&src);
}

int main(void)
{
    test_round_trip();
    test_refused();
    test_format();
    return t_done("test_taskmark");
}
