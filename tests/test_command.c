/* Unit tests for pam_ciba/command.c and sudo_args.c: what %C, %F and %U say, and the forgeries they resist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "sudo_args.h"
#include "template.h"

#define SUDO "/usr/bin/sudo"

/* argv given as one string with '|' between the arguments. */
static size_t split(const char *bars, char *argv, size_t cap)
{
    size_t len = strlen(bars) + 1;
    assert_true(len <= cap);
    memcpy(argv, bars, len);
    for (size_t i = 0; i < len; i++)
        if (argv[i] == '|')
            argv[i] = '\0';
    return len;
}

static void describe(const char *exe, const char *bars, const char *shell, struct command_info *ci)
{
    char argv[2048];
    size_t len = split(bars, argv, sizeof(argv));
    command_describe(exe, argv, len, false, shell, "alice", ci);
}

/* The short description, and the target user when want_target is not NULL. */
static void says(const char *exe, const char *bars, const char *want, const char *want_target)
{
    struct command_info ci;
    describe(exe, bars, "/bin/bash", &ci);
    assert_string_equal(ci.text, want);
    if (want_target)
        assert_string_equal(ci.target, want_target);
}

static void sudo_says(const char *bars, const char *want, const char *want_target)
{
    says(SUDO, bars, want, want_target);
}

static void test_sudo_plain(void **state)
{
    (void)state;
    sudo_says("sudo|apt|upgrade", "apt upgrade", "root");
    sudo_says("sudo|systemctl|restart|nginx", "systemctl restart nginx", "root");
    sudo_says("sudo|/usr/bin/id|-un", "/usr/bin/id -un", "root");
}

static void test_sudo_options(void **state)
{
    (void)state;
    sudo_says("sudo|-u|bob|-g|adm|true|-x", "true -x", "bob:adm");
    sudo_says("sudo|-uroot|-n|id", "id", "root");
    sudo_says("sudo|-Hnu|bob|id", "id", "bob");
    sudo_says("sudo|--user|bob|--chdir=/tmp|ls|-l", "ls -l", "bob");
    sudo_says("sudo|--us=bob|id", "id", "bob");             /* unique abbreviation of --user */
    sudo_says("sudo|--use|bob|id", "id", "bob");
    sudo_says("sudo|-g|adm|id", "id", "alice:adm");         /* -g alone: the caller, another group */
    sudo_says("sudo|--preserve-env=PATH|--|-weird-name|x", "-weird-name +env:PATH x", "root");
    sudo_says("sudo|-p|Prompt: |make|install", "make install", NULL);
    sudo_says("sudo|-C|5|-T|30|-D|/srv|ls", "ls", NULL);
    sudo_says("sudo|-S|-B|-b|-P|-H|-N|id", "id", NULL);
    sudo_says("sudo|-r|r|-t|t|-R|/jail|id", "id", NULL);
    sudo_says("sudo|--no-up|id", "id", NULL);                /* --no-update: in the table, not in -h */
    sudo_says("sudo|-u|#0|id", "id", "#0");
}

