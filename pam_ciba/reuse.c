/* Reuse records: HMAC-SHA256 under a root-only random key, bound to caller, target, service, tty, session. */
#include "reuse.h"
#include "record_text.h"
#include "hostkey.h"
#include "safe_file.h"
#include "wipe.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

#define NAME_HEX 64
/* v1 records (no caller, no scope) fail to parse and are removed. */
#define MAGIC "pam_ciba reuse v2"
/* Records looked at when telling why there is no reuse. */
#define SCAN_MAX 256

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

static bool field_ok(const char *v)
{
    return v && *v && strlen(v) <= REUSE_FIELD_MAX;
}

static bool identity_ok(const struct reuse_identity *id)
{
    return field_ok(id->user) && field_ok(id->service) && field_ok(id->tty) && field_ok(id->session) &&
           field_ok(id->subject) && (!id->ruser || strlen(id->ruser) <= REUSE_FIELD_MAX) &&
           (!id->command || field_ok(id->command));
}

/* ---- the record text ----
 *   pam_ciba reuse v2\n approved MS\n user LEN:BYTES\n service .. tty .. session ..
 *   subject ..\n ruid N\n ruser LEN:BYTES|-\n loginuid N\n scope session|command\n
 *   command LEN:BYTES|-\n mac HEX\n
 * Strings carry their byte count, so a value may hold any byte but NUL and no value can
 * end early or spill into the next field. */


static void put_num(struct rtext_out *o, const char *name, unsigned long long v)
{
    char b[64];
    int n = snprintf(b, sizeof(b), "%s %llu\n", name, v);
    rtext_put(o, b, (size_t)n);
}

static void put_str(struct rtext_out *o, const char *name, const char *v)
{
    char b[64];
    int n = v ? snprintf(b, sizeof(b), "%s %zu:", name, strlen(v)) : snprintf(b, sizeof(b), "%s -", name);
    rtext_put(o, b, (size_t)n);
    if (v)
        rtext_put(o, v, strlen(v));
    rtext_put(o, "\n", 1);
}

size_t reuse_format(const struct reuse_identity *id, long long ms, char *out, size_t len)
{
    struct rtext_out o = {out, len, len > 0};

    if (!identity_ok(id) || ms < 0)
        return 0;
    rtext_put(&o, MAGIC "\n", strlen(MAGIC) + 1);
    put_num(&o, "approved", (unsigned long long)ms);
    put_str(&o, "user", id->user);
    put_str(&o, "service", id->service);
    put_str(&o, "tty", id->tty);
    put_str(&o, "session", id->session);
    put_str(&o, "subject", id->subject);
    put_num(&o, "ruid", (unsigned long long)id->ruid);
    put_str(&o, "ruser", id->ruser);
    put_num(&o, "loginuid", id->loginuid);
    rtext_put(&o, id->command ? "scope command\n" : "scope session\n", 14);
    put_str(&o, "command", id->command);
    return o.ok ? (size_t)(o.p - out) : 0;
}

struct in {
    struct rtext_in r;
    char *buf, *bend; /* where parsed strings go, NUL-terminated */
};

static unsigned long long get_num_line(struct in *c, const char *name, unsigned long long max)
{
    unsigned long long v;
    rtext_expect(&c->r, name);
    rtext_expect(&c->r, " ");
    v = (unsigned long long)rtext_get_num(&c->r, (long long)max);
    rtext_expect(&c->r, "\n");
    return v;
}

/* "name LEN:BYTES\n", or "name -\n" when optional (returns NULL then); min = shortest LEN. */
static const char *get_str(struct in *c, const char *name, bool optional, size_t min)
{
    size_t n;
    char *v;

    rtext_expect(&c->r, name);
    rtext_expect(&c->r, " ");
    if (optional && c->r.ok && c->r.p < c->r.end && *c->r.p == '-') {
        rtext_expect(&c->r, "-\n");
        return NULL;
    }
    n = (size_t)rtext_get_num(&c->r, REUSE_FIELD_MAX);
    rtext_expect(&c->r, ":");
    if (!c->r.ok || n < min || (size_t)(c->r.end - c->r.p) < n || (size_t)(c->bend - c->buf) <= n ||
        memchr(c->r.p, '\0', n)) {
        c->r.ok = false;
        return NULL;
    }
    v = c->buf;
    memcpy(v, c->r.p, n);
    v[n] = '\0';
    c->buf += n + 1;
    c->r.p += n;
    rtext_expect(&c->r, "\n");
    return v;
}

