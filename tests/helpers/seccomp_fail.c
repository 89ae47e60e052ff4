/* seccomp_fail.c — runs a program with one kind of system call failing, as gVisor (App Platform's
 * sandbox) or an older kernel makes it fail: a seccomp filter, inherited by every child, answers
 * the named calls with an errno instead of running them.
 *
 *   seccomp_fail WHAT ERRNO PROGRAM [ARG...]
 *
 * WHAT: close_range, pidfd_open, pidfd_send_signal, subreaper (prctl PR_SET_CHILD_SUBREAPER
 * only: prctl's other options keep working), inotify (inotify_init, inotify_init1 and
 * inotify_add_watch), timerfd (timerfd_create). ERRNO: ENOSYS, EINVAL, EPERM or EMFILE (a
 * process out of descriptors). Exits 2 on a usage error, 3 when the filter
 * cannot be installed, 127 when PROGRAM cannot be run. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int errno_named(const char *name)
{
    if (!strcmp(name, "ENOSYS")) return ENOSYS;
    if (!strcmp(name, "EINVAL")) return EINVAL;
    if (!strcmp(name, "EPERM")) return EPERM;
    if (!strcmp(name, "EMFILE")) return EMFILE;
    return 0;
}

/* Adds a rule making syscall `name` fail; a name this libseccomp or architecture does not know
 * is skipped (nothing can call it then). */
static int fail_call(scmp_filter_ctx ctx, int err, const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return 0;
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 0);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: seccomp_fail WHAT ERRNO PROGRAM [ARG...]\n");
        return 2;
    }
    const char *what = argv[1];
    int err = errno_named(argv[2]);
    if (!err) {
        fprintf(stderr, "seccomp_fail: unknown errno '%s' (ENOSYS, EINVAL, EPERM or EMFILE)\n",
                argv[2]);
        return 2;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        fprintf(stderr, "seccomp_fail: seccomp_init failed\n");
        return 3;
    }
    int rc;
    if (!strcmp(what, "close_range") || !strcmp(what, "pidfd_open") ||
        !strcmp(what, "pidfd_send_signal")) {
        rc = fail_call(ctx, err, what);
    } else if (!strcmp(what, "timerfd")) {
        rc = fail_call(ctx, err, "timerfd_create");
    } else if (!strcmp(what, "subreaper")) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), SCMP_SYS(prctl), 1,
                              SCMP_A0(SCMP_CMP_EQ, PR_SET_CHILD_SUBREAPER));
    } else if (!strcmp(what, "inotify")) {
        rc = fail_call(ctx, err, "inotify_init");
        if (rc == 0) rc = fail_call(ctx, err, "inotify_init1");
        if (rc == 0) rc = fail_call(ctx, err, "inotify_add_watch");
    } else {
        fprintf(stderr, "seccomp_fail: unknown call '%s'\n", what);
        seccomp_release(ctx);
        return 2;
    }
    if (rc == 0) rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        fprintf(stderr, "seccomp_fail: could not install the filter: %s\n", strerror(-rc));
        return 3;
    }
    execvp(argv[3], argv + 3);
    fprintf(stderr, "seccomp_fail: %s: %s\n", argv[3], strerror(errno));
    return 127;
}
