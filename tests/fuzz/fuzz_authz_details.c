/* libFuzzer target: authz_details_check and authz_details_expand (authorization_details
 * templates) with hostile login facts. Input: NUL-separated fields: the JSON template,
 * then user, short host, full host, service, rhost, tty and command. Oracles: check and
 * expand agree on which templates are valid; the output is JSON with the template's exact
 * structure (same types, array lengths, member names in order, non-string values) where
 * only string values changed; each string value is its template expansion, valid UTF-8
 * without control characters, and unchanged when the expansion already was. */
#include "authz_details.h"
#include "fuzz_common.h"
#include "json_util.h"
#include "template.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFIELDS 8
#define FIELD_CAP 256 /* authz_details.h: each variable is cut to 256 bytes */

/* Well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF)
 * without C0, DEL or C1 control characters. */
static bool clean_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, cp = c & 0x07;
        else
            return false;
        if (i + n > len)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += n;
    }
    return true;
}

/* out must be tmpl with only its string values replaced by their (cleaned) expansions. */
static bool is_number(json_object *o)
{
    return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

static void same_shape(json_object *tmpl, json_object *out, const struct template_vars *v)
{
    /* json-c's lenient number syntax ("26e", "NaN") is re-serialised in standard form, so
     * a number may come back as the other number type; it stays a number. */
    if (is_number(tmpl)) {
        FUZZ_ASSERT(is_number(out));
        return;
    }
    FUZZ_ASSERT(json_object_get_type(tmpl) == json_object_get_type(out));
    switch (json_object_get_type(tmpl)) {
    case json_type_string: {
        const char *got = json_object_get_string(out), *t = json_str(tmpl);
        size_t len = (size_t)json_object_get_string_len(out);
        char *raw = NULL;
        FUZZ_ASSERT(t && strlen(got) == len); /* no \u0000 in the output */
        FUZZ_ASSERT(template_expand(t, v, FIELD_CAP, &raw) == RES_OK);
        FUZZ_ASSERT(clean_utf8((const unsigned char *)got, len));
        FUZZ_ASSERT(len <= strlen(raw));
        if (clean_utf8((const unsigned char *)raw, strlen(raw)))
            FUZZ_ASSERT(strcmp(raw, got) == 0);
        free(raw);
        break;
    }
    case json_type_array:
        FUZZ_ASSERT(json_object_array_length(tmpl) == json_object_array_length(out));
        for (size_t i = 0; i < json_object_array_length(tmpl); i++)
            same_shape(json_object_array_get_idx(tmpl, i), json_object_array_get_idx(out, i), v);
        break;
    case json_type_object: {
        struct json_object_iterator a = json_object_iter_begin(tmpl), ae = json_object_iter_end(tmpl);
        struct json_object_iterator b = json_object_iter_begin(out), be = json_object_iter_end(out);
        FUZZ_ASSERT(json_object_object_length(tmpl) == json_object_object_length(out));
        for (; !json_object_iter_equal(&a, &ae); json_object_iter_next(&a), json_object_iter_next(&b)) {
            FUZZ_ASSERT(!json_object_iter_equal(&b, &be));
            FUZZ_ASSERT(strcmp(json_object_iter_peek_name(&a), json_object_iter_peek_name(&b)) == 0);
            same_shape(json_object_iter_peek_value(&a), json_object_iter_peek_value(&b), v);
        }
        break;
    }
    default:
        FUZZ_ASSERT(json_object_equal(tmpl, out));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *field[NFIELDS] = {0}, *p, why[256], *out = NULL;
    struct template_vars v;
    result checked, expanded;
    int n = 0;

    FUZZ_ASSERT(buf);
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (p = buf; n < NFIELDS && p <= buf + size; p += strlen(p) + 1)
        field[n++] = p;
    v = (struct template_vars){.user = field[1], .host_short = field[2], .host_full = field[3],
                               .service = field[4], .rhost = field[5], .tty = field[6], .code = "K7QF",
                               .command = field[7]};
    checked = authz_details_check(field[0], why, sizeof(why));
    expanded = authz_details_expand(field[0], &v, &out);
    FUZZ_ASSERT(checked == RES_OK || checked == RES_CONFIG);
    FUZZ_ASSERT((checked == RES_OK) == (expanded == RES_OK));
    if (expanded == RES_OK) {
        json_object *t = json_parse_exact(field[0], strlen(field[0])), *o;
        FUZZ_ASSERT(out && t);
        /* Raw control characters are not JSON (a DEL is, and may be in a member name). */
        for (const unsigned char *q = (const unsigned char *)out; *q; q++)
            FUZZ_ASSERT(*q >= 0x20);
        /* json-c ends a top-level number only at a delimiter, so json_parse_exact refuses
         * a bare "2"; a newline after it is still the whole buffer. (The config only
         * accepts an array, so the module never meets a bare number here.) */
        {
            size_t len = strlen(out);
            char *text = malloc(len + 2);
            FUZZ_ASSERT(text);
            memcpy(text, out, len);
            memcpy(text + len, "\n", 2);
            o = json_parse_exact(text, len + 1);
            free(text);
        }
        FUZZ_ASSERT(o != NULL);
        same_shape(t, o, &v);
        json_object_put(o);
        json_object_put(t);
    } else {
        FUZZ_ASSERT(out == NULL);
    }
    free(out);
    free(buf);
    return 0;
}
