/* Unit tests for pam_ciba/ciba.c: request shapes, answer parsing and the poll state
 * machine, against a scripted transport and a fake clock (a 2-minute wait takes no time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ciba.h"

struct step {
    result transport;  /* RES_OK: deliver the response below */
    long status;
    const char *ctype;
    const char *body;
    long retry_after;
};

struct script {
    struct step steps[40];
    int count, next;
    double now, slept;
    double at[40];        /* clock time of each request */
    char body[40][1024];  /* each request body */
    char auth[40][256];   /* each Authorization header */
    char url[40][128];
};

static double fake_now(void *ctx) { return ((struct script *)ctx)->now; }
static time_t fake_wall(void *ctx) { return 1700000000 + (time_t)((struct script *)ctx)->now; }
static int fake_sleep(void *ctx, double s)
{
    struct script *sc = ctx;
    sc->now += s;
    sc->slept += s;
    return 0;
}

static result fake_post(void *ctx, const char *url, const char *body, const char *authorization,
                        struct http_response *resp, char *err, size_t errlen)
{
    struct script *sc = ctx;
    struct step *st;
    int i = sc->next++;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    if (i >= sc->count)
        fail_msg("unexpected request %d to %s", i, url);
    st = &sc->steps[i];
    sc->at[i] = sc->now;
    snprintf(sc->body[i], sizeof(sc->body[i]), "%s", body);
    snprintf(sc->auth[i], sizeof(sc->auth[i]), "%s", authorization ? authorization : "");
    snprintf(sc->url[i], sizeof(sc->url[i]), "%s", url);
    sc->now += 0.01; /* a loopback round trip */
    if (st->transport != RES_OK) {
        snprintf(err, errlen, "scripted transport failure");
        return st->transport;
    }
    resp->status = st->status;
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", st->ctype ? st->ctype : "application/json");
    resp->body = strdup(st->body ? st->body : "");
    resp->len = strlen(resp->body);
    resp->retry_after = st->retry_after ? st->retry_after : -1;
    return RES_OK;
}

static struct script sc;
static struct transport tr = {fake_post, NULL, &sc};
static struct clock clk = {fake_now, fake_wall, fake_sleep, &sc};

static struct client_credentials creds_post = {CLIENT_AUTH_SECRET_POST, "cid", "s3cr:t", NULL, NULL, NULL};
static struct client_credentials creds_basic = {CLIENT_AUTH_SECRET_BASIC, "cid", "s3cr:t", NULL, NULL, NULL};

static struct ciba_client client(enum client_auth auth)
{
    struct ciba_client c = {&tr, &clk, NULL, "https://t/bc-authorize", "https://t/oauth/token",
                            auth == CLIENT_AUTH_SECRET_BASIC ? &creds_basic : &creds_post};
    return c;
}

static const struct ciba_request request = {"openid", "{\"format\":\"iss_sub\",\"iss\":\"https://t/\",\"sub\":\"alice\"}",
                                            "web01 login alice #K7QF", "urn:api", NULL, NULL, 120, NULL, NULL};

static void add(long status, const char *body)
{
    sc.steps[sc.count++] = (struct step){RES_OK, status, NULL, body, 0};
}

#define ACCEPT(interval) "{\"auth_req_id\":\"req-1\",\"expires_in\":120" interval "}"
#define PENDING "{\"error\":\"authorization_pending\"}"
#define TOKENS "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"expires_in\":60,\"id_token\":\"a.b.c\"}"

static int reset(void **state)
{
    (void)state;
    memset(&sc, 0, sizeof(sc));
    return 0;
}

static result start(struct ciba_pending *p, char *reason)
{
    struct ciba_client c = client(CLIENT_AUTH_SECRET_POST);
    return ciba_start(&c, &request, p, reason, 256);
}

static result run(double max_wait, struct ciba_tokens *t, char *reason)
{
    struct ciba_client c = client(CLIENT_AUTH_SECRET_POST);
    struct ciba_pending p;
    result r = ciba_start(&c, &request, &p, reason, 256);
    if (r != RES_OK)
        return r;
    r = ciba_poll(&c, &p, max_wait, t, reason, 256);
    ciba_pending_clear(&p);
    return r;
}

static void assert_gaps_at_least(double interval_from, int first, int last, double min_gap)
{
    (void)interval_from;
    for (int i = first + 1; i <= last; i++)
        if (sc.at[i] - sc.at[i - 1] < min_gap)
            fail_msg("request %d came %.3fs after the previous one (< %.1f)", i, sc.at[i] - sc.at[i - 1], min_gap);
}

