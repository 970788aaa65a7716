/* Discovery and JWKS retrieval with caching, and the signature verifier built on them. */
#include "provider.h"
#include "json_util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

void provider_init(struct provider *p, const struct config *cfg, const struct transport *t,
                   const struct clock *clk, const struct logger *log, uid_t cache_owner)
{
    memset(p, 0, sizeof(*p));
    p->cfg = cfg;
    p->transport = t;
    p->clock = clk;
    p->log = log;
    p->cache.dir = cfg->cache_dir;
    p->cache.owner = cache_owner;
}

void provider_free(struct provider *p)
{
    free(p->bc_endpoint);
    free(p->token_endpoint);
    free(p->jwks_uri);
    jwks_free(p->keys);
    memset(p, 0, sizeof(*p));
}

/* A URL is printable ASCII (RFC 3986): a provider's URL can reach a terminal
 * (pam_ciba-check prints the endpoints) and the logs, so nothing else is taken. */
static bool https_url(const char *u)
{
    if (!u || strncmp(u, "https://", 8) != 0 || !u[8])
        return false;
    for (; *u; u++)
        if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
            return false;
    return true;
}

result provider_parse_discovery(const char *json, size_t len, const char *issuer, char **bc, char **token,
                                char **jwks_uri, char *reason, size_t reasonlen)
{
    json_object *o = json_parse_object(json, len), *modes;
    const char *iss, *b, *t, *j;
    bool poll = false;
    result r = RES_PROTOCOL;

    *bc = *token = *jwks_uri = NULL;
    if (!o) {
        snprintf(reason, reasonlen, "discovery: not a JSON object");
        goto out;
    }
    iss = json_get_str(o, "issuer");
    if (!iss || strcmp(iss, issuer) != 0) {
        snprintf(reason, reasonlen, "discovery: issuer does not equal the configured issuer exactly");
        goto out;
    }
    b = json_get_str(o, "backchannel_authentication_endpoint");
    t = json_get_str(o, "token_endpoint");
    j = json_get_str(o, "jwks_uri");
    if (!https_url(b) || !https_url(t) || !https_url(j)) {
        snprintf(reason, reasonlen, "discovery: backchannel_authentication_endpoint, token_endpoint and "
                                    "jwks_uri must be https URLs (is CIBA enabled for this provider?)");
        goto out;
    }
    if (json_object_object_get_ex(o, "backchannel_token_delivery_modes_supported", &modes) &&
        json_object_is_type(modes, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(modes); i++) {
            json_object *m = json_object_array_get_idx(modes, i);
            if (json_str(m) && strcmp(json_str(m), "poll") == 0)
                poll = true;
        }
    }
    if (!poll) {
        snprintf(reason, reasonlen, "discovery: backchannel_token_delivery_modes_supported lacks \"poll\"");
        goto out;
    }
    *bc = strdup(b);
    *token = strdup(t);
    *jwks_uri = strdup(j);
    if (!*bc || !*token || !*jwks_uri) {
        free(*bc);
        free(*token);
        free(*jwks_uri);
        *bc = *token = *jwks_uri = NULL;
        r = RES_INTERNAL;
        goto out;
    }
    r = RES_OK;
out:
    json_object_put(o);
    return r;
}

