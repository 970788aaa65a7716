/* Unit tests for pam_ciba/command_policy.c (command_rules), the rule facts command.c
 * derives from sudo's arguments, and command_rules in the config file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "command_policy.h"
#include "config.h"
#include "sudo_args.h"

static char *apt[] = {"/usr/bin/apt*", "dpkg", NULL};
static char *systemctl[] = {"systemctl", NULL};
static char *root[] = {"root", NULL};
static char *db[] = {"postgres", "mysql", NULL};
static char *any[] = {"*", NULL};
static char *shells[] = {"shell", "login-shell", "*sh", NULL};

static struct command_rule rules[] = {
    {apt, NULL, NULL, CMD_NEVER_REUSE, 1},
    {systemctl, "restart *", root, CMD_TWO_PERSON, 2},
    {any, NULL, db, CMD_TWO_PERSON, 3},
    {shells, NULL, NULL, CMD_NEVER_REUSE, 4},
    {systemctl, NULL, NULL, CMD_APPROVE, 5},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static enum command_action decide(bool certain, const char *program, const char *args, const char *target, int *which)
{
    struct command_facts f = {certain, program, args, target, NULL};
    return command_policy_decide(rules, NRULES, &f, which);
}

static void test_matching(void **state)
{
    int w;
    (void)state;
    /* Base names: a pattern's directory never narrows the match. */
    assert_int_equal(decide(true, "apt", "install vim", "root", &w), CMD_NEVER_REUSE);
    assert_int_equal(w, 0);
    assert_int_equal(decide(true, "/usr/bin/apt-get", "update", "root", &w), CMD_NEVER_REUSE);
    assert_int_equal(decide(true, "/opt/x/apt", "", "root", &w), CMD_NEVER_REUSE);
    assert_int_equal(decide(true, "dpkg", "-i x.deb", "root", &w), CMD_NEVER_REUSE);
    assert_int_equal(decide(true, "dpkgx", "", "root", &w), CMD_APPROVE);
    assert_int_equal(w, -1);
    assert_int_equal(decide(true, "ls", "-l", "root", &w), CMD_APPROVE);
    /* args and target narrow a rule. */
    assert_int_equal(decide(true, "systemctl", "restart nginx", "root", &w), CMD_TWO_PERSON);
    assert_int_equal(w, 1);
    assert_int_equal(decide(true, "/bin/systemctl", "status nginx", "root", &w), CMD_APPROVE);
    assert_int_equal(w, 4);
    assert_int_equal(decide(true, "systemctl", "restart nginx", "www-data", &w), CMD_APPROVE);
    /* The strictest of several matching rules wins, whatever their order. */
    assert_int_equal(decide(true, "apt", "install x", "postgres", &w), CMD_TWO_PERSON);
    assert_int_equal(w, 2);
    assert_int_equal(decide(true, "shell", "", "root", &w), CMD_NEVER_REUSE);
    assert_int_equal(decide(true, "/bin/bash", "", "root", &w), CMD_NEVER_REUSE);
    assert_int_equal(decide(true, "login-shell", "", "root", &w), CMD_NEVER_REUSE);
    /* No rules: approve. */
    {
        struct command_facts f = {true, "apt", "", "root", NULL};
        assert_int_equal(command_policy_decide(NULL, 0, &f, &w), CMD_APPROVE);
        assert_int_equal(w, -1);
    }
}

/* Fail safe: whatever is not known matches, so an unknown command gets the strictest rule. */
static void test_unknown_is_strictest(void **state)
{
    int w;
    (void)state;
    assert_int_equal(decide(false, NULL, NULL, NULL, &w), CMD_TWO_PERSON);
    assert_int_equal(decide(false, "ls", "", "nobody", &w), CMD_TWO_PERSON);
    /* Arguments that did not fit match every args pattern; an unknown target every target. */
    assert_int_equal(decide(true, "systemctl", NULL, "root", &w), CMD_TWO_PERSON);
    assert_int_equal(decide(true, "systemctl", "status x", NULL, &w), CMD_TWO_PERSON);
    assert_int_equal(decide(true, "ls", "", NULL, &w), CMD_TWO_PERSON); /* rule 3: any program, db targets */
    {
        static char *nr[] = {"apt", NULL};
        struct command_rule only[] = {{nr, NULL, NULL, CMD_NEVER_REUSE, 1}};
        struct command_facts f = {false, NULL, NULL, NULL, NULL};
        assert_int_equal(command_policy_decide(only, 1, &f, &w), CMD_NEVER_REUSE);
    }
}

