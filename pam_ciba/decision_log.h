/* The decision of one login as a log line and as structured journal fields, without PAM or libsystemd. */
#ifndef PAM_CIBA_DECISION_LOG_H
#define PAM_CIBA_DECISION_LOG_H
#include <stdbool.h>
#include <stddef.h>

/* journalctl MESSAGE_ID=... finds every decision of every pam_ciba version. */
#define DECISION_MESSAGE_ID "3f1efa92da1f4e58963407804a192a5e"
#define DECISION_FACILITY 10 /* authpriv, as pam_syslog uses */

/* What the module decided. Strings may be NULL (not known); they are untrusted text. */
struct decision {
    const char *outcome;    /* result_name() */
    const char *pam_result; /* the PAM code's name: "PAM_SUCCESS", "PAM_AUTH_ERR", ... */
    const char *pam_text;   /* pam_strerror's text, for the log line */
    const char *user;
    const char *service;
    const char *rhost;
    const char *tty;
    const char *subject;    /* the subject asked to approve */
    const char *provider;   /* the issuer */
    const char *reason;
    const char *request;    /* approval_report.request: a hash of auth_req_id, never the id */
    const char *approver;   /* who approved, when not the user (two-person approval) */
    const char *ident;      /* SYSLOG_IDENTIFIER: the program's name, as syslog would say */
    const char *note;       /* appended to the reason in the line (failmode = "safe") */
    bool success;           /* LOG_NOTICE; otherwise LOG_WARNING */
    bool alert;             /* LOG_ALERT (a break-glass code was used); wins over success */
    long duration_ms;
};

/* The line pam_syslog has always written:
 * decision user=U service=S rhost=R outcome=O pam=TEXT reason="WHY" duration=N.NNNs
 * Every value is escaped (log_escape): no control characters, no newline. */
void decision_line(const struct decision *d, char *out, size_t outlen);

/* Field storage: fixed, so building the list cannot fail for want of memory. */
#define DECISION_MAX_FIELDS 24
#define DECISION_VALUE_MAX 512 /* bytes of one escaped value (MESSAGE may be longer) */
struct decision_fields {
    size_t n;
    const char *field[DECISION_MAX_FIELDS]; /* "KEY=value", each NUL-terminated */
    size_t len[DECISION_MAX_FIELDS];
    char buf[DECISION_MAX_FIELDS * (DECISION_VALUE_MAX + 32) + 2048];
};

/* The journal entry: MESSAGE ("pam_ciba(SERVICE:auth): " and the line, as pam_syslog
 * prefixes it), PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER, MESSAGE_ID and PAM_CIBA_*
 * fields for what is known. Values are escaped like the line (no newline, no control
 * character, non-ASCII as \xNN) and cut to DECISION_VALUE_MAX bytes. */
void decision_fields_build(const struct decision *d, struct decision_fields *out);

/* Where the fields go; returns 0 or a negative errno (the journal is not reachable). */
typedef int (*decision_send_fn)(void *ctx, const char *const *fields, const size_t *lens, size_t n);

/* sd_journal_sendv, or -ENOSYS in a build without libsystemd. */
int decision_journal_send(void *ctx, const char *const *fields, const size_t *lens, size_t n);

/* Where decision_log sends a decision. */
struct decision_sinks {
    decision_send_fn journal;  /* NULL: no journal */
    void *journal_ctx;
    void (*syslog)(void *ctx, int prio, const char *line);
    void *syslog_ctx;
    bool (*syslog_elsewhere)(void); /* NULL: decision_syslog_elsewhere */
    bool (*journal_up)(void);       /* NULL: try the journal sender every time */
};
#define DECISION_TO_JOURNAL 1
#define DECISION_TO_SYSLOG 2

/* One entry per decision wherever it is read: the journal entry with its fields when the
 * journal takes it, else the syslog line. On a systemd host /dev/log is journald's own
 * socket, so the line would be a second journal entry (and, through ForwardToSyslog or
 * imjournal, a second line in auth.log); the entry carries the same MESSAGE, facility,
 * priority and identifier, so a syslog daemon fed by journald writes the same line. The
 * line is written as well only when /dev/log leads elsewhere (decision_syslog_elsewhere).
 * Returns the DECISION_TO_* bits of where it went. */
int decision_log(const struct decision *d, const struct decision_sinks *s);

/* Whether journald's socket is there (the sender then has something to talk to). */
bool decision_journal_up(void);

/* Whether a syslog line would not reach the journal anyway: /dev/log exists and is not
 * journald's socket (a syslog daemon owns it). Then the line is written besides the entry. */
bool decision_syslog_elsewhere(void);

#endif
