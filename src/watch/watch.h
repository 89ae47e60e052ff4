/* watch.h — the dev loop's file watching (watch: in a role): a change to a file the role
 * watches restarts it (and, with watch_restart: dependents, the roles that depend on it), at
 * most once per debounce window; a role that crashed or gave up waits for the next change, as
 * nodemon does. Attached to the supervisor as one observer; restarts are asked for through the
 * operator actions (sup_role_restart), never by writing the supervisor's structs.
 *
 * libuv's file events are recursive on macOS and Windows only: on Linux each directory is one
 * inotify watch (uv_fs_event), added as directories appear and dropped as they go, at most
 * WATCH_MAX_DIRS in all. Symbolic links to directories are not followed (no cycles). */
#ifndef ROSTER_WATCH_H
#define ROSTER_WATCH_H

#include "supervise/supervisor.h"

/* The most directories one roster watches, all roles together; past it a warning names the role
 * and the directory, and the rest is not watched. The system's own limit is
 * /proc/sys/fs/inotify/max_user_watches (a warning names it when it is reached first). */
#define WATCH_MAX_DIRS 8192

struct watch;

/* Attaches the watcher to s (before sup_run). Owned by the caller; free after sup_run. NULL
 * when no observer slot is left. */
struct watch *watch_attach(struct sup *s);
void watch_free(struct watch *w);

#endif