static bool toor_is_root(const char *pattern, const char *target)
{
    return strcmp(pattern, "root") == 0 && strcmp(target, "toor") == 0;
}

/* Another name for the same account matches a target pattern (the glue compares uids). */
static void test_target_alias(void **state)
{
    int w;
    struct command_facts f = {true, "systemctl", "restart x", "toor", NULL};
    (void)state;
    assert_int_equal(command_policy_decide(rules, NRULES, &f, &w), CMD_APPROVE);
    f.same_user = toor_is_root;
    assert_int_equal(command_policy_decide(rules, NRULES, &f, &w), CMD_TWO_PERSON);
}

static void test_patterns_and_names(void **state)
{
    char why[160];
    (void)state;
    assert_true(command_pattern_valid("apt*", true, why, sizeof(why)));
    assert_true(command_pattern_valid("/usr/bin/apt*", true, why, sizeof(why)));
    assert_false(command_pattern_valid("/usr/bin/", true, why, sizeof(why)));
    assert_true(command_pattern_valid("/usr/bin/", false, why, sizeof(why)));
    assert_false(command_pattern_valid("", false, why, sizeof(why)));
    assert_false(command_pattern_valid("a\tb", false, why, sizeof(why)));
    {
        char big[COMMAND_PATTERN_MAX + 2];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_false(command_pattern_valid(big, false, why, sizeof(why)));
    }
    assert_int_equal(command_action_parse("approve"), CMD_APPROVE);
    assert_int_equal(command_action_parse("never_reuse"), CMD_NEVER_REUSE);
    assert_int_equal(command_action_parse("two_person"), CMD_TWO_PERSON);
    assert_int_equal(command_action_parse("Two_person"), -1);
    assert_int_equal(command_action_parse(NULL), -1);
    assert_string_equal(command_action_name(CMD_TWO_PERSON), "two_person");
}

static void describe(const char *const *argv, struct command_info *out)
{
    char buf[1024];
    size_t len = 0;
    for (size_t i = 0; argv[i]; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(buf + len, argv[i], n);
        len += n;
    }
    command_describe("/usr/bin/sudo", buf, len, false, "/bin/bash", "alice", out);
}

/* What command.c hands to the rules: the raw program and arguments, and the mode. */
static void test_rule_facts_from_sudo(void **state)
{
    static struct command_info ci;
    (void)state;
    describe((const char *const[]){"sudo", "-u", "postgres", "apt", "install", "a b", NULL}, &ci);
    assert_true(ci.certain);
    assert_int_equal(ci.mode, SUDO_RUN);
    assert_string_equal(ci.program, "apt");
    assert_string_equal(ci.args, "install a b");
    assert_true(ci.args_known);
    assert_true(ci.has_command);
    describe((const char *const[]){"sudo", "-s", NULL}, &ci);
    assert_string_equal(ci.program, "shell");
    assert_false(ci.has_command);
    describe((const char *const[]){"sudo", "-i", "id", NULL}, &ci);
    assert_string_equal(ci.program, "login-shell");
    assert_string_equal(ci.args, "id");
    describe((const char *const[]){"sudo", "-v", NULL}, &ci);
    assert_int_equal(ci.mode, SUDO_VALIDATE);
    assert_false(ci.has_command);
    describe((const char *const[]){"sudo", "-l", NULL}, &ci);
    assert_int_equal(ci.mode, SUDO_LIST);
    assert_false(ci.has_command);
    describe((const char *const[]){"sudo", "-l", "apt", NULL}, &ci);
    assert_int_equal(ci.mode, SUDO_LIST);
    assert_true(ci.has_command);
    assert_string_equal(ci.program, "list");
    describe((const char *const[]){"sudo", "-e", "/etc/hosts", NULL}, &ci);
    assert_string_equal(ci.program, "sudoedit");
    /* sudo would refuse this vector: nothing is known, mode -1. */
    describe((const char *const[]){"sudo", "--bogus-option", "apt", NULL}, &ci);
    assert_false(ci.certain);
    assert_int_equal(ci.mode, -1);
    assert_string_equal(ci.program, "");
}

