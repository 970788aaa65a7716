/* Opens trusted files and directories by the effective identity: ancestors walked from "/", one owner/mode policy. */
#include "safe_file.h"
#include "wipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Never access(): it checks the real uid, which su and sudo leave as the caller's. */
#define FILE_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK)
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
/* The kernel's own limit on links followed in one lookup. */
#define MAX_LINKS 40
/* Bounds the ca_path scan (Debian's /etc/ssl/certs holds about 300 entries). */
#define CA_DIR_MAX_ENTRIES 20000

/* The checked parent of a path's last component. */
struct walk {
    int dfd;
    char last[NAME_MAX + 1];
    char shown[PATH_MAX]; /* the parent as walked, "" for "/", for messages */
};

static result fail(char *err, size_t errlen, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static result fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    errno = e;
    return RES_CONFIG;
}

static const char *owners(uid_t owner)
{
    return owner == 0 ? "root" : "root or the trusted uid";
}

/* A directory on the way: whoever can write it can swap what lies below. A root-owned
 * sticky directory (/tmp) is the exception: others may add entries there but cannot
 * replace ours, and ours are checked in turn. */
static result check_ancestor(int fd, const char *path, const char *dir, uid_t owner, char *err, size_t errlen)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return fail(err, errlen, errno, "%s: cannot check directory %s: %s", path, dir, strerror(errno));
    if (st.st_uid != 0 && st.st_uid != owner)
        return fail(err, errlen, EPERM, "%s: directory %s is owned by uid %u, must be owned by %s (fix: chown root %s)",
                    path, dir, (unsigned)st.st_uid, owners(owner), dir);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !((st.st_mode & S_ISVTX) && st.st_uid == 0))
        return fail(err, errlen, EPERM, "%s: directory %s is writable by group or others (fix: chmod go-w %s)", path,
                    dir, dir);
    return RES_OK;
}

/* What the named file or directory itself must be. */
static result check_node(const struct stat *st, const char *path, uid_t owner, unsigned flags, bool dir, char *err,
                         size_t errlen)
{
    if (dir && !S_ISDIR(st->st_mode))
        return fail(err, errlen, ENOTDIR, "%s: not a directory", path);
    if (!dir && !S_ISREG(st->st_mode))
        return fail(err, errlen, EINVAL, "%s: not a regular file", path);
    if (st->st_uid != owner)
        return fail(err, errlen, EPERM, "%s: owned by uid %u, must be owned by uid %u (fix: chown %u %s)", path,
                    (unsigned)st->st_uid, (unsigned)owner, (unsigned)owner, path);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return fail(err, errlen, EPERM, "%s: writable by group or others (fix: chmod go-w %s)", path, path);
    if ((flags & SAFE_SECRET) && dir && (st->st_mode & (S_IRWXG | S_IRWXO)))
        return fail(err, errlen, EPERM, "%s: holds secrets but group or others may enter it (fix: chmod 0700 %s)",
                    path, path);
    if ((flags & SAFE_SECRET) && !dir && (st->st_mode & (S_IRGRP | S_IROTH)))
        return fail(err, errlen, EPERM, "%s: holds a secret but is readable by group or others (fix: chmod 600 %s)",
                    path, path);
    return RES_OK;
}

static void shown_append(char *shown, const char *name)
{
    size_t n = strlen(shown);

    if (strcmp(name, "..") == 0) {
        char *slash = strrchr(shown, '/');
        if (slash)
            *slash = '\0';
        return;
    }
    snprintf(shown + n, PATH_MAX - n, "/%s", name);
}

/* Walk rel from start (a checked directory fd, or -1 for "/") to the parent of its last
 * component, checking every directory reached and expanding symbolic links ourselves, so
 * the directories a link leads through are checked as well. With follow_last a link in
 * the last place is expanded too. path is the caller's name for messages. */
