/* Break-glass records without I/O: the canonical text, the code alphabet, scrypt, constant-time matching. */
#include "breakglass.h"
#include "record_text.h"
#include "text.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "pam_ciba breakglass v1\n"
/* Crockford's base32: no I, L, O or U, so nothing reads as something else. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define KDF_MAX_MEM (64ull * 1024 * 1024)
/* Times are Unix seconds; beyond year 9999 is a corrupt file. */
#define TIME_MAX 253402300799ll

bool bg_user_ok(const char *user)
{
    size_t n = user ? strlen(user) : 0;
    return n > 0 && n <= BREAKGLASS_USER_MAX && user[0] != '.' && !strchr(user, '/') && text_is_clean(user);
}

bool bg_kdf_ok(const struct bg_kdf *k)
{
    unsigned long long mem;
    if (k->log2n < 10 || k->log2n > 20 || k->r < 1 || k->r > 32 || k->p < 1 || k->p > 16)
        return false;
    mem = 128ull * k->r * (1ull << k->log2n) * k->p;
    return mem <= KDF_MAX_MEM;
}

static const char *const state_names[] = {"live", "used", "revoked"};

/* ---- formatting ---- */




static bool record_ok(const struct bg_record *rec)
{
    if (!bg_user_ok(rec->user) || !bg_kdf_ok(&rec->kdf) || rec->n < 1 || rec->n > BREAKGLASS_MAX_CODES ||
        rec->issued < 0 || rec->issued > TIME_MAX)
        return false;
    for (int i = 0; i < rec->n; i++) {
        const struct bg_slot *s = &rec->slot[i];
        if (s->state < BG_LIVE || s->state > BG_REVOKED || s->when < 0 || s->when > TIME_MAX ||
            (s->state == BG_LIVE && s->when != 0))
            return false;
    }
    return true;
}

size_t bg_format(const struct bg_record *rec, char *out, size_t len)
{
    struct rtext_out o = {out, len, len > 0};

    if (!record_ok(rec))
        return 0;
    rtext_putf(&o, MAGIC "user %zu:%s\nkdf scrypt %u %u %u\nsalt ", strlen(rec->user), rec->user, rec->kdf.log2n,
         rec->kdf.r, rec->kdf.p);
    rtext_put_hex(&o, rec->salt, sizeof(rec->salt));
    rtext_putf(&o, "\nissued %lld\n", rec->issued);
    for (int i = 0; i < rec->n; i++) {
        const struct bg_slot *s = &rec->slot[i];
        if (s->state == BG_LIVE)
            rtext_putf(&o, "live ");
        else
            rtext_putf(&o, "%s %lld ", state_names[s->state], s->when);
        rtext_put_hex(&o, s->hash, sizeof(s->hash));
        rtext_putf(&o, "\n");
    }
    return o.ok ? (size_t)(o.p - out) : 0;
}

/* ---- parsing: strict, so that only bg_format's own output is accepted ---- */







result bg_parse(const char *text, size_t len, struct bg_record *rec)
{
    struct rtext_in c = {text, text + len, true};
    size_t ulen;

    memset(rec, 0, sizeof(*rec));
    rtext_expect(&c, MAGIC "user ");
    ulen = (size_t)rtext_get_num(&c, BREAKGLASS_USER_MAX);
    rtext_expect(&c, ":");
    if (!c.ok || ulen == 0 || (size_t)(c.end - c.p) < ulen || memchr(c.p, '\0', ulen))
        return RES_INVALID_TOKEN;
    memcpy(rec->user, c.p, ulen);
    rec->user[ulen] = '\0';
    c.p += ulen;
    rtext_expect(&c, "\nkdf scrypt ");
    rec->kdf.log2n = (unsigned)rtext_get_num(&c, 64);
    rtext_expect(&c, " ");
    rec->kdf.r = (unsigned)rtext_get_num(&c, 1024);
    rtext_expect(&c, " ");
    rec->kdf.p = (unsigned)rtext_get_num(&c, 1024);
    rtext_expect(&c, "\nsalt ");
    rtext_get_hex(&c, rec->salt, sizeof(rec->salt));
    rtext_expect(&c, "\nissued ");
    rec->issued = rtext_get_num(&c, TIME_MAX);
    rtext_expect(&c, "\n");
    while (c.ok && c.p < c.end) {
        struct bg_slot *s;
        int st = rtext_at(&c, "live ") ? BG_LIVE : rtext_at(&c, "used ") ? BG_USED : rtext_at(&c, "revoked ") ? BG_REVOKED : -1;
        if (st < 0 || rec->n >= BREAKGLASS_MAX_CODES)
            return RES_INVALID_TOKEN;
        s = &rec->slot[rec->n++];
        s->state = st;
        rtext_expect(&c, state_names[st]);
        rtext_expect(&c, " ");
        if (st != BG_LIVE) {
            s->when = rtext_get_num(&c, TIME_MAX);
            rtext_expect(&c, " ");
        }
        rtext_get_hex(&c, s->hash, sizeof(s->hash));
        rtext_expect(&c, "\n");
    }
    if (!c.ok || c.p != c.end || !record_ok(rec))
        return RES_INVALID_TOKEN;
    return RES_OK;
}

