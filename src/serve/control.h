/* control.h — the control socket: HTTP over a unix socket (mode 0600) that lists roles and
 * restarts, stops, starts roles or reloads the config, served by httpd.c (libmicrohttpd) as the
 * health port is. The `roster status|restart|stop|start|reload` commands are its clients
 * (commands.c, through libcurl). State-changing requests exist only here, never on the TCP
 * health port. */
#ifndef ROSTER_CONTROL_H
#define ROSTER_CONTROL_H

#include "config/config.h"
#include "serve/status.h"
#include "supervise/supervisor.h"

struct control;

/* What a control request asks for, read from its method and path alone (control_route). */
enum control_op {
    CONTROL_NOT_FOUND,  /* no such request */
    CONTROL_BAD_METHOD, /* a known request with the wrong method: allow and hint say which */
    CONTROL_BAD_TARGET, /* /roles/X/ACTION where X is neither ROLE nor ROLE.N */
    CONTROL_LIST,       /* GET /roles */
    CONTROL_HEALTH,     /* GET /health */
    CONTROL_RELOAD,     /* POST /reload */
    CONTROL_SCHEDULES,  /* GET /schedules: builtin schedulers' schedules and last runs */
    CONTROL_RESTART,    /* POST /roles/TARGET/restart */
    CONTROL_STOP,       /* POST /roles/TARGET/stop */
    CONTROL_START,      /* POST /roles/TARGET/start */
};

struct control_route {
    enum control_op op;
    const char *allow; /* CONTROL_BAD_METHOD: the method to use, static */
    const char *hint;  /* CONTROL_BAD_METHOD: what to say, static */
    /* restart, stop, start: the target as given (ROLE or ROLE.N), its role and copy (-1: all) */
    char target[80];
    char role[CONFIG_ROLE_NAME_MAX + 1];
    int instance;
    const char *action; /* restart, stop, start: the path's last word, static */
};

/* Reads a request's method and path (as libmicrohttpd hands it over: decoded, without the query)
 * into r. Pure: it is what the server routes by, and what fuzz/fuzz_control.c feeds. */
void control_route(const char *method, const char *path, struct control_route *r);

/* Serves on path: reads v (copied), and asks s for the operator actions (which s posts to its
 * next loop turn). With default_dir (the default socket), path's directory is made 0700 when
 * missing and refused when it is not a directory of this user's closed to others (another
 * user could have made it, to answer in roster's place). Returns NULL with err set when it
 * cannot (that, another roster holds the socket, or the path is taken by something that is not
 * a socket). */
struct control *control_start(struct sup *s, const struct view *v, const char *path,
                              bool default_dir, char *err, size_t errlen);
/* Stops serving and removes the socket file if it is still ours. */
void control_stop(struct control *c);

#endif
