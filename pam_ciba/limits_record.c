/* Request limits over one record: the window, the pending rule, the denial streak and lockout, the text form. */
#include "limits_record.h"
#include "record_text.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define MAGIC "pam_ciba limits v1"
/* Millisecond times stay far below LLONG_MAX, so sums of them never overflow. */
#define MS_MAX (LLONG_MAX / 4)

static void copy_cut(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void limits_record_init(struct limits_record *rec, int kind, const char *name, const char *boot)
{
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    copy_cut(rec->name, sizeof(rec->name), name);
    copy_cut(rec->boot, sizeof(rec->boot), boot);
}

/* ---- text ---- */



static void put_num(struct rtext_out *o, const char *prefix, long long v)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "%s%lld", prefix, v);
    if (n < 0 || (size_t)n >= sizeof(buf))
        o->ok = false;
    else
        rtext_put(o, buf, (size_t)n);
}

static void put_str(struct rtext_out *o, const char *name, const char *v)
{
    char b[64];
    int n = snprintf(b, sizeof(b), "%s %zu:", name, strlen(v));
    rtext_put(o, b, (size_t)n);
    rtext_put(o, v, strlen(v));
    rtext_put(o, "\n", 1);
}

static bool ms_ok(long long v)
{
    return v >= 0 && v <= MS_MAX;
}

size_t limits_format(const struct limits_record *rec, char *out, size_t len)
{
    struct rtext_out o = {out, len, len > 0};
    static const char hex[] = "0123456789abcdef";

    if ((rec->kind != LIMITS_USER && rec->kind != LIMITS_SOURCE) || !rec->name[0] || rec->n > LIMITS_ENTRIES_MAX ||
        !ms_ok(rec->locked_until_ms) || strlen(rec->name) > LIMITS_NAME_MAX || strlen(rec->boot) > LIMITS_BOOT_MAX ||
        strchr(rec->name, '\n') || strchr(rec->boot, '\n'))
        return 0;
    rtext_put(&o, MAGIC "\n", strlen(MAGIC) + 1);
    rtext_put(&o, rec->kind == LIMITS_USER ? "kind user\n" : "kind source\n", rec->kind == LIMITS_USER ? 10 : 12);
    put_str(&o, "name", rec->name);
    put_str(&o, "boot", rec->boot);
    put_num(&o, "streak ", (long long)rec->streak);
    put_num(&o, "\nlocked ", rec->locked_until_ms);
    rtext_put(&o, "\n", 1);
    for (size_t i = 0; i < rec->n; i++) {
        char id[17];
        const struct limits_entry *e = &rec->e[i];
        if (!ms_ok(e->start_ms) || !ms_ok(e->until_ms) || e->pstart > (unsigned long long)MS_MAX)
            return 0;
        for (int k = 0; k < 16; k++)
            id[k] = hex[(e->id >> (60 - 4 * k)) & 15];
        id[16] = '\0';
        rtext_put(&o, "entry ", 6);
        rtext_put(&o, id, 16);
        put_num(&o, " ", e->start_ms);
        put_num(&o, " ", e->until_ms);
        put_num(&o, " ", (long long)e->pid);
        put_num(&o, " ", (long long)e->pstart);
        rtext_put(&o, "\n", 1);
    }
    return o.ok ? (size_t)(o.p - out) : 0;
}





/* "name LEN:BYTES\n" into dst (cap bytes with the NUL); no NUL or newline inside. */
static void get_str(struct rtext_in *c, const char *name, char *dst, size_t cap, size_t min)
{
    size_t n;

    rtext_expect(c, name);
    rtext_expect(c, " ");
    n = (size_t)rtext_get_num(c, (long long)cap - 1);
    rtext_expect(c, ":");
    if (!c->ok || n < min || (size_t)(c->end - c->p) < n || memchr(c->p, '\0', n) || memchr(c->p, '\n', n)) {
        c->ok = false;
        return;
    }
    memcpy(dst, c->p, n);
    dst[n] = '\0';
    c->p += n;
    rtext_expect(c, "\n");
}


result limits_parse(const char *text, size_t len, struct limits_record *rec)
{
    struct rtext_in c = {text, text + len, true};

    limits_record_init(rec, LIMITS_USER, NULL, NULL);
    rtext_expect(&c, MAGIC "\n");
    if (rtext_at(&c, "kind source\n"))
        rec->kind = LIMITS_SOURCE;
    rtext_expect(&c, rec->kind == LIMITS_USER ? "kind user\n" : "kind source\n");
    get_str(&c, "name", rec->name, sizeof(rec->name), 1);
    get_str(&c, "boot", rec->boot, sizeof(rec->boot), 0);
    rtext_expect(&c, "streak ");
    rec->streak = (unsigned)rtext_get_num(&c, 1000000);
    rtext_expect(&c, "\nlocked ");
    rec->locked_until_ms = rtext_get_num(&c, MS_MAX);
    rtext_expect(&c, "\n");
    while (c.ok && rtext_at(&c, "entry ")) {
        struct limits_entry *e = &rec->e[rec->n];
        rtext_expect(&c, "entry ");
        if (rec->n == LIMITS_ENTRIES_MAX || c.end - c.p < 16) {
            c.ok = false;
            break;
        }
        e->id = 0;
        for (int k = 0; k < 16 && c.ok; k++) {
            int v = rtext_hexval(c.p[k]);
            if (v < 0)
                c.ok = false;
            e->id = e->id << 4 | (uint64_t)(v < 0 ? 0 : v);
        }
        c.p += 16;
        rtext_expect(&c, " ");
        e->start_ms = rtext_get_num(&c, MS_MAX);
        rtext_expect(&c, " ");
        e->until_ms = rtext_get_num(&c, MS_MAX);
        rtext_expect(&c, " ");
        e->pid = (uint32_t)rtext_get_num(&c, UINT32_MAX);
        rtext_expect(&c, " ");
        e->pstart = (unsigned long long)rtext_get_num(&c, MS_MAX);
        rtext_expect(&c, "\n");
        for (size_t i = 0; c.ok && i < rec->n; i++)
            if (rec->e[i].id == e->id)
                c.ok = false; /* one login, one entry */
        rec->n++;
    }
    rec->body_len = (size_t)(c.p - text);
    rtext_expect(&c, "mac ");
    rtext_get_hex(&c, rec->mac, 32);
    rtext_expect(&c, "\n");
    if (!c.ok || c.p != c.end)
        return RES_INVALID_TOKEN;
    return RES_OK;
}

