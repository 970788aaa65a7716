/* Unit tests for pam_ciba/authz_details.c: templates inside JSON string values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz_details.h"
#include "command.h"

static const struct template_vars vars = {"alice", "web01", "web01.example.com", "sudo", "10.0.0.5", "/dev/pts/3",
                                          "K7QF", "/usr/bin/apt \"upgrade\" -y", "root",
                                          "/usr/bin/apt '\"upgrade\"' -y", "SHA256:ysBf1IM1",
                                          "SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ", "ED25519"};

static void test_expands_values(void **state)
{
    char *out = NULL;
    (void)state;
    assert_int_equal(authz_details_expand("[{\"type\":\"login\",\"host\":\"%H\",\"who\":\"%u on %t\","
                                          "\"n\":5,\"deep\":{\"list\":[\"%s\",\"%r\",true,null]}}]",
                                          &vars, &out), RES_OK);
    assert_string_equal(out, "[{\"type\":\"login\",\"host\":\"web01.example.com\",\"who\":\"alice on /dev/pts/3\","
                             "\"n\":5,\"deep\":{\"list\":[\"sudo\",\"10.0.0.5\",true,null]}}]");
    free(out);
}

/* %C carries the whole command (quotes and slashes intact, JSON-escaped) to the phone. */
/* The Auth0 Guardian shape from pam_ciba.conf(5): one object, "instruction" and
 * "properties"; the key's fingerprint arrives whole, '/' and '+' included. */
static void test_guardian_example_with_ssh_key(void **state)
{
    char *out = NULL;
    (void)state;
    assert_int_equal(authz_details_expand(
                         "[{\"type\":\"urn:auth0:schemas:authorization-details:v1:server-login\","
                         "\"instruction\":\"Approve the login of %u to %H\",\"properties\":{"
                         "\"source\":{\"display\":true,\"name\":\"From\",\"display_order\":\"1\",\"value\":\"%r\"},"
                         "\"key\":{\"display\":true,\"name\":\"SSH key\",\"display_order\":\"2\",\"value\":\"%T %K\"}}}]",
                         &vars, &out),
                     RES_OK);
    assert_string_equal(out, "[{\"type\":\"urn:auth0:schemas:authorization-details:v1:server-login\","
                             "\"instruction\":\"Approve the login of alice to web01.example.com\",\"properties\":{"
                             "\"source\":{\"display\":true,\"name\":\"From\",\"display_order\":\"1\",\"value\":\"10.0.0.5\"},"
                             "\"key\":{\"display\":true,\"name\":\"SSH key\",\"display_order\":\"2\","
                             "\"value\":\"ED25519 SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ\"}}}]");
    free(out);
}

static void test_command(void **state)
{
    char *out = NULL;
    (void)state;
    assert_int_equal(authz_details_expand("[{\"type\":\"sudo\",\"command\":\"%C\"}]", &vars, &out), RES_OK);
    assert_string_equal(out, "[{\"type\":\"sudo\",\"command\":\"/usr/bin/apt \\\"upgrade\\\" -y\"}]");
    free(out);
}

static void test_member_names_not_expanded(void **state)
{
    char *out = NULL;
    (void)state;
    assert_int_equal(authz_details_expand("[{\"type\":\"x\",\"%u\":\"%u\"}]", &vars, &out), RES_OK);
    assert_string_equal(out, "[{\"type\":\"x\",\"%u\":\"alice\"}]");
    free(out);
}

/* A hostile value (a user name or rhost full of JSON syntax) stays inside its string. */
static void test_hostile_values_stay_strings(void **state)
{
    struct template_vars v = vars;
    char *out = NULL;
    json_object *root, *o, *who;
    (void)state;
    v.user = "x\",\"type\":\"admin\"}, {\"a\":\"\\";
    v.rhost = "\n\t\001\xc3\xa9";
    assert_int_equal(authz_details_expand("[{\"type\":\"login\",\"who\":\"%u\",\"from\":\"%r\"}]", &v, &out),
                     RES_OK);
    root = json_tokener_parse(out);
    assert_non_null(root);
    assert_int_equal(json_object_array_length(root), 1);
    o = json_object_array_get_idx(root, 0);
    assert_int_equal(json_object_object_length(o), 3);
    assert_true(json_object_object_get_ex(o, "who", &who));
    assert_string_equal(json_object_get_string(who), v.user);
    /* Control characters from a login fact reach the phone as '?', like on the terminal. */
    assert_true(json_object_object_get_ex(o, "from", &who));
    assert_string_equal(json_object_get_string(who), "???\xc3\xa9");
    json_object_put(root);
    free(out);
}

