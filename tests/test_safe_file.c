/* Unit tests for pam_ciba/safe_file.c: the owner/mode/type policy, ancestors, links, ca_path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_file.h"

#define NOBODY 65534

static char top[] = "/tmp/pam_ciba_test_safe.XXXXXX";
static char err[1024];

static const char *at(const char *rel)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof(bufs[0]), "%s/%s", top, rel);
    return b;
}

static void write_file(const char *p, const char *text, size_t len, mode_t mode)
{
    int fd;
    unlink(p);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static void make_dir(const char *p, mode_t mode)
{
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static bool root(void)
{
    return geteuid() == 0;
}

/* safe_file_read of path must fail with RES_CONFIG and an error holding needle. */
static void refused(const char *path, unsigned flags, const char *needle)
{
    char *buf = (char *)1;
    size_t len = 0;
    result r = safe_file_read(path, geteuid(), flags, 4096, &buf, &len, NULL, err, sizeof(err));
    if (r != RES_CONFIG || !strstr(err, needle))
        fail_msg("%s: expected a refusal with \"%s\", got %d \"%s\"", path, needle, r, err);
    assert_null(buf);
}

static void accepted(const char *path, unsigned flags, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    result r = safe_file_read(path, geteuid(), flags, 4096, &buf, &len, NULL, err, sizeof(err));
    if (r != RES_OK)
        fail_msg("%s: expected OK, got %d \"%s\"", path, r, err);
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
    free(buf);
}

static void test_regular_file(void **state)
{
    struct stat st;
    int fd;
    (void)state;
    write_file(at("plain"), "hello\n", 6, 0644);
    accepted(at("plain"), 0, "hello\n");
    write_file(at("secret"), "s3cret", 6, 0600);
    accepted(at("secret"), SAFE_SECRET, "s3cret");
    /* The descriptor form: close-on-exec, and fstat filled in. */
    assert_int_equal(safe_file_open(at("plain"), geteuid(), 0, &fd, &st, err, sizeof(err)), RES_OK);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(st.st_size, 6);
    close(fd);
    /* "." and ".." on the way are resolved like any other step. */
    accepted(at("./plain"), 0, "hello\n");
}

static void test_missing_and_relative(void **state)
{
    (void)state;
    refused(at("nothing-here"), 0, "cannot open");
    errno = 0;
    refused(at("nothing-here"), 0, "No such file");
    assert_int_equal(errno, ENOENT);
    refused(at("no-dir/file"), 0, "cannot open");
    assert_int_equal(errno, ENOENT);
    /* Relative to the caller's working directory: never. */
    refused("tmp/file", 0, "must be an absolute path");
}

static void test_symlink_last_refused(void **state)
{
    (void)state;
    write_file(at("target"), "x", 1, 0644);
    unlink(at("link"));
    assert_int_equal(symlink(at("target"), at("link")), 0);
    refused(at("link"), 0, "is a symbolic link");
    assert_int_equal(errno, ELOOP);
}

static void test_writable_refused(void **state)
{
    (void)state;
    write_file(at("gw"), "x", 1, 0664);
    refused(at("gw"), 0, "writable by group or others (fix: chmod go-w");
    write_file(at("ow"), "x", 1, 0646);
    refused(at("ow"), 0, "writable by group or others");
}

static void test_wrong_owner_refused(void **state)
{
    char *buf = NULL;
    (void)state;
    write_file(at("mine"), "x", 1, 0644);
    /* The owner asked for is not the file's. */
    assert_int_equal(safe_file_read(at("mine"), geteuid() + 1, 0, 10, &buf, NULL, NULL, err, sizeof(err)),
                     RES_CONFIG);
    assert_non_null(strstr(err, "must be owned by uid"));
    if (!root())
        skip();
    write_file(at("theirs"), "x", 1, 0644);
    assert_int_equal(chown(at("theirs"), NOBODY, NOBODY), 0);
    refused(at("theirs"), 0, "owned by uid 65534");
}

static void test_secret_readable_refused(void **state)
{
    (void)state;
    write_file(at("key"), "k", 1, 0640);
    refused(at("key"), SAFE_SECRET, "readable by group or others (fix: chmod 600");
    write_file(at("key"), "k", 1, 0604);
    refused(at("key"), SAFE_SECRET, "readable by group or others");
    /* The same mode is fine for a file that holds no secret. */
    accepted(at("key"), 0, "k");
}

static void test_fifo_and_directory_refused(void **state)
{
    (void)state;
    unlink(at("fifo"));
    assert_int_equal(mkfifo(at("fifo"), 0600), 0);
    /* O_NONBLOCK: opening a FIFO without a writer must not wait. alarm() turns a hang into a failure. */
    alarm(10);
    refused(at("fifo"), 0, "not a regular file");
    alarm(0);
    make_dir(at("adir"), 0755);
    refused(at("adir"), 0, "not a regular file");
}

