/* Approval reuse: MAC-protected records of recent approvals in a root-only directory. */
#ifndef PAM_CIBA_REUSE_H
#define PAM_CIBA_REUSE_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "result.h"

#define REUSE_DEFAULT_DIR "/run/pam_ciba"
#define REUSE_KEY_LEN 32 /* HOSTKEY_LEN: the runtime directory's key (hostkey.h) */
#define REUSE_SESSION_MAX 128
/* The kernel's "no login uid" in /proc/self/loginuid: a value of its own, not a wildcard. */
#define REUSE_LOGINUID_UNSET 4294967295u
/* Longest string field a record holds; a longer one means no reuse. */
#define REUSE_FIELD_MAX 4096
/* Largest record file: every string field at its longest fits. */
#define REUSE_RECORD_MAX 32768

/* What an approval is bound to: one caller asking for one target account through one
 * service on one terminal in one login session, and with reuse_scope = "command" one
 * command. user, service, tty, session and subject must be non-empty: no tty or no
 * session means no reuse. subject is the (mapped) subject template, so a changed mapping
 * invalidates old records. */
struct reuse_identity {
    const char *user;    /* the target account (PAM_USER) */
    const char *service;
    const char *tty;
    const char *session; /* reuse_session_id() */
    const char *subject;
    /* Who asks. The real uid survives su/sudo (they change only the effective uid while
     * PAM runs); ruser is what the application says about its caller; the login uid is
     * set once per login and inherited. */
    uid_t ruid;
    const char *ruser;   /* PAM_RUSER, NULL when the application did not set it */
    uint32_t loginuid;   /* REUSE_LOGINUID_UNSET when unset */
    const char *command; /* NULL: reuse_scope "session"; else the exact command ("command") */
};

/* The fields of an identity, as bits: which ones told a record apart from this login. */
enum reuse_field {
    REUSE_F_USER = 1u << 0,
    REUSE_F_SERVICE = 1u << 1,
    REUSE_F_TTY = 1u << 2,
    REUSE_F_SESSION = 1u << 3,
    REUSE_F_SUBJECT = 1u << 4,
    REUSE_F_RUID = 1u << 5,
    REUSE_F_RUSER = 1u << 6,
    REUSE_F_LOGINUID = 1u << 7,
    REUSE_F_SCOPE = 1u << 8,
    REUSE_F_COMMAND = 1u << 9,
};

/* Where records live and who must own them (root for the module). */
struct reuse_store {
    const char *dir;
    uid_t owner;
};

/* A record as read from its file, before or after its MAC is checked. The identity's
 * strings point into buf. */
struct reuse_record {
    struct reuse_identity id;
    long long ms;            /* approved at, CLOCK_BOOTTIME milliseconds */
    size_t body_len;         /* bytes of the text the MAC covers */
    unsigned char mac[32];
    char buf[REUSE_RECORD_MAX];
};

/* The login session of this process: "boot=<boot id> audit=<n>" from
 * /proc/self/sessionid, or, when the audit session is unset, "boot=<boot id> sid=<sid>
 * start=<start time of the session leader>" (what sudo's timestamps use). */
result reuse_session_id(char *out, size_t len);

/* Seconds since boot (CLOCK_BOOTTIME): cannot be set, counts suspend. */
double reuse_now(void);

/* The text of a record for id approved at ms, without its MAC line: every string field is
 * length-prefixed, so no choice of values can shift a boundary. Returns its length, or 0
 * when id is incomplete or does not fit in len. */
size_t reuse_format(const struct reuse_identity *id, long long ms, char *out, size_t len);

/* Parse a record file (len bytes, need not be NUL-terminated) into rec. Pure: checks the
 * syntax only (format version, field order, lengths, no NUL in a field, a trailing
 * "mac <64 hex>" line), not the MAC. RES_OK or RES_INVALID_TOKEN. */
result reuse_parse(const char *text, size_t len, struct reuse_record *rec);

/* Does rec's MAC match text (the same bytes given to reuse_parse) under key? */
int reuse_verify(const unsigned char key[REUSE_KEY_LEN], const char *text, const struct reuse_record *rec);

/* Which fields of a and b differ (enum reuse_field bits; 0: the same identity). */
unsigned reuse_diff(const struct reuse_identity *a, const struct reuse_identity *b);

/* The names of the fields in mask ("ruid,ruser"), for a log line; "" for 0. */
const char *reuse_field_names(unsigned mask, char *out, size_t len);

/* Is there a valid record for id approved less than window seconds before now?
 * RES_OK: yes, *age set. RES_DENIED: none; then *differs names the fields in which the
 * closest valid record for the same tty and session differs (0 if there is none).
 * RES_EXPIRED: one too old (removed). RES_INVALID_TOKEN: a record failed the owner, mode,
 * format or MAC check, or holds another identity (removed). RES_CONFIG: the directory or
 * key is unsafe. why says which, without field values. */
result reuse_check(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                   double *age, unsigned *differs, char *why, size_t whylen);

/* Record an approval of id at now; creates the directory (0700) and the key (0600)
 * when missing, and removes records older than window. */
result reuse_record(const struct reuse_store *s, const struct reuse_identity *id, long window, double now,
                    char *why, size_t whylen);

#endif
