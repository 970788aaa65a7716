/* Unit tests for pam_ciba/provider.c: discovery checks, caching, JWKS rotation and alg policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64url.h"
#include "jws_keys.h"
#include "provider.h"

#define ISS "https://op.example/"
#define DISCOVERY                                                                                       \
    "{\"issuer\":\"" ISS "\",\"backchannel_authentication_endpoint\":\"https://op.example/bc\","           \
    "\"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\","            \
    "\"backchannel_token_delivery_modes_supported\":[\"poll\",\"ping\"]}"

static char base[] = "/tmp/pam_ciba_test_provider.XXXXXX";
static char cache_dir[300];
static EVP_PKEY *key_a, *key_b;
static char jwks_doc[8192];
static int gets, discovery_gets, jwks_gets;
static time_t wall = 1700000000;

static time_t fake_wall(void *ctx) { (void)ctx; return wall; }
static double fake_now(void *ctx) { (void)ctx; return 0; }
static int fake_sleep(void *ctx, double s) { (void)ctx; (void)s; return 0; }
static const struct clock clk = {fake_now, fake_wall, fake_sleep, NULL};

static result fake_get(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen)
{
    (void)ctx;
    (void)err;
    (void)errlen;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = resp->max_age = -1;
    gets++;
    resp->status = 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    if (strstr(url, "openid-configuration")) {
        discovery_gets++;
        resp->body = strdup(DISCOVERY);
    } else {
        jwks_gets++;
        resp->body = strdup(jwks_doc);
    }
    resp->len = strlen(resp->body);
    return RES_OK;
}

static struct transport tr = {NULL, fake_get, NULL};

static void publish(EVP_PKEY *k, const char *kid)
{
    char *jwk = tk_jwk(k, kid, NULL, NULL);
    snprintf(jwks_doc, sizeof(jwks_doc), "{\"keys\":[%s]}", jwk);
    free(jwk);
}

static void base_config(struct config *cfg)
{
    static char *algs[] = {"RS256", "ES256", NULL};
    config_defaults(cfg);
    cfg->issuer = ISS;
    cfg->client_id = "cid";
    cfg->discovery = 1;
    cfg->cache_dir = cache_dir;
    cfg->cache_ttl = 3600;
    cfg->id_token_algs = algs;
}

static int fresh(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cache_dir);
    assert_int_equal(system(cmd), 0);
    gets = discovery_gets = jwks_gets = 0;
    wall = 1700000000;
    publish(key_a, "a");
    return 0;
}

static void test_parse_discovery(void **state)
{
    char *b, *t, *j, reason[256];
    const char *bad[] = {
        "{}", "[]", "x",
        "{\"issuer\":\"https://op.example\",\"backchannel_authentication_endpoint\":\"https://op.example/bc\","
        "\"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\","
        "\"backchannel_token_delivery_modes_supported\":[\"poll\"]}",
        "{\"issuer\":\"" ISS "\",\"backchannel_authentication_endpoint\":\"http://op.example/bc\","
        "\"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\","
        "\"backchannel_token_delivery_modes_supported\":[\"poll\"]}",
        "{\"issuer\":\"" ISS "\",\"backchannel_authentication_endpoint\":\"https://op.example/bc\","
        "\"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\","
        "\"backchannel_token_delivery_modes_supported\":[\"ping\",\"push\"]}",
        "{\"issuer\":\"" ISS "\",\"token_endpoint\":\"https://op.example/token\",\"jwks_uri\":\"https://op.example/jwks\","
        "\"backchannel_token_delivery_modes_supported\":[\"poll\"]}",
    };
    (void)state;
    assert_int_equal(provider_parse_discovery(DISCOVERY, strlen(DISCOVERY), ISS, &b, &t, &j, reason, sizeof(reason)), RES_OK);
    assert_string_equal(b, "https://op.example/bc");
    assert_string_equal(t, "https://op.example/token");
    assert_string_equal(j, "https://op.example/jwks");
    free(b);
    free(t);
    free(j);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (provider_parse_discovery(bad[i], strlen(bad[i]), ISS, &b, &t, &j, reason, sizeof(reason)) != RES_PROTOCOL)
            fail_msg("accepted discovery #%zu", i);
}

static void test_discovery_cached(void **state)
{
    struct config cfg;
    struct provider p;
    char reason[256];
    (void)state;
    base_config(&cfg);
    for (int i = 0; i < 3; i++) {
        provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
        assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
        assert_int_equal(provider_load_keys(&p, reason, sizeof(reason)), RES_OK);
        assert_string_equal(p.bc_endpoint, "https://op.example/bc");
        assert_string_equal(p.jwks_uri, "https://op.example/jwks");
        provider_free(&p);
        wall += 60;
    }
    assert_int_equal(discovery_gets, 1); /* later logins use the cache */
    assert_int_equal(jwks_gets, 1);
    wall += 3600;                        /* past the TTL */
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    provider_free(&p);
    assert_int_equal(discovery_gets, 2);
}

static void test_explicit_endpoints_win(void **state)
{
    struct config cfg;
    struct provider p;
    char reason[256];
    (void)state;
    base_config(&cfg);
    cfg.token_endpoint = "https://elsewhere/token";
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_string_equal(p.token_endpoint, "https://elsewhere/token");
    assert_string_equal(p.bc_endpoint, "https://op.example/bc");
    provider_free(&p);
    cfg.discovery = 0;
    cfg.bc_endpoint = "https://x/bc";
    cfg.jwks_uri = "https://x/jwks";
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    gets = 0;
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(gets, 0);
    assert_string_equal(p.bc_endpoint, "https://x/bc");
    provider_free(&p);
}