static void test_size_and_content(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    char big[100];
    (void)state;
    memset(big, 'a', sizeof(big));
    write_file(at("big"), big, sizeof(big), 0644);
    assert_int_equal(safe_file_read(at("big"), geteuid(), 0, 99, &buf, &len, NULL, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "larger than 99 bytes"));
    assert_int_equal(safe_file_read(at("big"), geteuid(), 0, 100, &buf, &len, NULL, err, sizeof(err)), RES_OK);
    assert_int_equal(len, 100);
    free(buf);
    /* NUL bytes: an error in text, content in binary files. */
    write_file(at("nul"), "a\0b", 3, 0600);
    refused(at("nul"), 0, "contains a NUL byte");
    assert_int_equal(safe_file_read(at("nul"), geteuid(), SAFE_BINARY, 10, &buf, &len, NULL, err, sizeof(err)),
                     RES_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "a\0b", 3);
    free(buf);
    /* An empty file is an empty string. */
    write_file(at("empty"), "", 0, 0644);
    accepted(at("empty"), 0, "");
}

static void test_ancestor_writable_refused(void **state)
{
    (void)state;
    make_dir(at("open"), 0777);
    write_file(at("open/f"), "x", 1, 0644);
    refused(at("open/f"), 0, "open is writable by group or others (fix: chmod go-w");
    make_dir(at("gopen"), 0775);
    make_dir(at("gopen/deeper"), 0755);
    write_file(at("gopen/deeper/f"), "x", 1, 0644);
    refused(at("gopen/deeper/f"), 0, "gopen is writable by group or others");
    /* Sticky but owned by root, like /tmp: entries cannot be swapped by others. */
    if (!root())
        skip();
    make_dir(at("sticky"), 01777);
    write_file(at("sticky/f"), "ok", 2, 0644);
    accepted(at("sticky/f"), 0, "ok");
    /* Sticky and owned by someone else: not trusted. */
    make_dir(at("sticky2"), 01777);
    assert_int_equal(chown(at("sticky2"), NOBODY, NOBODY), 0);
    write_file(at("sticky2/f"), "x", 1, 0644);
    refused(at("sticky2/f"), 0, "owned by uid 65534");
}

static void test_ancestor_foreign_owner_refused(void **state)
{
    (void)state;
    if (!root())
        skip();
    make_dir(at("theirs.d"), 0755);
    write_file(at("theirs.d/f"), "x", 1, 0644);
    assert_int_equal(chown(at("theirs.d"), NOBODY, NOBODY), 0);
    refused(at("theirs.d/f"), 0, "theirs.d is owned by uid 65534, must be owned by root");
    /* A root-only directory (0700) is fine: opened by the effective identity. */
    make_dir(at("private"), 0700);
    write_file(at("private/f"), "p", 1, 0644);
    accepted(at("private/f"), 0, "p");
}

static void test_intermediate_links(void **state)
{
    (void)state;
    /* /var/run -> /run style: a link on the way is followed, and what it leads to is checked. */
    make_dir(at("real"), 0755);
    write_file(at("real/f"), "via link", 8, 0644);
    assert_int_equal(symlink("real", at("alias")), 0);
    accepted(at("alias/f"), 0, "via link");
    assert_int_equal(symlink(at("real"), at("absalias")), 0);
    accepted(at("absalias/f"), 0, "via link");
    /* The link leads through a writable directory: refused even though the link is root's. */
    make_dir(at("wide"), 0777);
    make_dir(at("wide/inner"), 0755);
    write_file(at("wide/inner/f"), "x", 1, 0644);
    assert_int_equal(symlink("wide/inner", at("sneaky")), 0);
    refused(at("sneaky/f"), 0, "wide is writable by group or others");
    /* A loop ends. */
    assert_int_equal(symlink("loop2", at("loop1")), 0);
    assert_int_equal(symlink("loop1", at("loop2")), 0);
    refused(at("loop1/f"), 0, "too many symbolic links");
    if (!root())
        skip();
    /* A link owned by someone else (in a sticky directory it could be theirs). */
    assert_int_equal(symlink("real", at("foreignlink")), 0);
    assert_int_equal(lchown(at("foreignlink"), NOBODY, NOBODY), 0);
    refused(at("foreignlink/f"), 0, "symbolic link");
}

