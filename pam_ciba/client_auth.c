/* Client authentication; private_key_jwt assertions are signed with OpenSSL EVP. */
#include "client_auth.h"
#include "base64url.h"
#include "wipe.h"

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JWS alg and digest for a key: RS256, ES256/ES384 by curve, EdDSA. */
static const char *alg_for(EVP_PKEY *pk, const EVP_MD **md, size_t *coord)
{
    char group[64] = "";
    size_t glen = 0;

    *coord = 0;
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
        *md = EVP_sha256();
        return "RS256";
    case EVP_PKEY_ED25519:
        *md = NULL;
        return "EdDSA";
    case EVP_PKEY_EC:
        if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen))
            return NULL;
        if (strcmp(group, "prime256v1") == 0) {
            *md = EVP_sha256();
            *coord = 32;
            return "ES256";
        }
        if (strcmp(group, "secp384r1") == 0) {
            *md = EVP_sha384();
            *coord = 48;
            return "ES384";
        }
        return NULL;
    }
    return NULL;
}

/* JWS wants ECDSA signatures as fixed-size r||s, OpenSSL produces DER. */
static bool der_to_raw(const unsigned char *der, size_t derlen, size_t coord, unsigned char *raw)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    const BIGNUM *r, *s;
    bool ok;

    if (!sig)
        return false;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, (int)coord) == (int)coord && BN_bn2binpad(s, raw + coord, (int)coord) == (int)coord;
    ECDSA_SIG_free(sig);
    return ok;
}

static char *b64_json(json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    return s ? base64url_encode((const unsigned char *)s, strlen(s)) : NULL;
}

result client_assertion_build(const struct client_credentials *cc, time_t now, char **out)
{
    BIO *bio = NULL;
    EVP_PKEY *pk = NULL;
    EVP_MD_CTX *mctx = NULL;
    const EVP_MD *md = NULL;
    json_object *hdr = NULL, *claims = NULL;
    unsigned char jti_raw[16], *sig = NULL, raw[96];
    char *jti = NULL, *h64 = NULL, *c64 = NULL, *input = NULL, *s64 = NULL;
    size_t siglen = 0, coord, n;
    const char *alg;
    result r = RES_INTERNAL;

    *out = NULL;
    bio = BIO_new_mem_buf(cc->private_key_pem, -1);
    pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    if (!pk || !(alg = alg_for(pk, &md, &coord)))
        goto out;
    if (RAND_bytes(jti_raw, sizeof(jti_raw)) != 1 || !(jti = base64url_encode(jti_raw, sizeof(jti_raw))))
        goto out;
    hdr = json_object_new_object();
    claims = json_object_new_object();
    if (!hdr || !claims)
        goto out;
    json_object_object_add(hdr, "alg", json_object_new_string(alg));
    json_object_object_add(hdr, "typ", json_object_new_string("JWT"));
    if (cc->key_id)
        json_object_object_add(hdr, "kid", json_object_new_string(cc->key_id));
    json_object_object_add(claims, "iss", json_object_new_string(cc->client_id));
    json_object_object_add(claims, "sub", json_object_new_string(cc->client_id));
    json_object_object_add(claims, "aud", json_object_new_string(cc->audience));
    json_object_object_add(claims, "jti", json_object_new_string(jti));
    json_object_object_add(claims, "iat", json_object_new_int64((int64_t)now));
    json_object_object_add(claims, "exp", json_object_new_int64((int64_t)now + CLIENT_ASSERTION_LIFETIME));
    if (!(h64 = b64_json(hdr)) || !(c64 = b64_json(claims)))
        goto out;
    n = strlen(h64) + strlen(c64) + 2;
    if (!(input = malloc(n)))
        goto out;
    snprintf(input, n, "%s.%s", h64, c64);
    if (!(mctx = EVP_MD_CTX_new()) || EVP_DigestSignInit(mctx, NULL, md, NULL, pk) != 1 ||
        EVP_DigestSign(mctx, NULL, &siglen, (unsigned char *)input, strlen(input)) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(mctx, sig, &siglen, (unsigned char *)input, strlen(input)) != 1)
        goto out;
    if (coord) {
        if (!der_to_raw(sig, siglen, coord, raw))
            goto out;
        s64 = base64url_encode(raw, 2 * coord);
    } else {
        s64 = base64url_encode(sig, siglen);
    }
    if (!s64)
        goto out;
    n = strlen(input) + strlen(s64) + 2;
    if (!(*out = malloc(n)))
        goto out;
    snprintf(*out, n, "%s.%s", input, s64);
    r = RES_OK;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pk);
    BIO_free(bio);
    json_object_put(hdr);
    json_object_put(claims);
    /* The signing input and signature make up the assertion, a bearer credential until
     * it expires: no copy of it is freed unwiped. */
    free(jti);
    free(h64);
    free(c64);
    wipe_free_str(input);
    wipe_free(sig, siglen);
    explicit_bzero(raw, sizeof(raw));
    wipe_free_str(s64);
    return r;
}

result client_auth_apply(const struct client_credentials *cc, time_t now, struct form *f,
                         char **authorization)
{
    char *assertion = NULL;
    result r;

    *authorization = NULL;
    switch (cc->method) {
    case CLIENT_AUTH_SECRET_BASIC:
        *authorization = form_basic_auth(cc->client_id, cc->client_secret);
        return *authorization ? RES_OK : RES_INTERNAL;
    case CLIENT_AUTH_SECRET_POST:
        form_add(f, "client_id", cc->client_id);
        form_add(f, "client_secret", cc->client_secret);
        return RES_OK;
    case CLIENT_AUTH_PRIVATE_KEY_JWT:
        r = client_assertion_build(cc, now, &assertion);
        if (r != RES_OK)
            return r;
        form_add(f, "client_id", cc->client_id);
        form_add(f, "client_assertion_type", CLIENT_ASSERTION_TYPE);
        form_add(f, "client_assertion", assertion);
        wipe_free_str(assertion);
        return RES_OK;
    case CLIENT_AUTH_TLS_CLIENT_AUTH:
        form_add(f, "client_id", cc->client_id);
        return RES_OK;
    }
    return RES_INTERNAL;
}
