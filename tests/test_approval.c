/* Unit tests for pam_ciba/approval.c: how the user is told (info or prompt, per service and
 * prompt mode) and that %C reaches the binding message, against a scripted provider. */
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
#include "jws_keys.h"

/* The provider accepts the request, then the phone says no: the flow ends without tokens. */
static const char *const answers[] = {
    "{\"auth_req_id\":\"req-1\",\"expires_in\":120,\"interval\":1}",
    "{\"error\":\"authorization_pending\"}",
    "{\"error\":\"access_denied\"}",
};

struct world {
    int requests;
    double now;
    char first_body[2048];
    /* What the user saw, in order: 'i' info, 'p' prompt. */
    char seen[8];
    char last_msg[256];
    int prompt_result;
    double prompt_at, first_poll_at;
};

static struct world w;

static double fake_now(void *ctx) { (void)ctx; return w.now; }
static time_t fake_wall(void *ctx) { (void)ctx; return 1700000000 + (time_t)w.now; }
static int fake_sleep(void *ctx, double s) { (void)ctx; w.now += s; return 0; }
static const struct clock clk = {fake_now, fake_wall, fake_sleep, NULL};

static result fake_post(void *ctx, const char *url, const char *body, const char *authorization,
                        struct http_response *resp, char *err, size_t errlen)
{
    int i = w.requests++;
    (void)ctx, (void)url, (void)authorization, (void)err, (void)errlen;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    if (i >= 3)
        fail_msg("unexpected request %d", i);
    if (i == 0)
        snprintf(w.first_body, sizeof(w.first_body), "%s", body);
    if (i == 1)
        w.first_poll_at = w.now;
    resp->status = i == 0 ? 200 : 400;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    resp->body = strdup(answers[i]);
    resp->len = strlen(resp->body);
    return RES_OK;
}
/* The only GET is the JWKS: one fresh RSA key (the flows here end before a token). */
static char *jwks_json;
static result fake_get(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    resp->max_age = -1;
    assert_string_equal(url, "https://t/jwks");
    resp->status = 200;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    resp->body = strdup(jwks_json);
    resp->len = strlen(resp->body);
    return RES_OK;
}
static const struct transport tr = {fake_post, fake_get, NULL};
static char cache_dir[] = "/tmp/pam_ciba_test_approval.XXXXXX";

static int ui_info(void *ctx, const char *msg)
{
    (void)ctx;
    strcat(w.seen, "i");
    snprintf(w.last_msg, sizeof(w.last_msg), "%s", msg);
    return UI_OK;
}

static int ui_prompt(void *ctx, const char *msg)
{
    (void)ctx;
    strcat(w.seen, "p");
    snprintf(w.last_msg, sizeof(w.last_msg), "%s", msg);
    w.prompt_at = w.now;
    w.now += 3; /* the user reads, approves on the phone, presses Enter */
    return w.prompt_result;
}

static struct config config(int prompt, const char *binding)
{
    struct config c;
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
    c.binding_message = (char *)binding;
    c.prompt = prompt;
    return c;
}

static result run(int prompt, const char *service, const char *command, struct approval_report *rep)
{
    struct config c = config(prompt, "web01 %s %u: %C #%c");
    struct approval_user u = {.user = "alice", .service = service, .tty = "pts/1", .command = command};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL, NULL};
    struct approval_env env = {&tr, &clk, NULL, getuid(), false};
    return approval_run(&c, &u, &ui, &env, rep);
}

static int reset(void **state)
{
    (void)state;
    memset(&w, 0, sizeof(w));
    return 0;
}

static void test_auto_prompts_for_sshd(void **state)
{
    struct approval_report rep;
    (void)state;
    assert_int_equal(run(PROMPT_AUTO, "sshd", NULL, &rep), RES_DENIED);
    assert_string_equal(w.seen, "p");
    assert_non_null(strstr(w.last_msg, "Approve the request \"web01 sshd alice:"));
    assert_non_null(strstr(w.last_msg, "\" on your phone (expires in 110 s), then press Enter:"));
    assert_non_null(strstr(w.last_msg, rep.binding_message));
    /* Pending after Enter: polling went on until the phone's answer. */
    assert_int_equal(w.requests, 3);
    assert_true(w.first_poll_at >= w.prompt_at + 3);
}

