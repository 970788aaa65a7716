/* OAuth client authentication for each request: secret post/basic, private_key_jwt, mTLS. */
#ifndef PAM_CIBA_CLIENT_AUTH_H
#define PAM_CIBA_CLIENT_AUTH_H
#include <time.h>
#include "config.h"
#include "form.h"
#include "result.h"

#define CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define CLIENT_ASSERTION_LIFETIME 60

struct client_credentials {
    enum client_auth method;
    const char *client_id;
    const char *client_secret;   /* secret_post / secret_basic */
    const char *private_key_pem; /* private_key_jwt */
    const char *key_id;          /* private_key_jwt "kid" header, optional */
    const char *audience;        /* private_key_jwt "aud": the issuer */
};

/* Add this method's credentials to a request about to be sent: form fields, or an
 * Authorization header value in *authorization (malloc'd, wipe after use). tls_client_auth
 * adds only client_id: the credential is the TLS client certificate. */
result client_auth_apply(const struct client_credentials *cc, time_t now, struct form *f,
                         char **authorization);

/* A signed private_key_jwt client assertion (RFC 7523): iss = sub = client_id,
 * aud, a fresh random jti, iat = now, exp = now + 60. malloc'd compact JWS. */
result client_assertion_build(const struct client_credentials *cc, time_t now, char **out);

#endif
