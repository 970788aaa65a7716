/* Unit tests for pam_ciba/idtoken.c: every claim check, header rules, malformed tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64url.h"
#include "idtoken.h"

#define NOW 1700000000L

static const struct idtoken_expect expect = {"https://t.example/", "cid", "alice", NOW, 0, NULL, 0, NULL, NULL};

static char *jwt(const char *header, const char *payload, const char *sig)
{
    char *h = base64url_encode((const unsigned char *)header, strlen(header));
    char *p = base64url_encode((const unsigned char *)payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return out;
}

#define HDR "{\"alg\":\"RS256\",\"kid\":\"k1\"}"
#define CLAIMS(iss, aud, sub, extra) \
    "{\"iss\":\"" iss "\",\"aud\":" aud ",\"sub\":\"" sub "\",\"exp\":1700000300,\"iat\":1699999990" extra "}"

static result check(const char *header, const char *payload, char *reason)
{
    char *t = jwt(header, payload, "c2lnbmF0dXJl");
    result r = idtoken_verify(t, NULL, &expect, reason, 256);
    free(t);
    return r;
}

static void ok(const char *payload)
{
    char reason[256] = "";
    if (check(HDR, payload, reason) != RES_OK)
        fail_msg("expected accept: %s (%s)", payload, reason);
}

static void bad(const char *header, const char *payload, const char *why)
{
    char reason[256] = "";
    if (check(header, payload, reason) != RES_INVALID_TOKEN || !strstr(reason, why))
        fail_msg("expected reject with \"%s\": %s got \"%s\"", why, payload, reason);
}

static void test_valid(void **state)
{
    (void)state;
    ok(CLAIMS("https://t.example/", "\"cid\"", "alice", ""));
    ok(CLAIMS("https://t.example/", "[\"cid\"]", "alice", ""));
    ok(CLAIMS("https://t.example/", "[\"cid\",\"other\"]", "alice", ",\"azp\":\"cid\""));
    ok(CLAIMS("https://t.example/", "\"cid\"", "alice", ",\"azp\":\"cid\",\"auth_time\":1699999990"));
}

static void test_claims(void **state)
{
    (void)state;
    bad(HDR, CLAIMS("https://t.example", "\"cid\"", "alice", ""), "iss");
    bad(HDR, CLAIMS("https://evil.example/", "\"cid\"", "alice", ""), "iss");
    bad(HDR, "{\"aud\":\"cid\",\"sub\":\"alice\",\"exp\":1700000300,\"iat\":1699999990}", "iss");
    bad(HDR, CLAIMS("https://t.example/", "\"other\"", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "[\"other\"]", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "[\"cid\",1]", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "{\"cid\":1}", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "[\"cid\",\"other\"]", "alice", ""), "azp");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice", ",\"azp\":\"other\""), "azp");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "bob", ""), "sub");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice ", ""), "sub");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "Alice", ""), "sub");
    /* "\u0000" would cut a C comparison short: alice\0x must not pass as alice. */
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice\\u0000x", ""), "sub");
    bad(HDR, CLAIMS("https://t.example/\\u0000.evil", "\"cid\"", "alice", ""), "iss");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\\u0000x\"", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "[\"cid\\u0000x\"]", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice", ",\"azp\":\"cid\\u0000\""), "azp");
    bad(HDR, "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"exp\":1700000300,\"iat\":1}", "sub");
    bad(HDR, "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"sub\":\"alice\",\"exp\":1700000000,\"iat\":1}", "expired");
    bad(HDR, "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"sub\":\"alice\",\"exp\":\"1800000000\",\"iat\":1}", "exp");
    bad(HDR, "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"sub\":\"alice\",\"iat\":1}", "exp");
    bad(HDR, "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"sub\":\"alice\",\"exp\":1800000000,\"iat\":1700000100}", "iat");
    bad(HDR, "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"sub\":\"alice\",\"exp\":1800000000}", "iat");
}