static void test_auto_informs_elsewhere(void **state)
{
    struct approval_report rep;
    (void)state;
    assert_int_equal(run(PROMPT_AUTO, "sudo", "apt upgrade", &rep), RES_DENIED);
    assert_string_equal(w.seen, "i");
    assert_non_null(strstr(w.last_msg, "Approve the request \"web01 sudo alice: apt upgrade #"));
    reset(NULL);
    assert_int_equal(run(PROMPT_AUTO, NULL, NULL, &rep), RES_DENIED);
    assert_string_equal(w.seen, "i");
}

static void test_enter_and_none(void **state)
{
    struct approval_report rep;
    (void)state;
    assert_int_equal(run(PROMPT_ENTER, "sudo", NULL, &rep), RES_DENIED);
    assert_string_equal(w.seen, "p");
    reset(NULL);
    assert_int_equal(run(PROMPT_NONE, "sshd", NULL, &rep), RES_DENIED);
    assert_string_equal(w.seen, "i");
    assert_true(approval_uses_prompt(PROMPT_AUTO, "sshd", "ssh"));
    assert_true(approval_uses_prompt(PROMPT_AUTO, "sshd", NULL));
    /* an sshd under another PAM service name is still sshd: PAM_TTY is "ssh" (issue 13) */
    assert_true(approval_uses_prompt(PROMPT_AUTO, "sshd-kbdint", "ssh"));
    assert_false(approval_uses_prompt(PROMPT_AUTO, "sshd-kbdint", "/dev/pts/1"));
    assert_false(approval_uses_prompt(PROMPT_AUTO, "login", "tty1"));
    assert_false(approval_uses_prompt(PROMPT_NONE, "sshd", "ssh"));
    assert_true(approval_uses_prompt(PROMPT_ENTER, "login", "tty1"));
}

/* %k in the binding message: the key sshd accepted, and a message that still reads well
 * (one space, no gap) when no key was used. */
static void test_ssh_key_in_binding_message(void **state)
{
    struct config c = config(PROMPT_AUTO, "web01 login %u %k #%c");
    struct approval_user u = {.user = "alice", .service = "sshd", .rhost = "192.0.2.7", .tty = "ssh",
                              .key_short = "SHA256:ysBf1IM1",
                              .key_full = "SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ", .key_type = "ED25519"};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL, NULL};
    struct approval_env env = {&tr, &clk, NULL, getuid(), false};
    struct approval_report rep;
    (void)state;
    assert_int_equal(approval_run(&c, &u, &ui, &env, &rep), RES_DENIED);
    assert_int_equal(strncmp(rep.binding_message, "web01 login alice SHA256:ysBf1IM1 #", 35), 0);
    assert_int_equal(strlen(rep.binding_message), 39);
    reset(NULL);
    u.key_short = u.key_full = u.key_type = "";
    assert_int_equal(approval_run(&c, &u, &ui, &env, &rep), RES_DENIED);
    assert_int_equal(strncmp(rep.binding_message, "web01 login alice #", 19), 0);
    assert_int_equal(strlen(rep.binding_message), 23);
    reset(NULL);
    u.key_short = u.key_full = u.key_type = NULL;
    assert_int_equal(approval_run(&c, &u, &ui, &env, &rep), RES_DENIED);
    assert_int_equal(strlen(rep.binding_message), 23);
}

static void test_failed_prompt_fails_closed(void **state)
{
    struct approval_report rep;
    (void)state;
    /* sshd's PasswordAuthentication conversation cannot answer a prompt. */
    w.prompt_result = UI_FAILED;
    assert_int_equal(run(PROMPT_AUTO, "sshd", NULL, &rep), RES_CONV);
    assert_int_equal(w.requests, 1); /* no polling after a broken conversation */
}

