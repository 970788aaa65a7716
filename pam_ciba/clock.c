/* The real clock: monotonic time and sleeps that resume after unrelated signals. */
#include "clock.h"
#include <errno.h>
#include <math.h>

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

static int real_sleep(void *ctx, double seconds)
{
    struct timespec req;
    (void)ctx;
    if (seconds <= 0)
        return 0;
    req.tv_sec = (time_t)seconds;
    req.tv_nsec = (long)((seconds - floor(seconds)) * 1e9);
    while (nanosleep(&req, &req) != 0 && errno == EINTR)
        ;
    return 0;
}

const struct clock clock_real = {real_now, real_wall, real_sleep, NULL};
