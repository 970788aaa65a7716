/* libFuzzer target: ciba_parse_token_response (one answer of the token endpoint).
 * Input: status selector byte, content-type selector byte, then the body. */
#include "ciba.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response resp;
    struct ciba_tokens t;
    char reason[256];
    result fail;
    enum poll_answer a;

    if (size < 2)
        return 0;
    memset(&resp, 0, sizeof(resp));
    resp.status = fuzz_status(data[0]);
    snprintf(resp.content_type, sizeof(resp.content_type), "%s", fuzz_ctype(data[1]));
    resp.len = size - 2;
    resp.body = malloc(resp.len + 1);
    memcpy(resp.body, data + 2, resp.len);
    resp.body[resp.len] = '\0';
    resp.retry_after = -1;

    a = ciba_parse_token_response(&resp, &t, &fail, reason, sizeof(reason));
    if (a == POLL_TOKENS) {
        FUZZ_ASSERT(resp.status == 200);
        FUZZ_ASSERT(t.id_token && *t.id_token && strlen(t.id_token) <= CIBA_MAX_TOKEN);
    } else {
        FUZZ_ASSERT(t.id_token == NULL && t.access_token == NULL);
        if (a == POLL_FINAL)
            FUZZ_ASSERT(fail != RES_OK);
    }
    ciba_tokens_clear(&t);
    free(resp.body);
    return 0;
}
