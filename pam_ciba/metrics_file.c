/* The metrics file on disk: lock beside it, read and check it, write a temp file, rename it. */
#include "metrics_file.h"
#include "metrics.h"
#include "safe_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOCK_SUFFIX ".lock"
#define TMP_SUFFIX ".tmp" /* neither ends in ".prom": the textfile collector ignores both */
#define PENDING_INFIX ".pending." /* ".NAME.pending.RANDOM": hidden, and not ".prom" */
#define WRITING_INFIX ".writing." /* a deferred count being written, renamed to pending when whole */
#define WRITING_STALE_S 60        /* left by a login that died while writing it */
#define LOCK_STEP_MAX_NS 4000000L

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The lock file beside the metrics file: the metrics file itself is replaced by every
 * update, so a lock on it would lock a file that is about to be gone. */
static result open_lock(int dirfd, const char *dir, const char *name, uid_t owner, int *fd, char *why,
                        size_t whylen)
{
    struct stat st;

    *fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
    if (*fd < 0) {
        snprintf(why, whylen, "%s/%s: cannot open the lock file: %s", dir, name, strerror(errno));
        return errno == ELOOP ? RES_CONFIG : RES_INTERNAL;
    }
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != owner || (st.st_mode & 022)) {
        snprintf(why, whylen, "%s/%s: the lock file is not a regular file owned by uid %u and closed to "
                 "writes by group/others (fix: remove it)", dir, name, (unsigned)owner);
        close(*fd);
        *fd = -1;
        return RES_CONFIG;
    }
    return RES_OK;
}

/* flock without blocking, retried with short sleeps until the budget is spent: a login
 * never waits on another login's update for longer than that. */
static result take_lock(int fd, unsigned budget_ms, struct metrics_stats *st, char *why, size_t whylen)
{
    double start = now_ms(), deadline = start + budget_ms;
    long step = 250000L; /* 0.25 ms, doubling up to LOCK_STEP_MAX_NS */

    for (;;) {
        double left;
        st->lock_tries++;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(why, whylen, "flock: %s", strerror(errno));
            st->lock_wait_ms = now_ms() - start;
            return RES_INTERNAL;
        }
        left = deadline - now_ms();
        if (left <= 0) {
            st->lock_wait_ms = now_ms() - start;
            snprintf(why, whylen, "the lock stayed busy for %u ms", budget_ms);
            return RES_UNAVAILABLE;
        }
        {
            long ns = step < (long)(left * 1e6) ? step : (long)(left * 1e6) + 1;
            struct timespec ts = {0, ns};
            nanosleep(&ts, NULL);
        }
        if (step < LOCK_STEP_MAX_NS)
            step *= 2;
    }
    st->lock_wait_ms = now_ms() - start;
    return RES_OK;
}

/* The current counts, or a fresh start when the file is missing, unsafe or not ours. */
static void read_old(int dirfd, const char *dir, const char *base, uid_t owner, struct metrics *m,
                     struct metrics_stats *st)
{
    char err[256];
    char *text = NULL;
    size_t len = 0;
    struct stat fst;
    int fd = -1;
    bool missing;
    result r;

    r = safe_file_openat(dirfd, dir, base, owner, 0, &fd, &fst, err, sizeof(err));
    missing = r != RES_OK && errno == ENOENT;
    if (r == RES_OK) {
        r = safe_fd_read(fd, &fst, base, METRICS_MAX_FILE, 0, &text, &len, err, sizeof(err));
        close(fd);
    }
    if (r == RES_OK)
        r = metrics_parse(text, len, m, err, sizeof(err));
    free(text);
    if (r != RES_OK) {
        metrics_init(m);
        st->started_over = true;
        snprintf(st->old_file, sizeof(st->old_file), "%s", missing ? "no file yet" : err);
    }
}

static result write_all(int fd, const char *p, size_t len);

/* A caller's RLIMIT_FSIZE would end the process with SIGXFSZ half way: skip instead. */
static bool fits_fsize(size_t len, char *why, size_t whylen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < len) {
        snprintf(why, whylen, "RLIMIT_FSIZE (%llu bytes) is below the file's size", (unsigned long long)rl.rlim_cur);
        return false;
    }
    return true;
}

static void pending_prefix(const char *base, char *out, size_t len)
{
    snprintf(out, len, ".%s" PENDING_INFIX, base);
}

static void writing_prefix(const char *base, char *out, size_t len)
{
    snprintf(out, len, ".%s" WRITING_INFIX, base);
}

/* The lock is busy: leave the decision in a file of its own (a fresh random name, O_EXCL)
 * for whoever holds the lock next. No lock is needed to create a new file. */