/* ---- codes ---- */

bool bg_normalise(const char *typed, char out[BREAKGLASS_CODE_LEN + 1])
{
    size_t n = 0;

    if (!typed)
        return false;
    for (const char *p = typed; *p; p++) {
        char ch = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        if (ch == '-' || ch == ' ' || ch == '\t')
            continue;
        if (ch == 'O')
            ch = '0';
        else if (ch == 'I' || ch == 'L')
            ch = '1';
        if (n >= BREAKGLASS_CODE_LEN || !strchr(alphabet, ch) || ch == '\0') {
            explicit_bzero(out, BREAKGLASS_CODE_LEN + 1);
            return false;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    if (n != BREAKGLASS_CODE_LEN) {
        explicit_bzero(out, BREAKGLASS_CODE_LEN + 1);
        return false;
    }
    return true;
}

void bg_display(const char code[BREAKGLASS_CODE_LEN + 1], char out[BREAKGLASS_SHOWN_LEN + 1])
{
    memcpy(out, code, 5);
    out[5] = '-';
    memcpy(out + 6, code + 5, 5);
    out[11] = '\0';
}

result bg_derive(const struct bg_kdf *k, const unsigned char salt[BREAKGLASS_SALT_LEN], const char *user,
                 const char code[BREAKGLASS_CODE_LEN + 1], unsigned char out[BREAKGLASS_HASH_LEN])
{
    char pass[BREAKGLASS_USER_MAX + 1 + BREAKGLASS_CODE_LEN + 1];
    size_t ulen = strlen(user), plen;
    uint64_t n = 1ull << k->log2n;
    uint32_t r = k->r, p = k->p;
    uint64_t maxmem = KDF_MAX_MEM + 1024 * 1024;
    EVP_KDF *kdf;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[7];
    result res = RES_INTERNAL;

    if (!bg_kdf_ok(k) || ulen > BREAKGLASS_USER_MAX || strlen(code) != BREAKGLASS_CODE_LEN)
        return RES_INTERNAL;
    /* user NUL code: no (user, code) pair can be read as another. */
    memcpy(pass, user, ulen + 1);
    memcpy(pass + ulen + 1, code, BREAKGLASS_CODE_LEN);
    plen = ulen + 1 + BREAKGLASS_CODE_LEN;
    kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    if (kdf)
        ctx = EVP_KDF_CTX_new(kdf);
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass, plen);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, BREAKGLASS_SALT_LEN);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, out, BREAKGLASS_HASH_LEN, params) == 1)
        res = RES_OK;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    explicit_bzero(pass, sizeof(pass));
    return res;
}

int bg_match(const struct bg_record *rec, const unsigned char hash[BREAKGLASS_HASH_LEN])
{
    int found = -1;
    for (int i = 0; i < rec->n; i++) {
        /* Branch-free select: no early exit, no data-dependent branch on the result. */
        int eq = CRYPTO_memcmp(rec->slot[i].hash, hash, BREAKGLASS_HASH_LEN) == 0;
        int mask = -eq;
        found = (found & ~mask) | (i & mask);
    }
    return found;
}

int bg_live_count(const struct bg_record *rec)
{
    int n = 0;
    for (int i = 0; i < rec->n; i++)
        n += rec->slot[i].state == BG_LIVE;
    return n;
}

result bg_issue(struct bg_record *rec, const char *user, const struct bg_kdf *k, int n, long long now,
                char codes[][BREAKGLASS_CODE_LEN + 1])
{
    unsigned char rnd[BREAKGLASS_CODE_LEN];

    memset(rec, 0, sizeof(*rec));
    if (!bg_user_ok(user) || !bg_kdf_ok(k) || n < 1 || n > BREAKGLASS_MAX_CODES || now < 0 || now > TIME_MAX)
        return RES_CONFIG;
    snprintf(rec->user, sizeof(rec->user), "%s", user);
    rec->kdf = *k;
    rec->issued = now;
    rec->n = n;
    if (RAND_bytes(rec->salt, sizeof(rec->salt)) != 1)
        return RES_INTERNAL;
    for (int i = 0; i < n;) {
        bool dup = false;
        /* 32 symbols: the low 5 bits of a random byte pick one without bias. */
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return RES_INTERNAL;
        for (int j = 0; j < BREAKGLASS_CODE_LEN; j++)
            codes[i][j] = alphabet[rnd[j] & 31];
        codes[i][BREAKGLASS_CODE_LEN] = '\0';
        /* Two equal codes in one set would make one use consume the wrong slot. */
        for (int j = 0; j < i; j++)
            dup = dup || strcmp(codes[i], codes[j]) == 0;
        if (!dup)
            i++;
    }
    explicit_bzero(rnd, sizeof(rnd));
    for (int i = 0; i < n; i++) {
        rec->slot[i].state = BG_LIVE;
        if (bg_derive(k, rec->salt, user, codes[i], rec->slot[i].hash) != RES_OK)
            return RES_INTERNAL;
    }
    return RES_OK;
}
