/* base64url (RFC 4648 section 5) without padding, as JWTs use it. */
#ifndef PAM_CIBA_BASE64URL_H
#define PAM_CIBA_BASE64URL_H
#include <stddef.h>

/* Decode len characters of in. Returns a malloc'd buffer (NUL-terminated for
 * convenience) and its length in *outlen, or NULL on any invalid input. */
unsigned char *base64url_decode(const char *in, size_t len, size_t *outlen);

/* Encode len bytes; malloc'd NUL-terminated string, or NULL. */
char *base64url_encode(const unsigned char *in, size_t len);

#endif