static void test_start_request_shape_post(void **state)
{
    struct ciba_pending p;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":3"));
    assert_int_equal(start(&p, reason), RES_OK);
    assert_string_equal(p.auth_req_id, "req-1");
    assert_int_equal(p.expires_in, 120);
    assert_int_equal(p.interval, 3);
    assert_string_equal(sc.url[0], "https://t/bc-authorize");
    assert_string_equal(sc.body[0],
                        "client_id=cid&client_secret=s3cr%3At&scope=openid&login_hint=%7B%22format%22%3A%22iss_sub%22"
                        "%2C%22iss%22%3A%22https%3A%2F%2Ft%2F%22%2C%22sub%22%3A%22alice%22%7D&binding_message=web01"
                        "%20login%20alice%20%23K7QF&audience=urn%3Aapi&requested_expiry=120");
    assert_string_equal(sc.auth[0], "");
    ciba_pending_clear(&p);
}

static void test_start_basic_auth(void **state)
{
    struct ciba_client c = client(CLIENT_AUTH_SECRET_BASIC);
    struct ciba_pending p;
    char reason[256];
    (void)state;
    add(200, ACCEPT(""));
    assert_int_equal(ciba_start(&c, &request, &p, reason, sizeof(reason)), RES_OK);
    assert_null(strstr(sc.body[0], "client_secret"));
    assert_null(strstr(sc.body[0], "client_id"));
    assert_string_equal(sc.auth[0], "Basic Y2lkOnMzY3IlM0F0");
    assert_int_equal(p.interval, CIBA_DEFAULT_INTERVAL);
    ciba_pending_clear(&p);
}

static void start_fails(long status, const char *ctype, const char *body, result want, const char *why)
{
    struct ciba_pending p;
    char reason[256] = "";
    memset(&sc, 0, sizeof(sc));
    sc.steps[sc.count++] = (struct step){RES_OK, status, ctype, body, 0};
    if (start(&p, reason) != want || !strstr(reason, why))
        fail_msg("HTTP %ld %s: want %d \"%s\", got \"%s\"", status, body, want, why, reason);
    assert_null(p.auth_req_id);
    assert_int_equal(p.bc_status, status); /* failmode = "safe" looks at it */
}

static void test_start_errors(void **state)
{
    struct ciba_pending p;
    char reason[256];
    (void)state;
    start_fails(500, NULL, "oops", RES_UNAVAILABLE, "HTTP 500");
    start_fails(503, NULL, "", RES_UNAVAILABLE, "HTTP 503");
    start_fails(429, NULL, "", RES_PROVIDER_LIMIT, "limits requests for this user: try again later (bc-authorize: HTTP 429)");
    start_fails(429, NULL, "{\"error\":\"too_many_requests\"}", RES_PROVIDER_LIMIT, "HTTP 429 too_many_requests");
    start_fails(400, NULL, "{\"error\":\"too_many_requests\"}", RES_PROVIDER_LIMIT, "try again later");
    start_fails(403, NULL, "{\"error\":\"too_many_attempts\"}", RES_PROVIDER_LIMIT, "too_many_attempts");
    start_fails(400, NULL, "{\"error\":\"slow_down\"}", RES_PROVIDER_LIMIT, "slow_down");
    start_fails(400, NULL, "{\"error\":\"unknown_user_id\"}", RES_REJECTED, "unknown_user_id");
    start_fails(401, NULL, "{\"error\":\"invalid_client\"}", RES_REJECTED, "invalid_client");
    start_fails(400, NULL, "{\"error\":\"bad\\u001b[31m\"}", RES_REJECTED, "bad\\x1b[31m");
    start_fails(302, NULL, "", RES_PROTOCOL, "HTTP 302");
    start_fails(200, "text/html", ACCEPT(""), RES_PROTOCOL, "not a JSON object");
    start_fails(200, NULL, "", RES_PROTOCOL, "not a JSON object");
    start_fails(200, NULL, "{not json", RES_PROTOCOL, "not a JSON object");
    start_fails(200, NULL, "[1,2]", RES_PROTOCOL, "not a JSON object");
    start_fails(200, NULL, ACCEPT("") " trailing", RES_PROTOCOL, "not a JSON object");
    start_fails(200, NULL, "{\"error\":\"access_denied\"}", RES_PROTOCOL, "HTTP 200 carrying error");
    start_fails(200, NULL, "{\"expires_in\":120}", RES_PROTOCOL, "auth_req_id");
    start_fails(200, NULL, "{\"auth_req_id\":\"\",\"expires_in\":120}", RES_PROTOCOL, "auth_req_id");
    start_fails(200, NULL, "{\"auth_req_id\":7,\"expires_in\":120}", RES_PROTOCOL, "auth_req_id");
    start_fails(200, NULL, "{\"auth_req_id\":\"a b\",\"expires_in\":120}", RES_PROTOCOL, "auth_req_id");
    start_fails(200, NULL, "{\"auth_req_id\":\"x\\u0000y\",\"expires_in\":120}", RES_PROTOCOL, "auth_req_id");
    start_fails(200, NULL, "{\"auth_req_id\":\"x\",\"expires_in\":-1}", RES_PROTOCOL, "expires_in");
    start_fails(200, NULL, "{\"auth_req_id\":\"x\",\"expires_in\":\"120\"}", RES_PROTOCOL, "expires_in");
    start_fails(200, NULL, "{\"auth_req_id\":\"x\"}", RES_PROTOCOL, "expires_in");
    start_fails(200, NULL, "{\"auth_req_id\":\"x\",\"expires_in\":120,\"interval\":\"5\"}", RES_PROTOCOL, "interval");
    memset(&sc, 0, sizeof(sc));
    sc.steps[sc.count++] = (struct step){RES_UNAVAILABLE, 0, NULL, NULL, 0};
    assert_int_equal(start(&p, reason), RES_UNAVAILABLE);
    assert_non_null(strstr(reason, "bc-authorize: scripted transport failure"));
    assert_int_equal(p.bc_status, 0); /* no answer at all */
}

