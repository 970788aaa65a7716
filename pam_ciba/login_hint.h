/* Builds the CIBA login_hint for a subject in the configured format. */
#ifndef PAM_CIBA_LOGIN_HINT_H
#define PAM_CIBA_LOGIN_HINT_H
#include "config.h"
#include "result.h"

/* iss_sub: the Auth0 JSON {"format":"iss_sub","iss":issuer,"sub":subject}, built with
 * json-c so any subject stays valid JSON; plain: the subject itself; email: the subject,
 * which must look like an address (else RES_USER_UNKNOWN).
 * Returns a malloc'd string in *out. */
result login_hint_build(enum hint_format fmt, const char *issuer, const char *subject, char **out);

#endif
