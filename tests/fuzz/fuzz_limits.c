/* libFuzzer target: limits_parse/limits_format and the record logic on counter files.
 * Oracles: a text that parses formats back to exactly its own bytes (one text, one
 * meaning), so it also re-parses to the same record; then, driven by the input's bytes,
 * the logic (prune, decide, add, finish, note_denial) keeps its invariants: never more
 * than LIMITS_ENTRIES_MAX entries, at most one pending entry added per GO, a LOCKED or
 * TOO_MANY verdict names a time after now, and the result formats and parses again. */
#include "fuzz_common.h"
#include "limits_record.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct limits_record rec, back;
static char again[LIMITS_RECORD_MAX + 128];

static void reparses(const struct limits_record *r)
{
    size_t n = limits_format(r, again, sizeof(again) - 70);
    if (n == 0)
        return; /* a name with a newline, or too big for a file: never written */
    memcpy(again + n, "mac ", 4);
    memset(again + n + 4, '0', 64);
    again[n + 68] = '\n';
    FUZZ_ASSERT(limits_parse(again, n + 69, &back) == RES_OK);
    FUZZ_ASSERT(back.n == r->n && back.kind == r->kind && back.streak == r->streak &&
                back.locked_until_ms == r->locked_until_ms && strcmp(back.name, r->name) == 0 &&
                strcmp(back.boot, r->boot) == 0);
    for (size_t i = 0; i < r->n; i++)
        FUZZ_ASSERT(back.e[i].id == r->e[i].id && back.e[i].start_ms == r->e[i].start_ms &&
                    back.e[i].until_ms == r->e[i].until_ms && back.e[i].pid == r->e[i].pid &&
                    back.e[i].pstart == r->e[i].pstart);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct limits_conf c = {5, 600000, 3, 900000};
    long long now = 1000000;

    if (limits_parse((const char *)data, size, &rec) != RES_OK)
        return 0;
    {
        size_t n = limits_format(&rec, again, sizeof(again));
        FUZZ_ASSERT(n == rec.body_len && memcmp(again, data, n) == 0);
        FUZZ_ASSERT(size == n + 69);
    }
    reparses(&rec);
    /* Drive the logic with the MAC bytes as a script. */
    for (int i = 0; i < 32; i++) {
        unsigned op = rec.mac[i];
        long long until = 0;
        size_t before = rec.n;
        enum limits_verdict v;
        now += (long long)(op & 0x0f) * 30000;
        limits_prune(&rec, &c, now);
        FUZZ_ASSERT(rec.n <= before && rec.n <= LIMITS_ENTRIES_MAX);
        v = limits_decide(&rec, &c, now, &until);
        FUZZ_ASSERT(v == LIMITS_GO || v == LIMITS_PENDING_EXISTS || until > now);
        if (v == LIMITS_GO && rec.kind == LIMITS_USER && c.max_requests > 0)
            FUZZ_ASSERT(rec.n < (size_t)c.max_requests);
        if (v == LIMITS_GO) {
            uint64_t id = 0x100000000ULL + (uint64_t)i;
            FUZZ_ASSERT(limits_add(&rec, id, now, now + 120000));
            limits_finish(&rec, id, (enum limits_end)((op >> 4) & 3), &c, now + 1000);
        } else if (op & 0x80) {
            limits_note_denial(&rec, &c, now);
        }
        FUZZ_ASSERT(rec.n <= LIMITS_ENTRIES_MAX);
    }
    reparses(&rec);
    return 0;
}
