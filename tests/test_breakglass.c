/* Unit tests for pam_ciba/breakglass*.c: format, verify, consume once (also under a race), tamper, the prompt modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "breakglass.h"
#include "breakglass_login.h"

/* Cheap parameters: the tests are about logic, not cost. */
static const struct bg_kdf fast = {10, 1, 1};
static char top[] = "/tmp/pam_ciba_test_bg.XXXXXX";
static char dir[300];
static struct bg_store store;

static void path_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
}

struct issue_ctx {
    const char *user;
    int n;
    char codes[BREAKGLASS_MAX_CODES][BREAKGLASS_CODE_LEN + 1];
};

static result do_issue(void *vctx, struct bg_record *rec, int have, char *why, size_t whylen)
{
    struct issue_ctx *c = vctx;
    (void)have, (void)why, (void)whylen;
    return bg_issue(rec, c->user, &fast, c->n, 1700000000, c->codes);
}

static void issue(struct issue_ctx *c, const char *user, int n)
{
    char why[256];
    c->user = user;
    c->n = n;
    assert_int_equal(bg_store_edit(&store, user, do_issue, c, why, sizeof(why)), RES_OK);
}

static result use(const char *user, const char *code, struct bg_use *u)
{
    char why[256];
    return bg_store_use(&store, user, code, 1700000100, u, why, sizeof(why));
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(top));
    snprintf(dir, sizeof(dir), "%s/bg", top);
    store = (struct bg_store){dir, geteuid()};
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- the record ---- */

static void test_format_round_trip(void **state)
{
    struct bg_record rec, again;
    char codes[3][BREAKGLASS_CODE_LEN + 1], text[4096], text2[4096];
    size_t n;
    (void)state;
    assert_int_equal(bg_issue(&rec, "alice", &fast, 3, 1700000000, codes), RES_OK);
    rec.slot[1].state = BG_USED;
    rec.slot[1].when = 1700000050;
    rec.slot[2].state = BG_REVOKED;
    rec.slot[2].when = 1700000060;
    n = bg_format(&rec, text, sizeof(text));
    assert_true(n > 0);
    assert_int_equal(bg_parse(text, n, &again), RES_OK);
    assert_int_equal(bg_format(&again, text2, sizeof(text2)), n);
    assert_memory_equal(text, text2, n);
    assert_string_equal(again.user, "alice");
    assert_int_equal(again.n, 3);
    assert_int_equal(bg_live_count(&again), 1);
    assert_true(strstr(text, "kdf scrypt 10 1 1\n") != NULL);
    /* No code in the file, in any spelling. */
    for (int i = 0; i < 3; i++)
        assert_null(strstr(text, codes[i]));
}

static void test_parse_refuses(void **state)
{
    static const char *const bad[] = {
        "",
        "pam_ciba breakglass v2\n",
        /* missing slot */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n",
        /* upper-case hex: not canonical */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899AABBCCDDEEFF\nissued 1\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\n",
        /* leading zero */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 01\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\n",
        /* N = 2^30: a login would take seconds and gigabytes */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 30 8 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\n",
        /* 2^20 * r 8 = 1 GiB */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 20 8 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\n",
        /* user length wrong */
        "pam_ciba breakglass v1\nuser 6:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\n",
        /* user with a slash */
        "pam_ciba breakglass v1\nuser 4:../x\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\n",
        /* short hash */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "live 00000000000000000000000000000000000000000000000000000000000000\n",
        /* trailing bytes */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "live 0000000000000000000000000000000000000000000000000000000000000000\nx",
        /* used without a time */
        "pam_ciba breakglass v1\nuser 5:alice\nkdf scrypt 10 1 1\nsalt 00112233445566778899aabbccddeeff\nissued 1\n"
        "used 0000000000000000000000000000000000000000000000000000000000000000\n",
    };
    struct bg_record rec;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bg_parse(bad[i], strlen(bad[i]), &rec) != RES_INVALID_TOKEN)
            fail_msg("accepted bad record %zu", i);
    }
}

static void test_normalise(void **state)
{
    char out[BREAKGLASS_CODE_LEN + 1], shown[BREAKGLASS_SHOWN_LEN + 1];
    (void)state;
    assert_true(bg_normalise("7KQ2M-XD4RB", out));
    assert_string_equal(out, "7KQ2MXD4RB");
    assert_true(bg_normalise(" 7kq2m xd4rb ", out));
    assert_string_equal(out, "7KQ2MXD4RB");
    assert_true(bg_normalise("OIL00-ABCDE", out)); /* look-alikes read as digits */
    assert_string_equal(out, "01100ABCDE");
    bg_display(out, shown);
    assert_string_equal(shown, "01100-ABCDE");
    assert_false(bg_normalise("7KQ2M-XD4R", out));    /* 9 symbols */
    assert_false(bg_normalise("7KQ2M-XD4RBB", out));  /* 11 */
    assert_false(bg_normalise("UKQ2M-XD4RB", out));   /* U is not in the alphabet */
    assert_false(bg_normalise("7KQ2M+XD4RB", out));
    assert_false(bg_normalise("", out));
    assert_false(bg_normalise(NULL, out));
}

