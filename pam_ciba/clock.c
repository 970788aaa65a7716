/* The real clock: monotonic time, and sleeps that Ctrl-C can cut short inside a window. */
#include "clock.h"
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>

/* Signal handlers cannot take a context: the handler state is per process by nature. */
static volatile sig_atomic_t sigint_count;     /* bumped by every SIGINT while installed */
static pthread_mutex_t window_lock = PTHREAD_MUTEX_INITIALIZER;
static int windows_open;                       /* open windows in this process */
static bool handler_installed;                 /* the first window installed ours */
static struct sigaction previous_disposition;  /* what the first window replaced */
static _Thread_local struct interrupt_window *thread_window; /* this thread's open window */

static void on_sigint(int sig)
{
    (void)sig;
    sigint_count = sigint_count + 1;
}

void interrupt_window_open(struct interrupt_window *w)
{
    struct sigaction sa;

    memset(w, 0, sizeof(*w));
    pthread_mutex_lock(&window_lock);
    if (windows_open++ == 0) {
        handler_installed = false;
        /* An ignored Ctrl-C (nohup, background job) must stay ignored. */
        if (sigaction(SIGINT, NULL, &previous_disposition) == 0 && previous_disposition.sa_handler != SIG_IGN) {
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = on_sigint;
            sigemptyset(&sa.sa_mask);
            /* SA_RESTART keeps other code (libcurl, the conversation) undisturbed; our own
             * sleep uses ppoll, which a handled signal always interrupts. */
            sa.sa_flags = SA_RESTART;
            handler_installed = sigaction(SIGINT, &sa, NULL) == 0;
        }
    }
    w->active = handler_installed;
    w->seen = (unsigned long)sigint_count;
    pthread_mutex_unlock(&window_lock);
    thread_window = w;
}

bool interrupt_window_close(struct interrupt_window *w)
{
    bool got;

    pthread_mutex_lock(&window_lock);
    got = w->active && (unsigned long)sigint_count != w->seen;
    if (--windows_open == 0 && handler_installed) {
        sigaction(SIGINT, &previous_disposition, NULL);
        handler_installed = false;
    }
    pthread_mutex_unlock(&window_lock);
    w->active = false;
    if (thread_window == w)
        thread_window = NULL;
    return got;
}

static double real_now(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static time_t real_wall(void *ctx)
{
    (void)ctx;
    return time(NULL);
}

static struct timespec to_timespec(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - floor(seconds)) * 1e9);
    if (ts.tv_nsec > 999999999L)
        ts.tv_nsec = 999999999L;
    return ts;
}

/* Sleep with SIGINT blocked except inside ppoll, so a Ctrl-C that lands between the
 * check and the wait is not lost (the classic race a plain nanosleep has). */
static int interruptible_sleep(const struct interrupt_window *w, double seconds)
{
    sigset_t block, saved, during;
    double end = real_now(NULL) + seconds;
    int rc = 0;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &block, &saved) != 0)
        return -1;
    during = saved;
    sigdelset(&during, SIGINT);
    for (;;) {
        double left = end - real_now(NULL);
        struct timespec ts;
        if ((unsigned long)sigint_count != w->seen) {
            rc = -1;
            break;
        }
        if (left <= 0)
            break;
        ts = to_timespec(left);
        if (ppoll(NULL, 0, &ts, &during) < 0 && errno != EINTR)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return rc;
}

static int real_sleep(void *ctx, double seconds)
{
    struct timespec req;
    (void)ctx;
    if (thread_window && thread_window->active)
        return interruptible_sleep(thread_window, seconds > 0 ? seconds : 0);
    if (seconds <= 0)
        return 0;
    req = to_timespec(seconds);
    while (nanosleep(&req, &req) != 0 && errno == EINTR)
        ;
    return 0;
}

const struct clock clock_real = {real_now, real_wall, real_sleep, NULL};
