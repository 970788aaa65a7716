/* Parses SSH_AUTH_INFO_0 into the fingerprint ssh-keygen -l would print; tells sshd logins apart. */
#include "ssh_auth_info.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The key types OpenSSH writes. fields: the SSH strings that make up the public key
 * after its type (after the nonce, for a certificate). A certificate's fingerprint is
 * the certified key's (ssh-keygen -l and sshd's log agree), built from plain and the
 * same fields. */
struct key_kind {
    const char *name;
    const char *label; /* as ssh-keygen -l and sshd's log show it */
    const char *plain; /* for a certificate: the certified key's type; NULL otherwise */
    unsigned fields;
    const char *curve; /* the first field must be this curve name */
    size_t pk_len;     /* or the first field is an Ed25519 key of this many bytes */
};

static const struct key_kind kinds[] = {
    {"ssh-ed25519", "ED25519", NULL, 1, NULL, 32},
    {"ssh-rsa", "RSA", NULL, 2, NULL, 0},
    {"ecdsa-sha2-nistp256", "ECDSA", NULL, 2, "nistp256", 0},
    {"ecdsa-sha2-nistp384", "ECDSA", NULL, 2, "nistp384", 0},
    {"ecdsa-sha2-nistp521", "ECDSA", NULL, 2, "nistp521", 0},
    {"sk-ssh-ed25519@openssh.com", "ED25519-SK", NULL, 2, NULL, 32},
    {"sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK", NULL, 3, "nistp256", 0},
    {"ssh-dss", "DSA", NULL, 4, NULL, 0},
    {"ssh-ed25519-cert-v01@openssh.com", "ED25519-CERT", "ssh-ed25519", 1, NULL, 32},
    {"ssh-rsa-cert-v01@openssh.com", "RSA-CERT", "ssh-rsa", 2, NULL, 0},
    {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ECDSA-CERT", "ecdsa-sha2-nistp256", 2, "nistp256", 0},
    {"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ECDSA-CERT", "ecdsa-sha2-nistp384", 2, "nistp384", 0},
    {"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ECDSA-CERT", "ecdsa-sha2-nistp521", 2, "nistp521", 0},
    {"sk-ssh-ed25519-cert-v01@openssh.com", "ED25519-SK-CERT", "sk-ssh-ed25519@openssh.com", 2, NULL, 32},
    {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "ECDSA-SK-CERT", "sk-ecdsa-sha2-nistp256@openssh.com", 3,
     "nistp256", 0},
    {"ssh-dss-cert-v01@openssh.com", "DSA-CERT", "ssh-dss", 4, NULL, 0},
};

#define SSH2_CERT_TYPE_USER 1

static const struct key_kind *kind_named(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(kinds[i].name) == len && memcmp(kinds[i].name, name, len) == 0)
            return &kinds[i];
    return NULL;
}

struct reader {
    const unsigned char *p;
    size_t left;
};

