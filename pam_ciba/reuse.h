/* Approval reuse: MAC-protected records of recent approvals in a root-only directory. */
#ifndef PAM_CIBA_REUSE_H
#define PAM_CIBA_REUSE_H
#include <stddef.h>
#include <sys/types.h>
#include "result.h"

#define REUSE_DEFAULT_DIR "/run/pam_ciba"
#define REUSE_KEY_LEN 32
#define REUSE_SESSION_MAX 128

/* What an approval is bound to. All fields must be non-empty: no tty or no session
 * means no reuse. subject is the (mapped) subject template, so a changed mapping
 * invalidates old records. */
struct reuse_identity {
    const char *user;
    const char *service;
    const char *tty;
    const char *session;
    const char *subject;
};

/* Where records live and who must own them (root for the module). */
struct reuse_store {
    const char *dir;
    uid_t owner;
};

/* The login session of this process: "boot=<boot id> audit=<n>" from
 * /proc/self/sessionid, or, when the audit session is unset, "boot=<boot id> sid=<sid>
 * start=<start time of the session leader>" (what sudo's timestamps use). */
result reuse_session_id(char *out, size_t len);

/* Seconds since boot (CLOCK_BOOTTIME): cannot be set, counts suspend. */
double reuse_now(void);

/* Is there a valid record for id approved less than window seconds before now?
 * RES_OK: yes, *age set. RES_DENIED: none. RES_EXPIRED: one too old (removed).
 * RES_INVALID_TOKEN: a record failed the owner, mode or MAC check (removed).
 * RES_CONFIG: the directory or key is unsafe. why says which. */
result reuse_check(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                   double *age, char *why, size_t whylen);

/* Record an approval of id at now; creates the directory (0700) and the key (0600)
 * when missing, and removes records older than window. */
result reuse_record(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                    char *why, size_t whylen);

#endif
