/* Request limits: one counter record per user or per source, and the decisions over it (pure, no files). */
#ifndef PAM_CIBA_LIMITS_RECORD_H
#define PAM_CIBA_LIMITS_RECORD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "result.h"

/* max_requests is at most this, so a record never holds more entries. */
#define LIMITS_ENTRIES_MAX 100
#define LIMITS_NAME_MAX 256
#define LIMITS_BOOT_MAX 64
/* Largest record text: every field at its longest, with its MAC line. */
#define LIMITS_RECORD_MAX 8192

enum limits_kind { LIMITS_USER, LIMITS_SOURCE };

/* One request that has not ended in an approval. A pending one carries the time by which
 * its login has ended for sure (max_wait + request_timeout): a login that crashed
 * leaves no pending entry behind forever, it counts as failed after that. */
struct limits_entry {
    uint64_t id;        /* random, names the login that owns it */
    long long start_ms; /* when the request was reserved */
    long long until_ms; /* > 0: pending until then at the latest; 0: ended without approval */
    /* The process that waits for it (pid and its start time in clock ticks; 0 0: not
     * known): a pending entry whose process is gone (sshd killed it when the client
     * hung up) counts as failed at once instead of blocking the user until until_ms. */
    uint32_t pid;
    unsigned long long pstart;
};

/* A record: whose counters (kind, name), the boot they belong to (the clock is
 * CLOCK_BOOTTIME), the denial streak and lockout (users only) and the entries. */
struct limits_record {
    int kind; /* enum limits_kind */
    char name[LIMITS_NAME_MAX + 1];
    char boot[LIMITS_BOOT_MAX + 1];
    unsigned streak;           /* denials in a row */
    long long locked_until_ms; /* 0: not locked */
    size_t n;
    struct limits_entry e[LIMITS_ENTRIES_MAX];
    size_t body_len;           /* after limits_parse: bytes the MAC covers */
    unsigned char mac[32];
};

/* The settings, in milliseconds. max_requests 0: no request limits and no "one pending
 * request" rule; max_denials 0: no lockout. */
struct limits_conf {
    int max_requests;
    long long window_ms;
    int max_denials;
    long long lockout_ms;
};

/* How a request ended. */
enum limits_end {
    LIMITS_END_APPROVED, /* verified approval: the entry goes, the streak restarts */
    LIMITS_END_DENIED,   /* the user said no: counts, and one more in the streak */
    LIMITS_END_FAILED,   /* expired, timed out, failed: counts */
    LIMITS_END_UNSENT,   /* no request reached the provider: the entry goes, uncounted */
};

enum limits_verdict {
    LIMITS_GO,            /* one more request may be sent */
    LIMITS_LOCKED,        /* a user's lockout is running */
    LIMITS_PENDING_EXISTS,/* a user has a request waiting */
    LIMITS_TOO_MANY,      /* max_requests unapproved requests in the window */
};

/* An empty record. name and boot are cut to their maxima. */
void limits_record_init(struct limits_record *rec, int kind, const char *name, const char *boot);

/* The record's text without its MAC line (the line is "mac <64 hex>\n", 69 bytes):
 *   pam_ciba limits v1\n kind user|source\n name LEN:BYTES\n boot LEN:BYTES\n
 *   streak N\n locked MS\n then per entry: entry <16 hex id> START UNTIL PID PSTART\n
 * Returns its length, or 0 if it does not fit in len or the record is invalid. */
size_t limits_format(const struct limits_record *rec, char *out, size_t len);

/* Parse a record file (len bytes, need not be NUL-terminated): syntax only (canonical
 * numbers, at most LIMITS_ENTRIES_MAX entries, distinct ids, a trailing MAC line), not
 * the MAC. RES_OK or RES_INVALID_TOKEN. A text that parses formats back to its own bytes. */
result limits_parse(const char *text, size_t len, struct limits_record *rec);

/* Bring rec up to now: entries that left the window go, a pending entry past its
 * until_ms counts as failed, an ended lockout is lifted. Entries from the future (more
 * than a second ahead) are treated as made now, so they cannot shorten a window. */
void limits_prune(struct limits_record *rec, const struct limits_conf *c, long long now_ms);

/* May one more request be sent for rec (after limits_prune)? Users: lockout, then the
 * pending rule, then the count; sources: the count only. *until_ms (may be NULL) gets
 * when the answer can change: the lockout's end, or when the oldest entry leaves the
 * window (0 for GO and PENDING_EXISTS). */
enum limits_verdict limits_decide(const struct limits_record *rec, const struct limits_conf *c, long long now_ms,
                                  long long *until_ms);

/* Add a pending entry. false: the record is full (cannot happen after LIMITS_GO). */
bool limits_add(struct limits_record *rec, uint64_t id, long long now_ms, long long until_ms);

/* End the entry id as how says; the streak and lockout change on user records only. An
 * entry already gone (pruned) still moves the streak. */
void limits_finish(struct limits_record *rec, uint64_t id, enum limits_end how, const struct limits_conf *c,
                   long long now_ms);

/* A denial that was not a request (for example a wrong break-glass code): one more in the
 * streak, and a lockout when it reaches max_denials. The streak restarts at the lockout. */
void limits_note_denial(struct limits_record *rec, const struct limits_conf *c, long long now_ms);

/* Entries that count against max_requests (pending and ended), and how many are pending. */
size_t limits_count(const struct limits_record *rec, size_t *pending);

/* How a login's result ends its request: RES_OK approved, RES_DENIED denied, anything
 * else failed; unsent when no request reached the provider. Other ways of saying no
 * that a person chose (a wrong typed code, once there is one) belong with RES_DENIED. */
enum limits_end limits_end_of(result r, bool request_sent);

/* The name of a verdict for messages and logs. */
const char *limits_verdict_name(enum limits_verdict v);

#endif
