/* private.h — private directories and the sockets in them: the checks that keep another local
 * user from planting roster's control socket where roster or its client would look for it
 * (issue 10 item 14). The server makes its default directory 0700 (or refuses one it did not
 * make); the client trusts a socket only when neither it nor its directory is another user's.
 * The judgements on a struct stat are pure, so tests give them any owner and mode. */
#ifndef ROSTER_PRIVATE_H
#define ROSTER_PRIVATE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

enum private_check {
    PRIVATE_OK,
    PRIVATE_MISSING,    /* nothing there */
    PRIVATE_NOT_DIR,    /* not a directory (a symbolic link is not one) */
    PRIVATE_NOT_SOCKET, /* not a socket */
    PRIVATE_OWNER,      /* owned by another user */
    PRIVATE_OPEN,       /* a directory others may use: any group/other bits, or, for a
                         * socket's directory, writable by others without the sticky bit */
    PRIVATE_ERROR,      /* lstat or mkdir failed otherwise: errno says why */
};

/* A phrase for c ("is owned by another user"), to follow a path in a message. */
const char *private_strerror(enum private_check c);

/* Whether st is a directory only uid may use: a real directory owned by uid, no bits for group
 * or others. Pure. */
enum private_check private_dir_stat(const struct stat *st, uid_t uid);
/* Whether a client of uid may talk to the socket sock in the directory dir: the socket is a
 * socket owned by uid or root; the directory is owned by uid or root, and others cannot write
 * to it unless it is sticky (as /tmp, where they cannot remove or rename what is not theirs).
 * *which is set to the one at fault: 's' the socket, 'd' the directory. Pure. */
enum private_check private_socket_stat(const struct stat *sock, const struct stat *dir, uid_t uid,
                                       char *which);

/* Checks dir with private_dir_stat, creating it 0700 first when create is set and it is
 * missing (its parent must exist). *st is filled when there is something to describe. */
enum private_check private_dir(const char *dir, uid_t uid, bool create, struct stat *st);
/* Checks the socket at path and its directory with private_socket_stat; *st is filled for the
 * one at fault (*which: 's' or 'd'). PRIVATE_MISSING when nothing is at path. */
enum private_check private_socket(const char *path, uid_t uid, struct stat *st, char *which);

#endif
