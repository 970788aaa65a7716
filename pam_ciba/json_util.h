/* Strict JSON helpers shared by every parser of provider and config data. */
#ifndef PAM_CIBA_JSON_UTIL_H
#define PAM_CIBA_JSON_UTIL_H
#include <json-c/json.h>
#include <stddef.h>

/* Exactly one JSON value filling buf[0..len) (white space around it allowed); NULL for
 * anything else, including embedded NUL bytes and trailing data. */
json_object *json_parse_exact(const char *buf, size_t len);

/* json_parse_exact, and the value must be an object. */
json_object *json_parse_object(const char *buf, size_t len);

/* v as C text if it is a string without "\u0000" (which would cut every comparison
 * short: "alice\u0000x" must not equal "alice"), else NULL. */
const char *json_str(json_object *v);

/* json_str(o[key]). */
const char *json_get_str(json_object *o, const char *key);

/* Zero the bytes of o[key] if it is a string: json-c's copy of a secret. */
void json_wipe_member(json_object *o, const char *key);

#endif
