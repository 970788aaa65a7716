/* Turns a provider's JWKS into OpenSSL keys and checks ID token signatures with them. */
#include "jwks.h"
#include "base64url.h"
#include "json_util.h"

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kty { KTY_RSA, KTY_EC, KTY_OKP };

struct jwk {
    char *kid;     /* may be NULL */
    char *alg;     /* may be NULL */
    enum kty kty;
    size_t coord;  /* EC coordinate size: 32 (P-256) or 48 (P-384); OKP key size: 32 (Ed25519) */
    EVP_PKEY *pkey;
};

struct jwks {
    struct jwk keys[JWKS_MAX_KEYS];
    size_t n;
};

struct alg_info {
    const char *name;
    enum kty kty;
    const char *md;   /* NULL for EdDSA */
    bool pss;
    size_t coord;     /* ES*: expected coordinate size; Ed25519: key size; 0 = any */
};

static const struct alg_info algs[] = {
    {"RS256", KTY_RSA, "SHA256", false, 0}, {"RS384", KTY_RSA, "SHA384", false, 0},
    {"RS512", KTY_RSA, "SHA512", false, 0}, {"PS256", KTY_RSA, "SHA256", true, 0},
    {"PS384", KTY_RSA, "SHA384", true, 0},  {"PS512", KTY_RSA, "SHA512", true, 0},
    {"ES256", KTY_EC, "SHA256", false, 32}, {"ES384", KTY_EC, "SHA384", false, 48},
    {"EdDSA", KTY_OKP, NULL, false, 0},
    /* RFC 9864's fully specified name: EdDSA on Ed25519 only. */
    {"Ed25519", KTY_OKP, NULL, false, 32},
};

static const struct alg_info *find_alg(const char *name)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcmp(algs[i].name, name) == 0)
            return &algs[i];
    return NULL;
}

static unsigned char *member_bytes(json_object *o, const char *key, size_t *len)
{
    const char *s = json_get_str(o, key);
    return s ? base64url_decode(s, strlen(s), len) : NULL;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;

    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pk;
}

static EVP_PKEY *rsa_key(json_object *o)
{
    size_t nlen = 0, elen = 0;
    unsigned char *n = member_bytes(o, "n", &nlen), *e = member_bytes(o, "e", &elen);
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pk = NULL;

    if (!n || !e || nlen < 256 || nlen > 1024 || elen == 0 || elen > 8)
        goto out;
    bn = BN_bin2bn(n, (int)nlen, NULL);
    be = BN_bin2bn(e, (int)elen, NULL);
    if (!bn || !be || BN_num_bits(bn) < 2048 || (bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        goto out;
    pk = from_params("RSA", bld);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pk;
}

static EVP_PKEY *ec_key(json_object *o, size_t *coord)
{
    const char *crv = json_get_str(o, "crv");
    const char *group;
    size_t xlen = 0, ylen = 0;
    unsigned char *x = member_bytes(o, "x", &xlen), *y = member_bytes(o, "y", &ylen);
    unsigned char point[1 + 2 * 48];
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *chk = NULL;

    if (crv && strcmp(crv, "P-256") == 0) {
        group = "prime256v1";
        *coord = 32;
    } else if (crv && strcmp(crv, "P-384") == 0) {
        group = "secp384r1";
        *coord = 48;
    } else {
        goto out;
    }
    if (!x || !y || xlen != *coord || ylen != *coord)
        goto out;
    point[0] = 0x04;
    memcpy(point + 1, x, xlen);
    memcpy(point + 1 + xlen, y, ylen);
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * *coord))
        goto out;
    pk = from_params("EC", bld);
    /* Refuse points that are not on the curve (invalid-curve attacks). */
    if (pk && (!(chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) || EVP_PKEY_public_check(chk) != 1)) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
out:
    EVP_PKEY_CTX_free(chk);
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);
    return pk;
}

static EVP_PKEY *okp_key(json_object *o)
{
    const char *crv = json_get_str(o, "crv");
    size_t xlen = 0;
    unsigned char *x = member_bytes(o, "x", &xlen);
    EVP_PKEY *pk = NULL;

    if (crv && strcmp(crv, "Ed25519") == 0 && x && xlen == 32)
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen);
    free(x);
    return pk;
}

static bool add_key(struct jwks *set, json_object *o)
{
    const char *kty = json_get_str(o, "kty"), *use = json_get_str(o, "use"), *kid = json_get_str(o, "kid");
    const char *alg = json_get_str(o, "alg");
    struct jwk k = {0};

    if (!kty || (use && strcmp(use, "sig") != 0) || set->n >= JWKS_MAX_KEYS)
        return false;
    if (strcmp(kty, "RSA") == 0) {
        k.kty = KTY_RSA;
        k.pkey = rsa_key(o);
    } else if (strcmp(kty, "EC") == 0) {
        k.kty = KTY_EC;
        k.pkey = ec_key(o, &k.coord);
    } else if (strcmp(kty, "OKP") == 0) {
        k.kty = KTY_OKP;
        k.pkey = okp_key(o);
        k.coord = 32; /* okp_key loads Ed25519 keys only */
    }
    if (!k.pkey)
        return false;
    k.kid = kid ? strdup(kid) : NULL;
    k.alg = alg ? strdup(alg) : NULL;
    if ((kid && !k.kid) || (alg && !k.alg)) {
        EVP_PKEY_free(k.pkey);
        free(k.kid);
        free(k.alg);
        return false;
    }
    set->keys[set->n++] = k;
    return true;
}

