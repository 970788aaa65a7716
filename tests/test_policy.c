/* Unit tests for pam_ciba/policy.c: services, exemptions, groups, CIDRs, require_tty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static char *list_a[] = {"admins", "!contractors", NULL};

/* Lists in struct config are NULL-terminated; n is only for readability here. */
static void set_list(char ***l, char **v, size_t n)
{
    assert_null(v[n]);
    *l = v;
}

static result decide(const struct config *cfg, const char *user, const char *service, const char *rhost,
                     const char *tty, const char *const *groups, size_t ng, bool conv, char *reason)
{
    struct policy_facts f = {user, service, rhost, tty, groups, ng, conv};
    return policy_decide(cfg, &f, reason, 200);
}

static void test_default_requires(void **state)
{
    struct config cfg;
    char reason[200];
    (void)state;
    config_defaults(&cfg);
    assert_int_equal(decide(&cfg, "alice", "sshd", NULL, NULL, NULL, 0, false, reason), RES_OK);
}

static void test_services(void **state)
{
    struct config cfg;
    char reason[200], *svc[] = {"sudo", "sshd", NULL};
    (void)state;
    config_defaults(&cfg);
    set_list(&cfg.services, svc, 2);
    assert_int_equal(decide(&cfg, "alice", "sudo", NULL, NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "alice", "sshd", NULL, NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "alice", "login", NULL, NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_non_null(strstr(reason, "services"));
    assert_int_equal(decide(&cfg, "alice", NULL, NULL, NULL, NULL, 0, true, reason), RES_IGNORE);
    /* Exact names only: no prefix matching. */
    assert_int_equal(decide(&cfg, "alice", "sud", NULL, NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_int_equal(decide(&cfg, "alice", "sudo-i", NULL, NULL, NULL, 0, true, reason), RES_IGNORE);
}

static void test_exempt_users(void **state)
{
    struct config cfg;
    char reason[200], *ex[] = {"backup", "deploy", NULL};
    (void)state;
    config_defaults(&cfg);
    set_list(&cfg.exempt_users, ex, 2);
    assert_int_equal(decide(&cfg, "deploy", "sshd", NULL, NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_non_null(strstr(reason, "exempt_users"));
    assert_int_equal(decide(&cfg, "deploy2", "sshd", NULL, NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "Deploy", "sshd", NULL, NULL, NULL, 0, true, reason), RES_OK);
}

static void test_groups(void **state)
{
    struct config cfg;
    char reason[200];
    const char *admin[] = {"alice", "admins"}, *both[] = {"admins", "contractors"}, *none[] = {"users"};
    const char *contractor[] = {"contractors"};
    (void)state;
    config_defaults(&cfg);
    set_list(&cfg.groups, list_a, 2);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, admin, 2, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, both, 2, true, reason), RES_IGNORE);
    assert_non_null(strstr(reason, "excluded group contractors"));
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, none, 1, true, reason), RES_IGNORE);
    assert_non_null(strstr(reason, "none of the groups"));
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, contractor, 1, true, reason), RES_IGNORE);
}

static void test_groups_only_negative(void **state)
{
    struct config cfg;
    char reason[200], *neg[] = {"!robots", NULL};
    const char *robot[] = {"robots"}, *human[] = {"users"};
    (void)state;
    config_defaults(&cfg);
    set_list(&cfg.groups, neg, 1);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, robot, 1, true, reason), RES_IGNORE);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, human, 1, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, NULL, 0, true, reason), RES_OK);
}