static void test_command_in_binding_message(void **state)
{
    struct approval_report rep;
    (void)state;
    assert_int_equal(run(PROMPT_NONE, "sudo", "systemctl restart nginx.service --no-block", &rep),
                     RES_DENIED);
    assert_true(strlen(rep.binding_message) <= BINDING_MESSAGE_MAX);
    assert_non_null(strstr(rep.binding_message, "web01 sudo alice: systemctl restart nginx.service"));
    assert_non_null(strstr(w.first_body, "binding_message=web01"));
    reset(NULL);
    /* A long command is shortened; the code at the end survives. */
    assert_int_equal(run(PROMPT_NONE, "sudo",
                         "/usr/local/bin/an-extremely-long-program-name --with --many --arguments "
                         "--that --never --end",
                         &rep),
                     RES_DENIED);
    assert_true(strlen(rep.binding_message) <= BINDING_MESSAGE_MAX);
    assert_non_null(strstr(rep.binding_message, "web01 sudo alice: _usr_local_bin_an-"));
    assert_int_equal(rep.binding_message[strlen(rep.binding_message) - 5], '#');
}

/* ---- confirm = "type" (issue 12): a provider whose token answers follow a script, and a
 * user who types an answer after a while. */

static EVP_PKEY *signing_key;

struct typed {
    const char *polls[8]; /* token answers in order: "TOKEN", or an error code */
    int n_polls;
    char answer[128];     /* what the user types; "@CODE" types the code from the request */
    int answer_status;
    double typing;        /* seconds the user takes */
    char prompt[512];
    char code[8];
    double prompt_done, poll_at[8];
    char log[2048];
};
static struct typed ty;

static void code_from_body(const char *body)
{
    /* binding_message=web01+login+alice+%23K7QF: the code follows "%23" (#). */
    const char *p = strstr(body, "%23");
    assert_non_null(p);
    snprintf(ty.code, sizeof(ty.code), "%.4s", p + 3);
}

static char *signed_id_token(void)
{
    char payload[256];
    time_t now = fake_wall(NULL);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"https://t/\",\"aud\":\"cid\",\"sub\":\"alice\",\"iat\":%lld,\"exp\":%lld}",
             (long long)now, (long long)now + 300);
    return tk_sign(signing_key, "RS256", NULL, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", payload);
}

static result typed_post(void *ctx, const char *url, const char *body, const char *authorization,
                         struct http_response *resp, char *err, size_t errlen)
{
    int i = w.requests++;
    (void)ctx, (void)authorization, (void)err, (void)errlen;
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    snprintf(resp->content_type, sizeof(resp->content_type), "application/json");
    if (i == 0) {
        assert_string_equal(url, "https://t/bc-authorize");
        code_from_body(body);
        resp->status = 200;
        resp->body = strdup("{\"auth_req_id\":\"req-1\",\"expires_in\":120,\"interval\":2}");
    } else {
        const char *a;
        assert_string_equal(url, "https://t/oauth/token");
        if (i - 1 >= ty.n_polls)
            fail_msg("unexpected token request %d", i);
        ty.poll_at[i - 1] = w.now;
        a = ty.polls[i - 1];
        if (strcmp(a, "TOKEN") == 0) {
            char *tok = signed_id_token();
            resp->status = 200;
            resp->body = malloc(strlen(tok) + 64);
            sprintf(resp->body, "{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"%s\"}", tok);
            free(tok);
        } else {
            resp->status = 400;
            resp->body = malloc(strlen(a) + 16);
            sprintf(resp->body, "{\"error\":\"%s\"}", a);
        }
    }
    resp->len = strlen(resp->body);
    return RES_OK;
}
static const struct transport typed_tr = {typed_post, fake_get, NULL};

static int ui_answer(void *ctx, const char *msg, char **answer)
{
    (void)ctx;
    strcat(w.seen, "a");
    snprintf(ty.prompt, sizeof(ty.prompt), "%s", msg);
    w.now += ty.typing;
    ty.prompt_done = w.now;
    *answer = NULL;
    if (ty.answer_status != UI_OK)
        return ty.answer_status;
    if (strncmp(ty.answer, "@CODE", 5) == 0) {
        char buf[160];
        snprintf(buf, sizeof(buf), "%.7s%.120s", ty.code, ty.answer + 5);
        *answer = strdup(buf);
    } else {
        *answer = strdup(ty.answer);
    }
    return UI_OK;
}

