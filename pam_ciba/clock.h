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

/* While open, SIGINT (the user's Ctrl-C) ends clock_real's sleeps in the opening thread.
 * Opening installs a handler that only records the signal, unless SIGINT is ignored (then
 * nothing changes); sleeps unblock SIGINT for their duration only, as a password prompt
 * would. Dispositions are per process, so windows are counted: the first one open
 * installs the handler, the last one closed puts back the previous disposition exactly,
 * whatever order concurrent logins in a multi-threaded host close in. The signal mask is
 * never left changed. Do not nest windows in one thread. */
struct interrupt_window {
    unsigned long seen; /* SIGINTs counted before this window opened */
    bool active;        /* the handler is ours while this window is open */
};

void interrupt_window_open(struct interrupt_window *w);

/* Close, restoring the disposition if this was the last open window, and report whether
 * SIGINT arrived while this window was open. */
bool interrupt_window_close(struct interrupt_window *w);

#endif
