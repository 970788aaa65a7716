/* Counter files for request limits: root-only directory, per-file flock, HMAC-SHA256, atomic replace. */
#include "limits_store.h"
#include "hostkey.h"
#include "reuse.h"
#include "safe_file.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SUBDIR "limits"
#define NAME_LEN (2 + 64)
#define MAC_LINE 69
/* How long a login waits for another one's lock before it fails (closed). Locks are held
 * for one read and one rename, so only a stuck host gets here. */
#define LOCK_WAIT 5.0
#define LOCK_TRIES 50
/* Sweep old files at most this often (seconds, by the marker file's mtime). */
#define SWEEP_EVERY 60
#define SWEEP_MARKER "sweep"

double limits_now(void)
{
    return reuse_now();
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long to_ms(double seconds)
{
    return seconds <= 0 ? 0 : (long long)(seconds * 1000.0);
}

void limits_source_key(const char *rhost, char *out, size_t len)
{
    unsigned char a[16];
    size_t i;

    if (len == 0)
        return;
    out[0] = '\0';
    if (!rhost || !*rhost)
        return;
    if (inet_pton(AF_INET, rhost, a) == 1) {
        inet_ntop(AF_INET, a, out, (socklen_t)len);
        return;
    }
    if (inet_pton(AF_INET6, rhost, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, 12) == 0) {
            inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
            return;
        }
        memset(a + 8, 0, 8);
        if (inet_ntop(AF_INET6, a, out, (socklen_t)len) && strlen(out) + 4 < len)
            strcat(out, "/64");
        return;
    }
    /* A name (or anything an application let the caller put there): control bytes cannot
     * go into the record, so they count as '?'. */
    for (i = 0; rhost[i] && i + 1 < len && i < LIMITS_NAME_MAX; i++) {
        unsigned char ch = (unsigned char)rhost[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)tolower(ch);
    }
    out[i] = '\0';
}

void limits_block_message(const struct limits_block *blk, const char *user, const char *source, double now,
                          long long wall, char *out, size_t len)
{
    char when[64] = "";
    double left = blk->until - now;

    if (blk->until > 0) {
        time_t end = (time_t)(wall + (long long)(left + 0.999));
        struct tm tm;
        char hms[16];
        long secs = left < 1 ? 1 : (long)(left + 0.999);
        if (!gmtime_r(&end, &tm) || strftime(hms, sizeof(hms), "%H:%M:%S", &tm) == 0)
            snprintf(hms, sizeof(hms), "?");
        if (secs >= 120)
            snprintf(when, sizeof(when), " until %s UTC (in %ld min)", hms, (secs + 59) / 60);
        else
            snprintf(when, sizeof(when), " until %s UTC (in %ld s)", hms, secs);
    }
    switch (blk->verdict) {
    case LIMITS_LOCKED:
        snprintf(out, len, "pam_ciba: too many denied approval requests for %s: no new request is sent%s.", user,
                 when);
        break;
    case LIMITS_PENDING_EXISTS:
        snprintf(out, len,
                 "pam_ciba: an approval request for %s is already waiting: answer it on the phone, then try again.",
                 user);
        break;
    case LIMITS_TOO_MANY:
        if (blk->kind == LIMITS_SOURCE)
            snprintf(out, len, "pam_ciba: too many unapproved requests from %s: no new request is sent%s.", source,
                     when);
        else
            snprintf(out, len, "pam_ciba: too many unapproved requests for %s: no new request is sent%s.", user,
                     when);
        break;
    default:
        snprintf(out, len, "pam_ciba: request limits: no new request is sent.");
    }
}

/* The start time (clock ticks since boot, field 22 of /proc/PID/stat) of pid; 0 when it
 * cannot be read (no such process, or one this PID namespace cannot see). */
static unsigned long long process_start(const char *pid)
{
    char path[64], stat[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    stat[n] = '\0';
    /* Fields count from the last ')': the command name may hold spaces and parens. */
    p = strrchr(stat, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p, " %llu", &start) != 1)
        return 0;
    return start;
}

