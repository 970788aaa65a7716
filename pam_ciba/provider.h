/* What we know about the OpenID provider: endpoints (discovery) and signing keys (JWKS),
 * from the on-disk cache when fresh, from the network otherwise. */
#ifndef PAM_CIBA_PROVIDER_H
#define PAM_CIBA_PROVIDER_H
#include <stdbool.h>
#include <sys/types.h>
#include "cache.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "idtoken.h"
#include "jwks.h"
#include "logger.h"
#include "result.h"

/* Forced JWKS refetches (unknown kid) happen at most this often. */
#define JWKS_REFETCH_MIN_INTERVAL 60

struct provider {
    const struct config *cfg;
    const struct transport *transport;
    const struct clock *clock;
    const struct logger *log;
    struct cache cache;
    /* resolved */
    char *bc_endpoint;
    char *token_endpoint;
    char *jwks_uri;
    struct jwks *keys;
    time_t keys_fetched;
    bool keys_refetched;  /* the one refetch per login is spent */
    long last_status;     /* HTTP status of the last fetch, 0 if no answer came (failmode) */
};

void provider_init(struct provider *p, const struct config *cfg, const struct transport *t,
                   const struct clock *clk, const struct logger *log, uid_t cache_owner);
void provider_free(struct provider *p);

/* Endpoints: explicit config keys win; otherwise discovery (cache, then network).
 * The discovery document must name our issuer exactly and support poll delivery. */
result provider_resolve(struct provider *p, char *reason, size_t reasonlen);

/* Signing keys from the cache or jwks_uri. */
result provider_load_keys(struct provider *p, char *reason, size_t reasonlen);

/* A verifier for idtoken_verify(): the alg must be allowed by id_token_algs; HS256
 * uses the client secret; an unknown kid refetches the JWKS once (rate-limited). */
struct jws_verifier provider_verifier(struct provider *p);

/* Pure check of a discovery document, for tests and fuzzers. */
result provider_parse_discovery(const char *json, size_t len, const char *issuer, char **bc, char **token,
                                char **jwks_uri, char *reason, size_t reasonlen);

#endif
