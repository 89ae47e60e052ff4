/* lazylib.c — libpq, libcurl and libmicrohttpd, loaded when first needed instead of at start.
 *
 * Together they pull in some forty shared libraries (OpenSSL, GnuTLS, p11-kit, Kerberos, LDAP,
 * ...) whose pages cost several megabytes of resident memory and most of roster's start-up time
 * (the dynamic loader and their constructors), while a config without Postgres, HTTP probes or a
 * health server uses none of them. roster is therefore not linked against them: this file
 * defines the few functions it calls, each resolving the real one with dlopen/dlsym on its first
 * call. The headers are the libraries' own, so every prototype is checked by the compiler. */
#define CURL_DISABLE_TYPECHECK 1
#include "os/lazylib.h"

#include <curl/curl.h>
#include <dlfcn.h>
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

static void *handles[LAZYLIB_COUNT];

const char *lazylib_soname(enum lazylib lib)
{
    return sonames[lib];
}

int lazylib_load(enum lazylib lib, char *err, size_t errlen)
{
    if (handles[lib]) return 0;
    handles[lib] = dlopen(sonames[lib], RTLD_NOW | RTLD_LOCAL);
    if (!handles[lib]) {
        const char *why = dlerror();
        if (err) snprintf(err, errlen, "cannot load %s: %s", sonames[lib], why ? why : "?");
        return -1;
    }
    return 0;
}

/* Resolves a symbol; a library that cannot be loaded here is a bug in the caller, which should
 * have called lazylib_load first and reported the error. */
static void *sym(enum lazylib lib, const char *name)
{
    char err[512];
    if (lazylib_load(lib, err, sizeof err) < 0) {
        fprintf(stderr, "roster: %s (needed for %s)\n", err, name);
        abort();
    }
    void *p = dlsym(handles[lib], name);
    if (!p) {
        fprintf(stderr, "roster: %s has no %s\n", sonames[lib], name);
        abort();
    }
    return p;
}

/* One forwarding function per symbol; fn is resolved on the first call. */
#define FWD(lib, ret, name, params, args)                                                          \
    ret name params                                                                                \
    {                                                                                              \
        static ret(*fn) params;                                                                    \
        if (!fn) *(void **)&fn = sym(lib, #name);                                                  \
        return fn args;                                                                            \
    }
#define FWD_VOID(lib, name, params, args)                                                          \
    void name params                                                                               \
    {                                                                                              \
        static void(*fn) params;                                                                   \
        if (!fn) *(void **)&fn = sym(lib, #name);                                                  \
        fn args;                                                                                   \
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

/* The variadic setters take exactly one argument, whose type the option number encodes: below
 * 10000 a long, from 30000 to 39999 a curl_off_t, otherwise a pointer (objects, functions,
 * strings, blobs). libcurl decodes them the same way. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    static CURLcode (*fn)(CURL *, CURLoption, ...);
    if (!fn) *(void **)&fn = sym(CU, "curl_easy_setopt");
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = fn(curl, option, va_arg(ap, long));
    else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
        rc = fn(curl, option, va_arg(ap, curl_off_t));
    else
        rc = fn(curl, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
    static CURLMcode (*fn)(CURLM *, CURLMoption, ...);
    if (!fn) *(void **)&fn = sym(CU, "curl_multi_setopt");
    va_list ap;
    va_start(ap, option);
    CURLMcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = fn(multi_handle, option, va_arg(ap, long));
    else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
        rc = fn(multi_handle, option, va_arg(ap, curl_off_t));
    else
        rc = fn(multi_handle, option, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* Every getinfo argument is a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    static CURLcode (*fn)(CURL *, CURLINFO, ...);
    if (!fn) *(void **)&fn = sym(CU, "curl_easy_getinfo");
    va_list ap;
    va_start(ap, info);
    CURLcode rc = fn(curl, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

/* ---- libmicrohttpd ------------------------------------------------------------------------- */

#define MH LAZYLIB_MHD
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    static struct MHD_Daemon *(*fn)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                    MHD_AccessHandlerCallback, void *, va_list);
    if (!fn) *(void **)&fn = sym(MH, "MHD_start_daemon_va");
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *d = fn(flags, port, apc, apc_cls, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

/* The info types roster asks for take no further argument. */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
                                                enum MHD_DaemonInfoType info_type, ...)
{
    static const union MHD_DaemonInfo *(*fn)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);
    if (!fn) *(void **)&fn = sym(MH, "MHD_get_daemon_info");
    return fn(daemon, info_type);
}

FWD(MH, MHD_Result_t, MHD_run, (struct MHD_Daemon * daemon), (daemon))
FWD(MH, MHD_Result_t, MHD_get_timeout,
    (struct MHD_Daemon * daemon, MHD_UNSIGNED_LONG_LONG *timeout), (daemon, timeout))
FWD_VOID(MH, MHD_stop_daemon, (struct MHD_Daemon * daemon), (daemon))
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
