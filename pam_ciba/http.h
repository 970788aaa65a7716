/* HTTPS POST transport: one libcurl handle per login, strict TLS, capped bodies. */
#ifndef PAM_CIBA_HTTP_H
#define PAM_CIBA_HTTP_H
#include <stddef.h>
#include "result.h"

#define HTTP_MAX_BODY (64 * 1024)

struct http_response {
    long status;
    char *body;             /* NUL-terminated; may hold tokens, so http_response_clear wipes it */
    size_t len;
    char content_type[128];
    long retry_after;       /* seconds from Retry-After, or -1 */
    long max_age;           /* seconds from Cache-Control: max-age, or -1 */
};

/* The transport the protocol code talks to; tests substitute their own. */
struct transport {
    /* POST body (form-urlencoded) to url; authorization is a full header value or NULL.
     * RES_OK means an HTTP response arrived (any status); RES_UNAVAILABLE a network,
     * TLS or timeout failure; RES_PROTOCOL a response that broke our limits. */
    result (*post)(void *ctx, const char *url, const char *body, const char *authorization,
                   struct http_response *resp, char *err, size_t errlen);
    /* GET url (discovery and JWKS documents); same result meanings as post. */
    result (*get)(void *ctx, const char *url, struct http_response *resp, char *err, size_t errlen);
    void *ctx;
};

struct http_options {
    const char *ca_file;  /* extra trust anchor file, or NULL for the system store */
    long connect_timeout; /* seconds */
    long request_timeout; /* seconds, whole request */
    size_t max_body;      /* bytes; 0 = HTTP_MAX_BODY */
    const char *client_cert_file; /* tls_client_auth: PEM certificate, or NULL */
    const char *client_key_pem;   /* tls_client_auth: PEM private key in memory, or NULL */
};

struct http_client;

struct http_client *http_client_new(const struct http_options *opts);
void http_client_free(struct http_client *c);
/* A transport bound to c. */
struct transport http_client_transport(struct http_client *c);

void http_response_clear(struct http_response *r);

#endif
