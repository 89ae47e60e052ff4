/* private.c — private directories and the sockets in them (see private.h). */
#include "os/private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

const char *private_strerror(enum private_check c)
{
    switch (c) {
    case PRIVATE_OK: return "is private";
    case PRIVATE_MISSING: return "does not exist";
    case PRIVATE_NOT_DIR: return "is not a directory";
    case PRIVATE_NOT_SOCKET: return "is not a socket";
    case PRIVATE_OWNER: return "is owned by another user";
    case PRIVATE_OPEN: return "is open to other users";
    case PRIVATE_ERROR: break;
    }
    return "cannot be checked";
}

enum private_check private_dir_stat(const struct stat *st, uid_t uid)
{
    if (!S_ISDIR(st->st_mode)) return PRIVATE_NOT_DIR;
    if (st->st_uid != uid) return PRIVATE_OWNER;
    if (st->st_mode & 077) return PRIVATE_OPEN;
    return PRIVATE_OK;
}

enum private_check private_socket_stat(const struct stat *sock, const struct stat *dir, uid_t uid,
                                       char *which)
{
    *which = 'd';
    if (!S_ISDIR(dir->st_mode)) return PRIVATE_NOT_DIR;
    if (dir->st_uid != uid && dir->st_uid != 0) return PRIVATE_OWNER;
    /* others who may write to the directory could have put their socket in ours' place */
    if ((dir->st_mode & 022) && !(dir->st_mode & S_ISVTX)) return PRIVATE_OPEN;
    *which = 's';
    if (!S_ISSOCK(sock->st_mode)) return PRIVATE_NOT_SOCKET;
    if (sock->st_uid != uid && sock->st_uid != 0) return PRIVATE_OWNER;
    return PRIVATE_OK;
}

enum private_check private_dir(const char *dir, uid_t uid, bool create, struct stat *st)
{
    memset(st, 0, sizeof *st);
    if (lstat(dir, st) < 0) {
        if (errno != ENOENT) return PRIVATE_ERROR;
        if (!create) return PRIVATE_MISSING;
        /* mkdir applies the umask, which only takes bits away from 0700 */
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) return PRIVATE_ERROR;
        if (lstat(dir, st) < 0) return PRIVATE_ERROR;
    }
    return private_dir_stat(st, uid);
}

enum private_check private_socket(const char *path, uid_t uid, struct stat *st, char *which)
{
    *which = 's';
    memset(st, 0, sizeof *st);
    if (lstat(path, st) < 0) return errno == ENOENT ? PRIVATE_MISSING : PRIVATE_ERROR;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat ds;
    /* stat, not lstat: a directory reached through a symbolic link is judged as itself */
    if (stat(dir, &ds) < 0) {
        *which = 'd';
        return PRIVATE_ERROR;
    }
    struct stat ss = *st;
    enum private_check c = private_socket_stat(&ss, &ds, uid, which);
    if (*which == 'd') *st = ds;
    return c;
}
