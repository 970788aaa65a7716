/* Unit tests for two-person approval: pam_ciba/two_person.c (when it is needed, how the
 * answers decide), ciba_poll_any (several requests, one loop, one deadline) and the whole
 * two-person flow of approval_run against a scripted provider on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "approval.h"
#include "ciba.h"
#include "jws_keys.h"
#include "two_person.h"

/* ---- the decision -------------------------------------------------------------------- */

static void test_verdicts(void **state)
{
    struct two_person_state s;
    (void)state;
    /* User then approver, and approver then user. */
    two_person_start(&s, 1);
    assert_int_equal(two_person_update(&s, true, 0, RES_OK), TP_WAIT);
    assert_int_equal(two_person_update(&s, false, 0, RES_OK), TP_APPROVED);
    assert_int_equal(s.approver, 0);
    two_person_start(&s, 2);
    assert_int_equal(two_person_update(&s, false, 1, RES_OK), TP_WAIT);
    assert_int_equal(two_person_update(&s, true, 0, RES_OK), TP_APPROVED);
    assert_int_equal(s.approver, 1);
    /* The user's own failure ends it, whatever the approvers did. */
    two_person_start(&s, 1);
    assert_int_equal(two_person_update(&s, false, 0, RES_OK), TP_WAIT);
    assert_int_equal(two_person_update(&s, true, 0, RES_DENIED), TP_FAILED);
    /* An approver's denial is a veto, even with others pending. */
    two_person_start(&s, 3);
    assert_int_equal(two_person_update(&s, true, 0, RES_OK), TP_WAIT);
    assert_int_equal(two_person_update(&s, false, 2, RES_DENIED), TP_FAILED);
    /* A token for the wrong subject is never ignored. */
    two_person_start(&s, 2);
    assert_int_equal(two_person_update(&s, false, 0, RES_INVALID_TOKEN), TP_FAILED);
    /* An approver's request that expires drops out; the last one fails the login. */
    two_person_start(&s, 2);
    assert_int_equal(two_person_update(&s, true, 0, RES_OK), TP_WAIT);
    assert_int_equal(two_person_update(&s, false, 0, RES_EXPIRED), TP_WAIT);
    assert_int_equal(two_person_update(&s, false, 1, RES_EXPIRED), TP_FAILED);
    two_person_start(&s, 2);
    assert_int_equal(two_person_update(&s, false, 0, RES_EXPIRED), TP_WAIT);
    assert_int_equal(two_person_update(&s, false, 1, RES_OK), TP_WAIT);
    assert_int_equal(two_person_update(&s, true, 0, RES_OK), TP_APPROVED);
    assert_int_equal(s.approver, 1);
}

static void test_needed(void **state)
{
    struct config c;
    char *groups[] = {"wheel", NULL}, *services[] = {"sudo", NULL}, why[128];
    const char *mine[] = {"users", "wheel"};
    (void)state;
    config_defaults(&c);
    assert_false(two_person_needed(&c, CMD_APPROVE, "sudo", mine, 2, why, sizeof(why)));
    assert_true(two_person_needed(&c, CMD_TWO_PERSON, "sudo", NULL, 0, why, sizeof(why)));
    assert_false(two_person_needed(&c, CMD_NEVER_REUSE, "sudo", NULL, 0, why, sizeof(why)));
    c.two_person_groups = groups;
    assert_true(two_person_needed(&c, CMD_APPROVE, "su", mine, 2, why, sizeof(why)));
    assert_non_null(strstr(why, "wheel"));
    assert_false(two_person_needed(&c, CMD_APPROVE, "su", mine, 1, why, sizeof(why)));
    c.two_person_services = services;
    assert_true(two_person_needed(&c, CMD_APPROVE, "sudo", NULL, 0, why, sizeof(why)));
    assert_false(two_person_needed(&c, CMD_APPROVE, "sshd", NULL, 0, why, sizeof(why)));
    assert_true(two_person_same_subject("Alice@Example.com", "alice@example.com"));
    assert_false(two_person_same_subject("alice", "alice2"));
    assert_false(two_person_same_subject(NULL, "a"));
}