result reuse_parse(const char *text, size_t len, struct reuse_record *rec)
{
    struct in c = {{text, text + len, true}, rec->buf, rec->buf + sizeof(rec->buf)};
    bool command_scope = false;

    memset(&rec->id, 0, sizeof(rec->id));
    rec->ms = 0;
    rtext_expect(&c.r, MAGIC "\n");
    rec->ms = (long long)get_num_line(&c, "approved", (unsigned long long)LLONG_MAX / 2);
    rec->id.user = get_str(&c, "user", false, 1);
    rec->id.service = get_str(&c, "service", false, 1);
    rec->id.tty = get_str(&c, "tty", false, 1);
    rec->id.session = get_str(&c, "session", false, 1);
    rec->id.subject = get_str(&c, "subject", false, 1);
    rec->id.ruid = (uid_t)get_num_line(&c, "ruid", (uid_t)-1);
    rec->id.ruser = get_str(&c, "ruser", true, 0);
    rec->id.loginuid = (uint32_t)get_num_line(&c, "loginuid", UINT32_MAX);
    if (rtext_at(&c.r, "scope command\n"))
        command_scope = true;
    rtext_expect(&c.r, command_scope ? "scope command\n" : "scope session\n");
    rec->id.command = command_scope ? get_str(&c, "command", false, 1) : NULL;
    if (!command_scope)
        rtext_expect(&c.r, "command -\n");
    rec->body_len = (size_t)(c.r.p - text);
    rtext_expect(&c.r, "mac ");
    rtext_get_hex(&c.r, rec->mac, 32);
    rtext_expect(&c.r, "\n");
    if (!c.r.ok || c.r.p != c.r.end)
        return RES_INVALID_TOKEN;
    return RES_OK;
}

static bool eq_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

unsigned reuse_diff(const struct reuse_identity *a, const struct reuse_identity *b)
{
    unsigned d = 0;
    d |= eq_str(a->user, b->user) ? 0 : REUSE_F_USER;
    d |= eq_str(a->service, b->service) ? 0 : REUSE_F_SERVICE;
    d |= eq_str(a->tty, b->tty) ? 0 : REUSE_F_TTY;
    d |= eq_str(a->session, b->session) ? 0 : REUSE_F_SESSION;
    d |= eq_str(a->subject, b->subject) ? 0 : REUSE_F_SUBJECT;
    d |= a->ruid == b->ruid ? 0 : REUSE_F_RUID;
    d |= eq_str(a->ruser, b->ruser) ? 0 : REUSE_F_RUSER;
    d |= a->loginuid == b->loginuid ? 0 : REUSE_F_LOGINUID;
    if (!a->command != !b->command)
        d |= REUSE_F_SCOPE;
    else
        d |= eq_str(a->command, b->command) ? 0 : REUSE_F_COMMAND;
    return d;
}

const char *reuse_field_names(unsigned mask, char *out, size_t len)
{
    static const char *const names[] = {"user", "service", "tty",      "session", "subject",
                                        "ruid", "ruser",   "loginuid", "scope",   "command"};
    size_t used = 0;

    if (len == 0)
        return out;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (mask & (1u << i)) {
            int n = snprintf(out + used, len - used, "%s%s", used ? "," : "", names[i]);
            if (n < 0 || (size_t)n >= len - used)
                break;
            used += (size_t)n;
        }
    }
    return out;
}

int reuse_verify(const unsigned char key[REUSE_KEY_LEN], const char *text, const struct reuse_record *rec)
{
    unsigned char want[32];
    bool ok = hostkey_hmac(key, "record", text, rec->body_len, want) && CRYPTO_memcmp(want, rec->mac, 32) == 0;
    explicit_bzero(want, sizeof(want));
    return ok;
}

/* Open dir (creating it when asked) and insist it is a real directory owned by the
 * store owner that nobody else can enter, below directories nobody else can change:
 * records are only as safe as this directory. */
static result open_dir(const struct reuse_store *s, bool create, int *dfd, char *why, size_t whylen)
{
    const char *dir = s->dir ? s->dir : REUSE_DEFAULT_DIR;
    result r = safe_dir_open(dir, s->owner, SAFE_SECRET | (create ? SAFE_CREATE : 0), dfd, why, whylen);

    if (r == RES_CONFIG && errno == ENOENT && !create) {
        snprintf(why, whylen, "%s: no reuse directory yet", dir);
        return RES_DENIED;
    }
    return r;
}