/* The forgeries of issue 11: each one shows what really runs. */
static void test_sudo_forgeries(void **state)
{
    (void)state;
    /* --pro is --prompt: its argument is the padding, /tmp/evil is the command. */
    sudo_says("sudo|--pro|apt upgrade                      |/tmp/evil", "/tmp/evil", "root");
    sudo_says("sudo|--prompt=x|/tmp/evil|apt|upgrade", "/tmp/evil apt upgrade", "root");
    /* -i with a user attached: "root" is -u's argument, not the command. */
    sudo_says("sudo|-iu|root|cmd|arg", "login-shell -c cmd arg", "root");
    sudo_says("sudo|-iuroot", "login-shell", "root");
    /* -h takes an attached argument only; "-h host" only right after a bare -h (and only with -l). */
    sudo_says("sudo|-l|-h|otherhost", "list", "root");
    sudo_says("sudo|-lhotherhost|id", "list id", "root");
    /* After "--" a NAME=value word is the command. */
    sudo_says("sudo|--|FOO=1|id", "FOO=1 id", NULL);
    /* NAME=value words are shown with the program, between and after options too. */
    sudo_says("sudo|LD_PRELOAD=/tmp/x.so|apt|upgrade", "apt +env:LD_PRELOAD=/tmp/x.so upgrade", NULL);
    sudo_says("sudo|A=1|-u|bob|B=2|id", "id +env:A=1 +env:B=2", "bob");
    /* A word starting with '/' or '=' is never an assignment. */
    sudo_says("sudo|/tmp/a=b|x", "/tmp/a=b x", NULL);
    /* Embedded blanks never look like several words; control bytes never get through. */
    sudo_says("sudo|rm|-rf|/tmp/x /", "rm -rf /tmp/x_/", NULL);
    sudo_says("sudo|echo|a\nb\tc\x1b|\xc3\xa9|", "echo a_b_c? ?? ''", NULL);
    /* sudo -s runs the caller's $SHELL, whatever the command looks like. */
    {
        struct command_info ci;
        describe(SUDO, "sudo|-s|apt|upgrade", "/tmp/evil", &ci);
        assert_string_equal(ci.text, "/tmp/evil -c apt upgrade");
        describe(SUDO, "sudo|-s", "", &ci);
        assert_string_equal(ci.text, "shell");
        describe(SUDO, "sudo", NULL, &ci);
        assert_string_equal(ci.text, "shell");
    }
}

/* What sudo refuses, or this parser is not sure of: the command is not shown. */
static void test_sudo_uncertain(void **state)
{
    static const char *const refused[] = {
        "sudo|--pr|x|id",           /* --preserve-env, --preserve-groups, --prompt */
        "sudo|--preserve|id",       /* --preserve-env, --preserve-groups */
        "sudo|--re|id",             /* --remove-timestamp, --reset-timestamp */
        "sudo|--l|id",              /* --list, --login, --login-class */
        "sudo|--bogus|id",
        "sudo|-X|id",
        "sudo|-u",                  /* missing argument */
        "sudo|--user",
        "sudo|-u|a|-u|b|id",        /* given twice */
        "sudo|-u||id",              /* empty user */
        "sudo|--list=x",            /* argument to an option without one */
        "sudo|-a|x|id",             /* BSD auth: not in a Linux sudo */
        "sudo|-c|x|id",
        "sudo|-i|-s|id",
        "sudo|-i|-E|id",
        "sudo|-e",                  /* edit without files */
        "sudo|-e|A=1|/etc/hosts",   /* environment in edit mode */
        "sudo|-l|-v",
        "sudo|-v|id",               /* a command where sudo takes none */
        "sudo|-U|bob|id",           /* -U without -l */
        "sudo|-h|host|id",          /* remote host outside list mode */
        "sudo|-k|-N|id",
        "sudo|-A|-S|id",
        "sudo|-C|2|id",
        "sudo|-k|-n",
        "sudo|-:|id",
        "sudo|--=x|id",
        "sudoedit|-e|/etc/hosts",   /* sudoedit has no -e, and no sudo-only long options */
        "sudoedit|--list",
        "sudoedit",
        "/usr/bin/sudoedit|--l=x|/etc/hosts", /* there --l is --login-class: refused on Linux */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct command_info ci;
        describe(SUDO, refused[i], "/bin/sh", &ci);
        if (ci.certain)
            fail_msg("certain about %s: %s", refused[i], ci.text);
        assert_string_equal(ci.text, COMMAND_UNKNOWN_SUDO);
        assert_string_equal(ci.full, COMMAND_UNKNOWN_SUDO);
        assert_string_equal(ci.target, "unknown");
    }
}

