/* status.c — a builtin role's side of its status channel. See status.h. */
#include "roles/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void rstatus_open(struct rstatus *st, char **environ_)
{
    st->fd = -1;
    st->sent = st->dropped = 0;
    for (char **e = environ_; e && *e; e++) {
        if (strncmp(*e, "ROSTER_STATUS_FD=", 17)) continue;
        char *end;
        long fd = strtol(*e + 17, &end, 10);
        struct stat sb;
        /* only a socket: a number inherited from elsewhere names some other file */
        if (*end || end == *e + 17 || fd < 3 || fd > 1024 || fstat((int)fd, &sb) < 0 ||
            !S_ISSOCK(sb.st_mode))
            return;
        int fl = fcntl((int)fd, F_GETFL);
        if (fl < 0 || fcntl((int)fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
            return;
        st->fd = (int)fd;
    }
}

void rstatus_close(struct rstatus *st)
{
    if (st->fd >= 0) close(st->fd);
    st->fd = -1;
}

int rstatus_send(struct rstatus *st, cJSON *msg)
{
    if (st->fd < 0) {
        cJSON_Delete(msg);
        return -ENOTCONN;
    }
    char *txt = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    int rc = 0;
    size_t n = txt ? strlen(txt) : 0;
    if (!txt || n > RSTATUS_MAX_MSG) {
        rc = -EMSGSIZE;
    } else {
        ssize_t w;
        do
            w = send(st->fd, txt, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (w < 0 && errno == EINTR);
        if (w < 0) rc = errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    free(txt);
    if (rc < 0)
        st->dropped++;
    else
        st->sent++;
    return rc;
}

int rstatus_component(struct rstatus *st, const char *name, const char *type,
                      const char *status, cJSON *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "component", name);
    if (type) cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "status", status);
    if (detail) cJSON_AddItemToObject(o, "detail", detail);
    return rstatus_send(st, o);
}

static cJSON *metric_head(const char *family, const char *type, const char *help, cJSON *labels)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "metric", family);
    cJSON_AddStringToObject(o, "type", type);
    if (help) cJSON_AddStringToObject(o, "help", help);
    if (labels) cJSON_AddItemToObject(o, "labels", labels);
    return o;
}

int rstatus_metric(struct rstatus *st, const char *family, const char *type, const char *help,
                   cJSON *labels, double value)
{
    cJSON *o = metric_head(family, type, help, labels);
    cJSON_AddNumberToObject(o, "value", value);
    return rstatus_send(st, o);
}

int rstatus_histogram(struct rstatus *st, const char *family, const char *help, cJSON *labels,
                      const double *le, const uint64_t *counts, int n, double sum,
                      uint64_t count)
{
    cJSON *o = metric_head(family, "histogram", help, labels);
    cJSON *b = cJSON_AddArrayToObject(o, "buckets");
    for (int i = 0; i < n; i++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(le[i]));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)counts[i]));
        cJSON_AddItemToArray(b, pair);
    }
    cJSON_AddNumberToObject(o, "sum", sum);
    cJSON_AddNumberToObject(o, "count", (double)count);
    return rstatus_send(st, o);
}

int rstatus_record(struct rstatus *st, const char *key, cJSON *data)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "record", key);
    cJSON_AddItemToObject(o, "data", data);
    return rstatus_send(st, o);
}