static void capture_log(void *ctx, int prio, const char *msg)
{
    (void)ctx, (void)prio;
    strncat(ty.log, msg, sizeof(ty.log) - strlen(ty.log) - 2);
    strcat(ty.log, "\n");
}

static result run_typed(const char *service, const char *answer, double typing, struct approval_report *rep)
{
    struct config c = config(PROMPT_AUTO, "%h login %u #%c");
    struct approval_user u = {.user = "alice", .service = service, .tty = "pts/1"};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL, ui_answer};
    struct logger log = {capture_log, NULL, true};
    struct approval_env env = {&typed_tr, &clk, &log, getuid(), false};
    static char *algs[] = {"RS256", NULL};
    c.confirm = CONFIRM_TYPE;
    c.max_wait = 60;
    c.id_token_algs = algs;
    snprintf(ty.answer, sizeof(ty.answer), "%s", answer);
    ty.typing = typing;
    return approval_run(&c, &u, &ui, &env, rep);
}

static int reset_typed(void **state)
{
    reset(state);
    memset(&ty, 0, sizeof(ty));
    ty.answer_status = UI_OK;
    return 0;
}

/* Right code, approval already in: one token request, at once after the answer. */
static void test_typed_right_code_approved(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "TOKEN";
    ty.n_polls = 1;
    result r = run_typed("sshd", "@CODE", 9, &rep);
    if (r != RES_OK)
        fail_msg("%s", rep.reason);
    /* One prompt, nothing else: no info message, no "press Enter". */
    assert_string_equal(w.seen, "a");
    assert_int_equal(w.requests, 2);
    assert_true(ty.poll_at[0] == ty.prompt_done);
    /* The terminal shows the binding message with the code masked, never the code. */
    assert_null(strstr(ty.prompt, ty.code));
    assert_non_null(strstr(ty.prompt, "login alice #****\" on your phone (expires in "));
    assert_non_null(strstr(ty.prompt, "s), then type the code it shows: "));
    assert_non_null(strstr(rep.binding_message, ty.code));
    /* Neither does the debug log. */
    assert_null(strstr(ty.log, ty.code));
    assert_non_null(strstr(ty.log, "#****"));
}

/* The code the way people type it; and the same for sudo (a prompt there too). */
static void test_typed_code_loosely(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "TOKEN";
    ty.n_polls = 1;
    assert_int_equal(run_typed("sudo", "@CODE  ", 3, &rep), RES_OK);
    assert_string_equal(w.seen, "a");
}

/* The attacker's case: the phone approved, the person at the terminal does not know the
 * code. No token is even asked for. */
static void test_typed_wrong_code_fails(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "TOKEN";
    ty.n_polls = 1;
    assert_int_equal(run_typed("sshd", "ABCD", 5, &rep), RES_WRONG_CODE);
    assert_int_equal(w.requests, 1);
    assert_string_equal(rep.reason, "the typed code is wrong");
    assert_null(strstr(ty.log, "ABCD"));
    /* The right code with one character changed. */
    reset_typed(NULL);
    ty.polls[0] = "TOKEN";
    ty.n_polls = 1;
    assert_int_equal(run_typed("sshd", "@CODEX", 5, &rep), RES_WRONG_CODE);
    assert_int_equal(w.requests, 1);
}

/* Enter without a code (the old habit): approval alone is not enough. */
static void test_typed_no_code_fails(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "TOKEN";
    ty.n_polls = 1;
    assert_int_equal(run_typed("sshd", "", 5, &rep), RES_WRONG_CODE);
    assert_string_equal(rep.reason, "no code was typed");
    assert_int_equal(w.requests, 1);
}

/* Code typed before the phone answers: polling goes on at the interval until the denial. */
static void test_typed_code_then_denial(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "authorization_pending";
    ty.polls[1] = "authorization_pending";
    ty.polls[2] = "access_denied";
    ty.n_polls = 3;
    assert_int_equal(run_typed("sshd", "@CODE", 0.5, &rep), RES_DENIED);
    assert_int_equal(w.requests, 4);
    /* The interval (2 s) counts from the accepted request, not from the answer. */
    assert_true(ty.poll_at[0] >= 2.0 && ty.poll_at[1] - ty.poll_at[0] >= 2.0);
}

