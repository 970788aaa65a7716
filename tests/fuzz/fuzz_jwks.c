/* libFuzzer target: jwks_parse (the provider's key set) and provider_parse_discovery (its
 * discovery document), both pure parsers of provider-controlled JSON.
 * Input: a selector byte (bit 0: discovery instead of JWKS), then the document. */
#include "fuzz_common.h"
#include "jwks.h"
#include "provider.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char reason[256], *doc, *bc = NULL, *token = NULL, *jwks_uri = NULL;
    struct jwks *set = NULL;

    if (size < 1)
        return 0;
    doc = malloc(size);
    memcpy(doc, data + 1, size - 1);
    doc[size - 1] = '\0';
    if (data[0] & 1) {
        if (provider_parse_discovery(doc, size - 1, "https://t.example/", &bc, &token, &jwks_uri, reason,
                                     sizeof(reason)) == RES_OK) {
            /* Endpoints we would talk to are https only. */
            FUZZ_ASSERT(bc && strncmp(bc, "https://", 8) == 0);
            FUZZ_ASSERT(token && strncmp(token, "https://", 8) == 0);
            FUZZ_ASSERT(!jwks_uri || strncmp(jwks_uri, "https://", 8) == 0);
        }
        free(bc);
        free(token);
        free(jwks_uri);
    } else {
        if (jwks_parse(doc, size - 1, &set, reason, sizeof(reason)) == RES_OK)
            FUZZ_ASSERT(set && jwks_count(set) >= 1);
        else
            FUZZ_ASSERT(set == NULL);
        jwks_free(set);
    }
    free(doc);
    return 0;
}
