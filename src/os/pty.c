/* pty.c — pseudo-terminals for tty roles. See pty.h. posix_openpt rather than openpty: the same
 * pair without libutil, and the flags (close-on-exec, no controlling terminal) are set as the
 * descriptors are made, not after, so no concurrent spawn inherits them. */
#include "os/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct pty_size pty_term_size(void)
{
    struct winsize ws;
    /* stdout first: roster | less keeps stdin a terminal, but the lines go elsewhere */
    for (int fd = 1; fd >= 0; fd--)
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
            return (struct pty_size){ws.ws_row, ws.ws_col};
    return (struct pty_size){24, 80};
}

int pty_resize(int master, struct pty_size size)
{
    struct winsize ws = {.ws_row = size.rows, .ws_col = size.cols};
    return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int pty_open(int *master, int *slave, struct pty_size size)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s = -1, e;
    if (m < 0) return -errno;
    char name[128];
    if (grantpt(m) < 0 || unlockpt(m) < 0) goto fail;
    if ((e = ptsname_r(m, name, sizeof name)) != 0) {
        errno = e;
        goto fail;
    }
    /* O_NOCTTY: a roster without a terminal would otherwise take this one as its own */
    s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) goto fail;
    struct termios t;
    if (tcgetattr(s, &t) < 0) goto fail;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
    if (tcsetattr(s, TCSANOW, &t) < 0) goto fail;
    if ((e = pty_resize(m, size)) < 0) {
        errno = -e;
        goto fail;
    }
    /* a child that does not read its input must not block roster's writes */
    int fl = fcntl(m, F_GETFL);
    if (fl < 0 || fcntl(m, F_SETFL, fl | O_NONBLOCK) < 0) goto fail;
    *master = m;
    *slave = s;
    return 0;
fail:
    e = errno;
    close(m);
    if (s >= 0) close(s);
    return -e;
}
