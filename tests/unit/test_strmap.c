/* test_strmap.c — the string -> index hash map, and the index an environment map keeps past a
 * few dozen variables: the same answers as a linear search, through growth, replacement, unset
 * and copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/envmap.h"
#include "base/strmap.h"
#include "base/util.h"
#include "t.h"

static void test_strmap(void)
{
    strmap m = {0};
    CHECK(!strmap_get(&m, "a", NULL));
    char keys[5000][16];
    for (size_t i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof keys[i], "key%zu", i);
        strmap_put(&m, keys[i], i);
    }
    CHECK_INT(m.n, 5000);
    CHECK(m.cap >= 2 * m.n); /* at most half full */
    int bad = 0;
    for (size_t i = 0; i < 5000; i++) {
        size_t v = 0;
        if (!strmap_get(&m, keys[i], &v) || v != i) bad++;
    }
    CHECK_INT(bad, 0);
    CHECK(!strmap_get(&m, "key5000", NULL));
    CHECK(!strmap_get(&m, "", NULL));
    /* a key put again takes the new value and is still one entry */
    strmap_put(&m, "key7", 70);
    size_t v = 0;
    CHECK(strmap_get(&m, "key7", &v));
    CHECK_INT(v, 70);
    CHECK_INT(m.n, 5000);
    strmap_free(&m);
    CHECK_INT(m.n, 0);
    CHECK(!strmap_get(&m, "key7", NULL));
}

/* An envmap of n variables V0..V(n-1) = "v<i>", checked against what a linear search finds. */
static int envmap_agrees(const envmap *e)
{
    int bad = 0;
    for (size_t i = 0; i < e->n; i++)
        if (envmap_get(e, e->v[i].key) != e->v[i].val) bad++;
    return bad;
}

static void test_envmap_index(void)
{
    envmap e = {0};
    for (int i = 0; i < 1000; i++) {
        char k[16], val[16];
        snprintf(k, sizeof k, "V%d", i);
        snprintf(val, sizeof val, "v%d", i);
        envmap_set(&e, k, val);
    }
    CHECK_INT(e.n, 1000);
    CHECK_INT(envmap_agrees(&e), 0);
    CHECK(envmap_get(&e, "V1000") == NULL);
    /* replacing keeps the order and the count */
    envmap_set(&e, "V500", "new");
    CHECK_STR(envmap_get(&e, "V500"), "new");
    CHECK_STR(e.v[500].key, "V500");
    CHECK(!envmap_set_default(&e, "V3", "x"));
    /* unset moves the later entries: the index follows */
    envmap_unset(&e, "V0");
    envmap_unset(&e, "V999");
    envmap_unset(&e, "nope");
    CHECK_INT(e.n, 998);
    CHECK(envmap_get(&e, "V0") == NULL);
    CHECK_STR(e.v[0].key, "V1");
    CHECK_INT(envmap_agrees(&e), 0);
    CHECK(envmap_set_default(&e, "V0", "back"));
    CHECK_STR(e.v[998].key, "V0");
    CHECK_INT(envmap_agrees(&e), 0);
    /* shrinking below the index's threshold and growing again */
    for (int i = 1; i < 990; i++) {
        char k[16];
        snprintf(k, sizeof k, "V%d", i);
        envmap_unset(&e, k);
    }
    CHECK_INT(e.n, 10);
    CHECK_INT(envmap_agrees(&e), 0);
    envmap copy = {0};
    envmap_copy(&copy, &e);
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "W%d", i);
        envmap_set(&copy, k, "w");
    }
    CHECK_INT(copy.n, 110);
    CHECK_INT(envmap_agrees(&copy), 0);
    CHECK(envmap_equal(&e, &e));
    CHECK(!envmap_equal(&e, &copy));
    envmap_free(&copy);
    envmap_free(&e);
    CHECK(envmap_get(&e, "V0") == NULL);
}

int main(void)
{
    test_strmap();
    test_envmap_index();
    return t_done("strmap");
}
