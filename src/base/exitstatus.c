/* exitstatus.c — a process's end in numbers and words. See exitstatus.h. */
#include "base/exitstatus.h"

#include <stdio.h>
#include <sys/wait.h>

#include "base/util.h"

void exitstatus_decode(int wstatus, int *code, int *sig)
{
    if (WIFEXITED(wstatus)) {
        *code = WEXITSTATUS(wstatus);
        *sig = 0;
    } else {
        *code = -1;
        *sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    }
}

int exitstatus_shell(int code, int sig)
{
    return code >= 0 ? code : 128 + sig;
}

void exitstatus_describe(int code, int sig, enum exitstatus_words w, char *buf, size_t size)
{
    if (code >= 0)
        snprintf(buf, size, "%s %d", w == EXITSTATUS_PROBE ? "exit" : "code", code);
    else
        snprintf(buf, size, "%s %s", w == EXITSTATUS_PROBE ? "killed by" : "signal",
                 signal_name(sig));
}

void exitstatus_json(int code, int sig, char *buf, size_t size)
{
    if (code >= 0)
        snprintf(buf, size, "\"code\":%d", code);
    else
        snprintf(buf, size, "\"signal\":\"%s\"", signal_name(sig));
}
