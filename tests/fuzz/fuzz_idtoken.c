/* libFuzzer target: idtoken_verify on an arbitrary compact JWS.
 * Input: a selector byte (bit 0: pretend the signature verified), then the token text.
 * Oracle: an accepted token's payload really says iss, sub and aud as expected, checked
 * independently with json-c and byte lengths (this is what catches "\u0000" tricks). */
#include "base64url.h"
#include "fuzz_common.h"
#include "idtoken.h"

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static result accept_all(void *ctx, const char *alg, const char *kid, const unsigned char *in, size_t inlen,
                         const unsigned char *sig, size_t siglen, char *reason, size_t reasonlen)
{
    (void)ctx, (void)alg, (void)kid, (void)in, (void)inlen, (void)sig, (void)siglen, (void)reason, (void)reasonlen;
    FUZZ_ASSERT(alg && strcmp(alg, "none") != 0);
    return RES_OK;
}

static int exact(json_object *o, const char *key, const char *want)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
           (size_t)json_object_get_string_len(v) == strlen(want) &&
           memcmp(json_object_get_string(v), want, strlen(want)) == 0;
}

static void oracle(const char *jwt)
{
    const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    size_t n = 0;
    unsigned char *raw;
    json_object *p, *aud;
    int aud_ok = 0;

    FUZZ_ASSERT(d1 && d2);
    raw = base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
    FUZZ_ASSERT(raw);
    p = json_tokener_parse((const char *)raw);
    FUZZ_ASSERT(p && json_object_is_type(p, json_type_object));
    FUZZ_ASSERT(exact(p, "iss", "https://t.example/"));
    FUZZ_ASSERT(exact(p, "sub", "alice"));
    FUZZ_ASSERT(json_object_object_get_ex(p, "aud", &aud));
    if (json_object_is_type(aud, json_type_string)) {
        aud_ok = exact(p, "aud", "cid");
    } else {
        for (size_t i = 0; i < json_object_array_length(aud); i++) {
            json_object *a = json_object_array_get_idx(aud, i);
            if (json_object_is_type(a, json_type_string) && (size_t)json_object_get_string_len(a) == 3 &&
                memcmp(json_object_get_string(a), "cid", 3) == 0)
                aud_ok = 1;
        }
    }
    FUZZ_ASSERT(aud_ok);
    json_object_put(p);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct idtoken_expect expect = {"https://t.example/", "cid", "alice", 1700000000, 0, NULL, 0};
    struct jws_verifier v = {accept_all, NULL};
    char reason[256];
    char *jwt;

    if (size < 1)
        return 0;
    jwt = malloc(size);
    memcpy(jwt, data + 1, size - 1);
    jwt[size - 1] = '\0';
    if (idtoken_verify(jwt, (data[0] & 1) ? &v : NULL, &expect, reason, sizeof(reason)) == RES_OK)
        oracle(jwt);
    free(jwt);
    return 0;
}
