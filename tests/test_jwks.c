/* Unit tests for pam_ciba/jwks.c: every supported alg, tampering, key selection, hostile sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "jwks.h"
#include "jws_keys.h"

static EVP_PKEY *rsa, *rsa2, *p256, *p384, *ed;

#define PAYLOAD "{\"iss\":\"https://t/\",\"sub\":\"alice\"}"

static struct jwks *set_of(const char *keys_json)
{
    char doc[16384], reason[128];
    struct jwks *s = NULL;
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", keys_json);
    assert_int_equal(jwks_parse(doc, strlen(doc), &s, reason, sizeof(reason)), RES_OK);
    return s;
}

/* Split a compact JWS and run jwks_verify on it. */
static enum jws_verdict verify_token(const struct jwks *s, const char *alg, const char *kid, const char *jws)
{
    const char *dot2 = strrchr(jws, '.');
    size_t siglen;
    unsigned char *sig = base64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    enum jws_verdict v = jwks_verify(s, alg, kid, (const unsigned char *)jws, (size_t)(dot2 - jws), sig, siglen);
    free(sig);
    return v;
}

static void roundtrip(EVP_PKEY *pk, const char *alg)
{
    char *jwk = tk_jwk(pk, "k1", NULL, "sig");
    struct jwks *s = set_of(jwk);
    char *tok = tk_sign(pk, alg, NULL, "{\"alg\":\"x\"}", PAYLOAD);
    char *tampered = strdup(tok);
    char *mid = strchr(tampered, '.') + 2;

    if (verify_token(s, alg, "k1", tok) != JWS_VALID)
        fail_msg("%s did not verify", alg);
    *mid = *mid == 'A' ? 'B' : 'A';
    assert_int_equal(verify_token(s, alg, "k1", tampered), JWS_INVALID);
    assert_int_equal(verify_token(s, alg, "other-kid", tok), JWS_NO_KEY);
    assert_int_equal(verify_token(s, alg, NULL, tok), JWS_VALID); /* one key, no kid */
    jwks_free(s);
    free(jwk);
    free(tok);
    free(tampered);
}

static void test_every_alg(void **state)
{
    (void)state;
    roundtrip(rsa, "RS256");
    roundtrip(rsa, "RS384");
    roundtrip(rsa, "RS512");
    roundtrip(rsa, "PS256");
    roundtrip(rsa, "PS384");
    roundtrip(rsa, "PS512");
    roundtrip(p256, "ES256");
    roundtrip(p384, "ES384");
    roundtrip(ed, "EdDSA");
    roundtrip(ed, "Ed25519");
}

/* RFC 9864: "Ed25519" is EdDSA on an Ed25519 key, nothing else; a key labelled with either
 * name verifies either, a key of another type never. */
static void test_ed25519_fully_specified(void **state)
{
    char *lab_eddsa = tk_jwk(ed, "e1", "EdDSA", "sig"), *lab_ed = tk_jwk(ed, "e2", "Ed25519", "sig");
    char *lab_rs = tk_jwk(ed, "e3", "RS256", "sig"), *r = tk_jwk(rsa, "r1", NULL, NULL), keys[8192];
    char *tok = tk_sign(ed, "Ed25519", NULL, "{\"alg\":\"Ed25519\"}", PAYLOAD);
    char *rtok = tk_sign(rsa, "RS256", NULL, "{\"alg\":\"RS256\"}", PAYLOAD);
    struct jwks *s;
    (void)state;

    snprintf(keys, sizeof(keys), "%s,%s,%s,%s", lab_eddsa, lab_ed, lab_rs, r);
    s = set_of(keys);
    assert_int_equal(verify_token(s, "Ed25519", "e1", tok), JWS_VALID);
    assert_int_equal(verify_token(s, "Ed25519", "e2", tok), JWS_VALID);
    assert_int_equal(verify_token(s, "EdDSA", "e2", tok), JWS_VALID); /* same signature bytes */
    assert_int_equal(verify_token(s, "Ed25519", "e3", tok), JWS_NO_KEY); /* labelled for RS256 */
    assert_int_equal(verify_token(s, "Ed25519", "r1", tok), JWS_NO_KEY); /* an RSA key */
    assert_int_equal(verify_token(s, "Ed25519", "r1", rtok), JWS_NO_KEY);
    assert_int_equal(verify_token(s, "ed25519", "e1", tok), JWS_UNSUPPORTED); /* names are exact */
    jwks_free(s);
    /* only an RSA key: nothing verifies Ed25519, and a kid-less choice is never made */
    s = set_of(r);
    assert_int_equal(verify_token(s, "Ed25519", NULL, tok), JWS_NO_KEY);
    jwks_free(s);
    free(lab_eddsa);
    free(lab_ed);
    free(lab_rs);
    free(r);
    free(tok);
    free(rtok);
}

