/* Login hint construction; JSON is produced by json-c, never by string pasting. */
#include "login_hint.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One '@' with something on both sides, no spaces or control characters. */
static bool looks_like_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

result login_hint_build(enum hint_format fmt, const char *issuer, const char *subject, char **out)
{
    json_object *o;
    const char *text;

    *out = NULL;
    if (!subject || !*subject)
        return RES_USER_UNKNOWN;
    if (fmt == HINT_EMAIL && !looks_like_email(subject))
        return RES_USER_UNKNOWN;
    if (fmt == HINT_PLAIN || fmt == HINT_EMAIL) {
        *out = strdup(subject);
        return *out ? RES_OK : RES_INTERNAL;
    }
    o = json_object_new_object();
    if (!o)
        return RES_INTERNAL;
    if (json_object_object_add(o, "format", json_object_new_string("iss_sub")) != 0 ||
        json_object_object_add(o, "iss", json_object_new_string(issuer)) != 0 ||
        json_object_object_add(o, "sub", json_object_new_string(subject)) != 0) {
        json_object_put(o);
        return RES_INTERNAL;
    }
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    *out = text ? strdup(text) : NULL;
    json_object_put(o);
    return *out ? RES_OK : RES_INTERNAL;
}
