/* Unit tests for pam_ciba/http.c: which failures are an outage, and the login's deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_classification_table(void **state)
{
    static const struct {
        int code;
        long err;
        enum http_failure want;
    } table[] = {
        /* the provider cannot be reached: an outage */
        {CURLE_COULDNT_CONNECT, ECONNREFUSED, HTTP_FAIL_NETWORK},
        {CURLE_COULDNT_CONNECT, ETIMEDOUT, HTTP_FAIL_NETWORK},
        {CURLE_COULDNT_CONNECT, EHOSTUNREACH, HTTP_FAIL_NETWORK},
        {CURLE_COULDNT_CONNECT, ENETUNREACH, HTTP_FAIL_NETWORK},
        {CURLE_COULDNT_RESOLVE_HOST, 0, HTTP_FAIL_NETWORK},
        {CURLE_OPERATION_TIMEDOUT, 0, HTTP_FAIL_NETWORK},
        {CURLE_OPERATION_TIMEDOUT, EINPROGRESS, HTTP_FAIL_NETWORK},
        {CURLE_SSL_CONNECT_ERROR, 0, HTTP_FAIL_NETWORK},
        {CURLE_RECV_ERROR, ECONNRESET, HTTP_FAIL_NETWORK},
        {CURLE_GOT_NOTHING, 0, HTTP_FAIL_NETWORK},
        /* this process or machine: never an outage */
        {CURLE_COULDNT_CONNECT, EMFILE, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, ENFILE, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, ENOMEM, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, ENOBUFS, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, EACCES, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, EPERM, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, EADDRNOTAVAIL, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_CONNECT, 0, HTTP_FAIL_LOCAL},
        {CURLE_COULDNT_RESOLVE_HOST, EMFILE, HTTP_FAIL_LOCAL},
        {CURLE_OPERATION_TIMEDOUT, EMFILE, HTTP_FAIL_LOCAL},
        {CURLE_SSL_CONNECT_ERROR, ENFILE, HTTP_FAIL_LOCAL},
        {CURLE_OUT_OF_MEMORY, 0, HTTP_FAIL_LOCAL},
        {CURLE_SSL_CACERT_BADFILE, 0, HTTP_FAIL_LOCAL},
        {CURLE_SSL_CERTPROBLEM, 0, HTTP_FAIL_LOCAL},
        {CURLE_FAILED_INIT, 0, HTTP_FAIL_LOCAL},
        {CURLE_READ_ERROR, 0, HTTP_FAIL_LOCAL},
        {9999, 0, HTTP_FAIL_LOCAL},
        /* trust: fail closed */
        {CURLE_PEER_FAILED_VERIFICATION, 0, HTTP_FAIL_TRUST},
        {CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, HTTP_FAIL_TRUST},
        /* the server said something unusable */
        {CURLE_WEIRD_SERVER_REPLY, 0, HTTP_FAIL_PEER},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (http_classify_failure(table[i].code, table[i].err) != table[i].want)
            fail_msg("row %zu: curl %d errno %ld classified %d, want %d", i, table[i].code, table[i].err,
                     http_classify_failure(table[i].code, table[i].err), table[i].want);
}

/* A TCP port on 127.0.0.1 that refuses connections (bound, not listening) or one that
 * accepts them into its backlog and never answers (listening). */
static int port_socket(bool listening, char *url, size_t len)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    if (listening)
        assert_int_equal(listen(s, 8), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, len, "https://127.0.0.1:%d/x", ntohs(a.sin_port));
    return s;
}

static result get(struct http_client *c, const char *url, char *err, size_t errlen)
{
    struct transport t = http_client_transport(c);
    struct http_response resp;
    result r = t.get(t.ctx, url, &resp, err, errlen);
    http_response_clear(&resp);
    return r;
}

