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
    fuzz_response(data, size, &resp);

    a = ciba_parse_token_response(&resp, &t, &fail, reason, sizeof(reason));
    {
        /* slow_down's new interval: none, or a usable number of seconds. */
        long iv = ciba_parse_slow_down_interval(&resp);
        FUZZ_ASSERT(iv == -1 || (iv >= 1 && iv <= CIBA_MAX_INTERVAL));
    }
    if (resp.status == 429)
        FUZZ_ASSERT(a == POLL_SLOW_DOWN || (a == POLL_FINAL && fail == RES_PROVIDER_LIMIT));
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
