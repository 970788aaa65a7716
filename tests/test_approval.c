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
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL};
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
    struct approval_user u = {"alice", "sshd", "192.0.2.7", "ssh", NULL, NULL, NULL, NULL,
                              "SHA256:ysBf1IM1", "SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ", "ED25519"};
    struct approval_ui ui = {ui_info, ui_prompt, NULL, NULL};
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

static int group_setup(void **state)
{
    EVP_PKEY *pk = tk_generate("RSA");
    char *jwk = tk_jwk(pk, "k1", "RS256", "sig");
    (void)state;
    assert_non_null(mkdtemp(cache_dir));
    jwks_json = malloc(strlen(jwk) + 16);
    sprintf(jwks_json, "{\"keys\":[%s]}", jwk);
    free(jwk);
    EVP_PKEY_free(pk);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    (void)state;
    free(jwks_json);
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
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
