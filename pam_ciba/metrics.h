/* Decision counters and the approval-time histogram in Prometheus text format: parse, add, format. */
#ifndef PAM_CIBA_METRICS_H
#define PAM_CIBA_METRICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "result.h"

/* Bounds, so a file full of services (or a hostile one) stays small. */
#define METRICS_LABEL_MAX 64       /* bytes of a label value, NUL included */
#define METRICS_MAX_SERVICES 32    /* distinct services; more are counted as "other" */
#define METRICS_MAX_SERIES 1024    /* outcome x service pairs */
#define METRICS_MAX_FILE (256 * 1024)
/* Counter values stay exact as the float64 Prometheus reads: at most 15 digits. A larger
 * one makes the file unparseable and the next update starts over, which Prometheus reads
 * as a counter reset. */
#define METRICS_MAX_VALUE 999999999999999ULL
#define METRICS_OTHER_SERVICE "other"

/* Upper bounds of the approval-time buckets, in seconds; +Inf follows. */
#define METRICS_BUCKETS {1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300}
#define METRICS_NBUCKETS 13

struct metrics_series {
    char outcome[METRICS_LABEL_MAX];
    char service[METRICS_LABEL_MAX];
    uint64_t count;
};

struct metrics {
    size_t n;                                 /* series in use, sorted by (outcome, service) */
    struct metrics_series series[METRICS_MAX_SERIES];
    uint64_t bucket[METRICS_NBUCKETS + 1];    /* per bucket, not cumulative; the last is +Inf */
    uint64_t sum_ms;                          /* approval time, milliseconds */
    uint64_t count;                           /* approvals observed */
};

void metrics_init(struct metrics *m);

/* Parse exactly what metrics_format writes (and nothing else: any other byte, order,
 * bucket set, duplicate or inconsistent histogram is RES_PROTOCOL, with why). */
result metrics_parse(const char *text, size_t len, struct metrics *m, char *why, size_t whylen);

/* The file's text into out (NUL-terminated); RES_INTERNAL if outlen is too small. *len
 * (may be NULL) gets its length. */
result metrics_format(const struct metrics *m, char *out, size_t outlen, size_t *len);

/* A label value from untrusted text: bytes outside [A-Za-z0-9_.:@+-] become '_', cut to
 * METRICS_LABEL_MAX - 1 bytes; empty or NULL becomes "unknown". */
void metrics_label(const char *in, char *out, size_t outlen);

/* Count one decision (outcome and service are label-cleaned here); with observe, also
 * an approval that took ms milliseconds. RES_INTERNAL when the series table is full or a
 * value would pass METRICS_MAX_VALUE (nothing changed then). */
result metrics_add(struct metrics *m, const char *outcome, const char *service, bool observe, uint64_t ms);

/* One decision waiting to be counted: written by a login that found the lock busy,
 * folded in by the next one that holds it. One line: "OUTCOME SERVICE 0|1 MS\n". */
#define METRICS_DELTA_MAX 160
struct metrics_delta {
    char outcome[METRICS_LABEL_MAX];
    char service[METRICS_LABEL_MAX];
    bool observe;
    uint64_t ms;
};

/* From untrusted names (label-cleaned here). */
void metrics_delta_make(const char *outcome, const char *service, bool observe, uint64_t ms,
                        struct metrics_delta *d);

/* The line into out (at least METRICS_DELTA_MAX bytes); returns its length. */
size_t metrics_delta_format(const struct metrics_delta *d, char *out, size_t outlen);

/* Exactly what metrics_delta_format writes, else RES_PROTOCOL. */
result metrics_delta_parse(const char *text, size_t len, struct metrics_delta *d);

#endif
