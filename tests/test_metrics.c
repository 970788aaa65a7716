/* Unit tests for pam_ciba/metrics.c: the canonical text, strict parsing, counting and its bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define BUCKET "pam_ciba_approval_seconds_bucket"

static const char empty_text[] =
    "# HELP pam_ciba_decisions_total Logins decided by pam_ciba, by outcome and PAM service.\n"
    "# TYPE pam_ciba_decisions_total counter\n"
    "# HELP pam_ciba_approval_seconds Seconds from the start of a login to its verified approval "
    "(fresh approvals; reused ones are not observed).\n"
    "# TYPE pam_ciba_approval_seconds histogram\n" BUCKET "{le=\"1\"} 0\n" BUCKET "{le=\"2\"} 0\n" BUCKET
    "{le=\"5\"} 0\n" BUCKET "{le=\"10\"} 0\n" BUCKET "{le=\"15\"} 0\n" BUCKET "{le=\"20\"} 0\n" BUCKET
    "{le=\"30\"} 0\n" BUCKET "{le=\"45\"} 0\n" BUCKET "{le=\"60\"} 0\n" BUCKET "{le=\"90\"} 0\n" BUCKET
    "{le=\"120\"} 0\n" BUCKET "{le=\"180\"} 0\n" BUCKET "{le=\"300\"} 0\n" BUCKET "{le=\"+Inf\"} 0\n"
    "pam_ciba_approval_seconds_sum 0.000\n"
    "pam_ciba_approval_seconds_count 0\n";

static struct metrics *new_metrics(void)
{
    struct metrics *m = malloc(sizeof(*m));
    assert_non_null(m);
    metrics_init(m);
    return m;
}

/* format, then parse back: the same counts, and formatting again gives the same bytes. */
static char *round_trip(const struct metrics *m)
{
    static char text[METRICS_MAX_FILE], again[METRICS_MAX_FILE];
    struct metrics *back = new_metrics();
    char why[200];
    size_t len, len2;

    assert_int_equal(metrics_format(m, text, sizeof(text), &len), RES_OK);
    assert_int_equal(strlen(text), len);
    if (metrics_parse(text, len, back, why, sizeof(why)) != RES_OK)
        fail_msg("own output does not parse: %s\n%s", why, text);
    assert_int_equal(metrics_format(back, again, sizeof(again), &len2), RES_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(text, again, len);
    assert_int_equal(back->n, m->n);
    assert_int_equal(back->count, m->count);
    assert_int_equal(back->sum_ms, m->sum_ms);
    free(back);
    return text;
}

static void test_empty(void **state)
{
    struct metrics *m = new_metrics();
    char out[4096], why[200];
    size_t len;
    (void)state;
    assert_int_equal(metrics_format(m, out, sizeof(out), &len), RES_OK);
    assert_string_equal(out, empty_text);
    assert_int_equal(metrics_parse(empty_text, strlen(empty_text), m, why, sizeof(why)), RES_OK);
    assert_int_equal(m->n, 0);
    free(m);
}

static void test_counts_sorted_and_histogram(void **state)
{
    struct metrics *m = new_metrics();
    const char *text;
    (void)state;
    assert_int_equal(metrics_add(m, "denied", "sudo", false, 0), RES_OK);
    assert_int_equal(metrics_add(m, "approved", "sudo", true, 1000), RES_OK);  /* le=1: bounds are inclusive */
    assert_int_equal(metrics_add(m, "approved", "sshd", true, 1001), RES_OK);  /* le=2 */
    assert_int_equal(metrics_add(m, "approved", "sudo", true, 301000), RES_OK); /* +Inf only */
    assert_int_equal(metrics_add(m, "approved", "sudo", false, 0), RES_OK);    /* reused: counted, not observed */
    assert_int_equal(m->n, 3);
    text = round_trip(m);
    assert_non_null(strstr(text, "counter\n"
                                 "pam_ciba_decisions_total{outcome=\"approved\",service=\"sshd\"} 1\n"
                                 "pam_ciba_decisions_total{outcome=\"approved\",service=\"sudo\"} 3\n"
                                 "pam_ciba_decisions_total{outcome=\"denied\",service=\"sudo\"} 1\n# HELP"));
    assert_non_null(strstr(text, BUCKET "{le=\"1\"} 1\n" BUCKET "{le=\"2\"} 2\n" BUCKET "{le=\"5\"} 2\n"));
    assert_non_null(strstr(text, BUCKET "{le=\"300\"} 2\n" BUCKET "{le=\"+Inf\"} 3\n"
                                 "pam_ciba_approval_seconds_sum 303.001\n"
                                 "pam_ciba_approval_seconds_count 3\n"));
    free(m);
}

static void test_labels_cleaned(void **state)
{
    char out[METRICS_LABEL_MAX + 10], big[300];
    struct metrics *m = new_metrics();
    (void)state;
    metrics_label("sudo-i", out, sizeof(out));
    assert_string_equal(out, "sudo-i");
    metrics_label("a b\"c\n}\\", out, sizeof(out));
    assert_string_equal(out, "a_b_c___");
    metrics_label("", out, sizeof(out));
    assert_string_equal(out, "unknown");
    metrics_label(NULL, out, sizeof(out));
    assert_string_equal(out, "unknown");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    metrics_label(big, out, sizeof(out));
    assert_int_equal(strlen(out), METRICS_LABEL_MAX - 1);
    /* A hostile service name cannot break out of its label or add a line. */
    assert_int_equal(metrics_add(m, "approved", "x\"} 999\npam_ciba_decisions_total{outcome=\"approved", false, 0),
                     RES_OK);
    assert_null(strstr(round_trip(m), "} 999"));
    free(m);
}

static void test_services_capped(void **state)
{
    struct metrics *m = new_metrics();
    char svc[32];
    size_t other = 0;
    (void)state;
    for (int i = 0; i < METRICS_MAX_SERVICES + 8; i++) {
        snprintf(svc, sizeof(svc), "svc%02d", i);
        assert_int_equal(metrics_add(m, "approved", svc, false, 0), RES_OK);
    }
    /* A service already known is still counted under its own name. */
    assert_int_equal(metrics_add(m, "denied", "svc00", false, 0), RES_OK);
    assert_int_equal(m->n, METRICS_MAX_SERVICES + 2);
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->series[i].service, METRICS_OTHER_SERVICE) == 0)
            other = m->series[i].count;
    assert_int_equal(other, 8);
    round_trip(m);
    free(m);
}