static result walk(int start, const char *start_shown, const char *rel, const char *path, uid_t owner,
                   bool follow_last, struct walk *w, char *err, size_t errlen)
{
    char todo[2 * PATH_MAX], tmp[2 * PATH_MAX], target[PATH_MAX], dir[PATH_MAX + NAME_MAX + 2];
    const char *p;
    int links = 0, fd, e;
    result r;

    w->dfd = -1;
    if (strlen(rel) >= sizeof(todo))
        return fail(err, errlen, ENAMETOOLONG, "%s: path too long", path);
    snprintf(todo, sizeof(todo), "%s", rel);
    if (start < 0) {
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        w->shown[0] = '\0';
    } else {
        fd = fcntl(start, F_DUPFD_CLOEXEC, 0);
        snprintf(w->shown, sizeof(w->shown), "%s", start_shown);
    }
    if (fd < 0)
        return fail(err, errlen, errno, "%s: cannot open %s: %s", path, start < 0 ? "/" : start_shown, strerror(errno));
    if (start < 0 && (r = check_ancestor(fd, path, "/", owner, err, errlen)) != RES_OK)
        goto refuse;
    for (p = todo;;) {
        const char *rest;
        struct stat st;
        size_t n;
        int nfd;
        bool is_last;

        p += strspn(p, "/");
        if (!*p) { /* "/" or a trailing '/': the directory itself */
            snprintf(w->last, sizeof(w->last), ".");
            break;
        }
        n = strcspn(p, "/");
        if (n > NAME_MAX) {
            close(fd);
            return fail(err, errlen, ENAMETOOLONG, "%s: a name on the path is too long", path);
        }
        memcpy(w->last, p, n);
        w->last[n] = '\0';
        rest = p + n + strspn(p + n, "/");
        is_last = *rest == '\0';
        if (strcmp(w->last, ".") == 0 && !is_last) {
            p = rest;
            continue;
        }
        if (is_last && !follow_last)
            break;
        snprintf(dir, sizeof(dir), "%s/%s", w->shown, w->last);
        nfd = openat(fd, w->last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0 || fstat(nfd, &st) != 0) {
            e = errno;
            if (nfd >= 0)
                close(nfd);
            if (is_last && e == ENOENT)
                break; /* the caller's open names it */
            close(fd);
            return fail(err, errlen, e, "%s: cannot open %s: %s", path, dir, strerror(e));
        }
        if (S_ISLNK(st.st_mode)) {
            ssize_t tl;
            if (++links > MAX_LINKS) {
                close(nfd);
                close(fd);
                return fail(err, errlen, ELOOP, "%s: too many symbolic links", path);
            }
            if (st.st_uid != 0 && st.st_uid != owner) {
                close(nfd);
                close(fd);
                return fail(err, errlen, EPERM, "%s: symbolic link %s is owned by uid %u, must be owned by %s",
                            path, dir, (unsigned)st.st_uid, owners(owner));
            }
            tl = readlinkat(nfd, "", target, sizeof(target) - 1);
            e = errno;
            close(nfd);
            if (tl <= 0) {
                close(fd);
                return fail(err, errlen, e, "%s: cannot read symbolic link %s", path, dir);
            }
            target[tl] = '\0';
            if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s%s", target, *rest ? "/" : "", rest) >= sizeof(tmp)) {
                close(fd);
                return fail(err, errlen, ENAMETOOLONG, "%s: path too long", path);
            }
            memcpy(todo, tmp, sizeof(todo));
            p = todo;
            if (target[0] == '/') {
                close(fd);
                fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                w->shown[0] = '\0';
                if (fd < 0)
                    return fail(err, errlen, errno, "%s: cannot open /: %s", path, strerror(errno));
                if ((r = check_ancestor(fd, path, "/", owner, err, errlen)) != RES_OK)
                    goto refuse;
            }
            continue;
        }
        if (is_last) { /* follow_last, and not a link: the caller opens and checks it */
            close(nfd);
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            close(nfd);
            close(fd);
            return fail(err, errlen, ENOTDIR, "%s: %s is not a directory", path, dir);
        }
        if ((r = check_ancestor(nfd, path, dir, owner, err, errlen)) != RES_OK) {
            e = errno;
            close(nfd);
            errno = e;
            goto refuse;
        }
        close(fd);
        fd = nfd;
        shown_append(w->shown, w->last);
        p = rest;
    }
    w->dfd = fd;
    return RES_OK;
refuse:
    e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Why opening the last component failed, in words an admin can act on. */
