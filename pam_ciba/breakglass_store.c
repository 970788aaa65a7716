/* Break-glass files: root-only, locked per user, replaced atomically so a code is consumed exactly once. */
#include "breakglass.h"
#include "safe_file.h"
#include "wipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A login waits at most this long for another login or the tool holding the user's file. */
#define LOCK_WAIT_MS 10000
/* Opening again after the file was replaced under us: more means something is looping. */
#define REOPEN_MAX 100

static const char *dir_of(const struct bg_store *s)
{
    return s->dir ? s->dir : BREAKGLASS_DEFAULT_DIR;
}

static result open_dir(const struct bg_store *s, bool create, int *dfd, char *why, size_t whylen)
{
    result r = safe_dir_open(dir_of(s), s->owner, SAFE_SECRET | (create ? SAFE_CREATE : 0), dfd, why, whylen);
    if (r == RES_CONFIG && errno == ENOENT && !create) {
        snprintf(why, whylen, "%s: no break-glass directory", dir_of(s));
        return RES_DENIED;
    }
    return r;
}

/* Open user's file under the safe_file rules. RES_DENIED: there is none. */
static result open_file(int dfd, const struct bg_store *s, const char *user, int *fd, struct stat *st, char *why,
                        size_t whylen)
{
    result r = safe_file_openat(dfd, dir_of(s), user, s->owner, SAFE_SECRET, fd, st, why, whylen);
    if (r == RES_CONFIG && errno == ENOENT) {
        snprintf(why, whylen, "no break-glass codes for this user");
        return RES_DENIED;
    }
    return r;
}

static bool flock_bounded(int fd)
{
    struct timespec pause = {0, 5 * 1000 * 1000};
    for (int waited = 0; waited < LOCK_WAIT_MS; waited += 5) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return true;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return false;
        nanosleep(&pause, NULL);
    }
    return false;
}

/* Open and lock user's file. A holder before us may have renamed a new file over the one
 * we locked: then the name no longer leads to our inode, and we open it again. */
static result lock_file(int dfd, const struct bg_store *s, const char *user, int *fd, struct stat *st, char *why,
                        size_t whylen)
{
    for (int i = 0; i < REOPEN_MAX; i++) {
        struct stat now;
        result r = open_file(dfd, s, user, fd, st, why, whylen);
        if (r != RES_OK)
            return r;
        if (!flock_bounded(*fd)) {
            close(*fd);
            *fd = -1;
            snprintf(why, whylen, "break-glass file busy: not locked within %d ms", LOCK_WAIT_MS);
            return RES_INTERNAL;
        }
        if (fstatat(dfd, user, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st->st_ino &&
            now.st_dev == st->st_dev)
            return RES_OK;
        close(*fd);
        *fd = -1;
    }
    snprintf(why, whylen, "break-glass file replaced %d times while waiting for its lock", REOPEN_MAX);
    return RES_INTERNAL;
}

/* Read and parse an open file; it must hold user's codes. */
static result load(int fd, const struct stat *st, const struct bg_store *s, const char *user, struct bg_record *rec,
                   char *why, size_t whylen)
{
    char *text = NULL;
    size_t len = 0;
    result r = safe_fd_read(fd, st, dir_of(s), BREAKGLASS_FILE_MAX, 0, &text, &len, why, whylen);

    if (r != RES_OK)
        return r == RES_INTERNAL ? r : RES_CONFIG;
    r = bg_parse(text, len, rec);
    free(text);
    if (r != RES_OK) {
        snprintf(why, whylen, "%s/%s: malformed break-glass file (edited or damaged: issue new codes)", dir_of(s),
                 user);
        return RES_CONFIG;
    }
    if (strcmp(rec->user, user) != 0) {
        snprintf(why, whylen, "%s/%s: holds another user's codes", dir_of(s), user);
        return RES_CONFIG;
    }
    return RES_OK;
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

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Replace user's file with rec (or remove it when rec->n == 0): a temporary file, fsync,
 * rename, fsync of the directory. A reader sees the old file or the new one, and after a
 * crash the used slot stays used. */
static result replace(int dfd, const struct bg_store *s, const char *user, const struct bg_record *rec, char *why,
                      size_t whylen)
{
    char tmp[32], *text = NULL;
    unsigned char rnd[8];
    size_t len;
    int fd;
    bool ok;

    if (rec->n == 0) {
        if (unlinkat(dfd, user, 0) != 0 && errno != ENOENT) {
            snprintf(why, whylen, "%s/%s: cannot remove: %s", dir_of(s), user, strerror(errno));
            return RES_INTERNAL;
        }
        fsync(dfd);
        return RES_OK;
    }
    text = malloc(BREAKGLASS_FILE_MAX);
    len = text ? bg_format(rec, text, BREAKGLASS_FILE_MAX) : 0;
    if (len == 0 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        free(text);
        snprintf(why, whylen, "cannot format the break-glass record");
        return RES_INTERNAL;
    }
    /* A leading '.': never a user's file name (bg_user_ok). */
    memcpy(tmp, ".tmp.", 5);
    to_hex(rnd, sizeof(rnd), tmp + 5);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "%s: cannot create a temporary file: %s", dir_of(s), strerror(errno));
        free(text);
        return RES_INTERNAL;
    }
    ok = fchmod(fd, 0600) == 0 && write_all(fd, text, len) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    free(text);
    if (!ok || renameat(dfd, tmp, dfd, user) != 0) {
        snprintf(why, whylen, "%s/%s: cannot write: %s", dir_of(s), user, strerror(errno));
        unlinkat(dfd, tmp, 0);
        return RES_INTERNAL;
    }
    if (fsync(dfd) != 0) {
        snprintf(why, whylen, "%s: cannot sync: %s", dir_of(s), strerror(errno));
        return RES_INTERNAL;
    }
    return RES_OK;
}