static void test_start_absurd_values(void **state)
{
    struct ciba_pending p;
    char reason[256], big[CIBA_MAX_AUTH_REQ_ID + 64];
    (void)state;
    add(200, "{\"auth_req_id\":\"x\",\"expires_in\":120,\"interval\":0}");
    assert_int_equal(start(&p, reason), RES_OK);
    assert_int_equal(p.interval, CIBA_DEFAULT_INTERVAL); /* never "poll flat out" */
    ciba_pending_clear(&p);
    add(200, "{\"auth_req_id\":\"x\",\"expires_in\":99999999999,\"interval\":100000}");
    assert_int_equal(start(&p, reason), RES_OK);
    assert_int_equal(p.expires_in, 86400);
    ciba_pending_clear(&p);
    snprintf(big, sizeof(big), "{\"auth_req_id\":\"%0*d\",\"expires_in\":1}", CIBA_MAX_AUTH_REQ_ID + 1, 0);
    add(200, big);
    assert_int_equal(start(&p, reason), RES_PROTOCOL);
}

static void test_pending_then_tokens(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":5"));
    add(400, PENDING);
    add(400, PENDING);
    add(400, PENDING);
    add(200, TOKENS);
    assert_int_equal(run(110, &t, reason), RES_OK);
    assert_string_equal(t.id_token, "a.b.c");
    assert_string_equal(t.access_token, "at");
    assert_int_equal(sc.next, 5);
    assert_gaps_at_least(5, 1, 4, 5.0);
    assert_true(sc.at[1] - sc.at[0] >= 5.0);
    assert_string_equal(sc.url[1], "https://t/oauth/token");
    assert_string_equal(sc.body[1],
                        "client_id=cid&client_secret=s3cr%3At&grant_type=urn%3Aopenid%3Aparams%3Agrant-type%3Aciba"
                        "&auth_req_id=req-1");
    assert_true(sc.now < 21.0); /* 4 polls at 5 s, no extra waiting */
    ciba_tokens_clear(&t);
}

static void test_slow_down_adds_five(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":2"));
    add(400, "{\"error\":\"slow_down\"}");
    add(400, PENDING);
    add(400, "{\"error\":\"slow_down\"}");
    add(400, PENDING);
    add(200, TOKENS);
    assert_int_equal(run(110, &t, reason), RES_OK);
    assert_true(sc.at[2] - sc.at[1] >= 7.0);
    assert_true(sc.at[3] - sc.at[2] >= 7.0);
    assert_true(sc.at[4] - sc.at[3] >= 12.0);
    assert_true(sc.at[5] - sc.at[4] >= 12.0);
    ciba_tokens_clear(&t);
}