static result open_failed(int dfd, const char *name, const char *path, int e, char *err, size_t errlen)
{
    struct stat st;

    if ((e == ELOOP || e == ENOTDIR) && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return fail(err, errlen, ELOOP, "%s: is a symbolic link; name the file itself (fix: use the path the link "
                    "points to)", path);
    return fail(err, errlen, e, "%s: cannot open: %s", path, strerror(e));
}

static void join(char *out, size_t outlen, const char *dir, const char *name)
{
    snprintf(out, outlen, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
}

static result open_in(int dfd, const char *name, const char *path, uid_t owner, unsigned flags, int *fd_out,
                      struct stat *st_out, char *err, size_t errlen)
{
    struct stat st;
    int fd = openat(dfd, name, FILE_FLAGS);
    result r;

    if (fd < 0)
        return open_failed(dfd, name, path, errno, err, errlen);
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, e, "%s: cannot check: %s", path, strerror(e));
    }
    if ((r = check_node(&st, path, owner, flags, false, err, errlen)) != RES_OK) {
        int e = errno;
        close(fd);
        errno = e;
        return r;
    }
    *fd_out = fd;
    if (st_out)
        *st_out = st;
    return RES_OK;
}

static result need_absolute(const char *path, char *err, size_t errlen)
{
    /* A relative name would be resolved in the caller's working directory. */
    if (!path || path[0] != '/')
        return fail(err, errlen, EINVAL, "%s: must be an absolute path", path ? path : "(null)");
    return RES_OK;
}

result safe_file_open(const char *path, uid_t owner, unsigned flags, int *fd, struct stat *st, char *err,
                      size_t errlen)
{
    struct walk w;
    result r;
    int e;

    *fd = -1;
    if ((r = need_absolute(path, err, errlen)) != RES_OK ||
        (r = walk(-1, "", path, path, owner, false, &w, err, errlen)) != RES_OK)
        return r;
    r = open_in(w.dfd, w.last, path, owner, flags, fd, st, err, errlen);
    e = errno;
    close(w.dfd);
    errno = e;
    return r;
}

result safe_file_openat(int dirfd, const char *dirpath, const char *name, uid_t owner, unsigned flags, int *fd,
                        struct stat *st, char *err, size_t errlen)
{
    char path[PATH_MAX + NAME_MAX + 2];

    *fd = -1;
    join(path, sizeof(path), dirpath, name);
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return fail(err, errlen, EINVAL, "%s: not a plain file name", path);
    return open_in(dirfd, name, path, owner, flags, fd, st, err, errlen);
}