/* GET a JSON document; 200 + application/json only. */
static result fetch(struct provider *p, const char *what, const char *url, char **body, long *max_age,
                    char *reason, size_t reasonlen)
{
    struct http_response resp = {0};
    char err[256] = "";
    result r;

    *body = NULL;
    log_msg(p->log, LOG_DEBUG, "%s: GET %s", what, url);
    r = p->transport->get(p->transport->ctx, url, &resp, err, sizeof(err));
    p->last_status = r == RES_OK ? resp.status : 0;
    if (r != RES_OK) {
        snprintf(reason, reasonlen, "%s: %s", what, err);
        return r;
    }
    if (resp.status != 200) {
        snprintf(reason, reasonlen, "%s: HTTP %ld", what, resp.status);
        r = resp.status >= 500 || resp.status == 429 ? RES_UNAVAILABLE : RES_PROTOCOL;
    } else if (strncasecmp(resp.content_type, "application/json", 16) != 0 &&
               strncasecmp(resp.content_type, "application/jwk-set+json", 24) != 0) {
        snprintf(reason, reasonlen, "%s: not JSON", what);
        r = RES_PROTOCOL;
    } else if (!(*body = strdup(resp.body))) {
        r = RES_INTERNAL;
    } else {
        *max_age = resp.max_age;
    }
    http_response_clear(&resp);
    return r;
}

static long ttl_for(const struct provider *p, long max_age)
{
    long ttl = p->cfg->cache_ttl;
    return max_age >= 0 && max_age < ttl ? max_age : ttl;
}

static char *discovery_url(const char *issuer)
{
    size_t n = strlen(issuer);
    char *u = malloc(n + 40);
    if (u)
        snprintf(u, n + 40, "%.*s/.well-known/openid-configuration",
                 (int)(n && issuer[n - 1] == '/' ? n - 1 : n), issuer);
    return u;
}

