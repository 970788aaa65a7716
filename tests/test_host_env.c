/* Unit tests for pam_ciba/host_env.c and libcurl's initialisation: thread detection, the
 * empty environment libcurl starts in, and close-on-exec for descriptors opened later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host_env.h"
#include "http.h"

extern char **environ;

static pthread_mutex_t park = PTHREAD_MUTEX_INITIALIZER;

static void *parked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&park);
    pthread_mutex_unlock(&park);
    return NULL;
}

static void sole_thread_until_another_starts(void **state)
{
    pthread_t t;
    (void)state;
    assert_true(host_sole_thread());
    pthread_mutex_lock(&park);
    assert_int_equal(pthread_create(&t, NULL, parked, NULL), 0);
    assert_false(host_sole_thread());
    pthread_mutex_unlock(&park);
    pthread_join(t, NULL);
    /* pthread_join returns once the thread's id is cleared, a moment before the kernel takes
     * it out of /proc/self/task (longer on a loaded machine): wait for that, bounded. */
    for (int i = 0; i < 10000 && !host_sole_thread(); i++)
        usleep(1000);
    assert_true(host_sole_thread());
}

static void seen_in_fn(void *arg)
{
    *(int *)arg = getenv("SSLKEYLOGFILE") != NULL || getenv("PATH") != NULL || environ[0] != NULL;
}

static void empty_env_then_the_same_array_back(void **state)
{
    char **before;
    int seen = -1;
    (void)state;
    setenv("SSLKEYLOGFILE", "/nonexistent/keys", 1);
    before = environ;
    host_with_empty_env(seen_in_fn, &seen);
    assert_int_equal(seen, 0);
    assert_ptr_equal(environ, before);
    assert_string_equal(getenv("SSLKEYLOGFILE"), "/nonexistent/keys");
    unsetenv("SSLKEYLOGFILE");
}

static void risky_variables_named(void **state)
{
    (void)state;
    unsetenv("SSLKEYLOGFILE");
    unsetenv("OPENSSL_CONF");
    assert_null(host_risky_env());
    setenv("OPENSSL_CONF", "/tmp/x.cnf", 1);
    assert_string_equal(host_risky_env(), "OPENSSL_CONF");
    setenv("SSLKEYLOGFILE", "/tmp/k", 1);
    assert_string_equal(host_risky_env(), "SSLKEYLOGFILE");
    unsetenv("SSLKEYLOGFILE");
    unsetenv("OPENSSL_CONF");
}

static void cloexec_only_for_new_descriptors(void **state)
{
    struct host_fds s;
    int old[2], fresh[2];
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, old), 0);
    host_fds_snapshot(&s);
    assert_true(s.valid);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fresh), 0);
    host_fds_cloexec_since(&s);
    assert_true(fcntl(fresh[0], F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fresh[1], F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(old[0], F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(old[1], F_GETFD) & FD_CLOEXEC);
    close(old[0]);
    close(old[1]);
    close(fresh[0]);
    close(fresh[1]);
}

/* The whole point: libcurl initialised in a one-thread process with SSLKEYLOGFILE set
 * creates no key log file. */
static void libcurl_init_ignores_sslkeylogfile(void **state)
{
    char dir[] = "/tmp/pam_ciba_keylog.XXXXXX", path[64];
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/keys", dir);
    setenv("SSLKEYLOGFILE", path, 1);
    assert_true(host_sole_thread());
    assert_true(http_global_init());
    assert_null(http_global_error());
    assert_int_not_equal(access(path, F_OK), 0);
    assert_string_equal(getenv("SSLKEYLOGFILE"), path);
    unsetenv("SSLKEYLOGFILE");
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sole_thread_until_another_starts),
        cmocka_unit_test(empty_env_then_the_same_array_back),
        cmocka_unit_test(risky_variables_named),
        cmocka_unit_test(cloexec_only_for_new_descriptors),
        cmocka_unit_test(libcurl_init_ignores_sslkeylogfile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
