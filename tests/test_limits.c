/* Unit tests for pam_ciba/limits.c and limits_store.c: window, pending rule, streak and lockout on an injected clock; counter files under concurrency and tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "limits_record.h"
#include "limits_store.h"

#define S 1000LL /* one second in ms */

static const struct limits_conf conf = {3, 10 * S, 3, 60 * S};
static struct limits_record rec;

static void fresh(int kind)
{
    limits_record_init(&rec, kind, kind == LIMITS_USER ? "alice" : "192.0.2.1", "boot-1");
}

static enum limits_verdict decide(long long now, long long *until)
{
    limits_prune(&rec, &conf, now);
    return limits_decide(&rec, &conf, now, until);
}

/* One request at now that ends as how. */
static void request(uint64_t id, long long now, enum limits_end how)
{
    assert_int_equal(decide(now, NULL), LIMITS_GO);
    assert_true(limits_add(&rec, id, now, now + 30 * S));
    limits_finish(&rec, id, how, &conf, now + 1);
}

static void test_window(void **state)
{
    long long until;
    (void)state;
    fresh(LIMITS_USER);
    request(1, 100 * S, LIMITS_END_FAILED);
    request(2, 101 * S, LIMITS_END_FAILED);
    request(3, 102 * S, LIMITS_END_FAILED);
    assert_int_equal(decide(103 * S, &until), LIMITS_TOO_MANY);
    assert_int_equal(until, 110 * S); /* the oldest leaves the window */
    assert_int_equal(decide(110 * S - 1, NULL), LIMITS_TOO_MANY);
    assert_int_equal(decide(110 * S, NULL), LIMITS_GO);
    assert_int_equal(limits_count(&rec, NULL), 2);
    assert_int_equal(decide(112 * S, NULL), LIMITS_GO);
    assert_int_equal(limits_count(&rec, NULL), 0);
}

static void test_approvals_never_count(void **state)
{
    (void)state;
    fresh(LIMITS_USER);
    for (uint64_t i = 1; i <= 50; i++)
        request(i, 100 * S + (long long)i, LIMITS_END_APPROVED);
    assert_int_equal(limits_count(&rec, NULL), 0);
    assert_int_equal(decide(200 * S, NULL), LIMITS_GO);
    /* Requests that never reached the provider do not count either. */
    for (uint64_t i = 1; i <= 10; i++)
        request(100 + i, 300 * S, LIMITS_END_UNSENT);
    assert_int_equal(limits_count(&rec, NULL), 0);
}

static void test_one_pending(void **state)
{
    size_t pending;
    (void)state;
    fresh(LIMITS_USER);
    assert_true(limits_add(&rec, 7, 100 * S, 130 * S));
    assert_int_equal(decide(101 * S, NULL), LIMITS_PENDING_EXISTS);
    assert_int_equal(limits_count(&rec, &pending), 1);
    assert_int_equal(pending, 1);
    limits_finish(&rec, 7, LIMITS_END_APPROVED, &conf, 102 * S);
    assert_int_equal(decide(102 * S, NULL), LIMITS_GO);
    /* A login that crashed: pending until its deadline, then a failed request. */
    assert_true(limits_add(&rec, 8, 103 * S, 105 * S));
    assert_int_equal(decide(104 * S, NULL), LIMITS_PENDING_EXISTS);
    assert_int_equal(decide(105 * S, NULL), LIMITS_GO);
    assert_int_equal(limits_count(&rec, &pending), 1);
    assert_int_equal(pending, 0);
    assert_int_equal(decide(113 * S, NULL), LIMITS_GO);
    assert_int_equal(limits_count(&rec, NULL), 0);
}

static void test_sources_have_no_pending_rule_or_lockout(void **state)
{
    (void)state;
    fresh(LIMITS_SOURCE);
    assert_true(limits_add(&rec, 1, 100 * S, 130 * S));
    assert_true(limits_add(&rec, 2, 100 * S, 130 * S));
    assert_int_equal(decide(100 * S, NULL), LIMITS_GO);
    limits_finish(&rec, 1, LIMITS_END_DENIED, &conf, 101 * S);
    limits_finish(&rec, 2, LIMITS_END_DENIED, &conf, 101 * S);
    limits_note_denial(&rec, &conf, 101 * S);
    assert_int_equal(rec.streak, 0);
    assert_int_equal(rec.locked_until_ms, 0);
    assert_true(limits_add(&rec, 3, 102 * S, 130 * S));
    assert_int_equal(decide(102 * S, NULL), LIMITS_TOO_MANY);
}