static void test_dir_open(void **state)
{
    struct stat st;
    int fd;
    (void)state;
    /* Missing: ENOENT without SAFE_CREATE, created 0700 with it (whatever the umask). */
    assert_int_equal(safe_dir_open(at("made"), geteuid(), 0, &fd, err, sizeof(err)), RES_CONFIG);
    assert_int_equal(errno, ENOENT);
    umask(0);
    assert_int_equal(safe_dir_open(at("made"), geteuid(), SAFE_CREATE | SAFE_SECRET, &fd, err, sizeof(err)), RES_OK);
    umask(022);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    close(fd);
    /* A secret directory must be closed to others; a plain one only not writable. */
    assert_int_equal(chmod(at("made"), 0755), 0);
    assert_int_equal(safe_dir_open(at("made"), geteuid(), SAFE_SECRET, &fd, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "chmod 0700"));
    assert_int_equal(safe_dir_open(at("made"), geteuid(), 0, &fd, err, sizeof(err)), RES_OK);
    close(fd);
    assert_int_equal(chmod(at("made"), 0775), 0);
    assert_int_equal(safe_dir_open(at("made"), geteuid(), 0, &fd, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "writable by group or others"));
    /* The directory itself is never a link, and never a file. */
    assert_int_equal(symlink("made", at("madelink")), 0);
    assert_int_equal(safe_dir_open(at("madelink"), geteuid(), 0, &fd, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "symbolic link"));
    write_file(at("afile"), "x", 1, 0644);
    assert_int_equal(safe_dir_open(at("afile"), geteuid(), 0, &fd, err, sizeof(err)), RES_CONFIG);
    /* Entries by name inside a checked directory. */
    assert_int_equal(chmod(at("made"), 0700), 0);
    write_file(at("made/entry"), "e", 1, 0600);
    assert_int_equal(safe_dir_open(at("made"), geteuid(), SAFE_SECRET, &fd, err, sizeof(err)), RES_OK);
    {
        int efd;
        assert_int_equal(safe_file_openat(fd, at("made"), "entry", geteuid(), SAFE_SECRET, &efd, &st, err,
                                          sizeof(err)), RES_OK);
        close(efd);
        assert_int_equal(safe_file_openat(fd, at("made"), "../afile", geteuid(), 0, &efd, &st, err, sizeof(err)),
                         RES_CONFIG);
        assert_int_equal(safe_file_openat(fd, at("made"), "none", geteuid(), 0, &efd, &st, err, sizeof(err)),
                         RES_CONFIG);
        assert_int_equal(errno, ENOENT);
    }
    close(fd);
}

static void ca_refused(const char *dir, const char *needle)
{
    result r = safe_ca_dir_check(dir, geteuid(), err, sizeof(err));
    if (r != RES_CONFIG || !strstr(err, needle))
        fail_msg("%s: expected a refusal with \"%s\", got %d \"%s\"", dir, needle, r, err);
}

static void test_ca_dir(void **state)
{
    (void)state;
    make_dir(at("certs"), 0755);
    make_dir(at("store"), 0755);
    write_file(at("store/root.crt"), "PEM", 3, 0644);
    write_file(at("certs/local.pem"), "PEM", 3, 0644);
    /* Debian's shape: hashed name -> name.pem -> /usr/share/.../name.crt. */
    assert_int_equal(symlink(at("store/root.crt"), at("certs/root.pem")), 0);
    assert_int_equal(symlink("root.pem", at("certs/abcd1234.0")), 0);
    assert_int_equal(symlink("local.pem", at("certs/1234abcd.0")), 0);
    /* A link to nothing loads nothing: not a reason to refuse every login. */
    assert_int_equal(symlink("gone.pem", at("certs/deadbeef.0")), 0);
    assert_int_equal(safe_ca_dir_check(at("certs"), geteuid(), err, sizeof(err)), RES_OK);

    /* A writable entry. */
    assert_int_equal(chmod(at("certs/local.pem"), 0666), 0);
    ca_refused(at("certs"), "local.pem: writable by group or others");
    assert_int_equal(chmod(at("certs/local.pem"), 0644), 0);
    /* The link target's directory is writable by others. */
    assert_int_equal(chmod(at("store"), 0777), 0);
    ca_refused(at("certs"), "store is writable by group or others");
    assert_int_equal(chmod(at("store"), 0755), 0);
    /* The directory itself. */
    assert_int_equal(chmod(at("certs"), 0775), 0);
    ca_refused(at("certs"), "writable by group or others");
    assert_int_equal(chmod(at("certs"), 0755), 0);
    ca_refused(at("nonexistent-certs"), "cannot open");
    if (!root())
        skip();
    /* A hashed link to a file someone else owns. */
    write_file(at("store/theirs.crt"), "PEM", 3, 0644);
    assert_int_equal(chown(at("store/theirs.crt"), NOBODY, NOBODY), 0);
    assert_int_equal(symlink(at("store/theirs.crt"), at("certs/feedf00d.0")), 0);
    ca_refused(at("certs"), "owned by uid 65534");
    unlink(at("certs/feedf00d.0"));
    assert_int_equal(safe_ca_dir_check(at("certs"), geteuid(), err, sizeof(err)), RES_OK);
}

static int setup(void **state)
{
    (void)state;
    umask(022);
    return mkdtemp(top) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[600];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regular_file),
        cmocka_unit_test(test_missing_and_relative),
        cmocka_unit_test(test_symlink_last_refused),
        cmocka_unit_test(test_writable_refused),
        cmocka_unit_test(test_wrong_owner_refused),
        cmocka_unit_test(test_secret_readable_refused),
        cmocka_unit_test(test_fifo_and_directory_refused),
        cmocka_unit_test(test_size_and_content),
        cmocka_unit_test(test_ancestor_writable_refused),
        cmocka_unit_test(test_ancestor_foreign_owner_refused),
        cmocka_unit_test(test_intermediate_links),
        cmocka_unit_test(test_dir_open),
        cmocka_unit_test(test_ca_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