static void test_rate_limited_honours_retry_after(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":1"));
    sc.steps[sc.count++] = (struct step){RES_OK, 429, NULL, "", 30};
    add(200, TOKENS);
    assert_int_equal(run(110, &t, reason), RES_OK);
    assert_true(sc.at[2] - sc.at[1] >= 30.0);
    ciba_tokens_clear(&t);
}

/* A 429 on bc-authorize says how long to wait; the attempt ends with it, nothing retries. */
static void test_start_limited_says_how_long(void **state)
{
    struct ciba_pending p;
    char reason[256] = "";
    (void)state;
    sc.steps[sc.count++] = (struct step){RES_OK, 429, NULL, "{\"error\":\"too_many_requests\"}", 42};
    assert_int_equal(start(&p, reason), RES_PROVIDER_LIMIT);
    assert_int_equal(p.limit_wait, 42);
    assert_non_null(strstr(reason, "the provider limits requests for this user: try again in 42 s"));
    assert_int_equal(sc.next, 1);
    assert_null(p.auth_req_id);
}

/* slow_down carrying a new interval (Auth0): every later poll waits at least that long,
 * and at least the old interval + 5 s. */
static void test_slow_down_with_interval(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":1"));
    add(400, "{\"error\":\"slow_down\",\"interval\":9}");
    add(400, PENDING);
    add(400, PENDING);
    add(400, "{\"error\":\"slow_down\",\"interval\":3}"); /* less than 9 + 5: 14 wins */
    add(400, PENDING);
    add(200, TOKENS);
    assert_int_equal(run(110, &t, reason), RES_OK);
    assert_true(sc.at[2] - sc.at[1] >= 9.0);
    assert_true(sc.at[3] - sc.at[2] >= 9.0);
    assert_true(sc.at[4] - sc.at[3] >= 9.0);
    assert_true(sc.at[5] - sc.at[4] >= 14.0);
    assert_true(sc.at[6] - sc.at[5] >= 14.0);
    ciba_tokens_clear(&t);
}

/* Garbage and huge intervals in a slow_down body. */
static void test_slow_down_interval_parse(void **state)
{
    struct http_response r = {400, NULL, 0, "application/json", -1, -1};
    static const struct {
        const char *body;
        long want;
    } table[] = {
        {"{\"error\":\"slow_down\",\"interval\":10}", 10},
        {"{\"error\":\"slow_down\",\"interval\":0}", -1},
        {"{\"error\":\"slow_down\",\"interval\":-3}", -1},
        {"{\"error\":\"slow_down\",\"interval\":\"10\"}", -1},
        {"{\"error\":\"slow_down\",\"interval\":1.5}", -1},
        {"{\"error\":\"slow_down\",\"interval\":99999999999999}", CIBA_MAX_INTERVAL},
        {"{\"error\":\"slow_down\"}", -1},
        {"not json", -1},
        {"", -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        r.body = (char *)table[i].body;
        r.len = strlen(table[i].body);
        if (ciba_parse_slow_down_interval(&r) != table[i].want)
            fail_msg("%s: got %ld", table[i].body, ciba_parse_slow_down_interval(&r));
    }
}

/* A Retry-After that ends after the login's deadline ends the attempt at once. */
static void test_retry_after_past_deadline_ends(void **state)
{
    struct ciba_tokens t;
    struct ciba_client c = client(CLIENT_AUTH_SECRET_POST);
    struct ciba_pending p;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":1"));
    add(400, PENDING);
    sc.steps[sc.count++] = (struct step){RES_OK, 429, NULL, "", 200};
    assert_int_equal(ciba_start(&c, &request, &p, reason, sizeof(reason)), RES_OK);
    assert_int_equal(ciba_poll(&c, &p, 60, &t, reason, sizeof(reason)), RES_PROVIDER_LIMIT);
    assert_int_equal(p.limit_wait, 200);
    assert_non_null(strstr(reason, "try again in 200 s"));
    assert_int_equal(sc.next, 3);
    assert_true(sc.now < 5.0); /* it did not sit out the deadline */
    assert_null(t.id_token);
    ciba_pending_clear(&p);
}

/* The same for a slow_down whose new interval cannot fit before the request expires. */
static void test_slow_down_interval_past_expiry_ends(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":1")); /* expires_in 120 */
    add(400, "{\"error\":\"slow_down\",\"interval\":600}");
    assert_int_equal(run(300, &t, reason), RES_PROVIDER_LIMIT);
    assert_non_null(strstr(reason, "try again in 600 s"));
    assert_true(sc.now < 5.0);
}

