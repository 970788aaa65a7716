/* Unit tests for pam_ciba/text.c and its use in template expansion: no control character
 * or malformed UTF-8 from a login fact survives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "authz_details.h"
#include "message.h"
#include "template.h"
#include "text.h"

/* Hostile values: C0 (ESC sequences, NUL cannot occur in a C string), DEL, C1 in both
 * forms (UTF-8 U+009B and a raw 0x9b byte), overlong forms, surrogates, past U+10FFFF. */
static const struct {
    const char *in;
    const char *clean;
} cases[] = {
    {"plain", "plain"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"},
    {"\x1b[2J\x1b]0;owned\x07", "?[2J?]0;owned?"},
    {"tab\there\nnew\rline", "tab?here?new?line"},
    {"del\x7f", "del?"},
    {"c1 \xc2\x9b" "2J", "c1 ?2J"},           /* U+009B CSI, UTF-8 encoded: one '?' */
    {"c1 \xc2\x80\xc2\x9f", "c1 ??"},
    {"raw \x9b" "2J", "raw ?2J"},             /* a lone 0x9b byte: 8-bit CSI */
    {"raw \x85", "raw ?"},
    {"\xc2\xa0ok", "\xc2\xa0ok"},             /* U+00A0 is printable */
    {"over \xc0\xaf", "over ??"},             /* overlong '/' */
    {"over \xe0\x80\xaf", "over ???"},
    {"over \xf0\x80\x80\xaf", "over ????"},
    {"over \xc1\x9b", "over ??"},             /* overlong C1 CSI */
    {"sur \xed\xa0\x80", "sur ???"},
    {"big \xf4\x90\x80\x80", "big ????"},
    {"cut \xe2\x82", "cut ??"},
    {"latin1 jos\xe9", "latin1 jos?"},
    {"\xff\xfe", "??"},
};

static void test_clean_and_sanitise(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = strdup(cases[i].in);
        bool same = strcmp(cases[i].in, cases[i].clean) == 0;
        if (text_is_clean(cases[i].in) != same)
            fail_msg("text_is_clean wrong for case %zu", i);
        text_sanitise(s);
        if (strcmp(s, cases[i].clean) != 0)
            fail_msg("case %zu: got \"%s\"", i, s);
        assert_true(text_is_clean(s));
        free(s);
    }
}

static void test_cut_keeps_characters_whole(void **state)
{
    (void)state;
    assert_int_equal(text_cut("ab\xc3\xa9", 3), 2);
    assert_int_equal(text_cut("ab\xc3\xa9", 4), 4);
    assert_int_equal(text_cut("a\xf0\x9f\x94\x91z", 4), 1);
    assert_int_equal(text_cut("a\xf0\x9f\x94\x91z", 5), 5);
    assert_int_equal(text_cut("abc", 2), 2);
    assert_int_equal(text_cut("abc", 10), 3);
}

/* Clean text apart from the template's own newlines. */
static bool hostile_free(const char *s)
{
    char *copy = strdup(s);
    bool ok;
    for (char *p = copy; *p; p++)
        if (*p == '\n')
            *p = ' ';
    ok = text_is_clean(copy);
    free(copy);
    return ok;
}

static void test_facts_sanitised_everywhere(void **state)
{
    const char *evil = "\x1b[2J\xc2\x9b" "31m\x9b\x7f\xc0\xaf\xe2\x82";
    struct template_vars v = {evil, evil, evil, evil, evil, evil, "K7QF", evil, evil, evil, evil, evil, evil};
    char *out = NULL, text[1024], bm[BINDING_MESSAGE_MAX + 1];
    (void)state;

    assert_int_equal(template_expand("%u|%h|%H|%s|%r|%t|%C|%U|%F", &v, 0, &out), RES_OK);
    assert_true(text_is_clean(out));
    assert_null(strchr(out, 0x1b));
    free(out);
    /* capped: a cut never leaves half a character */
    assert_int_equal(template_expand("%r", &(struct template_vars){.rhost = "ab\xc3\xa9\xc3\xa9"}, 3, &out), RES_OK);
    assert_string_equal(out, "ab");
    free(out);
    assert_int_equal(message_build("Approve %u from %r on %t\n%b (%e s)", &v, "code K7QF", 60, text, sizeof(text)),
                     RES_OK);
    assert_true(hostile_free(text));
    assert_int_equal(binding_message_build("%r %c", &v, bm), RES_OK);
    assert_true(text_is_clean(bm));
    assert_int_equal(authz_details_expand("[{\"type\":\"login\",\"rhost\":\"%r\",\"tty\":\"%t\"}]", &v, &out), RES_OK);
    /* json-c escapes controls as \u00XX; none may be there to escape */
    assert_null(strstr(out, "\\u00"));
    assert_true(text_is_clean(out));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_and_sanitise),
        cmocka_unit_test(test_cut_keeps_characters_whole),
        cmocka_unit_test(test_facts_sanitised_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