/* ---- a scripted provider with one phone per subject ----------------------------------- */

enum phone { PH_APPROVE, PH_DENY, PH_NONE };

struct subject_script {
    const char *sub;
    enum phone phone;
    int approve_after; /* polls answered authorization_pending first */
    int interval;
    const char *token_sub; /* the sub the ID token carries; NULL: sub */
    /* what happened */
    int bc, polls;
    double last_poll, min_gap, first_poll;
    char binding[128];
};

static struct {
    struct subject_script s[4];
    int n;
    double now;
    int posts;
} p;

static EVP_PKEY *signing_key;
static char *jwks_json;
static char cache_dir[] = "/tmp/pam_ciba_test_two_person.XXXXXX";

static double fake_now(void *ctx) { (void)ctx; return p.now; }
static time_t fake_wall(void *ctx) { (void)ctx; return 1700000000 + (time_t)p.now; }
static int fake_sleep(void *ctx, double s) { (void)ctx; p.now += s; return 0; }
static const struct clock clk = {fake_now, fake_wall, fake_sleep, NULL};

static struct subject_script *by_sub(const char *sub, size_t len)
{
    for (int i = 0; i < p.n; i++)
        if (strlen(p.s[i].sub) == len && strncmp(p.s[i].sub, sub, len) == 0)
            return &p.s[i];
    fail_msg("request for unknown subject %.*s", (int)len, sub);
    return NULL;
}

static const char *field(const char *body, const char *name, size_t *len)
{
    char pat[64];
    const char *v;
    snprintf(pat, sizeof(pat), "%s=", name);
    for (v = body; (v = strstr(v, pat)); v++)
        if (v == body || v[-1] == '&')
            break;
    if (!v)
        return NULL;
    v += strlen(pat);
    *len = strcspn(v, "&");
    return v;
}

static void answer(struct http_response *resp, long status, const char *body)
{
    resp->status = status;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    resp->body = strdup(body);
    resp->len = strlen(resp->body);
}

