/* The text shown on the user's terminal: the message template with %b and %e. */
#ifndef PAM_CIBA_MESSAGE_H
#define PAM_CIBA_MESSAGE_H
#include <stddef.h>
#include "result.h"
#include "template.h"

#define MESSAGE_DEFAULT "Approve the request \"%b\" on your phone (expires in %e s)"
#define MESSAGE_MAX 512

/* Valid message templates: every template.h escape plus %b (the binding message the
 * phone shows) and %e (seconds until the request expires). RES_CONFIG with why. */
result message_check(const char *tmpl, char *why, size_t whylen);

/* Expand tmpl into out (outlen bytes, truncated to fit). Control characters other than
 * newline and tab become '?', so no login fact can drive the user's terminal. */
result message_build(const char *tmpl, const struct template_vars *v, const char *binding,
                     long expires_in, char *out, size_t outlen);

#endif