static void test_streak_and_lockout(void **state)
{
    long long until;
    (void)state;
    fresh(LIMITS_USER);
    request(1, 100 * S, LIMITS_END_DENIED);
    request(2, 101 * S, LIMITS_END_DENIED);
    assert_int_equal(rec.streak, 2);
    request(3, 200 * S, LIMITS_END_APPROVED); /* an approval restarts the streak */
    assert_int_equal(rec.streak, 0);
    request(4, 300 * S, LIMITS_END_DENIED);
    request(5, 301 * S, LIMITS_END_FAILED); /* an expiry neither adds nor resets */
    assert_int_equal(rec.streak, 1);
    request(6, 320 * S, LIMITS_END_DENIED);
    request(7, 340 * S, LIMITS_END_DENIED);
    assert_int_equal(rec.locked_until_ms, 340 * S + 1 + 60 * S);
    assert_int_equal(rec.streak, 0);
    assert_int_equal(decide(341 * S, &until), LIMITS_LOCKED);
    assert_int_equal(until, 400 * S + 1);
    assert_int_equal(decide(400 * S, NULL), LIMITS_LOCKED);
    assert_int_equal(decide(400 * S + 1, NULL), LIMITS_GO);
    assert_int_equal(rec.locked_until_ms, 0);
    /* Without max_denials there is no lockout. */
    {
        struct limits_conf off = conf;
        off.max_denials = 0;
        for (int i = 0; i < 10; i++)
            limits_note_denial(&rec, &off, 500 * S);
        assert_int_equal(rec.locked_until_ms, 0);
    }
}

static void test_times_from_elsewhere(void **state)
{
    (void)state;
    fresh(LIMITS_USER);
    /* Entries from the future count a whole window from now; a lockout longer than
     * lockout_time is cut to it. */
    assert_true(limits_add(&rec, 1, 900 * S, 930 * S));
    limits_finish(&rec, 1, LIMITS_END_FAILED, &conf, 900 * S);
    rec.locked_until_ms = 100000 * S;
    limits_prune(&rec, &conf, 100 * S);
    assert_int_equal(rec.e[0].start_ms, 100 * S);
    assert_int_equal(rec.locked_until_ms, 160 * S);
}

static void test_off(void **state)
{
    struct limits_conf off = {0, 10 * S, 0, 60 * S};
    (void)state;
    fresh(LIMITS_USER);
    for (uint64_t i = 1; i <= 20; i++) {
        limits_prune(&rec, &off, 100 * S);
        assert_int_equal(limits_decide(&rec, &off, 100 * S, NULL), LIMITS_GO);
        limits_finish(&rec, i, LIMITS_END_DENIED, &off, 100 * S);
    }
}

static void test_end_of(void **state)
{
    (void)state;
    assert_int_equal(limits_end_of(RES_OK, true), LIMITS_END_APPROVED);
    assert_int_equal(limits_end_of(RES_DENIED, true), LIMITS_END_DENIED);
    assert_int_equal(limits_end_of(RES_EXPIRED, true), LIMITS_END_FAILED);
    assert_int_equal(limits_end_of(RES_TIMEOUT, true), LIMITS_END_FAILED);
    assert_int_equal(limits_end_of(RES_INTERRUPTED, true), LIMITS_END_FAILED);
    assert_int_equal(limits_end_of(RES_UNAVAILABLE, false), LIMITS_END_UNSENT);
    assert_int_equal(limits_end_of(RES_DENIED, false), LIMITS_END_UNSENT);
}

static void round_trip(const struct limits_record *r)
{
    static char text[LIMITS_RECORD_MAX], again[LIMITS_RECORD_MAX];
    static struct limits_record back;
    size_t n = limits_format(r, text, sizeof(text) - 70);
    assert_true(n > 0);
    memcpy(text + n, "mac ", 4);
    memset(text + n + 4, 'a', 64);
    text[n + 68] = '\n';
    assert_int_equal(limits_parse(text, n + 69, &back), RES_OK);
    assert_int_equal(back.body_len, n);
    assert_int_equal(limits_format(&back, again, sizeof(again)), n);
    assert_memory_equal(text, again, n);
    assert_int_equal(back.n, r->n);
    assert_string_equal(back.name, r->name);
}

