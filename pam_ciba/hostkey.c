/* The runtime directory's MAC key: created once per boot, root-only, read through safe_file. */
#include "hostkey.h"
#include "safe_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool hostkey_hmac(const unsigned char key[HOSTKEY_LEN], const char *label, const void *data, size_t len,
                  unsigned char out[32])
{
    bool ok = false;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_END};
    size_t olen = 0;

    if (ctx && EVP_MAC_init(ctx, key, HOSTKEY_LEN, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)label, strlen(label) + 1) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)data, len) == 1)
        ok = EVP_MAC_final(ctx, out, &olen, 32) == 1 && olen == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok;
}

void hostkey_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

result hostkey_read(int dirfd, const char *dirpath, uid_t owner, unsigned char key[HOSTKEY_LEN], char *why,
                    size_t whylen)
{
    char err[512];
    struct stat st;
    ssize_t n;
    int fd;

    if (safe_file_openat(dirfd, dirpath, HOSTKEY_NAME, owner, SAFE_SECRET | SAFE_BINARY, &fd, &st, err,
                         sizeof(err)) != RES_OK) {
        bool missing = errno == ENOENT;
        snprintf(why, whylen, missing ? "no host key yet" : "the host key is not a root-only regular file");
        return missing ? RES_DENIED : RES_CONFIG;
    }
    n = st.st_size == HOSTKEY_LEN ? read(fd, key, HOSTKEY_LEN) : -1;
    close(fd);
    if (n != HOSTKEY_LEN) {
        snprintf(why, whylen, "the host key has the wrong size");
        return RES_CONFIG;
    }
    return RES_OK;
}

result hostkey_make(int dirfd, const char *dirpath, uid_t owner, unsigned char key[HOSTKEY_LEN], char *why,
                    size_t whylen)
{
    char tmp[64];
    unsigned char rnd[8];
    int fd;
    result r;

    r = hostkey_read(dirfd, dirpath, owner, key, why, whylen);
    if (r != RES_DENIED)
        return r;
    if (RAND_bytes(key, HOSTKEY_LEN) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(why, whylen, "no random bytes for the host key");
        return RES_INTERNAL;
    }
    memcpy(tmp, "tmp.", 4);
    hostkey_hex(rnd, sizeof(rnd), tmp + 4);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create the host key: %s", strerror(errno));
        return RES_CONFIG;
    }
    r = write(fd, key, HOSTKEY_LEN) == HOSTKEY_LEN && fsync(fd) == 0 ? RES_OK : RES_CONFIG;
    close(fd);
    if (r == RES_OK && linkat(dirfd, tmp, dirfd, HOSTKEY_NAME, 0) != 0)
        r = errno == EEXIST ? RES_DENIED : RES_CONFIG;
    unlinkat(dirfd, tmp, 0);
    if (r == RES_DENIED) /* another login won the race: use its key */
        return hostkey_read(dirfd, dirpath, owner, key, why, whylen);
    if (r != RES_OK)
        snprintf(why, whylen, "cannot write the host key");
    return r;
}