result jwks_parse(const char *json, size_t len, struct jwks **out, char *reason, size_t reasonlen)
{
    json_object *doc = NULL, *keys;
    struct jwks *set = calloc(1, sizeof(*set));
    result r = RES_PROTOCOL;

    *out = NULL;
    if (!set) {
        r = RES_INTERNAL;
        goto out;
    }
    doc = json_parse_object(json, len);
    if (!doc || !json_object_object_get_ex(doc, "keys", &keys) || !json_object_is_type(keys, json_type_array))
        goto bad;
    for (size_t i = 0; i < json_object_array_length(keys); i++) {
        json_object *k = json_object_array_get_idx(keys, i);
        if (json_object_is_type(k, json_type_object))
            add_key(set, k);
    }
    ERR_clear_error();
    if (set->n == 0) {
        snprintf(reason, reasonlen, "JWKS holds no usable signing key");
        goto out;
    }
    *out = set;
    set = NULL;
    r = RES_OK;
    goto out;
bad:
    snprintf(reason, reasonlen, "JWKS is not a JSON object with a \"keys\" array");
out:
    json_object_put(doc);
    jwks_free(set);
    return r;
}

void jwks_free(struct jwks *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        EVP_PKEY_free(set->keys[i].pkey);
        free(set->keys[i].kid);
        free(set->keys[i].alg);
    }
    free(set);
}

size_t jwks_count(const struct jwks *set)
{
    return set ? set->n : 0;
}

/* A key's own "alg" must name the algorithm; on an Ed25519 key "EdDSA" and "Ed25519" are
 * the same operation (RFC 9864), so either label serves either name. */
static bool alg_label_fits(const struct jwk *k, const struct alg_info *a)
{
    if (!k->alg || strcmp(k->alg, a->name) == 0)
        return true;
    return k->kty == KTY_OKP && k->coord == 32 && (strcmp(k->alg, "EdDSA") == 0 || strcmp(k->alg, "Ed25519") == 0);
}

static bool key_fits(const struct jwk *k, const struct alg_info *a)
{
    return k->kty == a->kty && (a->coord == 0 || k->coord == a->coord) && alg_label_fits(k, a);
}

static const struct jwk *select_key(const struct jwks *set, const struct alg_info *a, const char *kid)
{
    const struct jwk *found = NULL;

    for (size_t i = 0; i < set->n; i++) {
        const struct jwk *k = &set->keys[i];
        if (kid) {
            if (k->kid && strcmp(k->kid, kid) == 0 && key_fits(k, a))
                return k;
        } else if (key_fits(k, a)) {
            if (found)
                return NULL; /* ambiguous without a kid */
            found = k;
        }
    }
    return found;
}

static bool verify_with(const struct jwk *k, const struct alg_info *a, const unsigned char *input, size_t inlen,
                        const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int derlen = 0;
    bool ok = false;

    if (!m)
        return false;
    if (a->kty == KTY_EC) {
        /* JWS carries r||s; OpenSSL verifies DER. */
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r, *s;
        if (!es || siglen != 2 * a->coord) {
            ECDSA_SIG_free(es);
            goto out;
        }
        r = BN_bin2bn(sig, (int)a->coord, NULL);
        s = BN_bin2bn(sig + a->coord, (int)a->coord, NULL);
        if (!r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            goto out;
        }
        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (derlen <= 0)
            goto out;
        sig = der;
        siglen = (size_t)derlen;
    }
    if (EVP_DigestVerifyInit_ex(m, &pctx, a->md, NULL, NULL, k->pkey, NULL) != 1)
        goto out;
    if (a->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto out;
    if (!a->pss && a->kty == KTY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
        goto out;
    ok = EVP_DigestVerify(m, sig, siglen, input, inlen) == 1;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(m);
    ERR_clear_error();
    return ok;
}

enum jws_verdict jwks_verify(const struct jwks *set, const char *alg, const char *kid,
                             const unsigned char *input, size_t inlen,
                             const unsigned char *sig, size_t siglen)
{
    const struct alg_info *a = alg ? find_alg(alg) : NULL;
    const struct jwk *k;

    if (!a)
        return JWS_UNSUPPORTED;
    if (!set || !(k = select_key(set, a, kid)))
        return JWS_NO_KEY;
    return verify_with(k, a, input, inlen, sig, siglen) ? JWS_VALID : JWS_INVALID;
}

enum jws_verdict jws_verify_hs256(const char *secret, const unsigned char *input, size_t inlen,
                                  const unsigned char *sig, size_t siglen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    enum jws_verdict v;

    if (!secret || !*secret)
        return JWS_NO_KEY;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), input, inlen, mac, &maclen))
        return JWS_INVALID;
    v = siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0 ? JWS_VALID : JWS_INVALID;
    OPENSSL_cleanse(mac, sizeof(mac));
    return v;
}
