/* HTTPS POST transport: one libcurl handle per login, strict TLS, capped bodies. */
#ifndef PAM_CIBA_HTTP_H
#define PAM_CIBA_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "config.h"
#include "result.h"

#define HTTP_MAX_BODY (64 * 1024)
/* Longest wait a Retry-After may ask for; more is cut to this (a login's deadline is far
 * shorter anyway, so such an answer ends the attempt). */
#define HTTP_RETRY_AFTER_MAX 86400L

struct http_response {
    long status;
    char *body;             /* NUL-terminated; may hold tokens, so http_response_clear wipes it */
    size_t len;
    char content_type[128];
    long retry_after;       /* seconds to wait from Retry-After (either form), or -1 */
    long max_age;           /* seconds from Cache-Control: max-age, or -1 */
};

/* The transport the protocol code talks to; tests substitute their own. */
struct transport {
    /* POST body (form-urlencoded) to url; authorization is a full header value or NULL.
     * RES_OK means an HTTP response arrived (any status); RES_UNAVAILABLE the provider
     * could not be reached (network, TLS handshake, timeout: see http_classify_failure);
     * RES_PROTOCOL a response that broke our limits, or a certificate we do not trust;
     * RES_INTERNAL a local failure (descriptors, memory, files); RES_TIMEOUT the
     * login's deadline for new requests had passed, so nothing was sent. */
    result (*post)(void *ctx, const char *url, const char *body, const char *authorization,
                   struct http_response *resp, char *err, size_t errlen);
    /* GET url (discovery and JWKS documents); same result meanings as post. */
    result (*get)(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen);
    void *ctx;
};

struct http_options {
    /* Trust anchors and certificates as bytes read through safe_file (config.c), so libcurl
     * never opens a file we trust by name. */
    const char *ca_pem;   /* ca_file's bytes, or NULL for the system store */
    size_t ca_pem_len;
    long connect_timeout; /* seconds */
    long request_timeout; /* seconds, whole request */
    size_t max_body;      /* bytes; 0 = HTTP_MAX_BODY */
    const char *client_cert_pem;  /* tls_client_auth: PEM certificate bytes, or NULL */
    size_t client_cert_pem_len;
    const char *client_key_pem;   /* tls_client_auth: PEM private key in memory, or NULL */
    /* Network policy (issue 8); zero/NULL keeps the defaults. */
    const char *http_proxy;        /* proxy for http:// URLs */
    const char *https_proxy;       /* proxy for https:// URLs (every provider URL) */
    const char *no_proxy;          /* CURLOPT_NOPROXY list */
    bool proxy_from_env;           /* let libcurl read *_proxy variables */
    const char *ca_path;           /* hashed CA directory, checked entry by entry at config load */
    int tls_min_version;           /* enum tls_min */
    const char *pinned_public_key; /* CURLOPT_PINNEDPUBLICKEY: "sha256//..." hashes only */
    /* The login's deadline (issue 11), CLOCK_MONOTONIC seconds; 0 = none. No request
     * starts at or after start_by, and every request's timeouts are cut to end_by. */
    double start_by;
    double end_by;
    bool sole_thread;              /* no other thread in the process (host_env.h) */
};

/* What a failed transfer says about where the fault is. */
enum http_failure {
    HTTP_FAIL_NETWORK, /* the provider could not be reached: the only outage */
    HTTP_FAIL_TRUST,   /* certificate verification or pinned key mismatch */
    HTTP_FAIL_PEER,    /* the server answered something HTTP cannot use */
    HTTP_FAIL_LOCAL    /* this process or machine: descriptors, memory, files, unknown */
};

/* Pure: a libcurl error code (CURLcode) and CURLINFO_OS_ERRNO to a class. */
enum http_failure http_classify_failure(int curl_code, long os_errno);

/* Whether this process can open n more file descriptors right now (RLIMIT_NOFILE). */
bool http_descriptors_spare(int n);

/* Every network key of cfg in one place, for each http_client the module creates. */
void http_options_from_config(const struct config *cfg, struct http_options *o);

struct http_client;

/* NULL (libcurl could not be initialised: http_global_error says why) or a client. */
struct http_client *http_client_new(const struct http_options *opts);
/* libcurl's one-time initialisation, which also initialises OpenSSL (its config file
 * included): call it before any other OpenSSL use so that happens in the empty
 * environment described in http.c. http_client_new calls it too. False if it failed. */
bool http_global_init(void);
/* Why libcurl's one-time initialisation failed, or NULL if it did not (or not yet run). */
const char *http_global_error(void);
void http_client_free(struct http_client *c);
/* A transport bound to c. */
struct transport http_client_transport(struct http_client *c);

void http_response_clear(struct http_response *r);

/* Pure: an HTTP-date (RFC 9110 5.6.7: IMF-fixdate, RFC 850 or asctime form, always GMT)
 * to Unix time. False for anything else. */
bool http_parse_date(const char *s, time_t *out);

/* Pure: a Retry-After value (RFC 9110 10.2.3), delay-seconds or an HTTP-date, as seconds
 * to wait counted from now (the answer's Date, or this host's clock), at most
 * HTTP_RETRY_AFTER_MAX; a date in the past is 0. -1 for an unusable value. */
long http_parse_retry_after(const char *value, time_t now);

#endif
