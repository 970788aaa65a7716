/* Time for the poll loop, injectable so tests run a two-minute wait in microseconds. */
#ifndef PAM_CIBA_CLOCK_H
#define PAM_CIBA_CLOCK_H
#include <time.h>

struct clock {
    double (*now)(void *ctx);                /* monotonic seconds */
    time_t (*wall)(void *ctx);               /* Unix time, for token exp/iat */
    int (*sleep)(void *ctx, double seconds); /* 0 slept, -1 interrupted */
    void *ctx;
};

/* CLOCK_MONOTONIC, time(), nanosleep. */
extern const struct clock clock_real;

#endif
