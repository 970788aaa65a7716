/* The metrics file's one canonical text: what format writes is all that parse accepts. */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DECISIONS "pam_ciba_decisions_total"
#define APPROVAL "pam_ciba_approval_seconds"
#define DECISIONS_HEAD                                                                       \
    "# HELP " DECISIONS " Logins decided by pam_ciba, by outcome and PAM service.\n"         \
    "# TYPE " DECISIONS " counter\n"
#define APPROVAL_HEAD                                                                        \
    "# HELP " APPROVAL " Seconds from the start of a login to its verified approval "       \
    "(fresh approvals; reused ones are not observed).\n"                                     \
    "# TYPE " APPROVAL " histogram\n"

static const unsigned bucket_le[METRICS_NBUCKETS] = METRICS_BUCKETS;

void metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof(*m));
}

static bool label_char(char c)
{
    /* c != '\0': strchr would find the terminator. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("_.:@+-", c) != NULL);
}

void metrics_label(const char *in, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen == 0)
        return;
    for (; in && *in && o + 1 < outlen && o + 1 < METRICS_LABEL_MAX; in++)
        out[o++] = label_char(*in) ? *in : '_';
    out[o] = '\0';
    if (o == 0)
        snprintf(out, outlen, "unknown");
}

/* ---- parsing: a cursor that accepts only the expected bytes ---- */

struct cursor {
    const char *p, *end;
    char *why;
    size_t whylen;
    int line;
};

__attribute__((format(printf, 2, 3))) static result bad(struct cursor *c, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->why, c->whylen, "line %d: ", c->line);
    if (n >= 0 && (size_t)n < c->whylen) {
        va_start(ap, fmt);
        vsnprintf(c->why + n, c->whylen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return RES_PROTOCOL;
}

static bool lit(struct cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        c->line += s[i] == '\n';
    c->p += n;
    return true;
}

/* A decimal without sign or leading zeros, at most METRICS_MAX_VALUE. */
static bool number(struct cursor *c, uint64_t *v)
{
    int digits = 0;

    *v = 0;
    if (c->p < c->end && *c->p == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9')
        return false;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (++digits > 15)
            return false;
        *v = *v * 10 + (uint64_t)(*c->p++ - '0');
    }
    return digits > 0;
}

static bool label(struct cursor *c, char out[METRICS_LABEL_MAX])
{
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        if (!label_char(*c->p) || n + 1 >= METRICS_LABEL_MAX)
            return false;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

static int series_cmp(const char *o1, const char *s1, const char *o2, const char *s2)
{
    int d = strcmp(o1, o2);
    return d ? d : strcmp(s1, s2);
}

static result parse_series(struct cursor *c, struct metrics *m)
{
    while (lit(c, DECISIONS "{outcome=\"")) {
        struct metrics_series *s = &m->series[m->n];
        if (m->n >= METRICS_MAX_SERIES)
            return bad(c, "more than %d series", METRICS_MAX_SERIES);
        if (!label(c, s->outcome) || !lit(c, "\",service=\"") || !label(c, s->service) || !lit(c, "\"} ") ||
            !number(c, &s->count) || !lit(c, "\n"))
            return bad(c, "not a decisions_total line");
        /* Strictly increasing: sorted, and no series twice. */
        if (m->n > 0 && series_cmp(s[-1].outcome, s[-1].service, s->outcome, s->service) >= 0)
            return bad(c, "series out of order or repeated");
        m->n++;
    }
    return RES_OK;
}

static result parse_histogram(struct cursor *c, struct metrics *m)
{
    char le[32];
    uint64_t v, prev = 0, whole, frac;

    for (int i = 0; i <= METRICS_NBUCKETS; i++) {
        if (i < METRICS_NBUCKETS)
            snprintf(le, sizeof(le), "%u", bucket_le[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        if (!lit(c, APPROVAL "_bucket{le=\"") || !lit(c, le) || !lit(c, "\"} "))
            return bad(c, "expected the bucket le=\"%s\"", le);
        if (!number(c, &v) || !lit(c, "\n"))
            return bad(c, "bad bucket count");
        if (v < prev)
            return bad(c, "bucket counts decrease");
        m->bucket[i] = v - prev;
        prev = v;
    }
    /* The sum in seconds with exactly three decimals: milliseconds, exact both ways. */
    if (!lit(c, APPROVAL "_sum ") || !number(c, &whole) || !lit(c, "."))
        return bad(c, "bad _sum line");
    frac = 0;
    for (int d = 0; d < 3; d++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return bad(c, "_sum needs three decimals");
        frac = frac * 10 + (uint64_t)(*c->p++ - '0');
    }
    if (!lit(c, "\n") || whole > METRICS_MAX_VALUE / 1000)
        return bad(c, "bad _sum line");
    m->sum_ms = whole * 1000 + frac;
    if (!lit(c, APPROVAL "_count ") || !number(c, &m->count) || !lit(c, "\n"))
        return bad(c, "bad _count line");
    if (m->count != prev)
        return bad(c, "_count differs from the +Inf bucket");
    return RES_OK;
}

result metrics_parse(const char *text, size_t len, struct metrics *m, char *why, size_t whylen)
{
    struct cursor c = {text, text + len, why, whylen, 1};
    result r;

    metrics_init(m);
    if (whylen)
        why[0] = '\0';
    if (len > METRICS_MAX_FILE)
        return bad(&c, "file larger than %d bytes", METRICS_MAX_FILE);
    if (!lit(&c, DECISIONS_HEAD))
        return bad(&c, "not pam_ciba's decisions header");
    r = parse_series(&c, m);
    if (r == RES_OK && !lit(&c, APPROVAL_HEAD))
        r = bad(&c, "not pam_ciba's approval histogram header");
    if (r == RES_OK)
        r = parse_histogram(&c, m);
    if (r == RES_OK && c.p != c.end)
        r = bad(&c, "bytes after the last line");
    if (r != RES_OK)
        metrics_init(m);
    return r;
}

/* ---- formatting ---- */

struct out {
    char *buf;
    size_t len, cap;
    bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)n;
}

result metrics_format(const struct metrics *m, char *out, size_t outlen, size_t *len)
{
    struct out o = {out, 0, outlen, outlen == 0};
    uint64_t cum = 0;

    put(&o, "%s", DECISIONS_HEAD);
    for (size_t i = 0; i < m->n; i++)
        put(&o, DECISIONS "{outcome=\"%s\",service=\"%s\"} %" PRIu64 "\n", m->series[i].outcome,
            m->series[i].service, m->series[i].count);
    put(&o, "%s", APPROVAL_HEAD);
    for (int i = 0; i <= METRICS_NBUCKETS; i++) {
        cum += m->bucket[i];
        if (i < METRICS_NBUCKETS)
            put(&o, APPROVAL "_bucket{le=\"%u\"} %" PRIu64 "\n", bucket_le[i], cum);
        else
            put(&o, APPROVAL "_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    }
    put(&o, APPROVAL "_sum %" PRIu64 ".%03u\n", m->sum_ms / 1000, (unsigned)(m->sum_ms % 1000));
    put(&o, APPROVAL "_count %" PRIu64 "\n", m->count);
    if (o.full) {
        if (outlen)
            out[0] = '\0';
        return RES_INTERNAL;
    }
    if (len)
        *len = o.len;
    return RES_OK;
}

/* ---- counting ---- */

static bool service_known(const struct metrics *m, const char *service, size_t *distinct)
{
    const char *seen[METRICS_MAX_SERVICES + 1];
    size_t n = 0;
    bool found = false;

    for (size_t i = 0; i < m->n; i++) {
        const char *s = m->series[i].service;
        size_t j = 0;
        if (strcmp(s, service) == 0)
            found = true;
        while (j < n && strcmp(seen[j], s) != 0)
            j++;
        if (j == n && n < METRICS_MAX_SERVICES + 1)
            seen[n++] = s;
    }
    *distinct = n;
    return found;
}

result metrics_add(struct metrics *m, const char *outcome, const char *service, bool observe, uint64_t ms)
{
    char o[METRICS_LABEL_MAX], s[METRICS_LABEL_MAX];
    size_t i, distinct;
    int b = METRICS_NBUCKETS;

    metrics_label(outcome, o, sizeof(o));
    metrics_label(service, s, sizeof(s));
    if (!service_known(m, s, &distinct) && distinct >= METRICS_MAX_SERVICES)
        snprintf(s, sizeof(s), "%s", METRICS_OTHER_SERVICE);
    if (observe) {
        if (m->count >= METRICS_MAX_VALUE || ms > METRICS_MAX_VALUE - m->sum_ms)
            return RES_INTERNAL;
        for (b = 0; b < METRICS_NBUCKETS && ms > (uint64_t)bucket_le[b] * 1000; b++)
            ;
    }
    for (i = 0; i < m->n && series_cmp(m->series[i].outcome, m->series[i].service, o, s) < 0; i++)
        ;
    if (i < m->n && series_cmp(m->series[i].outcome, m->series[i].service, o, s) == 0) {
        if (m->series[i].count >= METRICS_MAX_VALUE)
            return RES_INTERNAL;
        m->series[i].count++;
    } else {
        if (m->n >= METRICS_MAX_SERIES)
            return RES_INTERNAL;
        memmove(&m->series[i + 1], &m->series[i], (m->n - i) * sizeof(m->series[0]));
        memset(&m->series[i], 0, sizeof(m->series[i]));
        memcpy(m->series[i].outcome, o, sizeof(o));
        memcpy(m->series[i].service, s, sizeof(s));
        m->series[i].count = 1;
        m->n++;
    }
    if (observe) {
        m->bucket[b]++;
        m->sum_ms += ms;
        m->count++;
    }
    return RES_OK;
}

/* ---- deferred decisions ---- */

void metrics_delta_make(const char *outcome, const char *service, bool observe, uint64_t ms,
                        struct metrics_delta *d)
{
    memset(d, 0, sizeof(*d));
    metrics_label(outcome, d->outcome, sizeof(d->outcome));
    metrics_label(service, d->service, sizeof(d->service));
    d->observe = observe;
    d->ms = observe && ms <= METRICS_MAX_VALUE ? ms : 0;
}

size_t metrics_delta_format(const struct metrics_delta *d, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s %s %d %" PRIu64 "\n", d->outcome, d->service, d->observe ? 1 : 0, d->ms);
    return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

static bool word(struct cursor *c, char out[METRICS_LABEL_MAX])
{
    size_t n = 0;
    while (c->p < c->end && *c->p != ' ') {
        if (!label_char(*c->p) || n + 1 >= METRICS_LABEL_MAX)
            return false;
        out[n++] = *c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

result metrics_delta_parse(const char *text, size_t len, struct metrics_delta *d)
{
    char why[64];
    struct cursor c = {text, text + len, why, sizeof(why), 1};
    bool ok;

    memset(d, 0, sizeof(*d));
    ok = len <= METRICS_DELTA_MAX && word(&c, d->outcome) && lit(&c, " ") && word(&c, d->service) && lit(&c, " ");
    if (ok && lit(&c, "1 "))
        d->observe = true;
    else if (ok && !lit(&c, "0 "))
        ok = false;
    ok = ok && number(&c, &d->ms) && lit(&c, "\n") && c.p == c.end && (d->observe || d->ms == 0);
    if (!ok) {
        memset(d, 0, sizeof(*d));
        return RES_PROTOCOL;
    }
    return RES_OK;
}
