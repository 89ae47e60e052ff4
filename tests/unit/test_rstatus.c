/* test_rstatus.c — a builtin role's side of the status channel (roles/status.c) on a real
 * SOCK_SEQPACKET pair: the descriptor taken from ROSTER_STATUS_FD only when it is a socket, made
 * non-blocking and close-on-exec; each message one datagram roster's reader takes; a message
 * past 4 KiB, or one that finds the socket full, dropped and counted without ever blocking. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "roles/status.h"
#include "t.h"

static void open_from(struct rstatus *st, int fd)
{
    char var[32];
    snprintf(var, sizeof var, "ROSTER_STATUS_FD=%d", fd);
    char *env[] = {(char *)"PATH=/bin", var, NULL};
    rstatus_open(st, env);
}

static void test_open(void)
{
    struct rstatus st;
    char *none[] = {(char *)"PATH=/bin", NULL};
    rstatus_open(&st, none);
    CHECK_INT(st.fd, -1);
    CHECK_INT(rstatus_record(&st, "k", cJSON_CreateObject()), -ENOTCONN);
    /* a number that names no socket (a file, nothing, stdio) is not taken */
    int file = open("/dev/null", O_WRONLY);
    open_from(&st, file);
    CHECK_INT(st.fd, -1);
    open_from(&st, 999);
    CHECK_INT(st.fd, -1);
    open_from(&st, 1);
    CHECK_INT(st.fd, -1);
    char *junk[] = {(char *)"ROSTER_STATUS_FD=3x", NULL};
    rstatus_open(&st, junk);
    CHECK_INT(st.fd, -1);
    close(file);
}

static void test_send_and_full(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    struct rstatus st;
    open_from(&st, sv[1]);
    CHECK_INT(st.fd, sv[1]);
    CHECK(fcntl(sv[1], F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "nextFire", "x");
    CHECK_INT(rstatus_component(&st, "scheduler:a", "schedule", "ok", d), 0);
    char buf[8192];
    ssize_t n = recv(sv[0], buf, sizeof buf - 1, MSG_DONTWAIT);
    CHECK(n > 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK_STR(buf, "{\"component\":\"scheduler:a\",\"type\":\"schedule\",\"status\":\"ok\","
                   "\"detail\":{\"nextFire\":\"x\"}}");
    /* too big: dropped before it is sent */
    cJSON *big = cJSON_CreateObject();
    char *s = malloc(RSTATUS_MAX_MSG + 1);
    memset(s, 'a', RSTATUS_MAX_MSG);
    s[RSTATUS_MAX_MSG] = '\0';
    cJSON_AddStringToObject(big, "x", s);
    free(s);
    CHECK_INT(rstatus_record(&st, "k", big), -EMSGSIZE);
    CHECK_INT(st.dropped, 1);
    CHECK(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN);
    /* nobody reads: the socket fills, and then each send is dropped at once (bounded loop) */
    int sent = 0, refused = 0;
    for (int i = 0; i < 100000 && refused < 3; i++) {
        int rc = rstatus_metric(&st, "roster_x", "gauge", NULL, NULL, i);
        if (rc == 0)
            sent++;
        else if (rc == -EAGAIN)
            refused++;
        else
            break;
    }
    CHECK(sent > 10);
    CHECK_INT(refused, 3);
    CHECK_INT(st.dropped, 4);
    CHECK_INT(st.sent, (uint64_t)sent + 1);
    /* roster gone: dropped, no SIGPIPE */
    close(sv[0]);
    int gone = rstatus_record(&st, "k", cJSON_CreateObject());
    CHECK(gone == -EPIPE || gone == -ECONNRESET); /* ECONNRESET: it left messages unread */
    CHECK_INT(st.dropped, 5);
    rstatus_close(&st);
    CHECK_INT(st.fd, -1);
}

int main(void)
{
    test_open();
    test_send_and_full();
    return t_done("rstatus");
}
