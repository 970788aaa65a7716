/* Unit tests for pam_ciba/reuse.c: reuse only for the same identity, in time, from untampered records. */
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
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reuse.h"

static char top[] = "/tmp/pam_ciba_test_reuse.XXXXXX";
static char dir[300];
static struct reuse_store store;
static const struct reuse_identity alice = {"alice", "sudo", "/dev/pts/1", "boot=b audit=7", "auth0|%u"};

static result check(const struct reuse_identity *id, long window, double now)
{
    double age;
    char why[256];
    return reuse_check(&store, id, window, now, &age, why, sizeof(why));
}

static void record(const struct reuse_identity *id, long window, double now)
{
    char why[256];
    result r = reuse_record(&store, id, window, now, why, sizeof(why));
    if (r != RES_OK)
        fail_msg("reuse_record: %d %s", r, why);
}

/* Names of the record files (64 hex characters) in dir, sorted into out. */
static int records(char out[][80], int max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        if (strlen(de->d_name) == 64 && n < max)
            snprintf(out[n++], 80, "%.79s", de->d_name);
    closedir(d);
    return n;
}

static void path_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%.300s/%.80s", dir, name);
}

static void rm_rf(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[400];
    if (!d)
        return;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            path_of(de->d_name, p, sizeof(p));
            unlink(p);
        }
    }
    closedir(d);
    rmdir(dir);
}

static int setup_each(void **state)
{
    (void)state;
    rm_rf();
    return 0;
}

static void test_reuse_within_window(void **state)
{
    double age;
    char why[256];
    struct stat st;
    char key[400];
    (void)state;
    assert_int_equal(check(&alice, 300, 1000), RES_DENIED);
    record(&alice, 300, 1000);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    path_of("key", key, sizeof(key));
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, REUSE_KEY_LEN);
    assert_int_equal(reuse_check(&store, &alice, 300, 1100.5, &age, why, sizeof(why)), RES_OK);
    assert_true(age > 100.4 && age < 100.6);
    /* Reuse does not consume the record: a second sudo in the window works too. */
    assert_int_equal(check(&alice, 300, 1200), RES_OK);
}

static void test_no_reuse_for_other_identity(void **state)
{
    struct reuse_identity other;
    (void)state;
    record(&alice, 300, 1000);
    other = alice;
    other.tty = "/dev/pts/2";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.user = "bob";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.session = "boot=b audit=8";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.session = "boot=c audit=7";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.service = "su";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.subject = "auth0|x";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(check(&alice, 300, 1001), RES_OK);
}

static void test_no_reuse_without_tty_or_session(void **state)
{
    struct reuse_identity id = alice;
    char why[256];
    (void)state;
    id.tty = NULL;
    assert_int_equal(reuse_record(&store, &id, 300, 1000, why, sizeof(why)), RES_DENIED);
    assert_int_equal(check(&id, 300, 1000), RES_DENIED);
    id = alice;
    id.session = "";
    assert_int_equal(reuse_record(&store, &id, 300, 1000, why, sizeof(why)), RES_DENIED);
    record(&alice, 300, 1000);
    assert_int_equal(check(&alice, 0, 1000), RES_DENIED);
}

static void test_expired_record_removed(void **state)
{
    char names[4][80];
    (void)state;
    record(&alice, 60, 1000);
    assert_int_equal(check(&alice, 60, 1059.9), RES_OK);
    assert_int_equal(check(&alice, 60, 1060), RES_EXPIRED);
    assert_int_equal(records(names, 4), 0);
    assert_int_equal(check(&alice, 60, 1061), RES_DENIED);
    /* Shrinking the window applies to records made before. */
    record(&alice, 600, 2000);
    assert_int_equal(check(&alice, 10, 2011), RES_EXPIRED);
}

static void test_record_from_the_future(void **state)
{
    (void)state;
    record(&alice, 60, 1000);
    assert_int_equal(check(&alice, 60, 900), RES_INVALID_TOKEN);
    assert_int_equal(check(&alice, 60, 1000), RES_DENIED);
}