static result defer(int dirfd, const char *dir, const char *base, const struct metrics_update *u, char *why,
                    size_t whylen)
{
    struct metrics_delta d;
    char line[METRICS_DELTA_MAX], name[NAME_MAX + 1], prefix[NAME_MAX + 1], final[NAME_MAX + 1];
    uint64_t rnd[2] = {0, 0};
    size_t len;
    int fd;
    result r;

    metrics_delta_make(u->outcome, u->service, u->observe, u->approval_ms, &d);
    len = metrics_delta_format(&d, line, sizeof(line));
    writing_prefix(base, prefix, sizeof(prefix));
    pending_prefix(base, final, sizeof(final));
    if (len == 0 || getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd) ||
        snprintf(name, sizeof(name), "%s%016" PRIx64 "%016" PRIx64, prefix, rnd[0], rnd[1]) >= (int)sizeof(name) ||
        snprintf(final + strlen(final), sizeof(final) - strlen(final), "%016" PRIx64 "%016" PRIx64, rnd[0],
                 rnd[1]) >= (int)(sizeof(final) - strlen(final))) {
        snprintf(why, whylen, "cannot name a deferred count");
        return RES_INTERNAL;
    }
    if (!fits_fsize(len, why, whylen))
        return RES_INTERNAL;
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "%s/%s: %s", dir, name, strerror(errno));
        return RES_INTERNAL;
    }
    r = write_all(fd, line, len);
    if (close(fd) != 0)
        r = RES_INTERNAL;
    /* Whole before it carries the name the lock holder looks for: never read half written. */
    if (r == RES_OK && renameat(dirfd, name, dirfd, final) != 0)
        r = RES_INTERNAL;
    if (r != RES_OK) {
        (void)unlinkat(dirfd, name, 0);
        snprintf(why, whylen, "%s/%s: cannot write", dir, name);
    }
    return r;
}

struct folded {
    size_t n;
    char (*names)[NAME_MAX + 1];
};

/* Under the lock: count the decisions other logins deferred. Their files are removed only
 * after the new metrics file is in place (fold_done), so a failed write loses none. A file
 * that is not root's or not a deferred count is removed without counting it. */
static void fold_pending(int dirfd, const char *dir, const char *base, uid_t owner, struct metrics *m,
                         struct folded *f)
{
    char prefix[NAME_MAX + 1], writing[NAME_MAX + 1], err[256], *text;
    size_t plen, wlen, len;
    struct dirent *de;
    DIR *d;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    f->n = 0;
    f->names = NULL;
    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    pending_prefix(base, prefix, sizeof(prefix));
    writing_prefix(base, writing, sizeof(writing));
    plen = strlen(prefix);
    wlen = strlen(writing);
    while ((de = readdir(d)) && f->n < METRICS_FOLD_MAX) {
        struct metrics_delta delta;
        struct stat st;
        int dfd = -1;
        bool ok = false;

        /* One a login began and never finished (it died): removed once surely abandoned. */
        if (strncmp(de->d_name, writing, wlen) == 0) {
            if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime > WRITING_STALE_S)
                (void)unlinkat(dirfd, de->d_name, 0);
            continue;
        }
        if (strncmp(de->d_name, prefix, plen) != 0)
            continue;
        if (!f->names && !(f->names = malloc(METRICS_FOLD_MAX * sizeof(*f->names))))
            break;
        text = NULL;
        if (safe_file_openat(dirfd, dir, de->d_name, owner, 0, &dfd, &st, err, sizeof(err)) == RES_OK) {
            ok = safe_fd_read(dfd, &st, de->d_name, METRICS_DELTA_MAX, 0, &text, &len, err, sizeof(err)) == RES_OK &&
                 metrics_delta_parse(text, len, &delta) == RES_OK;
            close(dfd);
        }
        free(text);
        if (ok && metrics_add(m, delta.outcome, delta.service, delta.observe, delta.ms) != RES_OK)
            ok = false;
        if (!ok) {
            (void)unlinkat(dirfd, de->d_name, 0);
            continue;
        }
        snprintf(f->names[f->n++], NAME_MAX + 1, "%s", de->d_name);
    }
    closedir(d);
}

static void fold_done(int dirfd, struct folded *f, bool written)
{
    for (size_t i = 0; written && i < f->n; i++)
        (void)unlinkat(dirfd, f->names[i], 0);
    free(f->names);
    f->names = NULL;
}

static result write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return RES_INTERNAL;
        p += n;
        len -= (size_t)n;
    }
    return RES_OK;
}