static void test_email_hint(void **state)
{
    struct idtoken_expect e = {"https://t.example/", "cid", "alice@example.com", NOW, 0, "alice@example.com", 0, NULL, NULL};
    char reason[256];
    const char *cases[][2] = {
        {",\"email\":\"alice@example.com\",\"email_verified\":true", "ok"},
        {",\"email\":\"alice@example.com\",\"email_verified\":false", "sub"},
        {",\"email\":\"alice@example.com\",\"email_verified\":\"true\"", "sub"},
        {",\"email\":\"alice@example.com\"", "sub"},
        {",\"email\":\"bob@example.com\",\"email_verified\":true", "sub"},
        {",\"email\":\"alice@example.com\\u0000\",\"email_verified\":true", "sub"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[512];
        char *t;
        result r;
        snprintf(payload, sizeof(payload), CLAIMS("https://t.example/", "\"cid\"", "auth0|123", "%s"), cases[i][0]);
        t = jwt(HDR, payload, "c2ln");
        r = idtoken_verify(t, NULL, &e, reason, sizeof(reason));
        free(t);
        if ((strcmp(cases[i][1], "ok") == 0) != (r == RES_OK))
            fail_msg("case %zu: got %d (%s)", i, r, reason);
    }
    /* Without an email hint the email claim never stands in for sub. */
    {
        char *t = jwt(HDR, CLAIMS("https://t.example/", "\"cid\"", "auth0|123",
                                  ",\"email\":\"alice\",\"email_verified\":true"), "c2ln");
        assert_int_equal(idtoken_verify(t, NULL, &expect, reason, sizeof(reason)), RES_INVALID_TOKEN);
        free(t);
    }
}

static void test_header(void **state)
{
    const char *good = CLAIMS("https://t.example/", "\"cid\"", "alice", "");
    char reason[256];
    char *t;
    (void)state;
    bad("{\"alg\":\"none\"}", good, "alg");
    bad("{\"typ\":\"JWT\"}", good, "alg");
    bad("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", good, "critical");
    bad("[1]", good, "malformed");
    /* alg none with an empty signature. */
    t = jwt("{\"alg\":\"none\"}", good, "");
    assert_int_equal(idtoken_verify(t, NULL, &expect, reason, sizeof(reason)), RES_INVALID_TOKEN);
    free(t);
}

static void test_malformed(void **state)
{
    char reason[256];
    char *big;
    const char *cases[] = {"", "abc", "a.b", "a.b.c.d", "...", "e30.e30.", "e30.e30.!!!!", "e30.e30.c2ln",
                           "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", "eyJhbGciOiJSUzI1NiJ9.e30gW10.c2ln"};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(idtoken_verify(cases[i], NULL, &expect, reason, sizeof(reason)), RES_INVALID_TOKEN);
    assert_int_equal(idtoken_verify(NULL, NULL, &expect, reason, sizeof(reason)), RES_INVALID_TOKEN);
    big = malloc(IDTOKEN_MAX_LEN + 10);
    memset(big, 'A', IDTOKEN_MAX_LEN + 9);
    big[IDTOKEN_MAX_LEN + 9] = '\0';
    assert_int_equal(idtoken_verify(big, NULL, &expect, reason, sizeof(reason)), RES_INVALID_TOKEN);
    free(big);
}

static result refuse(void *ctx, const char *alg, const char *kid, const unsigned char *in, size_t inlen,
                     const unsigned char *sig, size_t siglen, char *reason, size_t len)
{
    (void)alg; (void)kid; (void)in; (void)inlen; (void)sig; (void)siglen;
    ++*(int *)ctx;
    snprintf(reason, len, "bad signature");
    return RES_INVALID_TOKEN;
}

static void test_verifier_consulted(void **state)
{
    int calls = 0;
    struct jws_verifier v = {refuse, &calls};
    char reason[256];
    char *t = jwt(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice", ""), "c2ln");
    (void)state;
    assert_int_equal(idtoken_verify(t, &v, &expect, reason, sizeof(reason)), RES_INVALID_TOKEN);
    assert_int_equal(calls, 1);
    assert_string_equal(reason, "bad signature");
    free(t);
}

/* Found by the fault matrix: json-c keeps "\u0000" inside strings, and a C comparison
 * would stop there, so "alice\u0000x" must not pass for "alice". */
static void test_embedded_nul(void **state)
{
    (void)state;
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice\\u0000root", ""), "sub");
    bad(HDR, CLAIMS("https://t.example/\\u0000x", "\"cid\"", "alice", ""), "iss");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\\u0000x\"", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "[\"cid\\u0000x\"]", "alice", ""), "aud");
    bad(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice", ",\"azp\":\"cid\\u0000x\""), "azp");
}

