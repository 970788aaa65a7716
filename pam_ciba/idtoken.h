/* ID token checks (OpenID Connect Core 3.1.3.7) for a CIBA token response. */
#ifndef PAM_CIBA_IDTOKEN_H
#define PAM_CIBA_IDTOKEN_H
#include <stddef.h>
#include <time.h>
#include "result.h"

#define IDTOKEN_MAX_LEN (48 * 1024)

struct idtoken_expect {
    const char *issuer;    /* iss must equal it exactly */
    const char *client_id; /* aud must contain it; azp must equal it if present or aud has several */
    const char *subject;   /* sub must equal it exactly */
    time_t now;            /* Unix time */
    long leeway;           /* seconds of clock skew tolerated for exp and iat */
    /* Email login hints: the provider's sub is its own account id, so a token whose
     * email equals this (with email_verified true) also names the expected user.
     * NULL for every other hint format. */
    const char *email;
    /* Unix time just before the request was sent; iat earlier than this minus leeway
     * is refused (a token from before the request). 0: not checked. */
    time_t not_before;
    /* Authentication strength (issue 14 item 4); NULL-terminated lists, NULL = no check.
     * acr must equal one of require_acr; amr must hold at least one of require_amr. */
    const char *const *require_acr;
    const char *const *require_amr;
};

/* Verifies the JWS signature over header.payload. Supplied by the caller so key
 * handling (JWKS, caching, rotation) stays outside claim logic. */
struct jws_verifier {
    result (*verify)(void *ctx, const char *alg, const char *kid,
                     const unsigned char *signing_input, size_t input_len,
                     const unsigned char *sig, size_t sig_len, char *reason, size_t reasonlen);
    void *ctx;
};

/* Check jwt against expect. With verifier NULL the signature is not checked: OIDC
 * Core 3.1.3.7 (6) allows that for a token received directly from the token endpoint
 * over verified TLS; "alg":"none" is refused either way. RES_OK only if every check
 * passes; otherwise RES_INVALID_TOKEN with the failed check in reason, or
 * RES_AUTH_STRENGTH for a token that is valid in every other way but whose acr or amr
 * does not meet require_acr / require_amr. */
result idtoken_verify(const char *jwt, const struct jws_verifier *verifier,
                      const struct idtoken_expect *expect, char *reason, size_t reasonlen);

#endif