/* Code typed first, approval later: success after the approval. */
static void test_typed_code_then_approval(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "authorization_pending";
    ty.polls[1] = "TOKEN";
    ty.n_polls = 2;
    assert_int_equal(run_typed("sshd", "@CODE", 1, &rep), RES_OK);
    assert_int_equal(w.requests, 3);
}

/* The right code after max_wait: no request follows, the login fails. */
static void test_typed_after_deadline(void **state)
{
    struct approval_report rep;
    (void)state;
    ty.polls[0] = "TOKEN";
    ty.n_polls = 1;
    assert_int_equal(run_typed("sshd", "@CODE", 61, &rep), RES_TIMEOUT);
    assert_int_equal(w.requests, 1);
    /* The code in time, nobody approves: the wait ends at max_wait. */
    reset_typed(NULL);
    for (int i = 0; i < 8; i++)
        ty.polls[i] = "authorization_pending";
    ty.n_polls = 8;
    w.now = 0;
    assert_int_equal(run_typed("sshd", "@CODE", 50, &rep), RES_TIMEOUT);
    assert_true(w.now <= 60.0 + 1e-9);
}

/* No conversation, or a broken one: fail closed, and without a conversation the phone is
 * never asked. */
static void test_typed_needs_a_conversation(void **state)
{
    struct approval_report rep;
    struct config c = config(PROMPT_AUTO, "%h login %u #%c");
    struct approval_user u = {.user = "alice", .service = "sshd", .tty = "pts/1"};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL, NULL};
    struct approval_env env = {&typed_tr, &clk, NULL, getuid(), false};
    (void)state;
    c.confirm = CONFIRM_TYPE;
    assert_int_equal(approval_run(&c, &u, &ui, &env, &rep), RES_CONV);
    assert_int_equal(approval_run(&c, &u, NULL, &env, &rep), RES_CONV);
    assert_int_equal(w.requests, 0);
    ty.answer_status = UI_FAILED;
    assert_int_equal(run_typed("sshd", "@CODE", 1, &rep), RES_CONV);
    assert_int_equal(w.requests, 1);
}

/* A binding message whose literal text pushes the code past 64 characters. */
static void test_typed_code_cut_off(void **state)
{
    struct approval_report rep;
    struct config c = config(PROMPT_AUTO, "Please check this login request very carefully before approving #%c");
    struct approval_user u = {.user = "alice", .service = "sshd", .tty = "pts/1"};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL, ui_answer};
    struct approval_env env = {&typed_tr, &clk, NULL, getuid(), false};
    (void)state;
    c.confirm = CONFIRM_TYPE;
    assert_int_equal(approval_run(&c, &u, &ui, &env, &rep), RES_CONFIG);
    assert_int_equal(w.requests, 0);
}

static int group_setup(void **state)
{
    EVP_PKEY *pk = tk_generate("RSA");
    char *jwk = tk_jwk(pk, "k1", "RS256", "sig");
    (void)state;
    assert_non_null(mkdtemp(cache_dir));
    jwks_json = malloc(strlen(jwk) + 16);
    sprintf(jwks_json, "{\"keys\":[%s]}", jwk);
    free(jwk);
    signing_key = pk;
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

/* A transport that fails every request the same way, as the HTTPS one classifies. */
static result failing;
static result fail_post(void *ctx, const char *url, const char *body, const char *authorization,
                        struct http_response *resp, char *err, size_t errlen)
{
    (void)ctx, (void)url, (void)body, (void)authorization;
    memset(resp, 0, sizeof(*resp));
    w.requests++;
    snprintf(err, errlen, "scripted failure");
    return failing;
}
static result fail_get(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen)
{
    return fail_post(ctx, url, NULL, NULL, resp, err, errlen);
}

/* failmode = "safe" may soften only RES_UNAVAILABLE from the transport (the network):
 * a local failure (EMFILE, memory) or a trust failure is never "unreachable". */
static void test_only_the_network_is_unreachable(void **state)
{
    static const struct transport ftr = {fail_post, fail_get, NULL};
    static const struct {
        result transport;
        bool unreachable;
    } rows[] = {{RES_UNAVAILABLE, true}, {RES_INTERNAL, false}, {RES_PROTOCOL, false}, {RES_TIMEOUT, false}};
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct config c = config(PROMPT_NONE, "%u #%c");
        struct approval_user u = {.user = "alice", .service = "su", .tty = "pts/1"};
        struct approval_env env = {&ftr, &clk, NULL, getuid(), false};
        struct approval_report rep;
        failing = rows[i].transport;
        assert_int_equal(approval_run(&c, &u, NULL, &env, &rep), rows[i].transport);
        assert_int_equal(rep.unreachable, rows[i].unreachable);
    }
}

