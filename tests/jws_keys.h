/* Test helpers: generate keys, publish them as JWKs, sign compact JWS tokens. */
#ifndef TESTS_JWS_KEYS_H
#define TESTS_JWS_KEYS_H
#include <openssl/evp.h>

/* kind: "RSA" (2048), "RSA1024", "P-256", "P-384", "Ed25519". */
EVP_PKEY *tk_generate(const char *kind);
/* The public JWK as a JSON object text; kid/alg/use may be NULL. malloc'd. */
char *tk_jwk(EVP_PKEY *pk, const char *kid, const char *alg, const char *use);
/* header.payload.signature with alg ("RS256", "PS384", "ES256", "EdDSA", "HS256"...). For
 * HS256 secret is the key. malloc'd. */
char *tk_sign(EVP_PKEY *pk, const char *alg, const char *secret, const char *header, const char *payload);
/* PKCS#8 PEM of the private key. malloc'd. */
char *tk_pem(EVP_PKEY *pk);

#endif
