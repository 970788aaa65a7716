/* Unit tests for pam_ciba/decision_log.c: the line, the journal fields, and where a decision goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "approval.h"
#include "decision_log.h"

static const struct decision denied = {
    .outcome = "denied",
    .pam_result = "PAM_AUTH_ERR",
    .pam_text = "Authentication failure",
    .user = "alice",
    .service = "sudo",
    .rhost = "192.0.2.7",
    .tty = "/dev/pts/3",
    .subject = "auth0|alice",
    .provider = "https://idp.example/",
    .reason = "access_denied: the user said no",
    .request = "ba7816bf8f01cfea",
    .approver = NULL,
    .ident = "sudo",
    .note = "",
    .success = false,
    .duration_ms = 12345,
};

/* The value of KEY in the list, or NULL; fails on a key given twice. */
static const char *field(const struct decision_fields *f, const char *key)
{
    const char *found = NULL;
    size_t k = strlen(key);
    for (size_t i = 0; i < f->n; i++) {
        if (strncmp(f->field[i], key, k) == 0 && f->field[i][k] == '=') {
            if (found)
                fail_msg("field %s twice", key);
            found = f->field[i] + k + 1;
        }
    }
    return found;
}

static void no_newlines(const struct decision_fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        assert_int_equal(strlen(f->field[i]), f->len[i]);
        for (const char *p = f->field[i]; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                fail_msg("field %zu has byte 0x%02x: %s", i, (unsigned char)*p, f->field[i]);
    }
}

