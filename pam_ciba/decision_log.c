/* The decision as one log line and as journal fields; the sender is the caller's choice. */
#include "decision_log.h"
#include "logger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#ifdef HAVE_LIBSYSTEMD
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#endif

#define JOURNALD_SOCKET "/run/systemd/journal/socket"
#define JOURNALD_SYSLOG_SOCKET "/run/systemd/journal/dev-log"

void decision_line(const struct decision *d, char *out, size_t outlen)
{
    /* The sizes the line has always had: a long name or reason is cut, not the line. */
    char user[128], service[64], rhost[128], reason[400], approver[128];

    log_escape(d->user ? d->user : "?", user, sizeof(user));
    log_escape(d->service ? d->service : "?", service, sizeof(service));
    log_escape(d->rhost ? d->rhost : "", rhost, sizeof(rhost));
    log_escape(d->reason ? d->reason : "", reason, sizeof(reason));
    /* Two-person approval: the line names who approved besides the user. */
    log_escape(d->approver ? d->approver : "", approver, sizeof(approver));
    snprintf(out, outlen,
             "decision user=%s service=%s rhost=%s outcome=%s pam=%s reason=\"%s%s\" duration=%ld.%03lds%s%s",
             user, service, rhost, d->outcome ? d->outcome : "?", d->pam_text ? d->pam_text : "?", reason,
             d->note ? d->note : "", d->duration_ms / 1000, d->duration_ms % 1000, *approver ? " approver=" : "",
             approver);
}

struct builder {
    struct decision_fields *f;
    size_t used;
};

/* Append "KEY=" and the value (cut at max bytes), escaped, or with raw set (a value built
 * from escaped parts) only its control characters replaced; a field that no longer fits
 * in the storage is left out whole, never cut in the middle of its key. */
static void add_as(struct builder *b, const char *key, const char *value, size_t max, bool raw)
{
    struct decision_fields *f = b->f;
    size_t room = sizeof(f->buf) - b->used, klen = strlen(key);
    char *p = f->buf + b->used;

    if (!value || f->n >= DECISION_MAX_FIELDS || room < klen + 2 + 1)
        return;
    memcpy(p, key, klen);
    p[klen] = '=';
    if (max + 1 > room - klen - 1)
        max = room - klen - 2;
    if (raw) {
        char *v = p + klen + 1;
        size_t i;
        for (i = 0; i < max && value[i]; i++)
            v[i] = (unsigned char)value[i] < 0x20 || value[i] == 0x7f ? '?' : value[i];
        v[i] = '\0';
    } else {
        log_escape(value, p + klen + 1, max + 1);
    }
    f->field[f->n] = p;
    f->len[f->n] = strlen(p);
    b->used += f->len[f->n] + 1;
    f->n++;
}

static void add(struct builder *b, const char *key, const char *value, size_t max)
{
    add_as(b, key, value, max, false);
}

static void add_known(struct builder *b, const char *key, const char *value)
{
    if (value && *value)
        add(b, key, value, DECISION_VALUE_MAX);
}

void decision_fields_build(const struct decision *d, struct decision_fields *out)
{
    struct builder b = {out, 0};
    char line[1536], message[1536 + 96], service[64], num[32];

    memset(out, 0, sizeof(*out));
    decision_line(d, line, sizeof(line));
    /* pam_syslog's prefix, so the line a syslog daemon gets from the journal reads as before. */
    log_escape(d->service ? d->service : "?", service, sizeof(service));
    snprintf(message, sizeof(message), "pam_ciba(%s:auth): %s", service, line);
    add_as(&b, "MESSAGE", message, sizeof(message), true);
    snprintf(num, sizeof(num), "%d", d->alert ? LOG_ALERT : d->success ? LOG_NOTICE : LOG_WARNING);
    add(&b, "PRIORITY", num, sizeof(num));
    snprintf(num, sizeof(num), "%d", DECISION_FACILITY);
    add(&b, "SYSLOG_FACILITY", num, sizeof(num));
    add_known(&b, "SYSLOG_IDENTIFIER", d->ident);
    add(&b, "MESSAGE_ID", DECISION_MESSAGE_ID, 32);
    add(&b, "PAM_CIBA_OUTCOME", d->outcome ? d->outcome : "?", DECISION_VALUE_MAX);
    add_known(&b, "PAM_CIBA_PAM_RESULT", d->pam_result);
    add_known(&b, "PAM_CIBA_USER", d->user);
    add_known(&b, "PAM_CIBA_SERVICE", d->service);
    add_known(&b, "PAM_CIBA_RHOST", d->rhost);
    add_known(&b, "PAM_CIBA_TTY", d->tty);
    add_known(&b, "PAM_CIBA_SUBJECT", d->subject);
    add_known(&b, "PAM_CIBA_PROVIDER", d->provider);
    snprintf(num, sizeof(num), "%ld", d->duration_ms);
    add(&b, "PAM_CIBA_DURATION_MS", num, sizeof(num));
    add_known(&b, "PAM_CIBA_REASON", d->reason);
    add_known(&b, "PAM_CIBA_REQUEST", d->request);
    add_known(&b, "PAM_CIBA_APPROVER", d->approver);
}

int decision_journal_send(void *ctx, const char *const *fields, const size_t *lens, size_t n)
{
    (void)ctx;
#ifdef HAVE_LIBSYSTEMD
    struct iovec iov[DECISION_MAX_FIELDS];
    if (n > DECISION_MAX_FIELDS)
        return -EINVAL;
    /* sd_journal_sendv reports success when the socket is missing ("fail silently"):
     * the entry would be lost, and with it the only record of the decision. */
    if (!decision_journal_up())
        return -ENOENT;
    for (size_t i = 0; i < n; i++)
        iov[i] = (struct iovec){(void *)fields[i], lens[i]};
    return sd_journal_sendv(iov, (int)n);
#else
    (void)fields;
    (void)lens;
    (void)n;
    return -ENOSYS;
#endif
}

bool decision_journal_up(void)
{
#ifdef HAVE_LIBSYSTEMD
    struct stat st;
    return stat(JOURNALD_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
#else
    return false;
#endif
}

bool decision_syslog_elsewhere(void)
{
    struct stat dev_log, journald;

    if (stat("/dev/log", &dev_log) != 0)
        return false; /* nowhere for a syslog line to go at all */
    return stat(JOURNALD_SYSLOG_SOCKET, &journald) != 0 || dev_log.st_dev != journald.st_dev ||
           dev_log.st_ino != journald.st_ino;
}

int decision_log(const struct decision *d, const struct decision_sinks *s)
{
    struct decision_fields *f;
    char line[1536];
    int sent = 0;

    /* Nothing is built (or allocated) for a journal that is not there. */
    if (s->journal && (!s->journal_up || s->journal_up()) && (f = malloc(sizeof(*f)))) {
        decision_fields_build(d, f);
        if (s->journal(s->journal_ctx, f->field, f->len, f->n) == 0)
            sent |= DECISION_TO_JOURNAL;
        free(f);
    }
    if (!(sent & DECISION_TO_JOURNAL) || (s->syslog_elsewhere ? s->syslog_elsewhere() : decision_syslog_elsewhere())) {
        decision_line(d, line, sizeof(line));
        if (s->syslog) {
            s->syslog(s->syslog_ctx, d->alert ? LOG_ALERT : d->success ? LOG_NOTICE : LOG_WARNING, line);
            sent |= DECISION_TO_SYSLOG;
        }
    }
    return sent;
}
