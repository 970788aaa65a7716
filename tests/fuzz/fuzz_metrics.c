/* libFuzzer target: metrics_parse/metrics_add/metrics_format on metrics files. Oracles: a
 * text that parses re-formats to exactly its own bytes (one canonical text, so parse and
 * format agree on every value); after counting decisions named by the input (label text
 * from the input, cleaned by metrics_add) the formatted text parses back to the same
 * counts, each count grew by exactly one and the histogram stays consistent; a deferred
 * count (metrics_delta_parse) re-formats to exactly its own bytes. */
#include "fuzz_common.h"
#include "metrics.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct metrics m, back;
static char text[METRICS_MAX_FILE + 1], again[METRICS_MAX_FILE + 1];

static uint64_t count_of(const struct metrics *x, const char *outcome, const char *service)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->series[i].outcome, outcome) == 0 && strcmp(x->series[i].service, service) == 0)
            return x->series[i].count;
    return 0;
}

/* Count one decision taken from the input at *p: "outcome\0service\0" and a byte for the time. */
static void add_from(const uint8_t **p, const uint8_t *end)
{
    char o[80] = "", s[80] = "", lo[METRICS_LABEL_MAX], ls[METRICS_LABEL_MAX];
    size_t i = 0;
    uint64_t before, sum, count, ms;
    bool observe;
    result r;

    while (*p < end && **p && i + 1 < sizeof(o))
        o[i++] = (char)*(*p)++;
    o[i] = '\0';
    if (*p < end)
        (*p)++;
    i = 0;
    while (*p < end && **p && i + 1 < sizeof(s))
        s[i++] = (char)*(*p)++;
    s[i] = '\0';
    if (*p < end)
        (*p)++;
    ms = *p < end ? (uint64_t)*(*p)++ * 1237 : 0;
    observe = ms % 2 == 0;
    metrics_label(o, lo, sizeof(lo));
    metrics_label(s, ls, sizeof(ls));
    before = count_of(&m, lo, ls);
    sum = m.sum_ms;
    count = m.count;
    r = metrics_add(&m, o, s, observe, ms);
    if (r != RES_OK) {
        FUZZ_ASSERT(m.sum_ms == sum && m.count == count);
        return;
    }
    /* Either its own series grew by one, or it went to "other" (the services are full). */
    FUZZ_ASSERT(count_of(&m, lo, ls) == before + 1 ||
                count_of(&m, lo, METRICS_OTHER_SERVICE) >= 1);
    FUZZ_ASSERT(m.count == count + (observe ? 1 : 0) && m.sum_ms == sum + (observe ? ms : 0));
}

/* A deferred count: what parses is exactly what formatting gives back. */
static void delta_round_trip(const uint8_t *data, size_t size)
{
    struct metrics_delta d;
    char line[METRICS_DELTA_MAX];
    size_t n;

    if (metrics_delta_parse((const char *)data, size, &d) != RES_OK)
        return;
    n = metrics_delta_format(&d, line, sizeof(line));
    FUZZ_ASSERT(n == size && memcmp(line, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200];
    size_t len = 0, len2 = 0;
    const uint8_t *p, *end = data + size;

    if (size > METRICS_MAX_FILE)
        return 0;
    delta_round_trip(data, size);
    if (metrics_parse((const char *)data, size, &m, why, sizeof(why)) == RES_OK) {
        FUZZ_ASSERT(metrics_format(&m, text, sizeof(text), &len) == RES_OK);
        FUZZ_ASSERT(len == size && memcmp(text, data, size) == 0);
        p = end; /* the whole input was the file */
    } else {
        FUZZ_ASSERT(m.n == 0 && m.count == 0);
        p = data;
    }
    for (int ops = 0; ops < 64 && p < end; ops++)
        add_from(&p, end);
    FUZZ_ASSERT(metrics_format(&m, text, sizeof(text), &len) == RES_OK);
    FUZZ_ASSERT(metrics_parse(text, len, &back, why, sizeof(why)) == RES_OK);
    FUZZ_ASSERT(back.n == m.n && back.count == m.count && back.sum_ms == m.sum_ms);
    for (size_t i = 0; i < m.n; i++)
        FUZZ_ASSERT(count_of(&back, m.series[i].outcome, m.series[i].service) == m.series[i].count);
    FUZZ_ASSERT(metrics_format(&back, again, sizeof(again), &len2) == RES_OK);
    FUZZ_ASSERT(len2 == len && memcmp(again, text, len) == 0);
    return 0;
}
