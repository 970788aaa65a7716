/* Unit tests for pam_ciba/client_auth.c: private_key_jwt assertions and each method's fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "client_auth.h"
#include "jwks.h"
#include "jws_keys.h"

#define NOW 1700000000

static json_object *part(const char *jws, int which)
{
    const char *start = jws, *end;
    size_t n;
    unsigned char *raw;
    json_object *o;
    for (int i = 0; i < which; i++)
        start = strchr(start, '.') + 1;
    end = strchr(start, '.');
    raw = base64url_decode(start, (size_t)(end - start), &n);
    o = json_tokener_parse((char *)raw);
    free(raw);
    return o;
}

static const char *str(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static void assertion_for(const char *kind, const char *alg)
{
    EVP_PKEY *pk = tk_generate(kind);
    char *pem = tk_pem(pk), *jwk = tk_jwk(pk, "kid-1", NULL, NULL), doc[4096], reason[128];
    struct client_credentials cc = {CLIENT_AUTH_PRIVATE_KEY_JWT, "cid", NULL, pem, "kid-1", "https://issuer.example/"};
    char *a1 = NULL, *a2 = NULL;
    json_object *h, *c;
    struct jwks *set = NULL;
    const char *dot2;
    unsigned char *sig;
    size_t siglen;
    json_object *v;

    assert_int_equal(client_assertion_build(&cc, NOW, &a1), RES_OK);
    assert_int_equal(client_assertion_build(&cc, NOW, &a2), RES_OK);
    h = part(a1, 0);
    c = part(a1, 1);
    assert_string_equal(str(h, "alg"), alg);
    assert_string_equal(str(h, "kid"), "kid-1");
    assert_string_equal(str(c, "iss"), "cid");
    assert_string_equal(str(c, "sub"), "cid");
    assert_string_equal(str(c, "aud"), "https://issuer.example/");
    assert_true(json_object_object_get_ex(c, "iat", &v) && json_object_get_int64(v) == NOW);
    assert_true(json_object_object_get_ex(c, "exp", &v) && json_object_get_int64(v) == NOW + 60);
    assert_non_null(str(c, "jti"));
    {
        json_object *c2 = part(a2, 1);
        assert_string_not_equal(str(c, "jti"), str(c2, "jti")); /* fresh per request */
        json_object_put(c2);
    }
    /* The signature verifies with the public JWK. */
    snprintf(doc, sizeof(doc), "{\"keys\":[%s]}", jwk);
    assert_int_equal(jwks_parse(doc, strlen(doc), &set, reason, sizeof(reason)), RES_OK);
    dot2 = strrchr(a1, '.');
    sig = base64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    assert_int_equal(jwks_verify(set, alg, "kid-1", (unsigned char *)a1, (size_t)(dot2 - a1), sig, siglen), JWS_VALID);
    free(sig);
    jwks_free(set);
    json_object_put(h);
    json_object_put(c);
    free(a1);
    free(a2);
    free(pem);
    free(jwk);
    EVP_PKEY_free(pk);
}

static void test_assertions(void **state)
{
    (void)state;
    assertion_for("RSA", "RS256");
    assertion_for("P-256", "ES256");
    assertion_for("P-384", "ES384");
    assertion_for("Ed25519", "EdDSA");
}

static void test_bad_key(void **state)
{
    struct client_credentials cc = {CLIENT_AUTH_PRIVATE_KEY_JWT, "cid", NULL, "not a pem", NULL, "https://i/"};
    char *a = NULL;
    struct form f;
    char *authz = NULL;
    (void)state;
    assert_int_not_equal(client_assertion_build(&cc, NOW, &a), RES_OK);
    assert_null(a);
    form_init(&f);
    assert_int_not_equal(client_auth_apply(&cc, NOW, &f, &authz), RES_OK);
    form_free(&f);
}

static void test_methods(void **state)
{
    struct client_credentials post = {CLIENT_AUTH_SECRET_POST, "cid", "sec", NULL, NULL, NULL};
    struct client_credentials basic = {CLIENT_AUTH_SECRET_BASIC, "cid", "sec", NULL, NULL, NULL};
    struct client_credentials mtls = {CLIENT_AUTH_TLS_CLIENT_AUTH, "cid", NULL, NULL, NULL, NULL};
    EVP_PKEY *pk = tk_generate("P-256");
    char *pem = tk_pem(pk);
    struct client_credentials jwt = {CLIENT_AUTH_PRIVATE_KEY_JWT, "cid", NULL, pem, NULL, "https://i/"};
    struct form f;
    char *authz;
    (void)state;

    form_init(&f);
    assert_int_equal(client_auth_apply(&post, NOW, &f, &authz), RES_OK);
    assert_string_equal(form_body(&f), "client_id=cid&client_secret=sec");
    assert_null(authz);
    form_free(&f);

    form_init(&f);
    assert_int_equal(client_auth_apply(&basic, NOW, &f, &authz), RES_OK);
    assert_string_equal(form_body(&f), "");
    assert_string_equal(authz, "Basic Y2lkOnNlYw==");
    free(authz);
    form_free(&f);

    form_init(&f);
    assert_int_equal(client_auth_apply(&mtls, NOW, &f, &authz), RES_OK);
    assert_string_equal(form_body(&f), "client_id=cid");
    form_free(&f);

    form_init(&f);
    assert_int_equal(client_auth_apply(&jwt, NOW, &f, &authz), RES_OK);
    assert_non_null(strstr(form_body(&f), "client_id=cid&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
                                          "client-assertion-type%3Ajwt-bearer&client_assertion=ey"));
    assert_null(strstr(form_body(&f), "client_secret"));
    form_free(&f);
    free(pem);
    EVP_PKEY_free(pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assertions),
        cmocka_unit_test(test_bad_key),
        cmocka_unit_test(test_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
