/* test_private.c — the checks on the control socket's directory and on the socket itself
 * (issue 10 item 14): the judgements on a stat for every owner and mode that matters, and a
 * private directory made, kept and refused on disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "os/private.h"
#include "t.h"

#define ME    1000
#define OTHER 1001

static struct stat st_of(mode_t mode, uid_t uid)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    st.st_uid = uid;
    return st;
}

static void test_dir_stat(void)
{
    static const struct {
        mode_t mode;
        uid_t uid;
        enum private_check want;
    } cases[] = {
        {S_IFDIR | 0700, ME, PRIVATE_OK},
        {S_IFDIR | 0500, ME, PRIVATE_OK},
        {S_IFDIR | 0710, ME, PRIVATE_OPEN},
        {S_IFDIR | 0701, ME, PRIVATE_OPEN},
        {S_IFDIR | 0777, ME, PRIVATE_OPEN},
        {S_IFDIR | 01777, ME, PRIVATE_OPEN},
        {S_IFDIR | 0700, OTHER, PRIVATE_OWNER},
        {S_IFDIR | 0700, 0, PRIVATE_OWNER}, /* not even root's: the server makes its own */
        {S_IFLNK | 0777, ME, PRIVATE_NOT_DIR},
        {S_IFREG | 0600, ME, PRIVATE_NOT_DIR},
        {S_IFSOCK | 0600, ME, PRIVATE_NOT_DIR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct stat st = st_of(cases[i].mode, cases[i].uid);
        enum private_check got = private_dir_stat(&st, ME);
        if (got != cases[i].want) fprintf(stderr, "dir case %zu\n", i);
        CHECK_INT(got, cases[i].want);
    }
}

static void test_socket_stat(void)
{
    static const struct {
        mode_t smode;
        uid_t suid;
        mode_t dmode;
        uid_t duid;
        enum private_check want;
        char which;
    } cases[] = {
        {S_IFSOCK | 0600, ME, S_IFDIR | 0700, ME, PRIVATE_OK, 's'},
        {S_IFSOCK | 0777, ME, S_IFDIR | 0755, ME, PRIVATE_OK, 's'},
        {S_IFSOCK | 0600, 0, S_IFDIR | 0700, 0, PRIVATE_OK, 's'},   /* root's roster */
        {S_IFSOCK | 0600, ME, S_IFDIR | 01777, 0, PRIVATE_OK, 's'}, /* in /tmp itself */
        {S_IFSOCK | 0600, OTHER, S_IFDIR | 0700, ME, PRIVATE_OWNER, 's'},
        {S_IFSOCK | 0600, OTHER, S_IFDIR | 01777, 0, PRIVATE_OWNER, 's'},
        {S_IFREG | 0600, ME, S_IFDIR | 0700, ME, PRIVATE_NOT_SOCKET, 's'},
        {S_IFLNK | 0777, ME, S_IFDIR | 0700, ME, PRIVATE_NOT_SOCKET, 's'},
        {S_IFSOCK | 0600, ME, S_IFDIR | 0700, OTHER, PRIVATE_OWNER, 'd'},
        {S_IFSOCK | 0600, ME, S_IFDIR | 0777, ME, PRIVATE_OPEN, 'd'}, /* others could swap it */
        {S_IFSOCK | 0600, ME, S_IFDIR | 0770, ME, PRIVATE_OPEN, 'd'},
        {S_IFSOCK | 0600, ME, S_IFDIR | 0705, ME, PRIVATE_OK, 's'}, /* readable is no harm */
        {S_IFSOCK | 0600, ME, S_IFREG | 0700, ME, PRIVATE_NOT_DIR, 'd'},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct stat s = st_of(cases[i].smode, cases[i].suid);
        struct stat d = st_of(cases[i].dmode, cases[i].duid);
        char which = '?';
        enum private_check got = private_socket_stat(&s, &d, ME, &which);
        if (got != cases[i].want || which != cases[i].which)
            fprintf(stderr, "socket case %zu: %d %c\n", i, got, which);
        CHECK_INT(got, cases[i].want);
        CHECK_INT(which, cases[i].which);
    }
    CHECK(strlen(private_strerror(PRIVATE_OWNER)) > 0);
    CHECK(strlen(private_strerror((enum private_check)99)) > 0);
}

/* On disk, as whoever runs the test: a missing directory is made 0700 (whatever the umask
 * leaves), an existing private one is kept, a wider one or a symbolic link is refused, and a
 * socket in it is trusted; without create a missing directory is only reported. */
static void test_on_disk(void)
{
    char base[] = "/tmp/roster-test-private-XXXXXX";
    CHECK(mkdtemp(base) != NULL);
    uid_t me = geteuid();
    char *dir = NULL, *link = NULL, *sock = NULL;
    if (asprintf(&dir, "%s/d", base) < 0 || asprintf(&link, "%s/l", base) < 0 ||
        asprintf(&sock, "%s/d/s.sock", base) < 0)
        abort();
    struct stat st;
    CHECK_INT(private_dir(dir, me, false, &st), PRIVATE_MISSING);
    mode_t old = umask(0);
    CHECK_INT(private_dir(dir, me, true, &st), PRIVATE_OK);
    umask(old);
    CHECK_INT(st.st_mode & 0777, 0700);
    CHECK_INT(private_dir(dir, me, true, &st), PRIVATE_OK);
    CHECK_INT(private_dir(dir, me + 1, false, &st), PRIVATE_OWNER);

    char which;
    CHECK_INT(private_socket(sock, me, &st, &which), PRIVATE_MISSING);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    CHECK_INT(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_INT(private_socket(sock, me, &st, &which), PRIVATE_OK);
    /* as another user, a socket of neither that user nor root is refused (unless we are root,
     * whose sockets everyone may trust) */
    CHECK_INT(private_socket(sock, me + 1, &st, &which), me == 0 ? PRIVATE_OK : PRIVATE_OWNER);
    CHECK_INT(chmod(dir, 0777), 0);
    CHECK_INT(private_socket(sock, me, &st, &which), PRIVATE_OPEN);
    CHECK_INT(which, 'd');
    CHECK_INT(st.st_mode & 0777, 0777);
    CHECK_INT(private_dir(dir, me, true, &st), PRIVATE_OPEN);

    CHECK_INT(symlink(dir, link), 0);
    CHECK_INT(private_dir(link, me, true, &st), PRIVATE_NOT_DIR);
    close(fd);
    unlink(sock);
    unlink(link);
    rmdir(dir);
    rmdir(base);
    free(dir);
    free(link);
    free(sock);
}

int main(void)
{
    test_dir_stat();
    test_socket_stat();
    test_on_disk();
    return t_done("private");
}