/* Pending entries whose process is gone (or is another process by now) are over: failed. */
static void drop_dead_owners(struct limits_record *rec)
{
    for (size_t i = 0; i < rec->n; i++) {
        struct limits_entry *e = &rec->e[i];
        char pid[16];
        if (e->until_ms == 0 || e->pid == 0)
            continue;
        snprintf(pid, sizeof(pid), "%u", e->pid);
        if (process_start(pid) != e->pstart)
            e->until_ms = 0;
    }
}

/* Out of descriptors or memory (a caller's RLIMIT_NOFILE): a local failure, never
 * "unsafe files", so it reads the way approval_run says it. e is the failing call's errno. */
static result local_failure(result r, int e, char *why, size_t whylen)
{
    if (r == RES_OK || (e != EMFILE && e != ENFILE && e != ENOMEM))
        return r;
    snprintf(why, whylen, "limits: local resource limit: %s (RLIMIT_NOFILE or memory)", strerror(e));
    return RES_INTERNAL;
}

static void boot_id(char *out, size_t len)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, out, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0)
        n = 0;
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

/* The open directory, its path and the key, for one operation. */
struct where {
    int dfd;
    char path[PATH_MAX];
    unsigned char key[HOSTKEY_LEN];
    char boot[LIMITS_BOOT_MAX + 1];
};

static void where_close(struct where *w)
{
    if (w->dfd >= 0)
        close(w->dfd);
    w->dfd = -1;
    explicit_bzero(w->key, sizeof(w->key));
}

/* The runtime directory and its limits/ subdirectory, both root-only (safe_file
 * checks every ancestor), and the key. Without create, a missing one is RES_DENIED. */
static result where_open(const struct limits_store *s, bool create, struct where *w, char *why, size_t whylen)
{
    const char *root = s->dir ? s->dir : REUSE_DEFAULT_DIR;
    unsigned flags = SAFE_SECRET | (create ? SAFE_CREATE : 0);
    char err[512];
    int rfd = -1;
    result r;

    w->dfd = -1;
    boot_id(w->boot, sizeof(w->boot));
    if ((size_t)snprintf(w->path, sizeof(w->path), "%s/%s", root, SUBDIR) >= sizeof(w->path)) {
        snprintf(why, whylen, "limits: runtime directory path too long");
        return RES_CONFIG;
    }
    int e = 0;

    r = safe_dir_open(root, s->owner, flags, &rfd, err, sizeof(err));
    if (r == RES_OK) {
        r = create ? hostkey_make(rfd, root, s->owner, w->key, err, sizeof(err))
                   : hostkey_read(rfd, root, s->owner, w->key, err, sizeof(err));
        e = errno;
        close(rfd);
    } else {
        e = errno;
    }
    if (r == RES_OK) {
        r = safe_dir_open(w->path, s->owner, flags, &w->dfd, err, sizeof(err));
        e = errno;
    }
    if (r == RES_CONFIG && !create && e == ENOENT)
        r = RES_DENIED;
    if (r != RES_OK) {
        snprintf(why, whylen, "limits: %s", err);
        r = local_failure(r, e, why, whylen);
        where_close(w);
    }
    return r;
}

static bool file_name(const struct where *w, int kind, const char *name, char out[NAME_LEN + 1])
{
    unsigned char h[32];
    char buf[LIMITS_NAME_MAX + 3];
    int n = snprintf(buf, sizeof(buf), "%c:%s", kind == LIMITS_USER ? 'u' : 's', name);

    if (n < 0 || (size_t)n >= sizeof(buf) || !hostkey_hmac(w->key, "limits name", buf, (size_t)n, h))
        return false;
    out[0] = kind == LIMITS_USER ? 'u' : 's';
    out[1] = '-';
    hostkey_hex(h, sizeof(h), out + 2);
    return true;
}

/* Write rec under name: a temporary file, then rename over the old one (atomic: a reader
 * sees the old record or the new one). With exclusive, link instead: fails (RES_DENIED)
 * when the name exists. */
