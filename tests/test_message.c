/* Unit tests for pam_ciba/message.c: the terminal text template. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "message.h"

static const struct template_vars vars = {"alice", "web01", "web01.example.com", "sudo", "10.0.0.5", "/dev/pts/3",
                                          "K7QF", "/usr/bin/apt \"upgrade\" -y", "root", NULL,
                                          NULL, NULL, NULL};

static void test_default(void **state)
{
    char out[MESSAGE_MAX];
    (void)state;
    assert_int_equal(message_check(MESSAGE_DEFAULT, out, sizeof(out)), RES_OK);
    assert_int_equal(message_build(MESSAGE_DEFAULT, &vars, "web01 login alice #K7QF", 118, out, sizeof(out)), RES_OK);
    assert_string_equal(out, "Approve the request \"web01 login alice #K7QF\" on your phone (expires in 118 s)");
}

static void test_all_escapes(void **state)
{
    char out[MESSAGE_MAX];
    (void)state;
    assert_int_equal(message_build("%u@%h (%H) %s from %r on %t: code %c, %b, %e s, 100%%", &vars, "B", 7,
                                   out, sizeof(out)), RES_OK);
    assert_string_equal(out, "alice@web01 (web01.example.com) sudo from 10.0.0.5 on /dev/pts/3: code K7QF, B, 7 s, 100%");
    assert_int_equal(message_build("sudo %C", &vars, "B", 7, out, sizeof(out)), RES_OK);
    assert_string_equal(out, "sudo /usr/bin/apt \"upgrade\" -y");
}

static void test_percent_in_values_is_literal(void **state)
{
    char out[MESSAGE_MAX];
    struct template_vars v = vars;
    (void)state;
    v.rhost = "%u%";
    assert_int_equal(message_build("[%b] [%r] %%b", &v, "50%u", 3, out, sizeof(out)), RES_OK);
    assert_string_equal(out, "[50%u] [%u%] %b");
}

static void test_control_characters_replaced(void **state)
{
    char out[MESSAGE_MAX];
    struct template_vars v = vars;
    (void)state;
    v.rhost = "evil\033[2J\r";
    assert_int_equal(message_build("from %r\nline two", &v, "x", 1, out, sizeof(out)), RES_OK);
    assert_string_equal(out, "from evil?[2J?\nline two");
}

static void test_negative_expiry_is_zero(void **state)
{
    char out[MESSAGE_MAX];
    (void)state;
    assert_int_equal(message_build("%e", &vars, "x", -4, out, sizeof(out)), RES_OK);
    assert_string_equal(out, "0");
}

static void test_truncates(void **state)
{
    char out[16];
    (void)state;
    assert_int_equal(message_build("%H %H %H", &vars, "x", 1, out, sizeof(out)), RES_OK);
    assert_int_equal(strlen(out), 15);
}

static void test_check_rejects(void **state)
{
    char why[200];
    (void)state;
    assert_int_equal(message_check("%q", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "%b %e"));
    assert_int_equal(message_check("trailing %", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(message_check("%%q is fine", why, sizeof(why)), RES_OK);
    assert_int_equal(message_check("%b %e %c", why, sizeof(why)), RES_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_all_escapes),
        cmocka_unit_test(test_percent_in_values_is_literal),
        cmocka_unit_test(test_control_characters_replaced),
        cmocka_unit_test(test_negative_expiry_is_zero),
        cmocka_unit_test(test_truncates),
        cmocka_unit_test(test_check_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
