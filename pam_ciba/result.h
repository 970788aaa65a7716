/* Outcome codes shared by every core function; mapped to PAM codes in one place (pam_ciba.c). */
#ifndef PAM_CIBA_RESULT_H
#define PAM_CIBA_RESULT_H

typedef enum {
    RES_OK = 0,         /* verified approval (or, for helpers, plain success) */
    RES_DENIED,         /* the user or provider said no: access_denied */
    RES_EXPIRED,        /* expired_token, or expires_in passed */
    RES_TIMEOUT,        /* max_wait passed */
    RES_INVALID_TOKEN,  /* a token response that failed verification */
    RES_PROTOCOL,       /* a malformed or unexpected provider answer */
    RES_REJECTED,       /* the provider refused the request (4xx error code) */
    RES_UNAVAILABLE,    /* network failure, timeout or 5xx */
    RES_CONFIG,         /* missing or invalid configuration */
    RES_USER_UNKNOWN,   /* no such account, or an unusable user name */
    RES_CONV,           /* the conversation with the user failed */
    RES_INTERRUPTED,    /* the wait was cancelled */
    RES_INTERNAL,       /* out of memory or another local failure */
    RES_IGNORE,         /* the policy does not apply to this login (PAM_IGNORE) */
    /* Request limits (issue 12 item 2): no request was sent. */
    RES_LOCKED_OUT,     /* max_denials denials in a row: lockout_time not over */
    RES_RATE_LIMITED,   /* max_requests unapproved requests in request_window (user or source) */
    RES_PENDING_EXISTS  /* another request for this user is still waiting */
} result;

/* A short stable word for logs: "approved", "denied", ... */
const char *result_name(result r);

#endif
