/* Unit tests for pam_ciba/subject_map.c: parsing, lookups, permissions, the change-aware cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "subject_map.h"

static char dir[] = "/tmp/pam_ciba_test_map.XXXXXX";
static char path[256];

static void write_file(const char *text, mode_t mode)
{
    char tmp[300];
    int fd;
    /* Write beside and rename, as an admin's editor would: a new inode every time. */
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(tmp, mode), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static result find(const char *text, const char *user, char **tmpl, char *err)
{
    struct subject_map *m = NULL;
    result r = subject_map_parse("map", text, &m, err, 256);
    *tmpl = NULL;
    if (r == RES_OK)
        r = subject_map_find(m, user, tmpl);
    subject_map_free(m);
    return r;
}

static void expect_parse_error(const char *text, const char *needle)
{
    struct subject_map *m = NULL;
    char err[256] = "";
    result r = subject_map_parse("map", text, &m, err, sizeof(err));
    if (r != RES_CONFIG || !strstr(err, needle))
        fail_msg("expected error containing \"%s\", got %d \"%s\"", needle, r, err);
    assert_null(m);
}

static void test_parse_and_find(void **state)
{
    const char *text = "# who approves for whom\n"
                       "alice   auth0|65a1f00d\n"
                       "\n"
                       "   bob\tgoogle-oauth2|123   # trailing comment\r\n"
                       "carol email|c@example.com\n"
                       "pct auth0|50%u\n";
    char *t, err[256];
    (void)state;
    assert_int_equal(find(text, "alice", &t, err), RES_OK);
    assert_string_equal(t, "auth0|65a1f00d");
    free(t);
    assert_int_equal(find(text, "bob", &t, err), RES_OK);
    assert_string_equal(t, "google-oauth2|123");
    free(t);
    assert_int_equal(find(text, "carol", &t, err), RES_OK);
    assert_string_equal(t, "email|c@example.com");
    free(t);
    /* A listed subject is literal: its '%' is escaped for the template engine. */
    assert_int_equal(find(text, "pct", &t, err), RES_OK);
    assert_string_equal(t, "auth0|50%%u");
    free(t);
    assert_int_equal(find(text, "dave", &t, err), RES_USER_UNKNOWN);
    assert_null(t);
    assert_int_equal(find(text, "Alice", &t, err), RES_USER_UNKNOWN);
    assert_int_equal(find(text, "#", &t, err), RES_USER_UNKNOWN);
}

static void test_default_template(void **state)
{
    char *t, err[256];
    (void)state;
    assert_int_equal(find("alice auth0|a\n* auth0|%u\n", "zed", &t, err), RES_OK);
    assert_string_equal(t, "auth0|%u");
    free(t);
    assert_int_equal(find("* auth0|%u\nalice auth0|a\n", "alice", &t, err), RES_OK);
    assert_string_equal(t, "auth0|a");
    free(t);
    assert_int_equal(find("", "alice", &t, err), RES_USER_UNKNOWN);
    assert_int_equal(find("# only comments\n\n", "alice", &t, err), RES_USER_UNKNOWN);
}

static void test_parse_errors(void **state)
{
    char longf[400];
    (void)state;
    expect_parse_error("alice\n", "map:1: expected");
    expect_parse_error("ok s\nalice a b\n", "map:2: expected");
    expect_parse_error("alice a\nbob b\nalice c\n", "listed twice");
    expect_parse_error("* %u\n* x%u\n", "second \"*\"");
    expect_parse_error("* auth0|%q\n", "unknown escape");
    expect_parse_error("alice a\001b\n", "printable");
    memset(longf, 'x', sizeof(longf) - 1);
    longf[sizeof(longf) - 1] = '\0';
    {
        char text[500];
        snprintf(text, sizeof(text), "alice %s\n", longf);
        expect_parse_error(text, "at most");
    }
}

static void test_lookup_checks_permissions(void **state)
{
    struct subject_map_cache c = SUBJECT_MAP_CACHE_INIT;
    char *t = NULL, err[512] = "";
    (void)state;
    write_file("alice auth0|a\n", 0664);
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "writable by group"));
    assert_null(t);
    write_file("alice auth0|a\n", 0644);
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_OK);
    free(t);
    /* A map owned by someone else is refused even after it was cached. */
    assert_int_equal(subject_map_lookup(&c, path, geteuid() + 1, "alice", &t, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, "owned by"));
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_CONFIG);
    assert_int_equal(subject_map_lookup(&c, "/nonexistent/map", geteuid(), "alice", &t, err, sizeof(err)),
                     RES_CONFIG);
    subject_map_cache_clear(&c);
}

static void test_cache_rereads_only_on_change(void **state)
{
    struct subject_map_cache c = SUBJECT_MAP_CACHE_INIT;
    char *t = NULL, err[512] = "";
    (void)state;
    write_file("alice auth0|a\n", 0600);
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_OK);
    assert_string_equal(t, "auth0|a");
    free(t);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_OK);
        free(t);
    }
    assert_int_equal(c.parses, 1);
    write_file("alice auth0|b\nbob auth0|bb\n", 0600);
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_OK);
    assert_string_equal(t, "auth0|b");
    free(t);
    assert_int_equal(c.parses, 2);
    /* An in-place edit of the same size still changes mtime/ctime. */
    {
        int fd = open(path, O_WRONLY);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(write(fd, "alice auth0|c", 13), 13);
        close(fd);
    }
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_OK);
    assert_string_equal(t, "auth0|c");
    free(t);
    assert_int_equal(c.parses, 3);
    /* A broken file is an error, and the old table is not served from the cache. */
    write_file("alice\n", 0600);
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_CONFIG);
    assert_non_null(strstr(err, ":1: expected"));
    assert_int_equal(subject_map_lookup(&c, path, geteuid(), "alice", &t, err, sizeof(err)), RES_CONFIG);
    subject_map_cache_clear(&c);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/map", dir);
    return 0;
}

static int teardown(void **state)
{
    char p[300];
    (void)state;
    unlink(path);
    snprintf(p, sizeof(p), "%s.new", path);
    unlink(p);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_find),
        cmocka_unit_test(test_default_template),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_lookup_checks_permissions),
        cmocka_unit_test(test_cache_rereads_only_on_change),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