static void test_line_keeps_its_format(void **state)
{
    char line[1536];
    regex_t re;
    (void)state;
    decision_line(&denied, line, sizeof(line));
    assert_string_equal(line, "decision user=alice service=sudo rhost=192.0.2.7 outcome=denied "
                              "pam=Authentication failure reason=\"access_denied: the user said no\" duration=12.345s");
    /* What the fault matrix and the soak parse. */
    assert_int_equal(regcomp(&re, "decision user=(.*) service=[^ ]* rhost=[^ ]* outcome=([^ ]+) pam=.* "
                                  "reason=\"(.*)\" duration=[0-9.]+s$", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
    regfree(&re);
}

static void test_fields_of_a_decision(void **state)
{
    struct decision_fields *f = malloc(sizeof(*f));
    (void)state;
    assert_non_null(f);
    decision_fields_build(&denied, f);
    assert_string_equal(field(f, "MESSAGE"),
                        "pam_ciba(sudo:auth): decision user=alice service=sudo rhost=192.0.2.7 outcome=denied "
                        "pam=Authentication failure reason=\"access_denied: the user said no\" duration=12.345s");
    assert_string_equal(field(f, "PRIORITY"), "4");
    assert_string_equal(field(f, "SYSLOG_FACILITY"), "10");
    assert_string_equal(field(f, "SYSLOG_IDENTIFIER"), "sudo");
    assert_string_equal(field(f, "MESSAGE_ID"), DECISION_MESSAGE_ID);
    assert_int_equal(strlen(DECISION_MESSAGE_ID), 32);
    assert_string_equal(field(f, "PAM_CIBA_OUTCOME"), "denied");
    assert_string_equal(field(f, "PAM_CIBA_PAM_RESULT"), "PAM_AUTH_ERR");
    assert_string_equal(field(f, "PAM_CIBA_USER"), "alice");
    assert_string_equal(field(f, "PAM_CIBA_SERVICE"), "sudo");
    assert_string_equal(field(f, "PAM_CIBA_RHOST"), "192.0.2.7");
    assert_string_equal(field(f, "PAM_CIBA_TTY"), "/dev/pts/3");
    assert_string_equal(field(f, "PAM_CIBA_SUBJECT"), "auth0|alice");
    assert_string_equal(field(f, "PAM_CIBA_PROVIDER"), "https://idp.example/");
    assert_string_equal(field(f, "PAM_CIBA_DURATION_MS"), "12345");
    assert_string_equal(field(f, "PAM_CIBA_REASON"), "access_denied: the user said no");
    assert_string_equal(field(f, "PAM_CIBA_REQUEST"), "ba7816bf8f01cfea");
    assert_null(field(f, "PAM_CIBA_APPROVER"));
    assert_int_equal(f->n, 16);
    no_newlines(f);
    free(f);
}

static void test_approved_is_notice_and_names_the_approver(void **state)
{
    struct decision d = denied;
    struct decision_fields *f = malloc(sizeof(*f));
    (void)state;
    d.outcome = "approved";
    d.success = true;
    d.approver = "bob";
    decision_fields_build(&d, f);
    assert_string_equal(field(f, "PRIORITY"), "5");
    assert_string_equal(field(f, "PAM_CIBA_APPROVER"), "bob");
    free(f);
}

/* Unknown facts are left out, not sent empty: journalctl PAM_CIBA_RHOST= finds nothing odd. */
static void test_unknown_fields_left_out(void **state)
{
    struct decision d = {.outcome = "config", .pam_result = "PAM_SERVICE_ERR", .pam_text = "x",
                         .reason = "", .rhost = "", .subject = "", .request = "", .approver = ""};
    struct decision_fields *f = malloc(sizeof(*f));
    (void)state;
    decision_fields_build(&d, f);
    assert_string_equal(field(f, "PAM_CIBA_OUTCOME"), "config");
    assert_null(field(f, "PAM_CIBA_USER"));
    assert_null(field(f, "PAM_CIBA_RHOST"));
    assert_null(field(f, "PAM_CIBA_TTY"));
    assert_null(field(f, "PAM_CIBA_SUBJECT"));
    assert_null(field(f, "PAM_CIBA_REQUEST"));
    assert_null(field(f, "PAM_CIBA_REASON"));
    assert_null(field(f, "SYSLOG_IDENTIFIER"));
    assert_string_equal(field(f, "PAM_CIBA_DURATION_MS"), "0");
    assert_non_null(strstr(field(f, "MESSAGE"), "pam_ciba(?:auth): decision user=? service=? rhost= outcome=config"));
    free(f);
}

/* A newline in any value would start a new field in the journal's native protocol, or a
 * forged line in a text log: every value is escaped. */
static void test_hostile_values_escaped_and_cut(void **state)
{
    char big[4000];
    struct decision d = denied;
    struct decision_fields *f = malloc(sizeof(*f));
    (void)state;
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    d.user = "eve\nPAM_CIBA_OUTCOME=approved";
    d.rhost = "h\r\x1b[2J\xc3\xa9";
    d.tty = big;
    d.reason = "why\n\"quoted\"\\";
    d.service = "su\ndo";
    d.ident = "x\ny";
    decision_fields_build(&d, f);
    no_newlines(f);
    assert_string_equal(field(f, "PAM_CIBA_OUTCOME"), "denied");
    assert_string_equal(field(f, "PAM_CIBA_USER"), "eve\\x0aPAM_CIBA_OUTCOME=approved");
    assert_string_equal(field(f, "PAM_CIBA_RHOST"), "h\\x0d\\x1b[2J\\xc3\\xa9");
    assert_string_equal(field(f, "PAM_CIBA_REASON"), "why\\x0a\"quoted\"\\x5c");
    assert_string_equal(field(f, "SYSLOG_IDENTIFIER"), "x\\x0ay");
    assert_int_equal(strlen(field(f, "PAM_CIBA_TTY")), DECISION_VALUE_MAX);
    assert_non_null(strstr(field(f, "MESSAGE"), "pam_ciba(su\\x0ado:auth): decision user=eve\\x0aPAM_CIBA"));
    free(f);
}

/* Every value at its longest still fits: no field is lost for want of room. */
static void test_all_fields_at_their_longest(void **state)
{
    char big[2000];
    struct decision d;
    struct decision_fields *f = malloc(sizeof(*f));
    (void)state;
    memset(big, '\x01', sizeof(big) - 1); /* escaped: four bytes each */
    big[sizeof(big) - 1] = '\0';
    d = (struct decision){big, big, big, big, big, big, big, big, big, big, big, big, big, big, true, false, 999999};
    decision_fields_build(&d, f);
    assert_int_equal(f->n, 17);
    no_newlines(f);
    free(f);
}

struct sink_log {
    int journal_calls, syslog_calls, journal_rc, prio;
    char line[1600];
    size_t n;
    char first[1600];
};

static int fake_journal(void *ctx, const char *const *fields, const size_t *lens, size_t n)
{
    struct sink_log *s = ctx;
    s->journal_calls++;
    s->n = n;
    snprintf(s->first, sizeof(s->first), "%.*s", (int)lens[0], fields[0]);
    return s->journal_rc;
}

static void fake_syslog(void *ctx, int prio, const char *line)
{
    struct sink_log *s = ctx;
    s->syslog_calls++;
    s->prio = prio;
    snprintf(s->line, sizeof(s->line), "%s", line);
}

static bool elsewhere_yes(void)
{
    return true;
}

static bool elsewhere_no(void)
{
    return false;
}

static void test_journal_reachable_means_one_entry(void **state)
{
    struct sink_log s = {0};
    struct decision_sinks sinks = {fake_journal, &s, fake_syslog, &s, elsewhere_no, NULL};
    (void)state;
    assert_int_equal(decision_log(&denied, &sinks), DECISION_TO_JOURNAL);
    assert_int_equal(s.journal_calls, 1);
    assert_int_equal(s.syslog_calls, 0);
    assert_int_equal(s.n, 16);
    assert_true(strncmp(s.first, "MESSAGE=pam_ciba(sudo:auth): decision user=alice", 48) == 0);
}

static void test_no_journal_means_the_syslog_line(void **state)
{
    struct sink_log s = {.journal_rc = -ENOENT};
    struct decision_sinks sinks = {fake_journal, &s, fake_syslog, &s, elsewhere_no, NULL};
    struct decision_sinks none = {NULL, NULL, fake_syslog, &s, elsewhere_no, NULL};
    (void)state;
    assert_int_equal(decision_log(&denied, &sinks), DECISION_TO_SYSLOG);
    assert_int_equal(s.journal_calls, 1);
    assert_int_equal(s.syslog_calls, 1);
    assert_int_equal(s.prio, LOG_WARNING);
    assert_true(strncmp(s.line, "decision user=alice service=sudo", 32) == 0);
    assert_int_equal(decision_log(&denied, &none), DECISION_TO_SYSLOG);
    assert_int_equal(s.syslog_calls, 2);
}

static bool journal_down(void)
{
    return false;
}

/* A journal that is not there is not even tried. */
static void test_journal_down_not_tried(void **state)
{
    struct sink_log s = {0};
    struct decision_sinks sinks = {fake_journal, &s, fake_syslog, &s, elsewhere_no, journal_down};
    (void)state;
    assert_int_equal(decision_log(&denied, &sinks), DECISION_TO_SYSLOG);
    assert_int_equal(s.journal_calls, 0);
    assert_int_equal(s.syslog_calls, 1);
}

/* A syslog daemon that owns /dev/log does not see the journal: it gets the line as well. */
static void test_syslog_elsewhere_gets_the_line_too(void **state)
{
    struct sink_log s = {0};
    struct decision_sinks sinks = {fake_journal, &s, fake_syslog, &s, elsewhere_yes, NULL};
    struct decision ok = denied;
    (void)state;
    ok.success = true;
    assert_int_equal(decision_log(&ok, &sinks), DECISION_TO_JOURNAL | DECISION_TO_SYSLOG);
    assert_int_equal(s.prio, LOG_NOTICE);
}

static void test_request_hash(void **state)
{
    char h[APPROVAL_REQUEST_HASH_LEN + 1];
    (void)state;
    /* SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223... */
    approval_request_hash("abc", h);
    assert_string_equal(h, "ba7816bf8f01cfea");
    approval_request_hash("", h);
    assert_string_equal(h, "");
    approval_request_hash(NULL, h);
    assert_string_equal(h, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_keeps_its_format),
        cmocka_unit_test(test_fields_of_a_decision),
        cmocka_unit_test(test_approved_is_notice_and_names_the_approver),
        cmocka_unit_test(test_unknown_fields_left_out),
        cmocka_unit_test(test_hostile_values_escaped_and_cut),
        cmocka_unit_test(test_all_fields_at_their_longest),
        cmocka_unit_test(test_journal_reachable_means_one_entry),
        cmocka_unit_test(test_no_journal_means_the_syslog_line),
        cmocka_unit_test(test_syslog_elsewhere_gets_the_line_too),
        cmocka_unit_test(test_journal_down_not_tried),
        cmocka_unit_test(test_request_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