/* Write text to a temp file in the directory and rename it over base. */
static result replace(int dirfd, const char *dir, const char *base, const char *tmp, const char *text, size_t len,
                      char *why, size_t whylen)
{
    int fd, e;
    result r;

    if (!fits_fsize(len, why, whylen))
        return RES_INTERNAL;
    /* Under the lock, a temp file left by an update that died is ours to remove. */
    (void)unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "%s/%s: %s", dir, tmp, strerror(errno));
        return RES_INTERNAL;
    }
    /* Readable by the collector (node_exporter runs as its own user), whatever the umask. */
    r = fchmod(fd, 0644) == 0 ? write_all(fd, text, len) : RES_INTERNAL;
    e = errno;
    if (close(fd) != 0 && r == RES_OK) {
        r = RES_INTERNAL;
        e = errno;
    }
    if (r == RES_OK && renameat(dirfd, tmp, dirfd, base) != 0) {
        r = RES_INTERNAL;
        e = errno;
    }
    if (r != RES_OK) {
        (void)unlinkat(dirfd, tmp, 0);
        snprintf(why, whylen, "%s/%s: cannot write: %s", dir, base, strerror(e));
    }
    return r;
}

result metrics_file_update(const struct metrics_update *u, struct metrics_stats *st, char *why, size_t whylen)
{
    double start = now_ms(), held = 0;
    char dir[PATH_MAX], lockname[NAME_MAX + 1], tmpname[NAME_MAX + 1];
    const char *slash = u->path ? strrchr(u->path, '/') : NULL, *base;
    struct metrics *m = NULL;
    struct folded folded = {0, NULL};
    char *text = NULL;
    size_t len = 0;
    int dirfd = -1, lockfd = -1;
    result r;

    memset(st, 0, sizeof(*st));
    why[0] = '\0';
    if (!slash || u->path[0] != '/' || !slash[1] || (size_t)(slash - u->path) >= sizeof(dir) ||
        strlen(slash + 1) + sizeof(LOCK_SUFFIX) > sizeof(lockname)) {
        snprintf(why, whylen, "metrics_file: not an absolute file path");
        return RES_CONFIG;
    }
    base = slash + 1;
    /* Only the owner (root) may write there; any other process (a screen locker checking
     * a password as the user) has nothing to update. */
    if (geteuid() != u->owner) {
        snprintf(why, whylen, "not running as uid %u: no update", (unsigned)u->owner);
        return RES_IGNORE;
    }
    snprintf(dir, sizeof(dir), "%.*s", slash == u->path ? 1 : (int)(slash - u->path), u->path);
    snprintf(lockname, sizeof(lockname), "%s" LOCK_SUFFIX, base);
    snprintf(tmpname, sizeof(tmpname), "%s" TMP_SUFFIX, base);
    r = safe_dir_open(dir, u->owner, 0, &dirfd, why, whylen);
    if (r == RES_OK)
        r = open_lock(dirfd, dir, lockname, u->owner, &lockfd, why, whylen);
    if (r == RES_OK)
        r = take_lock(lockfd, u->lock_budget_ms ? u->lock_budget_ms : METRICS_LOCK_BUDGET_MS, st, why, whylen);
    if (r == RES_UNAVAILABLE) {
        r = defer(dirfd, dir, base, u, why, whylen);
        st->deferred = r == RES_OK;
        goto out;
    }
    if (r == RES_OK)
        held = now_ms();
    if (r == RES_OK && !(m = malloc(sizeof(*m)))) {
        snprintf(why, whylen, "out of memory");
        r = RES_INTERNAL;
    }
    if (r == RES_OK) {
        read_old(dirfd, dir, base, u->owner, m, st);
        fold_pending(dirfd, dir, base, u->owner, m, &folded);
        st->folded = (int)folded.n;
        /* Full or at the counters' limit: start over rather than never count again. */
        if (metrics_add(m, u->outcome, u->service, u->observe, u->approval_ms) != RES_OK) {
            metrics_init(m);
            st->started_over = true;
            snprintf(st->old_file, sizeof(st->old_file), "counters at their limit");
            r = metrics_add(m, u->outcome, u->service, u->observe, u->approval_ms);
        }
    }
    if (r == RES_OK) {
        size_t cap = m->n * (2 * METRICS_LABEL_MAX + 64) + 4096;
        if (!(text = malloc(cap)) || metrics_format(m, text, cap, &len) != RES_OK) {
            snprintf(why, whylen, "cannot format the metrics");
            r = RES_INTERNAL;
        }
    }
    if (r == RES_OK)
        r = replace(dirfd, dir, base, tmpname, text, len, why, whylen);
    fold_done(dirfd, &folded, r == RES_OK);
out:
    free(text);
    free(m);
    if (lockfd >= 0)
        close(lockfd); /* releases the lock */
    if (held > 0)
        st->hold_ms = now_ms() - held;
    if (dirfd >= 0)
        close(dirfd);
    st->total_ms = now_ms() - start;
    return r;
}