result bg_store_read(const struct bg_store *s, const char *user, struct bg_record *rec, char *why, size_t whylen)
{
    struct stat st;
    int dfd = -1, fd = -1;
    result r;

    if (!bg_user_ok(user)) {
        snprintf(why, whylen, "user name not usable for break-glass codes");
        return RES_USER_UNKNOWN;
    }
    r = open_dir(s, false, &dfd, why, whylen);
    if (r == RES_OK)
        r = open_file(dfd, s, user, &fd, &st, why, whylen);
    if (r == RES_OK)
        r = load(fd, &st, s, user, rec, why, whylen);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    return r;
}

/* A derivation whose result is thrown away: a login without codes, or with an answer that
 * is not a code, costs what a wrong code costs, so timing tells neither apart and every
 * guess pays for one scrypt. */
static void dummy_derive(const char *user)
{
    static const struct bg_kdf k = {BREAKGLASS_KDF_LOG2N, BREAKGLASS_KDF_R, BREAKGLASS_KDF_P};
    unsigned char salt[BREAKGLASS_SALT_LEN] = {0}, out[BREAKGLASS_HASH_LEN];
    (void)bg_derive(&k, salt, bg_user_ok(user) ? user : "-", "0000000000", out);
}

static bool same_kdf(const struct bg_record *a, const struct bg_record *b)
{
    return a->kdf.log2n == b->kdf.log2n && a->kdf.r == b->kdf.r && a->kdf.p == b->kdf.p &&
           memcmp(a->salt, b->salt, sizeof(a->salt)) == 0;
}

result bg_store_use(const struct bg_store *s, const char *user, const char *typed, long long now,
                    struct bg_use *use, char *why, size_t whylen)
{
    struct bg_record *seen = malloc(sizeof(*seen)), *rec = malloc(sizeof(*rec));
    char code[BREAKGLASS_CODE_LEN + 1];
    unsigned char hash[BREAKGLASS_HASH_LEN];
    struct stat st;
    int dfd = -1, fd = -1, i;
    bool shaped = bg_normalise(typed, code);
    result r;

