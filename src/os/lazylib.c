/* lazylib.c — libpq, libcurl and libmicrohttpd, loaded by the rosters whose config needs them
 * instead of linked into every roster.
 *
 * Together they pull in some forty shared libraries (OpenSSL, GnuTLS, p11-kit, Kerberos, LDAP,
 * ...) whose pages cost several megabytes of resident memory and most of roster's start-up time
 * (the dynamic loader and their constructors), while a config without Postgres, HTTP probes or a
 * health server uses none of them. roster is therefore not linked against them: this file
 * defines the few functions it calls, each calling the real one through a pointer. The headers
 * are the libraries' own, so every prototype is checked by the compiler.
 *
 * A library is loaded whole, the way the dynamic loader would have linked it: dlopen, then every
 * function roster calls in it resolved, and only when all are there is any of them used. Start-up
 * asks for what the config needs (lazylib_require), so a missing library or an old one without a
 * function fails `roster run` and `roster check` at once with the package to install, instead of
 * aborting PID 1 mid-run on the first call. */
#define CURL_DISABLE_TYPECHECK 1
#include "os/lazylib.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

static const char *const sonames[LAZYLIB_COUNT] = {
    [LAZYLIB_PQ] = "libpq.so.5",
    [LAZYLIB_CURL] = "libcurl.so.4",
    [LAZYLIB_MHD] = "libmicrohttpd.so.12",
};

/* Debian 12's package names; Debian 13 renamed some for its 64-bit time_t. */
static const char *const packages[LAZYLIB_COUNT] = {
    [LAZYLIB_PQ] = "libpq5",
    [LAZYLIB_CURL] = "libcurl4",
    [LAZYLIB_MHD] = "libmicrohttpd12",
};
static const char *const packages_t64[LAZYLIB_COUNT] = {
    [LAZYLIB_CURL] = "libcurl4t64",
    [LAZYLIB_MHD] = "libmicrohttpd12t64",
};

static void *handles[LAZYLIB_COUNT];

/* One function roster calls in a library: its name there, and the pointer the forwarder calls
 * through. Each forwarder below enters its own in `syms` before main runs (a constructor), so a
 * function added to this file is resolved with the rest of its library without a second list to
 * keep in step. */
struct lazysym {
    enum lazylib lib;
    const char *name;
    void **slot;
    struct lazysym *next;
};

static struct lazysym *syms, **syms_tail = &syms; /* in the order of this file, as reported */

#define LAZYSYM(lib, var, symname)                                                                 \
    static struct lazysym var##_sym = {lib, symname, (void **)&var, NULL};                         \
    __attribute__((constructor)) static void var##_register(void)                                  \
    {                                                                                              \
        *syms_tail = &var##_sym;                                                                   \
        syms_tail = &var##_sym.next;                                                               \
    }

const char *lazylib_soname(enum lazylib lib)
{
    return sonames[lib];
}

static void set_slots(enum lazylib lib, void *h)
{
    for (struct lazysym *s = syms; s; s = s->next)
        if (s->lib == lib) *s->slot = h ? dlsym(h, s->name) : NULL;
}

int lazylib_load(enum lazylib lib, char *err, size_t errlen)
{
    char why[512];
    if (handles[lib]) return 0;
    void *h = dlopen(sonames[lib], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        /* The loader names the library itself when it is missing ("libpq.so.5: cannot open
         * shared object file: No such file or directory"); any other reason (one of its own
         * dependencies missing, a wrong architecture) is worth its own words. */
        const char *dl = dlerror();
        size_t n = strlen(sonames[lib]);
        if (!dl || (!strncmp(dl, sonames[lib], n) && dl[n] == ':' && strstr(dl, "No such file")))
            snprintf(why, sizeof why, "%s not found", sonames[lib]);
        else
            snprintf(why, sizeof why, "cannot load %s: %s", sonames[lib], dl);
        if (err) snprintf(err, errlen, "%s", why);
        return -ENOENT;
    }
    set_slots(lib, h);
    const char *missing = NULL;
    int nmissing = 0;
    for (struct lazysym *s = syms; s; s = s->next)
        if (s->lib == lib && !*s->slot) {
            if (!missing) missing = s->name;
            nmissing++;
        }
    if (nmissing) {
        /* an older or foreign build: use none of it rather than part of it */
        if (nmissing == 1)
            snprintf(why, sizeof why, "%s lacks %s", sonames[lib], missing);
        else
            snprintf(why, sizeof why, "%s lacks %s and %d more functions roster calls",
                     sonames[lib], missing, nmissing - 1);
        if (err) snprintf(err, errlen, "%s", why);
        set_slots(lib, NULL);
        dlclose(h);
        return -ENOSYS;
    }
    handles[lib] = h;
    return 0;
}

