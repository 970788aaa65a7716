/* Reuse records: HMAC-SHA256 under a root-only random key, bound to user, service, tty, session. */
#include "reuse.h"
#include "wipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_NAME "key"
#define RECORD_MAX 128
#define NAME_HEX 64
#define MAGIC "pam_ciba reuse v1"

double reuse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n;
    if (fd < 0)
        return false;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return true;
}

result reuse_session_id(char *out, size_t len)
{
    char boot[64], sess[32], stat[1024], path[64];
    unsigned long long start = 0;
    pid_t sid;
    const char *p;

    if (!read_small("/proc/sys/kernel/random/boot_id", boot, sizeof(boot)) || !*boot)
        return RES_INTERNAL;
    /* 4294967295 is the kernel's "no audit session" (no pam_loginuid in the stack). */
    if (read_small("/proc/self/sessionid", sess, sizeof(sess)) && *sess && strcmp(sess, "4294967295") != 0) {
        snprintf(out, len, "boot=%s audit=%s", boot, sess);
        return RES_OK;
    }
    sid = getsid(0);
    if (sid <= 0)
        return RES_INTERNAL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)sid);
    if (!read_small(path, stat, sizeof(stat)))
        return RES_INTERNAL;
    /* Field 22 (starttime) counts from the last ')': comm may hold spaces and parens. */
    p = strrchr(stat, ')');
    if (!p)
        return RES_INTERNAL;
    p++; /* the space before field 3 */
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu", &start) != 1 || start == 0)
        return RES_INTERNAL;
    snprintf(out, len, "boot=%s sid=%d start=%llu", boot, (int)sid, start);
    return RES_OK;
}

static bool identity_ok(const struct reuse_identity *id)
{
    return id->user && *id->user && id->service && *id->service && id->tty && *id->tty && id->session &&
           *id->session && id->subject && *id->subject;
}

/* HMAC over NUL-separated fields: the fields cannot contain NUL, so this is unambiguous. */
static bool mac(const unsigned char *key, const char *label, const struct reuse_identity *id, long long ms,
                unsigned char out[32])
{
    char num[32];
    const char *parts[] = {MAGIC, label, id->user, id->service, id->tty, id->session, id->subject, num};
    bool ok = false;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_END};
    size_t olen = 0;

    snprintf(num, sizeof(num), "%lld", ms);
    if (!ctx || EVP_MAC_init(ctx, key, REUSE_KEY_LEN, params) != 1)
        goto out;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (EVP_MAC_update(ctx, (const unsigned char *)parts[i], strlen(parts[i]) + 1) != 1)
            goto out;
    ok = EVP_MAC_final(ctx, out, &olen, 32) == 1 && olen == 32;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Open dir (creating it when asked) and insist it is a real directory owned by the
 * store owner that nobody else can enter: records are only as safe as this directory. */
static result open_dir(const struct reuse_store *s, bool create, int *dfd, char *why, size_t whylen)
{
    const char *dir = s->dir ? s->dir : REUSE_DEFAULT_DIR;
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0 && errno == ENOENT && create) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
            return RES_CONFIG;
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", dir, errno == ENOENT ? "no reuse directory yet" : strerror(errno));
        return errno == ENOENT ? RES_DENIED : RES_CONFIG;
    }
    if (fstat(fd, &st) != 0 || st.st_uid != s->owner || (st.st_mode & 077) != 0) {
        snprintf(why, whylen, "%s must be a directory owned by uid %u with mode 0700", dir, (unsigned)s->owner);
        close(fd);
        return RES_CONFIG;
    }
    *dfd = fd;
    return RES_OK;
}

/* A file in the directory that is regular, owned by the owner, not accessible to others. */
static int open_owned(int dfd, const char *name, const struct reuse_store *s, struct stat *st, bool *unsafe)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

    *unsafe = false;
    if (fd < 0) {
        *unsafe = errno == ELOOP;
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_uid != s->owner || (st->st_mode & 077) != 0) {
        *unsafe = true;
        close(fd);
        return -1;
    }
    return fd;
}