static void test_text(void **state)
{
    static const char good[] = "pam_ciba limits v1\nkind user\nname 5:alice\nboot 3:b-1\nstreak 2\nlocked 0\n"
                               "entry 00000000000000ff 1000 0 0 0\nentry 0123456789abcdef 2000 5000 4242 777\nmac "
                               "0000000000000000000000000000000000000000000000000000000000000000\n";
    /* {what the good text holds, what replaces it}: each must fail to parse. */
    static const char *const bad[][2] = {
        {"pam_ciba limits v1\n", ""},
        {"streak 2", "streak 02"},
        {"entry 00000000000000ff", "entry 00000000000000FF"},
        {"entry 0123456789abcdef", "entry 00000000000000ff"},
        {"name 5:alice", "name 6:alice"},
        {"locked 0", "locked -1"},
        {"kind user", "kind other"},
        {" 2000 5000 4242 777\n", " 2000 5000 4242 777 \n"},
        {" 2000 5000 4242 777\n", " 2000 5000 4242\n"},
        {" 4242 777", " 4242 0777"},
    };
    static char text[LIMITS_RECORD_MAX * 2];
    (void)state;

    assert_int_equal(limits_parse(good, strlen(good), &rec), RES_OK);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.e[1].id, 0x0123456789abcdefULL);
    assert_int_equal(rec.e[1].until_ms, 5000);
    assert_int_equal(rec.e[1].pid, 4242);
    assert_int_equal(rec.e[1].pstart, 777);
    assert_int_equal(rec.streak, 2);
    round_trip(&rec);
    assert_int_equal(limits_parse(good, strlen(good) - 1, &rec), RES_INVALID_TOKEN);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *at = strstr(good, bad[i][0]);
        assert_non_null(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, bad[i][1], at + strlen(bad[i][0]));
        assert_int_equal(limits_parse(text, strlen(text), &rec), RES_INVALID_TOKEN);
    }
    /* A full record round-trips; one more entry does not parse. */
    fresh(LIMITS_SOURCE);
    for (uint64_t i = 0; i < LIMITS_ENTRIES_MAX; i++)
        assert_true(limits_add(&rec, i + 1, 1000 * S, 2000 * S));
    assert_false(limits_add(&rec, 999, 1000 * S, 2000 * S));
    round_trip(&rec);
    {
        size_t n = limits_format(&rec, text, sizeof(text));
        n += (size_t)snprintf(text + n, sizeof(text) - n, "entry 00000000000003e7 1 0 0 0\nmac %064d\n", 0);
        assert_int_equal(limits_parse(text, n, &rec), RES_INVALID_TOKEN);
    }
    /* A name with a newline cannot be written. */
    limits_record_init(&rec, LIMITS_USER, "a\nb", "x");
    assert_int_equal(limits_format(&rec, text, sizeof(text)), 0);
}

static void test_source_key(void **state)
{
    char k[LIMITS_NAME_MAX + 1];
    (void)state;
    limits_source_key("192.0.2.7", k, sizeof(k));
    assert_string_equal(k, "192.0.2.7");
    limits_source_key("2001:db8:1:2:3:4:5:6", k, sizeof(k));
    assert_string_equal(k, "2001:db8:1:2::/64");
    limits_source_key("2001:db8:1:2:ffff::9", k, sizeof(k));
    assert_string_equal(k, "2001:db8:1:2::/64");
    limits_source_key("::ffff:192.0.2.7", k, sizeof(k));
    assert_string_equal(k, "192.0.2.7");
    limits_source_key("Host.Example", k, sizeof(k));
    assert_string_equal(k, "host.example");
    limits_source_key(NULL, k, sizeof(k));
    assert_string_equal(k, "");
    limits_source_key("", k, sizeof(k));
    assert_string_equal(k, "");
    /* a hostile PAM_RHOST: control bytes cannot reach the record */
    limits_source_key("evil\nPAM_CIBA_OUTCOME=approved\x7f", k, sizeof(k));
    assert_string_equal(k, "evil?pam_ciba_outcome=approved?");
}

