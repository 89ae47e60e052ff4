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

static socklen_t make_addr(const char *socket, struct sockaddr_un *sa)
{
    size_t len = strlen(socket);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (len == 0 || len >= sizeof sa->sun_path) return 0;
    memcpy(sa->sun_path, socket, len);
    if (socket[0] == '@') {
        sa->sun_path[0] = '\0';
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct notify_sock *n = (struct notify_sock *)h;
    (void)events;
    if (status < 0) return;
    for (int i = 0; i < 16; i++) {
        char buf[4096];
        char cbuf[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = {buf, sizeof buf - 1};
        struct msghdr mh = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        ssize_t r = recvmsg(n->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (r < 0) break;
        pid_t sender = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred uc;
                memcpy(&uc, CMSG_DATA(c), sizeof uc);
                sender = uc.pid;
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                /* FDSTORE is not supported: close what was passed */
                int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                int *fds = (int *)CMSG_DATA(c);
                for (int k = 0; k < nfd; k++)
                    close(fds[k]);
            }
        }
        buf[r] = '\0';
        n->cb(n->ud, sender, buf, (size_t)r);
    }
}

struct notify_sock *notify_open(uv_loop_t *loop, const char *name, notify_cb cb, void *ud)
{
    struct notify_sock *n = xcalloc(1, sizeof *n);
    snprintf(n->name, sizeof n->name, "@%s", name);
    n->cb = cb;
    n->ud = ud;
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (n->fd < 0) goto fail;
    int one = 1;
    setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    struct sockaddr_un sa;
    socklen_t sl = make_addr(n->name, &sa);
    if (!sl || bind(n->fd, (struct sockaddr *)&sa, sl) < 0) goto fail;
    if (uv_poll_init(loop, &n->poll, n->fd) != 0) goto fail;
    uv_poll_start(&n->poll, UV_READABLE, on_readable);
    return n;
fail:;
    int e = errno;
    if (n->fd >= 0) close(n->fd);
    free(n);
    errno = e;
    return NULL;
}

static void closed(uv_handle_t *h)
{
    struct notify_sock *n = (struct notify_sock *)h;
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
    socklen_t sl = make_addr(socket_name, &sa);
    if (!sl) return -EINVAL;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}