/* A short Retry-After that fits, where only the 5 s step overshoots the deadline: the wait
 * runs out as for any slow_down (timeout), it is not the provider's limit. */
static void test_short_retry_after_step_overshoots(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":1"));
    sc.steps[sc.count++] = (struct step){RES_OK, 429, NULL, "", 2};
    assert_int_equal(run(5, &t, reason), RES_TIMEOUT);
    assert_int_equal(sc.next, 2);
    assert_true(sc.now >= 5.0 && sc.now <= 5.1);
}

/* A per-user limit code from the token endpoint is final; a bare 429 is "poll slower". */
static void test_token_limit_codes(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":1"));
    add(400, PENDING);
    sc.steps[sc.count++] = (struct step){RES_OK, 429, NULL, "{\"error\":\"too_many_requests\"}", 30};
    assert_int_equal(run(110, &t, reason), RES_PROVIDER_LIMIT);
    assert_non_null(strstr(reason, "try again in 30 s (token endpoint: HTTP 429 too_many_requests)"));
    assert_int_equal(sc.next, 3);
    memset(&sc, 0, sizeof(sc));
    add(200, ACCEPT(",\"interval\":1"));
    sc.steps[sc.count++] = (struct step){RES_OK, 429, "text/html", "<html>busy</html>", 0};
    add(200, TOKENS);
    assert_int_equal(run(110, &t, reason), RES_OK);
    assert_true(sc.at[2] - sc.at[1] >= 6.0); /* 1 + 5 */
    ciba_tokens_clear(&t);
}

static void final_answer(const char *body, long status, result want, const char *why)
{
    struct ciba_tokens t;
    char reason[256] = "";
    memset(&sc, 0, sizeof(sc));
    add(200, ACCEPT(",\"interval\":1"));
    add(400, PENDING);
    sc.steps[sc.count++] = (struct step){RES_OK, status, NULL, body, 0};
    if (run(110, &t, reason) != want || !strstr(reason, why))
        fail_msg("%ld %s: want %d \"%s\" got \"%s\"", status, body, want, why, reason);
    assert_null(t.id_token);
    assert_int_equal(sc.next, 3);
}

static void test_final_answers(void **state)
{
    (void)state;
    final_answer("{\"error\":\"access_denied\"}", 400, RES_DENIED, "access_denied");
    final_answer("{\"error\":\"access_denied\"}", 403, RES_DENIED, "access_denied");
    final_answer("{\"error\":\"expired_token\"}", 400, RES_EXPIRED, "expired_token");
    final_answer("{\"error\":\"invalid_grant\"}", 400, RES_REJECTED, "invalid_grant");
    final_answer("{\"error\":\"invalid_client\"}", 401, RES_REJECTED, "invalid_client");
    final_answer("{\"error\":\"something_new\"}", 400, RES_REJECTED, "something_new");
    final_answer("{\"error\":\"authorization_pending\"}", 200, RES_PROTOCOL, "HTTP 200 carrying error");
    final_answer("{\"access_token\":\"at\"}", 200, RES_INVALID_TOKEN, "without a usable id_token");
    final_answer("{\"id_token\":42}", 200, RES_INVALID_TOKEN, "without a usable id_token");
    final_answer("not json", 400, RES_PROTOCOL, "no JSON object");
    final_answer("", 200, RES_PROTOCOL, "no JSON object");
    final_answer("{}", 400, RES_PROTOCOL, "unexpected HTTP 400");
    final_answer(TOKENS, 302, RES_PROTOCOL, "unexpected HTTP 302");
}

static void test_transient_errors_keep_polling(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":2"));
    add(500, "boom");
    sc.steps[sc.count++] = (struct step){RES_UNAVAILABLE, 0, NULL, NULL, 0};
    add(400, PENDING);
    add(200, TOKENS);
    assert_int_equal(run(110, &t, reason), RES_OK);
    assert_gaps_at_least(2, 1, 4, 2.0);
    ciba_tokens_clear(&t);
}

/* Only the network is retried: a local failure (EMFILE, out of memory), a trust
 * failure or the login's deadline ends the wait at once. */
