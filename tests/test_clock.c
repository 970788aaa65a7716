/* Unit tests for pam_ciba/clock.c: Ctrl-C ends a wait inside the interrupt window, and the
 * process's signal disposition and mask are exactly as before afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

static volatile sig_atomic_t app_handler_calls;
static void app_handler(int sig)
{
    (void)sig;
    app_handler_calls++;
}

/* A child process sends SIGINT to us after delay_ms, like a terminal's Ctrl-C. */
static pid_t sigint_later(int delay_ms)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        usleep((useconds_t)delay_ms * 1000);
        kill(parent, SIGINT);
        _exit(0);
    }
    assert_true(pid > 0);
    return pid;
}

/* A late SIGINT (a loaded machine can run the child after the test's own sleep) may
 * interrupt waitpid itself when a handler is installed: that is not a failure. */
static void reap(pid_t pid)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    assert_int_equal(r, pid);
}

static void set_disposition(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGINT, &sa, NULL), 0);
}

static void (*disposition(void))(int)
{
    struct sigaction sa;
    assert_int_equal(sigaction(SIGINT, NULL, &sa), 0);
    return sa.sa_handler;
}

static int sigint_blocked(void)
{
    sigset_t m;
    sigprocmask(SIG_BLOCK, NULL, &m);
    return sigismember(&m, SIGINT);
}

static int setup(void **state)
{
    sigset_t m;
    (void)state;
    set_disposition(SIG_DFL);
    sigemptyset(&m);
    sigprocmask(SIG_SETMASK, &m, NULL);
    app_handler_calls = 0;
    return 0;
}

static void test_ctrl_c_ends_the_wait(void **state)
{
    struct interrupt_window w;
    double t0, waited;
    pid_t pid;
    (void)state;

    interrupt_window_open(&w);
    pid = sigint_later(150);
    t0 = clock_real.now(NULL);
    assert_int_equal(clock_real.sleep(NULL, 10.0), -1);
    waited = clock_real.now(NULL) - t0;
    assert_true(waited < 5.0); /* half the 10 s asked for: the signal ended it, with room for load */
    assert_true(interrupt_window_close(&w));
    reap(pid);
    /* Afterwards: the default disposition and mask again, nothing pending. */
    assert_ptr_equal(disposition(), SIG_DFL);
    assert_false(sigint_blocked());
}

static void test_blocked_sigint_still_ends_the_wait(void **state)
{
    struct interrupt_window w;
    sigset_t block, pending;
    pid_t pid;
    (void)state;

    /* sudo blocks SIGINT around pam_authenticate. */
    set_disposition(app_handler);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    interrupt_window_open(&w);
    pid = sigint_later(100);
    assert_int_equal(clock_real.sleep(NULL, 10.0), -1);
    assert_true(interrupt_window_close(&w));
    reap(pid);
    assert_true(sigint_blocked());
    sigpending(&pending);
    assert_false(sigismember(&pending, SIGINT));
    assert_ptr_equal(disposition(), app_handler);
    assert_int_equal(app_handler_calls, 0);
}

static void test_signal_between_sleeps_is_not_lost(void **state)
{
    struct interrupt_window w;
    double t0;
    (void)state;

    interrupt_window_open(&w);
    raise(SIGINT); /* lands while "an HTTP request" runs, outside any sleep */
    t0 = clock_real.now(NULL);
    assert_int_equal(clock_real.sleep(NULL, 5.0), -1);
    assert_true(clock_real.now(NULL) - t0 < 2.5); /* half the 5 s: it did not sleep */
    assert_true(interrupt_window_close(&w));
}

static void test_ignored_sigint_stays_ignored(void **state)
{
    struct interrupt_window w;
    pid_t pid;
    (void)state;

    set_disposition(SIG_IGN);
    interrupt_window_open(&w);
    assert_ptr_equal(disposition(), SIG_IGN);
    pid = sigint_later(50);
    assert_int_equal(clock_real.sleep(NULL, 0.3), 0);
    assert_false(interrupt_window_close(&w));
    reap(pid);
    assert_ptr_equal(disposition(), SIG_IGN);
}

static void test_quiet_window_restores_the_app_handler(void **state)
{
    struct interrupt_window w;
    double t0;
    (void)state;

    set_disposition(app_handler);
    interrupt_window_open(&w);
    assert_ptr_not_equal(disposition(), app_handler);
    t0 = clock_real.now(NULL);
    assert_int_equal(clock_real.sleep(NULL, 0.2), 0);
    assert_true(clock_real.now(NULL) - t0 >= 0.19);
    assert_false(interrupt_window_close(&w));
    assert_ptr_equal(disposition(), app_handler);
    assert_false(sigint_blocked());
    /* Outside the window the application's own handler gets Ctrl-C again. */
    raise(SIGINT);
    assert_int_equal(app_handler_calls, 1);
}

/* Two logins in one multi-threaded host: the windows close in the opposite order to
 * how they opened, and the host's handler must still come back. */
static void test_overlapping_windows_restore_once(void **state)
{
    struct interrupt_window first, second;
    (void)state;

    set_disposition(app_handler);
    interrupt_window_open(&first);
    interrupt_window_open(&second);
    assert_ptr_not_equal(disposition(), app_handler);
    raise(SIGINT);
    assert_true(interrupt_window_close(&first));
    assert_ptr_not_equal(disposition(), app_handler); /* second is still waiting */
    assert_true(interrupt_window_close(&second));
    assert_ptr_equal(disposition(), app_handler);
    assert_int_equal(app_handler_calls, 0);
    /* A window opened after the signal does not see it. */
    interrupt_window_open(&first);
    assert_false(interrupt_window_close(&first));
    assert_ptr_equal(disposition(), app_handler);
}

static void test_no_window_sleeps_through(void **state)
{
    pid_t pid;
    (void)state;

    set_disposition(app_handler);
    pid = sigint_later(50);
    assert_int_equal(clock_real.sleep(NULL, 0.3), 0);
    reap(pid);
    assert_int_equal(app_handler_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ctrl_c_ends_the_wait, setup),
        cmocka_unit_test_setup(test_blocked_sigint_still_ends_the_wait, setup),
        cmocka_unit_test_setup(test_signal_between_sleeps_is_not_lost, setup),
        cmocka_unit_test_setup(test_ignored_sigint_stays_ignored, setup),
        cmocka_unit_test_setup(test_quiet_window_restores_the_app_handler, setup),
        cmocka_unit_test_setup(test_overlapping_windows_restore_once, setup),
        cmocka_unit_test_setup(test_no_window_sleeps_through, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* Leave the test process as it started. */
    setup(NULL);
    return rc;
}