/* iat before the bc-authorize request was sent (minus the skew) is an old token. */
static void test_iat_before_request(void **state)
{
    struct idtoken_expect e = expect;
    char reason[256] = "";
    char *t;
    (void)state;
    e.leeway = 60;
    e.not_before = NOW - 5;
    /* iat 1699999990 = NOW - 10: within the skew of the request time */
    t = jwt(HDR, CLAIMS("https://t.example/", "\"cid\"", "alice", ""), "c2lnbmF0dXJl");
    assert_int_equal(idtoken_verify(t, NULL, &e, reason, sizeof(reason)), RES_OK);
    /* the same token, but the request was sent 71 s after it was issued */
    e.not_before = NOW + 61;
    assert_int_equal(idtoken_verify(t, NULL, &e, reason, sizeof(reason)), RES_INVALID_TOKEN);
    assert_non_null(strstr(reason, "before the request was sent"));
    /* exactly on the edge: iat == not_before - leeway is accepted */
    e.not_before = NOW - 10 + 60;
    assert_int_equal(idtoken_verify(t, NULL, &e, reason, sizeof(reason)), RES_OK);
    e.not_before = NOW - 10 + 61;
    assert_int_equal(idtoken_verify(t, NULL, &e, reason, sizeof(reason)), RES_INVALID_TOKEN);
    /* 0: not checked (callers with no request time) */
    e.not_before = 0;
    assert_int_equal(idtoken_verify(t, NULL, &e, reason, sizeof(reason)), RES_OK);
    free(t);
}

/* require_acr / require_amr (issue 14 item 4). */
static result strength(const char *const *acr, const char *const *amr, const char *extra, char *reason)
{
    struct idtoken_expect e = expect;
    char payload[512];
    char *t;
    result r;
    e.require_acr = acr;
    e.require_amr = amr;
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"https://t.example/\",\"aud\":\"cid\",\"sub\":\"alice\",\"exp\":1700000300,"
             "\"iat\":1699999990%s}", extra);
    t = jwt(HDR, payload, "c2lnbmF0dXJl");
    r = idtoken_verify(t, NULL, &e, reason, 256);
    free(t);
    return r;
}

#define MFA "http://schemas.openid.net/pape/policies/2007/06/multi-factor"

static void test_require_acr(void **state)
{
    static const char *const acr[] = {MFA, "urn:example:phr", NULL};
    static const char *const empty[] = {NULL};
    char reason[256] = "";
    (void)state;
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"" MFA "\"", reason), RES_OK);
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"urn:example:phr\"", reason), RES_OK);
    /* another value */
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"urn:example:pwd\"", reason), RES_AUTH_STRENGTH);
    assert_non_null(strstr(reason, "acr \"urn:example:pwd\" is not one of require_acr (\"" MFA "\""));
    /* none */
    assert_int_equal(strength(acr, NULL, "", reason), RES_AUTH_STRENGTH);
    assert_non_null(strstr(reason, "acr missing"));
    /* not a string, a prefix, a case change, a NUL trick, an array of the right one */
    assert_int_equal(strength(acr, NULL, ",\"acr\":1", reason), RES_AUTH_STRENGTH);
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"urn:example:ph\"", reason), RES_AUTH_STRENGTH);
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"URN:example:phr\"", reason), RES_AUTH_STRENGTH);
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"urn:example:phr\\u0000x\"", reason), RES_AUTH_STRENGTH);
    assert_int_equal(strength(acr, NULL, ",\"acr\":[\"urn:example:phr\"]", reason), RES_AUTH_STRENGTH);
    /* no requirement: anything or nothing passes */
    assert_int_equal(strength(NULL, NULL, ",\"acr\":\"whatever\"", reason), RES_OK);
    assert_int_equal(strength(empty, NULL, "", reason), RES_OK);
    /* a bad token is still invalid_token, never auth_strength */
    {
        struct idtoken_expect e = expect;
        char *t = jwt(HDR, CLAIMS("https://t.example/", "\"cid\"", "bob", ",\"acr\":\"x\""), "c2lnbmF0dXJl");
        e.require_acr = acr;
        assert_int_equal(idtoken_verify(t, NULL, &e, reason, 256), RES_INVALID_TOKEN);
        free(t);
    }
    /* a provider value with control characters is escaped in the reason */
    assert_int_equal(strength(acr, NULL, ",\"acr\":\"a\\u001b[31m\"", reason), RES_AUTH_STRENGTH);
    assert_null(strchr(reason, 0x1b));
}