static void test_local_failure_while_polling_is_final(void **state)
{
    static const result finals[] = {RES_INTERNAL, RES_PROTOCOL, RES_TIMEOUT};
    (void)state;
    for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
        struct ciba_tokens t;
        char reason[256] = "";
        memset(&sc, 0, sizeof(sc));
        add(200, ACCEPT(",\"interval\":2"));
        sc.steps[sc.count++] = (struct step){finals[i], 0, NULL, NULL, 0};
        add(200, TOKENS);
        assert_int_equal(run(110, &t, reason), finals[i]);
        assert_int_equal(sc.next, 2);
    }
}

static void test_expires(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, "{\"auth_req_id\":\"x\",\"expires_in\":12,\"interval\":5}");
    add(400, PENDING);
    add(400, PENDING);
    assert_int_equal(run(110, &t, reason), RES_EXPIRED);
    assert_int_equal(sc.next, 3);
    assert_true(sc.now >= 12.0 && sc.now < 13.0);
    assert_non_null(strstr(reason, "expired"));
}

static void test_max_wait(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":5"));
    add(400, PENDING);
    assert_int_equal(run(7, &t, reason), RES_TIMEOUT);
    assert_int_equal(sc.next, 2);
    assert_true(sc.now >= 7.0 && sc.now < 7.1);
    assert_non_null(strstr(reason, "max_wait"));
}

static void test_outage_while_polling_times_out(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, ACCEPT(",\"interval\":5"));
    for (int i = 0; i < 21; i++)
        add(503, "");
    assert_int_equal(run(110, &t, reason), RES_TIMEOUT);
    assert_non_null(strstr(reason, "HTTP 503"));
    assert_true(sc.now <= 110.0);
    assert_gaps_at_least(5, 1, sc.next - 1, 5.0);
}

static void test_huge_interval_waits_out_deadline(void **state)
{
    struct ciba_tokens t;
    char reason[256] = "";
    (void)state;
    add(200, "{\"auth_req_id\":\"x\",\"expires_in\":300,\"interval\":100000}");
    assert_int_equal(run(110, &t, reason), RES_TIMEOUT);
    assert_int_equal(sc.next, 1); /* no poll fits */
    assert_true(sc.now <= 110.1);
}

static void test_parse_token_response_direct(void **state)
{
    struct http_response r = {200, (char *)TOKENS, sizeof(TOKENS) - 1, "application/json; charset=utf-8", -1, -1};
    struct ciba_tokens t;
    result fail;
    char reason[128];
    (void)state;
    assert_int_equal(ciba_parse_token_response(&r, &t, &fail, reason, sizeof(reason)), POLL_TOKENS);
    ciba_tokens_clear(&t);
    snprintf(r.content_type, sizeof(r.content_type), "application/jsonx");
    assert_int_equal(ciba_parse_token_response(&r, &t, &fail, reason, sizeof(reason)), POLL_FINAL);
    assert_int_equal(fail, RES_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_start_request_shape_post, reset),
        cmocka_unit_test_setup(test_start_basic_auth, reset),
        cmocka_unit_test_setup(test_start_errors, reset),
        cmocka_unit_test_setup(test_start_absurd_values, reset),
        cmocka_unit_test_setup(test_pending_then_tokens, reset),
        cmocka_unit_test_setup(test_slow_down_adds_five, reset),
        cmocka_unit_test_setup(test_rate_limited_honours_retry_after, reset),
        cmocka_unit_test_setup(test_start_limited_says_how_long, reset),
        cmocka_unit_test_setup(test_slow_down_with_interval, reset),
        cmocka_unit_test_setup(test_slow_down_interval_parse, reset),
        cmocka_unit_test_setup(test_retry_after_past_deadline_ends, reset),
        cmocka_unit_test_setup(test_slow_down_interval_past_expiry_ends, reset),
        cmocka_unit_test_setup(test_token_limit_codes, reset),
        cmocka_unit_test_setup(test_short_retry_after_step_overshoots, reset),
        cmocka_unit_test_setup(test_final_answers, reset),
        cmocka_unit_test_setup(test_transient_errors_keep_polling, reset),
        cmocka_unit_test_setup(test_expires, reset),
        cmocka_unit_test_setup(test_max_wait, reset),
        cmocka_unit_test_setup(test_outage_while_polling_times_out, reset),
        cmocka_unit_test_setup(test_local_failure_while_polling_is_final, reset),
        cmocka_unit_test_setup(test_huge_interval_waits_out_deadline, reset),
        cmocka_unit_test_setup(test_parse_token_response_direct, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
