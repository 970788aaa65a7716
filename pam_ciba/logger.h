/* A logging sink the core writes to without knowing about PAM or syslog. */
#ifndef PAM_CIBA_LOGGER_H
#define PAM_CIBA_LOGGER_H
#include <stdbool.h>
#include <stddef.h>

struct logger {
    /* prio is a syslog priority (LOG_ERR, LOG_INFO, LOG_DEBUG...). */
    void (*write)(void *ctx, int prio, const char *msg);
    void *ctx;
    bool debug; /* LOG_DEBUG messages are dropped unless set */
};

/* printf-style; a NULL logger or NULL write drops the message. */
void log_msg(const struct logger *lg, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy s into out (size outlen) with control and non-ASCII bytes escaped as \xNN,
 * so untrusted strings (user names, server text) cannot forge log lines. */
void log_escape(const char *s, char *out, size_t outlen);

#endif
