/* test_interp.c — ${VAR} interpolation: forms, defaults, errors and what is left alone. */
#include <stdlib.h>
#include <string.h>

#include "base/envmap.h"
#include "config/interp.h"
#include "t.h"

static envmap vars;

static const char *lookup(void *ud, const char *name)
{
    return envmap_get(ud, name);
}

/* The expansion of in (static copy), or "ERR@offset: message". */
static const char *ex(const char *in)
{
    static char buf[512];
    char *out = NULL;
    struct interp_error err;
    memset(&err, 0, sizeof err);
    if (interp_expand(in, lookup, &vars, &out, &err) != 0) {
        snprintf(buf, sizeof buf, "ERR@%zu: %s", err.offset, err.msg);
        return buf;
    }
    snprintf(buf, sizeof buf, "%s", out);
    free(out);
    return buf;
}

static void test_plain(void)
{
    CHECK_STR(ex(""), "");
    CHECK_STR(ex("no variables here"), "no variables here");
    CHECK_STR(ex("${NAME}"), "world");
    CHECK_STR(ex("hello ${NAME}!"), "hello world!");
    CHECK_STR(ex("${NAME}${NAME}"), "worldworld");
    CHECK_STR(ex("${EMPTY}"), "");
    CHECK_STR(ex("${_UNDER_9}"), "u");
    CHECK_STR(ex("http://127.0.0.1:${PORT}/health"), "http://127.0.0.1:8080/health");
}

static void test_defaults(void)
{
    /* :- uses the default when unset or empty; - only when unset */
    CHECK_STR(ex("${PORT:-3000}"), "8080");
    CHECK_STR(ex("${MISSING:-3000}"), "3000");
    CHECK_STR(ex("${EMPTY:-fallback}"), "fallback");
    CHECK_STR(ex("${MISSING-fallback}"), "fallback");
    CHECK_STR(ex("${EMPTY-fallback}"), "");
    CHECK_STR(ex("${NAME-fallback}"), "world");
    CHECK_STR(ex("${MISSING:-}"), "");
    CHECK_STR(ex("${MISSING:-a b:c-d}"), "a b:c-d");
    CHECK_STR(ex("0.0.0.0:${ROSTER_HEALTH_PORT:-9090}"), "0.0.0.0:9090");
    /* nested defaults */
    CHECK_STR(ex("${A:-${B:-x}}"), "x");
    CHECK_STR(ex("${A:-${NAME:-x}}"), "world");
    CHECK_STR(ex("${NAME:-${B:-x}}"), "world");
    CHECK_STR(ex("${A:-pre-${B:-mid}-post}"), "pre-mid-post");
    CHECK_STR(ex("${A:-${B:-${C:-deep}}}"), "deep");
    CHECK_STR(ex("${A:-$$}"), "$");
    /* a default is only expanded when it is used */
    CHECK_STR(ex("${NAME:-${MISSING}}"), "world");
}

static void test_required(void)
{
    CHECK_STR(ex("${NAME:?need a name}"), "world");
    CHECK_STR(ex("${NAME?need a name}"), "world");
    CHECK_STR(ex("${EMPTY?may be empty}"), "");
    CHECK_STR(ex("${MISSING:?set MISSING to the API key}"),
              "ERR@0: MISSING: set MISSING to the API key");
    CHECK_STR(ex("x=${EMPTY:?must not be empty}"), "ERR@2: EMPTY: must not be empty");
    CHECK_STR(ex("${MISSING?is required}"), "ERR@0: MISSING: is required");
    CHECK_STR(ex("${MISSING:?}"), "ERR@0: variable MISSING is required but not set");
    CHECK_STR(ex("${EMPTY:?}"), "ERR@0: variable EMPTY is required but empty");
    CHECK_STR(ex("${MISSING?}"), "ERR@0: variable MISSING is required but not set");
}

static void test_dollars_kept(void)
{
    CHECK_STR(ex("$$"), "$");
    CHECK_STR(ex("cost: $$5"), "cost: $5");
    CHECK_STR(ex("$${NAME}"), "${NAME}");
    CHECK_STR(ex("$$$$"), "$$");
    CHECK_STR(ex("$"), "$");
    CHECK_STR(ex("a$"), "a$");
    CHECK_STR(ex("$HOME"), "$HOME");
    CHECK_STR(ex("echo $1 $@ $?"), "echo $1 $@ $?");
    CHECK_STR(ex("sh -c 'kill $PPID'"), "sh -c 'kill $PPID'");
    CHECK_STR(ex("$ {NAME}"), "$ {NAME}");
    CHECK_STR(ex("}{$}"), "}{$}");
}

static void test_errors(void)
{
    CHECK_STR(ex("${MISSING}"),
              "ERR@0: variable MISSING is not set (use ${MISSING:-default} to give a default)");
    CHECK_STR(ex("url=${NAME}/${MISSING}"),
              "ERR@12: variable MISSING is not set (use ${MISSING:-default} to give a default)");
    CHECK_STR(ex("abc ${NAME"), "ERR@4: unterminated variable reference (missing '}')");
    CHECK_STR(ex("${A:-${B}"), "ERR@0: unterminated variable reference (missing '}')");
    CHECK_STR(ex("${}"), "ERR@0: invalid variable reference '${}'");
    CHECK_STR(ex("x ${1}"), "ERR@2: invalid variable reference '${1}'");
    CHECK_STR(ex("${-x}"), "ERR@0: invalid variable reference '${-x}'");
    CHECK_STR(ex("${A B}"),
              "ERR@0: invalid variable reference: expected '}', ':-' or ':?' after ${A");
    CHECK_STR(ex("${NAME:x}"),
              "ERR@0: invalid variable reference: expected '}', ':-' or ':?' after ${NAME");
    CHECK_STR(ex("${NAME:}"),
              "ERR@0: invalid variable reference: expected '}', ':-' or ':?' after ${NAME");
    /* an error inside a default points at the inner ${ */
    CHECK_STR(ex("${A:-${MISSING}}"),
              "ERR@5: variable MISSING is not set (use ${MISSING:-default} to give a default)");
    CHECK_STR(ex("ab${A:-x${B:?nope}}"), "ERR@8: B: nope");
    /* eight levels are fine; ten are too many, reported at the innermost ${ (offset 45) */
    CHECK_STR(ex("${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-deep}}}}}}}}"), "deep");
    CHECK_STR(ex("${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-${J:-deep}}}}}}}}}}"),
              "ERR@45: variable defaults nested too deeply");
    /* Found by fuzz_interp: the error pointed at the default's text, not at a ${, when that
     * text did not start with one (here at the 'x' at 45 instead of the ${J at 46; and at
     * "deep" when nine levels end in plain text, which is no deeper than eight). */
    CHECK_STR(ex("${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-x${J:-deep}}}}}}}}}}"),
              "ERR@46: variable defaults nested too deeply");
    CHECK_STR(ex("${A:-${B:-${C:-${D:-${E:-${F:-${G:-${H:-${I:-deep}}}}}}}}}"), "deep");
}

int main(void)
{
    envmap_set(&vars, "NAME", "world");
    envmap_set(&vars, "EMPTY", "");
    envmap_set(&vars, "PORT", "8080");
    envmap_set(&vars, "_UNDER_9", "u");
    test_plain();
    test_defaults();
    test_required();
    test_dollars_kept();
    test_errors();
    envmap_free(&vars);
    return t_done("interp");
}
