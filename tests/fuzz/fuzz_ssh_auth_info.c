/* libFuzzer target: ssh_auth_info_parse (SSH_AUTH_INFO_0 as sshd puts it in the PAM
 * environment). Input: the text, up to the first NUL (what pam_getenv returns).
 * Oracles, checked against an independent reading (OpenSSL's base64 decoder and SHA-256):
 * a key is shown only if the text has a line "publickey TYPE BASE64..." at the line the
 * parser names, no earlier publickey line, and the fingerprint is SHA-256 of the blob that
 * BASE64 decodes to, verbatim (a certificate: of the certified key rebuilt from its type
 * and bytes that appear verbatim in that blob); the short form is its prefix; the blob's
 * first string is TYPE. Otherwise every field is empty. */
#include "fuzz_common.h"
#include "ssh_auth_info.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Line number n (from 0) of text, NUL-terminated in a copy; NULL if there is none. */
static char *nth_line(const char *text, size_t n)
{
    const char *p = text, *eol;
    for (size_t i = 0; i < n; i++) {
        if (!(p = strchr(p, '\n')))
            return NULL;
        p++;
    }
    eol = strchr(p, '\n');
    return strndup(p, eol ? (size_t)(eol - p) : strlen(p));
}

static void fp_of(const unsigned char *prefix, size_t plen, const unsigned char *b, size_t blen,
                  char out[SSH_FP_LEN + 1])
{
    unsigned char md[32], enc[45];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    FUZZ_ASSERT(ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
    FUZZ_ASSERT(EVP_DigestUpdate(ctx, prefix, plen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1);
    FUZZ_ASSERT(EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32);
    EVP_MD_CTX_free(ctx);
    FUZZ_ASSERT(EVP_EncodeBlock(enc, md, 32) == 44);
    snprintf(out, SSH_FP_LEN + 1, "SHA256:%.43s", (const char *)enc);
}

static void check_key(const char *text, const struct ssh_key_info *k)
{
    char *line = nth_line(text, k->line), *type, *b64, *end, fp[SSH_FP_LEN + 1];
    unsigned char *blob;
    size_t n, pad = 0;
    int got;

    /* no earlier publickey line */
    for (size_t i = 0; i < k->line; i++) {
        char *l = nth_line(text, i);
        FUZZ_ASSERT(l && !(strncmp(l, "publickey", 9) == 0 && (l[9] == ' ' || l[9] == '\0')));
        free(l);
    }
    FUZZ_ASSERT(line && strncmp(line, "publickey ", 10) == 0);
    type = line + 10;
    b64 = strchr(type, ' ');
    FUZZ_ASSERT(b64 && b64 > type);
    *b64++ = '\0';
    end = b64 + strcspn(b64, " ");
    *end = '\0';
    n = strlen(b64);
    FUZZ_ASSERT(n >= 4 && n % 4 == 0);
    blob = malloc(n);
    FUZZ_ASSERT(blob);
    got = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n);
    FUZZ_ASSERT(got >= 0);
    while (pad < 2 && b64[n - 1 - pad] == '=')
        pad++;
    got -= (int)pad;
    /* the blob's first string is the declared type */
    FUZZ_ASSERT(got >= 4);
    {
        size_t tl = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
        FUZZ_ASSERT(tl == strlen(type) && tl <= (size_t)got - 4 && memcmp(blob + 4, type, tl) == 0);
    }
    if (!k->cert) {
        fp_of(NULL, 0, blob, (size_t)got, fp);
    } else {
        unsigned char prefix[4 + 64];
        size_t pl = strlen(k->plain_type);
        FUZZ_ASSERT(k->plain_type && pl <= 64 && strstr(type, "-cert-v01@openssh.com"));
        FUZZ_ASSERT(k->plain_off <= (size_t)got && k->plain_len <= (size_t)got - k->plain_off);
        FUZZ_ASSERT(k->plain_len > 0);
        prefix[0] = prefix[1] = 0;
        prefix[2] = (unsigned char)(pl >> 8);
        prefix[3] = (unsigned char)pl;
        memcpy(prefix + 4, k->plain_type, pl);
        fp_of(prefix, 4 + pl, blob + k->plain_off, k->plain_len, fp);
    }
    FUZZ_ASSERT(strcmp(fp, k->fingerprint) == 0);
    FUZZ_ASSERT(strlen(k->fingerprint_short) == SSH_FP_SHORT_LEN &&
                strncmp(k->fingerprint_short, k->fingerprint, SSH_FP_SHORT_LEN) == 0);
    FUZZ_ASSERT(k->type[0] != '\0' && k->keys >= 1);
    free(blob);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = strndup((const char *)data, size);
    struct ssh_key_info k, again;
    enum ssh_auth_info_status st;

    FUZZ_ASSERT(text);
    memset(&k, 0x5a, sizeof(k)); /* whatever was there before is overwritten */
    st = ssh_auth_info_parse(text, &k);
    if (st == SSH_AUTH_INFO_KEY) {
        check_key(text, &k);
    } else {
        FUZZ_ASSERT(k.fingerprint[0] == '\0' && k.fingerprint_short[0] == '\0' && k.type[0] == '\0');
        FUZZ_ASSERT(k.keys == 0);
    }
    /* the same answer twice: no hidden state */
    FUZZ_ASSERT(ssh_auth_info_parse(text, &again) == st);
    FUZZ_ASSERT(strcmp(again.fingerprint, k.fingerprint) == 0);
    free(text);
    return 0;
}