    memset(use, 0, sizeof(*use));
    use->remaining = -1;
    if (!seen || !rec) {
        snprintf(why, whylen, "out of memory");
        r = RES_INTERNAL;
        goto out;
    }
    r = bg_store_read(s, user, seen, why, whylen);
    if (r == RES_USER_UNKNOWN)
        r = RES_DENIED;
    if (r == RES_DENIED)
        dummy_derive(user);
    if (r != RES_OK)
        goto out;
    use->remaining = bg_live_count(seen);
    if (!shaped) {
        dummy_derive(user);
        snprintf(why, whylen, "not a break-glass code (10 symbols of 0-9 A-Z without I L O U)");
        r = RES_DENIED;
        goto out;
    }
    /* The slow part before the lock: concurrent logins derive in parallel and hold the
     * lock only for the comparison and the rewrite. */
    if (bg_derive(&seen->kdf, seen->salt, user, code, hash) != RES_OK) {
        snprintf(why, whylen, "scrypt failed");
        r = RES_INTERNAL;
        goto out;
    }
    r = open_dir(s, false, &dfd, why, whylen);
    if (r == RES_OK)
        r = lock_file(dfd, s, user, &fd, &st, why, whylen);
    if (r == RES_OK)
        r = load(fd, &st, s, user, rec, why, whylen);
    if (r != RES_OK)
        goto out;
    /* Codes issued again in between: a new salt, so derive again. */
    if (!same_kdf(seen, rec) && bg_derive(&rec->kdf, rec->salt, user, code, hash) != RES_OK) {
        snprintf(why, whylen, "scrypt failed");
        r = RES_INTERNAL;
        goto out;
    }
    i = bg_match(rec, hash);
    use->remaining = bg_live_count(rec);
    if (i < 0) {
        snprintf(why, whylen, "wrong break-glass code");
        r = RES_DENIED;
        goto out;
    }
    use->slot = i + 1;
    use->state = rec->slot[i].state;
    use->when = rec->slot[i].when;
    if (use->state != BG_LIVE) {
        snprintf(why, whylen, "break-glass code %d was %s at %lld", i + 1, use->state == BG_USED ? "used" : "revoked",
                 use->when);
        r = RES_DENIED;
        goto out;
    }
    rec->slot[i].state = BG_USED;
    rec->slot[i].when = now;
    r = replace(dfd, s, user, rec, why, whylen);
    if (r != RES_OK)
        goto out;
    use->remaining = bg_live_count(rec);
    snprintf(why, whylen, "break-glass code %d accepted, %d left", i + 1, use->remaining);
out:
    explicit_bzero(code, sizeof(code));
    explicit_bzero(hash, sizeof(hash));
    if (fd >= 0)
        close(fd); /* releases the lock, after the rename */
    if (dfd >= 0)
        close(dfd);
    free(seen);
    free(rec);
    return r;
}

/* Temporary files a crashed writer left behind (older than a minute: a live writer
 * renames its file within milliseconds). */
static void sweep_tmp(int dfd)
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
        if (strncmp(de->d_name, ".tmp.", 5) == 0 && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            time(NULL) - st.st_mtime > 60)
            unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
}

result bg_store_edit(const struct bg_store *s, const char *user, bg_edit_fn edit, void *ctx, char *why,
                     size_t whylen)
{
    struct bg_record *rec = calloc(1, sizeof(*rec));
    struct stat st;
    int dfd = -1, fd = -1;
    int have;
    result r;

    if (!rec) {
        snprintf(why, whylen, "out of memory");
        return RES_INTERNAL;
    }
    if (!bg_user_ok(user)) {
        snprintf(why, whylen, "user name not usable for break-glass codes");
        r = RES_USER_UNKNOWN;
        goto out;
    }
    r = open_dir(s, true, &dfd, why, whylen);
    if (r == RES_OK)
        sweep_tmp(dfd);
    if (r == RES_OK)
        r = lock_file(dfd, s, user, &fd, &st, why, whylen);
    have = r == RES_OK ? BG_HAVE : BG_NONE;
    if (r == RES_OK && load(fd, &st, s, user, rec, why, whylen) != RES_OK) {
        /* Safe owner and mode, bad content: only a new issue may replace it. */
        have = BG_MALFORMED;
        memset(rec, 0, sizeof(*rec));
    } else if (r == RES_DENIED) {
        r = RES_OK;
    }
    if (r != RES_OK)
        goto out;
    r = edit(ctx, rec, have, why, whylen);
    if (r == RES_IGNORE) {
        r = RES_OK;
        goto out;
    }
    if (r == RES_OK)
        r = replace(dfd, s, user, rec, why, whylen);
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    explicit_bzero(rec, sizeof(*rec));
    free(rec);
    return r;
}
