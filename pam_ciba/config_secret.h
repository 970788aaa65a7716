/* Takes an inline secret out of config text before libconfig sees it. */
#ifndef PAM_CIBA_CONFIG_SECRET_H
#define PAM_CIBA_CONFIG_SECRET_H
#include "result.h"

/* libconfig copies every string it scans into buffers it frees without wiping, so an
 * inline client_secret would stay in the host's freed heap. This finds the top-level
 * setting `key` (followed by '=' or ':' and one or more adjacent string literals) in
 * libconfig text, decodes its value as libconfig would (escapes \\ \" \n \r \t \f \xHH,
 * adjacent literals joined) into *secret, and overwrites every byte between the quotes
 * of those literals with 'x' in place, so libconfig still parses the same settings on
 * the same lines. *secret is NULL when the key is absent or its value is not a string
 * (libconfig then reports the type). RES_INTERNAL only when out of memory; the caller
 * wipes *secret. */
result config_take_secret(char *text, const char *key, char **secret);

#endif