/* A file in the directory that is regular, owned by the owner, not accessible to others. */
static int open_owned(int dfd, const char *name, const struct reuse_store *s, struct stat *st, bool *unsafe)
{
    char err[512];
    int fd;

    if (safe_file_openat(dfd, s->dir ? s->dir : REUSE_DEFAULT_DIR, name, s->owner, SAFE_SECRET | SAFE_BINARY, &fd,
                         st, err, sizeof(err)) != RES_OK) {
        *unsafe = errno != ENOENT;
        return -1;
    }
    *unsafe = false;
    return fd;
}

/* The file name: an HMAC of the identity, so a login finds exactly its own record. */
static bool record_name(const unsigned char *key, const struct reuse_identity *id, char *name)
{
    char *text = malloc(REUSE_RECORD_MAX);
    unsigned char h[32];
    size_t n = text ? reuse_format(id, 0, text, REUSE_RECORD_MAX) : 0;
    bool ok = n > 0 && hostkey_hmac(key, "name", text, n, h);

    free(text);
    if (ok)
        hostkey_hex(h, sizeof(h), name);
    return ok;
}

static bool is_record_name(const char *n)
{
    return strlen(n) == NAME_HEX && strspn(n, "0123456789abcdef") == NAME_HEX;
}

/* One record file read into text and parsed into rec (both REUSE_RECORD_MAX big).
 * RES_DENIED: none; RES_INVALID_TOKEN: unsafe owner, mode or type, or malformed. */
static result load(int dfd, const char *name, const struct reuse_store *s, char *text, size_t *len,
                   struct reuse_record *rec)
{
    struct stat st;
    bool unsafe;
    ssize_t n;
    int fd = open_owned(dfd, name, s, &st, &unsafe);

    *len = 0;
    if (fd < 0)
        return unsafe ? RES_INVALID_TOKEN : RES_DENIED;
    n = st.st_size > 0 && st.st_size < REUSE_RECORD_MAX ? read(fd, text, REUSE_RECORD_MAX) : -1;
    close(fd);
    if (n <= 0 || n >= REUSE_RECORD_MAX)
        return RES_INVALID_TOKEN;
    *len = (size_t)n;
    return reuse_parse(text, *len, rec);
}

static bool in_window(long long ms, long window, double now)
{
    double t = (double)ms / 1000.0;
    return now - t < (double)window && t <= now + 1.0;
}

static int popcount(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* Why a login has no record: the fields in which the closest live, authentic record for
 * the same tty and session differs from id (0 if there is none). Nothing is removed. */
static unsigned closest_difference(int dfd, const struct reuse_store *s, const unsigned char *key,
                                   const struct reuse_identity *id, long window, double now, char *text,
                                   struct reuse_record *rec)
{
    int dfd2 = dup(dfd), seen = 0;
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    struct dirent *de;
    unsigned best = 0;
    size_t len;

    if (!d) {
        if (dfd2 >= 0)
            close(dfd2);
        return 0;
    }
    while ((de = readdir(d)) && seen < SCAN_MAX) {
        unsigned diff;
        if (!is_record_name(de->d_name))
            continue;
        seen++;
        if (load(dfd, de->d_name, s, text, &len, rec) != RES_OK || !reuse_verify(key, text, rec) ||
            !in_window(rec->ms, window, now))
            continue;
        diff = reuse_diff(id, &rec->id);
        if (diff & (REUSE_F_TTY | REUSE_F_SESSION))
            continue;
        if (best == 0 || popcount(diff) < popcount(best))
            best = diff;
    }
    closedir(d);
    return best;
}

result reuse_check(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                   double *age, unsigned *differs, char *why, size_t whylen)
{
    unsigned char key[REUSE_KEY_LEN];
    char name[NAME_HEX + 1], *text = NULL;
    struct reuse_record *rec = NULL;
    size_t len;
    int dfd = -1;
    result r;

    *age = 0;
    *differs = 0;
    if (window <= 0 || !identity_ok(id)) {
        snprintf(why, whylen, "no reuse without a window, tty, session and caller");
        return RES_DENIED;
    }
    r = open_dir(s, false, &dfd, why, whylen);
    if (r == RES_OK)
        r = hostkey_read(dfd, s->dir ? s->dir : REUSE_DEFAULT_DIR, s->owner, key, why, whylen);
    if (r != RES_OK)
        goto out;
    text = malloc(REUSE_RECORD_MAX);
    rec = malloc(sizeof(*rec));
    if (!text || !rec || !record_name(key, id, name)) {
        r = RES_INTERNAL;
        snprintf(why, whylen, "HMAC failed");
        goto out;
    }
    r = load(dfd, name, s, text, &len, rec);
    if (r == RES_DENIED) {
        *differs = closest_difference(dfd, s, key, id, window, now, text, rec);
        snprintf(why, whylen, *differs ? "no record for this login; one for this tty and session differs"
                                       : "no record for this tty and session");
        goto out;
    }
    if (r != RES_OK) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "record with a wrong owner, mode, type or format (removed)");
        goto out;
    }
    if (!reuse_verify(key, text, rec)) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "record MAC does not match (removed)");
        r = RES_INVALID_TOKEN;
        goto out;
    }
    /* Authentic, but made for another login and put under this one's name. */
    if (reuse_diff(id, &rec->id) != 0) {
        unlinkat(dfd, name, 0);
        snprintf(why, whylen, "record holds another identity (removed)");
        r = RES_INVALID_TOKEN;
        goto out;
    }
    *age = now - (double)rec->ms / 1000.0;
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
    free(text);
    free(rec);
    if (dfd >= 0)
        close(dfd);
    return r;
}

