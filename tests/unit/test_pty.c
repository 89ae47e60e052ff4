/* test_pty.c — pseudo-terminals for tty roles: the pair's flags (non-blocking master, both
 * close-on-exec, echo off), the size given and changed, and the fallback size. */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "os/pty.h"
#include "t.h"

static void test_open_and_resize(void)
{
    int master = -1, slave = -1;
    int rc = pty_open(&master, &slave, (struct pty_size){.rows = 33, .cols = 101});
    if (rc < 0) {
        printf("SKIP pty: no pseudo-terminals here (%s)\n", strerror(-rc));
        return;
    }
    CHECK(fcntl(master, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(master, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(slave, F_GETFD) & FD_CLOEXEC);
    CHECK(isatty(slave));
    struct termios t;
    CHECK_INT(tcgetattr(slave, &t), 0);
    CHECK(!(t.c_lflag & ECHO));
    struct winsize ws;
    CHECK_INT(ioctl(slave, TIOCGWINSZ, &ws), 0);
    CHECK_INT(ws.ws_row, 33);
    CHECK_INT(ws.ws_col, 101);
    CHECK_INT(pty_resize(master, (struct pty_size){.rows = 41, .cols = 120}), 0);
    CHECK_INT(ioctl(slave, TIOCGWINSZ, &ws), 0);
    CHECK_INT(ws.ws_row, 41);
    CHECK_INT(ws.ws_col, 120);
    /* what the child writes comes out of the master, a newline as CRLF */
    CHECK_INT(write(slave, "hi\n", 3), 3);
    char buf[16];
    ssize_t n = -1;
    for (int i = 0; i < 1000 && n <= 0; i++) {
        n = read(master, buf, sizeof buf);
        if (n <= 0) usleep(1000);
    }
    CHECK_INT(n, 4);
    CHECK(n == 4 && !memcmp(buf, "hi\r\n", 4));
    close(slave);
    close(master);
    CHECK_INT(pty_resize(-1, (struct pty_size){.rows = 1, .cols = 1}) < 0, 1);
}

static void test_term_size_without_a_terminal(void)
{
    /* stdin and stdout of a unit test under ctest are no terminals: the fallback */
    if (isatty(0) || isatty(1)) {
        printf("SKIP pty: the fallback size needs stdin and stdout that are no terminals\n");
        return;
    }
    struct pty_size s = pty_term_size();
    CHECK_INT(s.rows, 24);
    CHECK_INT(s.cols, 80);
}

int main(void)
{
    test_open_and_resize();
    test_term_size_without_a_terminal();
    return t_done("pty");
}
