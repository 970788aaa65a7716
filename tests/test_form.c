/* Unit tests for pam_ciba/form.c: form encoding and Basic credentials (RFC 6749 2.3.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "form.h"

static void test_form(void **state)
{
    struct form f;
    (void)state;
    form_init(&f);
    assert_string_equal(form_body(&f), "");
    form_add(&f, "scope", "openid profile");
    form_add(&f, "skipped", NULL);
    form_add(&f, "login_hint", "{\"sub\":\"a&b=c\"}");
    form_add(&f, "x", "\xc3\xab~._-");
    assert_string_equal(form_body(&f),
                        "scope=openid%20profile&login_hint=%7B%22sub%22%3A%22a%26b%3Dc%22%7D&x=%C3%AB~._-");
    form_free(&f);
}

static void test_form_grows(void **state)
{
    struct form f;
    char big[5000];
    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    form_init(&f);
    for (int i = 0; i < 5; i++)
        form_add(&f, "k", big);
    assert_int_equal(strlen(form_body(&f)), 5 * (2 + 4999) + 4);
    form_free(&f);
}

static void test_basic(void **state)
{
    char *h;
    (void)state;
    h = form_basic_auth("client", "secret");
    assert_string_equal(h, "Basic Y2xpZW50OnNlY3JldA==");
    free(h);
    /* ':' and '%' in the secret are encoded before base64: "id%3Ax:p%3As%25" */
    h = form_basic_auth("id:x", "p:s%");
    assert_string_equal(h, "Basic aWQlM0F4OnAlM0FzJTI1");
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_form_grows),
        cmocka_unit_test(test_basic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