static void test_sudo_modes(void **state)
{
    (void)state;
    sudo_says("sudo|-i", "login-shell", "root");
    sudo_says("sudo|--login|-u|bob", "login-shell", "bob");
    sudo_says("sudo|-l", "list", "root");
    sudo_says("sudo|-ll|-U|bob", "list", "bob");
    sudo_says("sudo|-l|apt|upgrade", "list apt upgrade", "root");
    sudo_says("sudo|-v", "validate", NULL);
    sudo_says("sudo|-k|id", "id", NULL);
    sudo_says("sudo|-K", "sudo", NULL);
    sudo_says("sudo|-e|/etc/hosts", "sudoedit /etc/hosts", "root");
    sudo_says("sudo|--ed|-u|bob|/etc/hosts", "sudoedit /etc/hosts", "bob");
    /* sudo reads sudoedit mode from argv[0], as sudo itself does; the binary is still sudo. */
    sudo_says("sudoedit|/etc/hosts|/etc/motd", "sudoedit /etc/hosts /etc/motd", NULL);
    sudo_says("/usr/bin/sudoedit|--us=bob|/etc/hosts", "sudoedit /etc/hosts", "bob");
    sudo_says("sudo|-s|make", "/bin/bash -c make", NULL);
}

/* The running executable decides, never argv[0]. */
static void test_identity(void **state)
{
    struct command_info ci;
    (void)state;
    /* exec -a apt-get sudo --pro ... /tmp/evil: still sudo, still /tmp/evil. */
    says(SUDO, "apt-get|--pro|upgrade|/tmp/evil", "/tmp/evil", "root");
    /* exec -a sudo /tmp/evil apt upgrade: not sudo; the executable's own name replaces argv[0]. */
    says("/tmp/evil", "sudo|apt|upgrade", "evil apt upgrade", "");
    describe("/tmp/evil", "sudo|apt|upgrade", NULL, &ci);
    assert_string_equal(ci.full, "/tmp/evil apt upgrade");
    assert_false(ci.is_sudo);
    says("/usr/bin/login", "/bin/login|--|alice", "login -- alice", "");
    says("/usr/sbin/sshd", "sshd: alice [priv]", "sshd", "");
    says("/usr/bin/sudo (deleted)", "sudo|id", "id", "root");
    says("/opt/sudo-1.9/bin/sudo", "sudo|id", "id", "root");
    /* Nothing known about the executable: nothing shown. */
    command_describe(NULL, "sudo\0id", 8, false, NULL, "alice", &ci);
    assert_false(ci.certain);
    assert_string_equal(ci.text, COMMAND_UNKNOWN);
    /* A command line longer than what was read. */
    command_describe(SUDO, "sudo\0id", 8, true, NULL, "alice", &ci);
    assert_false(ci.certain);
    assert_string_equal(ci.text, COMMAND_UNKNOWN_SUDO);
    command_describe(SUDO, "", 0, false, NULL, "alice", &ci);
    assert_string_equal(ci.text, COMMAND_UNKNOWN_SUDO);
    /* No final NUL. */
    command_describe(SUDO, "sudo\0id", 7, false, NULL, "alice", &ci);
    assert_string_equal(ci.text, "id");
}

static void test_full(void **state)
{
    struct command_info ci;
    (void)state;
    describe(SUDO, "sudo|LD_PRELOAD=/tmp/x y.so|/usr/bin/apt|it's|a\nb||ok", NULL, &ci);
    assert_string_equal(ci.full, "/usr/bin/apt +env:'LD_PRELOAD=/tmp/x y.so' 'it'\\''s' $'a\\nb' '' ok");
    assert_string_equal(ci.text, "/usr/bin/apt +env:LD_PRELOAD=/tmp/x_y.so it's a_b '' ok");
}