static bool take(struct reader *r, size_t n, const unsigned char **at)
{
    if (n > r->left)
        return false;
    if (at)
        *at = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

/* An SSH string: a 32-bit big-endian length, then that many bytes. */
static bool take_string(struct reader *r, const unsigned char **s, size_t *len)
{
    const unsigned char *b;
    uint32_t n;

    if (!take(r, 4, &b))
        return false;
    n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    *len = n;
    return take(r, n, s);
}

static bool string_is(const unsigned char *s, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* The rest of a certificate after its key: serial, type, key id, principals, validity,
 * critical options, extensions, reserved, signature key, signature; nothing after. */
static bool cert_tail(struct reader *r)
{
    const unsigned char *s;
    size_t len;

    if (!take(r, 8, NULL) || !take(r, 4, &s))
        return false;
    if (((uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3]) != SSH2_CERT_TYPE_USER)
        return false; /* a host certificate does not log a user in */
    if (!take_string(r, &s, &len) || !take_string(r, &s, &len) || !take(r, 16, NULL))
        return false;
    for (int i = 0; i < 5; i++)
        if (!take_string(r, &s, &len))
            return false;
    return r->left == 0;
}

/* The blob must be exactly a key (or user certificate) of the declared kind. */
static bool parse_blob(const unsigned char *blob, size_t len, const struct key_kind *k, size_t *plain_off,
                       size_t *plain_len)
{
    struct reader r = {blob, len};
    const unsigned char *s;
    size_t slen;

    if (!take_string(&r, &s, &slen) || !string_is(s, slen, k->name))
        return false;
    if (k->plain && !take_string(&r, &s, &slen)) /* the nonce */
        return false;
    *plain_off = (size_t)(r.p - blob);
    for (unsigned i = 0; i < k->fields; i++) {
        if (!take_string(&r, &s, &slen))
            return false;
        if (i == 0 && k->curve && !string_is(s, slen, k->curve))
            return false;
        if (i == 0 && k->pk_len && slen != k->pk_len)
            return false;
    }
    *plain_len = (size_t)(r.p - blob) - *plain_off;
    return k->plain ? cert_tail(&r) : r.left == 0;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 as OpenSSH writes it: padded, no blanks, the unused bits zero, so that
 * exactly one text stands for each blob. */
static bool b64_decode(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
    size_t pad = 0, o = 0;

    if (n == 0 || n % 4 != 0)
        return false;
    while (pad < 2 && in[n - 1 - pad] == '=')
        pad++;
    if ((n / 4) * 3 - pad > cap)
        return false;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        uint32_t w = 0;
        size_t real = i + 4 == n ? 4 - pad : 4;
        for (size_t j = 0; j < 4; j++) {
            v[j] = j < real ? b64_value((unsigned char)in[i + j]) : 0;
            if (v[j] < 0)
                return false;
            w = w << 6 | (uint32_t)v[j];
        }
        if ((real == 3 && (v[2] & 3)) || (real == 2 && (v[1] & 15)))
            return false; /* stray bits: not how any encoder writes it */
        out[o++] = (unsigned char)(w >> 16);
        if (real > 2)
            out[o++] = (unsigned char)(w >> 8);
        if (real > 3)
            out[o++] = (unsigned char)w;
    }
    *outlen = o;
    return true;
}

/* SHA-256 over the key's own blob: the whole blob, or for a certificate the certified
 * key rebuilt from its type and fields. Written as SHA256:base64 without padding. */
static bool fingerprint(const unsigned char *blob, size_t len, const struct key_kind *k, size_t off, size_t flen,
                        char out[SSH_FP_LEN + 1])
{
    unsigned char md[32], prefix[4], b64[45];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

    if (ok && k->plain) {
        size_t n = strlen(k->plain);
        prefix[0] = 0;
        prefix[1] = 0;
        prefix[2] = (unsigned char)(n >> 8);
        prefix[3] = (unsigned char)n;
        ok = EVP_DigestUpdate(ctx, prefix, 4) == 1 && EVP_DigestUpdate(ctx, k->plain, n) == 1 &&
             EVP_DigestUpdate(ctx, blob + off, flen) == 1;
    } else if (ok) {
        ok = EVP_DigestUpdate(ctx, blob, len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof(md);
    EVP_MD_CTX_free(ctx);
    if (!ok || EVP_EncodeBlock(b64, md, sizeof(md)) != 44)
        return false;
    memcpy(out, SSH_FP_PREFIX, sizeof(SSH_FP_PREFIX) - 1);
    memcpy(out + sizeof(SSH_FP_PREFIX) - 1, b64, 43); /* the 44th is the '=' pad */
    out[SSH_FP_LEN] = '\0';
    return true;
}

/* One "publickey TYPE BASE64[ INFO]" line (without "publickey "): fills *out. */
static bool publickey_line(const char *s, size_t n, unsigned char *blob, struct ssh_key_info *out)
{
    const char *sp = memchr(s, ' ', n), *b64, *end;
    const struct key_kind *k;
    size_t blen, off, flen;

    if (!sp || !(k = kind_named(s, (size_t)(sp - s))))
        return false;
    b64 = sp + 1;
    end = memchr(b64, ' ', n - (size_t)(b64 - s));
    if (!end)
        end = s + n; /* the info after the key (a security key's counter) is optional */
    if (!b64_decode(b64, (size_t)(end - b64), blob, SSH_KEY_BLOB_MAX, &blen) ||
        !parse_blob(blob, blen, k, &off, &flen) || !fingerprint(blob, blen, k, off, flen, out->fingerprint))
        return false;
    memcpy(out->fingerprint_short, out->fingerprint, SSH_FP_SHORT_LEN);
    out->fingerprint_short[SSH_FP_SHORT_LEN] = '\0';
    snprintf(out->type, sizeof(out->type), "%s", k->label);
    out->cert = k->plain != NULL;
    out->plain_type = k->plain;
    out->plain_off = off;
    out->plain_len = flen;
    return true;
}

static void clear(struct ssh_key_info *out)
{
    memset(out, 0, sizeof(*out));
}

enum ssh_auth_info_status ssh_auth_info_parse(const char *text, struct ssh_key_info *out)
{
    static const char method[] = "publickey";
    struct ssh_key_info first, scratch;
    unsigned char *blob;
    size_t n = text ? strnlen(text, SSH_AUTH_INFO_MAX + 1) : 0, line = 0;
    enum ssh_auth_info_status st = SSH_AUTH_INFO_NO_KEY;

    clear(out);
    clear(&first);
    if (n == 0)
        return SSH_AUTH_INFO_NO_KEY;
    /* sshd ends every line with a newline: a text without one was cut somewhere. */
    if (n > SSH_AUTH_INFO_MAX || text[n - 1] != '\n')
        return SSH_AUTH_INFO_MALFORMED;
    if (!(blob = malloc(SSH_KEY_BLOB_MAX)))
        return SSH_AUTH_INFO_MALFORMED;
    for (const char *p = text; p < text + n; line++) {
        const char *eol = memchr(p, '\n', (size_t)(text + n - p));
        size_t len = (size_t)(eol - p);
        if (len == 0) {
            st = SSH_AUTH_INFO_MALFORMED; /* sshd writes no empty line */
            break;
        }
        /* Other methods (password, keyboard-interactive/pam, gssapi-with-mic NAME,
         * hostbased with the client host's key) name no key of the user's. */
        if (strcspn(p, " \n") == sizeof(method) - 1 && memcmp(p, method, sizeof(method) - 1) == 0) {
            struct ssh_key_info *into = first.keys ? &scratch : &first;
            clear(&scratch);
            /* "publickey" alone: sshd always names the key */
            if (len == sizeof(method) - 1 ||
                !publickey_line(p + sizeof(method), len - sizeof(method), blob, into)) {
                st = SSH_AUTH_INFO_MALFORMED;
                break;
            }
            if (!first.keys)
                first.line = line;
            first.keys++;
            st = SSH_AUTH_INFO_KEY;
        }
        p = eol + 1;
    }
    free(blob);
    if (st == SSH_AUTH_INFO_KEY)
        *out = first;
    return st;
}

bool ssh_login_is_sshd(const char *service, const char *tty)
{
    /* OpenSSH on Linux (PAM_TTY_KLUDGE) sets PAM_TTY to "ssh" before it authenticates,
     * whatever its PAM service name: sshd takes that name from the program's own name, so
     * an sshd started as /usr/local/sbin/sshd-internal uses /etc/pam.d/sshd-internal. Other
     * applications set PAM_TTY from the terminal's device name, which no caller can make
     * "ssh". */
    return (tty && strcmp(tty, "ssh") == 0) || (service && strcmp(service, "sshd") == 0);
}