static void test_refused_is_network_emfile_is_local(void **state)
{
    struct http_options o = {.connect_timeout = 5, .request_timeout = 5};
    struct http_client *c = http_client_new(&o);
    struct rlimit saved, low;
    char url[64], err[256] = "";
    int s = port_socket(false, url, sizeof(url)), fill[64], n = 0;
    (void)state;

    assert_non_null(c);
    assert_int_equal(get(c, url, err, sizeof(err)), RES_UNAVAILABLE);
    /* Every descriptor below a lowered limit taken: socket() fails with EMFILE, which
     * libcurl reports as "couldn't connect", like a refused connection. */
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    while (n < 64 && (fill[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    assert_true(n < 64);
    assert_int_equal(get(c, url, err, sizeof(err)), RES_INTERNAL);
    while (n > 0)
        close(fill[--n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_non_null(strstr(err, "local failure"));
    assert_non_null(strstr(err, "Too many open files"));
    /* and with descriptors back, the same port is an outage again */
    assert_int_equal(get(c, url, err, sizeof(err)), RES_UNAVAILABLE);
    close(s);
    http_client_free(c);
}

static void test_deadline(void **state)
{
    struct http_options o = {.connect_timeout = 10, .request_timeout = 10};
    struct http_client *c;
    char url[64], err[256] = "";
    int s = port_socket(true, url, sizeof(url));
    double t0;
    result r;
    (void)state;

    /* past start_by: nothing is sent */
    o.start_by = mono() - 1;
    o.end_by = mono() + 10;
    c = http_client_new(&o);
    assert_int_equal(get(c, url, err, sizeof(err)), RES_TIMEOUT);
    assert_non_null(strstr(err, "max_wait"));
    http_client_free(c);
    /* a silent server: the request ends at end_by, not after request_timeout (10 s) */
    o.start_by = mono() + 10;
    o.end_by = mono() + 0.4;
    c = http_client_new(&o);
    t0 = mono();
    r = get(c, url, err, sizeof(err));
    assert_int_equal(r, RES_UNAVAILABLE);
    assert_true(mono() - t0 >= 0.3);
    assert_true(mono() - t0 < 5.0); /* half of request_timeout: end_by cut it, with room for load */
    /* end_by passed: nothing is sent (libcurl may end a transfer a little early) */
    while (mono() < o.end_by)
        usleep(1000);
    assert_int_equal(get(c, url, err, sizeof(err)), RES_TIMEOUT);
    http_client_free(c);
    close(s);
}

/* Retry-After (RFC 9110 10.2.3): delay-seconds, the three HTTP-date forms, garbage, and
 * values too big for a long. */
static void test_retry_after(void **state)
{
    /* Sun, 06 Nov 1994 08:49:00 GMT */
    const time_t now = 784111740;
    time_t t;
    (void)state;
    assert_int_equal(http_parse_retry_after("120", now), 120);
    assert_int_equal(http_parse_retry_after("0", now), 0);
    assert_int_equal(http_parse_retry_after("007", now), 7);
    assert_int_equal(http_parse_retry_after("86400", now), 86400);
    assert_int_equal(http_parse_retry_after("86401", now), HTTP_RETRY_AFTER_MAX);
    assert_int_equal(http_parse_retry_after("99999999999999999999999999999999", now), HTTP_RETRY_AFTER_MAX);
    assert_int_equal(http_parse_retry_after("9223372036854775808", now), HTTP_RETRY_AFTER_MAX);
    /* HTTP-date, all three forms: 37 s after now */
    assert_int_equal(http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 37);
    assert_int_equal(http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 37);
    assert_int_equal(http_parse_retry_after("Sun Nov  6 08:49:37 1994", now), 37);
    /* in the past: go ahead now */
    assert_int_equal(http_parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), 0);
    assert_int_equal(http_parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), 0);
    /* far future: capped */
    assert_int_equal(http_parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), HTTP_RETRY_AFTER_MAX);
    /* garbage */
    static const char *const bad[] = {
        "", "-5", "+5", " 5", "5 ", "5s", "1e3", "1.5", "0x10", "abc", "now", "5,6",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:61:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x",
        "Sun, 06 Nov 1969 08:49:37 GMT", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT", "Sun,06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49:37 1994 GMT", "Sun Nov 6 8:49:37 1994",
        "Sun, 06 Nov 1994 08:49 GMT", "Sat, 31 Feb 2024 08:49:37 GMT", "Fri, 31 Dec 9999 23:59:60 GMT", "S\xc3\xbcn, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (http_parse_retry_after(bad[i], now) != -1)
            fail_msg("\"%s\" gave %ld", bad[i], http_parse_retry_after(bad[i], now));
    assert_int_equal(http_parse_retry_after(NULL, now), -1);
    assert_true(http_parse_date("Thu, 01 Jan 1970 00:00:00 GMT", &t));
    assert_int_equal(t, 0);
    assert_true(http_parse_date("Tue, 29 Feb 2028 12:00:00 GMT", &t));
    assert_int_equal(t, 1835438400);
    assert_false(http_parse_date("Thu, 01 Jan 1970 00:00:00", &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classification_table),
        cmocka_unit_test(test_refused_is_network_emfile_is_local),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
