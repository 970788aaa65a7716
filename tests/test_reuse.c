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

#include "caller.h"
#include "reuse.h"

static char top[] = "/tmp/pam_ciba_test_reuse.XXXXXX";
static char dir[300];
static struct reuse_store store;
/* Caller "carol" (uid 1001, login uid 1001) asks sudo for the account alice. */
static const struct reuse_identity alice = {"alice", "sudo", "/dev/pts/1", "boot=b audit=7", "auth0|%u",
                                            1001, "carol", 1001, NULL};
static unsigned last_differs;

static result check(const struct reuse_identity *id, long window, double now)
{
    double age;
    char why[256];
    return reuse_check(&store, id, window, now, &age, &last_differs, why, sizeof(why));
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
    assert_int_equal(reuse_check(&store, &alice, 300, 1100.5, &age, &last_differs, why, sizeof(why)), RES_OK);
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
    char a[4][80], both[4][80], bobname[80] = "", text[REUSE_RECORD_MAX], p[400];
    struct reuse_identity bob = alice;
    FILE *f;
    size_t n;
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
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
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

static size_t read_record(const char *name, char *out, size_t len)
{
    char p[400];
    size_t n;
    FILE *f;
    path_of(name, p, sizeof(p));
    f = fopen(p, "r");
    assert_non_null(f);
    n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
    return n;
}

/* Each change of caller is a fresh request, and the log can say which field decided. */
static void test_no_reuse_for_other_caller(void **state)
{
    struct reuse_identity other;
    (void)state;
    record(&alice, 300, 1000);
    other = alice;
    other.ruid = 0; /* root's su on the same terminal and session */
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_RUID);
    other = alice;
    other.ruser = "dave";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_RUSER);
    other.ruser = NULL; /* unset is not a wildcard */
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_RUSER);
    other.ruser = "";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.loginuid = REUSE_LOGINUID_UNSET;
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_LOGINUID);
    other.loginuid = 0;
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = alice;
    other.user = "root"; /* same caller, another target account */
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_USER);
    other.ruid = 0;
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_USER | REUSE_F_RUID);
    /* Another terminal: no record of this tty and session to compare with. */
    other = alice;
    other.tty = "/dev/pts/9";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, 0);
    assert_int_equal(check(&alice, 300, 1001), RES_OK);
    /* An unset login uid and an unset PAM_RUSER are values of their own: they reuse each other. */
    other = alice;
    other.loginuid = REUSE_LOGINUID_UNSET;
    other.ruser = NULL;
    record(&other, 300, 1000);
    assert_int_equal(check(&other, 300, 1001), RES_OK);
}

static void test_field_names(void **state)
{
    char out[128];
    (void)state;
    assert_string_equal(reuse_field_names(0, out, sizeof(out)), "");
    assert_string_equal(reuse_field_names(REUSE_F_RUID | REUSE_F_RUSER | REUSE_F_COMMAND, out, sizeof(out)),
                        "ruid,ruser,command");
    assert_string_equal(reuse_field_names(REUSE_F_USER | REUSE_F_SCOPE, out, sizeof(out)), "user,scope");
}

static void test_command_scope(void **state)
{
    struct reuse_identity cmd = alice, other;
    (void)state;
    cmd.command = "apt upgrade";
    record(&cmd, 300, 1000);
    assert_int_equal(check(&cmd, 300, 1001), RES_OK);
    other = cmd;
    other.command = "apt install evil";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_COMMAND);
    other.command = "apt upgrade "; /* no prefix or trailing-blank match */
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    other = cmd;
    other.user = "root";
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_USER);
    other = cmd;
    other.ruid = 0;
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
    /* A command-scope approval does not cover the whole session, nor the other way round. */
    assert_int_equal(check(&alice, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_SCOPE);
    rm_rf();
    record(&alice, 300, 1000);
    assert_int_equal(check(&cmd, 300, 1001), RES_DENIED);
    assert_int_equal(last_differs, REUSE_F_SCOPE);
    /* Scope "command" without a command known for sure: no reuse, no record. */
    other = alice;
    other.command = "";
    {
        char why[256];
        assert_int_equal(reuse_record(&store, &other, 300, 1000, why, sizeof(why)), RES_DENIED);
    }
    assert_int_equal(check(&other, 300, 1001), RES_DENIED);
}

