/* HTTPS POST transport: one libcurl handle per login, strict TLS, capped bodies. */
#ifndef PAM_CIBA_HTTP_H
#define PAM_CIBA_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include "config.h"
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
    /* Network policy (issue 8); zero/NULL keeps the defaults. */
    const char *http_proxy;        /* proxy for http:// URLs */
    const char *https_proxy;       /* proxy for https:// URLs (every provider URL) */
    const char *no_proxy;          /* CURLOPT_NOPROXY list */
    bool proxy_from_env;           /* let libcurl read *_proxy variables */
    const char *ca_path;           /* hashed CA directory */
    int tls_min_version;           /* enum tls_min */
    const char *pinned_public_key; /* CURLOPT_PINNEDPUBLICKEY */
};

/* Every network key of cfg in one place, for each http_client the module creates. */
void http_options_from_config(const struct config *cfg, struct http_options *o);

struct http_client;

struct http_client *http_client_new(const struct http_options *opts);
void http_client_free(struct http_client *c);
/* A transport bound to c. */
struct transport http_client_transport(struct http_client *c);

void http_response_clear(struct http_response *r);

#endif