static void test_limits(void **state)
{
    struct metrics *m = new_metrics();
    char outcome[32];
    (void)state;
    assert_int_equal(metrics_add(m, "approved", "sudo", false, 0), RES_OK);
    m->series[0].count = METRICS_MAX_VALUE;
    assert_int_equal(metrics_add(m, "approved", "sudo", false, 0), RES_INTERNAL);
    assert_int_equal(m->series[0].count, METRICS_MAX_VALUE);
    round_trip(m); /* 15 digits still parse */
    m->sum_ms = METRICS_MAX_VALUE - 5;
    assert_int_equal(metrics_add(m, "approved", "ssh", true, 6), RES_INTERNAL);
    assert_int_equal(m->n, 1); /* nothing changed */
    assert_int_equal(metrics_add(m, "approved", "ssh", true, 5), RES_OK);
    m->bucket[0] = 1; /* keep the histogram consistent for the round trip */
    m->count = 1;
    m->bucket[METRICS_NBUCKETS] = 0;
    round_trip(m);
    metrics_init(m);
    for (int i = 0; i < METRICS_MAX_SERIES; i++) {
        snprintf(outcome, sizeof(outcome), "o%04d", i);
        assert_int_equal(metrics_add(m, outcome, "sudo", false, 0), RES_OK);
    }
    assert_int_equal(metrics_add(m, "more", "sudo", false, 0), RES_INTERNAL);
    assert_int_equal(metrics_add(m, "o0000", "sudo", false, 0), RES_OK);
    round_trip(m);
    free(m);
}

/* Replace the first occurrence of from with to in the canonical text of m; expect parse to refuse. */
static void refused(const char *base, const char *from, const char *to)
{
    char text[8192], why[200];
    const char *at = strstr(base, from);
    struct metrics *m = new_metrics();
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
    if (metrics_parse(text, strlen(text), m, why, sizeof(why)) != RES_PROTOCOL)
        fail_msg("accepted %s -> %s", from, to);
    assert_true(why[0] != '\0');
    assert_int_equal(m->n, 0); /* nothing half-parsed */
    free(m);
}