static result fake_post(void *ctx, const char *url, const char *body, const char *authorization,
                        struct http_response *resp, char *err, size_t errlen)
{
    size_t len;
    const char *v;
    struct subject_script *s;
    char buf[2048];
    (void)ctx, (void)authorization, (void)err, (void)errlen;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    p.posts++;
    if (strcmp(url, "https://t/bc-authorize") == 0) {
        v = field(body, "login_hint", &len);
        assert_non_null(v);
        s = by_sub(v, len);
        s->bc++;
        v = field(body, "binding_message", &len);
        snprintf(s->binding, sizeof(s->binding), "%.*s", (int)len, v ? v : "");
        snprintf(buf, sizeof(buf), "{\"auth_req_id\":\"req-%s\",\"expires_in\":120,\"interval\":%d}", s->sub,
                 s->interval);
        answer(resp, 200, buf);
        return RES_OK;
    }
    assert_string_equal(url, "https://t/oauth/token");
    v = field(body, "auth_req_id", &len);
    assert_non_null(v);
    assert_true(len > 4);
    s = by_sub(v + 4, len - 4);
    if (s->polls == 0)
        s->first_poll = p.now;
    else if (p.now - s->last_poll < s->min_gap || s->min_gap == 0)
        s->min_gap = p.now - s->last_poll;
    s->polls++;
    s->last_poll = p.now;
    if (s->phone == PH_NONE || s->polls <= s->approve_after) {
        answer(resp, 400, "{\"error\":\"authorization_pending\"}");
    } else if (s->phone == PH_DENY) {
        answer(resp, 400, "{\"error\":\"access_denied\"}");
    } else {
        char payload[512], *tok;
        long wall = 1700000000 + (long)p.now;
        snprintf(payload, sizeof(payload),
                 "{\"iss\":\"https://t/\",\"sub\":\"%s\",\"aud\":\"cid\",\"iat\":%ld,\"exp\":%ld}",
                 s->token_sub ? s->token_sub : s->sub, wall, wall + 300);
        tok = tk_sign(signing_key, "RS256", NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", payload);
        snprintf(buf, sizeof(buf), "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"%s\"}", tok);
        free(tok);
        answer(resp, 200, buf);
    }
    p.now += 0.01;
    return RES_OK;
}

static result fake_get(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    resp->max_age = -1;
    assert_string_equal(url, "https://t/jwks");
    answer(resp, 200, jwks_json);
    return RES_OK;
}
static const struct transport tr = {fake_post, fake_get, NULL};

static struct subject_script *phone(const char *sub, enum phone ph, int after, int interval)
{
    struct subject_script *s = &p.s[p.n++];
    memset(s, 0, sizeof(*s));
    *s = (struct subject_script){.sub = sub, .phone = ph, .approve_after = after, .interval = interval};
    return s;
}

static char infos[512];
static int ui_info(void *ctx, const char *msg)
{
    (void)ctx;
    strncat(infos, msg, sizeof(infos) - strlen(infos) - 2);
    strcat(infos, "|");
    return UI_OK;
}

static char *algs[] = {"RS256", NULL};

static result run2(const struct approver *a, size_t n, struct approval_report *rep)
{
    struct config c;
    struct approval_user u = {.user = "alice", .service = "sudo", .tty = "pts/1", .command = "apt upgrade", .target = "root", .command_full = "apt upgrade", .approvers = a, .n_approvers = n};
    struct approval_ui ui = {ui_info, NULL, NULL, NULL, NULL};
    struct approval_env env = {&tr, &clk, NULL, getuid(), false};

    config_defaults(&c);
    c.issuer = "https://t/";
    c.bc_endpoint = "https://t/bc-authorize";
    c.token_endpoint = "https://t/oauth/token";
    c.jwks_uri = "https://t/jwks";
    c.discovery = 0;
    c.cache_dir = cache_dir;
    c.client_id = "cid";
    c.client_secret = "s3cret";
    c.scope = "openid";
    c.subject = "%u";
    c.login_hint_format = HINT_PLAIN;
    c.binding_message = "%h %u: %C #%c";
    c.approver_binding_message = APPROVER_BINDING_MESSAGE_DEFAULT;
    c.prompt = PROMPT_NONE;
    c.max_wait = 60;
    c.clock_skew = 10;
    c.id_token_algs = algs;
    return approval_run(&c, &u, &ui, &env, rep);
}

static const struct approver bob = {"bob", "bob", "%u"};
static const struct approver carol = {"carol", "carol", "%u"};

static int reset(void **state)
{
    (void)state;
    memset(&p, 0, sizeof(p));
    infos[0] = '\0';
    return 0;
}

static void test_both_approve(void **state)
{
    struct approval_report rep;
    struct subject_script *a = phone("alice", PH_APPROVE, 2, 1), *b = phone("bob", PH_APPROVE, 1, 2);
    (void)state;
    if (run2(&bob, 1, &rep) != RES_OK)
        fail_msg("%s", rep.reason);
    assert_string_equal(rep.approver, "bob");
    assert_int_equal(rep.requests_sent, 2);
    assert_int_equal(a->bc, 1);
    assert_int_equal(b->bc, 1);
    assert_int_equal(a->polls, 3);
    assert_int_equal(b->polls, 2);
    /* Each request at its own interval, never faster. */
    assert_true(a->min_gap >= 1.0);
    assert_true(b->min_gap >= 2.0);
    /* The approver is told who asks, where and for what; the user that someone else must agree. */
    assert_non_null(strstr(b->binding, "alice"));
    assert_non_null(strstr(b->binding, "apt"));
    assert_null(strstr(a->binding, "on"));
    assert_non_null(strstr(infos, "approver"));
}

static void test_approver_first_then_user(void **state)
{
    struct approval_report rep;
    struct subject_script *a = phone("alice", PH_APPROVE, 4, 1);
    (void)state;
    phone("bob", PH_APPROVE, 0, 1);
    assert_int_equal(run2(&bob, 1, &rep), RES_OK);
    assert_int_equal(a->polls, 5);
    assert_int_equal(p.s[1].polls, 1); /* decided: no more polls for the approver */
}

/* The first verified approver decides; the other approvers' requests are dropped. */
static void test_first_approver_wins_and_others_are_dropped(void **state)
{
    struct approval_report rep;
    const struct approver two[] = {bob, carol};
    struct subject_script *b = phone("bob", PH_NONE, 0, 1), *c;
    (void)state;
    phone("alice", PH_APPROVE, 5, 1);
    c = phone("carol", PH_APPROVE, 1, 1);
    assert_int_equal(run2(two, 2, &rep), RES_OK);
    assert_string_equal(rep.approver, "carol");
    assert_int_equal(rep.requests_sent, 3);
    assert_int_equal(c->polls, 2);
    /* bob was polled only while carol had not answered. */
    assert_true(b->polls <= 2);
    assert_true(b->last_poll <= c->last_poll);
}

static void test_approver_denies(void **state)
{
    struct approval_report rep;
    (void)state;
    phone("alice", PH_APPROVE, 0, 1);
    phone("bob", PH_DENY, 1, 1);
    assert_int_equal(run2(&bob, 1, &rep), RES_DENIED);
    assert_string_equal(rep.approver, "");
    assert_non_null(strstr(rep.reason, "bob"));
    /* One "no" is a veto even while another approver could still say yes. */
    reset(NULL);
    phone("alice", PH_APPROVE, 0, 1);
    phone("bob", PH_DENY, 0, 1);
    phone("carol", PH_NONE, 0, 1);
    {
        const struct approver two[] = {bob, carol};
        assert_int_equal(run2(two, 2, &rep), RES_DENIED);
    }
}

static void test_user_denies(void **state)
{
    struct approval_report rep;
    (void)state;
    phone("alice", PH_DENY, 1, 1);
    phone("bob", PH_APPROVE, 0, 1);
    assert_int_equal(run2(&bob, 1, &rep), RES_DENIED);
    assert_string_equal(rep.approver, "");
}

static void test_no_approver_answers(void **state)
{
    struct approval_report rep;
    (void)state;
    phone("alice", PH_APPROVE, 0, 1);
    phone("bob", PH_NONE, 0, 5);
    assert_int_equal(run2(&bob, 1, &rep), RES_TIMEOUT);
    assert_non_null(strstr(rep.reason, "no approver approved"));
    assert_true(p.now >= 60 && p.now < 61);
}

/* Never one's own approver: by user name, by the same subject (any case), after mapping. */
static void test_requester_is_never_the_approver(void **state)
{
    struct approval_report rep;
    const struct approver self = {"alice", "alice", "%u"};
    const struct approver lit = {"sub:ALICE", NULL, "ALICE"};
    const struct approver alias = {"al", "al", "alice"}; /* another name mapped to alice's subject */
    const struct approver both[] = {self, bob};
    (void)state;
    phone("alice", PH_APPROVE, 0, 1);
    assert_int_equal(run2(&self, 1, &rep), RES_NO_APPROVER);
    assert_int_equal(p.posts, 0); /* nobody was asked */
    assert_int_equal(run2(&lit, 1, &rep), RES_NO_APPROVER);
    assert_int_equal(run2(&alias, 1, &rep), RES_NO_APPROVER);
    assert_int_equal(p.posts, 0);
    /* With another approver, only that one is asked. */
    phone("bob", PH_APPROVE, 0, 1);
    assert_int_equal(run2(both, 2, &rep), RES_OK);
    assert_int_equal(rep.requests_sent, 2);
    assert_string_equal(rep.approver, "bob");
    assert_int_equal(p.s[0].bc, 1);
}

/* Each approver's ID token must name that approver: the requester's sub is refused. */
static void test_approver_token_for_requester_refused(void **state)
{
    struct approval_report rep;
    struct subject_script *b;
    (void)state;
    phone("alice", PH_APPROVE, 0, 1);
    b = phone("bob", PH_APPROVE, 0, 1);
    b->token_sub = "alice";
    assert_int_equal(run2(&bob, 1, &rep), RES_INVALID_TOKEN);
    assert_string_equal(rep.approver, "");
    assert_non_null(strstr(rep.reason, "approver bob: id_token: sub \"alice\" is not the expected subject"));
    /* And the user's token naming the approver is refused just the same. */
    reset(NULL);
    b = phone("alice", PH_APPROVE, 0, 1);
    b->token_sub = "bob";
    phone("bob", PH_APPROVE, 0, 1);
    assert_int_equal(run2(&bob, 1, &rep), RES_INVALID_TOKEN);
    assert_non_null(strstr(rep.reason, "sub \"bob\" is not the expected subject"));
}

/* A token that arrives after a wait longer than clock_skew is checked against the time it
 * arrived, not the time polling began (iat would look like the future). */
static void test_long_wait_token_time(void **state)
{
    struct approval_report rep;
    (void)state;
    phone("alice", PH_APPROVE, 50, 1);
    assert_int_equal(run2(NULL, 0, &rep), RES_OK); /* one person: the plain path */
    assert_true(p.now > 50);
    reset(NULL);
    phone("alice", PH_APPROVE, 50, 1);
    phone("bob", PH_APPROVE, 45, 1);
    assert_int_equal(run2(&bob, 1, &rep), RES_OK);
}

/* ---- ciba_poll_any on its own ---------------------------------------------------------- */

static void test_poll_any_picks_earliest_and_deadline(void **state)
{
    struct client_credentials creds = {CLIENT_AUTH_SECRET_POST, "cid", "s", NULL, NULL, NULL};
    struct ciba_client c = {&tr, &clk, NULL, "https://t/bc-authorize", "https://t/oauth/token", &creds};
    struct ciba_pending pend[2] = {{0}, {0}};
    struct ciba_tokens t;
    bool active[2] = {true, true};
    char why[256];
    int which;
    (void)state;
    phone("alice", PH_NONE, 0, 3);
    phone("bob", PH_APPROVE, 2, 2);
    pend[0] = (struct ciba_pending){.auth_req_id = strdup("req-alice"), .expires_in = 120, .interval = 3, .bc_status = 200, .limit_wait = -1};
    pend[1] = (struct ciba_pending){.auth_req_id = strdup("req-bob"), .expires_in = 120, .interval = 2, .bc_status = 200, .limit_wait = -1};
    assert_int_equal(ciba_poll_any(&c, pend, active, 2, 100, &which, &t, why, sizeof(why)), RES_OK);
    assert_int_equal(which, 1);
    ciba_tokens_clear(&t);
    assert_int_equal(p.s[1].polls, 3);
    active[1] = false;
    assert_int_equal(ciba_poll_any(&c, pend, active, 2, 20, &which, &t, why, sizeof(why)), RES_TIMEOUT);
    assert_int_equal(which, 0);
    assert_true(p.now >= 20 && p.now < 20.5);
    /* Nothing active: an error, never a wait. */
    active[0] = false;
    assert_int_equal(ciba_poll_any(&c, pend, active, 2, 40, &which, &t, why, sizeof(why)), RES_INTERNAL);
    assert_int_equal(which, -1);
    ciba_pending_clear(&pend[0]);
    ciba_pending_clear(&pend[1]);
}

static int group_setup(void **state)
{
    char *jwk;
    (void)state;
    signing_key = tk_generate("RSA");
    jwk = tk_jwk(signing_key, "k1", "RS256", "sig");
    assert_non_null(mkdtemp(cache_dir));
    jwks_json = malloc(strlen(jwk) + 16);
    sprintf(jwks_json, "{\"keys\":[%s]}", jwk);
    free(jwk);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    free(jwks_json);
    EVP_PKEY_free(signing_key);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cache_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_needed),
        cmocka_unit_test_setup(test_both_approve, reset),
        cmocka_unit_test_setup(test_approver_first_then_user, reset),
        cmocka_unit_test_setup(test_first_approver_wins_and_others_are_dropped, reset),
        cmocka_unit_test_setup(test_approver_denies, reset),
        cmocka_unit_test_setup(test_user_denies, reset),
        cmocka_unit_test_setup(test_no_approver_answers, reset),
        cmocka_unit_test_setup(test_requester_is_never_the_approver, reset),
        cmocka_unit_test_setup(test_approver_token_for_requester_refused, reset),
        cmocka_unit_test_setup(test_poll_any_picks_earliest_and_deadline, reset),
        cmocka_unit_test_setup(test_long_wait_token_time, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