static void overwrite(const char *name, const char *text)
{
    char p[400];
    int fd;
    path_of(name, p, sizeof(p));
    fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_forged_record(void **state)
{
    char names[4][80], text[200];
    (void)state;
    record(&alice, 300, 1000);
    assert_int_equal(records(names, 4), 1);
    /* Moving the time forward without the key breaks the MAC. */
    snprintf(text, sizeof(text), "v1 %lld %064d\n", 5000000LL, 0);
    overwrite(names[0], text);
    assert_int_equal(check(&alice, 300, 5001), RES_INVALID_TOKEN);
    assert_int_equal(records(names, 4), 0);
    record(&alice, 300, 1000);
    records(names, 4);
    overwrite(names[0], "garbage");
    assert_int_equal(check(&alice, 300, 1001), RES_INVALID_TOKEN);
}

static void test_replayed_under_other_identity(void **state)
{
    char a[4][80], both[4][80], bobname[80] = "", text[200], p[400];
    struct reuse_identity bob = alice;
    FILE *f;
    (void)state;
    bob.user = "bob";
    record(&alice, 300, 1000);
    assert_int_equal(records(a, 4), 1);
    record(&bob, 300, 1000);
    assert_int_equal(records(both, 4), 2);
    for (int i = 0; i < 2; i++)
        if (strcmp(both[i], a[0]) != 0)
            snprintf(bobname, sizeof(bobname), "%s", both[i]);
    path_of(a[0], p, sizeof(p));
    f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof(text), f));
    fclose(f);
    overwrite(bobname, text);
    assert_int_equal(check(&bob, 300, 1001), RES_INVALID_TOKEN);
    assert_int_equal(check(&alice, 300, 1001), RES_OK);
}

static void test_wrong_permissions(void **state)
{
    char names[4][80], p[400], key[400];
    (void)state;
    record(&alice, 300, 1000);
    records(names, 4);
    path_of(names[0], p, sizeof(p));
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(check(&alice, 300, 1001), RES_INVALID_TOKEN);
    assert_int_equal(access(p, F_OK), -1); /* removed */
    if (geteuid() == 0) {
        record(&alice, 300, 1000);
        assert_int_equal(chown(p, 1, 1), 0);
        assert_int_equal(check(&alice, 300, 1001), RES_INVALID_TOKEN);
    }
    /* A symlink in place of a record is refused (O_NOFOLLOW). */
    record(&alice, 300, 1000);
    path_of("key", key, sizeof(key));
    unlink(p);
    assert_int_equal(symlink(key, p), 0);
    assert_int_equal(check(&alice, 300, 1001), RES_INVALID_TOKEN);
    /* An unsafe key or directory disables reuse and recording. */
    record(&alice, 300, 1000);
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(check(&alice, 300, 1001), RES_CONFIG);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(check(&alice, 300, 1001), RES_OK);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(check(&alice, 300, 1001), RES_CONFIG);
    {
        char why[256];
        assert_int_equal(reuse_record(&store, &alice, 300, 1000, why, sizeof(why)), RES_CONFIG);
        assert_non_null(strstr(why, "0700"));
    }
    assert_int_equal(chmod(dir, 0700), 0);
}

static void test_new_key_invalidates(void **state)
{
    char key[400];
    struct reuse_identity bob = alice;
    (void)state;
    bob.user = "bob";
    record(&alice, 300, 1000);
    path_of("key", key, sizeof(key));
    assert_int_equal(unlink(key), 0);
    assert_int_equal(check(&alice, 300, 1001), RES_DENIED);
    record(&bob, 300, 1000); /* makes a new key */
    assert_int_equal(check(&alice, 300, 1001), RES_DENIED);
    assert_int_equal(check(&bob, 300, 1001), RES_OK);
}

