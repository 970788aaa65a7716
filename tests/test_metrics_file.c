/* Unit tests for pam_ciba/metrics_file.c: lock, start over, atomic replace, bounded wait, exact counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_file.h"

static char top[] = "/tmp/pam_ciba_test_metrics.XXXXXX";
static char dir[300], path[340], lockpath[400], tmppath[400];

static int setup(void **state)
{
    (void)state;
    snprintf(top, sizeof(top), "/tmp/pam_ciba_test_metrics.XXXXXX");
    if (!mkdtemp(top))
        return -1;
    snprintf(dir, sizeof(dir), "%s/textfile", top);
    snprintf(path, sizeof(path), "%s/pam_ciba.prom", dir);
    snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
    snprintf(tmppath, sizeof(tmppath), "%s.tmp", path);
    return mkdir(dir, 0755);
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

static result update(const char *outcome, const char *service, bool observe, uint64_t ms, unsigned budget,
                     struct metrics_stats *st)
{
    struct metrics_update u = {path, geteuid(), outcome, service, observe, ms, budget};
    struct metrics_stats mine;
    char why[512];
    return metrics_file_update(&u, st ? st : &mine, why, sizeof(why));
}

/* The file, parsed: fails the test if it does not parse. */
static struct metrics *load(void)
{
    static char text[METRICS_MAX_FILE + 1];
    struct metrics *m = malloc(sizeof(*m));
    char why[200];
    ssize_t n;
    int fd = open(path, O_RDONLY);
    assert_non_null(m);
    assert_true(fd >= 0);
    n = read(fd, text, sizeof(text));
    close(fd);
    assert_true(n >= 0);
    if (metrics_parse(text, (size_t)n, m, why, sizeof(why)) != RES_OK)
        fail_msg("metrics file does not parse: %s", why);
    return m;
}

static uint64_t count_of(const struct metrics *m, const char *outcome, const char *service)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->series[i].outcome, outcome) == 0 && strcmp(m->series[i].service, service) == 0)
            return m->series[i].count;
    return 0;
}

