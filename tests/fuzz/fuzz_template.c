/* libFuzzer target: template_check/template_expand, binding_message_build and the
 * iss_sub login hint. Input: NUL-separated fields: template, user, host, service,
 * rhost, tty. Oracles: a binding message is 1..64 characters from Auth0's set; the
 * login hint is JSON whose sub is exactly the expanded subject. */
#include "fuzz_common.h"
#include "login_hint.h"
#include "template.h"

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int allowed(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr(" +-_.,:#", c) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *field[6] = {0}, *p, why[256], msg[BINDING_MESSAGE_MAX + 1];
    char *expanded = NULL, *hint = NULL;
    struct template_vars v;
    size_t len;
    int n = 0;

    memcpy(buf, data, size);
    buf[size] = '\0';
    for (p = buf; n < 6 && p <= buf + size; p += strlen(p) + 1)
        field[n++] = p;
    v = (struct template_vars){field[1], field[2], field[3], field[4], field[5], field[2] ? "K7QF" : NULL,
                               "K7QF"};
    /* %k %K %T (often empty: the binding message makes each run of spaces one) */
    v.key_short = field[5];
    v.key_full = field[4];
    v.key_type = field[3];
    if (template_check(field[0], why, sizeof(why)) == RES_OK) {
        if (template_expand(field[0], &v, size % 3 ? 0 : 16, &expanded) == RES_OK && strlen(expanded) < 4096) {
            if (login_hint_build(HINT_ISS_SUB, "https://t.example/", expanded, &hint) == RES_OK) {
                json_object *o = json_tokener_parse(hint), *sub;
                FUZZ_ASSERT(o && json_object_object_get_ex(o, "sub", &sub));
                FUZZ_ASSERT((size_t)json_object_get_string_len(sub) == strlen(expanded));
                FUZZ_ASSERT(memcmp(json_object_get_string(sub), expanded, strlen(expanded)) == 0);
                json_object_put(o);
                free(hint);
            }
        }
        free(expanded);
        if (binding_message_build(field[0], &v, msg) == RES_OK) {
            len = strlen(msg);
            FUZZ_ASSERT(len >= 1 && len <= BINDING_MESSAGE_MAX);
            for (size_t i = 0; i < len; i++)
                FUZZ_ASSERT(allowed((unsigned char)msg[i]));
        }
    }
    free(buf);
    return 0;
}
