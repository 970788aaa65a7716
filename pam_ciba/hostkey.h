/* The host's random MAC key in the runtime directory, shared by reuse records and limit counters. */
#ifndef PAM_CIBA_HOSTKEY_H
#define PAM_CIBA_HOSTKEY_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "result.h"

#define HOSTKEY_LEN 32
#define HOSTKEY_NAME "key"

/* HMAC-SHA256 of label (with its NUL, so labels keep uses apart) then data. */
bool hostkey_hmac(const unsigned char key[HOSTKEY_LEN], const char *label, const void *data, size_t len,
                  unsigned char out[32]);

/* n bytes as 2n lower-case hex digits and a NUL. */
void hostkey_hex(const unsigned char *b, size_t n, char *out);

/* Read dirfd/key (opened through safe_file: regular, owned by owner, mode 0600, exactly
 * HOSTKEY_LEN bytes). RES_DENIED: no key yet; RES_CONFIG: unsafe or wrong size. dirpath
 * is for messages only. */
result hostkey_read(int dirfd, const char *dirpath, uid_t owner, unsigned char key[HOSTKEY_LEN], char *why,
                    size_t whylen);

/* hostkey_read, creating the key when there is none: written under a temporary name and
 * linked into place, so concurrent logins agree on one key and never read half of one. */
result hostkey_make(int dirfd, const char *dirpath, uid_t owner, unsigned char key[HOSTKEY_LEN], char *why,
                    size_t whylen);

#endif
