/* application/x-www-form-urlencoded bodies and HTTP Basic credentials. */
#ifndef PAM_CIBA_FORM_H
#define PAM_CIBA_FORM_H
#include <stddef.h>
#include "result.h"

/* A growing form body; it may hold secrets, so form_free wipes it. */
struct form {
    char *buf;
    size_t len, cap;
    int failed; /* set on allocation failure; later adds are no-ops */
};

void form_init(struct form *f);
/* Append key=value, percent-encoding both. A NULL value skips the field. */
void form_add(struct form *f, const char *key, const char *value);
/* The encoded body, or NULL if an add failed. */
const char *form_body(const struct form *f);
void form_free(struct form *f);

/* Percent-encode s as RFC 6749 2.3.1 requires for Basic credentials. malloc'd. */
char *form_urlencode(const char *s);

/* "Basic base64(urlencode(id):urlencode(secret))" as a malloc'd header value. */
char *form_basic_auth(const char *id, const char *secret);

#endif
