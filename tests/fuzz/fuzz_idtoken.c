/* libFuzzer target: idtoken_verify on an arbitrary compact JWS.
 * Input: a selector byte (bit 0: pretend the signature verified; bits 1 and 2: also check
 * require_acr / require_amr), then the token text.
 * Oracle: an accepted token's payload really says iss, sub and aud as expected (and acr/amr as
 * required), checked independently with json-c and byte lengths (this is what catches
 * "\u0000" tricks); require_* only ever turn an acceptance into RES_AUTH_STRENGTH. */
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

/* An accepted token under require_*: its acr is exactly "urn:x:mfa" and its amr an array
 * holding "mfa" or "hwk" exactly, checked with byte lengths. */
static void strength_oracle(const char *jwt, int acr, int amr)
{
    const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
    size_t n = 0;
    unsigned char *raw = base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &n);
    json_object *p = raw ? json_tokener_parse((const char *)raw) : NULL, *a;
    int found = 0;

    FUZZ_ASSERT(p);
    if (acr)
        FUZZ_ASSERT(exact(p, "acr", "urn:x:mfa"));
    if (amr) {
        FUZZ_ASSERT(json_object_object_get_ex(p, "amr", &a) && json_object_is_type(a, json_type_array));
        for (size_t i = 0; i < json_object_array_length(a); i++) {
            json_object *m = json_object_array_get_idx(a, i);
            FUZZ_ASSERT(json_object_is_type(m, json_type_string));
            if (((size_t)json_object_get_string_len(m) == 3 && (memcmp(json_object_get_string(m), "mfa", 3) == 0 ||
                                                                memcmp(json_object_get_string(m), "hwk", 3) == 0)))
                found = 1;
        }
        FUZZ_ASSERT(found);
    }
    json_object_put(p);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct idtoken_expect expect = {"https://t.example/", "cid", "alice", 1700000000, 0, NULL, 0,
                                                 NULL, NULL};
    struct jws_verifier v = {accept_all, NULL};
    char reason[256];
    char *jwt;

    if (size < 1)
        return 0;
    jwt = malloc(size);
    memcpy(jwt, data + 1, size - 1);
    jwt[size - 1] = '\0';
    {
        /* require_acr / require_amr only ever take acceptances away, and only as
         * RES_AUTH_STRENGTH: a token bad in another way stays RES_INVALID_TOKEN. */
        static const char *const acr[] = {"urn:x:mfa", NULL}, *const amr[] = {"mfa", "hwk", NULL};
        struct idtoken_expect strict = expect;
        result plain = idtoken_verify(jwt, (data[0] & 1) ? &v : NULL, &expect, reason, sizeof(reason));
        result r;
        strict.require_acr = (data[0] & 2) ? acr : NULL;
        strict.require_amr = (data[0] & 4) ? amr : NULL;
        r = idtoken_verify(jwt, (data[0] & 1) ? &v : NULL, &strict, reason, sizeof(reason));
        if (plain != RES_OK)
            FUZZ_ASSERT(r == plain);
        else
            FUZZ_ASSERT(r == RES_OK || r == RES_AUTH_STRENGTH);
        if (r == RES_OK && (strict.require_acr || strict.require_amr))
            strength_oracle(jwt, strict.require_acr != NULL, strict.require_amr != NULL);
        if (plain == RES_OK)
            oracle(jwt);
    }
    free(jwt);
    return 0;
}