/* ---- decisions ---- */

void limits_prune(struct limits_record *rec, const struct limits_conf *c, long long now_ms)
{
    size_t keep = 0;

    for (size_t i = 0; i < rec->n; i++) {
        struct limits_entry e = rec->e[i];
        if (e.start_ms > now_ms + 1000)
            e.start_ms = now_ms; /* from the future: counts for a whole window from now */
        if (e.until_ms > 0 && e.until_ms <= now_ms)
            e.until_ms = 0; /* its login is over for sure: failed */
        if (e.until_ms == 0 && now_ms - e.start_ms >= c->window_ms)
            continue;
        rec->e[keep++] = e;
    }
    rec->n = keep;
    /* A lockout longer than lockout_time from now was made with another setting or clock. */
    if (rec->locked_until_ms > now_ms + c->lockout_ms)
        rec->locked_until_ms = now_ms + c->lockout_ms;
    if (rec->locked_until_ms != 0 && rec->locked_until_ms <= now_ms)
        rec->locked_until_ms = 0;
}

size_t limits_count(const struct limits_record *rec, size_t *pending)
{
    size_t p = 0;
    for (size_t i = 0; i < rec->n; i++)
        p += rec->e[i].until_ms > 0;
    if (pending)
        *pending = p;
    return rec->n;
}

enum limits_verdict limits_decide(const struct limits_record *rec, const struct limits_conf *c, long long now_ms,
                                  long long *until_ms)
{
    size_t pending = 0, n = limits_count(rec, &pending);
    long long until = 0;
    enum limits_verdict v = LIMITS_GO;

    if (rec->kind == LIMITS_USER && c->max_denials > 0 && rec->locked_until_ms > now_ms) {
        v = LIMITS_LOCKED;
        until = rec->locked_until_ms;
    } else if (c->max_requests > 0 && rec->kind == LIMITS_USER && pending > 0) {
        v = LIMITS_PENDING_EXISTS;
    } else if (c->max_requests > 0 && n >= (size_t)c->max_requests) {
        /* It frees up when the first entry leaves: an ended one at its start plus the
         * window, a pending one not before its login is over either. */
        long long first = LLONG_MAX;
        for (size_t i = 0; i < rec->n; i++) {
            long long leaves = rec->e[i].start_ms + c->window_ms;
            if (rec->e[i].until_ms > leaves)
                leaves = rec->e[i].until_ms;
            if (leaves < first)
                first = leaves;
        }
        v = LIMITS_TOO_MANY;
        until = first == LLONG_MAX || first <= now_ms ? now_ms + 1 : first;
    }
    if (until_ms)
        *until_ms = until;
    return v;
}

bool limits_add(struct limits_record *rec, uint64_t id, long long now_ms, long long until_ms)
{
    if (rec->n >= LIMITS_ENTRIES_MAX)
        return false;
    rec->e[rec->n++] = (struct limits_entry){id, now_ms, until_ms > now_ms ? until_ms : now_ms + 1, 0, 0};
    return true;
}

void limits_note_denial(struct limits_record *rec, const struct limits_conf *c, long long now_ms)
{
    if (rec->kind != LIMITS_USER)
        return;
    if (rec->streak < 1000000)
        rec->streak++;
    if (c->max_denials > 0 && rec->streak >= (unsigned)c->max_denials) {
        rec->locked_until_ms = now_ms + c->lockout_ms;
        rec->streak = 0;
    }
}

void limits_finish(struct limits_record *rec, uint64_t id, enum limits_end how, const struct limits_conf *c,
                   long long now_ms)
{
    for (size_t i = 0; i < rec->n; i++) {
        if (rec->e[i].id != id)
            continue;
        if (how == LIMITS_END_APPROVED || how == LIMITS_END_UNSENT)
            rec->e[i] = rec->e[--rec->n];
        else
            rec->e[i].until_ms = 0;
        break;
    }
    if (rec->kind != LIMITS_USER)
        return;
    if (how == LIMITS_END_APPROVED)
        rec->streak = 0;
    else if (how == LIMITS_END_DENIED)
        limits_note_denial(rec, c, now_ms);
}

enum limits_end limits_end_of(result r, bool request_sent)
{
    if (r == RES_OK)
        return LIMITS_END_APPROVED;
    /* A wrong typed code or break-glass code is someone guessing: a denial, sent or not. */
    if (r == RES_WRONG_CODE || r == RES_BREAKGLASS_WRONG)
        return LIMITS_END_DENIED;
    if (!request_sent)
        return LIMITS_END_UNSENT;
    return r == RES_DENIED ? LIMITS_END_DENIED : LIMITS_END_FAILED;
}

const char *limits_verdict_name(enum limits_verdict v)
{
    switch (v) {
    case LIMITS_GO: return "go";
    case LIMITS_LOCKED: return "locked_out";
    case LIMITS_PENDING_EXISTS: return "pending_exists";
    case LIMITS_TOO_MANY: return "rate_limited";
    }
    return "unknown";
}
