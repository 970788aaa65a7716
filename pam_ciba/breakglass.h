/* Break-glass codes: the per-user record (format, KDF, matching) and its root-only store. */
#ifndef PAM_CIBA_BREAKGLASS_H
#define PAM_CIBA_BREAKGLASS_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "result.h"

#define BREAKGLASS_DEFAULT_DIR "/var/lib/pam_ciba/breakglass"
#define BREAKGLASS_MAX_CODES 100
#define BREAKGLASS_CODE_LEN 10        /* symbols of a code: 10 x 5 bits = 50 bits */
#define BREAKGLASS_SHOWN_LEN 11       /* "XXXXX-XXXXX" */
#define BREAKGLASS_HASH_LEN 32
#define BREAKGLASS_SALT_LEN 16
#define BREAKGLASS_USER_MAX 255       /* a file name */
#define BREAKGLASS_FILE_MAX 32768     /* every slot at its longest fits */
/* What pam_ciba-codes issues with: scrypt N = 2^14, r = 8, p = 1 (16 MiB), about 55 ms
 * a check on the 2-core test machine (the issue asks for 50-100 ms). */
#define BREAKGLASS_KDF_LOG2N 14
#define BREAKGLASS_KDF_R 8
#define BREAKGLASS_KDF_P 1

enum bg_state { BG_LIVE, BG_USED, BG_REVOKED };

/* scrypt parameters, stored in the record so they can change between issues. */
struct bg_kdf {
    unsigned log2n, r, p;
};

/* The hash of a used or revoked code is kept: a replayed code is then told apart from a
 * guess in the log (the code is dead either way). */
struct bg_slot {
    int state;       /* enum bg_state */
    long long when;  /* used or revoked at (Unix seconds); 0 while live */
    unsigned char hash[BREAKGLASS_HASH_LEN];
};

struct bg_record {
    char user[BREAKGLASS_USER_MAX + 1];
    struct bg_kdf kdf;
    unsigned char salt[BREAKGLASS_SALT_LEN];
    long long issued;
    int n;
    struct bg_slot slot[BREAKGLASS_MAX_CODES];
};

/* ---- pure: the record ----
 * The file, canonical (one text, one meaning; bg_format(bg_parse(x)) == x):
 *   pam_ciba breakglass v1\n user LEN:NAME\n kdf scrypt LOG2N R P\n salt HEX32\n
 *   issued SECONDS\n then one line a slot, in slot order (slot 1 first):
 *   live HEX64\n | used SECONDS HEX64\n | revoked SECONDS HEX64\n
 * One salt a file: a login derives one hash and compares it with every slot, so a check
 * costs one KDF whatever the number of codes. */

/* A user name usable as the file name and in the record: 1..255 bytes of clean UTF-8,
 * no '/', not starting with '.' (temporary files do). */
bool bg_user_ok(const char *user);

/* Parameters the module will run: 2^10 <= N <= 2^20, 1 <= r <= 32, 1 <= p <= 16, and at
 * most 64 MiB of scrypt memory (128 * r * N * p). Anything else is refused, so an edited
 * file cannot make a login spend seconds or gigabytes. */
bool bg_kdf_ok(const struct bg_kdf *k);

/* RES_OK or RES_INVALID_TOKEN (malformed, out-of-range values, not canonical). */
result bg_parse(const char *text, size_t len, struct bg_record *rec);

/* The text of rec into out; its length, or 0 when rec is invalid or does not fit. */
size_t bg_format(const struct bg_record *rec, char *out, size_t len);

/* A typed code to its canonical 10 symbols (Crockford's base32 alphabet, no I, L, O, U):
 * case ignored, '-' and blanks dropped, O read as 0 and I or L as 1. False if it is not
 * 10 symbols of the alphabet. */
bool bg_normalise(const char *typed, char out[BREAKGLASS_CODE_LEN + 1]);

/* "ABCDE-FGHJK" for the canonical code. */
void bg_display(const char code[BREAKGLASS_CODE_LEN + 1], char out[BREAKGLASS_SHOWN_LEN + 1]);

/* scrypt(user NUL code, salt) into out: binds every code to its user. */
result bg_derive(const struct bg_kdf *k, const unsigned char salt[BREAKGLASS_SALT_LEN], const char *user,
                 const char code[BREAKGLASS_CODE_LEN + 1], unsigned char out[BREAKGLASS_HASH_LEN]);

/* The slot whose hash equals hash (any state), or -1. Every slot is compared, with
 * CRYPTO_memcmp, whatever matched: the time does not tell which slot or whether any. */
int bg_match(const struct bg_record *rec, const unsigned char hash[BREAKGLASS_HASH_LEN]);

int bg_live_count(const struct bg_record *rec);

/* A new record for user with n (1..BREAKGLASS_MAX_CODES) fresh random codes, written to
 * codes (canonical form): the only time they exist outside the user's hands. */
result bg_issue(struct bg_record *rec, const char *user, const struct bg_kdf *k, int n, long long now,
                char codes[][BREAKGLASS_CODE_LEN + 1]);

/* ---- the store: one root-only file a user in a root-only (0700) directory ---- */
struct bg_store {
    const char *dir;  /* NULL: BREAKGLASS_DEFAULT_DIR */
    uid_t owner;      /* root in the module and the tool */
};

/* What a login's code did. */
struct bg_use {
    int slot;        /* 1-based slot that matched, 0 for none */
    int state;       /* its state before this use (BG_LIVE when consumed now) */
    long long when;  /* for a used/revoked slot: since when */
    int remaining;   /* live codes left afterwards, -1 when unknown */
};

/* Check typed for user and, when it matches a live code, mark that slot used, atomically
 * and exactly once even against concurrent logins (flock on the user's file, re-read,
 * rewrite to a temporary file, fsync, rename, fsync the directory).
 * RES_OK: consumed. RES_DENIED: wrong, replayed, revoked, or no codes (use says which).
 * RES_CONFIG: the directory or file is unsafe (owner, mode, type) or malformed: refused.
 * RES_INTERNAL: a local failure. why never holds the code. */
result bg_store_use(const struct bg_store *s, const char *user, const char *typed, long long now,
                    struct bg_use *use, char *why, size_t whylen);

/* Read user's record (no lock: one rename-replaced file is always whole). RES_DENIED:
 * none. Errors as bg_store_use. */
result bg_store_read(const struct bg_store *s, const char *user, struct bg_record *rec, char *why, size_t whylen);

/* Apply edit to user's record under its lock and write it back atomically: edit gets the
 * current record and have (BG_NONE: no file yet, the directory is created 0700;
 * BG_MALFORMED: a safe file whose content does not parse, rec empty, why says so) and
 * returns RES_OK to write rec, RES_IGNORE to leave the file alone, or an error.
 * rec->n == 0 after the edit removes the file. A file with an unsafe owner or mode is
 * refused before edit runs. Temporary files a crashed writer left are removed. */
enum bg_have { BG_NONE, BG_HAVE, BG_MALFORMED };
typedef result (*bg_edit_fn)(void *ctx, struct bg_record *rec, int have, char *why, size_t whylen);
result bg_store_edit(const struct bg_store *s, const char *user, bg_edit_fn edit, void *ctx, char *why,
                     size_t whylen);

#endif