static result read_key(int dfd, const struct reuse_store *s, unsigned char *key, char *why, size_t whylen)
{
    struct stat st;
    bool unsafe;
    int fd = open_owned(dfd, KEY_NAME, s, &st, &unsafe);
    ssize_t n;

    if (fd < 0) {
        snprintf(why, whylen, unsafe ? "the reuse key is not a root-only regular file" : "no reuse key yet");
        return unsafe ? RES_CONFIG : RES_DENIED;
    }
    n = st.st_size == REUSE_KEY_LEN ? read(fd, key, REUSE_KEY_LEN) : -1;
    close(fd);
    if (n != REUSE_KEY_LEN) {
        snprintf(why, whylen, "the reuse key has the wrong size");
        return RES_CONFIG;
    }
    return RES_OK;
}

/* Create the key with a temporary name, then link it into place: concurrent logins agree
 * on one key and nobody ever reads a half-written one. */
static result make_key(int dfd, const struct reuse_store *s, unsigned char *key, char *why, size_t whylen)
{
    char tmp[64];
    unsigned char rnd[8];
    int fd;
    result r;

    r = read_key(dfd, s, key, why, whylen);
    if (r != RES_DENIED)
        return r;
    if (RAND_bytes(key, REUSE_KEY_LEN) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(why, whylen, "no random bytes for the reuse key");
        return RES_INTERNAL;
    }
    memcpy(tmp, "tmp.", 4);
    to_hex(rnd, sizeof(rnd), tmp + 4);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create the reuse key: %s", strerror(errno));
        return RES_CONFIG;
    }
    r = write(fd, key, REUSE_KEY_LEN) == REUSE_KEY_LEN && fsync(fd) == 0 ? RES_OK : RES_CONFIG;
    close(fd);
    if (r == RES_OK && linkat(dfd, tmp, dfd, KEY_NAME, 0) != 0)
        r = errno == EEXIST ? RES_DENIED : RES_CONFIG;
    unlinkat(dfd, tmp, 0);
    if (r == RES_DENIED) /* another login won the race: use its key */
        return read_key(dfd, s, key, why, whylen);
    if (r != RES_OK)
        snprintf(why, whylen, "cannot write the reuse key");
    return r;
}

static bool record_name(const unsigned char *key, const struct reuse_identity *id, char *name)
{
    unsigned char h[32];
    if (!mac(key, "name", id, 0, h))
        return false;
    to_hex(h, sizeof(h), name);
    return true;
}

static bool is_record_name(const char *n)
{
    return strlen(n) == NAME_HEX && strspn(n, "0123456789abcdef") == NAME_HEX;
}

/* Parse "v1 <approved ms> <mac hex>". */
static bool parse_record(const char *text, long long *ms, char *machex)
{
    char rest[2];
    return sscanf(text, "v1 %lld %64[0-9a-f]%1s", ms, machex, rest) == 2 && strlen(machex) == 64 && *ms >= 0;
}

result reuse_check(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                   double *age, char *why, size_t whylen)
{
    unsigned char key[REUSE_KEY_LEN], want[32];
    char name[NAME_HEX + 1], text[RECORD_MAX + 1], machex[65], wanthex[65];
    long long ms;
    struct stat st;
    bool unsafe;
    int dfd = -1, fd;
    ssize_t n;
    result r;

    *age = 0;
    if (window <= 0 || !identity_ok(id)) {
        snprintf(why, whylen, "no reuse without a window, tty and session");
        return RES_DENIED;
    }
    r = open_dir(s, false, &dfd, why, whylen);
    if (r == RES_OK)
        r = read_key(dfd, s, key, why, whylen);
    if (r != RES_OK)
        goto out;
    if (!record_name(key, id, name)) {
        r = RES_INTERNAL;
        snprintf(why, whylen, "HMAC failed");
        goto out;
    }
    fd = open_owned(dfd, name, s, &st, &unsafe);
    if (fd < 0) {
        if (unsafe) {
            unlinkat(dfd, name, 0);
            snprintf(why, whylen, "record with a wrong owner, mode or type (removed)");
            r = RES_INVALID_TOKEN;
        } else {
            snprintf(why, whylen, "no record");
            r = RES_DENIED;
        }
        goto out;
    }
    n = st.st_size <= RECORD_MAX ? read(fd, text, RECORD_MAX) : -1;
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    if (n <= 0 || !parse_record(text, &ms, machex) || !mac(key, "record", id, ms, want)) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "malformed record (removed)");
        r = RES_INVALID_TOKEN;
        goto out;
    }
    to_hex(want, sizeof(want), wanthex);
    if (CRYPTO_memcmp(wanthex, machex, 64) != 0) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "record MAC does not match (removed)");
        r = RES_INVALID_TOKEN;
        goto out;
    }
    *age = now - (double)ms / 1000.0;
    if (*age < -1.0) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "record from the future (removed)");
        r = RES_INVALID_TOKEN;
    } else if (*age >= (double)window) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "record expired %.0fs ago (removed)", *age - (double)window);
        r = RES_EXPIRED;
    } else {
        if (*age < 0)
            *age = 0;
        snprintf(why, whylen, "approved %.0fs ago, window %lds", *age, window);
        r = RES_OK;
    }