static result save(const struct where *w, const char *name, const struct limits_record *rec, bool exclusive)
{
    char text[LIMITS_RECORD_MAX], tmp[32];
    unsigned char m[32], rnd[8];
    size_t len = limits_format(rec, text, sizeof(text) - MAC_LINE - 1);
    int fd;
    result r;

    if (len == 0 || !hostkey_hmac(w->key, "limits record", text, len, m) || RAND_bytes(rnd, sizeof(rnd)) != 1)
        return RES_INTERNAL;
    memcpy(text + len, "mac ", 4);
    hostkey_hex(m, sizeof(m), text + len + 4);
    text[len + 68] = '\n';
    len += MAC_LINE;
    memcpy(tmp, "tmp.", 4);
    hostkey_hex(rnd, sizeof(rnd), tmp + 4);
    fd = openat(w->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return RES_CONFIG;
    r = write(fd, text, len) == (ssize_t)len ? RES_OK : RES_CONFIG;
    close(fd);
    if (r == RES_OK && exclusive && linkat(w->dfd, tmp, w->dfd, name, 0) != 0)
        r = errno == EEXIST ? RES_DENIED : RES_CONFIG;
    if (r == RES_OK && !exclusive && renameat(w->dfd, tmp, w->dfd, name) != 0)
        r = RES_CONFIG;
    if (exclusive || r != RES_OK)
        unlinkat(w->dfd, tmp, 0);
    return r;
}

/* Read and check the open file fd: format, MAC, kind, name. A record from another boot
 * (the clock restarted) is replaced by an empty one. */
static result check_text(const struct where *w, int fd, const struct stat *st, int kind, const char *name,
                         struct limits_record *rec, char *why, size_t whylen)
{
    char *text = NULL, err[256];
    unsigned char want[32];
    size_t len = 0;
    result r = safe_fd_read(fd, st, w->path, LIMITS_RECORD_MAX, SAFE_BINARY, &text, &len, err, sizeof(err));

    if (r != RES_OK || limits_parse(text, len, rec) != RES_OK) {
        snprintf(why, whylen, "limits: a counter file of this %s is malformed (refused)",
                 kind == LIMITS_USER ? "user" : "source");
        r = RES_CONFIG;
    } else if (!hostkey_hmac(w->key, "limits record", text, rec->body_len, want) ||
               CRYPTO_memcmp(want, rec->mac, 32) != 0) {
        snprintf(why, whylen, "limits: a counter file of this %s fails its MAC check (refused)",
                 kind == LIMITS_USER ? "user" : "source");
        r = RES_CONFIG;
    } else if (rec->kind != kind || strcmp(rec->name, name) != 0) {
        snprintf(why, whylen, "limits: a counter file holds another %s's counters (refused)",
                 kind == LIMITS_USER ? "user" : "source");
        r = RES_CONFIG;
    } else if (strcmp(rec->boot, w->boot) != 0) {
        limits_record_init(rec, kind, name, w->boot);
    }
    free(text);
    return r;
}

static void refused_file(int kind, char *why, size_t whylen)
{
    snprintf(why, whylen, "limits: a counter file of this %s is not a root-only regular file (refused)",
             kind == LIMITS_USER ? "user" : "source");
}

/* Open, lock and read the counters of (kind, name), creating them when missing. On
 * RES_OK *fd holds the lock (close it after save) and rec the checked record. */
static result lock_record(const struct where *w, uid_t owner, int kind, const char *name, char fname[NAME_LEN + 1],
                          int *fd, struct limits_record *rec, char *why, size_t whylen)
{
    double deadline = mono() + LOCK_WAIT;
    char err[512];

    *fd = -1;
    if (!file_name(w, kind, name, fname)) {
        snprintf(why, whylen, "limits: HMAC failed");
        return RES_INTERNAL;
    }
    for (int attempt = 0; attempt < LOCK_TRIES; attempt++) {
        struct stat st, now_st;
        long wait_ns = 1000000;
        result r = safe_file_openat(w->dfd, w->path, fname, owner, SAFE_SECRET | SAFE_BINARY, fd, &st, err,
                                    sizeof(err));
        if (r != RES_OK) {
            int e = errno;
            if (e != ENOENT) {
                refused_file(kind, why, whylen);
                return local_failure(RES_CONFIG, e, why, whylen);
            }
            limits_record_init(rec, kind, name, w->boot);
            r = save(w, fname, rec, true);
            e = errno;
            if (r != RES_OK && r != RES_DENIED) {
                snprintf(why, whylen, "limits: cannot create a counter file");
                return local_failure(r, e, why, whylen);
            }
            continue; /* created (or another login did): open it */
        }
        while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
            struct timespec ts = {0, wait_ns};
            if ((errno != EWOULDBLOCK && errno != EINTR) || mono() > deadline) {
                close(*fd);
                *fd = -1;
                snprintf(why, whylen, "limits: the counters stayed locked for %.0f s", LOCK_WAIT);
                return RES_INTERNAL;
            }
            nanosleep(&ts, NULL);
            if (wait_ns < 8000000)
                wait_ns *= 2;
        }
        /* Locked; but if the name now leads elsewhere, another login replaced or removed
         * the file while this one waited: start again with the current one. */
        if (fstatat(w->dfd, fname, &now_st, AT_SYMLINK_NOFOLLOW) != 0 || now_st.st_ino != st.st_ino ||
            now_st.st_dev != st.st_dev) {
            close(*fd);
            *fd = -1;
            continue;
        }
        r = check_text(w, *fd, &st, kind, name, rec, why, whylen);
        if (r != RES_OK) {
            close(*fd);
            *fd = -1;
        } else {
            drop_dead_owners(rec);
        }
        return r;
    }
    snprintf(why, whylen, "limits: the counter file kept changing");
    return RES_INTERNAL;
}

