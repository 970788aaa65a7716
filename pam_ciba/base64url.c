/* base64url codec on top of OpenSSL's base64 block functions. */
#include "base64url.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

unsigned char *base64url_decode(const char *in, size_t len, size_t *outlen)
{
    size_t padded, pad;
    char *std;
    unsigned char *out;
    int n;

    if (len % 4 == 1 || len > (1u << 24))
        return NULL;
    pad = (4 - len % 4) % 4;
    padded = len + pad;
    std = malloc(padded + 1);
    out = malloc(padded / 4 * 3 + 1);
    if (!std || !out)
        goto fail;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            goto fail; /* '+', '/', '=' and anything else are not base64url */
        std[i] = c;
    }
    memset(std + len, '=', pad);
    std[padded] = '\0';
    n = padded ? EVP_DecodeBlock(out, (const unsigned char *)std, (int)padded) : 0;
    if (n < 0)
        goto fail;
    /* EVP_DecodeBlock counts padding as zero bytes. */
    *outlen = (size_t)n - pad;
    out[*outlen] = '\0';
    free(std);
    return out;
fail:
    free(std);
    free(out);
    return NULL;
}

char *base64url_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n;

    if (!out)
        return NULL;
    n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}