/* command_rules in the config file. */
static char dir[] = "/tmp/pam_ciba_test_cmdpol.XXXXXX";
static char path[256];
#define BASE "issuer = \"https://tenant.example/\";\nclient_id = \"cid\";\nclient_secret = \"s3cret\";\n"

static result load(const char *text, struct config *cfg, char *err, size_t errlen)
{
    int fd;
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return config_load(path, geteuid(), cfg, err, errlen);
}

static void expect_error(const char *text, const char *needle)
{
    struct config cfg;
    char err[512] = "", full[2048];
    result r;
    snprintf(full, sizeof(full), BASE "%s", text);
    r = load(full, &cfg, err, sizeof(err));
    if (r != RES_CONFIG || !strstr(err, needle))
        fail_msg("expected config error containing \"%s\", got %d \"%s\"", needle, r, err);
    config_free(&cfg);
}

static void test_config_rules(void **state)
{
    struct config cfg;
    char err[512] = "";
    (void)state;
    assert_int_equal(load(BASE "command_rules = (\n"
                          "  { command = [\"apt\", \"apt-get\", \"/usr/bin/dpkg\"]; action = \"never_reuse\"; },\n"
                          "  { command = \"systemctl\"; args = \"restart *\"; target = \"root\"; action = \"two_person\"; },\n"
                          "  { command = \"*\"; target = [\"postgres\"]; action = \"approve\"; }\n"
                          ");\napprovers = [\"bob\", \"sub:auth0|42\"];\n",
                          &cfg, err, sizeof(err)),
                     RES_OK);
    assert_int_equal(cfg.n_command_rules, 3);
    assert_string_equal(cfg.command_rules[0].commands[2], "/usr/bin/dpkg");
    assert_null(cfg.command_rules[0].commands[3]);
    assert_int_equal(cfg.command_rules[0].action, CMD_NEVER_REUSE);
    assert_null(cfg.command_rules[0].args);
    assert_string_equal(cfg.command_rules[1].args, "restart *");
    assert_string_equal(cfg.command_rules[1].targets[0], "root");
    assert_int_equal(cfg.command_rules[1].action, CMD_TWO_PERSON);
    assert_int_equal(cfg.command_rules[1].line, 6);
    assert_string_equal(cfg.approvers[1], "sub:auth0|42");
    assert_string_equal(cfg.approver_binding_message, APPROVER_BINDING_MESSAGE_DEFAULT);
    config_free(&cfg);
}

static void test_config_rule_errors(void **state)
{
    (void)state;
    expect_error("command_rules = ( { command = \"apt\"; } );\n", "action must be");
    expect_error("command_rules = ( { command = \"apt\"; action = \"deny\"; } );\n", "action must be");
    expect_error("command_rules = ( { action = \"approve\"; } );\n", "command is required");
    expect_error("command_rules = ( { command = \"apt\"; action = \"approve\"; user = \"x\"; } );\n", "unknown field");
    expect_error("command_rules = ( { command = \"/usr/bin/\"; action = \"approve\"; } );\n", "names no program");
    expect_error("command_rules = ( { command = 5; action = \"approve\"; } );\n", "command must be a string");
    expect_error("command_rules = ( { command = []; action = \"approve\"; } );\n", "command must be a string");
    expect_error("command_rules = ( { command = \"a\"; args = 1; action = \"approve\"; } );\n", "args: must be a string");
    expect_error("command_rules = ( \"apt\" );\n", "must be a group");
    expect_error("command_rules = \"apt\";\n", "must be a list");
    expect_error("command_rules = ( { command = \"apt\"; action = \"two_person\"; } );\n", "no approvers are");
    expect_error("two_person_groups = [\"wheel\"];\n", "no approvers are");
    expect_error("two_person_services = [\"sudo\"];\napprovers = [\"bo b\"];\n", "approvers: element 1");
    expect_error("approvers = [\"sub:\"];\n", "approvers: element 1");
    expect_error("approvers = [\"bob\"];\ntwo_person_groups = [\"a,b\"];\n", "two_person_groups: element 1");
    expect_error("approvers = [\"bob\"];\napprover_binding_message = \"%q\";\n", "approver_binding_message");
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/pam_ciba.conf", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_unknown_is_strictest),
        cmocka_unit_test(test_target_alias),
        cmocka_unit_test(test_patterns_and_names),
        cmocka_unit_test(test_rule_facts_from_sudo),
        cmocka_unit_test(test_config_rules),
        cmocka_unit_test(test_config_rule_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