static void test_parse_is_strict(void **state)
{
    struct metrics *m = new_metrics();
    char base[8192], why[200];
    (void)state;
    assert_int_equal(metrics_add(m, "approved", "sudo", true, 2500), RES_OK);
    assert_int_equal(metrics_add(m, "denied", "sudo", false, 0), RES_OK);
    snprintf(base, sizeof(base), "%s", round_trip(m));
    refused(base, "sudo\"} 1\n", "sudo\"} 01\n");                 /* leading zero */
    refused(base, "sudo\"} 1\n", "sudo\"} 1234567890123456\n");   /* 16 digits */
    refused(base, "sudo\"} 1\n", "sudo\"} -1\n");
    refused(base, "sudo\"} 1\n", "sudo\"} 1.0\n");
    refused(base, "sudo\"} 1\n", "sudo\"} 1\r\n");
    refused(base, "sudo\"} 1\n", "sudo\"}  1\n");
    refused(base, "sudo\"} 1\n", "sudo\"} 1 1700000000\n");       /* a timestamp */
    refused(base, "service=\"sudo\"", "service=\"su do\"");
    refused(base, "service=\"sudo\"", "service=\"\"");
    refused(base, "service=\"sudo\"", "service=\"su\\\"do\"");
    refused(base, "outcome=\"denied\"", "outcome=\"approved\"");   /* repeated series */
    refused(base, "outcome=\"approved\"", "outcome=\"zzz\"");      /* out of order */
    refused(base, "{outcome=\"approved\",service", "{service=\"x\",outcome");
    refused(base, "le=\"2\"} 0", "le=\"2\"} 2");                  /* decreasing buckets */
    refused(base, "le=\"5\"} 1", "le=\"5\"} 2");                  /* +Inf differs from _count */
    refused(base, "le=\"5\"", "le=\"5.0\"");
    refused(base, "_count 1\n", "_count 2\n");
    refused(base, "_count 1\n", "_count 1");                      /* no final newline */
    refused(base, "_count 1\n", "_count 1\n\n");
    refused(base, "_count 1\n", "_count 1\n# EOF\n");
    refused(base, "_sum 2.500\n", "_sum 2.5\n");
    refused(base, "_sum 2.500\n", "_sum 2.5000\n");
    refused(base, "_sum 2.500\n", "_sum 2\n");
    refused(base, "# TYPE pam_ciba_decisions_total counter\n", "");
    refused(base, "# HELP pam_ciba_approval", "# HELP  pam_ciba_approval");
    refused(base, "le=\"1\"", "le=\"0.5\"");
    /* A NUL inside a label (strchr finds the terminator: found by fuzz_metrics). */
    {
        char nul[8192];
        const char *at = strstr(base, "sudo");
        size_t len = strlen(base);
        memcpy(nul, base, len);
        nul[at - base + 2] = '\0';
        assert_int_equal(metrics_parse(nul, len, m, why, sizeof(why)), RES_PROTOCOL);
    }
    /* Empty, NUL inside, truncated anywhere. */
    assert_int_equal(metrics_parse("", 0, m, why, sizeof(why)), RES_PROTOCOL);
    base[40] = '\0';
    assert_int_equal(metrics_parse(base, 200, m, why, sizeof(why)), RES_PROTOCOL);
    snprintf(base, sizeof(base), "%s", round_trip(m));
    for (size_t cut = 0; cut < strlen(base); cut++)
        assert_int_equal(metrics_parse(base, cut, m, why, sizeof(why)), RES_PROTOCOL);
    free(m);
}

static void test_format_too_small(void **state)
{
    struct metrics *m = new_metrics();
    char out[100];
    (void)state;
    assert_int_equal(metrics_format(m, out, sizeof(out), NULL), RES_INTERNAL);
    assert_string_equal(out, "");
    free(m);
}

static void test_delta(void **state)
{
    struct metrics_delta d, back;
    char line[METRICS_DELTA_MAX];
    size_t n;
    (void)state;
    metrics_delta_make("approved", "su do\n", true, 4200, &d);
    n = metrics_delta_format(&d, line, sizeof(line));
    assert_string_equal(line, "approved su_do_ 1 4200\n");
    assert_int_equal(n, strlen(line));
    assert_int_equal(metrics_delta_parse(line, n, &back), RES_OK);
    assert_memory_equal(&d, &back, sizeof(d));
    metrics_delta_make("denied", "", false, 99, &d); /* not observed: no time */
    n = metrics_delta_format(&d, line, sizeof(line));
    assert_string_equal(line, "denied unknown 0 0\n");
    {
        static const char *const bad[] = {"", "\n", "approved sudo 1 4200", "approved sudo 1 4200\n\n",
                                          "approved  sudo 1 4200\n", "approved sudo 2 4200\n",
                                          "approved sudo 0 5\n", "approved sudo 1 04200\n",
                                          "approved sudo 1 1234567890123456\n", "appr\"oved sudo 1 1\n",
                                          "approved sudo 1 -1\n", "approved sudo\n", " sudo 1 1\n"};
        static const char nul[] = "\0ad\0approved sudo 1 4200\n";
        assert_int_equal(metrics_delta_parse(nul, sizeof(nul) - 1, &back), RES_PROTOCOL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (metrics_delta_parse(bad[i], strlen(bad[i]), &back) != RES_PROTOCOL)
                fail_msg("accepted delta %zu: %s", i, bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_counts_sorted_and_histogram),
        cmocka_unit_test(test_labels_cleaned),
        cmocka_unit_test(test_services_capped),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_parse_is_strict),
        cmocka_unit_test(test_format_too_small),
        cmocka_unit_test(test_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
