/* Time for the poll loop, injectable so tests run a two-minute wait in microseconds. */
#ifndef PAM_CIBA_CLOCK_H
#define PAM_CIBA_CLOCK_H
#include <signal.h>
#include <stdbool.h>
#include <time.h>

struct clock {
    double (*now)(void *ctx);                /* monotonic seconds */
    time_t (*wall)(void *ctx);               /* Unix time, for token exp/iat */
    int (*sleep)(void *ctx, double seconds); /* 0 slept, -1 interrupted */
    void *ctx;
};

/* CLOCK_MONOTONIC, time(), and sleeps that end early (-1) on SIGINT while an
 * interrupt window is open, and otherwise resume after signals. */
extern const struct clock clock_real;

/* While open, SIGINT (the user's Ctrl-C) ends clock_real's sleeps. Opening installs a
 * handler that only records the signal, unless SIGINT is ignored (then nothing changes);
 * sleeps unblock SIGINT for their duration only, as a password prompt would. Closing puts
 * back the previous disposition exactly; the signal mask is never left changed. Signal
 * dispositions are per process, so there is one window per process: open it around a
 * wait, in one thread, and never nest. */
struct interrupt_window {
    struct sigaction previous;
    bool active;
};

void interrupt_window_open(struct interrupt_window *w);

/* Restore and report whether SIGINT arrived while the window was open. */
bool interrupt_window_close(struct interrupt_window *w);

#endif
