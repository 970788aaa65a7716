/* config_take_secret: the value libconfig would read, and text libconfig reads the same way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libconfig.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config_secret.h"

/* libconfig's own reading of the top-level string `key`, or NULL (malloc'd). */
static char *libconfig_value(const char *text, const char *key, bool *parsed)
{
    config_t lc;
    const char *v = NULL;
    char *out = NULL;

    config_init(&lc);
    *parsed = config_read_string(&lc, text) == CONFIG_TRUE;
    if (*parsed && config_lookup_string(&lc, key, &v) == CONFIG_TRUE)
        out = strdup(v);
    config_destroy(&lc);
    return out;
}

/* The oracle: ours equals libconfig's value of the original text, the blanked text parses
 * exactly when the original did, with the same settings, and holds no byte of the value
 * between quotes but 'x' and newlines. */
static void check_against_libconfig(const char *original, const char *want)
{
    char *text = strdup(original), *secret = NULL, *theirs, *after;
    bool parsed, parsed_after;

    assert_int_equal(config_take_secret(text, "client_secret", &secret), RES_OK);
    theirs = libconfig_value(original, "client_secret", &parsed);
    if (want) {
        assert_true(parsed);
        assert_non_null(secret);
        assert_non_null(theirs);
        assert_string_equal(theirs, want);
        assert_string_equal(secret, want);
    } else {
        assert_null(theirs);
    }
    if (parsed && theirs)
        assert_string_equal(secret, theirs);
    after = libconfig_value(text, "client_secret", &parsed_after);
    assert_int_equal(parsed, parsed_after);
    if (after) {
        if (secret)
            for (const char *c = after; *c; c++)
                assert_true(*c == 'x' || *c == '\n');
        else
            assert_string_equal(after, theirs);
    }
    if (secret && *secret && strlen(secret) > 3)
        assert_null(strstr(text, secret));
    free(text);
    free(secret);
    free(theirs);
    free(after);
}

static void test_plain(void **state)
{
    (void)state;
    check_against_libconfig("issuer = \"https://x/\";\nclient_secret = \"s3cr3t-value\";\nmax_wait = 5;\n",
                            "s3cr3t-value");
    check_against_libconfig("client_secret: \"colon\"", "colon");
    check_against_libconfig("client_secret=\"nospace\";", "nospace");
}

static void test_escapes_and_adjacent(void **state)
{
    (void)state;
    check_against_libconfig("client_secret = \"a\\\"b\\\\c\\n\\t\\x41\\x4a\\q\\x4\";", "a\"b\\c\n\tAJ\\q\\x4");
    check_against_libconfig("client_secret = \"part1\" /* c */ \"part2\" # x\n \"part3\";", "part1part2part3");
    check_against_libconfig("client_secret = \"two\nlines\";\nmax_wait = 5;", "two\nlines");
}

static void test_comments_and_strings_hide_the_key(void **state)
{
    (void)state;
    check_against_libconfig("# client_secret = \"no\"\n// client_secret = \"no\"\n/* client_secret = \"no\" */\n"
                            "message = \"client_secret = \\\"no\\\"\";\nclient_secret = \"yes\";",
                            "yes");
    check_against_libconfig("message = \"client_secret = \";", NULL);
}

static void test_nested_and_similar_names(void **state)
{
    (void)state;
    check_against_libconfig("g = { client_secret = \"inner\"; };\nclient_secret = \"outer\";", "outer");
    check_against_libconfig("my_client_secret = \"other\";\nclient_secret_file = \"/f\";", NULL);
    check_against_libconfig("l = ( { client_secret = \"x1\"; } );", NULL);
}

static void test_not_a_string(void **state)
{
    char text[] = "client_secret = 42;", *secret = (char *)"sentinel";
    (void)state;
    assert_int_equal(config_take_secret(text, "client_secret", &secret), RES_OK);
    assert_null(secret);
    assert_string_equal(text, "client_secret = 42;");
}

static void test_line_numbers_kept(void **state)
{
    char text[] = "client_secret = \"a\nb\nc\";\nbad bad;\n", *secret = NULL;
    config_t lc;
    (void)state;
    assert_int_equal(config_take_secret(text, "client_secret", &secret), RES_OK);
    config_init(&lc);
    assert_int_equal(config_read_string(&lc, text), CONFIG_FALSE);
    assert_int_equal(config_error_line(&lc), 4);
    config_destroy(&lc);
    free(secret);
}

static void test_unterminated(void **state)
{
    (void)state;
    check_against_libconfig("client_secret = \"open", NULL);
    check_against_libconfig("message = \"open\nclient_secret = \"v\";", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_escapes_and_adjacent),
        cmocka_unit_test(test_comments_and_strings_hide_the_key),
        cmocka_unit_test(test_nested_and_similar_names),
        cmocka_unit_test(test_not_a_string),
        cmocka_unit_test(test_line_numbers_kept),
        cmocka_unit_test(test_unterminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
