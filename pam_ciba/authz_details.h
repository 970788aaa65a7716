/* authorization_details with template escapes in its JSON string values. */
#ifndef PAM_CIBA_AUTHZ_DETAILS_H
#define PAM_CIBA_AUTHZ_DETAILS_H
#include <stddef.h>
#include "result.h"
#include "template.h"

/* RES_OK if json_text parses and every string value is a valid template. */
result authz_details_check(const char *json_text, char *why, size_t whylen);

/* Parse json_text, expand the template escapes in every string value (never in member
 * names), and serialise it again: values cannot break out of their JSON strings. Each
 * variable but %F (the whole command, up to 4 KiB) is cut to 256 bytes, on a UTF-8
 * character boundary; control characters and bytes that are not well-formed UTF-8
 * become '?' (template_expand). Returns a malloc'd compact JSON text in *out. */
result authz_details_expand(const char *json_text, const struct template_vars *v, char **out);

#endif