int lazylib_require(unsigned libs, char *err, size_t errlen)
{
    for (int l = 0; l < LAZYLIB_COUNT; l++) {
        if (!(libs & LAZYLIB_BIT(l))) continue;
        char why[512];
        int rc = lazylib_load((enum lazylib)l, why, sizeof why);
        if (rc == 0) continue;
        if (err) {
            char alt[64] = "";
            if (packages_t64[l]) snprintf(alt, sizeof alt, ", or %s on Debian 13", packages_t64[l]);
            snprintf(err, errlen, "%s (%s Debian package %s%s)", why,
                     rc == -ENOSYS ? "too old: upgrade the" : "install", packages[l], alt);
        }
        return rc;
    }
    return 0;
}

/* A forwarder called before its library was loaded: start-up asks for every library the config
 * needs, so this is a path that forgot to; load it now, and if that fails there is no caller to
 * hand the error to. */
static void unloaded(enum lazylib lib, const char *name)
{
    char err[512];
    if (lazylib_load(lib, err, sizeof err) == 0) return;
    fprintf(stderr, "roster: %s (needed for %s, which start-up did not check: a bug)\n", err, name);
    abort();
}

/* One forwarding function per symbol, calling through the pointer lazylib_load fills. */
#define FWD(lib, ret, name, params, args)                                                          \
    static ret(*name##_fn) params;                                                                 \
    LAZYSYM(lib, name##_fn, #name)                                                                 \
    ret name params                                                                                \
    {                                                                                              \
        if (!name##_fn) unloaded(lib, #name);                                                      \
        return name##_fn args;                                                                     \
    }
#define FWD_VOID(lib, name, params, args)                                                          \
    static void(*name##_fn) params;                                                                \
    LAZYSYM(lib, name##_fn, #name)                                                                 \
    void name params                                                                               \
    {                                                                                              \
        if (!name##_fn) unloaded(lib, #name);                                                      \
        name##_fn args;                                                                            \
    }

/* ---- libpq --------------------------------------------------------------------------------- */

#define PQ LAZYLIB_PQ
FWD(PQ, PGconn *, PQconnectStartParams,
    (const char *const *keywords, const char *const *values, int expand_dbname),
    (keywords, values, expand_dbname))
FWD(PQ, PGconn *, PQconnectdbParams,
    (const char *const *keywords, const char *const *values, int expand_dbname),
    (keywords, values, expand_dbname))
FWD(PQ, ConnStatusType, PQstatus, (const PGconn *conn), (conn))
FWD(PQ, int, PQsocket, (const PGconn *conn), (conn))
FWD(PQ, PostgresPollingStatusType, PQconnectPoll, (PGconn * conn), (conn))
FWD(PQ, char *, PQerrorMessage, (const PGconn *conn), (conn))
FWD_VOID(PQ, PQfinish, (PGconn * conn), (conn))
FWD(PQ, int, PQsetnonblocking, (PGconn * conn, int arg), (conn, arg))
FWD(PQ, PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void *arg),
    (conn, proc, arg))
FWD(PQ, int, PQsendQueryParams,
    (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,
     const char *const *paramValues, const int *paramLengths, const int *paramFormats,
     int resultFormat),
    (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
FWD(PQ, int, PQflush, (PGconn * conn), (conn))
FWD(PQ, int, PQconsumeInput, (PGconn * conn), (conn))
FWD(PQ, int, PQisBusy, (PGconn * conn), (conn))
FWD(PQ, PGresult *, PQgetResult, (PGconn * conn), (conn))
FWD(PQ, PGresult *, PQexec, (PGconn * conn, const char *query), (conn, query))
FWD_VOID(PQ, PQclear, (PGresult * res), (res))
FWD(PQ, ExecStatusType, PQresultStatus, (const PGresult *res), (res))
FWD(PQ, char *, PQresultErrorMessage, (const PGresult *res), (res))
FWD(PQ, int, PQntuples, (const PGresult *res), (res))
FWD(PQ, char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),
    (res, tup_num, field_num))
FWD(PQ, PGnotify *, PQnotifies, (PGconn * conn), (conn))
FWD_VOID(PQ, PQfreemem, (void *ptr), (ptr))
FWD(PQ, PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),
    (conninfo, errmsg))
FWD_VOID(PQ, PQconninfoFree, (PQconninfoOption * connOptions), (connOptions))
FWD(PQ, PQconninfoOption *, PQconndefaults, (void), ())
FWD(PQ, int, PQlibVersion, (void), ())

/* ---- libcurl ------------------------------------------------------------------------------- */

#define CU LAZYLIB_CURL
FWD(CU, CURLcode, curl_global_init, (long flags), (flags))
FWD(CU, CURLM *, curl_multi_init, (void), ())
FWD(CU, CURLMcode, curl_multi_socket_action,
    (CURLM * multi_handle, curl_socket_t s, int ev_bitmask, int *running_handles),
    (multi_handle, s, ev_bitmask, running_handles))
FWD(CU, CURLMsg *, curl_multi_info_read, (CURLM * multi_handle, int *msgs_in_queue),
    (multi_handle, msgs_in_queue))
FWD(CU, CURLMcode, curl_multi_assign, (CURLM * multi_handle, curl_socket_t sockfd, void *sockp),
    (multi_handle, sockfd, sockp))
FWD(CU, CURLMcode, curl_multi_add_handle, (CURLM * multi_handle, CURL *curl_handle),
    (multi_handle, curl_handle))
FWD(CU, CURLMcode, curl_multi_remove_handle, (CURLM * multi_handle, CURL *curl_handle),
    (multi_handle, curl_handle))
FWD(CU, CURLMcode, curl_multi_cleanup, (CURLM * multi_handle), (multi_handle))
FWD(CU, CURL *, curl_easy_init, (void), ())
FWD_VOID(CU, curl_easy_cleanup, (CURL * curl), (curl))
FWD(CU, const char *, curl_easy_strerror, (CURLcode code), (code))
FWD(CU, CURLcode, curl_easy_perform, (CURL * curl), (curl))
FWD(CU, struct curl_slist *, curl_slist_append, (struct curl_slist * list, const char *string),
    (list, string))
FWD_VOID(CU, curl_slist_free_all, (struct curl_slist * list), (list))

/* The variadic setters take exactly one argument, whose type the option number encodes: below
 * 10000 a long, from 30000 to 39999 a curl_off_t, otherwise a pointer (objects, functions,
 * strings, blobs). libcurl decodes them the same way. */
static CURLcode (*easy_setopt_fn)(CURL *, CURLoption, ...);
LAZYSYM(CU, easy_setopt_fn, "curl_easy_setopt")
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    if (!easy_setopt_fn) unloaded(CU, "curl_easy_setopt");
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = easy_setopt_fn(curl, option, va_arg(ap, long));
    else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
        rc = easy_setopt_fn(curl, option, va_arg(ap, curl_off_t));
    else
        rc = easy_setopt_fn(curl, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

static CURLMcode (*multi_setopt_fn)(CURLM *, CURLMoption, ...);
LAZYSYM(CU, multi_setopt_fn, "curl_multi_setopt")
CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
    if (!multi_setopt_fn) unloaded(CU, "curl_multi_setopt");
    va_list ap;
    va_start(ap, option);
    CURLMcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = multi_setopt_fn(multi_handle, option, va_arg(ap, long));
    else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
        rc = multi_setopt_fn(multi_handle, option, va_arg(ap, curl_off_t));
    else
        rc = multi_setopt_fn(multi_handle, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* Every getinfo argument is a pointer to where the answer goes. */
static CURLcode (*easy_getinfo_fn)(CURL *, CURLINFO, ...);
LAZYSYM(CU, easy_getinfo_fn, "curl_easy_getinfo")
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    if (!easy_getinfo_fn) unloaded(CU, "curl_easy_getinfo");
    va_list ap;
    va_start(ap, info);
    CURLcode rc = easy_getinfo_fn(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* ---- libmicrohttpd ------------------------------------------------------------------------- */

#define MH LAZYLIB_MHD
static struct MHD_Daemon *(*start_daemon_va_fn)(unsigned int, uint16_t, MHD_AcceptPolicyCallback,
                                                void *, MHD_AccessHandlerCallback, void *, va_list);
LAZYSYM(MH, start_daemon_va_fn, "MHD_start_daemon_va")
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    if (!start_daemon_va_fn) unloaded(MH, "MHD_start_daemon_va");
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = start_daemon_va_fn(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

/* The info types roster asks for take no further argument. */
static const union MHD_DaemonInfo *(*get_daemon_info_fn)(struct MHD_Daemon *,
                                                         enum MHD_DaemonInfoType, ...);
LAZYSYM(MH, get_daemon_info_fn, "MHD_get_daemon_info")
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
                                                enum MHD_DaemonInfoType info_type, ...)
{
    if (!get_daemon_info_fn) unloaded(MH, "MHD_get_daemon_info");
    return get_daemon_info_fn(daemon, info_type);
}

/* Likewise the connection info types (its socket, address and context). */
static const union MHD_ConnectionInfo *(*get_connection_info_fn)(struct MHD_Connection *,
                                                                 enum MHD_ConnectionInfoType, ...);
LAZYSYM(MH, get_connection_info_fn, "MHD_get_connection_info")
const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                        enum MHD_ConnectionInfoType info_type, ...)
{
    if (!get_connection_info_fn) unloaded(MH, "MHD_get_connection_info");
    return get_connection_info_fn(connection, info_type);
}

FWD(MH, MHD_Result_t, MHD_run, (struct MHD_Daemon * daemon), (daemon))
FWD(MH, MHD_Result_t, MHD_get_timeout,
    (struct MHD_Daemon * daemon, MHD_UNSIGNED_LONG_LONG *timeout), (daemon, timeout))
FWD_VOID(MH, MHD_stop_daemon, (struct MHD_Daemon * daemon), (daemon))
FWD_VOID(MH, MHD_suspend_connection, (struct MHD_Connection * connection), (connection))
FWD_VOID(MH, MHD_resume_connection, (struct MHD_Connection * connection), (connection))
FWD(MH, struct MHD_Response *, MHD_create_response_from_buffer,
    (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))
FWD(MH, MHD_Result_t, MHD_add_response_header,
    (struct MHD_Response * response, const char *header, const char *content),
    (response, header, content))
FWD(MH, MHD_Result_t, MHD_queue_response,
    (struct MHD_Connection * connection, unsigned int status_code, struct MHD_Response *response),
    (connection, status_code, response))
FWD_VOID(MH, MHD_destroy_response, (struct MHD_Response * response), (response))
FWD(MH, const char *, MHD_lookup_connection_value,
    (struct MHD_Connection * connection, enum MHD_ValueKind kind, const char *key),
    (connection, kind, key))
/* the query string's parameters (the jobs API reads them) */
FWD(MH, int, MHD_get_connection_values,
    (struct MHD_Connection * connection, enum MHD_ValueKind kind, MHD_KeyValueIterator iterator,
     void *iterator_cls),
    (connection, kind, iterator, iterator_cls))
