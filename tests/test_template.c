/* Unit tests for pam_ciba/template.c: expansion, binding-message rules, random codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

static const struct template_vars vars = {"alice", "web01", "web01.example.com", "sshd",
                                          "192.0.2.7", "pts/3", "K7QF", "apt upgrade", "root",
                                          "apt upgrade", "SHA256:ysBf1IM1",
                                          "SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ", "ED25519"};

static void expand_is(const char *tmpl, const char *want)
{
    char *out = NULL;
    assert_int_equal(template_expand(tmpl, &vars, 0, &out), RES_OK);
    assert_string_equal(out, want);
    free(out);
}

static void test_expand_every_escape(void **state)
{
    (void)state;
    expand_is("%u %h %H %s %r %t %c %%", "alice web01 web01.example.com sshd 192.0.2.7 pts/3 K7QF %");
    expand_is("run %C", "run apt upgrade");
    expand_is("", "");
    expand_is("plain text", "plain text");
    expand_is("auth0|%u", "auth0|alice");
}

static void test_expand_missing_and_capped(void **state)
{
    struct template_vars v = {"a-very-long-user-name", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                              NULL, NULL, NULL};
    char *out = NULL;
    (void)state;
    assert_int_equal(template_expand("[%r][%t][%u]", &v, 0, &out), RES_OK);
    assert_string_equal(out, "[][][a-very-long-user-name]");
    free(out);
    assert_int_equal(template_expand("%u!", &v, 4, &out), RES_OK);
    assert_string_equal(out, "a-ve!");
    free(out);
}

static void test_check(void **state)
{
    char why[128];
    (void)state;
    assert_int_equal(template_check("%u@%h %% %c", why, sizeof(why)), RES_OK);
    assert_int_equal(template_check("%x", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "%C"));
    assert_int_equal(template_check("%h sudo %u: %C #%c", why, sizeof(why)), RES_OK);
    assert_int_equal(template_check("100%", why, sizeof(why)), RES_CONFIG);
}

/* %C: a command is sanitised, and shortened by whole words (counted) before the code is lost. */
static void test_command_in_binding_message(void **state)
{
    struct template_vars v = vars;
    char out[BINDING_MESSAGE_MAX + 1];
    (void)state;

    v.command = "rm -rf /var/cache/apt/*.bin; echo \"done\" | tee /tmp/log && reboot --force now";
    assert_int_equal(binding_message_build("%h sudo %u: %C #%c", &v, out), RES_OK);
    assert_true(strlen(out) <= BINDING_MESSAGE_MAX);
    assert_string_equal(out, "web01 sudo alice: rm -rf _var_cache_apt__.bin_ +9 more #K7QF");
    for (const char *p = out; *p; p++)
        assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 +-_.,:#", *p));
    v.command = NULL;
    assert_int_equal(binding_message_build("%C #%c", &v, out), RES_OK);
    assert_string_equal(out, "#K7QF");
}

static void test_sanitise(void **state)
{
    char s1[] = "ok: A-z_0.9,+#";
    char s2[] = "bad\"quote;semi'\x01\x7f";
    char s3[] = "zo\xc3\xab caf\xc3\xa9";
    char s4[] = "  tab\there\nnewline  ";
    (void)state;
    binding_message_sanitise(s1);
    assert_string_equal(s1, "ok: A-z_0.9,+#");
    binding_message_sanitise(s2);
    assert_string_equal(s2, "bad_quote_semi___");
    binding_message_sanitise(s3);
    assert_string_equal(s3, "zo_ caf_");
    binding_message_sanitise(s4);
    assert_string_equal(s4, "tab here newline");
}

static bool all_allowed(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(" +-_.,:#", *s)))
            return false;
    return true;
}

static void test_binding_default(void **state)
{
    char out[BINDING_MESSAGE_MAX + 1];
    (void)state;
    assert_int_equal(binding_message_build("%h login %u #%c", &vars, out), RES_OK);
    assert_string_equal(out, "web01 login alice #K7QF");
}

/* The SSH key (issue 13): %k short, %K whole, %T its type; without a key the default
 * message keeps one space where %k would be. */