static result verify_with(struct provider *p, EVP_PKEY *k, const char *alg, const char *kid, char *reason)
{
    char hdr[128];
    char *tok;
    struct jws_verifier v = provider_verifier(p);
    const char *dot2;
    unsigned char *sig;
    size_t siglen;
    result r;
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    tok = tk_sign(k, alg, "shared", hdr, "{}");
    dot2 = strrchr(tok, '.');
    sig = base64url_decode(dot2 + 1, strlen(dot2 + 1), &siglen);
    r = v.verify(v.ctx, alg, kid, (unsigned char *)tok, (size_t)(dot2 - tok), sig, siglen, reason, 256);
    free(sig);
    free(tok);
    return r;
}

static void test_rotation(void **state)
{
    struct config cfg;
    struct provider p;
    char reason[256];
    (void)state;
    base_config(&cfg);
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(provider_load_keys(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(verify_with(&p, key_a, "RS256", "a", reason), RES_OK);
    provider_free(&p);

    /* The provider rotates to key b; a minute later a login sees kid "b". */
    publish(key_b, "b");
    wall += 120;
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(provider_load_keys(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(jwks_gets, 1);                  /* still the cached set */
    assert_int_equal(verify_with(&p, key_b, "RS256", "b", reason), RES_OK);
    assert_int_equal(jwks_gets, 2);                  /* one refetch */
    /* A forged kid cannot make it refetch again in the same login. */
    assert_int_equal(verify_with(&p, key_a, "RS256", "zzz", reason), RES_INVALID_TOKEN);
    assert_int_equal(jwks_gets, 2);
    provider_free(&p);

    /* Another login within a minute with an unknown kid: rate-limited, no fetch. */
    wall += 10;
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(provider_load_keys(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(verify_with(&p, key_a, "RS256", "unknown", reason), RES_INVALID_TOKEN);
    assert_int_equal(jwks_gets, 2);
    /* Signed by another key with the published kid: refused without refetching. */
    assert_int_equal(verify_with(&p, key_a, "RS256", "b", reason), RES_INVALID_TOKEN);
    assert_non_null(strstr(reason, "signature"));
    assert_int_equal(jwks_gets, 2);
    provider_free(&p);
}

static void test_alg_policy(void **state)
{
    struct config cfg;
    struct provider p;
    char reason[256];
    static char *hs[] = {"HS256", NULL};
    (void)state;
    base_config(&cfg);
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(provider_load_keys(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(verify_with(&p, key_a, "RS384", "a", reason), RES_INVALID_TOKEN); /* not in id_token_algs */
    assert_non_null(strstr(reason, "not allowed"));
    assert_int_equal(verify_with(&p, NULL, "HS256", "a", reason), RES_INVALID_TOKEN);
    /* HS256 only when configured, keyed by the client secret. */
    cfg.id_token_algs = hs;
    cfg.client_secret = "shared";
    assert_int_equal(verify_with(&p, NULL, "HS256", "a", reason), RES_OK);
    cfg.client_secret = "other";
    assert_int_equal(verify_with(&p, NULL, "HS256", "a", reason), RES_INVALID_TOKEN);
    provider_free(&p);
}

/* RFC 9864's "Ed25519" beside "EdDSA": each accepted only when id_token_algs lists it. */
static void test_ed25519_alg(void **state)
{
    struct config cfg;
    struct provider p;
    char reason[256];
    EVP_PKEY *ed = tk_generate("Ed25519");
    static char *both[] = {"EdDSA", "Ed25519", NULL}, *old[] = {"EdDSA", NULL}, *fully[] = {"Ed25519", NULL};
    (void)state;
    assert_non_null(ed);
    publish(ed, "e");
    base_config(&cfg);
    cfg.id_token_algs = both;
    provider_init(&p, &cfg, &tr, &clk, NULL, geteuid());
    assert_int_equal(provider_resolve(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(provider_load_keys(&p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(verify_with(&p, ed, "Ed25519", "e", reason), RES_OK);
    assert_int_equal(verify_with(&p, ed, "EdDSA", "e", reason), RES_OK);
    /* signed by another Ed25519 key under the published kid */
    {
        EVP_PKEY *other = tk_generate("Ed25519");
        assert_int_equal(verify_with(&p, other, "Ed25519", "e", reason), RES_INVALID_TOKEN);
        EVP_PKEY_free(other);
    }
    cfg.id_token_algs = old;
    assert_int_equal(verify_with(&p, ed, "Ed25519", "e", reason), RES_INVALID_TOKEN);
    assert_non_null(strstr(reason, "not allowed"));
    cfg.id_token_algs = fully;
    assert_int_equal(verify_with(&p, ed, "Ed25519", "e", reason), RES_OK);
    assert_int_equal(verify_with(&p, ed, "EdDSA", "e", reason), RES_INVALID_TOKEN);
    provider_free(&p);
    EVP_PKEY_free(ed);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(base))
        return -1;
    snprintf(cache_dir, sizeof(cache_dir), "%s/cache", base);
    key_a = tk_generate("RSA");
    key_b = tk_generate("RSA");
    return key_a && key_b ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    EVP_PKEY_free(key_a);
    EVP_PKEY_free(key_b);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse_discovery, fresh),
        cmocka_unit_test_setup(test_discovery_cached, fresh),
        cmocka_unit_test_setup(test_explicit_endpoints_win, fresh),
        cmocka_unit_test_setup(test_rotation, fresh),
        cmocka_unit_test_setup(test_alg_policy, fresh),
        cmocka_unit_test_setup(test_ed25519_alg, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
