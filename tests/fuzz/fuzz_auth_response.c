/* libFuzzer target: ciba_parse_auth_response (the bc-authorize answer).
 * Input: status selector byte, content-type selector byte, then the body. */
#include "ciba.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response resp;
    struct ciba_pending p;
    char reason[256];
    result r;

    if (size < 2)
        return 0;
    fuzz_response(data, size, &resp);

    r = ciba_parse_auth_response(&resp, &p, reason, sizeof(reason));
    FUZZ_ASSERT(memchr(reason, '\0', sizeof(reason)) != NULL);
    if (r == RES_OK) {
        /* Only a well-formed acceptance may get through. */
        FUZZ_ASSERT(resp.status == 200);
        FUZZ_ASSERT(p.auth_req_id && *p.auth_req_id && strlen(p.auth_req_id) <= CIBA_MAX_AUTH_REQ_ID);
        for (const char *c = p.auth_req_id; *c; c++)
            FUZZ_ASSERT(*c > 0x20 && *c < 0x7f);
        FUZZ_ASSERT(p.expires_in >= 1 && p.expires_in <= 86400);
        FUZZ_ASSERT(p.interval >= 1 && p.interval <= 86400);
    } else {
        FUZZ_ASSERT(p.auth_req_id == NULL);
    }
    /* A 429 is always the provider's limit, never an outage failmode = "safe" could soften. */
    if (resp.status == 429)
        FUZZ_ASSERT(r == RES_PROVIDER_LIMIT && strstr(reason, "try again"));
    ciba_pending_clear(&p);
    free(resp.body);
    return 0;
}