static void test_derive_and_match(void **state)
{
    struct bg_record rec;
    char codes[5][BREAKGLASS_CODE_LEN + 1];
    unsigned char h[BREAKGLASS_HASH_LEN];
    (void)state;
    assert_int_equal(bg_issue(&rec, "alice", &fast, 5, 1, codes), RES_OK);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(bg_derive(&rec.kdf, rec.salt, "alice", codes[i], h), RES_OK);
        assert_int_equal(bg_match(&rec, h), i);
        /* The same code for another user is another hash. */
        assert_int_equal(bg_derive(&rec.kdf, rec.salt, "bob", codes[i], h), RES_OK);
        assert_int_equal(bg_match(&rec, h), -1);
    }
    assert_int_equal(bg_derive(&rec.kdf, rec.salt, "alice", "0000000000", h), RES_OK);
    assert_int_equal(bg_match(&rec, h), -1);
}

static void test_kdf_limits(void **state)
{
    (void)state;
    assert_true(bg_kdf_ok(&(struct bg_kdf){14, 8, 1}));
    assert_true(bg_kdf_ok(&(struct bg_kdf){16, 8, 1}));   /* 64 MiB */
    assert_false(bg_kdf_ok(&(struct bg_kdf){17, 8, 1}));  /* 128 MiB */
    assert_false(bg_kdf_ok(&(struct bg_kdf){9, 8, 1}));
    assert_false(bg_kdf_ok(&(struct bg_kdf){14, 0, 1}));
    assert_false(bg_kdf_ok(&(struct bg_kdf){14, 8, 0}));
    assert_false(bg_kdf_ok(&(struct bg_kdf){14, 8, 17}));
}

/* ---- the store ---- */