/* Files whose counters are all over (no entry, no streak, no lockout) go, and temporary
 * files a crashed login left. A file that fails a check stays: it keeps failing logins. */
static void sweep(const struct where *w, uid_t owner, const struct limits_conf *c, long long now_ms)
{
    struct stat st;
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    int dfd2, mfd;
    DIR *d;
    struct dirent *de;
    struct limits_record *rec;

    if (fstatat(w->dfd, SWEEP_MARKER, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime < SWEEP_EVERY &&
        st.st_mtime <= time(NULL))
        return;
    mfd = openat(w->dfd, SWEEP_MARKER, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (mfd < 0)
        return;
    futimens(mfd, times);
    close(mfd);
    dfd2 = dup(w->dfd);
    d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    rec = malloc(sizeof(*rec));
    if (!d || !rec) {
        if (d)
            closedir(d);
        else if (dfd2 >= 0)
            close(dfd2);
        free(rec);
        return;
    }
    while ((de = readdir(d))) {
        char why[256];
        int fd, kind = de->d_name[0] == 'u' ? LIMITS_USER : LIMITS_SOURCE;
        if (strncmp(de->d_name, "tmp.", 4) == 0) {
            if (fstatat(w->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime > 60)
                unlinkat(w->dfd, de->d_name, 0);
            continue;
        }
        if (strlen(de->d_name) != NAME_LEN || (de->d_name[0] != 'u' && de->d_name[0] != 's') ||
            de->d_name[1] != '-')
            continue;
        if (safe_file_openat(w->dfd, w->path, de->d_name, owner, SAFE_SECRET | SAFE_BINARY, &fd, &st, why,
                             sizeof(why)) != RES_OK)
            continue;
        /* Never wait here: a busy file is in use, so not worth removing. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            struct stat now_st;
            char *text = NULL;
            size_t len = 0;
            if (fstatat(w->dfd, de->d_name, &now_st, AT_SYMLINK_NOFOLLOW) == 0 && now_st.st_ino == st.st_ino &&
                safe_fd_read(fd, &st, w->path, LIMITS_RECORD_MAX, SAFE_BINARY, &text, &len, why, sizeof(why)) ==
                    RES_OK &&
                limits_parse(text, len, rec) == RES_OK && rec->kind == kind) {
                char expect[NAME_LEN + 1];
                unsigned char want[32];
                bool authentic = hostkey_hmac(w->key, "limits record", text, rec->body_len, want) &&
                                 CRYPTO_memcmp(want, rec->mac, 32) == 0 && file_name(w, kind, rec->name, expect) &&
                                 strcmp(expect, de->d_name) == 0;
                if (authentic && strcmp(rec->boot, w->boot) != 0)
                    limits_record_init(rec, kind, rec->name, w->boot);
                if (authentic) {
                    drop_dead_owners(rec);
                    limits_prune(rec, c, now_ms);
                }
                if (authentic && rec->n == 0 && rec->streak == 0 && rec->locked_until_ms == 0)
                    unlinkat(w->dfd, de->d_name, 0);
            }
            free(text);
        }
        close(fd);
    }
    closedir(d);
    free(rec);
}

result limits_begin(const struct limits_store *s, const struct limits_conf *c, const char *user, const char *rhost,
                    double now, double pending_for, struct limits_ticket *t, struct limits_block *blk, char *why,
                    size_t whylen)
{
    struct where w;
    struct limits_record *urec = NULL, *srec = NULL;
    char uname[NAME_LEN + 1], sname[NAME_LEN + 1];
    long long now_ms = to_ms(now), until = 0;
    int ufd = -1, sfd = -1;
    enum limits_verdict v;
    result r;

    memset(t, 0, sizeof(*t));
    memset(blk, 0, sizeof(*blk));
    if (!user || !*user || strlen(user) > LIMITS_NAME_MAX) {
        snprintf(why, whylen, "limits: unusable user name");
        return RES_INTERNAL;
    }
    snprintf(t->user, sizeof(t->user), "%s", user);
    /* Sources have request counts only, no lockout. */
    if (c->max_requests > 0)
        limits_source_key(rhost, t->source, sizeof(t->source));
    if (RAND_bytes((unsigned char *)&t->id, sizeof(t->id)) != 1) {
        snprintf(why, whylen, "limits: no random bytes");
        return RES_INTERNAL;
    }
    r = where_open(s, true, &w, why, whylen);
    if (r != RES_OK)
        return r;
    urec = malloc(sizeof(*urec));
    srec = malloc(sizeof(*srec));
    if (!urec || !srec) {
        snprintf(why, whylen, "limits: out of memory");
        r = RES_INTERNAL;
        goto out;
    }
    sweep(&w, s->owner, c, now_ms);
    /* Always the user's lock first, then the source's: two logins never wait on each other in a circle. */
    r = lock_record(&w, s->owner, LIMITS_USER, user, uname, &ufd, urec, why, whylen);
    if (r != RES_OK)
        goto out;
    limits_prune(urec, c, now_ms);
    v = limits_decide(urec, c, now_ms, &until);
    blk->kind = LIMITS_USER;
    if (v == LIMITS_GO && t->source[0]) {
        r = lock_record(&w, s->owner, LIMITS_SOURCE, t->source, sname, &sfd, srec, why, whylen);
        if (r != RES_OK)
            goto out;
        limits_prune(srec, c, now_ms);
        v = limits_decide(srec, c, now_ms, &until);
        blk->kind = LIMITS_SOURCE;
    }
    blk->verdict = v;
    blk->until = until > 0 ? (double)until / 1000.0 : 0;
    if (v != LIMITS_GO) {
        r = v == LIMITS_LOCKED ? RES_LOCKED_OUT : v == LIMITS_PENDING_EXISTS ? RES_PENDING_EXISTS : RES_RATE_LIMITED;
        snprintf(why, whylen, "limits: %s", limits_verdict_name(v));
        /* The pruned record is worth keeping: it is smaller. */
        if (save(&w, uname, urec, false) != RES_OK)
            snprintf(why, whylen, "limits: %s (counters not saved)", limits_verdict_name(v));
        goto out;
    }
    if (c->max_requests > 0 &&
        (!limits_add(urec, t->id, now_ms, now_ms + to_ms(pending_for)) ||
         (sfd >= 0 && !limits_add(srec, t->id, now_ms, now_ms + to_ms(pending_for))))) {
        snprintf(why, whylen, "limits: counters full");
        r = RES_INTERNAL;
        goto out;
    }
    if (c->max_requests > 0) {
        /* This process waits for the request: if it dies, the entry is over. */
        unsigned long long start = process_start("self");
        urec->e[urec->n - 1].pid = start ? (uint32_t)getpid() : 0;
        urec->e[urec->n - 1].pstart = start;
        if (sfd >= 0)
            srec->e[srec->n - 1] = urec->e[urec->n - 1];
    }
    /* The source first: a user entry without a source entry would be the safe side. */
    r = sfd >= 0 ? save(&w, sname, srec, false) : RES_OK;
    if (r == RES_OK)
        r = save(&w, uname, urec, false);
    if (r != RES_OK) {
        int e = errno;
        snprintf(why, whylen, "limits: cannot write the counters");
        r = local_failure(r, e, why, whylen);
        goto out;
    }
    t->active = true;
    snprintf(why, whylen, "limits: request reserved");
out:
    if (sfd >= 0)
        close(sfd);
    if (ufd >= 0)
        close(ufd);
    where_close(&w);
    free(urec);
    free(srec);
    return r;
}

/* Lock (kind, name), apply fn, save. */
static result update(const struct where *w, uid_t owner, int kind, const char *name, const struct limits_conf *c,
                     long long now_ms, void (*fn)(struct limits_record *, const void *), const void *arg,
                     struct limits_record *rec, char *why, size_t whylen)
{
    char fname[NAME_LEN + 1];
    int fd;
    result r = lock_record(w, owner, kind, name, fname, &fd, rec, why, whylen);

    if (r != RES_OK)
        return r;
    limits_prune(rec, c, now_ms);
    fn(rec, arg);
    r = save(w, fname, rec, false);
    if (r != RES_OK) {
        int e = errno;
        snprintf(why, whylen, "limits: cannot write the counters");
        r = local_failure(r, e, why, whylen);
    }
    close(fd);
    return r;
}

struct finish_arg {
    uint64_t id;
    enum limits_end how;
    const struct limits_conf *c;
    long long now_ms;
};

static void do_finish(struct limits_record *rec, const void *arg)
{
    const struct finish_arg *a = arg;
    limits_finish(rec, a->id, a->how, a->c, a->now_ms);
}

static void do_denial(struct limits_record *rec, const void *arg)
{
    const struct finish_arg *a = arg;
    limits_note_denial(rec, a->c, a->now_ms);
}

result limits_end(const struct limits_store *s, const struct limits_conf *c, struct limits_ticket *t,
                  enum limits_end how, double now, char *why, size_t whylen)
{
    struct finish_arg a = {t->id, how, c, to_ms(now)};
    struct limits_record *rec;
    struct where w;
    result r, rs = RES_OK;

    if (!t->active)
        return RES_OK;
    t->active = false;
    rec = malloc(sizeof(*rec));
    if (!rec) {
        snprintf(why, whylen, "limits: out of memory");
        return RES_INTERNAL;
    }
    r = where_open(s, true, &w, why, whylen);
    if (r == RES_OK) {
        r = update(&w, s->owner, LIMITS_USER, t->user, c, a.now_ms, do_finish, &a, rec, why, whylen);
        if (t->source[0])
            rs = update(&w, s->owner, LIMITS_SOURCE, t->source, c, a.now_ms, do_finish, &a, rec, why, whylen);
        if (r == RES_OK)
            r = rs;
        where_close(&w);
    }
    free(rec);
    if (r == RES_OK)
        snprintf(why, whylen, "limits: request ended (%s)",
                 how == LIMITS_END_APPROVED ? "approved" : how == LIMITS_END_DENIED ? "denied"
                                                         : how == LIMITS_END_FAILED ? "failed" : "not sent");
    return r;
}

result limits_note_failure(const struct limits_store *s, const struct limits_conf *c, const char *user,
                           double now, char *why, size_t whylen)
{
    struct finish_arg a = {0, LIMITS_END_DENIED, c, to_ms(now)};
    struct limits_record *rec;
    struct where w;
    result r;

    if (!user || !*user || strlen(user) > LIMITS_NAME_MAX) {
        snprintf(why, whylen, "limits: unusable user name");
        return RES_INTERNAL;
    }
    rec = malloc(sizeof(*rec));
    if (!rec) {
        snprintf(why, whylen, "limits: out of memory");
        return RES_INTERNAL;
    }
    r = where_open(s, true, &w, why, whylen);
    if (r == RES_OK) {
        r = update(&w, s->owner, LIMITS_USER, user, c, a.now_ms, do_denial, &a, rec, why, whylen);
        where_close(&w);
    }
    if (r == RES_OK)
        snprintf(why, whylen, "limits: failure counted (streak %u%s)", rec->streak,
                 rec->locked_until_ms ? ", locked out" : "");
    free(rec);
    return r;
}

result limits_read(const struct limits_store *s, const struct limits_conf *c, int kind, const char *name,
                   double now, struct limits_record *rec, char *why, size_t whylen)
{
    char fname[NAME_LEN + 1], err[512];
    struct where w;
    struct stat st;
    int fd;
    result r;

    if (!name || !*name || strlen(name) > LIMITS_NAME_MAX) {
        snprintf(why, whylen, "limits: unusable name");
        return RES_INTERNAL;
    }
    r = where_open(s, false, &w, why, whylen);
    if (r != RES_OK)
        return r;
    if (!file_name(&w, kind, name, fname)) {
        where_close(&w);
        snprintf(why, whylen, "limits: HMAC failed");
        return RES_INTERNAL;
    }
    /* No lock: files are only ever replaced whole. */
    r = safe_file_openat(w.dfd, w.path, fname, s->owner, SAFE_SECRET | SAFE_BINARY, &fd, &st, err, sizeof(err));
    if (r != RES_OK) {
        bool missing = errno == ENOENT;
        if (missing)
            snprintf(why, whylen, "limits: no counters");
        else
            refused_file(kind, why, whylen);
        where_close(&w);
        return missing ? RES_DENIED : RES_CONFIG;
    }
    r = check_text(&w, fd, &st, kind, name, rec, why, whylen);
    close(fd);
    where_close(&w);
    if (r == RES_OK) {
        drop_dead_owners(rec);
        limits_prune(rec, c, to_ms(now));
    }
    return r;
}

result limits_check(const struct limits_store *s, const struct limits_conf *c, const char *user, double now,
                    double *until, char *why, size_t whylen)
{
    struct limits_record *rec = malloc(sizeof(*rec));
    result r;

    if (until)
        *until = 0;
    if (!rec) {
        snprintf(why, whylen, "limits: out of memory");
        return RES_INTERNAL;
    }
    r = limits_read(s, c, LIMITS_USER, user, now, rec, why, whylen);
    if (r == RES_DENIED) {
        r = RES_OK;
    } else if (r == RES_OK && c->max_denials > 0 && rec->locked_until_ms > to_ms(now)) {
        if (until)
            *until = (double)rec->locked_until_ms / 1000.0;
        snprintf(why, whylen, "limits: locked out");
        r = RES_LOCKED_OUT;
    } else if (r == RES_OK) {
        snprintf(why, whylen, "limits: not locked out");
    }
    free(rec);
    return r;
}

result limits_clear(const struct limits_store *s, int kind, const char *name, char *why, size_t whylen)
{
    char fname[NAME_LEN + 1];
    struct where w;
    result r;

    if (!name || !*name || strlen(name) > LIMITS_NAME_MAX) {
        snprintf(why, whylen, "limits: unusable name");
        return RES_INTERNAL;
    }
    r = where_open(s, false, &w, why, whylen);
    if (r == RES_DENIED) {
        snprintf(why, whylen, "no counters for %s", name);
        return RES_OK;
    }
    if (r != RES_OK)
        return r;
    if (!file_name(&w, kind, name, fname)) {
        r = RES_INTERNAL;
        snprintf(why, whylen, "limits: HMAC failed");
    } else if (unlinkat(w.dfd, fname, 0) == 0) {
        snprintf(why, whylen, "counters of %s removed (%s)", name,
                 kind == LIMITS_USER ? "lockout, denial streak, request counts" : "request counts");
    } else if (errno == ENOENT) {
        snprintf(why, whylen, "no counters for %s", name);
    } else {
        snprintf(why, whylen, "cannot remove the counters of %s: %s", name, strerror(errno));
        r = RES_CONFIG;
    }
    where_close(&w);
    return r;
}