static bool take(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

result provider_resolve(struct provider *p, char *reason, size_t reasonlen)
{
    const struct config *cfg = p->cfg;
    char *url = NULL, *body = NULL, *bc = NULL, *tok = NULL, *jw = NULL;
    time_t now = p->clock->wall(p->clock->ctx);
    long max_age = -1;
    result r = RES_OK;

    if (cfg->discovery) {
        if (!(url = discovery_url(cfg->issuer)))
            return RES_INTERNAL;
        if (cache_get(&p->cache, "discovery", url, now, 0, &body, NULL) == RES_OK &&
            provider_parse_discovery(body, strlen(body), cfg->issuer, &bc, &tok, &jw, reason, reasonlen) == RES_OK) {
            log_msg(p->log, LOG_DEBUG, "discovery: from cache");
        } else {
            free(body);
            body = NULL;
            r = fetch(p, "discovery", url, &body, &max_age, reason, reasonlen);
            if (r == RES_OK)
                r = provider_parse_discovery(body, strlen(body), cfg->issuer, &bc, &tok, &jw, reason, reasonlen);
            if (r == RES_OK && cache_put(&p->cache, "discovery", url, body, now, ttl_for(p, max_age)) != RES_OK)
                log_msg(p->log, LOG_WARNING, "cannot write the discovery cache in %s", cfg->cache_dir);
        }
    }
    /* Explicit keys override what discovery said. */
    if (r == RES_OK && !(take(&p->bc_endpoint, cfg->bc_endpoint ? cfg->bc_endpoint : bc) &&
                         take(&p->token_endpoint, cfg->token_endpoint ? cfg->token_endpoint : tok) &&
                         take(&p->jwks_uri, cfg->jwks_uri ? cfg->jwks_uri : jw)))
        r = RES_INTERNAL;
    if (r == RES_OK && (!p->bc_endpoint || !p->token_endpoint || !p->jwks_uri)) {
        snprintf(reason, reasonlen, "no endpoints: enable discovery or set the endpoint keys");
        r = RES_CONFIG;
    }
    free(url);
    free(body);
    free(bc);
    free(tok);
    free(jw);
    return r;
}

static void use_keys(struct provider *p, struct jwks *set, time_t fetched)
{
    jwks_free(p->keys);
    p->keys = set;
    p->keys_fetched = fetched;
}

/* Keys from the cache when fresh; with force (an unknown kid), a newer cached set that
 * another login stored, else the network, but not within a minute of the last fetch. */
static result load_keys(struct provider *p, bool force, char *reason, size_t reasonlen)
{
    time_t now = p->clock->wall(p->clock->ctx), fetched = 0;
    char *body = NULL;
    struct jwks *set = NULL;
    long max_age = -1;
    result r;

    if (cache_get(&p->cache, "jwks", p->jwks_uri, now, force, &body, &fetched) == RES_OK) {
        bool usable = !force || fetched > p->keys_fetched;
        if (usable && jwks_parse(body, strlen(body), &set, reason, reasonlen) == RES_OK) {
            use_keys(p, set, fetched);
            free(body);
            log_msg(p->log, LOG_DEBUG, "jwks: %zu keys from cache", jwks_count(set));
            return RES_OK;
        }
        free(body);
        body = NULL;
        if (force && now - fetched < JWKS_REFETCH_MIN_INTERVAL) {
            snprintf(reason, reasonlen, "jwks: fetched less than %ds ago, not refetching", JWKS_REFETCH_MIN_INTERVAL);
            return RES_PROTOCOL;
        }
    }
    r = fetch(p, "jwks", p->jwks_uri, &body, &max_age, reason, reasonlen);
    if (r == RES_OK)
        r = jwks_parse(body, strlen(body), &set, reason, reasonlen);
    if (r == RES_OK) {
        if (cache_put(&p->cache, "jwks", p->jwks_uri, body, now, ttl_for(p, max_age)) != RES_OK)
            log_msg(p->log, LOG_WARNING, "cannot write the JWKS cache in %s", p->cfg->cache_dir);
        use_keys(p, set, now);
        log_msg(p->log, LOG_DEBUG, "jwks: %zu keys fetched", jwks_count(set));
    }
    free(body);
    return r;
}

result provider_load_keys(struct provider *p, char *reason, size_t reasonlen)
{
    return load_keys(p, false, reason, reasonlen);
}

static bool alg_allowed(const struct config *cfg, const char *alg)
{
    for (size_t i = 0; cfg->id_token_algs && cfg->id_token_algs[i]; i++)
        if (strcmp(cfg->id_token_algs[i], alg) == 0)
            return true;
    return false;
}

static result verify(void *ctx, const char *alg, const char *kid, const unsigned char *input, size_t inlen,
                     const unsigned char *sig, size_t siglen, char *reason, size_t reasonlen)
{
    struct provider *p = ctx;
    enum jws_verdict v;
    char safe[40];

    log_escape(alg, safe, sizeof(safe));
    if (!alg_allowed(p->cfg, alg)) {
        snprintf(reason, reasonlen, "id_token: alg %s is not allowed (id_token_algs)", safe);
        return RES_INVALID_TOKEN;
    }
    if (strcmp(alg, "HS256") == 0)
        v = jws_verify_hs256(p->cfg->client_secret, input, inlen, sig, siglen);
    else
        v = jwks_verify(p->keys, alg, kid, input, inlen, sig, siglen);
    if (v == JWS_NO_KEY && !p->keys_refetched && strcmp(alg, "HS256") != 0) {
        char why[256] = "";
        p->keys_refetched = true;
        log_msg(p->log, LOG_INFO, "id_token: no key for its kid; refetching the JWKS (key rotation?)");
        if (load_keys(p, true, why, sizeof(why)) == RES_OK)
            v = jwks_verify(p->keys, alg, kid, input, inlen, sig, siglen);
        else
            log_msg(p->log, LOG_INFO, "jwks refetch: %s", why);
    }
    switch (v) {
    case JWS_VALID:
        return RES_OK;
    case JWS_NO_KEY:
        snprintf(reason, reasonlen, "id_token: no signing key matches its kid/alg");
        break;
    case JWS_UNSUPPORTED:
        snprintf(reason, reasonlen, "id_token: unsupported alg %s", safe);
        break;
    case JWS_INVALID:
        snprintf(reason, reasonlen, "id_token: signature does not verify");
        break;
    }
    return RES_INVALID_TOKEN;
}

struct jws_verifier provider_verifier(struct provider *p)
{
    struct jws_verifier v = {verify, p};
    return v;
}
