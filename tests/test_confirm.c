/* Unit tests for pam_ciba/confirm.c: comparing the typed code, the config rules of
 * confirm = "type", and masking the code out of what the terminal and the log show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "confirm.h"
#include "template.h"

static void test_right_code_matches(void **state)
{
    (void)state;
    assert_true(confirm_code_matches("K7QF", "K7QF"));
    /* What people type: lower case, blanks around, the '#' the phone shows before it. */
    assert_true(confirm_code_matches("k7qf", "K7QF"));
    assert_true(confirm_code_matches("  K7qF\t", "K7QF"));
    assert_true(confirm_code_matches("#K7QF", "K7QF"));
    assert_true(confirm_code_matches(" # k7qf ", "K7QF"));
}

static void test_wrong_answers_do_not_match(void **state)
{
    static const char *const wrong[] = {
        "", " ", "#", "\t#\t", "K7Q", "K7QFX", "K7QF K7QF", "K7 QF", "X7QF", "K7QG", "K7QF#", "##K7QF",
        "K7QF\n", "K7QF\r", "\xc2\xa0K7QF", "0K7QF", "KTQF",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        assert_false(confirm_code_matches(wrong[i], "K7QF"));
    /* The NUL ends the answer: what sshd or pamtester hand over is a C string. */
    assert_true(confirm_code_matches("K7QF\x00trailing", "K7QF"));
    assert_false(confirm_code_matches(NULL, "K7QF"));
    assert_false(confirm_code_matches("K7QF", NULL));
    assert_false(confirm_code_matches("", ""));
}

static void test_overlong_answer_refused(void **state)
{
    char big[4096];
    (void)state;
    memset(big, ' ', sizeof(big));
    memcpy(big + sizeof(big) - 6, "K7QF ", 5);
    big[sizeof(big) - 1] = '\0';
    /* Blanks around the code are fine, but not 4 KiB of them: refused unread. */
    assert_false(confirm_code_matches(big, "K7QF"));
    memset(big, ' ', CONFIRM_ANSWER_MAX);
    memcpy(big + CONFIRM_ANSWER_MAX - 4, "K7QF", 4);
    big[CONFIRM_ANSWER_MAX] = '\0';
    assert_true(confirm_code_matches(big, "K7QF"));
}

static void test_generated_codes_match_themselves_only(void **state)
{
    char a[BINDING_CODE_LEN + 1], b[BINDING_CODE_LEN + 1];
    int same = 0;
    (void)state;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(binding_code_generate(a), RES_OK);
        assert_int_equal(binding_code_generate(b), RES_OK);
        assert_true(confirm_code_matches(a, a));
        if (strcmp(a, b) == 0)
            same++;
        else
            assert_false(confirm_code_matches(a, b));
        /* No look-alikes: 0/O and 1/I never appear, so none has to be guessed. */
        assert_null(strpbrk(a, "01OI"));
    }
    assert_true(same <= 1); /* 20 bits: two equal codes in 200 pairs would be very unusual */
}

static void test_answer_empty(void **state)
{
    (void)state;
    assert_true(confirm_answer_empty(NULL));
    assert_true(confirm_answer_empty(""));
    assert_true(confirm_answer_empty("  \t"));
    assert_true(confirm_answer_empty(" # "));
    assert_false(confirm_answer_empty("x"));
    assert_false(confirm_answer_empty("#K7QF"));
}

static void test_config_rules(void **state)
{
    const char *key = NULL;
    char why[256];
    (void)state;
    assert_int_equal(confirm_check_config("%h login %u #%c", "Approve \"%b\" (%e s)", &key, why, sizeof(why)),
                     RES_OK);
    /* No code on the phone: nothing to type. A literal "%%c" is not the code. */
    assert_int_equal(confirm_check_config("%h login %u", "x", &key, why, sizeof(why)), RES_CONFIG);
    assert_string_equal(key, "binding_message");
    assert_non_null(strstr(why, "%c"));
    assert_int_equal(confirm_check_config("%h login %%c", "x", &key, why, sizeof(why)), RES_CONFIG);
    assert_int_equal(confirm_check_config("%%%c", "x", &key, why, sizeof(why)), RES_OK);
    /* The code on the terminal would defeat the point. */
    key = NULL;
    assert_int_equal(confirm_check_config("#%c", "type %c", &key, why, sizeof(why)), RES_CONFIG);
    assert_string_equal(key, "message");
    assert_int_equal(confirm_check_config("#%c", "100%% sure, %b", &key, why, sizeof(why)), RES_OK);
    assert_int_equal(confirm_check_config("#%c", "100%%c", &key, why, sizeof(why)), RES_OK);
    assert_int_equal(confirm_check_config("#%c", "trailing %", &key, why, sizeof(why)), RES_OK);
}

static void test_mask(void **state)
{
    char out[BINDING_MESSAGE_MAX + 1];
    (void)state;
    confirm_mask("web01 login alice #K7QF", "K7QF", out, sizeof(out));
    assert_string_equal(out, "web01 login alice #****");
    confirm_mask("K7QF K7QFK7QF", "K7QF", out, sizeof(out));
    assert_string_equal(out, "**** ********");
    confirm_mask("no code here", "K7QF", out, sizeof(out));
    assert_string_equal(out, "no code here");
    confirm_mask("short", "", out, sizeof(out));
    assert_string_equal(out, "short");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_right_code_matches),
        cmocka_unit_test(test_wrong_answers_do_not_match),
        cmocka_unit_test(test_overlong_answer_refused),
        cmocka_unit_test(test_generated_codes_match_themselves_only),
        cmocka_unit_test(test_answer_empty),
        cmocka_unit_test(test_config_rules),
        cmocka_unit_test(test_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