static void test_hostile_tokens(void **state)
{
    char *a = tk_jwk(rsa, "k1", NULL, NULL), *b = tk_jwk(p256, "e1", NULL, NULL), keys[8192];
    struct jwks *s;
    char *tok;
    (void)state;
    snprintf(keys, sizeof(keys), "%s,%s", a, b);
    s = set_of(keys);
    /* Signed by another RSA key but naming the published kid. */
    tok = tk_sign(rsa2, "RS256", NULL, "{}", PAYLOAD);
    assert_int_equal(verify_token(s, "RS256", "k1", tok), JWS_INVALID);
    free(tok);
    /* RS256 naming the EC key's kid: key type mismatch. */
    tok = tk_sign(rsa, "RS256", NULL, "{}", PAYLOAD);
    assert_int_equal(verify_token(s, "RS256", "e1", tok), JWS_NO_KEY);
    /* Algorithms we never verify from a JWKS. */
    assert_int_equal(verify_token(s, "none", "k1", tok), JWS_UNSUPPORTED);
    assert_int_equal(verify_token(s, "HS256", "k1", tok), JWS_UNSUPPORTED);
    assert_int_equal(verify_token(s, "RS1", "k1", tok), JWS_UNSUPPORTED);
    free(tok);
    /* ES256 with a wrong-length signature. */
    tok = tk_sign(rsa, "RS256", NULL, "{}", PAYLOAD);
    assert_int_equal(verify_token(s, "ES256", "e1", tok), JWS_INVALID);
    free(tok);
    /* An ES384 token cannot use a P-256 key. */
    tok = tk_sign(p384, "ES384", NULL, "{}", PAYLOAD);
    assert_int_equal(verify_token(s, "ES384", "e1", tok), JWS_NO_KEY);
    free(tok);
    jwks_free(s);
    free(a);
    free(b);
}

static void test_hs256(void **state)
{
    char *tok = tk_sign(NULL, "HS256", "client-secret", "{}", PAYLOAD);
    const char *dot2 = strrchr(tok, '.');
    size_t siglen;
    unsigned char *sig = base64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    (void)state;
    assert_int_equal(jws_verify_hs256("client-secret", (unsigned char *)tok, (size_t)(dot2 - tok), sig, siglen), JWS_VALID);
    assert_int_equal(jws_verify_hs256("other", (unsigned char *)tok, (size_t)(dot2 - tok), sig, siglen), JWS_INVALID);
    assert_int_equal(jws_verify_hs256(NULL, (unsigned char *)tok, (size_t)(dot2 - tok), sig, siglen), JWS_NO_KEY);
    free(sig);
    free(tok);
}

static void test_selection(void **state)
{
    char *a = tk_jwk(rsa, "k1", NULL, NULL), *b = tk_jwk(rsa2, "k2", NULL, NULL), keys[8192];
    char *c = tk_jwk(rsa, "k3", "RS384", NULL);
    struct jwks *s;
    char *tok = tk_sign(rsa, "RS256", NULL, "{}", PAYLOAD);
    (void)state;
    snprintf(keys, sizeof(keys), "%s,%s,%s", a, b, c);
    s = set_of(keys);
    assert_int_equal(jwks_count(s), 3);
    assert_int_equal(verify_token(s, "RS256", "k1", tok), JWS_VALID);
    assert_int_equal(verify_token(s, "RS256", NULL, tok), JWS_NO_KEY);   /* ambiguous */
    assert_int_equal(verify_token(s, "RS256", "k3", tok), JWS_NO_KEY);   /* JWK pinned to RS384 */
    jwks_free(s);
    free(a);
    free(b);
    free(c);
    free(tok);
}

static void test_parse_hostile_sets(void **state)
{
    struct jwks *s = NULL;
    char reason[128], doc[8192];
    EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    char *small = tk_jwk(weak, "s", NULL, NULL);
    char *enc = tk_jwk(rsa, "e", NULL, "enc");
    char *good = tk_jwk(p256, "g", NULL, NULL);
    const char *bad[] = {"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[1,\"x\",null]}", "not json",
                         "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
                         "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
                         "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}",
                         "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (jwks_parse(bad[i], strlen(bad[i]), &s, reason, sizeof(reason)) != RES_PROTOCOL || s)
            fail_msg("accepted: %s", bad[i]);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", small);
    assert_int_equal(jwks_parse(doc, strlen(doc), &s, reason, sizeof(reason)), RES_PROTOCOL);
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", enc);
    assert_int_equal(jwks_parse(doc, strlen(doc), &s, reason, sizeof(reason)), RES_PROTOCOL);
    /* A point off the curve: flip a bit of y. */
    {
        char *y = strstr(good, "\"y\":\"") + 6;
        char saved = *y;
        *y = *y == 'A' ? 'B' : 'A';
        snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", good);
        assert_int_equal(jwks_parse(doc, strlen(doc), &s, reason, sizeof(reason)), RES_PROTOCOL);
        *y = saved;
    }
    /* Unusable keys are skipped when a usable one is present. */
    snprintf(doc, sizeof(doc), "{\"keys\":[%s,%s,%s]}", small, enc, good);
    assert_int_equal(jwks_parse(doc, strlen(doc), &s, reason, sizeof(reason)), RES_OK);
    assert_int_equal(jwks_count(s), 1);
    jwks_free(s);
    free(small);
    free(enc);
    free(good);
    EVP_PKEY_free(weak);
}

static int setup(void **state)
{
    (void)state;
    rsa = tk_generate("RSA");
    rsa2 = tk_generate("RSA");
    p256 = tk_generate("P-256");
    p384 = tk_generate("P-384");
    ed = tk_generate("Ed25519");
    return rsa && rsa2 && p256 && p384 && ed ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(ed);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_alg),
        cmocka_unit_test(test_ed25519_fully_specified),
        cmocka_unit_test(test_hostile_tokens),
        cmocka_unit_test(test_hs256),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_parse_hostile_sets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
