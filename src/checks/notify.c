/* notify.c — sd_notify sockets. */
#include "checks/notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"
#include "os/sys.h"

void notify_parse(const char *msg, size_t len, struct notify_msg *out)
{
    memset(out, 0, sizeof *out);
    const char *p = msg, *end = msg + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        if (n == 7 && !memcmp(p, "READY=1", 7))
            out->ready = true;
        else if (n == 10 && !memcmp(p, "STOPPING=1", 10))
            out->stopping = true;
        else if (n == 11 && !memcmp(p, "RELOADING=1", 11))
            out->reloading = true;
        else if (n == 10 && !memcmp(p, "WATCHDOG=1", 10))
            out->watchdog = true;
        else if (n == 16 && !memcmp(p, "WATCHDOG=trigger", 16))
            out->watchdog_trigger = true;
        else if (n >= 7 && !memcmp(p, "STATUS=", 7)) {
            size_t sl = n - 7;
            if (sl >= sizeof out->status) sl = sizeof out->status - 1;
            memcpy(out->status, p + 7, sl);
            out->status[sl] = '\0';
            /* keep it printable: control characters become spaces */
            for (size_t i = 0; i < sl; i++)
                if ((unsigned char)out->status[i] < 0x20) out->status[i] = ' ';
            out->has_status = true;
        }
        p = nl ? nl + 1 : end;
    }
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct notify_sock *n = (struct notify_sock *)h;
    (void)events;
    if (status < 0) return;
    for (int i = 0; i < 16; i++) {
        char buf[4096];
        pid_t sender;
        ssize_t r = os_recv_cred(n->fd, buf, sizeof buf, &sender);
        if (r < 0) break;
        n->cb(n->ud, sender, buf, (size_t)r);
    }
}

/* Binds n->fd to n->name: 0 or -errno. */
static int bind_name(struct notify_sock *n)
{
    struct sockaddr_un sa;
    socklen_t sl;
    int rc = os_unix_addr(n->name, &sa, &sl);
    if (rc < 0) return rc;
    return bind(n->fd, (struct sockaddr *)&sa, sl) < 0 ? -errno : 0;
}

/* True when path is a socket file nobody is bound to: left by a roster that died. */
static bool stale(const char *path)
{
    struct sockaddr_un sa;
    socklen_t sl;
    if (os_unix_addr(path, &sa, &sl) < 0) return false;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool dead = connect(fd, (struct sockaddr *)&sa, sl) < 0 && errno == ECONNREFUSED;
    close(fd);
    return dead;
}

struct notify_sock *notify_open(uv_loop_t *loop, const char *name, notify_cb cb, void *ud)
{
    struct notify_sock *n = xcalloc(1, sizeof *n);
    n->cb = cb;
    n->ud = ud;
    int rc;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (n->fd < 0) {
        rc = -errno;
        goto fail;
    }
    /* Without credentials no sender can be told apart: every message is then ignored. */
    (void)os_passcred(n->fd);
    /* The abstract namespace leaves no file behind. Where there is none (another Unix, a
     * sandbox that refuses it) or the name is taken (two rosters running as PID 1 in one network
     * namespace), a file in the temporary directory instead, removed on close. */
    snprintf(n->name, sizeof n->name, "@%s", name);
    rc = bind_name(n);
    if (rc < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(n->name, sizeof n->name, "%s/%s.notify", tmp && *tmp ? tmp : "/tmp", name);
        rc = bind_name(n);
        if (rc == -EADDRINUSE && stale(n->name)) {
            unlink(n->name);
            rc = bind_name(n);
        }
        n->is_path = rc == 0;
    }
    if (rc < 0) goto fail;
    if (uv_poll_init(loop, &n->poll, n->fd) != 0) {
        rc = -EIO;
        goto fail;
    }
    uv_poll_start(&n->poll, UV_READABLE, on_readable);
    return n;
fail:
    if (n->is_path) unlink(n->name);
    if (n->fd >= 0) close(n->fd);
    free(n);
    errno = -rc;
    return NULL;
}

static void closed(uv_handle_t *h)
{
    struct notify_sock *n = (struct notify_sock *)h;
    if (n->is_path) unlink(n->name);
    close(n->fd);
    free(n);
}

void notify_close(struct notify_sock *n)
{
    if (!n) return;
    uv_close((uv_handle_t *)&n->poll, closed);
}

int notify_send(const char *socket_name, const char *msg)
{
    struct sockaddr_un sa;
    socklen_t sl;
    int rc = os_unix_addr(socket_name, &sa, &sl);
    if (rc < 0) return rc;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}
