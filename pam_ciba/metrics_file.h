/* One update of the metrics file: bounded lock wait, read-modify-write, atomic rename. */
#ifndef PAM_CIBA_METRICS_FILE_H
#define PAM_CIBA_METRICS_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "result.h"

/* How long a login may wait for another login's update before it defers its own. */
#define METRICS_LOCK_BUDGET_MS 200
/* Deferred decisions one update folds in at most (the rest wait for the next). */
#define METRICS_FOLD_MAX 1024

struct metrics_update {
    const char *path;     /* metrics_file: absolute, ends in ".prom" */
    uid_t owner;          /* who must own the directory, the lock and the file: root (0) */
    const char *outcome;  /* result_name() */
    const char *service;  /* the PAM service (cleaned into a label here) */
    bool observe;         /* a fresh verified approval: also goes into the histogram */
    uint64_t approval_ms;
    unsigned lock_budget_ms; /* 0: METRICS_LOCK_BUDGET_MS */
};

/* What the update cost, for the debug log and the tests. */
struct metrics_stats {
    double total_ms;      /* the whole update, lock wait included */
    double lock_wait_ms;  /* until the lock was held (or given up) */
    int lock_tries;       /* flock attempts */
    double hold_ms;       /* with the lock held: read, count, write, rename */
    bool deferred;        /* the lock stayed busy: the decision was left for the next update */
    int folded;           /* deferred decisions of other logins counted by this update */
    bool started_over;    /* the old file was missing, unsafe or not what metrics_format writes */
    char old_file[300];   /* why it was not used, when started_over */
};

/* Count one decision in the file. Never blocks longer than the lock budget plus the
 * time to read and write the file. When the lock stays busy for the whole budget, the
 * decision is written to a file of its own beside the metrics file (".NAME.pending.*",
 * st->deferred) and the next update counts it: no count is lost to a busy lock.
 * RES_CONFIG: the directory or the lock file is unsafe; RES_IGNORE: we are not its owner;
 * RES_INTERNAL: a local failure (space, limits): the decision is not counted. why says
 * what. The file is replaced by rename only once it is complete: a reader sees the old or
 * the new text. */
result metrics_file_update(const struct metrics_update *u, struct metrics_stats *st, char *why, size_t whylen);

#endif