static void test_exempt_rhosts(void **state)
{
    struct config cfg;
    char reason[200], *nets[] = {"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "fe80::1/128", NULL};
    (void)state;
    config_defaults(&cfg);
    set_list(&cfg.exempt_rhosts, nets, 4);
    assert_int_equal(decide(&cfg, "a", "s", "10.1.2.3", NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_non_null(strstr(reason, "exempt_rhosts 10.0.0.0/8"));
    assert_int_equal(decide(&cfg, "a", "s", "192.168.1.7", NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_int_equal(decide(&cfg, "a", "s", "192.168.1.8", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "11.0.0.1", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "2001:db8:1::5", NULL, NULL, 0, true, reason), RES_IGNORE);
    assert_int_equal(decide(&cfg, "a", "s", "2001:db9::5", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "::ffff:10.9.9.9", NULL, NULL, 0, true, reason), RES_IGNORE);
    /* Only IP literals count: names (which DNS could make say anything) never match. */
    assert_int_equal(decide(&cfg, "a", "s", "10.1.2.3.evil.example", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "localhost", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", NULL, NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "10.1.2.3 ", NULL, NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "s", "fe80::1%eth0", NULL, NULL, 0, true, reason), RES_OK);
}

static void test_require_tty(void **state)
{
    struct config cfg;
    char reason[200];
    (void)state;
    config_defaults(&cfg);
    cfg.require_tty = true;
    assert_int_equal(decide(&cfg, "a", "sudo", NULL, "/dev/pts/1", NULL, 0, true, reason), RES_OK);
    assert_int_equal(decide(&cfg, "a", "sudo", NULL, NULL, NULL, 0, true, reason), RES_CONV);
    assert_non_null(strstr(reason, "PAM_TTY"));
    assert_int_equal(decide(&cfg, "a", "sudo", NULL, "", NULL, 0, true, reason), RES_CONV);
    assert_int_equal(decide(&cfg, "a", "sudo", NULL, "/dev/pts/1", NULL, 0, false, reason), RES_CONV);
    assert_non_null(strstr(reason, "conversation"));
    /* Exemptions come first: an exempt login never needs the terminal. */
    {
        char *ex[] = {"a", NULL};
        set_list(&cfg.exempt_users, ex, 1);
        assert_int_equal(decide(&cfg, "a", "sudo", NULL, NULL, NULL, 0, false, reason), RES_IGNORE);
    }
}

static void test_cidr_parse(void **state)
{
    struct cidr c;
    char why[128];
    (void)state;
    assert_true(cidr_parse("0.0.0.0/0", &c, why, sizeof(why)));
    assert_int_equal(c.prefix, 0);
    assert_true(cidr_match(&c, "203.0.113.9"));
    assert_false(cidr_match(&c, "2001:db8::1"));
    assert_true(cidr_parse("::/0", &c, why, sizeof(why)));
    assert_true(cidr_match(&c, "2001:db8::1"));
    assert_true(cidr_parse("172.16.0.0/12", &c, why, sizeof(why)));
    assert_true(cidr_match(&c, "172.31.255.255"));
    assert_false(cidr_match(&c, "172.32.0.0"));
    assert_true(cidr_parse("10.0.0.128/25", &c, why, sizeof(why)));
    assert_true(cidr_match(&c, "10.0.0.200"));
    assert_false(cidr_match(&c, "10.0.0.127"));
    assert_false(cidr_parse("10.0.0.1/8", &c, why, sizeof(why)));
    assert_non_null(strstr(why, "after the prefix"));
    assert_false(cidr_parse("10.0.0.0/33", &c, why, sizeof(why)));
    assert_false(cidr_parse("2001:db8::/129", &c, why, sizeof(why)));
    assert_false(cidr_parse("10.0.0.0/", &c, why, sizeof(why)));
    assert_false(cidr_parse("10.0.0.0/8x", &c, why, sizeof(why)));
    assert_false(cidr_parse("10.0.0.0/-1", &c, why, sizeof(why)));
    assert_false(cidr_parse("/8", &c, why, sizeof(why)));
    assert_false(cidr_parse("host.example", &c, why, sizeof(why)));
    assert_non_null(strstr(why, "host names"));
    assert_false(cidr_parse("10.0.0", &c, why, sizeof(why)));
    assert_false(cidr_parse("", &c, why, sizeof(why)));
}

static void test_user_groups_root(void **state)
{
    char **names = NULL;
    size_t n = 0;
    bool root = false;
    (void)state;
    assert_int_equal(user_groups("root", &names, &n), RES_OK);
    for (size_t i = 0; i < n; i++)
        root = root || strcmp(names[i], "root") == 0;
    assert_true(root);
    user_groups_free(names, n);
    assert_int_equal(user_groups("no-such-user-pam-ciba", &names, &n), RES_USER_UNKNOWN);
    assert_null(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_requires),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_exempt_users),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_groups_only_negative),
        cmocka_unit_test(test_exempt_rhosts),
        cmocka_unit_test(test_require_tty),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_user_groups_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
