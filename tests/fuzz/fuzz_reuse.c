/* libFuzzer target: reuse_parse/reuse_verify/reuse_format on record files. Oracles: a
 * record that parses re-formats to exactly its own bytes (so one text has one meaning and
 * a verified record round-trips to the same identity); an identity built from the input
 * (NUL-separated fields) formats, MACs, parses and verifies back to itself. */
#include "fuzz_common.h"
#include "reuse.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[REUSE_KEY_LEN] = "fuzz key: thirty-two bytes long";
static struct reuse_record rec;
static char text[REUSE_RECORD_MAX + 128], again[REUSE_RECORD_MAX + 128];

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The MAC as documented: HMAC-SHA256 over "record\0" and the text before the mac line. */
static void mac_line(const char *body, size_t n, char *out)
{
    static unsigned char in[sizeof(text) + 8];
    unsigned char m[32];
    unsigned int mlen = 0;
    memcpy(in, "record", 7);
    memcpy(in + 7, body, n);
    FUZZ_ASSERT(HMAC(EVP_sha256(), key, REUSE_KEY_LEN, in, n + 7, m, &mlen) && mlen == 32);
    memcpy(out, "mac ", 4);
    to_hex(m, 32, out + 4);
    memcpy(out + 68, "\n", 2);
}

static void parsed_text_round_trips(const uint8_t *data, size_t size)
{
    char hex[65];
    size_t n;

    if (reuse_parse((const char *)data, size, &rec) != RES_OK)
        return;
    n = reuse_format(&rec.id, rec.ms, again, sizeof(again));
    FUZZ_ASSERT(n > 0 && n == rec.body_len && memcmp(again, data, n) == 0);
    to_hex(rec.mac, 32, hex);
    FUZZ_ASSERT(size == n + 69 && memcmp(data + n, "mac ", 4) == 0 && memcmp(data + n + 4, hex, 64) == 0);
    if (reuse_verify(key, (const char *)data, &rec)) {
        /* Only a text this target MACed itself can verify. */
        mac_line(again, n, again + n);
        FUZZ_ASSERT(memcmp(again, data, size) == 0);
    }
}

static void identity_round_trips(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *f[7] = {0}, *p;
    struct reuse_identity id;
    size_t n;
    int k = 0;

    FUZZ_ASSERT(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (p = buf; k < 7 && p <= buf + size; p += strlen(p) + 1)
        f[k++] = p;
    id = (struct reuse_identity){f[0], f[1], f[2], f[3], f[4], (uid_t)(size * 7919u), size % 3 ? f[5] : NULL,
                                 size % 5 ? (uint32_t)size : REUSE_LOGINUID_UNSET, size % 2 ? f[6] : NULL};
    n = reuse_format(&id, (long long)size * 1000, text, sizeof(text) - 70);
    if (n > 0) {
        mac_line(text, n, text + n);
        FUZZ_ASSERT(reuse_parse(text, n + 69, &rec) == RES_OK);
        FUZZ_ASSERT(reuse_verify(key, text, &rec));
        FUZZ_ASSERT(reuse_diff(&id, &rec.id) == 0 && rec.ms == (long long)size * 1000);
        /* Any one changed byte of the body breaks the MAC or the parse. */
        text[size % n] ^= 1;
        FUZZ_ASSERT(reuse_parse(text, n + 69, &rec) != RES_OK || !reuse_verify(key, text, &rec));
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parsed_text_round_trips(data, size);
    identity_round_trips(data, size);
    return 0;
}