/* Change one byte of the value after "\nNAME " (or of the MAC): the record is refused and removed. */
static void tamper_one(const char *field, int offset)
{
    char names[4][80], text[REUSE_RECORD_MAX], key[40], *at;
    (void)key;
    rm_rf();
    record(&alice, 300, 1000);
    assert_int_equal(records(names, 4), 1);
    read_record(names[0], text, sizeof(text));
    snprintf(key, sizeof(key), "\n%s ", field);
    at = strstr(text, key);
    if (!at)
        fail_msg("no field %s in the record", field);
    at += strlen(key) + (size_t)offset;
    /* Same length, another digit or letter: only the MAC can tell. */
    *at = *at == '1' ? '2' : *at >= '0' && *at <= '9' ? '1' : *at == 'a' ? 'b' : 'a';
    overwrite(names[0], text);
    if (check(&alice, 300, 1001) != RES_INVALID_TOKEN)
        fail_msg("tampered %s accepted", field);
    assert_int_equal(records(names, 4), 0);
}

static void test_tampered_fields(void **state)
{
    (void)state;
    tamper_one("approved", 0);
    /* Values after "LEN:": user, service, tty, session, subject, ruser. */
    tamper_one("user", 2);
    tamper_one("service", 2);
    tamper_one("tty", 3);
    tamper_one("session", 3);
    tamper_one("subject", 3);
    tamper_one("ruid", 0);
    tamper_one("ruser", 2);
    tamper_one("loginuid", 0);
    tamper_one("mac", 0);
    tamper_one("mac", 63);
}

/* A record made before the caller was bound (format v1) is refused cleanly and swept. */
static void test_old_format_refused(void **state)
{
    char names[4][80], p[400];
    int fd;
    (void)state;
    record(&alice, 300, 1000);
    assert_int_equal(records(names, 4), 1);
    overwrite(names[0], "v1 1000000 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
    assert_int_equal(check(&alice, 300, 1001), RES_INVALID_TOKEN);
    assert_int_equal(records(names, 4), 0);
    /* A v1 file under another name goes at the next sweep. */
    path_of("00000000000000000000000000000000000000000000000000000000000000aa", p, sizeof(p));
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "v1 1000000 00\n", 14), 14);
    close(fd);
    record(&alice, 300, 1000);
    assert_int_equal(records(names, 4), 1);
    assert_int_equal(check(&alice, 300, 1001), RES_OK);
}

/* "ab" + "c" and "a" + "bc" are different records with different names. */
static void test_field_boundaries(void **state)
{
    struct reuse_identity a = alice, b = alice;
    char ta[1024], tb[1024], names[4][80];
    (void)state;
    a.user = "ab";
    a.service = "c";
    b.user = "a";
    b.service = "bc";
    assert_true(reuse_format(&a, 5, ta, sizeof(ta)) > 0);
    assert_true(reuse_format(&b, 5, tb, sizeof(tb)) > 0);
    assert_string_not_equal(ta, tb);
    record(&a, 300, 1000);
    assert_int_equal(check(&b, 300, 1001), RES_DENIED);
    record(&b, 300, 1000);
    assert_int_equal(records(names, 4), 2);
    /* A value holding a whole forged line stays inside its field. */
    a = alice;
    a.ruser = "carol\nloginuid 0";
    b = alice;
    b.ruser = "carol";
    b.loginuid = 0;
    assert_true(reuse_format(&a, 5, ta, sizeof(ta)) > 0);
    assert_true(reuse_format(&b, 5, tb, sizeof(tb)) > 0);
    assert_string_not_equal(ta, tb);
    rm_rf();
    record(&a, 300, 1000);
    assert_int_equal(check(&b, 300, 1001), RES_DENIED);
    assert_int_equal(check(&a, 300, 1001), RES_OK);
}

