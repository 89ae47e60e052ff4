/* notify.h — the sd_notify protocol, both ways. Each role instance that asks for it gets a
 * datagram socket in the abstract namespace (NOTIFY_SOCKET=@roster-...), so daemons written for
 * systemd work unchanged; roster itself tells systemd READY=1 and STOPPING=1 when it runs under
 * Type=notify. */
#ifndef ROSTER_NOTIFY_H
#define ROSTER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

/* What one datagram said. Pure parsing of "KEY=VALUE\n" lines. */
struct notify_msg {
    bool ready, stopping, reloading, watchdog, watchdog_trigger;
    char status[256]; /* STATUS=, when has_status */
    bool has_status;
};

void notify_parse(const char *msg, size_t len, struct notify_msg *out);

typedef void (*notify_cb)(void *ud, pid_t sender, const char *msg, size_t len);

struct notify_sock {
    uv_poll_t poll; /* first: the handle is the socket */
    int fd;
    char name[108]; /* "@roster-..." as put in NOTIFY_SOCKET, or a path (is_path) */
    bool is_path;   /* a file, removed on close, where there is no abstract namespace */
    notify_cb cb;
    void *ud;
};

/* Binds a datagram socket named "@<name>" in the abstract namespace, or where there is none
 * "$TMPDIR/<name>.notify". NULL on failure (errno set). */
struct notify_sock *notify_open(uv_loop_t *loop, const char *name, notify_cb cb, void *ud);
/* Stops receiving and frees the socket once its handle is closed. */
void notify_close(struct notify_sock *n);
/* Sends msg to the socket named by a NOTIFY_SOCKET value (a path or @abstract). 0 or -errno. */
int notify_send(const char *socket, const char *msg);

#endif