/* Remove records older than window, records that do not parse (an older format too) and
 * temporary files a crashed login left behind. */
static void sweep(int dfd, const struct reuse_store *s, long window, double now)
{
    int dfd2 = dup(dfd);
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    char *text = malloc(REUSE_RECORD_MAX);
    struct reuse_record *rec = malloc(sizeof(*rec));
    struct dirent *de;

    if (!d || !text || !rec) {
        if (d)
            closedir(d);
        else if (dfd2 >= 0)
            close(dfd2);
        free(text);
        free(rec);
        return;
    }
    while ((de = readdir(d))) {
        struct stat st;
        size_t len;
        result r;
        if (strncmp(de->d_name, "tmp.", 4) == 0) {
            if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime > 60)
                unlinkat(dfd, de->d_name, 0);
            continue;
        }
        if (!is_record_name(de->d_name))
            continue;
        r = load(dfd, de->d_name, s, text, &len, rec);
        if (r == RES_INVALID_TOKEN || (r == RES_OK && !in_window(rec->ms, window, now)))
            unlinkat(dfd, de->d_name, 0);
    }
    closedir(d);
    free(text);
    free(rec);
}

result reuse_record(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                    char *why, size_t whylen)
{
    unsigned char key[REUSE_KEY_LEN], m[32], rnd[8];
    char name[NAME_HEX + 1], tmp[32], *text = NULL;
    long long ms = (long long)(now * 1000.0);
    size_t len = 0;
    int dfd = -1, fd;
    result r;

    if (window <= 0 || !identity_ok(id)) {
        snprintf(why, whylen, "no reuse without a window, tty, session and caller");
        return RES_DENIED;
    }
    r = open_dir(s, true, &dfd, why, whylen);
    if (r == RES_OK)
        r = hostkey_make(dfd, s->dir ? s->dir : REUSE_DEFAULT_DIR, s->owner, key, why, whylen);
    if (r != RES_OK)
        goto out;
    text = malloc(REUSE_RECORD_MAX);
    if (text)
        len = reuse_format(id, ms, text, REUSE_RECORD_MAX - 70);
    if (len == 0 || !record_name(key, id, name) || !hostkey_hmac(key, "record", text, len, m) ||
        RAND_bytes(rnd, sizeof(rnd)) != 1) {
        snprintf(why, whylen, "cannot make a record");
        r = RES_INTERNAL;
        goto out;
    }
    memcpy(text + len, "mac ", 4);
    hostkey_hex(m, sizeof(m), text + len + 4);
    memcpy(text + len + 68, "\n", 2);
    len += 69;
    memcpy(tmp, "tmp.", 4);
    hostkey_hex(rnd, sizeof(rnd), tmp + 4);
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot create a record: %s", strerror(errno));
        r = RES_CONFIG;
        goto out;
    }
    r = write(fd, text, len) == (ssize_t)len ? RES_OK : RES_CONFIG;
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
    free(text);
    if (dfd >= 0)
        close(dfd);
    return r;
}