static void test_sweep_removes_old_records(void **state)
{
    char names[4][80];
    struct reuse_identity bob = alice;
    (void)state;
    bob.user = "bob";
    record(&alice, 10, 100);
    assert_int_equal(records(names, 4), 1);
    record(&bob, 10, 200);
    assert_int_equal(records(names, 4), 1);
    assert_int_equal(check(&bob, 10, 201), RES_OK);
}

static bool audit_session(void)
{
    char buf[32] = "";
    FILE *f = fopen("/proc/self/sessionid", "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = 0;
        fclose(f);
    }
    return buf[0] && strcmp(buf, "4294967295") != 0;
}

/* Field 22 of /proc/PID/stat, counted by splitting the fields after the command's ')'. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[1024], *save = NULL, *f;
    unsigned long long v = 0;
    size_t n;
    FILE *fp;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fp = fopen(path, "r");
    if (!fp)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = 0;
    f = strtok_r(strrchr(buf, ')') + 1, " ", &save); /* field 3 */
    for (int field = 3; f && field < 22; field++)
        f = strtok_r(NULL, " ", &save);
    if (f)
        v = strtoull(f, NULL, 10);
    return v;
}

/* What reuse_session_id() must give in this process: audit session, else the session leader. */
static int session_id_as_expected(void)
{
    char s1[REUSE_SESSION_MAX], s2[REUSE_SESSION_MAX], want[64];
    if (!audit_session() && getsid(0) <= 0)
        /* Session leader outside our PID namespace (containers): no id, so no reuse. */
        return reuse_session_id(s1, sizeof(s1)) == RES_INTERNAL ? 0 : 1;
    if (reuse_session_id(s1, sizeof(s1)) != RES_OK || reuse_session_id(s2, sizeof(s2)) != RES_OK)
        return 2;
    if (strcmp(s1, s2) != 0 || strncmp(s1, "boot=", 5) != 0)
        return 3;
    if (audit_session())
        return strstr(s1, " audit=") ? 0 : 4;
    snprintf(want, sizeof(want), " sid=%d start=%llu", (int)getsid(0), start_time(getsid(0)));
    if (strstr(s1, want) == NULL || strlen(strstr(s1, want)) != strlen(want))
        return 5;
    return 0;
}

static void test_session_id(void **state)
{
    pid_t pid;
    int status = -1;
    (void)state;
    assert_int_equal(session_id_as_expected(), 0);
    /* A fresh session whose leader is this child is always visible: the sid form must work. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The leader's memory use changes between logins; its id must not. */
        char s1[REUSE_SESSION_MAX], s2[REUSE_SESSION_MAX];
        void *big;
        int rc = setsid() < 0 ? 9 : session_id_as_expected();
        if (rc == 0 && reuse_session_id(s1, sizeof(s1)) != RES_OK)
            rc = 10;
        big = mmap(NULL, 64 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (rc == 0 && (big == MAP_FAILED || reuse_session_id(s2, sizeof(s2)) != RES_OK || strcmp(s1, s2) != 0))
            rc = 11;
        _exit(rc);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(reuse_now() > 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(top))
        return -1;
    snprintf(dir, sizeof(dir), "%s/run", top);
    store.dir = dir;
    store.owner = geteuid();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf();
    rmdir(top);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reuse_within_window, setup_each),
        cmocka_unit_test_setup(test_no_reuse_for_other_identity, setup_each),
        cmocka_unit_test_setup(test_no_reuse_without_tty_or_session, setup_each),
        cmocka_unit_test_setup(test_expired_record_removed, setup_each),
        cmocka_unit_test_setup(test_record_from_the_future, setup_each),
        cmocka_unit_test_setup(test_forged_record, setup_each),
        cmocka_unit_test_setup(test_replayed_under_other_identity, setup_each),
        cmocka_unit_test_setup(test_wrong_permissions, setup_each),
        cmocka_unit_test_setup(test_new_key_invalidates, setup_each),
        cmocka_unit_test_setup(test_sweep_removes_old_records, setup_each),
        cmocka_unit_test(test_session_id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