result safe_fd_read(int fd, const struct stat *st, const char *path, size_t max, unsigned flags, char **out,
                    size_t *outlen, char *err, size_t errlen)
{
    size_t first, cap = 0, len = 0;
    char *buf = NULL;
    result r = RES_OK;

    *out = NULL;
    if (st->st_size < 0 || (unsigned long long)st->st_size > max)
        return fail(err, errlen, EFBIG, "%s: larger than %zu bytes", path, max);
    first = (size_t)st->st_size + 1;
    if (wipe_grow(&buf, &cap, 0, first, first, max + 1) != 0) {
        fail(err, errlen, ENOMEM, "%s: out of memory", path);
        return RES_INTERNAL;
    }
    /* The file may grow between fstat and read: read on, but never past max. */
    for (;;) {
        ssize_t n;
        if (len == cap) {
            if (len > max) {
                r = fail(err, errlen, EFBIG, "%s: larger than %zu bytes", path, max);
                goto out;
            }
            if (wipe_grow(&buf, &cap, len, len + 1, first, max + 1) != 0) {
                fail(err, errlen, ENOMEM, "%s: out of memory", path);
                r = RES_INTERNAL;
                goto out;
            }
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = fail(err, errlen, errno, "%s: read error: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max) {
        r = fail(err, errlen, EFBIG, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    if (!(flags & SAFE_BINARY) && memchr(buf, '\0', len)) {
        r = fail(err, errlen, EINVAL, "%s: contains a NUL byte", path);
        goto out;
    }
    if (len == cap && wipe_grow(&buf, &cap, len, len + 1, first, max + 1) != 0) {
        fail(err, errlen, ENOMEM, "%s: out of memory", path);
        r = RES_INTERNAL;
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    if (outlen)
        *outlen = len;
out:
    wipe_free(buf, cap);
    return r;
}

result safe_file_read(const char *path, uid_t owner, unsigned flags, size_t max, char **out, size_t *outlen,
                      struct stat *st_out, char *err, size_t errlen)
{
    struct stat st;
    int fd, e;
    result r;

    *out = NULL;
    if ((r = safe_file_open(path, owner, flags, &fd, &st, err, errlen)) != RES_OK)
        return r;
    r = safe_fd_read(fd, &st, path, max, flags, out, outlen, err, errlen);
    e = errno;
    close(fd);
    errno = e;
    if (r == RES_OK && st_out)
        *st_out = st;
    return r;
}

result safe_dir_open(const char *path, uid_t owner, unsigned flags, int *fd_out, char *err, size_t errlen)
{
    struct walk w;
    struct stat st;
    result r;
    int fd, e;

    *fd_out = -1;
    if ((r = need_absolute(path, err, errlen)) != RES_OK ||
        (r = walk(-1, "", path, path, owner, false, &w, err, errlen)) != RES_OK)
        return r;
    fd = openat(w.dfd, w.last, DIR_FLAGS);
    if (fd < 0 && errno == ENOENT && (flags & SAFE_CREATE)) {
        /* 0700 whatever the caller's umask: umask only ever removes bits. */
        if (mkdirat(w.dfd, w.last, 0700) != 0 && errno != EEXIST) {
            e = errno;
            close(w.dfd);
            return fail(err, errlen, e, "%s: cannot create: %s", path, strerror(e));
        }
        fd = openat(w.dfd, w.last, DIR_FLAGS);
    }
    if (fd < 0) {
        r = open_failed(w.dfd, w.last, path, errno, err, errlen);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        r = fail(err, errlen, errno, "%s: cannot check: %s", path, strerror(errno));
        goto out;
    }
    if ((r = check_node(&st, path, owner, flags, true, err, errlen)) != RES_OK)
        goto out;
    *fd_out = fd;
    fd = -1;
out:
    e = errno;
    if (fd >= 0)
        close(fd);
    close(w.dfd);
    errno = e;
    return r;
}

/* One ca_path entry, links followed: a file OpenSSL may load must be as safe as ca_file. */
static result check_ca_entry(int dfd, const char *dirpath, const char *name, uid_t owner, char *err, size_t errlen)
{
    char path[PATH_MAX + NAME_MAX + 2], real[PATH_MAX + NAME_MAX + 2], shown[2 * (PATH_MAX + NAME_MAX) + 8];
    struct walk w;
    struct stat st;
    result r;

    join(path, sizeof(path), dirpath, name);
    if ((r = walk(dfd, dirpath, name, path, owner, true, &w, err, errlen)) != RES_OK)
        return r;
    if (fstatat(w.dfd, w.last, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        close(w.dfd);
        if (e == ENOENT)
            return RES_OK; /* a dangling link: nothing to load, and its directory is safe */
        return fail(err, errlen, e, "%s: cannot check: %s", path, strerror(e));
    }
    close(w.dfd);
    /* Name both the entry and the file it leads to: the fix is on the latter. */
    join(real, sizeof(real), w.shown, w.last);
    if (strcmp(real, path) == 0)
        snprintf(shown, sizeof(shown), "%s", path);
    else
        snprintf(shown, sizeof(shown), "%s -> %s", path, real);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return fail(err, errlen, EINVAL, "%s: not a regular file", shown);
    if (st.st_uid != 0 && st.st_uid != owner)
        return fail(err, errlen, EPERM, "%s: owned by uid %u, must be owned by %s (fix: chown root %s)", shown,
                    (unsigned)st.st_uid, owners(owner), real);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(err, errlen, EPERM, "%s: writable by group or others (fix: chmod go-w %s)", shown, real);
    return RES_OK;
}

result safe_ca_dir_check(const char *path, uid_t owner, char *err, size_t errlen)
{
    struct dirent *de;
    DIR *d;
    int dfd, lfd, n = 0;
    result r;

    if ((r = safe_dir_open(path, owner, 0, &dfd, err, errlen)) != RES_OK)
        return r;
    lfd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (lfd < 0 || !(d = fdopendir(lfd))) {
        int e = errno;
        if (lfd >= 0)
            close(lfd);
        close(dfd);
        return fail(err, errlen, e, "%s: cannot list: %s", path, strerror(e));
    }
    errno = 0;
    while (r == RES_OK && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (++n > CA_DIR_MAX_ENTRIES)
            r = fail(err, errlen, E2BIG, "%s: more than %d entries", path, CA_DIR_MAX_ENTRIES);
        else
            r = check_ca_entry(dfd, path, de->d_name, owner, err, errlen);
    }
    closedir(d);
    close(dfd);
    return r;
}