out:
    explicit_bzero(key, sizeof(key));
    if (dfd >= 0)
        close(dfd);
    return r;
}

/* Remove records older than window and temporary files a crashed login left behind. */
static void sweep(int dfd, const struct reuse_store *s, long window, double now)
{
    int dfd2 = dup(dfd);
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    struct dirent *de;

    if (!d) {
        if (dfd2 >= 0)
            close(dfd2);
        return;
    }
    while ((de = readdir(d))) {
        struct stat st;
        bool unsafe, stale = false;
        char text[RECORD_MAX + 1], machex[65];
        long long ms;
        int fd;
        if (strncmp(de->d_name, "tmp.", 4) == 0) {
            if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime > 60)
                unlinkat(dfd, de->d_name, 0);
            continue;
        }
        if (!is_record_name(de->d_name))
            continue;
        fd = open_owned(dfd, de->d_name, s, &st, &unsafe);
        if (fd < 0) {
            stale = unsafe;
        } else {
            ssize_t n = st.st_size <= RECORD_MAX ? read(fd, text, RECORD_MAX) : -1;
            close(fd);
            text[n > 0 ? n : 0] = '\0';
            stale = n <= 0 || !parse_record(text, &ms, machex) || now - (double)ms / 1000.0 >= (double)window ||
                    (double)ms / 1000.0 > now + 1.0;
        }
        if (stale)
            unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
}

result reuse_record(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                    char *why, size_t whylen)
{
    unsigned char key[REUSE_KEY_LEN], m[32], rnd[8];
    char name[NAME_HEX + 1], tmp[32], machex[65], text[RECORD_MAX];
    long long ms = (long long)(now * 1000.0);
    int dfd = -1, fd, len;
    result r;

    if (window <= 0 || !identity_ok(id)) {
        snprintf(why, whylen, "no reuse without a window, tty and session");
        return RES_DENIED;
    }
    r = open_dir(s, true, &dfd, why, whylen);
    if (r == RES_OK)
        r = make_key(dfd, s, key, why, whylen);
    if (r != RES_OK)
        goto out;
    if (!record_name(key, id, name) || !mac(key, "record", id, ms, m) || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(why, whylen, "HMAC failed");
        r = RES_INTERNAL;
        goto out;
    }
    to_hex(m, sizeof(m), machex);
    len = snprintf(text, sizeof(text), "v1 %lld %s\n", ms, machex);
    memcpy(tmp, "tmp.", 4);
    to_hex(rnd, sizeof(rnd), tmp + 4);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create a record: %s", strerror(errno));
        r = RES_CONFIG;
        goto out;
    }
    r = write(fd, text, (size_t)len) == len ? RES_OK : RES_CONFIG;
    close(fd);
    /* rename replaces atomically: a reader sees the old record or the new one. */
    if (r == RES_OK && renameat(dfd, tmp, dfd, name) != 0)
        r = RES_CONFIG;
    if (r != RES_OK) {
        unlinkat(dfd, tmp, 0);
        snprintf(why, whylen, "cannot write a record");
        goto out;
    }
    sweep(dfd, s, window, now);
    snprintf(why, whylen, "approval recorded for %lds", window);
out:
    explicit_bzero(key, sizeof(key));
    if (dfd >= 0)
        close(dfd);
    return r;
}