static void test_ssh_key_escapes(void **state)
{
    struct template_vars none = vars;
    char out[BINDING_MESSAGE_MAX + 1], why[128];
    (void)state;
    expand_is("%k|%K|%T", "SHA256:ysBf1IM1|SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ|ED25519");
    assert_int_equal(template_check("%h login %u %k #%c %K %T", why, sizeof(why)), RES_OK);
    assert_int_equal(binding_message_build("%h login %u %k #%c", &vars, out), RES_OK);
    assert_string_equal(out, "web01 login alice SHA256:ysBf1IM1 #K7QF");
    none.key_short = none.key_full = none.key_type = "";
    assert_int_equal(binding_message_build("%h login %u %k #%c", &none, out), RES_OK);
    assert_string_equal(out, "web01 login alice #K7QF");
    none.key_short = none.key_full = none.key_type = NULL;
    assert_int_equal(binding_message_build("%h: %u with %T key %k #%c", &none, out), RES_OK);
    assert_string_equal(out, "web01: alice with key #K7QF");
    /* the whole fingerprint's '/' is not in Auth0's set: shown as '_' there */
    assert_int_equal(binding_message_build("%K", &vars, out), RES_OK);
    assert_string_equal(out, "SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf_+9jgI0KxOlZQ");
}

static void test_binding_long_keeps_code(void **state)
{
    char user[200];
    struct template_vars v = vars;
    char out[BINDING_MESSAGE_MAX + 1];
    (void)state;
    memset(user, 'u', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    v.user = user;
    v.host_short = "a-really-quite-long-host-name-that-goes-on";
    assert_int_equal(binding_message_build("%h login %u #%c", &v, out), RES_OK);
    assert_true(strlen(out) <= BINDING_MESSAGE_MAX);
    assert_true(all_allowed(out));
    assert_non_null(strstr(out, "#K7QF"));
    assert_non_null(strstr(out, " login "));
}

static void test_binding_hostile_and_empty(void **state)
{
    struct template_vars v = vars;
    char out[BINDING_MESSAGE_MAX + 1];
    (void)state;
    v.user = "ev\"il\\user\n\x1b[31m<script>";
    assert_int_equal(binding_message_build("%u #%c", &v, out), RES_OK);
    assert_true(all_allowed(out));
    assert_true(strlen(out) <= BINDING_MESSAGE_MAX);
    assert_int_equal(binding_message_build("%r", &(struct template_vars){0}, out), RES_OK);
    assert_string_equal(out, "Login request");
    /* A template whose own text is longer than 64 is a configuration error, never cut. */
    assert_int_equal(binding_message_build("0123456789012345678901234567890123456789012345678901234567890123456789",
                                           &v, out), RES_CONFIG);
    assert_int_equal(binding_message_build("0123456789012345678901234567890123456789012345678901234567890123",
                                           &v, out), RES_OK);
    assert_int_equal(strlen(out), BINDING_MESSAGE_MAX);
}

static void test_code(void **state)
{
    char a[BINDING_CODE_LEN + 1], b[BINDING_CODE_LEN + 1];
    int same = 0;
    (void)state;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(binding_code_generate(a), RES_OK);
        assert_int_equal(binding_code_generate(b), RES_OK);
        assert_int_equal(strlen(a), BINDING_CODE_LEN);
        for (int j = 0; j < BINDING_CODE_LEN; j++)
            assert_non_null(strchr("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", a[j]));
        same += strcmp(a, b) == 0;
    }
    /* 50 pairs from 2^20 codes: a collision is a one-in-20,000 event. */
    assert_true(same <= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_every_escape),
        cmocka_unit_test(test_expand_missing_and_capped),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_sanitise),
        cmocka_unit_test(test_command_in_binding_message),
        cmocka_unit_test(test_binding_default),
        cmocka_unit_test(test_ssh_key_escapes),
        cmocka_unit_test(test_binding_long_keeps_code),
        cmocka_unit_test(test_binding_hostile_and_empty),
        cmocka_unit_test(test_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