static void test_message(void **state)
{
    struct limits_block b = {LIMITS_LOCKED, LIMITS_USER, 1000.0 + 900};
    char msg[400];
    (void)state;
    /* wall 0 + 900 s: 00:15:00 UTC */
    limits_block_message(&b, "alice", "", 1000.0, 0, msg, sizeof(msg));
    assert_non_null(strstr(msg, "too many denied approval requests for alice"));
    assert_non_null(strstr(msg, "until 00:15:00 UTC (in 15 min)"));
    b = (struct limits_block){LIMITS_TOO_MANY, LIMITS_SOURCE, 1030.0};
    limits_block_message(&b, "alice", "192.0.2.1", 1000.0, 0, msg, sizeof(msg));
    assert_non_null(strstr(msg, "from 192.0.2.1"));
    assert_non_null(strstr(msg, "until 00:00:30 UTC (in 30 s)"));
    b = (struct limits_block){LIMITS_PENDING_EXISTS, LIMITS_USER, 0};
    limits_block_message(&b, "alice", "", 1000.0, 0, msg, sizeof(msg));
    assert_non_null(strstr(msg, "already waiting"));
}

/* ---- the store ---- */

static char top[] = "/tmp/pam_ciba_test_limits.XXXXXX";
static char dir[300], sub[340];
static struct limits_store store;

static void rm_rf(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup_each(void **state)
{
    (void)state;
    rm_rf();
    return 0;
}

static result begin(const struct limits_conf *c, const char *user, const char *rhost, double now,
                    struct limits_ticket *t, struct limits_block *b)
{
    char why[256];
    return limits_begin(&store, c, user, rhost, now, 30, t, b, why, sizeof(why));
}

static void end(const struct limits_conf *c, struct limits_ticket *t, enum limits_end how, double now)
{
    char why[256];
    assert_int_equal(limits_end(&store, c, t, how, now, why, sizeof(why)), RES_OK);
}

/* The one counter file whose name starts with prefix ("u-" or "s-"). */
static void file_of(const char *prefix, char *out, size_t len)
{
    DIR *d = opendir(sub);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, 2) == 0 && strlen(de->d_name) == 66) {
            snprintf(out, len, "%.320s/%.70s", sub, de->d_name);
            n++;
        }
    closedir(d);
    assert_int_equal(n, 1);
}

