/* Unit tests for pam_ciba/binding.c: presets, character sets, the shortening order, and the
 * property that a fitted message always passes the provider's own check with the code whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#define DEFAULT_TEMPLATE "%h login %u #%c"
#define USER20 "firstname.lastname01" /* 20 characters */
#define USER16 "abcdefghijklmnop"

/* The providers' own checks, as each documents or implements it (POSIX ERE: '-' last). */
static const char *const provider_regex[] = {
    [BINDING_PRESET_AUTH0] = "^[a-zA-Z0-9 +_.,:#-]{1,64}$",
    [BINDING_PRESET_NODE_OIDC] = "^[a-zA-Z0-9._+/!?#-]{1,20}$",
    [BINDING_PRESET_KEYCLOAK] = "^[a-zA-Z0-9._+/!?#-]{1,50}$",
};

static bool matches(const char *re, const char *s)
{
    regex_t r;
    bool ok;
    assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
    ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

static struct template_vars base(void)
{
    return (struct template_vars){"alice", "web01", "web01.example.com", "sshd", "203.0.113.7", "pts/3", "K7QF",
                                  "apt upgrade", "root", "apt upgrade", NULL, NULL, NULL};
}

static void fits_as(enum binding_preset preset, const char *tmpl, const struct template_vars *v, const char *want)
{
    struct binding_profile p;
    char out[BINDING_MESSAGE_MAX + 1];
    binding_profile_preset(preset, &p);
    assert_int_equal(binding_fit(tmpl, v, &p, out), RES_OK);
    if (strcmp(out, want) != 0)
        fail_msg("%s / \"%s\": got \"%s\", want \"%s\"", binding_preset_names[preset], tmpl, out, want);
    if (preset != BINDING_PRESET_CUSTOM && !matches(provider_regex[preset], out))
        fail_msg("\"%s\" fails %s", out, provider_regex[preset]);
}

static void test_presets(void **state)
{
    struct binding_profile p;
    (void)state;
    binding_profile_preset(BINDING_PRESET_AUTH0, &p);
    assert_int_equal(p.max, 64);
    assert_true(p.allowed[' '] && p.allowed[','] && p.allowed[':'] && !p.allowed['/'] && !p.allowed['!']);
    assert_int_equal(p.space, ' ');
    assert_int_equal(p.other, '_');
    assert_int_equal(p.marker, '+');
    binding_profile_preset(BINDING_PRESET_NODE_OIDC, &p);
    assert_int_equal(p.max, 20);
    assert_true(!p.allowed[' '] && !p.allowed[','] && !p.allowed[':'] && p.allowed['/'] && p.allowed['!'] &&
                p.allowed['?'] && p.allowed['-'] && p.allowed['#']);
    assert_int_equal(p.space, '-');
    assert_int_equal(p.other, '_');
    binding_profile_preset(BINDING_PRESET_KEYCLOAK, &p);
    assert_int_equal(p.max, 50);
    assert_int_equal(p.space, '-');
    for (int c = 0; c < 128; c++) {
        char s[2] = {(char)c, 0};
        bool want = c && matches(provider_regex[BINDING_PRESET_KEYCLOAK], s);
        if (p.allowed[c] != want)
            fail_msg("keycloak: character %d allowed=%d, regex says %d", c, p.allowed[c], want);
    }
    binding_profile_preset(BINDING_PRESET_AUTH0, &p);
    for (int c = 0; c < 128; c++) {
        char s[2] = {(char)c, 0};
        bool want = c && matches(provider_regex[BINDING_PRESET_AUTH0], s);
        if (p.allowed[c] != want)
            fail_msg("auth0: character %d allowed=%d, regex says %d", c, p.allowed[c], want);
    }
}

static void test_charset_syntax(void **state)
{
    struct binding_profile p;
    char why[256];
    (void)state;
    binding_profile_preset(BINDING_PRESET_CUSTOM, &p);
    /* '-' between two non-alphanumerics is itself, as in "+-_" */
    assert_int_equal(binding_profile_set_charset(&p, "A-Z2-9+-_", why, sizeof(why)), RES_OK);
    assert_true(p.allowed['+'] && p.allowed['-'] && p.allowed['_'] && !p.allowed[','] && !p.allowed['a']);
    assert_int_equal(p.space, '-');
    assert_int_equal(binding_profile_set_charset(&p, "a-z-", why, sizeof(why)), RES_OK);
    assert_true(p.allowed['-'] && p.allowed['q'] && !p.allowed['A']);
    assert_int_equal(binding_profile_set_charset(&p, "", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(binding_profile_set_charset(&p, "z-a", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "reversed"));
    assert_int_equal(binding_profile_set_charset(&p, "A-z", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "mixes"));
    assert_int_equal(binding_profile_set_charset(&p, "a-9", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(binding_profile_set_charset(&p, "A-Z\t", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(binding_profile_set_charset(&p, "A-Z\xc3\xa9", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "ASCII"));
    /* nothing to replace with: refused characters and spaces disappear, cuts are unmarked */
    assert_int_equal(binding_profile_set_charset(&p, "A-Z0-9", why, sizeof(why)), RES_OK);
    assert_int_equal(p.space, 0);
    assert_int_equal(p.other, 0);
    assert_int_equal(p.marker, 0);
}

/* The default template for a short and a 20-character user under each preset. */
static void test_default_template_every_preset(void **state)
{
    struct template_vars v = base();
    (void)state;
    fits_as(BINDING_PRESET_AUTH0, DEFAULT_TEMPLATE, &v, "web01 login alice #K7QF");
    fits_as(BINDING_PRESET_KEYCLOAK, DEFAULT_TEMPLATE, &v, "web01-login-alice-#K7QF");
    /* 23 characters: the host goes first (the user is more important) */
    fits_as(BINDING_PRESET_NODE_OIDC, DEFAULT_TEMPLATE, &v, "login-alice-#K7QF");
    v.user = USER20;
    fits_as(BINDING_PRESET_AUTH0, DEFAULT_TEMPLATE, &v, "web01 login firstname.lastname01 #K7QF");
    fits_as(BINDING_PRESET_KEYCLOAK, DEFAULT_TEMPLATE, &v, "web01-login-firstname.lastname01-#K7QF");
    fits_as(BINDING_PRESET_NODE_OIDC, DEFAULT_TEMPLATE, &v, "login-firstna+-#K7QF");
}

/* README's "%u#%c" under node-oidc: refused by the provider for 16+ characters before. */
static void test_user_hash_code(void **state)
{
    struct template_vars v = base();
    (void)state;
    v.user = "abcdefghijklmno"; /* 15 + 5 = 20: fits as it is */
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "abcdefghijklmno#K7QF");
    v.user = USER16;
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "abcdefghijklmn+#K7QF");
    v.user = USER20;
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "firstname.last+#K7QF");
    v.user = "a-very-long-account-name-for-a-service-user-0123456789";
    fits_as(BINDING_PRESET_KEYCLOAK, "%u#%c", &v, "a-very-long-account-name-for-a-service-user-+#K7QF");
}

static void test_priority_order(void **state)
{
    struct template_vars v = base();
    (void)state;
    /* %r goes before %h, %h before %u: each first down to 8 characters, then out; '@' is
     * not in Keycloak's set */
    v.rhost = "2001:db8:1234:5678:9abc:def0:1234:5678";
    v.host_short = "build-server-eu-west-17";
    v.user = "operator-on-call";
    fits_as(BINDING_PRESET_KEYCLOAK, "%u@%h from %r #%c", &v, "operator-on-call_build-server+-from-2001_db+-#K7QF");
    /* node-oidc: all three down to 8, then %r and %h out; the template's own " from " stays */
    fits_as(BINDING_PRESET_NODE_OIDC, "%u@%h from %r #%c", &v, "operato+_-from-#K7QF");
    /* the code comes through even first in the template */
    fits_as(BINDING_PRESET_NODE_OIDC, "#%c %u %h %r", &v, "#K7QF-operato+-buil+");
}

static void test_utf8_and_hostile(void **state)
{
    struct template_vars v = base();
    (void)state;
    v.user = "J\xc3\xbcrgen.M\xc3\xbcller";
    fits_as(BINDING_PRESET_AUTH0, DEFAULT_TEMPLATE, &v, "web01 login J_rgen.M_ller #K7QF");
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "J_rgen.M_ller#K7QF");
    v.user = "\xe7\x94\xb0\xe4\xb8\xad\xe5\xa4\xaa\xe9\x83\x8e\xe3\x81\x95\xe3\x82\x93\xe3\x81\xae"
             "\xe9\x95\xb7\xe3\x81\x84\xe5\x90\x8d\xe5\x89\x8d\xe3\x81\xa7\xe3\x81\x99"; /* 13 characters */
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "_____________#K7QF");
    v.user = "\xe7\x94\xb0\xe4\xb8\xad\xe5\xa4\xaa\xe9\x83\x8e\xe3\x81\x95\xe3\x82\x93\xe3\x81\xae"
             "\xe9\x95\xb7\xe3\x81\x84\xe5\x90\x8d\xe5\x89\x8d\xe3\x81\xa7\xe3\x81\x99" "abcd"; /* 17 */
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "_____________a+#K7QF");
    v.user = "ev\"il\\user\n\x1b[31m<script>";
    /* ESC and newline are '?' first (text_sanitise), which node-oidc allows */
    fits_as(BINDING_PRESET_NODE_OIDC, "%u#%c", &v, "ev_il_user??_3+#K7QF");
    fits_as(BINDING_PRESET_AUTH0, "%u #%c", &v, "ev_il_user___31m_script_ #K7QF");
    /* literal text from the admin: tabs and newlines are blanks, runs are joined */
    v = base();
    fits_as(BINDING_PRESET_KEYCLOAK, "  %h\tlogin\n\n%u  (%r)  #%c  ", &v, "web01-login-alice-_203.0.113.7_-#K7QF");
}

static void test_command(void **state)
{
    struct template_vars v = base();
    (void)state;
    v.command = "systemctl restart nginx.service postgresql.service redis.service";
    fits_as(BINDING_PRESET_AUTH0, "%h sudo %u: %C #%c", &v,
            "web01 sudo alice: systemctl restart nginx.service +2 more #K7QF");
    fits_as(BINDING_PRESET_KEYCLOAK, "%h sudo %u: %C #%c", &v, "web01-sudo-alice_-systemctl-restart-+3-more-#K7QF");
    /* too little room for the program and a word count: the program is cut with "..." */
    fits_as(BINDING_PRESET_NODE_OIDC, "%u:%C#%c", &v, "alice_system...#K7QF");
    v.command = "/usr/local/bin/a-program-with-a-very-long-name --flag";
    fits_as(BINDING_PRESET_KEYCLOAK, "%h sudo %u: %C #%c", &v,
            "web01-sudo-alice_-/usr/local/bin/...-+1-more-#K7QF");
}

static void test_code_never_altered(void **state)
{
    struct binding_profile p;
    struct template_vars v = base();
    char out[BINDING_MESSAGE_MAX + 1], why[256];
    (void)state;
    binding_profile_preset(BINDING_PRESET_CUSTOM, &p);
    /* a set without the code's characters */
    assert_int_equal(binding_profile_set_charset(&p, "a-z0-9 #", why, sizeof(why)), RES_OK);
    assert_int_equal(binding_profile_check(&p, DEFAULT_TEMPLATE, why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "code"));
    assert_int_equal(binding_fit(DEFAULT_TEMPLATE, &v, &p, out), RES_CONFIG);
    /* a code value the set refuses is never sent changed */
    binding_profile_preset(BINDING_PRESET_NODE_OIDC, &p);
    v.code = "K7 F";
    assert_int_equal(binding_fit(DEFAULT_TEMPLATE, &v, &p, out), RES_CONFIG);
    v.code = "K7\xc3\xa9";
    assert_int_equal(binding_fit(DEFAULT_TEMPLATE, &v, &p, out), RES_CONFIG);
    /* too little room for the template's text and the code */
    assert_int_equal(binding_profile_check(&p, "Approve the login of %u on %h #%c", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "29 characters"));
    assert_int_equal(binding_profile_check(&p, DEFAULT_TEMPLATE, why, sizeof(why)), RES_OK);
    assert_int_equal(binding_profile_check(&p, "%h sudo %u as %U: %C #%c", why, sizeof(why)), RES_OK);
    p.max = 4;
    assert_int_equal(binding_profile_check(&p, "%c", why, sizeof(why)), RES_OK);
    assert_int_equal(binding_profile_check(&p, "#%c", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(binding_profile_check(&p, "%x %c", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "not a valid template"));
}

static void test_empty_and_fallback(void **state)
{
    struct binding_profile p;
    struct template_vars none = {0};
    char out[BINDING_MESSAGE_MAX + 1], why[64];
    (void)state;
    fits_as(BINDING_PRESET_AUTH0, "%r", &none, "Login request");
    fits_as(BINDING_PRESET_NODE_OIDC, "%r %t", &none, "Login-request");
    binding_profile_preset(BINDING_PRESET_CUSTOM, &p);
    assert_int_equal(binding_profile_set_charset(&p, "A-Z2-9", why, sizeof(why)), RES_OK);
    p.max = 5;
    assert_int_equal(binding_fit("%r", &none, &p, out), RES_OK);
    assert_string_equal(out, "L");
    assert_int_equal(binding_fit("%u-%c", &(struct template_vars){.user = "ab-cd", .code = "K7QF"}, &p, out),
                     RES_OK);
    assert_string_equal(out, "K7QF");
    /* NULL profile: Auth0's */
    assert_int_equal(binding_fit(DEFAULT_TEMPLATE, &(struct template_vars){.user = "bob", .code = "K7QF"}, NULL,
                                 out), RES_OK);
    assert_string_equal(out, "login bob #K7QF");
}

/* A small deterministic generator: the same vectors every run. */
static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static void random_fact(char *buf, size_t cap)
{
    static const char *const parts[] = {"alice", "-", ".", " ", "_", "\xc3\xbc", "\xe7\x94\xb0", "\x1b[1m", "/",
                                        "\"", "%", "#", "\t", "0123456789", "ABCDEFGHIJ", "sudo", "\xf0\x9f\x94\x91",
                                        "\xff", ":", ",", "!", "?", "+", "~"};
    size_t n = rnd() % 12, o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *s = parts[rnd() % (sizeof(parts) / sizeof(parts[0]))];
        size_t l = strlen(s);
        if (o + l >= cap)
            break;
        memcpy(buf + o, s, l + 1);
        o += l;
    }
}

/* Property: for every preset and many facts, the result passes the provider's regex and
 * length, and holds the code verbatim. */
static void test_property(void **state)
{
    static const char *const templates[] = {
        DEFAULT_TEMPLATE, "%u#%c", "%h sudo %u as %U: %C #%c", "%c", "%u %r %t %s %H %h %U %C %F #%c",
        "#%c %u@%h", "%%%u%%%c%%", "web01: %u from %r #%c", "%u %u %u %u #%c %c", "%r",
    };
    char facts[10][200], out[BINDING_MESSAGE_MAX + 1], again[BINDING_MESSAGE_MAX + 1], why[256];
    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        struct binding_profile p;
        enum binding_preset preset = (enum binding_preset)(iter % 3);
        const char *tmpl = templates[rnd() % (sizeof(templates) / sizeof(templates[0]))];
        struct template_vars v;
        for (int i = 0; i < 10; i++)
            random_fact(facts[i], (rnd() % 2) ? 200 : 24);
        v = (struct template_vars){facts[0], facts[1], facts[2], facts[3], facts[4], facts[5], "K7QF",
                                   facts[6], facts[7], facts[8], NULL, NULL, NULL};
        binding_profile_preset(preset, &p);
        if (binding_profile_check(&p, tmpl, why, sizeof(why)) != RES_OK) {
            assert_int_equal(binding_fit(tmpl, &v, &p, out), RES_CONFIG);
            continue;
        }
        assert_int_equal(binding_fit(tmpl, &v, &p, out), RES_OK);
        if (!matches(provider_regex[preset], out))
            fail_msg("%s / \"%s\": \"%s\" fails %s", binding_preset_names[preset], tmpl, out,
                     provider_regex[preset]);
        if (strstr(tmpl, "%c") && !strstr(out, "K7QF"))
            fail_msg("%s / \"%s\": \"%s\" lost the code", binding_preset_names[preset], tmpl, out);
        assert_int_equal(binding_fit(tmpl, &v, &p, again), RES_OK);
        assert_string_equal(out, again);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_charset_syntax),
        cmocka_unit_test(test_default_template_every_preset),
        cmocka_unit_test(test_user_hash_code),
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_utf8_and_hostile),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_code_never_altered),
        cmocka_unit_test(test_empty_and_fallback),
        cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