static void test_cut(void **state)
{
    struct command_info ci;
    char argv[8192], out[COMMAND_MAX + 1];
    size_t len;
    (void)state;

    /* Padding pushes words out: the program stays, the marker says how many went. */
    sudo_says("sudo|/tmp/evil|                                                  |x",
              "/tmp/evil __________________________________________________ x", NULL);
    assert_int_equal(command_cut("/tmp/evil apt upgrade now please", 24, out), strlen("/tmp/evil apt +3 more"));
    assert_string_equal(out, "/tmp/evil apt +3 more");
    /* Cutting a cut text adds to its marker. */
    command_cut("/tmp/evil apt +3 more", 17, out);
    assert_string_equal(out, "/tmp/evil +4 more");
    /* An absurdly long program is cut too, marked. */
    command_cut("/opt/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/prog x y", 30, out);
    assert_string_equal(out, "/opt/aaaaaaaaaaaaaa... +2 more");
    command_cut("/opt/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/prog", 12, out);
    assert_string_equal(out, "/opt/aaaa...");
    command_cut("ls -la /tmp", 8, out);
    assert_string_equal(out, "ls ...");
    command_cut("ls -la", 20, out);
    assert_string_equal(out, "ls -la");
    /* The "unknown" sentence is never cut into words. */
    command_cut(COMMAND_UNKNOWN_SUDO, 8, out);
    assert_string_equal(out, "unknown ");
    for (size_t cap = 1; cap < 40; cap++)
        assert_true(command_cut("/usr/bin/apt-get install -y some-package other", cap, out) <= cap);

    /* A long command: the short form is cut with a marker, the full form is whole. */
    len = 0;
    len += (size_t)sprintf(argv + len, "sudo") + 1;
    len += (size_t)sprintf(argv + len, "echo") + 1;
    for (int i = 0; i < 300; i++)
        len += (size_t)sprintf(argv + len, "word%d", i) + 1;
    command_describe(SUDO, argv, len, false, NULL, "alice", &ci);
    assert_true(strlen(ci.text) <= COMMAND_MAX);
    assert_non_null(strstr(ci.text, " more"));
    assert_int_equal(strncmp(ci.text, "echo word0 ", 11), 0);
    assert_non_null(strstr(ci.full, "word299"));
}

/* The binding message: target user, program first, cut by words. */
static void test_binding(void **state)
{
    struct command_info ci;
    char msg[BINDING_MESSAGE_MAX + 1];
    struct template_vars v = {"alice", "web01", NULL, "sudo", NULL, NULL, "K7QF", NULL, NULL, NULL, NULL, NULL, NULL};
    (void)state;

    describe(SUDO, "sudo|--pro|apt upgrade                                    |/tmp/evil", NULL, &ci);
    v.command = ci.text;
    v.target = ci.target;
    assert_int_equal(binding_message_build("%h sudo %u as %U: %C #%c", &v, msg), RES_OK);
    assert_string_equal(msg, "web01 sudo alice as root: _tmp_evil #K7QF");

    describe(SUDO, "sudo|-u|bob|/usr/bin/apt-get|install|-y|package-one|package-two|package-three", NULL, &ci);
    v.command = ci.text;
    v.target = ci.target;
    assert_int_equal(binding_message_build("%h sudo %u as %U: %C #%c", &v, msg), RES_OK);
    assert_string_equal(msg, "web01 sudo alice as bob: _usr_bin_apt-get install +4 more #K7QF");
    assert_true(strlen(msg) <= BINDING_MESSAGE_MAX);
}

static void test_self(void **state)
{
    struct command_info ci;
    (void)state;
    /* This test binary is not sudo: its own executable name comes first. */
    command_of_self(&ci);
    assert_true(ci.certain);
    assert_false(ci.is_sudo);
    assert_non_null(strstr(ci.text, "test_command"));
    assert_string_equal(ci.target, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sudo_plain),     cmocka_unit_test(test_sudo_options),
        cmocka_unit_test(test_sudo_forgeries), cmocka_unit_test(test_sudo_uncertain),
        cmocka_unit_test(test_sudo_modes),     cmocka_unit_test(test_identity),
        cmocka_unit_test(test_full),           cmocka_unit_test(test_cut),
        cmocka_unit_test(test_binding),        cmocka_unit_test(test_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