static void test_require_amr(void **state)
{
    static const char *const amr[] = {"mfa", "hwk", NULL};
    char reason[256] = "";
    (void)state;
    /* at least one of the listed values */
    assert_int_equal(strength(NULL, amr, ",\"amr\":[\"pwd\",\"mfa\"]", reason), RES_OK);
    assert_int_equal(strength(NULL, amr, ",\"amr\":[\"hwk\"]", reason), RES_OK);
    /* other ones only */
    assert_int_equal(strength(NULL, amr, ",\"amr\":[\"pwd\",\"otp\"]", reason), RES_AUTH_STRENGTH);
    assert_non_null(strstr(reason, "amr has none of require_amr (\"mfa\", \"hwk\")"));
    assert_int_equal(strength(NULL, amr, ",\"amr\":[]", reason), RES_AUTH_STRENGTH);
    /* none */
    assert_int_equal(strength(NULL, amr, "", reason), RES_AUTH_STRENGTH);
    assert_non_null(strstr(reason, "amr missing"));
    /* malformed: a plain string, a non-string element, a NUL trick */
    assert_int_equal(strength(NULL, amr, ",\"amr\":\"mfa\"", reason), RES_AUTH_STRENGTH);
    assert_non_null(strstr(reason, "not an array"));
    assert_int_equal(strength(NULL, amr, ",\"amr\":[\"mfa\",1]", reason), RES_AUTH_STRENGTH);
    assert_int_equal(strength(NULL, amr, ",\"amr\":[\"mfa\\u0000\"]", reason), RES_AUTH_STRENGTH);
    assert_int_equal(strength(NULL, amr, ",\"amr\":[\"MFA\"]", reason), RES_AUTH_STRENGTH);
    /* both required: both must hold */
    {
        static const char *const acr[] = {MFA, NULL};
        assert_int_equal(strength(acr, amr, ",\"acr\":\"" MFA "\",\"amr\":[\"mfa\"]", reason), RES_OK);
        assert_int_equal(strength(acr, amr, ",\"acr\":\"" MFA "\",\"amr\":[\"pwd\"]", reason),
                         RES_AUTH_STRENGTH);
        assert_int_equal(strength(acr, amr, ",\"acr\":\"x\",\"amr\":[\"mfa\"]", reason), RES_AUTH_STRENGTH);
    }
}

static void test_base64url(void **state)
{
    size_t n;
    unsigned char *d;
    (void)state;
    d = base64url_decode("_-8", 3, &n);
    assert_non_null(d);
    assert_int_equal(n, 2);
    assert_int_equal(d[0], 0xff);
    assert_int_equal(d[1], 0xef);
    free(d);
    assert_null(base64url_decode("a", 1, &n));
    assert_null(base64url_decode("ab=c", 4, &n));
    assert_null(base64url_decode("a+bc", 4, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_claims),
        cmocka_unit_test(test_email_hint),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_verifier_consulted),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_iat_before_request),
        cmocka_unit_test(test_require_acr),
        cmocka_unit_test(test_require_amr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
