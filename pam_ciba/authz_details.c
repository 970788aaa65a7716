/* Expands templates inside authorization_details on the parsed JSON tree (json-c). */
#include "authz_details.h"
#include "text.h"
#include "json_util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_CAP 256

/* check: v == NULL validates templates; otherwise each string is replaced by its expansion. */
static result walk(json_object *o, const struct template_vars *v, char *why, size_t whylen)
{
    result r = RES_OK;

    switch (json_object_get_type(o)) {
    case json_type_string: {
        char *expanded = NULL;
        const char *s = json_str(o);
        if (!s) {
            snprintf(why, whylen, "a string value holds \\u0000");
            return RES_CONFIG;
        }
        if (!v)
            return template_check(s, why, whylen);
        r = template_expand(s, v, FIELD_CAP, &expanded);
        /* The facts are clean already; the admin's own text may hold "\u0001" too. */
        if (r == RES_OK)
            text_sanitise(expanded);
        if (r == RES_OK && json_object_set_string(o, expanded) != 1)
            r = RES_INTERNAL;
        free(expanded);
        return r;
    }
    case json_type_array:
        for (size_t i = 0; r == RES_OK && i < json_object_array_length(o); i++)
            r = walk(json_object_array_get_idx(o, i), v, why, whylen);
        return r;
    case json_type_object: {
        json_object_object_foreach(o, key, val) {
            (void)key;
            if (r == RES_OK && val)
                r = walk(val, v, why, whylen);
        }
        return r;
    }
    default:
        return RES_OK;
    }
}

static result run(const char *json_text, const struct template_vars *v, char **out, char *why, size_t whylen)
{
    json_object *root = json_parse_exact(json_text, strlen(json_text));
    result r;

    if (!root) {
        snprintf(why, whylen, "not valid JSON");
        return RES_CONFIG;
    }
    r = walk(root, v, why, whylen);
    if (r == RES_OK && out) {
        const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || !(*out = strdup(s)))
            r = RES_INTERNAL;
    }
    json_object_put(root);
    return r;
}

result authz_details_check(const char *json_text, char *why, size_t whylen)
{
    result r = run(json_text, NULL, NULL, why, whylen);
    if (r == RES_CONFIG) {
        size_t n = strlen(why);
        snprintf(why + n, whylen - n, " (in a string value of authorization_details)");
    }
    return r;
}

result authz_details_expand(const char *json_text, const struct template_vars *v, char **out)
{
    char why[128];
    static const struct template_vars none;

    *out = NULL;
    return run(json_text, v ? v : &none, out, why, sizeof(why));
}
