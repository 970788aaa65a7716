/* Unit tests for pam_ciba/login_hint.c: JSON stays valid for any subject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "login_hint.h"

static void roundtrip(const char *sub)
{
    char *hint = NULL;
    json_object *o, *v;
    assert_int_equal(login_hint_build(HINT_ISS_SUB, "https://t.example/", sub, &hint), RES_OK);
    o = json_tokener_parse(hint);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "format", &v));
    assert_string_equal(json_object_get_string(v), "iss_sub");
    assert_true(json_object_object_get_ex(o, "iss", &v));
    assert_string_equal(json_object_get_string(v), "https://t.example/");
    assert_true(json_object_object_get_ex(o, "sub", &v));
    assert_string_equal(json_object_get_string(v), sub);
    assert_int_equal(json_object_object_length(o), 3);
    json_object_put(o);
    free(hint);
}

static void test_exact_shape(void **state)
{
    char *hint = NULL;
    (void)state;
    assert_int_equal(login_hint_build(HINT_ISS_SUB, "https://t.example/", "auth0|123", &hint), RES_OK);
    assert_string_equal(hint, "{\"format\":\"iss_sub\",\"iss\":\"https://t.example/\",\"sub\":\"auth0|123\"}");
    free(hint);
}

static void test_awkward_subjects(void **state)
{
    (void)state;
    roundtrip("alice");
    roundtrip("quo\"te");
    roundtrip("back\\slash");
    roundtrip("zo\xc3\xab");
    roundtrip("sp ace");
    roundtrip("\",\"sub\":\"root");
    roundtrip("tab\tnew\nline\x01");
}

static void test_plain_and_empty(void **state)
{
    char *hint = NULL;
    (void)state;
    assert_int_equal(login_hint_build(HINT_PLAIN, "https://t/", "alice@example.com", &hint), RES_OK);
    assert_string_equal(hint, "alice@example.com");
    free(hint);
    assert_int_equal(login_hint_build(HINT_ISS_SUB, "https://t/", "", &hint), RES_USER_UNKNOWN);
    assert_null(hint);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_shape),
        cmocka_unit_test(test_awkward_subjects),
        cmocka_unit_test(test_plain_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
