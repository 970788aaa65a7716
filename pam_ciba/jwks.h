/* JSON Web Key Sets (RFC 7517) and JWS signature verification (RFC 7515/7518/8037/9864). */
#ifndef PAM_CIBA_JWKS_H
#define PAM_CIBA_JWKS_H
#include <stddef.h>
#include "result.h"

#define JWKS_MAX_KEYS 64

struct jwks;

enum jws_verdict {
    JWS_VALID,         /* the signature verifies with a key of the set */
    JWS_INVALID,       /* a matching key exists, the signature does not verify */
    JWS_NO_KEY,        /* no key in the set fits alg/kid: maybe the keys rotated */
    JWS_UNSUPPORTED    /* the algorithm is not one we verify */
};

/* Parse a JWKS document. Keys we cannot use (unknown kty/crv, "use" other than "sig",
 * RSA under 2048 bits, points not on the curve) are skipped; a set with no usable key
 * is RES_PROTOCOL. */
result jwks_parse(const char *json, size_t len, struct jwks **out, char *reason, size_t reasonlen);
void jwks_free(struct jwks *set);
size_t jwks_count(const struct jwks *set);

/* Verify sig over input for a JWS header alg and kid (kid may be NULL: then exactly one
 * key of the right type must exist). ES* signatures are raw r||s as JWS requires. */
enum jws_verdict jwks_verify(const struct jwks *set, const char *alg, const char *kid,
                             const unsigned char *input, size_t inlen,
                             const unsigned char *sig, size_t siglen);

/* HS256 with a shared secret (the client_secret), constant-time compare. */
enum jws_verdict jws_verify_hs256(const char *secret, const unsigned char *input, size_t inlen,
                                  const unsigned char *sig, size_t siglen);

#endif
