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
    RES_WRONG_CODE,     /* confirm = "type": the typed code is not the one the phone shows */
    RES_BREAKGLASS,     /* a valid break-glass code, consumed now (PAM_SUCCESS) */
    RES_BREAKGLASS_WRONG, /* a wrong, used or revoked break-glass code */
    /* Issue 12 item 3, issue 14 item 4. */
    RES_PROVIDER_LIMIT, /* the provider limits requests (429, too_many_requests): wait, do not retry */
    RES_AUTH_STRENGTH,  /* approved, but the ID token's acr/amr is not what require_acr/require_amr ask */
    RES_NO_COMMAND,     /* sudo -v, or -l without a command: no request is ever sent (issue 13) */
    RES_NO_APPROVER,    /* two-person approval without an approver other than the requester */
    /* Request limits (issue 12 item 2): no request was sent. */
    RES_LOCKED_OUT,     /* max_denials denials in a row: lockout_time not over */
    RES_RATE_LIMITED,   /* max_requests unapproved requests in request_window (user or source) */
    RES_PENDING_EXISTS  /* another request for this user is still waiting */
} result;

/* A short stable word for logs: "approved", "denied", ... */
const char *result_name(result r);

#endif
