/* fuzz_apireq.c — the jobs API's POST /jobs body (apireq_enqueue_parse in roles/apireq.c).
 * Properties: a refusal is a 400 with a code and a message, and its JSON error body is JSON as
 * RFC 8259 has it (UTF-8 included) and says the same code; an accepted body gives a job
 * jobs_validate accepts, whose payload is JSON as RFC 8259 has it and the JSON text of the
 * body's "payload" member taken as written (it parses, alone, to the same value cJSON reads in
 * the whole body), and whose queue is the body's. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "jobs/store.h"
#include "base/jsoncheck.h"
#include "roles/apireq.h"

/* A fixed clock, so that an input's verdict on at/delay never changes between runs. */
#define NOW_MS 1780000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_copy(data, size);
    struct apireq_enqueue r;
    struct apireq_error e;
    if (apireq_enqueue_parse(in, size, NOW_MS, &r, &e) < 0) {
        FUZZ_CHECK(e.status == 400 && e.code && *e.code && e.message[0]);
        sbuf out;
        sbuf_init(&out);
        apireq_error_json(&e, &out);
        /* JSON as RFC 8259 has it (UTF-8 included), which cJSON alone does not check */
        FUZZ_CHECK(json_check(out.data, out.len, NULL, NULL));
        cJSON *doc = cJSON_Parse(out.data);
        FUZZ_CHECK(doc);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(doc, "error"), "code");
        FUZZ_CHECK(cJSON_IsString(code) && !strcmp(code->valuestring, e.code));
        cJSON_Delete(doc);
        sbuf_free(&out);
        free(in);
        return 0;
    }
    char err[256];
    FUZZ_CHECK(jobs_validate(&r.job, NOW_MS, err, sizeof err) == JOBS_OK);
    FUZZ_CHECK(jobs_name_ok(r.job.queue) && jobs_name_ok(r.job.type));
    char *text = fuzz_cstr(data, size);
    cJSON *body = cJSON_Parse(text);
    FUZZ_CHECK(cJSON_IsObject(body));
    FUZZ_CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(body, "queue")->valuestring, r.queue));
    cJSON *want = cJSON_GetObjectItemCaseSensitive(body, "payload");
    /* the payload goes into answers as written: it must be JSON, not only what cJSON takes */
    FUZZ_CHECK(json_check(r.job.payload, strlen(r.job.payload), NULL, NULL));
    cJSON *got = cJSON_Parse(r.job.payload);
    FUZZ_CHECK(got);
    /* compared as printed: cJSON_Compare finds an object with a repeated key unequal to itself */
    if (want) {
        char *w = cJSON_PrintUnformatted(want), *g = cJSON_PrintUnformatted(got);
        FUZZ_CHECK(w && g && !strcmp(w, g));
        free(w);
        free(g);
    } else {
        FUZZ_CHECK(cJSON_IsNull(got));
    }
    cJSON_Delete(got);
    cJSON_Delete(body);
    free(text);
    apireq_enqueue_free(&r);
    free(in);
    return 0;
}