static void write_file(const char *p, const char *text, mode_t mode)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static void test_creates_then_counts(void **state)
{
    struct metrics_stats st;
    struct metrics *m;
    struct stat sb;
    (void)state;
    umask(077); /* the caller's umask must not hide the file from the collector */
    assert_int_equal(update("approved", "sudo", true, 4200, 0, &st), RES_OK);
    assert_true(st.started_over);
    assert_string_equal(st.old_file, "no file yet");
    assert_int_equal(st.lock_tries, 1);
    assert_int_equal(update("denied", "sshd", false, 0, 0, &st), RES_OK);
    assert_false(st.started_over);
    assert_int_equal(update("approved", "sudo", false, 0, 0, NULL), RES_OK);
    umask(022);
    m = load();
    assert_int_equal(count_of(m, "approved", "sudo"), 2);
    assert_int_equal(count_of(m, "denied", "sshd"), 1);
    assert_int_equal(m->count, 1);
    assert_int_equal(m->sum_ms, 4200);
    free(m);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0644);
    assert_int_equal(sb.st_uid, geteuid());
    assert_int_equal(stat(lockpath, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
    assert_int_equal(access(tmppath, F_OK), -1);
}

/* Anything but our own format (or a file someone else could have written) is not trusted. */
static void test_starts_over(void **state)
{
    struct metrics_stats st;
    struct metrics *m;
    (void)state;
    write_file(path, "pam_ciba_decisions_total{outcome=\"approved\",service=\"sudo\"} 1000000\n", 0644);
    assert_int_equal(update("approved", "sudo", false, 0, 0, &st), RES_OK);
    assert_true(st.started_over);
    m = load();
    assert_int_equal(count_of(m, "approved", "sudo"), 1);
    free(m);
    /* Our format, but writable by others: its counts are not taken. */
    assert_int_equal(update("approved", "sudo", false, 0, 0, &st), RES_OK);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(update("approved", "sudo", false, 0, 0, &st), RES_OK);
    assert_true(st.started_over);
    m = load();
    assert_int_equal(count_of(m, "approved", "sudo"), 1);
    free(m);
    if (geteuid() == 0) {
        /* Owned by someone else: the same. */
        assert_int_equal(update("approved", "sudo", false, 0, 0, &st), RES_OK);
        assert_int_equal(chown(path, 4321, 4321), 0);
        assert_int_equal(update("approved", "sudo", false, 0, 0, &st), RES_OK);
        assert_true(st.started_over);
        assert_non_null(strstr(st.old_file, "owned"));
        m = load();
        assert_int_equal(count_of(m, "approved", "sudo"), 1);
        free(m);
    } else {
        print_message("not root: the foreign-owner case is covered by the writable-by-others case only\n");
    }
    /* A symbolic link in its place is replaced, and what it points to is left alone. */
    {
        char target[400];
        snprintf(target, sizeof(target), "%s/victim", top);
        write_file(target, "keep me\n", 0644);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(update("approved", "sudo", false, 0, 0, &st), RES_OK);
        assert_true(st.started_over);
        m = load();
        free(m);
        {
            struct stat sb;
            char buf[32] = {0};
            int fd = open(target, O_RDONLY);
            assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
            close(fd);
            assert_string_equal(buf, "keep me\n");
            assert_int_equal(lstat(path, &sb), 0);
            assert_true(S_ISREG(sb.st_mode));
        }
    }
    /* A temp file left by an update that died is replaced. */
    write_file(tmppath, "junk", 0600);
    assert_int_equal(update("denied", "sudo", false, 0, 0, &st), RES_OK);
    assert_int_equal(access(tmppath, F_OK), -1);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int pending_files(void)
{
    char cmd[600], buf[32] = {0};
    FILE *p;
    snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c '^\\.pam_ciba\\.prom\\.pending\\.' || true", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(buf, sizeof(buf), p));
    pclose(p);
    return atoi(buf);
}

/* Another update holding the lock: this one waits at most its budget, then leaves its
 * decision for the next update, which counts it. */
static void test_busy_lock_defers_in_bounded_time(void **state)
{
    struct metrics_stats st;
    struct metrics *before, *after;
    double t0, took;
    int fd;
    (void)state;
    assert_int_equal(update("approved", "sudo", false, 0, 0, NULL), RES_OK);
    before = load();
    fd = open(lockpath, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    t0 = mono_ms();
    assert_int_equal(update("approved", "sudo", true, 7000, 50, &st), RES_OK);
    took = mono_ms() - t0;
    assert_true(st.deferred);
    assert_true(st.lock_tries > 3);
    assert_true(st.lock_wait_ms >= 50);
    /* Budget plus scheduling slack: never the whole login's time. */
    assert_true(took < 50 + 150);
    assert_int_equal(update("denied", "sshd", false, 0, 20, &st), RES_OK);
    assert_true(st.deferred);
    assert_int_equal(pending_files(), 2);
    after = load();
    assert_int_equal(count_of(after, "approved", "sudo"), count_of(before, "approved", "sudo"));
    free(after);
    close(fd);
    assert_int_equal(update("approved", "sudo", false, 0, 50, &st), RES_OK);
    assert_false(st.deferred);
    assert_int_equal(st.folded, 2);
    assert_int_equal(pending_files(), 0);
    after = load();
    assert_int_equal(count_of(after, "approved", "sudo"), count_of(before, "approved", "sudo") + 2);
    assert_int_equal(count_of(after, "denied", "sshd"), 1);
    assert_int_equal(after->count, before->count + 1);
    assert_int_equal(after->sum_ms, before->sum_ms + 7000);
    free(before);
    free(after);
}

/* Only deferred counts root left are counted: anything else by that name is removed. */
static void test_foreign_pending_files_removed(void **state)
{
    char p[500];
    struct metrics_stats st;
    struct metrics *m;
    (void)state;
    snprintf(p, sizeof(p), "%s/.pam_ciba.prom.pending.junk", dir);
    write_file(p, "approved sudo 0 0 extra\n", 0600);
    snprintf(p, sizeof(p), "%s/.pam_ciba.prom.pending.writable", dir);
    write_file(p, "approved sudo 0 0\n", 0666);
    snprintf(p, sizeof(p), "%s/.pam_ciba.prom.pending.good", dir);
    write_file(p, "approved sudo 1 1500\n", 0600);
    if (geteuid() == 0) {
        snprintf(p, sizeof(p), "%s/.pam_ciba.prom.pending.foreign", dir);
        write_file(p, "approved sudo 0 0\n", 0600);
        assert_int_equal(chown(p, 4321, 4321), 0);
    }
    assert_int_equal(update("denied", "sudo", false, 0, 0, &st), RES_OK);
    assert_int_equal(st.folded, 1);
    assert_int_equal(pending_files(), 0);
    m = load();
    assert_int_equal(count_of(m, "approved", "sudo"), 1);
    assert_int_equal(m->sum_ms, 1500);
    free(m);
}

static void test_unsafe_places_refused(void **state)
{
    struct metrics_update u = {path, geteuid(), "approved", "sudo", false, 0, 0};
    struct metrics_stats st;
    char why[512];
    (void)state;
    /* A directory others can write to: they could swap the file between our steps. */
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(metrics_file_update(&u, &st, why, sizeof(why)), RES_CONFIG);
    assert_int_equal(chmod(dir, 0755), 0);
    /* The lock file as a symbolic link. */
    unlink(lockpath);
    assert_int_equal(symlink("/etc/passwd", lockpath), 0);
    assert_int_equal(metrics_file_update(&u, &st, why, sizeof(why)), RES_CONFIG);
    unlink(lockpath);
    /* Not the owner: nothing to do, quietly. */
    u.owner = geteuid() + 1;
    assert_int_equal(metrics_file_update(&u, &st, why, sizeof(why)), RES_IGNORE);
    u.owner = geteuid();
    /* No directory. */
    u.path = "/nonexistent-pam-ciba/x.prom";
    assert_int_equal(metrics_file_update(&u, &st, why, sizeof(why)), RES_CONFIG);
    u.path = "relative.prom";
    assert_int_equal(metrics_file_update(&u, &st, why, sizeof(why)), RES_CONFIG);
}

/* A caller's small RLIMIT_FSIZE: no SIGXFSZ, no half file, the old one stays. */
static void test_file_size_limit(void **state)
{
    struct metrics *before, *after;
    pid_t pid;
    int status;
    (void)state;
    assert_int_equal(update("approved", "sudo", false, 0, 0, NULL), RES_OK);
    before = load();
    pid = fork();
    if (pid == 0) {
        struct rlimit rl = {100, 100};
        int fd = open(lockpath, O_RDWR);
        setrlimit(RLIMIT_FSIZE, &rl);
        if (update("approved", "sudo", false, 0, 0, NULL) != RES_INTERNAL)
            _exit(1);
        /* With the lock busy, the deferred count is refused too (limit 0: any write). */
        rl.rlim_cur = rl.rlim_max = 0;
        setrlimit(RLIMIT_FSIZE, &rl);
        if (fd < 0 || flock(fd, LOCK_EX) != 0)
            _exit(2);
        if (fork() == 0)
            _exit(update("approved", "sudo", false, 0, 10, NULL) == RES_INTERNAL ? 0 : 3);
        {
            int st;
            wait(&st);
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
        }
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    after = load();
    assert_int_equal(count_of(after, "approved", "sudo"), count_of(before, "approved", "sudo"));
    free(before);
    free(after);
}

/* Many processes at once, with a budget they never run out of: every count lands. */
static void test_concurrent_exact(void **state)
{
    enum { PROCS = 16, EACH = 25 };
    pid_t pids[PROCS];
    struct metrics *m;
    (void)state;
    unlink(path);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            int bad = 0;
            for (int i = 0; i < EACH; i++)
                bad += update(i % 5 ? "approved" : "denied", p % 2 ? "sudo" : "sshd", i % 5 != 0,
                              (uint64_t)(i * 1000), 10000, NULL) != RES_OK;
            _exit(bad);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    m = load();
    assert_int_equal(count_of(m, "approved", "sudo") + count_of(m, "approved", "sshd"), PROCS * EACH * 4 / 5);
    assert_int_equal(count_of(m, "denied", "sudo"), PROCS / 2 * EACH / 5);
    assert_int_equal(count_of(m, "denied", "sshd"), PROCS / 2 * EACH / 5);
    assert_int_equal(m->count, PROCS * EACH * 4 / 5);
    free(m);
}

/* A budget too short to wait for anyone: many updates defer, and after one more update
 * every decision is counted, exactly once. */
static void test_concurrent_exact_with_deferrals(void **state)
{
    enum { PROCS = 16, EACH = 25 };
    pid_t pids[PROCS];
    struct metrics *m;
    struct metrics_stats st;
    (void)state;
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            int bad = 0;
            for (int i = 0; i < EACH; i++)
                bad += update("approved", p % 2 ? "sudo" : "sshd", true, 1000, 1, NULL) != RES_OK;
            _exit(bad);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(update("denied", "sudo", false, 0, 1000, &st), RES_OK);
    print_message("deferred counts folded by the last update: %d\n", st.folded);
    assert_int_equal(pending_files(), 0);
    m = load();
    assert_int_equal(count_of(m, "approved", "sudo") + count_of(m, "approved", "sshd"), PROCS * EACH);
    assert_int_equal(m->count, PROCS * EACH);
    assert_int_equal(m->sum_ms, PROCS * EACH * 1000);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_creates_then_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_starts_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_lock_defers_in_bounded_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_pending_files_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_exact_with_deferrals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_places_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_exact, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
