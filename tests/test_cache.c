/* Unit tests for pam_ciba/cache.c: round trip, expiry, corruption, permissions, atomicity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"

static char base[] = "/tmp/pam_ciba_test_cache.XXXXXX";
static char dir[300];
static struct cache c;

#define URL "https://t.example/.well-known/openid-configuration"
#define T0 1700000000

static void rm_rf(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    char p[600];
    while (dp && (e = readdir(dp))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
            unlink(p);
        }
    }
    if (dp)
        closedir(dp);
    rmdir(d);
}

static int fresh(void **state)
{
    (void)state;
    rm_rf(dir);
    c.dir = dir;
    c.owner = geteuid();
    return 0;
}

static char *only_file(void)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    static char p[600];
    int n = 0;
    while ((e = readdir(dp)))
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            n++;
        }
    closedir(dp);
    assert_int_equal(n, 1);
    return p;
}

static void test_roundtrip_and_expiry(void **state)
{
    char *body = NULL;
    time_t fetched = 0;
    struct stat st;
    (void)state;
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL); /* no dir yet */
    assert_int_equal(cache_put(&c, "discovery", URL, "{\"a\":1}", T0, 100), RES_OK);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(cache_get(&c, "discovery", URL, T0 + 99, 0, &body, &fetched), RES_OK);
    assert_string_equal(body, "{\"a\":1}");
    assert_int_equal(fetched, T0);
    free(body);
    assert_int_equal(cache_get(&c, "discovery", URL, T0 + 100, 0, &body, NULL), RES_PROTOCOL);
    assert_int_equal(cache_get(&c, "discovery", URL, T0 + 100, 1, &body, NULL), RES_OK); /* fallback use */
    free(body);
    assert_int_equal(cache_get(&c, "jwks", URL, T0, 0, &body, NULL), RES_PROTOCOL);     /* other kind */
    assert_int_equal(cache_get(&c, "discovery", URL "x", T0, 0, &body, NULL), RES_PROTOCOL);
    /* Future fetch time: a clock jump or a forgery. */
    assert_int_equal(cache_get(&c, "discovery", URL, T0 - 3600, 0, &body, NULL), RES_PROTOCOL);
}

static void test_ttl_zero_stores_nothing(void **state)
{
    char *body = NULL;
    (void)state;
    assert_int_equal(cache_put(&c, "jwks", URL, "{}", T0, 0), RES_OK);
    assert_int_equal(cache_get(&c, "jwks", URL, T0, 0, &body, NULL), RES_PROTOCOL);
}

/* JSON escaping may grow a document sixfold: whatever cache_put writes, cache_get must
 * read back; an entry too big once escaped is not written at all (found by fuzz_cache). */
static void test_escaped_size(void **state)
{
    static char doc[CACHE_MAX_DOC + 1];
    char *body = NULL;
    DIR *dp;
    struct dirent *e;
    int files = 0;
    (void)state;
    memset(doc, '/', 40000); /* each '/' is written as 2 bytes: fits */
    doc[40000] = '\0';
    assert_int_equal(cache_put(&c, "jwks", URL, doc, T0, 60), RES_OK);
    assert_int_equal(cache_get(&c, "jwks", URL, T0, 0, &body, NULL), RES_OK);
    assert_string_equal(body, doc);
    free(body);
    body = NULL;
    rm_rf(dir);
    memset(doc, '\001', 23000); /* each byte is written as \u0001: too big to read back */
    doc[23000] = '\0';
    assert_int_equal(cache_put(&c, "jwks", URL, doc, T0, 60), RES_OK);
    assert_int_equal(cache_get(&c, "jwks", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    assert_null(body);
    dp = opendir(dir);
    while (dp && (e = readdir(dp)))
        files += e->d_name[0] != '.';
    if (dp)
        closedir(dp);
    assert_int_equal(files, 0);
}

static void write_over(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    chmod(path, mode);
}

static void test_corrupt_and_foreign(void **state)
{
    char *body = NULL, *path;
    char forged[512];
    (void)state;
    assert_int_equal(cache_put(&c, "discovery", URL, "{}", T0, 100), RES_OK);
    path = only_file();
    write_over(path, "{\"url\":\"" URL "\",\"fetched\":1700000000", 0644);
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    write_over(path, "garbage", 0644);
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    snprintf(forged, sizeof(forged), "{\"url\":\"https://evil/\",\"fetched\":%d,\"expires\":%d,\"body\":\"{}\"}", T0, T0 + 100);
    write_over(path, forged, 0644);
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    snprintf(forged, sizeof(forged), "{\"url\":\"%s\",\"fetched\":\"%d\",\"expires\":%d,\"body\":\"{}\"}", URL, T0, T0 + 100);
    write_over(path, forged, 0644);
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    /* A valid entry made group-writable is not trusted. */
    snprintf(forged, sizeof(forged), "{\"url\":\"%s\",\"fetched\":%d,\"expires\":%d,\"body\":\"{}\"}", URL, T0, T0 + 100);
    write_over(path, forged, 0664);
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    chmod(path, 0644);
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_OK);
    free(body);
    /* Wrong owner expectation. */
    c.owner = geteuid() + 1;
    assert_int_equal(cache_get(&c, "discovery", URL, T0, 0, &body, NULL), RES_PROTOCOL);
}

static void test_unsafe_dir(void **state)
{
    char *body = NULL;
    (void)state;
    assert_int_equal(mkdir(dir, 0777), 0);
    chmod(dir, 0777);
    assert_int_not_equal(cache_put(&c, "jwks", URL, "{}", T0, 100), RES_OK);
    assert_int_equal(cache_get(&c, "jwks", URL, T0, 0, &body, NULL), RES_PROTOCOL);
    chmod(dir, 0700);
    assert_int_equal(cache_put(&c, "jwks", URL, "{}", T0, 100), RES_OK);
    /* A symlinked cache dir is refused. */
    {
        char link[400];
        struct cache lc = {link, geteuid()};
        snprintf(link, sizeof(link), "%s.link", dir);
        unlink(link);
        assert_int_equal(symlink(dir, link), 0);
        assert_int_equal(cache_get(&lc, "jwks", URL, T0, 0, &body, NULL), RES_PROTOCOL);
        unlink(link);
    }
}

static void test_no_temp_files_left(void **state)
{
    (void)state;
    for (int i = 0; i < 20; i++)
        assert_int_equal(cache_put(&c, "jwks", URL, "{\"keys\":[]}", T0 + i, 100), RES_OK);
    only_file();
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(base))
        return -1;
    snprintf(dir, sizeof(dir), "%s/cache", base);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(dir);
    rmdir(base);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_roundtrip_and_expiry, fresh),
        cmocka_unit_test_setup(test_ttl_zero_stores_nothing, fresh),
        cmocka_unit_test_setup(test_escaped_size, fresh),
        cmocka_unit_test_setup(test_corrupt_and_foreign, fresh),
        cmocka_unit_test_setup(test_unsafe_dir, fresh),
        cmocka_unit_test_setup(test_no_temp_files_left, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
