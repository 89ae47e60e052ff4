/* test_exitstatus.c — a process's end in numbers and words: wait statuses made by real
 * children (exit codes, signals), the shell's 128 + n, and the two ways roster words them. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/exitstatus.h"
#include "t.h"

/* The wait status of a child that exits with code, or dies of sig when sig is not 0. */
static int status_of(int code, int sig)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (sig) {
            signal(sig, SIG_DFL);
            raise(sig);
        }
        _exit(code);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    return st;
}

static void test_decode(void)
{
    int code = 99, sig = 99;
    exitstatus_decode(status_of(0, 0), &code, &sig);
    CHECK_INT(code, 0);
    CHECK_INT(sig, 0);
    exitstatus_decode(status_of(3, 0), &code, &sig);
    CHECK_INT(code, 3);
    CHECK_INT(sig, 0);
    exitstatus_decode(status_of(255, 0), &code, &sig);
    CHECK_INT(code, 255);
    exitstatus_decode(status_of(0, SIGTERM), &code, &sig);
    CHECK_INT(code, -1);
    CHECK_INT(sig, SIGTERM);
    exitstatus_decode(status_of(0, SIGKILL), &code, &sig);
    CHECK_INT(code, -1);
    CHECK_INT(sig, SIGKILL);
}

static void test_shell(void)
{
    CHECK_INT(exitstatus_shell(0, 0), 0);
    CHECK_INT(exitstatus_shell(1, 0), 1);
    CHECK_INT(exitstatus_shell(127, 0), 127);
    CHECK_INT(exitstatus_shell(-1, SIGTERM), 143);
    CHECK_INT(exitstatus_shell(-1, SIGKILL), 137);
    CHECK_INT(exitstatus_shell(-1, SIGSEGV), 139);
}

static void test_words(void)
{
    char buf[64];
    exitstatus_describe(1, 0, EXITSTATUS_EVENT, buf, sizeof buf);
    CHECK_STR(buf, "code 1");
    exitstatus_describe(-1, SIGTERM, EXITSTATUS_EVENT, buf, sizeof buf);
    CHECK_STR(buf, "signal SIGTERM");
    exitstatus_describe(3, 0, EXITSTATUS_PROBE, buf, sizeof buf);
    CHECK_STR(buf, "exit 3");
    exitstatus_describe(0, 0, EXITSTATUS_PROBE, buf, sizeof buf);
    CHECK_STR(buf, "exit 0");
    exitstatus_describe(-1, SIGKILL, EXITSTATUS_PROBE, buf, sizeof buf);
    CHECK_STR(buf, "killed by SIGKILL");
    exitstatus_json(0, 0, buf, sizeof buf);
    CHECK_STR(buf, "\"code\":0");
    exitstatus_json(-1, SIGSEGV, buf, sizeof buf);
    CHECK_STR(buf, "\"signal\":\"SIGSEGV\"");
    /* a short buffer is cut, never overrun */
    char small[6];
    exitstatus_describe(-1, SIGTERM, EXITSTATUS_EVENT, small, sizeof small);
    CHECK_STR(small, "signa");
}

int main(void)
{
    test_decode();
    test_shell();
    test_words();
    return t_done("exitstatus");
}