/* The request carries the message fitted to the configured provider's limits (issue 13
 * item 5), and the terminal shows that same message. */
static void test_binding_message_fitted_to_profile(void **state)
{
    struct config c = config(PROMPT_NONE, "%u #%c");
    struct approval_user u = {.user = "firstname.lastname01", .service = "su", .tty = "pts/1"};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL, NULL};
    struct approval_env env = {&tr, &clk, NULL, getuid(), false};
    struct approval_report rep;
    const char *p;
    (void)state;
    binding_profile_preset(BINDING_PRESET_NODE_OIDC, &c.binding_limits);
    assert_int_equal(approval_run(&c, &u, &ui, &env, &rep), RES_DENIED);
    /* 14 + "-#" + code = 20: the user name is cut and marked, the space is '-', the code whole */
    assert_int_equal(strlen(rep.binding_message), 20);
    assert_int_equal(strncmp(rep.binding_message, "firstname.las+-#", 16), 0);
    for (p = rep.binding_message + 16; *p; p++)
        assert_non_null(strchr(BINDING_CODE_ALPHABET, *p));
    assert_non_null(strstr(w.first_body, "binding_message=firstname.las%2B-%23"));
    assert_non_null(strstr(w.last_msg, rep.binding_message));
}

/* A user name with a C1 control or malformed UTF-8 never becomes a subject. */
static void test_unclean_user_name_refused(void **state)
{
    static const char *const names[] = {"ali\xc2\x9b" "ce", "ali\x9b" "ce", "jos\xe9", "a\x1b[2J"};
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct config c = config(PROMPT_NONE, "%u #%c");
        struct approval_user u = {.user = names[i], .service = "su", .tty = "pts/1"};
        struct approval_env env = {&tr, &clk, NULL, getuid(), false};
        struct approval_report rep;
        assert_int_equal(approval_run(&c, &u, NULL, &env, &rep), RES_USER_UNKNOWN);
        assert_int_equal(w.requests, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_auto_prompts_for_sshd, reset),
        cmocka_unit_test_setup(test_ssh_key_in_binding_message, reset),
        cmocka_unit_test_setup(test_auto_informs_elsewhere, reset),
        cmocka_unit_test_setup(test_enter_and_none, reset),
        cmocka_unit_test_setup(test_failed_prompt_fails_closed, reset),
        cmocka_unit_test_setup(test_command_in_binding_message, reset),
        cmocka_unit_test_setup(test_only_the_network_is_unreachable, reset),
        cmocka_unit_test_setup(test_unclean_user_name_refused, reset),
        cmocka_unit_test_setup(test_binding_message_fitted_to_profile, reset),
        cmocka_unit_test_setup(test_typed_right_code_approved, reset_typed),
        cmocka_unit_test_setup(test_typed_code_loosely, reset_typed),
        cmocka_unit_test_setup(test_typed_wrong_code_fails, reset_typed),
        cmocka_unit_test_setup(test_typed_no_code_fails, reset_typed),
        cmocka_unit_test_setup(test_typed_code_then_denial, reset_typed),
        cmocka_unit_test_setup(test_typed_code_then_approval, reset_typed),
        cmocka_unit_test_setup(test_typed_after_deadline, reset_typed),
        cmocka_unit_test_setup(test_typed_needs_a_conversation, reset_typed),
        cmocka_unit_test_setup(test_typed_code_cut_off, reset_typed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
