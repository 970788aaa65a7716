/* Test-only key generation and JWS signing with OpenSSL, independent of pam_ciba's code paths. */
#include "jws_keys.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *b64url(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

EVP_PKEY *tk_generate(const char *kind)
{
    if (strcmp(kind, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (strcmp(kind, "RSA1024") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    if (strcmp(kind, "P-256") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (strcmp(kind, "P-384") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (strcmp(kind, "Ed25519") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return NULL;
}

static char *bn_b64(EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[1024];
    int n;
    char *out;
    EVP_PKEY_get_bn_param(pk, param, &bn);
    n = BN_bn2bin(bn, buf);
    out = b64url(buf, (size_t)n);
    BN_free(bn);
    return out;
}

char *tk_jwk(EVP_PKEY *pk, const char *kid, const char *alg, const char *use)
{
    char extra[256] = "", *out = malloc(4096);
    int id = EVP_PKEY_get_base_id(pk);

    if (kid)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"kid\":\"%s\"", kid);
    if (alg)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"alg\":\"%s\"", alg);
    if (use)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"use\":\"%s\"", use);
    if (id == EVP_PKEY_RSA) {
        char *n = bn_b64(pk, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(pk, OSSL_PKEY_PARAM_RSA_E);
        snprintf(out, 4096, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"%s}", n, e, extra);
        free(n);
        free(e);
    } else if (id == EVP_PKEY_EC) {
        unsigned char pt[200];
        size_t len = 0, c;
        char *x, *y;
        EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len);
        c = (len - 1) / 2;
        x = b64url(pt + 1, c);
        y = b64url(pt + 1 + c, c);
        snprintf(out, 4096, "{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", c == 32 ? "P-256" : "P-384",
                 x, y, extra);
        free(x);
        free(y);
    } else {
        unsigned char raw[32];
        size_t len = sizeof(raw);
        char *x;
        EVP_PKEY_get_raw_public_key(pk, raw, &len);
        x = b64url(raw, len);
        snprintf(out, 4096, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"%s}", x, extra);
        free(x);
    }
    return out;
}

char *tk_sign(EVP_PKEY *pk, const char *alg, const char *secret, const char *header, const char *payload)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2, siglen = 0;
    char *input = malloc(n), *s, *out;
    unsigned char sig[1024];

    snprintf(input, n, "%s.%s", h, p);
    if (strncmp(alg, "HS", 2) == 0) {
        unsigned int l = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)input, strlen(input), sig, &l);
        siglen = l;
    } else {
        const char *md = strcmp(alg + 2, "256") == 0 ? "SHA256" : strcmp(alg + 2, "384") == 0 ? "SHA384" : "SHA512";
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        unsigned char der[512];
        size_t derlen = sizeof(der);
        if (strcmp(alg, "EdDSA") == 0 || strcmp(alg, "Ed25519") == 0)
            md = NULL;
        EVP_DigestSignInit_ex(m, &pctx, md, NULL, NULL, pk, NULL);
        if (alg[0] == 'P') {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
        }
        if (alg[0] == 'E' && alg[1] == 'S') {
            const unsigned char *dp = der;
            ECDSA_SIG *es;
            const BIGNUM *r, *sv;
            size_t c = strcmp(alg, "ES256") == 0 ? 32 : 48;
            EVP_DigestSign(m, der, &derlen, (unsigned char *)input, strlen(input));
            es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
            ECDSA_SIG_get0(es, &r, &sv);
            BN_bn2binpad(r, sig, (int)c);
            BN_bn2binpad(sv, sig + c, (int)c);
            siglen = 2 * c;
            ECDSA_SIG_free(es);
        } else {
            siglen = sizeof(sig);
            EVP_DigestSign(m, sig, &siglen, (unsigned char *)input, strlen(input));
        }
        EVP_MD_CTX_free(m);
    }
    s = b64url(sig, siglen);
    n = strlen(input) + strlen(s) + 2;
    out = malloc(n);
    snprintf(out, n, "%s.%s", input, s);
    free(h);
    free(p);
    free(input);
    free(s);
    return out;
}

char *tk_pem(EVP_PKEY *pk)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data, *out;
    long n;
    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &data);
    out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}
