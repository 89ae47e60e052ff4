/* control.h — the control socket: HTTP over a unix socket (mode 0600) that lists roles and
 * restarts, stops, starts roles or reloads the config, served by httpd.c (libmicrohttpd) as the
 * health port is. The `roster status|restart|stop|start|reload` commands are its clients
 * (commands.c, through libcurl). State-changing requests exist only here, never on the TCP
 * health port. */
#ifndef ROSTER_CONTROL_H
#define ROSTER_CONTROL_H

#include "serve/status.h"
#include "supervise/supervisor.h"

struct control;

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
