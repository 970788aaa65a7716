/* OpenID Connect CIBA poll mode: the back-channel request and the token polling loop. */
#ifndef PAM_CIBA_CIBA_H
#define PAM_CIBA_CIBA_H
#include "client_auth.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "logger.h"
#include "result.h"

#define CIBA_DEFAULT_INTERVAL 5   /* CIBA Core 7.3: when the provider sends none */
#define CIBA_SLOW_DOWN_STEP 5     /* RFC 8628 3.5, used by CIBA: add at least 5 s */
#define CIBA_MAX_AUTH_REQ_ID 8192
#define CIBA_MAX_TOKEN (48 * 1024)
#define CIBA_MAX_INTERVAL 86400   /* longer intervals are cut to this */

struct ciba_client {
    const struct transport *transport;
    const struct clock *clock;
    const struct logger *log;       /* may be NULL */
    const char *bc_endpoint;
    const char *token_endpoint;
    const struct client_credentials *creds;
};

struct ciba_request {
    const char *scope;
    const char *login_hint;
    const char *binding_message;
    const char *audience;               /* optional */
    const char *resource;               /* optional */
    const char *authorization_details;  /* optional JSON array */
    int requested_expiry;               /* 0 = not sent */
    const char *acr_values;             /* optional */
    const char *user_code;              /* optional; a secret the user typed */
};

/* An accepted back-channel request that is waiting for the user. */
struct ciba_pending {
    char *auth_req_id;  /* wiped on clear */
    long expires_in;
    long interval;
    double accepted_at; /* clock time of the bc-authorize answer */
    double last_poll;   /* clock time the last answer arrived */
    long bc_status;     /* HTTP status of the bc-authorize answer, 0 if none came; set on failure too */
    /* RES_PROVIDER_LIMIT: seconds the provider asked us to wait (Retry-After or its new
     * interval), or -1 when it did not say. Set on failure too. */
    long limit_wait;
    double wait_extra;  /* Retry-After beyond the interval, for the next poll only */
    char last_error[160]; /* the last transient error, for the reason on expiry or timeout */
};

struct ciba_tokens {
    char *id_token;     /* wiped on clear */
    char *access_token; /* wiped on clear */
};

/* What one token-endpoint answer means for the loop. */
enum poll_answer {
    POLL_TOKENS,    /* tokens arrived: verify them */
    POLL_PENDING,   /* authorization_pending */
    POLL_SLOW_DOWN, /* slow_down, or 429 */
    POLL_RETRY,     /* transient (5xx): try again at the next interval */
    POLL_FINAL      /* the request is over: *fail holds why */
};

/* Send the back-channel authentication request. RES_OK fills *out. */
result ciba_start(const struct ciba_client *c, const struct ciba_request *req,
                  struct ciba_pending *out, char *reason, size_t reasonlen);

/* Poll until tokens, a final answer, the request's expiry or deadline (clock time).
 * Never polls faster than the interval. RES_OK fills *tokens (still unverified). */
result ciba_poll(const struct ciba_client *c, struct ciba_pending *p, double deadline,
                 struct ciba_tokens *tokens, char *reason, size_t reasonlen);

/* Poll several pending requests in one loop with one deadline (two-person approval):
 * each at its own interval, skipping those with active[i] false. Returns as soon as one
 * request ends, with *which set to it: RES_OK (tokens for it, still unverified), its
 * final failure (RES_DENIED, RES_EXPIRED, ...), or RES_TIMEOUT when the deadline comes
 * first. RES_INTERRUPTED (a Ctrl-C) and a call with nothing active set *which to -1. */
result ciba_poll_any(const struct ciba_client *c, struct ciba_pending *p, const bool *active, size_t n,
                     double deadline, int *which, struct ciba_tokens *tokens, char *reason, size_t reasonlen);

/* Pure parsers of provider answers, for the loop, the unit tests and the fuzzers. */
result ciba_parse_auth_response(const struct http_response *resp, struct ciba_pending *out,
                                char *reason, size_t reasonlen);
enum poll_answer ciba_parse_token_response(const struct http_response *resp,
                                           struct ciba_tokens *tokens, result *fail,
                                           char *reason, size_t reasonlen);

/* The new interval a slow_down (or 429) answer carries in its body (Auth0 sends one),
 * 1..CIBA_MAX_INTERVAL, or -1 when there is none or it is unusable. */
long ciba_parse_slow_down_interval(const struct http_response *resp);

/* The text for the user when the provider limits requests (wait < 0: it did not say how
 * long). Also the start of the decision log's reason. */
void ciba_limit_message(long wait, char *out, size_t len);

void ciba_pending_clear(struct ciba_pending *p);
void ciba_tokens_clear(struct ciba_tokens *t);

#endif