/* Format, MAC, parse, verify: the same identity comes back; the parser refuses near misses. */
static void test_parse_round_trip(void **state)
{
    static unsigned char key[REUSE_KEY_LEN] = {1, 2, 3};
    static struct reuse_record rec;
    struct reuse_identity cmd = alice;
    char text[2048], again[2048];
    size_t n;
    (void)state;
    cmd.command = "apt\nupgrade -y";
    cmd.ruser = NULL;
    n = reuse_format(&cmd, 123456, text, sizeof(text));
    assert_true(n > 0);
    snprintf(text + n, sizeof(text) - n, "mac %064d\n", 0);
    assert_int_equal(reuse_parse(text, strlen(text), &rec), RES_OK);
    assert_int_equal(rec.body_len, n);
    assert_int_equal(rec.ms, 123456);
    assert_int_equal(reuse_diff(&cmd, &rec.id), 0);
    assert_false(reuse_verify(key, text, &rec));
    assert_int_equal(reuse_format(&rec.id, rec.ms, again, sizeof(again)), n);
    assert_memory_equal(again, text, n);
    /* Near misses: truncated, trailing bytes, a leading zero, a NUL in a value, a length too big. */
    assert_int_equal(reuse_parse(text, strlen(text) - 1, &rec), RES_INVALID_TOKEN);
    strcat(text, "x");
    assert_int_equal(reuse_parse(text, strlen(text), &rec), RES_INVALID_TOKEN);
    n = reuse_format(&alice, 7, text, sizeof(text));
    snprintf(text + n, sizeof(text) - n, "mac %064d\n", 0);
    assert_int_equal(reuse_parse(text, strlen(text), &rec), RES_OK);
    {
        char t2[2048], *u;
        size_t len = strlen(text);
        memcpy(t2, text, len + 1);
        u = strstr(t2, "user 5:");
        u[5] = '6';
        assert_int_equal(reuse_parse(t2, len, &rec), RES_INVALID_TOKEN);
        memcpy(t2, text, len + 1);
        strstr(t2, "user 5:alice")[8] = '\0';
        assert_int_equal(reuse_parse(t2, len, &rec), RES_INVALID_TOKEN);
        memcpy(t2, text, len + 1);
        memcpy(strstr(t2, "approved 7"), "approved 07", 11); /* shifts by one byte */
        assert_int_equal(reuse_parse(t2, len, &rec), RES_INVALID_TOKEN);
    }
    /* An incomplete identity has no record text. */
    cmd = alice;
    cmd.tty = "";
    assert_int_equal(reuse_format(&cmd, 1, text, sizeof(text)), 0);
    assert_int_equal(reuse_format(&alice, 1, text, 20), 0);
}

static void test_caller_loginuid(void **state)
{
    uint32_t v = 7;
    struct caller c;
    (void)state;
    assert_int_equal(caller_parse_loginuid("1000\n", &v), RES_OK);
    assert_int_equal(v, 1000);
    assert_int_equal(caller_parse_loginuid("4294967295", &v), RES_OK);
    assert_int_equal(v, REUSE_LOGINUID_UNSET);
    assert_int_equal(caller_parse_loginuid("4294967296", &v), RES_INTERNAL);
    assert_int_equal(caller_parse_loginuid("", &v), RES_INTERNAL);
    assert_int_equal(caller_parse_loginuid("-1", &v), RES_INTERNAL);
    assert_int_equal(caller_parse_loginuid("12 ", &v), RES_INTERNAL);
    assert_int_equal(caller_of_self("carol", &c), RES_OK);
    assert_int_equal(c.ruid, getuid());
    assert_string_equal(c.ruser, "carol");
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
        cmocka_unit_test_setup(test_no_reuse_for_other_caller, setup_each),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test_setup(test_command_scope, setup_each),
        cmocka_unit_test_setup(test_tampered_fields, setup_each),
        cmocka_unit_test_setup(test_old_format_refused, setup_each),
        cmocka_unit_test_setup(test_field_boundaries, setup_each),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_caller_loginuid),
        cmocka_unit_test(test_session_id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
