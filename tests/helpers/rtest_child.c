/* rtest_child.c — a child process with misbehaviours on demand, for the end-to-end tests:
 *
 *   rtest-child sleep SECONDS               sleep, then exit 0
 *   rtest-child exit CODE [DELAY_MS]        exit with CODE after DELAY_MS
 *   rtest-child crash                       die of SIGSEGV
 *   rtest-child ignore-term [PIDFILE]       ignore SIGTERM and sleep forever
 *   rtest-child grandchild PIDFILE          fork a child in the same group that sleeps forever
 *   rtest-child orphan PIDFILE              leave an orphaned grandchild that exits soon after
 *   rtest-child flood N [LEN] [TAG]         write N numbered lines of LEN bytes in big writes
 *   rtest-child longline LEN                write one line of LEN bytes
 *   rtest-child partial TEXT                write TEXT with no newline and exit 0
 *   rtest-child stamp FILE TAG [SECONDS]    append "TAG start <ns>" to FILE, sleep, exit 0
 *   rtest-child env NAME...                 print NAME=value (or NAME unset) lines, sleep forever
 *   rtest-child pidfile FILE                write our pid to FILE and sleep forever
 *   rtest-child alloc MIB                   touch MIB mebibytes, then sleep forever
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            exit(3);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void write_pid(const char *path, pid_t pid)
{
    char tmp[4096], buf[32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) exit(4);
    int n = snprintf(buf, sizeof buf, "%d\n", (int)pid);
    write_all(fd, buf, (size_t)n);
    close(fd);
    rename(tmp, path);
}

static void forever(void)
{
    for (;;)
        pause();
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: rtest-child COMMAND ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "sleep") && argc >= 3) {
        struct timespec ts = {atoi(argv[2]), 0};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        return 0;
    }
    if (!strcmp(cmd, "exit") && argc >= 3) {
        if (argc >= 4) usleep((useconds_t)atoi(argv[3]) * 1000);
        return atoi(argv[2]);
    }
    if (!strcmp(cmd, "crash")) {
        raise(SIGSEGV);
        return 0;
    }
    if (!strcmp(cmd, "ignore-term")) {
        signal(SIGTERM, SIG_IGN);
        if (argc >= 3) write_pid(argv[2], getpid());
        printf("ignoring SIGTERM\n");
        fflush(stdout);
        forever();
    }
    if (!strcmp(cmd, "grandchild") && argc >= 3) {
        pid_t pid = fork();
        if (pid == 0) {
            signal(SIGTERM, SIG_IGN); /* only the group's SIGKILL ends it */
            forever();
        }
        write_pid(argv[2], pid);
        printf("grandchild %d\n", (int)pid);
        fflush(stdout);
        forever();
    }
    if (!strcmp(cmd, "orphan") && argc >= 3) {
        int p[2];
        if (pipe(p) < 0) return 5;
        pid_t mid = fork();
        if (mid == 0) {
            pid_t gc = fork();
            if (gc == 0) {
                char c;
                close(p[1]);
                /* wait until the middle process is gone, then exit: an orphan zombie */
                ssize_t r = read(p[0], &c, 1);
                (void)r;
                usleep(500 * 1000);
                _exit(0);
            }
            write_pid(argv[2], gc);
            _exit(0);
        }
        close(p[0]);
        waitpid(mid, NULL, 0);
        close(p[1]);
        printf("orphan left\n");
        fflush(stdout);
        forever();
    }
    if (!strcmp(cmd, "flood") && argc >= 3) {
        long n = atol(argv[2]);
        int len = argc >= 4 ? atoi(argv[3]) : 80;
        const char *tag = argc >= 5 ? argv[4] : "flood";
        if (len < 40) len = 40;
        size_t cap = 1 << 16;
        char *buf = malloc(cap + 4096);
        size_t used = 0;
        for (long i = 0; i < n; i++) {
            int k = snprintf(buf + used, 64, "%s %ld ", tag, i);
            /* pad to len with a pattern whose checksum the reader can verify */
            for (int j = k; j < len - 1; j++)
                buf[used + (size_t)j] = (char)('a' + (i + j) % 26);
            buf[used + (size_t)len - 1] = '\n';
            used += (size_t)len;
            if (used >= cap) {
                /* write in chunks that end mid-line, to give a careless reader torn lines */
                write_all(1, buf, cap);
                memmove(buf, buf + cap, used - cap);
                used -= cap;
            }
        }
        write_all(1, buf, used);
        free(buf);
        return 0;
    }
    if (!strcmp(cmd, "longline") && argc >= 3) {
        long len = atol(argv[2]);
        char *buf = malloc((size_t)len + 1);
        for (long i = 0; i < len; i++)
            buf[i] = (char)('a' + i % 26);
        buf[len] = '\n';
        write_all(1, buf, (size_t)len + 1);
        free(buf);
        return 0;
    }
    if (!strcmp(cmd, "partial") && argc >= 3) {
        write_all(1, argv[2], strlen(argv[2]));
        return 0;
    }
    if (!strcmp(cmd, "stamp") && argc >= 4) {
        char line[512];
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0) return 4;
        int k = snprintf(line, sizeof line, "%s start %lld\n", argv[3], now_ns());
        write_all(fd, line, (size_t)k);
        close(fd);
        if (argc >= 5) usleep((useconds_t)(atof(argv[4]) * 1e6));
        return 0;
    }
    if (!strcmp(cmd, "env")) {
        for (int i = 2; i < argc; i++) {
            const char *v = getenv(argv[i]);
            if (v)
                printf("%s=%s\n", argv[i], v);
            else
                printf("%s unset\n", argv[i]);
        }
        fflush(stdout);
        forever();
    }
    if (!strcmp(cmd, "pidfile") && argc >= 3) {
        write_pid(argv[2], getpid());
        forever();
    }
    if (!strcmp(cmd, "alloc") && argc >= 3) {
        size_t n = (size_t)atol(argv[2]) << 20;
        char *p = malloc(n);
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 1;
        printf("allocated %s MiB\n", argv[2]);
        fflush(stdout);
        forever();
    }
    fprintf(stderr, "rtest-child: unknown command %s\n", cmd);
    return 2;
}