static void test_use_once(void **state)
{
    struct issue_ctx c;
    struct bg_use u;
    (void)state;
    issue(&c, "alice", 3);
    assert_int_equal(use("alice", c.codes[1], &u), RES_OK);
    assert_int_equal(u.slot, 2);
    assert_int_equal(u.remaining, 2);
    /* The same code again: refused, and recognised as used. */
    assert_int_equal(use("alice", c.codes[1], &u), RES_DENIED);
    assert_int_equal(u.slot, 2);
    assert_int_equal(u.state, BG_USED);
    assert_int_equal(u.when, 1700000100);
    assert_int_equal(u.remaining, 2);
    /* A wrong code and a malformed one. */
    assert_int_equal(use("alice", "00000-00000", &u), RES_DENIED);
    assert_int_equal(u.slot, 0);
    assert_int_equal(use("alice", "hello", &u), RES_DENIED);
    assert_int_equal(u.remaining, 2);
    /* Another user's code does not open this account; a user without codes gets none. */
    assert_int_equal(use("bob", c.codes[0], &u), RES_DENIED);
    /* Lower case with blanks works for the rest. */
    for (char *p = c.codes[0]; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    assert_int_equal(use("alice", c.codes[0], &u), RES_OK);
    assert_int_equal(use("alice", c.codes[2], &u), RES_OK);
    assert_int_equal(u.remaining, 0);
}

static void test_reissue_replaces(void **state)
{
    struct issue_ctx c1, c2;
    struct bg_use u;
    (void)state;
    issue(&c1, "carol", 2);
    issue(&c2, "carol", 2);
    assert_int_equal(use("carol", c1.codes[0], &u), RES_DENIED);
    assert_int_equal(use("carol", c2.codes[0], &u), RES_OK);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    char p[400];
    int fd;
    path_of(name, p, sizeof(p));
    unlink(p);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static void test_tampered_refused(void **state)
{
    struct issue_ctx c;
    struct bg_use u;
    struct bg_record rec;
    char p[400], text[4096];
    size_t n;
    int fd;
    ssize_t got;
    (void)state;
    issue(&c, "dave", 2);
    path_of("dave", p, sizeof(p));
    fd = open(p, O_RDONLY);
    got = read(fd, text, sizeof(text) - 1);
    close(fd);
    assert_true(got > 0);
    text[got] = '\0';
    n = (size_t)got;
    /* A flipped hash character: still a record, but the code no longer matches. */
    text[n - 2] = text[n - 2] == 'a' ? 'b' : 'a';
    write_file("dave", text, 0600);
    assert_int_equal(use("dave", c.codes[1], &u), RES_DENIED);
    /* An extra byte: malformed, refused for every code. */
    strcat(text, "x");
    write_file("dave", text, 0600);
    assert_int_equal(use("dave", c.codes[0], &u), RES_CONFIG);
    /* Readable by others: refused even though the content is good. */
    issue(&c, "dave", 2);
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(use("dave", c.codes[0], &u), RES_CONFIG);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(use("dave", c.codes[0], &u), RES_OK);
    /* Another user's file under this name. */
    issue(&c, "erin", 1);
    {
        char q[400];
        path_of("erin", q, sizeof(q));
        assert_int_equal(rename(q, p), 0);
    }
    assert_int_equal(use("dave", c.codes[0], &u), RES_CONFIG);
    /* A symbolic link. */
    unlink(p);
    assert_int_equal(symlink("/etc/hostname", p), 0);
    assert_int_equal(use("dave", c.codes[0], &u), RES_CONFIG);
    unlink(p);
    /* An open directory: others could swap the file. */
    issue(&c, "dave", 1);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(use("dave", c.codes[0], &u), RES_CONFIG);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(bg_store_read(&store, "dave", &rec, text, sizeof(text)), RES_OK);
    assert_int_equal(use("dave", c.codes[0], &u), RES_OK);
}

/* Two processes race with the same code, 20 rounds: exactly one wins each round. */
static void test_race(void **state)
{
    int *wins = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    (void)state;
    assert_true(wins != MAP_FAILED);
    for (int round = 0; round < 20; round++) {
        struct issue_ctx c;
        pid_t kids[2];
        int ok = 0;
        issue(&c, "race", 1);
        wins[0] = wins[1] = 0;
        for (int k = 0; k < 2; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                struct bg_use u;
                _exit(use("race", c.codes[0], &u) == RES_OK ? 0 : 1);
            }
        }
        for (int k = 0; k < 2; k++) {
            int st;
            assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
            assert_true(WIFEXITED(st));
            ok += WEXITSTATUS(st) == 0;
        }
        if (ok != 1)
            fail_msg("round %d: %d logins succeeded with one code", round, ok);
    }
    munmap(wins, 4096);
}

static void test_unsafe_user_names(void **state)
{
    struct bg_use u;
    (void)state;
    assert_false(bg_user_ok(".tmp.x"));
    assert_false(bg_user_ok("a/b"));
    assert_false(bg_user_ok(""));
    assert_false(bg_user_ok("a\nb"));
    assert_true(bg_user_ok("zo\xc3\xab"));
    assert_int_equal(use("../etc", "00000-00000", &u), RES_DENIED);
}

/* ---- the prompt modes, without a provider (no transport is ever reached) ---- */

struct ui_world {
    const char *answer; /* NULL: UI_NONE */
    int asked;
    char prompt[200];
    int wrong;
};
static struct ui_world uw;

static int ui_secret(void *ctx, const char *msg, char **answer)
{
    (void)ctx;
    uw.asked++;
    snprintf(uw.prompt, sizeof(uw.prompt), "%s", msg);
    if (!uw.answer) {
        *answer = NULL;
        return UI_NONE;
    }
    *answer = strdup(uw.answer);
    return UI_OK;
}

static void on_wrong(void *ctx, const char *user, const char *service, const char *rhost)
{
    (void)ctx, (void)service, (void)rhost;
    assert_string_equal(user, "frank");
    uw.wrong++;
}

static int logged_alert;
static void log_sink(void *ctx, int prio, const char *msg)
{
    (void)ctx;
    if (prio == 1 /* LOG_ALERT */ && strstr(msg, "remaining="))
        logged_alert++;
}

static result login_always(const char *answer)
{
    struct config cfg;
    struct approval_user u = {.user = "frank", .service = "sudo", .tty = "pts/1"};
    struct approval_ui ui = {NULL, NULL, ui_secret, NULL, NULL};
    struct logger lg = {log_sink, NULL, false};
    struct approval_env env = {NULL, NULL, &lg, geteuid(), false};
    struct breakglass_env bg = {geteuid(), on_wrong, NULL, NULL};
    struct approval_report rep;
    config_defaults(&cfg);
    cfg.breakglass = BREAKGLASS_ALWAYS;
    cfg.breakglass_dir = dir;
    memset(&uw, 0, sizeof(uw));
    uw.answer = answer;
    return breakglass_login(&cfg, &u, &ui, &env, &bg, &rep);
}

static void test_always_mode(void **state)
{
    struct issue_ctx c;
    (void)state;
    issue(&c, "frank", 2);
    logged_alert = 0;
    assert_int_equal(login_always(c.codes[0]), RES_BREAKGLASS);
    assert_int_equal(uw.asked, 1);
    assert_non_null(strstr(uw.prompt, "Break-glass code"));
    assert_int_equal(logged_alert, 1);
    assert_int_equal(uw.wrong, 0);
    assert_int_equal(login_always(c.codes[0]), RES_BREAKGLASS_WRONG);
    assert_int_equal(uw.wrong, 1);
    assert_int_equal(login_always("ZZZZZ-ZZZZZ"), RES_BREAKGLASS_WRONG);
    assert_int_equal(uw.wrong, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_derive_and_match),
        cmocka_unit_test(test_kdf_limits),
        cmocka_unit_test(test_use_once),
        cmocka_unit_test(test_reissue_replaces),
        cmocka_unit_test(test_tampered_refused),
        cmocka_unit_test(test_race),
        cmocka_unit_test(test_unsafe_user_names),
        cmocka_unit_test(test_always_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