static void test_store_flow(void **state)
{
    struct limits_ticket t, t2;
    struct limits_block b;
    struct stat st;
    char path[420];
    (void)state;

    assert_int_equal(begin(&conf, "alice", "192.0.2.1", 100, &t, &b), RES_OK);
    assert_true(t.active);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    file_of("u-", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(begin(&conf, "alice", "192.0.2.2", 101, &t2, &b), RES_PENDING_EXISTS);
    assert_false(t2.active);
    end(&conf, &t, LIMITS_END_FAILED, 102);
    assert_int_equal(begin(&conf, "alice", "192.0.2.1", 103, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_FAILED, 104);
    assert_int_equal(begin(&conf, "alice", "192.0.2.1", 105, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 106); /* approved: does not count */
    assert_int_equal(begin(&conf, "alice", "192.0.2.1", 107, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_FAILED, 108);
    assert_int_equal(begin(&conf, "alice", "192.0.2.1", 109, &t, &b), RES_RATE_LIMITED);
    assert_int_equal(b.kind, LIMITS_USER);
    assert_true(b.until > 109.9 && b.until < 110.1); /* the first failure leaves at 100 + 10 */
    assert_int_equal(begin(&conf, "alice", "192.0.2.1", 111, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 112);
}

static void test_store_source_limit(void **state)
{
    static const char *const users[] = {"u1", "u2", "u3", "u4"};
    struct limits_ticket t;
    struct limits_block b;
    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(begin(&conf, users[i], "2001:db8::1", 100, &t, &b), RES_OK);
        end(&conf, &t, LIMITS_END_FAILED, 100);
    }
    /* The same /64, another user: the source is full. */
    assert_int_equal(begin(&conf, users[3], "2001:db8::2", 100, &t, &b), RES_RATE_LIMITED);
    assert_int_equal(b.kind, LIMITS_SOURCE);
    /* Another source, or none, is fine. */
    assert_int_equal(begin(&conf, users[3], "2001:db8:0:1::2", 100, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 100);
    assert_int_equal(begin(&conf, users[3], NULL, 100, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 100);
}

static void test_store_lockout(void **state)
{
    struct limits_ticket t;
    struct limits_block b;
    char why[256];
    double until;
    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(begin(&conf, "alice", NULL, 100 + i, &t, &b), RES_OK);
        end(&conf, &t, LIMITS_END_DENIED, 100 + i);
    }
    assert_int_equal(limits_check(&store, &conf, "alice", 102, &until, why, sizeof(why)), RES_OK);
    /* A wrong break-glass code (or anything else counted as a denial) completes the streak. */
    assert_int_equal(limits_note_failure(&store, &conf, "alice", 102, why, sizeof(why)), RES_OK);
    assert_int_equal(limits_check(&store, &conf, "alice", 103, &until, why, sizeof(why)), RES_LOCKED_OUT);
    assert_true(until > 161.9 && until < 162.1);
    assert_int_equal(begin(&conf, "alice", NULL, 103, &t, &b), RES_LOCKED_OUT);
    assert_true(b.until > 161.9 && b.until < 162.1);
    assert_int_equal(begin(&conf, "bob", NULL, 103, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 103);
    assert_int_equal(begin(&conf, "alice", NULL, 162.5, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 163);
    /* Root clears a lockout. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(limits_note_failure(&store, &conf, "alice", 200, why, sizeof(why)), RES_OK);
    assert_int_equal(begin(&conf, "alice", NULL, 201, &t, &b), RES_LOCKED_OUT);
    assert_int_equal(limits_clear(&store, LIMITS_USER, "alice", why, sizeof(why)), RES_OK);
    assert_int_equal(begin(&conf, "alice", NULL, 201, &t, &b), RES_OK);
}

static void test_store_refuses_tampering(void **state)
{
    struct limits_ticket t;
    struct limits_block b;
    char path[420], bob[420], why[256], text[LIMITS_RECORD_MAX];
    FILE *f;
    size_t n;
    (void)state;

    assert_int_equal(begin(&conf, "alice", NULL, 100, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_DENIED, 100);
    file_of("u-", path, sizeof(path));
    /* Tampered: the streak rewritten, MAC kept. */
    f = fopen(path, "r");
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    char *p = strstr(text, "streak 1");
    assert_non_null(p);
    p[7] = '0';
    f = fopen(path, "w");
    fwrite(text, 1, n, f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(begin(&conf, "alice", NULL, 101, &t, &b), RES_CONFIG);
    assert_false(t.active);
    assert_int_equal(access(path, F_OK), 0); /* kept: it goes on failing logins */
    assert_int_equal(limits_check(&store, &conf, "alice", 101, NULL, why, sizeof(why)), RES_CONFIG);
    assert_int_equal(limits_clear(&store, LIMITS_USER, "alice", why, sizeof(why)), RES_OK);
    assert_int_equal(begin(&conf, "alice", NULL, 102, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_FAILED, 102);

    /* Another owner, or a mode others can read. */
    assert_int_equal(chown(path, 1234, 1234), 0);
    assert_int_equal(begin(&conf, "alice", NULL, 103, &t, &b), RES_CONFIG);
    assert_int_equal(chown(path, geteuid(), getegid()), 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(begin(&conf, "alice", NULL, 103, &t, &b), RES_CONFIG);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(begin(&conf, "alice", NULL, 103, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 103);

    /* Authentic, but bob's counters put under alice's name. */
    assert_int_equal(limits_clear(&store, LIMITS_USER, "alice", why, sizeof(why)), RES_OK);
    assert_int_equal(begin(&conf, "bob", NULL, 104, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_FAILED, 104);
    file_of("u-", bob, sizeof(bob));
    assert_int_equal(begin(&conf, "alice", NULL, 105, &t, &b), RES_OK);
    end(&conf, &t, LIMITS_END_APPROVED, 105);
    {
        DIR *d = opendir(sub);
        struct dirent *de;
        while ((de = readdir(d)))
            if (strncmp(de->d_name, "u-", 2) == 0) {
                snprintf(path, sizeof(path), "%.320s/%.70s", sub, de->d_name);
                if (strcmp(path, bob) != 0)
                    break;
            }
        closedir(d);
    }
    assert_int_equal(rename(bob, path), 0);
    assert_int_equal(begin(&conf, "alice", NULL, 106, &t, &b), RES_CONFIG);

    /* An unsafe directory fails closed too. */
    assert_int_equal(limits_clear(&store, LIMITS_USER, "alice", why, sizeof(why)), RES_OK);
    assert_int_equal(chmod(sub, 0755), 0);
    assert_int_equal(begin(&conf, "alice", NULL, 107, &t, &b), RES_CONFIG);
}

/* A login whose process died (sshd kills it when the client hangs up) leaves no
 * pending request behind: the next login is not told "already waiting". */
static void test_store_dead_owner(void **state)
{
    struct limits_ticket t;
    struct limits_block b;
    int status;
    pid_t pid;
    (void)state;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct limits_ticket ct;
        struct limits_block cb;
        _exit(begin(&conf, "alice", NULL, 100, &ct, &cb) == RES_OK ? 0 : 1); /* never ends it */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(begin(&conf, "alice", NULL, 101, &t, &b), RES_OK);
    /* ... but its request still counts, as a failed one. */
    {
        struct limits_record *r = malloc(sizeof(*r));
        char why[256];
        size_t pending;
        assert_int_equal(limits_read(&store, &conf, LIMITS_USER, "alice", 101, r, why, sizeof(why)), RES_OK);
        assert_int_equal(limits_count(r, &pending), 2);
        assert_int_equal(pending, 1); /* this process's own, alive */
        free(r);
    }
    assert_int_equal(begin(&conf, "alice", NULL, 102, &t, &b), RES_PENDING_EXISTS);
}

/* 50 processes at once, each one request that fails: exactly max_requests get through. */
static void test_store_concurrent(void **state)
{
    const struct limits_conf c = {5, 600 * S, 0, 60 * S};
    int *ok = mmap(NULL, sizeof(int) * 64, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pids[50];
    int total = 0;
    (void)state;

    assert_true(ok != MAP_FAILED);
    /* The directory and key exist before the race, as on a running host (their creation
     * is race-safe too, but not what this counts). */
    {
        struct limits_ticket t;
        struct limits_block b;
        assert_int_equal(begin(&c, "warmup", NULL, 100, &t, &b), RES_OK);
        end(&c, &t, LIMITS_END_APPROVED, 100);
    }
    for (int i = 0; i < 50; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct limits_ticket t;
            struct limits_block b;
            char why[256], rhost[32];
            snprintf(rhost, sizeof(rhost), "198.51.100.%d", i % 10);
            result r = limits_begin(&store, &c, "alice", rhost, 100, 30, &t, &b, why, sizeof(why));
            if (r == RES_OK) {
                ok[i] = 1;
                r = limits_end(&store, &c, &t, LIMITS_END_FAILED, 100, why, sizeof(why));
            } else if (r == RES_PENDING_EXISTS || r == RES_RATE_LIMITED) {
                r = RES_OK;
            }
            _exit(r == RES_OK ? 0 : 1);
        }
    }
    for (int i = 0; i < 50; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        total += ok[i];
    }
    assert_true(total >= 1 && total <= 5);
    /* Whatever the interleaving, the counters hold every request that got through. */
    {
        struct limits_record *r = malloc(sizeof(*r));
        char why[256];
        assert_int_equal(limits_read(&store, &c, LIMITS_USER, "alice", 100, r, why, sizeof(why)), RES_OK);
        assert_int_equal((int)limits_count(r, NULL), total);
        free(r);
    }
    munmap(ok, sizeof(int) * 64);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(top))
        return -1;
    snprintf(dir, sizeof(dir), "%s/run", top);
    snprintf(sub, sizeof(sub), "%s/limits", dir);
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
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_approvals_never_count),
        cmocka_unit_test(test_one_pending),
        cmocka_unit_test(test_sources_have_no_pending_rule_or_lockout),
        cmocka_unit_test(test_streak_and_lockout),
        cmocka_unit_test(test_times_from_elsewhere),
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_end_of),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_source_key),
        cmocka_unit_test(test_message),
        cmocka_unit_test_setup(test_store_flow, setup_each),
        cmocka_unit_test_setup(test_store_source_limit, setup_each),
        cmocka_unit_test_setup(test_store_lockout, setup_each),
        cmocka_unit_test_setup(test_store_refuses_tampering, setup_each),
        cmocka_unit_test_setup(test_store_dead_owner, setup_each),
        cmocka_unit_test_setup(test_store_concurrent, setup_each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
