/* Unit tests for pam_ciba/command.c: what %C says for sudo and other programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "command.h"

/* argv given as one string with '|' between the arguments. */
static void describes(const char *argv_bars, const char *want)
{
    char argv[1024], out[COMMAND_MAX + 1];
    size_t len = strlen(argv_bars) + 1;

    memcpy(argv, argv_bars, len);
    for (size_t i = 0; i < len; i++)
        if (argv[i] == '|')
            argv[i] = '\0';
    assert_string_equal(command_describe(argv, len, out, sizeof(out)), want);
}

static void test_sudo_plain(void **state)
{
    (void)state;
    describes("sudo|apt|upgrade", "apt upgrade");
    describes("/usr/bin/sudo|systemctl|restart|nginx", "systemctl restart nginx");
    describes("sudo|/usr/bin/id|-u", "/usr/bin/id -u");
}

static void test_sudo_options_dropped(void **state)
{
    (void)state;
    describes("sudo|-u|root|-g|adm|true|-x", "true -x");
    describes("sudo|-uroot|-n|id", "id");
    describes("sudo|-Hnu|bob|id", "id");
    describes("sudo|--user|bob|--chdir=/tmp|ls|-l", "ls -l");
    describes("sudo|--preserve-env=PATH|--|-weird-name|x", "-weird-name x");
    describes("sudo|-E|-p|Prompt: |make|install", "make install");
    describes("sudo|-C|5|-T|30|-D|/srv|ls", "ls");
    describes("sudo|-hother|id", "id");
    describes("sudo|FOO=1|env", "FOO=1 env");
}

static void test_sudo_modes(void **state)
{
    (void)state;
    describes("sudo|-i", "shell");
    describes("sudo|-s", "shell");
    describes("sudo|--login|-u|bob", "shell");
    describes("sudo|-l", "list");
    describes("sudo|-v", "validate");
    describes("sudo", "sudo");
    describes("sudo|-e|/etc/hosts", "edit /etc/hosts");
    describes("sudoedit|/etc/hosts|/etc/motd", "edit /etc/hosts /etc/motd");
    describes("sudo|-s|make", "make");
}

static void test_other_programs(void **state)
{
    (void)state;
    describes("/bin/login|--|alice", "login -- alice");
    describes("sshd: alice [priv]", "sshd: alice [priv]");
    describes("su|-|bob", "su - bob");
}

static void test_limits(void **state)
{
    char argv[600], out[COMMAND_MAX + 1], small[8];
    (void)state;

    /* Control characters cannot reach the message or a log. */
    describes("sudo|echo|a\nb\tc\x1b", "echo a b c ");
    /* Long command lines are cut to COMMAND_MAX. */
    memset(argv, 'x', sizeof(argv));
    memcpy(argv, "sudo\0echo\0", 10);
    argv[sizeof(argv) - 1] = '\0';
    assert_int_equal(strlen(command_describe(argv, sizeof(argv), out, sizeof(out))), COMMAND_MAX);
    assert_string_equal(command_describe("sudo\0ls\0-la\0", 12, small, sizeof(small)), "ls -la");
    assert_string_equal(command_describe("sudo\0ls\0-lah\0", 13, small, sizeof(small)), "ls -lah");
    assert_string_equal(command_describe("sudo\0ls\0-laht\0", 14, small, sizeof(small)), "ls -lah");
    /* Empty, and no final NUL. */
    assert_string_equal(command_describe("", 0, out, sizeof(out)), "");
    assert_string_equal(command_describe("sudo\0id", 7, out, sizeof(out)), "id");
}

static void test_self(void **state)
{
    char out[COMMAND_MAX + 1];
    (void)state;
    /* This test binary is not sudo: its own name comes first. */
    assert_non_null(strstr(command_of_self(out, sizeof(out)), "test_command"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sudo_plain),   cmocka_unit_test(test_sudo_options_dropped),
        cmocka_unit_test(test_sudo_modes),   cmocka_unit_test(test_other_programs),
        cmocka_unit_test(test_limits),       cmocka_unit_test(test_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
