/* Request limits shared by every process on the host: locked, MAC-authenticated counter files. */
#ifndef PAM_CIBA_LIMITS_STORE_H
#define PAM_CIBA_LIMITS_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "limits_record.h"
#include "result.h"

/* Counter files live in <dir>/limits (0700), one per user ("u-" + 64 hex) and one per
 * source address ("s-" + 64 hex), named and authenticated with HMAC-SHA256 under the
 * runtime directory's key (hostkey.h, <dir>/key, the one reuse records use). A file is
 * opened through safe_file (regular, owner, mode 0600), locked with flock, checked
 * (format, MAC, its own kind and name) and replaced atomically (rename) while locked. A
 * file that fails a check is refused and kept: the login fails until root removes it
 * (pam_ciba-check --clear-lockout USER). */
struct limits_store {
    const char *dir; /* the runtime directory (reuse_dir); NULL: REUSE_DEFAULT_DIR */
    uid_t owner;     /* root for the module */
};

/* A reserved request, from limits_begin to limits_end. */
struct limits_ticket {
    bool active;
    uint64_t id;
    char user[LIMITS_NAME_MAX + 1];
    char source[LIMITS_NAME_MAX + 1]; /* "" when the login has no source address */
};

/* Why a request was refused, for the message and the log. */
struct limits_block {
    enum limits_verdict verdict;
    int kind;        /* whose limit: enum limits_kind */
    double until;    /* when it may change, in the now() clock (0: unknown) */
};

/* The source a login counts against: an IP address in canonical form, IPv6 cut to its
 * /64 (one subscriber usually holds a whole /64), IPv4-mapped IPv6 as IPv4; any other
 * PAM_RHOST (a host name) lower-cased and cut to LIMITS_NAME_MAX; "" without one. */
void limits_source_key(const char *rhost, char *out, size_t len);

/* The text for the user, and the same for the log: what is refused and when that ends,
 * as UTC wall time (wall: time() now; now: the counters' clock now). user and source
 * must already be safe to print. */
void limits_block_message(const struct limits_block *blk, const char *user, const char *source, double now,
                          long long wall, char *out, size_t len);

/* Seconds on the counters' clock (CLOCK_BOOTTIME, as reuse_now). */
double limits_now(void);

/* Reserve one request for user from rhost (may be NULL) at now, pending for at most
 * pending_for seconds. RES_OK: *t is active, send the request, then call limits_end.
 * RES_LOCKED_OUT, RES_PENDING_EXISTS, RES_RATE_LIMITED: send nothing, *blk says why.
 * RES_CONFIG: a directory, key or counter file is unsafe, tampered with or holds
 * another user's counters; RES_INTERNAL: no lock within a few seconds, no memory. Both
 * mean: fail the login (fail closed). why: one line for the log. */
result limits_begin(const struct limits_store *s, const struct limits_conf *c, const char *user, const char *rhost,
                    double now, double pending_for, struct limits_ticket *t, struct limits_block *blk, char *why,
                    size_t whylen);

/* End a reserved request (t becomes inactive). RES_CONFIG/RES_INTERNAL as above. */
result limits_end(const struct limits_store *s, const struct limits_conf *c, struct limits_ticket *t,
                  enum limits_end how, double now, char *why, size_t whylen);

/* For other ways to fail a login that should count as a person saying no (a wrong
 * break-glass code): one more denial in user's streak, with a lockout when it reaches
 * max_denials. RES_OK, or RES_CONFIG/RES_INTERNAL. */
result limits_note_failure(const struct limits_store *s, const struct limits_conf *c, const char *user,
                           double now, char *why, size_t whylen);

/* Is user locked out at now? RES_OK: no; RES_LOCKED_OUT: yes, *until (may be NULL) in
 * the now() clock; RES_CONFIG/RES_INTERNAL as above. Changes nothing but pruning. */
result limits_check(const struct limits_store *s, const struct limits_conf *c, const char *user, double now,
                    double *until, char *why, size_t whylen);

/* Read a user's (kind LIMITS_USER) or a source's counters, pruned to now, without
 * changing them. RES_DENIED: there are none. For pam_ciba-check --show-limits. */
result limits_read(const struct limits_store *s, const struct limits_conf *c, int kind, const char *name,
                   double now, struct limits_record *rec, char *why, size_t whylen);

/* Remove the counter file of a user (kind LIMITS_USER: lockout, streak and counts) or of
 * a source (LIMITS_SOURCE, name as limits_source_key gives it), also one that was
 * refused. RES_OK (also when there was none), RES_CONFIG when the directory is unsafe.
 * For pam_ciba-check --clear-lockout and --clear-source. */
result limits_clear(const struct limits_store *s, int kind, const char *name, char *why, size_t whylen);

#endif