/* The 256-byte cut must not leave half a UTF-8 character: providers refuse such JSON. */
static void test_cut_keeps_utf8_valid(void **state)
{
    struct template_vars v = vars;
    char big[1 + 2 * 200 + 1], *out = NULL;
    json_object *root, *who;
    const char *s;
    (void)state;
    big[0] = 'x';
    for (int i = 0; i < 200; i++)
        memcpy(big + 1 + 2 * i, "\xc3\xa9", 2); /* e-acute: the cut at 256 bytes splits one */
    big[sizeof(big) - 1] = '\0';
    v.rhost = big;
    assert_int_equal(authz_details_expand("[{\"type\":\"sudo\",\"cmd\":\"%r\"}]", &v, &out), RES_OK);
    root = json_tokener_parse(out);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(root, 0), "cmd", &who));
    s = json_object_get_string(who);
    assert_int_equal(strlen(s), 255); /* the split character is left out whole */
    assert_memory_equal(s, big, 255);
    json_object_put(root);
    free(out);
}

static void test_field_cap(void **state)
{
    struct template_vars v = vars;
    char big[1000], *out = NULL;
    json_object *root, *who;
    (void)state;
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    v.rhost = big;
    assert_int_equal(authz_details_expand("[{\"type\":\"t\",\"r\":\"%r\"}]", &v, &out), RES_OK);
    root = json_tokener_parse(out);
    assert_true(json_object_object_get_ex(json_object_array_get_idx(root, 0), "r", &who));
    assert_int_equal(strlen(json_object_get_string(who)), 256);
    json_object_put(root);
    free(out);
}

/* %F is the whole command from a real description: every argument, quoted, never cut at 256. */
static void test_full_command(void **state)
{
    struct template_vars v = vars;
    struct command_info ci;
    char argv[3000], *out = NULL;
    size_t len = 0;
    json_object *root, *o, *f;
    (void)state;
    len += (size_t)sprintf(argv + len, "sudo") + 1;
    len += (size_t)sprintf(argv + len, "-u") + 1;
    len += (size_t)sprintf(argv + len, "bob") + 1;
    len += (size_t)sprintf(argv + len, "LD_PRELOAD=/tmp/x.so") + 1;
    len += (size_t)sprintf(argv + len, "/usr/bin/apt") + 1;
    for (int i = 0; i < 100; i++)
        len += (size_t)sprintf(argv + len, "pkg%d", i) + 1;
    len += (size_t)sprintf(argv + len, "a \"quoted\" arg") + 1;
    command_describe("/usr/bin/sudo", argv, len, false, NULL, "alice", &ci);
    v.command = ci.text;
    v.target = ci.target;
    v.command_full = ci.full;
    assert_int_equal(authz_details_expand("[{\"type\":\"sudo\",\"command\":\"%F\",\"run_as\":\"%U\"}]", &v, &out),
                     RES_OK);
    root = json_tokener_parse(out);
    assert_non_null(root);
    o = json_object_array_get_idx(root, 0);
    assert_true(json_object_object_get_ex(o, "command", &f));
    assert_true(strlen(json_object_get_string(f)) > 256);
    assert_int_equal(strncmp(json_object_get_string(f), "/usr/bin/apt +env:LD_PRELOAD=/tmp/x.so pkg0 ", 44), 0);
    assert_non_null(strstr(json_object_get_string(f), "pkg99 'a \"quoted\" arg'"));
    assert_true(json_object_object_get_ex(o, "run_as", &f));
    assert_string_equal(json_object_get_string(f), "bob");
    json_object_put(root);
    free(out);
}

static void test_check(void **state)
{
    char why[200];
    (void)state;
    assert_int_equal(authz_details_check("[{\"type\":\"login\",\"h\":\"%h %% %c\"}]", why, sizeof(why)), RES_OK);
    assert_int_equal(authz_details_check("[{\"type\":\"login\",\"h\":\"%Q\"}]", why, sizeof(why)), RES_CONFIG);
    assert_non_null(strstr(why, "%Q"));
    assert_int_equal(authz_details_check("[{\"type\":\"login\",\"h\":[\"ok\",\"50%\"]}]", why, sizeof(why)),
                     RES_CONFIG);
    assert_int_equal(authz_details_check("[{", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(authz_details_check("[{\"type\":\"t\"}] x", why, sizeof(why)), RES_CONFIG);
    assert_int_equal(authz_details_check("[{\"type\":\"t\",\"u\":\"%u\\u0000%s\"}]", why, sizeof(why)),
                     RES_CONFIG);
}

static void test_literal_percent(void **state)
{
    char *out = NULL;
    (void)state;
    assert_int_equal(authz_details_expand("[{\"type\":\"t\",\"p\":\"100%%\"}]", &vars, &out), RES_OK);
    assert_string_equal(out, "[{\"type\":\"t\",\"p\":\"100%\"}]");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expands_values),
        cmocka_unit_test(test_guardian_example_with_ssh_key),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_member_names_not_expanded),
        cmocka_unit_test(test_hostile_values_stay_strings),
        cmocka_unit_test(test_field_cap),
        cmocka_unit_test(test_full_command),
        cmocka_unit_test(test_cut_keeps_utf8_valid),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_literal_percent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
